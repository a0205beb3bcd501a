"""STSTNet / LAENet architecture facts and the published-weights loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from microexpr.errors import ModelError
from microexpr.models import create_model
from microexpr.models.ststnet import load_published_ststnet
from tests.flownets.ststnet_reference import published_state, reference_forward


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
