"""The generated corpus: deterministic, reused, atomic, composite-shaped, and read by the
dataset readers exactly as planted (no repairs; apex '/' only where planted)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from microexpr.errors import ConfigError
from microexpr.synth import GENERATOR_VERSION, Nuisances, generate_corpus, plan_corpus, read_manifest
from microexpr.synth.sizes import COMPOSITE_COUNTS, COMPOSITE_SUBJECTS, SIZES, composite_totals


def _files(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file except spreadsheets (they embed a timestamp)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix != ".xlsx" and p.name != "synth_manifest.json":
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _sheets(root: Path) -> dict[str, list[tuple]]:
    from openpyxl import load_workbook

    out = {}
    for p in sorted(root.rglob("*.xlsx")):
        ws = load_workbook(p, read_only=True).active
        out[str(p.relative_to(root))] = [tuple(r) for r in ws.iter_rows(values_only=True)]
    return out


def test_same_seed_gives_identical_corpus(quick_corpus, tmp_path: Path) -> None:
    out, _ = quick_corpus
    again = tmp_path / "again"
    generate_corpus(again, size="quick", seed=0)
    assert _files(again) == _files(out)
    assert _sheets(again) == _sheets(out)
    assert read_manifest(again)["clips"] == read_manifest(out)["clips"]


def test_other_seed_gives_other_corpus() -> None:
    a, b = plan_corpus("quick", 0), plan_corpus("quick", 1)
    assert [(r.subject, r.clip) for r in a] != [(r.subject, r.clip) for r in b]
    assert a[0].plan.identity != b[0].plan.identity


def test_existing_corpus_is_reused_and_other_settings_refused(quick_corpus) -> None:
    out, roots = quick_corpus
    manifest = out / "synth_manifest.json"
    before = manifest.stat().st_mtime_ns
    assert generate_corpus(out, size="quick", seed=0) == roots
    assert manifest.stat().st_mtime_ns == before
    with pytest.raises(ConfigError, match="seed=0.*delete it"):
        generate_corpus(out, size="quick", seed=1)
    with pytest.raises(ConfigError, match="different settings"):
        generate_corpus(out, size="quick", seed=0, nuisances=Nuisances.off())
    # Generation happened in a temporary sibling that was renamed: nothing left behind.
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_bad_arguments_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown corpus size 'huge'"):
        generate_corpus(tmp_path / "x", size="huge")
    with pytest.raises(ConfigError, match="seed"):
        generate_corpus(tmp_path / "x", seed=-1)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="other files"):
        generate_corpus(tmp_path / "full")
    assert not (tmp_path / "x").exists()


def test_manifest_records_ground_truth(quick_corpus) -> None:
    out, roots = quick_corpus
    m = read_manifest(out)
    assert (m["seed"], m["size"], m["generator_version"], m["complete"]) == (0, "quick", GENERATOR_VERSION, True)
    assert m["nuisances"] == Nuisances().to_dict()
    assert set(roots) == {"casme2", "samm", "smic", "ckplus"}
    for c in m["clips"]:
        assert c["onset_frame"] <= c["apex_frame"] <= c["offset_frame"]
        assert c["aus"], c
        if c["dataset"] != "ckplus":
            lo, hi = SIZES["quick"].micro_peak_px
            assert lo <= c["peak_displacement_px"] <= hi
    fps = {c["dataset"]: c["fps"] for c in m["clips"]}
    assert fps == {"casme2": 200.0, "samm": 200.0, "smic": 100.0, "ckplus": 30.0}


def test_default_size_has_the_composite_shape() -> None:
    totals = composite_totals(SIZES["default"])
    assert totals == COMPOSITE_COUNTS
    per_class = {k: sum(t[k] for t in totals.values()) for k in ("negative", "positive", "surprise")}
    assert per_class == {"negative": 250, "positive": 109, "surprise": 83}
    assert sum(per_class.values()) == 442
    plan = plan_corpus("default", 0)
    composite = [r for r in plan if r.dataset != "ckplus" and r.composite_class]
    assert len(composite) == 442
    subjects = {(r.dataset, r.subject) for r in composite}
    assert len(subjects) == 68
    for ds, subs in COMPOSITE_SUBJECTS.items():
        assert {s for d, s in subjects if d == ds} == set(subs)
    # Subjects outside the composite set hold only excluded emotions, as in the real corpora.
    extra = {r.subject for r in plan if r.dataset == "casme2"} - set(COMPOSITE_SUBJECTS["casme2"])
    assert extra == {"sub10", "sub18"}
    assert sum(1 for r in plan if r.dataset == "casme2" and not r.apex_written) == 21


import microexpr.datasets as readers  # noqa: E402


def _read(name: str, root: Path):
    return readers.read_dataset(name, root, **({"apex": "middle"} if name == "smic" else {}))


@pytest.mark.parametrize("name", ["casme2", "samm", "smic", "ckplus"])
def test_readers_read_every_clip_as_planted(quick_corpus, name: str) -> None:
    out, roots = quick_corpus
    planned = {(c["subject"], c["clip"]): c for c in read_manifest(out)["clips"] if c["dataset"] == name}
    read = _read(name, roots[name])
    assert read.repairs == []
    # Only the planted extras are skipped: SMIC's non_micro tree, CK+ unlabelled sequences.
    expected_skips = {c["clip"] for c in planned.values() if c["emotion"] in ("non_micro", None)}
    assert len(read.skipped) == (1 if name == "smic" else len(expected_skips))
    table = read.table
    kept = {k: c for k, c in planned.items() if c["emotion"] not in ("non_micro", None)}
    assert len(table) == len(kept)
    for row in table.itertuples():
        native_subject = row.subject.split("/", 1)[1]
        c = kept.get((native_subject, row.clip)) or kept[("s" + native_subject.lstrip("s0"), row.clip)]
        assert len(row.frames) == c["n_frames"]
        assert row.fps == c["fps"]
        first = c["first_frame_number"]
        if name == "smic":  # no sheet: onset/offset are the first/last frame, apex filled
            assert (row.onset, row.offset, row.apex_source) == (0, c["n_frames"] - 1, "middle")
        else:
            assert (row.onset, row.offset) == (c["onset_frame"] - first, c["offset_frame"] - first)
            if c["apex_written"]:
                assert (row.apex, row.apex_source) == (c["apex_frame"] - first, "annotated")
            else:
                assert row.apex_source == "midpoint"
        lm = np.load(row.landmarks) if str(row.landmarks).endswith(".npy") else readers.load_landmarks(row.landmarks)
        assert lm.shape == (c["n_frames"], 68, 2)
    if name == "casme2":
        assert (table["apex_source"] == "midpoint").sum() == SIZES["quick"].casme2_missing_apex


@pytest.mark.parametrize("name", ["casme2", "samm", "smic", "ckplus"])
def test_datasets_check_exits_zero(quick_corpus, name: str, capsys) -> None:
    import microexpr.cli as cli
    _, roots = quick_corpus
    code = cli.main(["datasets", "check", "--dataset", name, "--root", str(roots[name])])
    assert code == 0, capsys.readouterr()


def test_composite_scheme_gives_the_planned_counts(quick_corpus) -> None:
    import microexpr.labels as labels
    import pandas as pd

    _, roots = quick_corpus
    table = pd.concat([_read(n, roots[n]).table for n in ("casme2", "samm", "smic")], ignore_index=True)
    labelled, classes, _ = labels.apply_scheme(table, "composite3")
    counts = labelled.groupby(["dataset", "label_name"]).size().to_dict()
    for ds, per_class in composite_totals(SIZES["quick"]).items():
        for cls, n in per_class.items():
            assert counts.get((ds, cls), 0) == n, (ds, cls)
    assert tuple(classes) == ("negative", "positive", "surprise")
    assert os.fspath(roots["casme2"]).endswith("casme2")
