"""User and environment errors end in one line naming the thing and the fix (exit code 2 from
the CLI), never a traceback; results already written stay; no message advises turning a
safety check off."""

from __future__ import annotations

import errno
import json
import os
import pickle
import stat

import numpy as np
import openpyxl
import pytest
import torch

from microexpr.artefacts import load_artefact, save_artefact
from microexpr.cli import main
from microexpr.config import config_from_dict
from microexpr.datasets import check_dataset, read_dataset
from microexpr.errors import ConfigError, DatasetFormatError, ModelError, OutputError
from microexpr.io_utils import atomic_write_text
from microexpr.labels import apply_scheme
from microexpr.models import create_model
from microexpr.predict import predict
from microexpr.runs import execute_run
from microexpr.sources.feature_npz import load_feature_file
from tests.datasets.fakes import write_casme2, write_manifest, write_smic

SAFETY_ADVICE = ("weights_only=False", "allow_pickle=True", "safe_globals")


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


# --------------------------------------------------------------------------- text files


def test_csv_encodings(tmp_path):
    smic_root, _ = write_smic(tmp_path)
    table = read_dataset("smic", smic_root).table
    latin1 = tmp_path / "gt_latin1.csv"
    latin1.write_bytes("smic,s01,s01_ne_01,0\nsmic,s01,s01_po_02,1  # caf\xe9\n".encode("latin-1"))
    with pytest.raises(DatasetFormatError, match=rf"ground-truth list {latin1} is not UTF-8 text .*save it as UTF-8"):
        apply_scheme(table, "composite3", ground_truth_csv=latin1)
    utf16 = tmp_path / "gt_utf16.csv"  # Excel's "Unicode text": read as it is
    utf16.write_bytes("smic,s01,s01_ne_01,0\nsmic,s01,s01_po_02,1\n".encode("utf-16"))
    out, _, _ = apply_scheme(table, "composite3", ground_truth_csv=utf16)
    assert sorted(out["clip"]) == ["s1_ne_01", "s1_po_02"]
    manifest, _ = write_manifest(tmp_path)  # the manifest CSV itself
    manifest.write_bytes(manifest.read_text().replace("KA", "K\xc4").encode("latin-1"))
    with pytest.raises(DatasetFormatError, match=rf"manifest {manifest} is not UTF-8 text"):
        read_dataset("manifest", manifest)


def test_manifest_row_with_an_empty_label_is_a_problem(tmp_path):
    manifest, _ = write_manifest(tmp_path)
    manifest.write_text(manifest.read_text().replace("stills/NA_sad.png,sad,NA", "stills/NA_sad.png,,NA"))
    report = check_dataset("manifest", manifest)
    assert any("line 4: empty label" in m for _, m in report.problems) and not report.ok


# --------------------------------------------------------------------------- sheets


def _edit_sheet(root, edit) -> None:
    sheet = next(root.glob("CASME2-coding*.xlsx"))
    wb = openpyxl.load_workbook(sheet)
    edit(wb.active)
    wb.save(sheet)


def test_sheet_without_the_emotion_column_says_so(tmp_path):
    root, _ = write_casme2(tmp_path)
    _edit_sheet(root, lambda ws: ws.delete_cols([c.value for c in ws[1]].index("Estimated Emotion") + 1))
    with pytest.raises(DatasetFormatError, match=r"has no 'Estimated Emotion' column") as err:
        read_dataset("casme2", root)
    assert "unknown emotion" not in str(err.value)


def test_duplicate_sheet_rows_are_named(tmp_path):
    root, _ = write_casme2(tmp_path)
    _edit_sheet(root, lambda ws: ws.append([c.value for c in ws[2]]))
    with pytest.raises(DatasetFormatError, match=r"row 5: clip sub01/EP02_01f is listed twice .*also row 2"):
        read_dataset("casme2", root)


# --------------------------------------------------------------------------- model files


def _artefact(tmp_path):
    torch.manual_seed(0)
    model = create_model("laenet", num_classes=3)
    payload = {"model_name": "laenet", "model_kwargs": {"num_classes": 3, "drop_rate": 0.5},
               "state_dict": model.state_dict(), "input_name": "flow_image", "input_params": {}}
    return save_artefact(tmp_path / "m.pt", payload, classes=("negative", "positive", "surprise"), training={})


