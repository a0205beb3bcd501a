"""STSTNet / LAENet architecture facts and the published-weights loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from microexpr.errors import ModelError
from microexpr.models import create_model
from microexpr.models.ststnet import load_published_ststnet


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_parameter_counts_match_the_papers():
    assert n_params(create_model("ststnet")) == 1683  # METHODS.md, released code
    assert n_params(create_model("laenet")) == 843  # LAENet paper, Table 1 / §2.1.4


def test_layer_shapes_follow_the_paper_tables():
    x = torch.rand(2, 3, 28, 28)
    s = create_model("ststnet")
    assert s.conv1(x).shape == (2, 3, 30, 30)  # padding 2
    assert s.maxpool(s.conv3(x)).shape == (2, 8, 10, 10)
    assert s.forward_features(x).shape == (2, 400)
    lae = create_model("laenet")
    assert lae.conv2(x).shape == (2, 5, 28, 28)  # "same" (Table 2, C1-2)
    assert lae.maxpool(lae.conv2(x)).shape == (2, 5, 10, 10)  # P1-2
    assert lae.forward_features(x).shape == (2, 200)  # FC input 200
    assert not hasattr(lae, "conv3")


def published_state() -> dict[str, torch.Tensor]:
    """A state dict in the released STSTNet key layout, built by hand (not from our class)."""
    g = torch.Generator().manual_seed(3)
    st = {}
    for i, w in enumerate((3, 5, 8), start=1):
        st[f"conv{i}.weight"] = torch.randn(w, 3, 3, 3, generator=g)
        st[f"conv{i}.bias"] = torch.randn(w, generator=g)
    for i, w in enumerate((3, 5, 8), start=1):
        st[f"bn{i}.weight"] = torch.rand(w, generator=g) + 0.5
        st[f"bn{i}.bias"] = torch.randn(w, generator=g)
        st[f"bn{i}.running_mean"] = torch.randn(w, generator=g) * 10
        st[f"bn{i}.running_var"] = torch.rand(w, generator=g) * 100 + 1
        st[f"bn{i}.num_batches_tracked"] = torch.tensor(1600)
    st["fc.weight"] = torch.randn(3, 400, generator=g) * 0.05
    st["fc.bias"] = torch.randn(3, generator=g)
    return st


def reference_forward(st: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Eval-mode STSTNet written directly from METHODS.md with torch.nn.functional."""
    F = torch.nn.functional
    outs = []
    for i in (1, 2, 3):
        h = F.relu(F.conv2d(x, st[f"conv{i}.weight"], st[f"conv{i}.bias"], padding=2))
        h = F.batch_norm(h, st[f"bn{i}.running_mean"], st[f"bn{i}.running_var"], st[f"bn{i}.weight"], st[f"bn{i}.bias"], False)
        outs.append(F.max_pool2d(h, 3, 3, 1))
    return F.linear(F.avg_pool2d(torch.cat(outs, 1), 2).flatten(1), st["fc.weight"], st["fc.bias"])


def test_published_layout_loads_strictly_and_computes_the_reference(tmp_path):
    st = published_state()
    torch.save(st, tmp_path / "006.pth")
    model = load_published_ststnet(tmp_path / "006.pth")
    assert not model.training
    x = torch.rand(4, 3, 28, 28) * 255
    with torch.no_grad():
        np.testing.assert_allclose(model(x).numpy(), reference_forward(st, x).numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("change,named", [("drop", "bn2.running_var"), ("extra", "conv4.weight")])
def test_missing_or_extra_key_is_refused_with_the_key_named(tmp_path, change, named):
    st = published_state()
    if change == "drop":
        del st[named]
    else:
        st[named] = torch.zeros(1)
    torch.save(st, tmp_path / "s01.pth")
    with pytest.raises(ModelError, match=named.replace(".", r"\.")) as info:
        load_published_ststnet(tmp_path / "s01.pth")
    assert "s01.pth" in str(info.value)


def test_wrong_shape_is_refused(tmp_path):
    st = published_state()
    st["fc.weight"] = torch.zeros(5, 400)
    torch.save(st, tmp_path / "sub01.pth")
    with pytest.raises(ModelError, match=r"fc\.weight.*\(5, 400\)"):
        load_published_ststnet(tmp_path / "sub01.pth")
