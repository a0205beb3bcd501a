"""Every representation's arrays are exactly what they were before preprocessing was sped up
(issue 21): SHA-256 digests of each input of a few quick-corpus clips, recorded with the code
before the change, compared with what ``load_inputs`` computes now, with supplied landmarks and
with detected faces. The digests hold for the OpenCV/NumPy/dlib versions they were recorded
with (written in the file); under other versions the test says so and skips.

Record again (only for a change that is *meant* to alter inputs, with a version bump of the
representation): ``python -m tests.preprocessing.test_inputs_unchanged --record``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

DIGESTS = Path(__file__).with_name("input_digests.json")

#: (representation, parameters): every representation, and the variants the shipped configs use.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("flow_image", {}),
    ("flow_image", {"eye_mask": True}),
    ("flow_image", {"flow_size": 64, "flow_preset": "fast"}),
    ("apex_crop", {"size": 48}),
    ("apex_crop", {"size": 224, "colour": "rgb"}),
    ("onset_crop", {"size": 64}),
    ("crop_landmarks", {"size": 128}),
    ("tim_clip", {"length": 10}),
    ("tim_clip", {"length": 64, "interpolation": "linear"}),
    ("tim_clip_rect", {"length": 16, "height": 88, "width": 104}),
    ("apex_rect", {"height": 60, "width": 80}),
    ("flow_sequence", {"length": 10}),
    ("adm", {"size": 64, "half_window": 8}),
]
#: Inputs also checked with faces found by dlib (no landmark files).
DETECTED = [("flow_image", {}), ("apex_crop", {"size": 48}), ("tim_clip", {"length": 10})]


def versions() -> dict[str, str]:
    import cv2
    import dlib

    return {"opencv": cv2.__version__, "numpy": np.__version__, "dlib": dlib.__version__}


def clips(corpus: dict[str, Path], *, detected: bool) -> pd.DataFrame:
    """Two clips of each micro corpus and one CK+ sequence of the quick corpus (seed 0)."""
    from microexpr.datasets import read_dataset

    parts = []
    for name in ("casme2", "samm", "smic", "ckplus"):
        options = {"apex": "middle"} if name == "smic" else {}
        t = read_dataset(name, corpus[name], **options).table
        if name == "ckplus":
            t = t[t["emotion"].notna()]
        parts.append(t.sort_values("key").head(1 if name == "ckplus" else 2))
    table = pd.concat(parts, ignore_index=True)
    if detected:
        table = table.assign(landmarks=None)
    return table


def case_id(name: str, params: dict[str, Any], detected: bool) -> str:
    return f"{name}{json.dumps(params, sort_keys=True)}{'@detected' if detected else ''}"


def digests_of(table: pd.DataFrame, name: str, params: dict[str, Any], cache_dir: Path, n_jobs: int = 1) -> list[str]:
    from microexpr.inputs import load_inputs

    arr = load_inputs(table, name, params, cache_dir=cache_dir, n_jobs=n_jobs, progress=False)
    return [hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16] + f" {a.dtype} {a.shape}" for a in arr]


def _all_cases() -> list[tuple[str, dict[str, Any], bool]]:
    return [(n, p, False) for n, p in CASES] + [(n, p, True) for n, p in DETECTED]


@pytest.fixture(scope="module")
def quick_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    from microexpr.synth import generate_corpus

    out = tmp_path_factory.mktemp("synth") / "quick-seed0"
    return out, generate_corpus(out, size="quick", seed=0)


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    data = json.loads(DIGESTS.read_text())
    if data["versions"] != versions():
        pytest.skip(f"digests recorded with {data['versions']}, this machine has {versions()}")
    return data


@pytest.mark.parametrize("name,params,detected", _all_cases(), ids=[case_id(*c) for c in _all_cases()])
def test_inputs_equal_recorded_digests(recorded: dict[str, Any], quick_corpus, tmp_path: Path, name: str,
                                       params: dict[str, Any], detected: bool) -> None:
    _, roots = quick_corpus
    table = clips(roots, detected=detected)
    want = recorded["cases"][case_id(name, params, detected)]
    assert digests_of(table, name, params, tmp_path) == want
    # The same arrays through the process pool and from the warm cache.
    assert digests_of(table, name, params, tmp_path / "pool", n_jobs=2) == want
    assert digests_of(table, name, params, tmp_path / "pool", n_jobs=2) == want


def record() -> None:  # pragma: no cover - run by hand
    import tempfile

    from microexpr.synth import generate_corpus

    with tempfile.TemporaryDirectory() as tmp:
        roots = generate_corpus(Path(tmp) / "quick", size="quick", seed=0)
        out: dict[str, Any] = {"versions": versions(), "cases": {}}
        for name, params, detected in _all_cases():
            table = clips(roots, detected=detected)
            out["cases"][case_id(name, params, detected)] = digests_of(table, name, params, Path(tmp) / "cache")
            print(case_id(name, params, detected), "ok")
    DIGESTS.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":  # pragma: no cover
    if "--record" in sys.argv:
        record()


def test_flow_image_variants_share_one_flow(quick_corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The onset -> apex flow is computed once per clip for every flow_image variant that differs
    only after the flow (eye mask, output size), and the arrays equal those computed without any cache."""
    import microexpr.inputs.representations as reps
    from microexpr.inputs import load_inputs

    _, roots = quick_corpus
    table = clips(roots, detected=False)
    variants = [{}, {"eye_mask": True}, {"size": 44}, {"eye_mask": True, "eye_dilation": 3}]
    plain = [load_inputs(table, "flow_image", v, cache_dir=None, n_jobs=1, progress=False) for v in variants]
    calls = []
    real = reps.compute_flow
    monkeypatch.setattr(reps, "compute_flow", lambda *a, **k: calls.append(1) or real(*a, **k))
    shared = [load_inputs(table, "flow_image", v, cache_dir=tmp_path, n_jobs=1, progress=False) for v in variants]
    assert len(calls) == len(table)  # one TV-L1 per clip, not one per variant
    for a, b in zip(plain, shared):
        np.testing.assert_array_equal(a, b)
    # A flow parameter is part of the step's key: another preset computes again.
    load_inputs(table, "flow_image", {"flow_preset": "fast"}, cache_dir=tmp_path, n_jobs=1, progress=False)
    assert len(calls) == 2 * len(table)


def test_face_detect_max_side_is_part_of_the_face_step_key(quick_corpus, tmp_path: Path) -> None:
    """Searching a shrunk frame is an option that changes landmarks slightly: it gets its own face
    step (never the full-size search's cached one) and its own arrays."""
    from microexpr.inputs import load_inputs_with_stats

    _, roots = quick_corpus
    table = clips(roots, detected=True).query("key.str.startswith('casme2')")
    full, st_full = load_inputs_with_stats(table, "crop_landmarks", {"size": 128}, cache_dir=tmp_path, n_jobs=1,
                                           progress=False)
    small, st_small = load_inputs_with_stats(table, "crop_landmarks", {"size": 128, "face_detect_max_side": 120},
                                             cache_dir=tmp_path, n_jobs=1, progress=False)
    assert st_full.face_computed == st_small.face_computed == len(table)
    assert not np.array_equal(full, small)
    assert np.abs(full - small).mean() < 4.0  # the same faces, found on a 120 px copy of 168 px frames