def test_flipped_bytes_anywhere_are_loaded_identically_or_refused_by_name(tmp_path):
    path = _artefact(tmp_path)
    good = path.read_bytes()
    reference = load_artefact(path).state_dict
    rng = np.random.default_rng(0)
    offsets = sorted(set(rng.integers(0, len(good), 150).tolist()) | set(range(0, len(good), max(1, len(good) // 50))))
    outcomes = {"identical": 0, "refused": 0}
    for off in offsets:
        data = bytearray(good)
        data[off] ^= 0x5A
        path.write_bytes(bytes(data))
        try:
            art = load_artefact(path)
        except ModelError as exc:
            assert str(path) in str(exc) and not any(a in str(exc) for a in SAFETY_ADVICE), (off, str(exc))
            outcomes["refused"] += 1
            continue
        for k, v in reference.items():  # accepted only when nothing that matters changed
            assert torch.equal(art.state_dict[k], v), off
        outcomes["identical"] += 1
    assert outcomes["refused"] > len(offsets) // 2


def test_refusals_never_advise_switching_safety_off(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"x": pickle.loads(pickle.dumps(os.getcwd))}, evil)  # a callable: refused by the safe loader
    with pytest.raises(ModelError) as err:
        load_artefact(evil)
    assert "could run code" in str(err.value) and not any(a in str(err.value) for a in SAFETY_ADVICE)
    feats = tmp_path / "f.npz"
    np.savez(feats, X=np.zeros((1, 2)), keys=np.array(["a/b/c"], dtype=object))
    with pytest.raises(DatasetFormatError) as err:
        load_feature_file(feats, ["a/b/c"])
    assert not any(a in str(err.value) for a in SAFETY_ADVICE)


# --------------------------------------------------------------------------- feature files


@pytest.mark.parametrize("make,match", [
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: np.save(p.with_suffix(".npy"), np.zeros((2, 2))) or p.with_suffix(".npy").rename(p), "holds a single array"),
    (lambda p: np.savez(p, X=np.zeros((2, 0)), keys=np.array(["a/s/1", "a/s/2"])), "X has no columns"),
    (lambda p: np.savez(p, X=np.array([[1e300, 0.0], [0.0, 0.0]]), keys=np.array(["a/s/1", "a/s/2"])), r"values beyond 1e\+150 in the rows of \['a/s/1'\]"),
])
def test_bad_feature_files(tmp_path, capsys, make, match):
    p = tmp_path / "feats.npz"
    make(p)
    with pytest.raises(DatasetFormatError, match=match):
        load_feature_file(p, ["a/s/1", "a/s/2"])


# --------------------------------------------------------------------------- outputs


def _majority(tmp_path):
    root, _ = write_casme2(tmp_path)
    return config_from_dict({"name": "m", "data": {"datasets": {"casme2": str(root)}, "scheme": "native"},
                             "protocol": {"name": "loso"}, "method": {"name": "majority"}})


def test_unusable_out_or_cache_dir(tmp_path):
    cfg = _majority(tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=rf"run directory \(--out\) {blocker / 'run'} is not a writable folder"):
        execute_run(cfg, blocker / "run", progress=False)
    cfg_cache = config_from_dict({**_raw(cfg), "cache_dir": str(blocker)})
    with pytest.raises(OutputError, match=rf"cache_dir {blocker} is a file"):
        execute_run(cfg_cache, tmp_path / "run", progress=False)


def _raw(cfg):
    from microexpr.config import resolve_config

    return resolve_config(cfg)


def test_disk_full_while_writing_a_fold_keeps_what_is_done(tmp_path, monkeypatch):
    cfg = _majority(tmp_path)
    run_dir = tmp_path / "run"
    real_replace = os.replace
    calls = {"folds": 0}

    def replace(src, dst):
        if "/folds/" in str(dst):
            calls["folds"] += 1
            if calls["folds"] == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr("microexpr.io_utils.os.replace", replace)
    with pytest.raises(OutputError, match=r"disk full while writing .*folds.* run the same command again"):
        execute_run(cfg, run_dir, progress=False)
    monkeypatch.setattr("microexpr.io_utils.os.replace", real_replace)
    assert len(list((run_dir / "folds").rglob("*.csv"))) == 1 and not list((run_dir / "folds").rglob(".*.tmp"))
    res = execute_run(cfg, run_dir, progress=False)
    assert len(res.skipped) == 1 and len(res.computed) == 1


def test_written_files_follow_the_umask_not_0600(tmp_path):
    old = os.umask(0o002)
    try:
        import microexpr.io_utils as io_utils

        io_utils._umask.cache_clear()
        path = atomic_write_text(tmp_path / "shared.txt", "lab results")
    finally:
        os.umask(old)
        io_utils._umask.cache_clear()
    assert stat.S_IMODE(path.stat().st_mode) == 0o664


# --------------------------------------------------------------------------- report and predict options


def test_report_on_damaged_or_foreign_folders(tmp_path, capsys):
    code, err = _cli(capsys, "report", str(tmp_path))
    assert code == 2 and "is not a run directory" in err and "resume" not in err
    for name in ("metrics.json", "config.yaml", "folds.json"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "metrics.json").write_text("")
    code, err = _cli(capsys, "report", str(tmp_path))
    assert code == 2 and "damaged" in err and "metrics.json" in err
    (tmp_path / "metrics.json").write_text(json.dumps([1, 2]))
    code, err = _cli(capsys, "report", str(tmp_path))
    assert code == 2 and "not what `microexpr run` writes" in err


@pytest.mark.parametrize("option", ["--fps", "--window", "--stride"])
def test_predict_refuses_infinite_options(tmp_path, capsys, option):
    code, err = _cli(capsys, "predict", str(tmp_path), "--model", str(tmp_path / "m.pt"), option, "inf")
    assert code == 2 and f"{option} must be a positive, finite number, got inf" in err
    with pytest.raises(ConfigError):
        predict(tmp_path, tmp_path / "m.pt", fps=float("nan"))


def test_predict_checks_its_outputs_before_the_work(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, err = _cli(capsys, "predict", str(tmp_path), "--model", str(tmp_path / "absent.pt"), "--out", str(blocker / "r.json"))
    assert code == 2 and f"--out folder {blocker} is a file" in err and "absent.pt" not in err  # before any work
    code, err = _cli(capsys, "predict", str(tmp_path), "--model", str(tmp_path / "absent.pt"), "--visualise", str(blocker))
    assert code == 2 and f"--visualise {blocker} is a file" in err
