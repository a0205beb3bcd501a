"""ImageNet initialisation from a (fake) torchvision ResNet-18 checkpoint written by the test."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.functional as F

from microexpr.errors import ModelError
from microexpr.models import create_model
from microexpr.training.transfer import adapt_first_conv, load_imagenet_checkpoint


def _bn(prefix: str, c: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        f"{prefix}.weight": torch.rand(c, generator=g) + 0.5,
        f"{prefix}.bias": torch.randn(c, generator=g),
        f"{prefix}.running_mean": torch.randn(c, generator=g),
        f"{prefix}.running_var": torch.rand(c, generator=g) + 0.5,
        f"{prefix}.num_batches_tracked": torch.tensor(100),
    }


def torchvision_resnet18_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """The key layout and shapes of torchvision.models.resnet18().state_dict(), random values."""
    g = torch.Generator().manual_seed(seed)
    sd = {"conv1.weight": torch.randn(64, 3, 7, 7, generator=g)}
    sd.update(_bn("bn1", 64, g))
    cin = 64
    for i, c in enumerate((64, 128, 256, 512), start=1):
        for b in range(2):
            p = f"layer{i}.{b}"
            first_in = cin if b == 0 else c
            sd[f"{p}.conv1.weight"] = torch.randn(c, first_in, 3, 3, generator=g)
            sd.update(_bn(f"{p}.bn1", c, g))
            sd[f"{p}.conv2.weight"] = torch.randn(c, c, 3, 3, generator=g)
            sd.update(_bn(f"{p}.bn2", c, g))
            if b == 0 and i > 1:
                sd[f"{p}.downsample.0.weight"] = torch.randn(c, cin, 1, 1, generator=g)
                sd.update(_bn(f"{p}.downsample.1", c, g))
        cin = c
    sd["fc.weight"] = torch.randn(1000, 512, generator=g)
    sd["fc.bias"] = torch.randn(1000, generator=g)
    return sd


class Payload:
    """An arbitrary pickled object: weights_only loading must refuse it."""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "resnet18-fake.pth"
    sd = torchvision_resnet18_state()
    torch.save(sd, path)
    return path, sd


def test_loads_with_first_conv_adapted_to_grey(checkpoint, caplog):
    path, sd = checkpoint
    model = create_model("micro_attention_resnet10", in_chans=1, num_classes=5)
    with caplog.at_level(logging.INFO, logger="test"):
        report = load_imagenet_checkpoint(model, path, log=logging.getLogger("test"))
    state = model.state_dict()
    # first conv: RGB kernels summed over the colour axis
    assert state["conv1.weight"].shape == (64, 1, 7, 7)
    assert torch.allclose(state["conv1.weight"][:, 0], sd["conv1.weight"].sum(dim=1))
    assert any("conv1.weight" in a for a in report.adapted)
    # same-role tensors copied by name, first block of each stage
    for key in ("bn1.running_var", "layer1.0.conv1.weight", "layer2.0.bn1.weight",
                "layer3.0.conv2.weight", "layer4.0.downsample.0.weight"):
        assert torch.equal(state[key], sd[key]), key
        assert key in report.loaded
    # no counterpart: reported, not loaded
    for key in ("layer1.0.bn2.weight", "layer2.0.downsample.1.weight", "layer1.1.conv1.weight", "fc.weight"):
        assert key in report.unused_checkpoint_keys
    for key in ("input_bn.weight", "layer2.0.bn_pre.weight", "bn_final.weight",
                "layer3.0.attention.embed.weight", "fc.weight"):
        assert key in report.model_keys_not_loaded
    assert set(report.loaded) | set(report.model_keys_not_loaded) == set(state)
    assert "layer1.1.conv1.weight" in caplog.text and "tensors loaded" in caplog.text


def test_grey_adaptation_preserves_the_rgb_response_to_grey_images():
    g = torch.Generator().manual_seed(3)
    w_rgb = torch.randn(8, 3, 7, 7, generator=g)
    grey = torch.rand(2, 1, 20, 20, generator=g)
    expected = F.conv2d(grey.expand(-1, 3, -1, -1), w_rgb, padding=3)
    got = F.conv2d(grey, adapt_first_conv(w_rgb, 1), padding=3)
    assert torch.allclose(got, expected, atol=1e-5)


def test_rgb_model_takes_the_kernel_unchanged(checkpoint):
    path, sd = checkpoint
    model = create_model("resnet10", in_chans=3)
    report = load_imagenet_checkpoint(model, path)
    assert torch.equal(model.state_dict()["conv1.weight"], sd["conv1.weight"])
    assert report.adapted == []


def test_wrong_shapes_are_refused_naming_the_key(checkpoint):
    path, _ = checkpoint
    model = create_model("resnet10", base_width=32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ModelError, match=r"'conv1.weight'|'bn1.weight'") as err:
        load_imagenet_checkpoint(model, path)
    assert "base_width=64" in str(err.value)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing half-loaded


def test_wrong_shape_in_a_later_layer_names_that_key(tmp_path):
    sd = torchvision_resnet18_state()
    sd["layer3.0.conv2.weight"] = torch.randn(256, 128, 3, 3)
    path = tmp_path / "bad.pth"
    torch.save(sd, path)
    with pytest.raises(ModelError, match=r"layer3\.0\.conv2\.weight"):
        load_imagenet_checkpoint(create_model("resnet10"), path)


def test_wrapped_and_dataparallel_checkpoints(tmp_path):
    sd = torchvision_resnet18_state()
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": torch.tensor(90)}, path)
    model = create_model("resnet10")
    load_imagenet_checkpoint(model, path)
    assert torch.equal(model.state_dict()["layer4.0.conv1.weight"], sd["layer4.0.conv1.weight"])


def test_missing_foreign_and_unsafe_files_are_refused(tmp_path):
    model = create_model("resnet10", base_width=8)
    with pytest.raises(ModelError, match="does not exist"):
        load_imagenet_checkpoint(model, tmp_path / "nope.pth")
    foreign = tmp_path / "foreign.pth"
    torch.save({"encoder.weight": torch.zeros(3)}, foreign)
    with pytest.raises(ModelError, match="no key of torchvision"):
        load_imagenet_checkpoint(model, foreign)
    unsafe = tmp_path / "unsafe.pth"
    torch.save({"conv1.weight": Payload()}, unsafe)
    with pytest.raises(ModelError, match="weights_only"):
        load_imagenet_checkpoint(model, unsafe)
