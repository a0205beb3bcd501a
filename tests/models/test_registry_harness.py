"""One test over the whole model registry (every engineer's models), timm style.

Each model builds with its factory's ``harness_kwargs`` (a dict attribute set on the
registered factory function, e.g. ``off_apexnet.harness_kwargs = {"hidden": 16}``) so
wide models run at small width here; models run on ``model.example_input(2)``, which
returns a Tensor or a tuple of Tensors (called as ``model(*xs)``).
"""

from __future__ import annotations

import inspect

import pytest
import torch

from microexpr.errors import ModelError
from microexpr.models import create_model, list_models
from microexpr.models import registry as reg


def build(name: str) -> torch.nn.Module:
    kwargs = dict(getattr(reg._REGISTRY[name], "harness_kwargs", {}))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return create_model(name, **kwargs)


def run(model: torch.nn.Module, x):
    return model(*x) if isinstance(x, tuple) else model(x)


def features(model: torch.nn.Module, x):
    return model.forward_features(*x) if isinstance(x, tuple) else model.forward_features(x)


def test_registry_lists_the_flow_networks():
    assert {"ststnet", "laenet", "off_apexnet"} <= set(list_models())


@pytest.mark.parametrize("name", list_models())
def test_model_interface(name: str):
    torch.manual_seed(0)
    model = build(name)
    model.train()
    x = model.example_input(batch_size=2)
    out = run(model, x)
    default_classes = inspect.signature(reg._REGISTRY[name]).parameters.get("num_classes")
    assert out.ndim == 2 and out.shape[0] == 2
    if default_classes is not None:
        assert out.shape[1] == default_classes.default
    assert torch.isfinite(out).all()
    f = features(model, x)
    assert f.shape == (2, model.num_features)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(model.forward_head(features(model, x)), run(model, x), atol=1e-5)
    model.train()
    run(model, x).square().sum().backward()
    unreached = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())]
    assert not unreached, f"{name}: no finite gradient reaches {unreached}"
    model.reset_classifier(5)
    assert run(model, model.example_input(batch_size=2)).shape == (2, 5)


def test_unknown_name_and_keyword_are_errors():
    with pytest.raises(ModelError, match="unknown model 'stsnet'"):
        create_model("stsnet")
    with pytest.raises(ModelError, match="unknown keyword"):
        create_model("ststnet", widths=4)
