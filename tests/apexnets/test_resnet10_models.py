"""Pre-activation ResNet-10 and Micro-Attention ResNet-10: sizes, interface, attention maps."""

from __future__ import annotations

import pytest
import torch

from microexpr.errors import ModelError
from microexpr.models import create_model, list_models
from microexpr.models.resnet10 import upsample_attention

NAMES = ["resnet10", "micro_attention_resnet10"]


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def hand_count(widths=(64, 128, 256, 512), in_chans=1, n_classes=5, attention=False) -> int:
    """Parameter count worked out from the architecture description (METHODS.md)."""
    stem = 64
    total = 2 * in_chans  # input BN
    total += stem * in_chans * 7 * 7 + 2 * stem  # conv1 + bn1
    cin = stem
    for i, c in enumerate(widths):
        if i > 0:
            total += 2 * cin  # pre-activation BN
        total += 9 * cin * c + 2 * c + 9 * c * c  # conv1, bn1, conv2
        if i > 0 or cin != c:
            total += cin * c  # 1x1 projection
        if attention:
            total += 3 * c * c  # 1x1 embedding of [L1, L2, L3] to C channels, no bias
        cin = c
    total += 2 * widths[-1] + widths[-1] * n_classes + n_classes  # final BN + fc
    return total


def test_registered():
    assert set(NAMES) <= set(list_models())


@pytest.mark.parametrize("name, paper_millions", [("resnet10", 4.9), ("micro_attention_resnet10", 5.9)])
def test_full_width_parameter_count_matches_paper_table3(name, paper_millions):
    model = create_model(name, num_classes=5)
    count = n_params(model)
    assert abs(count / 1e6 - paper_millions) / paper_millions < 0.03
    assert count == hand_count(attention=name.startswith("micro"))


def test_attention_adds_three_c_squared_per_stage():
    plain = create_model("resnet10", base_width=8)
    att = create_model("micro_attention_resnet10", base_width=8)
    assert n_params(att) - n_params(plain) == 3 * (8**2 + 16**2 + 32**2 + 64**2)


def test_widths_are_parameters():
    m = create_model("resnet10", widths=(4, 6, 10, 12), stem_width=5, in_chans=3, num_classes=4)
    assert m.num_features == 12
    assert n_params(m) > 0
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 4)
    with pytest.raises(ModelError, match="unknown keyword"):
        create_model("resnet10", depth=18)
    with pytest.raises(ModelError, match="in_chans"):
        create_model("resnet10", in_chans=2)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("in_chans", [1, 3])
def test_forward_backward_reaches_every_parameter(name, in_chans):
    torch.manual_seed(0)
    model = create_model(name, base_width=8, in_chans=in_chans, num_classes=3)
    x = model.example_input(batch_size=3)
    assert x.shape == (3, in_chans, 32, 32)
    feats = model.forward_features(x)
    assert feats.shape == (3, model.num_features) == (3, 64)
    logits = model.forward_head(feats)
    assert torch.allclose(logits, model(x))
    logits.square().sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", NAMES)
def test_reset_classifier(name):
    model = create_model(name, base_width=8, num_classes=5)
    model.reset_classifier(2)
    assert model(model.example_input()).shape == (2, 2)


def test_wrong_input_is_a_clear_error():
    model = create_model("resnet10", base_width=8, in_chans=1)
    with pytest.raises(ModelError, match=r"\(B, 1, H, W\)"):
        model(torch.randn(2, 3, 32, 32))


def test_attention_maps_follow_the_input_layout_and_lie_in_0_1():
    torch.manual_seed(0)
    model = create_model("micro_attention_resnet10", base_width=8).eval()
    x = torch.randn(2, 1, 64, 96)
    model(x)
    maps = model.attention_maps()
    assert [tuple(m.shape) for m in maps] == [(2, 1, 16, 24), (2, 1, 8, 12), (2, 1, 4, 6), (2, 1, 2, 3)]
    for m in maps:
        assert float(m.min()) > 0.0 and float(m.max()) < 1.0
        assert not m.requires_grad
    assert upsample_attention(maps[-1], (64, 96)).shape == (2, 1, 64, 96)
    assert create_model("resnet10", base_width=8).attention_maps() == []


def test_attention_map_is_spatially_aligned_with_the_input():
    """A change in the top-left corner of the image changes only the top-left of the map."""
    torch.manual_seed(1)
    model = create_model("micro_attention_resnet10", base_width=8).eval()
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        model(x)
        before = model.attention_maps()[0].clone()
        y = x.clone()
        y[..., :8, :8] += 5.0
        model(y)
        after = model.attention_maps()[0]
    diff = (after - before).abs()[0, 0]
    # receptive field of stage 1 (stride 4): about +-13 input pixels -> map cells 0..5 only
    assert diff[:6, :6].max() > 1e-4
    assert diff[6:, :].max() == 0 and diff[:, 6:].max() == 0


def test_attention_output_is_t_times_one_plus_m():
    """With the embedding zeroed, M = sigmoid(0) = 0.5, so each block outputs 1.5 * T(x)."""
    torch.manual_seed(2)
    att = create_model("micro_attention_resnet10", base_width=8).eval()
    plain = create_model("resnet10", base_width=8).eval()
    state = {k: v for k, v in att.state_dict().items() if ".attention." not in k}
    plain.load_state_dict(state)
    for block in att.blocks():
        torch.nn.init.zeros_(block.attention.embed.weight)
    x = torch.randn(2, 8, 16, 16)
    with torch.no_grad():
        out_att = att.layer1(x)
        out_plain = plain.layer1(x)
    assert torch.allclose(out_att, 1.5 * out_plain, atol=1e-6)
    assert torch.allclose(att.blocks()[0].last_attention, torch.full((2, 1, 16, 16), 0.5))
