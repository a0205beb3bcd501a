"""``microexpr datasets check`` names every problem of a broken copy and exits non-zero."""

from __future__ import annotations

from microexpr.cli import main
from microexpr.datasets import check_dataset
from microexpr.datasets.layouts import ClipSpec, write_layout

from tests.datasets.fakes import frames, write_casme2, write_smic


def _broken_casme2(tmp_path):
    clips = [
        ClipSpec("sub01", "EP_GOOD", frames(6), 1, onset=1, apex=3, offset=6, emotion="happiness"),
        ClipSpec("sub01", "EP_MISSING", frames(6), 1, onset=1, apex=2, offset=6, emotion="disgust"),
        ClipSpec("sub01", "EP_APEX", frames(6), 1, onset=2, apex=6, offset=4, emotion="surprise"),
        ClipSpec("sub02", "EP_EMOTION", frames(6), 1, onset=1, apex=3, offset=6, emotion="joy"),
        ClipSpec("sub02", "EP_EMPTY", frames(6), 1, onset=1, apex=3, offset=6, emotion="repression"),
        ClipSpec("sub02", "EP_CORRUPT", frames(6), 1, onset=1, apex=3, offset=6, emotion="others"),
    ]
    root = write_layout("casme2", tmp_path / "broken", clips)
    frames_dir = root / "CASME2_RAW_selected"
    (frames_dir / "sub01" / "EP_MISSING" / "img4.jpg").unlink()
    for p in (frames_dir / "sub02" / "EP_EMPTY").iterdir():
        p.unlink()
    (frames_dir / "sub02" / "EP_CORRUPT" / "img5.jpg").write_bytes(b"not a jpeg at all")
    return root


def test_check_names_each_problem(tmp_path):
    report = check_dataset("casme2", _broken_casme2(tmp_path))
    assert not report.ok
    problems = dict((k.split("/")[-1], m) for k, m in report.problems)
    assert set(problems) == {"EP_MISSING", "EP_APEX", "EP_EMOTION", "EP_EMPTY", "EP_CORRUPT"}
    assert "frame number(s) 4" in problems["EP_MISSING"]
    assert "apex frame 6 outside" in problems["EP_APEX"]
    assert "unknown emotion 'joy'" in problems["EP_EMOTION"]
    assert "no frame files" in problems["EP_EMPTY"]
    assert "corrupt" in problems["EP_CORRUPT"] and "img5.jpg" in problems["EP_CORRUPT"]
    assert len(report.table) == 4  # good, missing (gap only), emotion, corrupt


def test_cli_check_exit_codes(tmp_path, capsys):
    broken = _broken_casme2(tmp_path)
    assert main(["datasets", "check", "--dataset", "casme2", "--root", str(broken)]) == 1
    out = capsys.readouterr().out
    for clip in ("EP_MISSING", "EP_APEX", "EP_EMOTION", "EP_EMPTY", "EP_CORRUPT"):
        assert f"PROBLEM casme2/sub0" in out and clip in out
    good, _ = write_casme2(tmp_path)
    assert main(["datasets", "check", "--dataset", "casme2", "--root", str(good), "--scheme", "composite3"]) == 0
    out = capsys.readouterr().out
    assert "happiness: 1" in out and "casme2/sub01: 2" in out and "Thumbs.db" in out and "OK" in out
    assert "label scheme composite3" in out and "excluded casme2 'others': 1" in out
    smic, _ = write_smic(tmp_path)
    assert main(["datasets", "check", "--dataset", "smic", "--root", str(smic), "--option", "apex=midpoint"]) == 0
    assert "midpoint 3" in capsys.readouterr().out
    # a missing root is an error (exit 2) naming the folder
    assert main(["datasets", "check", "--dataset", "samm", "--root", str(tmp_path / "none")]) == 2
    assert "none" in capsys.readouterr().err


def test_cli_list(capsys):
    assert main(["datasets", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("casme2", "samm", "smic", "ckplus", "casme", "casme_sq", "manifest"):
        assert f"\n{name} " in "\n" + out
    assert "variant='HS'" in out
