"""``features extract/evaluate`` parse --data and --option with the same checks as ``run``."""

from __future__ import annotations

import numpy as np

from microexpr.cli import main


def test_reader_options_and_data_items_are_checked_like_run(tmp_path, capsys):
    feats = tmp_path / "f.npz"
    np.savez(feats, X=np.zeros((1, 2)), keys=np.array(["smic/s01/s1_ne_01"]))
    for argv in (["features", "evaluate", str(feats), "--data", f"smic={tmp_path}", "--option", "smic.nope=1"],
                 ["run", "ststnet_cde", "--data", f"smic={tmp_path}", "--option", "smic.nope=1"]):
        assert main(argv) == 2
        assert "the smic reader has no option 'nope'" in capsys.readouterr().err
    assert main(["features", "evaluate", str(feats), "--data", "smic"]) == 2
    assert "--data 'smic': write NAME=DIR" in capsys.readouterr().err
