"""Device and precision plumbing, checked on the CPU (nothing here needs a GPU): explicit
``cpu``, ``auto`` without CUDA, clear errors for devices the machine lacks, autocast really on
at ``bf16``, the record in ``metrics.json``, and the grouped-convolution batched path (what a GPU
runs) equal to fold-by-fold training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from microexpr.devices import Compute, compute_for, current, resolve_device, using
from microexpr.errors import ConfigError
from microexpr.models import create_model
from microexpr.training.batched import StackedStreamNet, train_folds_batched
from microexpr.training.loop import TrainConfig, predict_proba, train_model
from microexpr.training.seeding import FoldSeeds, seeded_init


def test_cpu_and_auto_without_cuda(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")  # auto picks CUDA when PyTorch sees it


@pytest.mark.parametrize("spec,says", [
    ("cuda", "(?i)use device: auto or cpu"), ("cuda:1", "(?i)use device: auto or cpu"),
    ("mps", "not available here"), ("gpu", "unknown"), ("cuda:x", "unknown"),
])
def test_a_device_this_machine_lacks_is_a_clear_error(monkeypatch, spec, says):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=says):
        resolve_device(spec)


def test_half_precision_needs_cuda_and_bf16_really_autocasts():
    with pytest.raises(ConfigError, match="16-mixed needs a CUDA device"):
        Compute(torch.device("cpu"), "16-mixed")
    with pytest.raises(ConfigError, match="precision '8'"):
        compute_for("cpu", "8")
    model = create_model("ststnet")
    seen: list[torch.dtype] = []
    model.fc.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    x, y = torch.rand(12, 3, 28, 28) * 255, torch.arange(12) % 3
    seeds = FoldSeeds.for_fold(0, [str(i) for i in range(12)])
    with using(compute_for("cpu", "bf16")):
        hist = train_model(model, x, y, TrainConfig(epochs=1, lr=1e-3, batch_size=6), seeds)
        proba = predict_proba(model, x)
    assert seen and set(seen) == {torch.bfloat16} and np.isfinite(hist.train_loss).all()
    assert proba.dtype == np.float64 and np.allclose(proba.sum(1), 1)
    seen.clear()
    predict_proba(model, x)  # outside the block: float32 again
    assert seen == [torch.float32] and current() == Compute()


def _folds_and_models(n_folds: int = 3):
    torch.manual_seed(1)
    x = torch.rand(30, 3, 28, 28) * 255
    y = torch.arange(30) % 3
    folds = [torch.arange(0, 25), torch.arange(5, 30), torch.arange(0, 30, 2)][:n_folds]
    seeds = [FoldSeeds.for_fold(3, [str(i) for i in f.tolist()]) for f in folds]
    models = []
    for s in seeds:
        with seeded_init(s.init):
            models.append(create_model("ststnet"))
    return x, y, folds, seeds, models


def test_grouped_convolution_forward_equals_one_conv_per_fold():
    _, _, _, _, models = _folds_and_models()
    x = torch.rand(3, 6, 3, 28, 28) * 255
    sizes = [6, 4, 0]  # ragged, one fold empty this step
    loop = StackedStreamNet(models, grouped=False)
    grouped = StackedStreamNet(models, grouped=True)
    a, b = loop.forward(x, sizes, training=True), grouped.forward(x, sizes, training=True)
    for f, n in enumerate(sizes):
        np.testing.assert_allclose(a[f, :n].detach().numpy(), b[f, :n].detach().numpy(), atol=1e-4)
    ga = torch.autograd.grad(a[:, :4].sum(), loop.params)
    gb = torch.autograd.grad(b[:, :4].sum(), grouped.params)
    for u, v in zip(ga, gb):
        np.testing.assert_allclose(u.numpy(), v.numpy(), rtol=1e-4, atol=1e-3)


def test_the_device_batched_path_trains_the_models_of_fold_by_fold_training(monkeypatch):
    """What a GPU runs (eager PyTorch ops, grouped convolution over folds, each step's rows
    gathered from images moved once; ragged folds so padding rows exist), forced on the CPU,
    against train_model fold by fold with the same seeds."""
    import microexpr.training.batched as batched

    import functools

    x, y, folds, seeds, models = _folds_and_models()
    monkeypatch.setattr(batched, "_train_chunk", functools.partial(batched._train_chunk, grouped=True, gather=True))
    cfg = TrainConfig(epochs=3, lr=5e-5, batch_size=8)
    train_folds_batched(models, x, y, folds, cfg, seeds, fold_chunk=3, backend="eager")
    for f, (idx, s) in enumerate(zip(folds, seeds)):
        with seeded_init(s.init):
            ref = create_model("ststnet")
        train_model(ref, x[idx], y[idx], cfg, s)
        assert np.abs(predict_proba(ref, x) - predict_proba(models[f], x)).max() <= 1e-4


def test_run_records_its_device_and_a_missing_gpu_stops_it_before_any_work(tmp_path, monkeypatch):
    from microexpr.runs import execute_run
    from tests.runs.runs_helpers import feature_file, labelled_table, run_config, run_data

    table = labelled_table({"casme2": 3, "samm": 3})
    method = {"name": "logistic", "params": {"features": str(feature_file(tmp_path / "f.npz", table))}}

    def run(where: str, **extra: object):
        return execute_run(run_config(method, {"name": "cde"}, **extra), tmp_path / where, progress=False,
                           data=run_data(table))

    result = run("run", device="cpu")
    compute = json.loads((tmp_path / "run" / "metrics.json").read_text())["compute"]
    assert compute["device"] == "cpu" and compute["precision"] == "32" and compute["torch"] == torch.__version__
    assert result.metrics["compute"] == compute
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA GPU is visible"):
        run("run2", device="cuda")
    assert not list((tmp_path / "run2").glob("folds/*/*.csv"))
    # device is result-neutral: the finished run resumes under another device; precision is not
    assert run("run", device="auto").computed == []
    with pytest.raises(ConfigError, match="precision"):
        run("run", precision="bf16")
