"""End to end on the synthetic corpus: each baseline under CDE, shuffled labels, the CLI.

Numbers here are measured on SYNTHETIC clips: they show that the pipeline carries the
planted signal, not how the descriptors do on real micro-expressions.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from microexpr.cli import main
from microexpr.config import config_from_dict
from microexpr.errors import ConfigError
from microexpr.methods import create_method
from microexpr.runs import execute_run, load_run_data

SMALL = {"tim_length": 10, "size": 64}
METHODS = {
    "lbptop_svm": {**SMALL, "radius_x": 1, "radius_y": 1, "radius_t": 3, "n_points": 8, "grid": [5, 5],
                   "kernel": "linear", "C": 100.0},
    "hoof_svm": {**SMALL, "n_bins": 8, "grid": [4, 4], "temporal": "pooled", "C": 100.0},
    "mdmo_svm": {**SMALL, "lam": 0.77},
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from microexpr.synth import generate_corpus

    base = tmp_path_factory.mktemp("handcrafted")
    roots = generate_corpus(base / "synth", size="quick", seed=0)
    return {"roots": {d: str(roots[d]) for d in ("casme2", "samm", "smic")}, "cache": base / "cache", "base": base}


def _config(corpus, name, params):
    return config_from_dict({
        "name": name, "data": {"scheme": "composite3", "synthetic": True, "datasets": corpus["roots"]},
        "protocol": {"name": "cde"}, "method": {"name": name, "params": params},
        "cache_dir": str(corpus["cache"]), "n_jobs": 1,
    })


@pytest.mark.parametrize("name", sorted(METHODS))
def test_baseline_beats_chance_under_cde_and_shuffled_labels_do_not(corpus, name):
    config = _config(corpus, name, METHODS[name])
    data = load_run_data(config)
    run_dir = corpus["base"] / f"run_{name}"
    real = execute_run(config, run_dir, progress=False, data=data).metrics["overall"]
    assert real["n"] == 60
    # chance UAR for 3 classes is 1/3 (synthetic data: a pipeline check, not a benchmark)
    assert real["uar"] >= 0.55 and real["uf1"] >= 0.5, real
    shuffled = []
    for seed in (1, 2):
        shutil.rmtree(run_dir)
        shuffled.append(execute_run(config, run_dir, progress=False, data=data.with_shuffled_labels(seed)).metrics["overall"]["uar"])
    assert max(shuffled) < 0.5 and np.mean(shuffled) < 0.42, shuffled


def test_cli_extract_then_evaluate_equals_the_method_run(corpus, capsys):
    """LBP-TOP written to an .npz and evaluated from the CLI gives the lbptop_svm run's predictions."""
    params = {k: v for k, v in METHODS["lbptop_svm"].items() if k not in ("kernel", "C")}
    out = corpus["base"] / "lbptop.npz"
    data_args = [f"{d}={r}" for d, r in corpus["roots"].items()]
    argv = ["features", "extract", "lbptop", "--data", *data_args, "--out", str(out), "--cache-dir", str(corpus["cache"]),
            "--jobs", "1", "--quiet", "--param", *[f"{k}={json.dumps(v)}" for k, v in params.items()]]
    assert main(argv) == 0
    with np.load(out) as z:
        assert z["X"].shape == (60, 25 * 3 * 59)
    run_dir = corpus["base"] / "cli_eval"
    argv = ["features", "evaluate", str(out), "--data", *data_args, "--protocol", "cde", "--classifier", "linear",
            "--C", "100", "--out", str(run_dir), "--quiet", "--synthetic"]
    assert main(argv) == 0
    assert "uar" in capsys.readouterr().out.lower()
    via_cli = json.loads((run_dir / "metrics.json").read_text())["overall"]
    direct = execute_run(_config(corpus, "lbptop_svm", METHODS["lbptop_svm"]), corpus["base"] / "direct", progress=False)
    for key in ("acc", "uf1", "uar"):
        assert via_cli[key] == pytest.approx(direct.metrics["overall"][key])
    # a bad classifier option is a clean CLI error (exit 2), not a traceback
    assert main(["features", "evaluate", str(out), "--data", *data_args, "--protocol", "cde", "--test", "smic"]) == 2


def test_method_parameters_are_validated_before_any_preprocessing():
    with pytest.raises(ConfigError, match="unknown LBP mapping"):
        create_method("lbptop_svm", {"mapping": "riu2"})
    with pytest.raises(ConfigError, match="unknown SVM kernel"):
        create_method("hoof_svm", {"kernel": "rbf"})
    with pytest.raises(ConfigError, match="lam"):
        create_method("mdmo_svm", {"lam": 2.0})
    with pytest.raises(ConfigError, match="set by the method's own parameters"):
        create_method("lbptop_svm", {"inputs": {"size": 32}})._input()
    with pytest.raises(ConfigError, match="unknown parameter"):
        create_method("features_svm", {"features": "x.npz", "radius": 3})


@pytest.mark.parametrize("name", ["hoof_svm", "mdmo_svm"])
def test_descriptors_in_parts_equal_descriptors_at_once(corpus, name, monkeypatch, tmp_path):
    """Large inputs (HOOF's 64-frame flow sequences: 8 MB a clip) are loaded and described a part
    at a time; the descriptor matrix is the same as from one load of every clip."""
    import microexpr.inputs as inputs_mod
    import microexpr.methods.handcrafted as hc
    from microexpr.methods.base import RunContext

    data = load_run_data(_config(corpus, name, METHODS[name]))
    table = data.table.head(7)
    ctx = RunContext(run_dir=tmp_path, cache_dir=corpus["cache"], classes=("a", "b", "c"), progress=False)
    whole = create_method(name, METHODS[name]).features(table, ctx)
    sizes = []
    real = inputs_mod.load_inputs
    monkeypatch.setattr(inputs_mod, "load_inputs", lambda t, *a, **k: sizes.append(len(t)) or real(t, *a, **k))
    per_clip = hc._clip_bytes(create_method(name, METHODS[name]).representation,
                              create_method(name, METHODS[name])._input())
    monkeypatch.setattr(hc, "CHUNK_BYTES", 3 * per_clip)  # parts of three clips
    monkeypatch.setattr(hc, "_MEMO", {})
    parts = create_method(name, METHODS[name]).features(table, ctx)
    assert sizes and max(sizes) == 3 and sum(sizes) == len(table) * (2 if name == "mdmo_svm" else 1)
    np.testing.assert_array_equal(parts, whole)
