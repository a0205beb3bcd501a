"""Sweep points named from list values, and the sweep table with the paper's rows below the points."""

from __future__ import annotations

import json

import yaml

from microexpr.config import config_from_dict
from microexpr.runs.sweeps import expand_sweep, sweep_table

CONFIG = {
    "name": "abl",
    "data": {"datasets": {"casme2": "/x"}, "scheme": "composite3"},
    "protocol": {"name": "cde"},
    "method": {"name": "mtmnet", "params": {}},
    "sweep": {"grid": {"method.params.eid_pretraining": [False, True],
                       "method.params.losses": [["cls"], ["cls", "tri", "adv", "lir"]]}},
}


def test_list_values_name_points_by_their_items():
    points = expand_sweep(config_from_dict(CONFIG))
    assert [n for n, _ in points] == [
        "mtmnet_eid_pretraining-False_losses-cls", "mtmnet_eid_pretraining-False_losses-cls+tri+adv+lir",
        "mtmnet_eid_pretraining-True_losses-cls", "mtmnet_eid_pretraining-True_losses-cls+tri+adv+lir"]
    assert points[1][1].method.params["losses"] == ["cls", "tri", "adv", "lir"]


def test_sweep_table_lists_the_paper_rows_below_the_points(tmp_path):
    ref = {"source": "paper 003 Table 3", "metric_names": ["uf1", "uar"],
           "rows": {"- / L_cls": {"overall": {"uf1": 0.685, "uar": 0.683}},
                    "L_EID / L_MTM": {"overall": {"uf1": 0.87, "uar": 0.856}},
                    "per corpus only": {"casme2": {"uf1": 0.5}}}}
    (tmp_path / "sweep.json").write_text(json.dumps({"name": "abl", "seeds": [0], "grid": {"method.params.losses": []},
                                                     "points": [{"name": "p1", "run_dir": "p1", "method": "mtmnet",
                                                                 "values": {"method.params.losses": ["cls"]}}]}))
    (tmp_path / "p1").mkdir()
    (tmp_path / "p1" / "config.yaml").write_text(yaml.safe_dump({"paper_reference": ref}))
    (tmp_path / "p1" / "metrics.json").write_text(json.dumps({"seeds": [0], "overall": {"acc": 0.5, "uf1": 0.4,
                                                                                          "uar": 0.45}}))
    table = sweep_table(tmp_path)
    assert [r[0] for r in table.rows] == ["p1", "paper: - / L_cls", "paper: L_EID / L_MTM"]  # no overall: not a row
    assert table.rows[2][-3:] == ["—", "0.8700", "0.8560"]  # the paper's Acc is not given
    assert any("paper 003 Table 3" in n for n in table.notes)
