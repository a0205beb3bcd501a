"""MTMNet's networks: the ResNet-18 encoder has torchvision's layout and size, loads a torchvision
checkpoint by name, and the EIDNet/discriminator produce the shapes the losses need."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from microexpr.errors import ModelError
from microexpr.models.mtmnet import EIDNet, EmbeddingDiscriminator, ResNet18Encoder, load_resnet18_checkpoint

# torchvision.models.resnet18(): 11,689,512 parameters, of which the 1000-class fc has 512*1000 + 1000.
TORCHVISION_RESNET18_PARAMS = 11_689_512
TORCHVISION_FC_PARAMS = 513_000


def test_encoder_has_torchvision_resnet18_layout() -> None:
    enc = ResNet18Encoder()
    assert sum(p.numel() for p in enc.parameters()) == TORCHVISION_RESNET18_PARAMS - TORCHVISION_FC_PARAMS
    keys = set(enc.state_dict())
    # 20 convolutions + 20 batch norms (5 entries each) = 120; torchvision adds fc.weight and fc.bias.
    assert len(keys) == 120
    for k in ("conv1.weight", "bn1.running_var", "layer1.1.conv2.weight", "layer2.0.downsample.0.weight",
              "layer3.0.downsample.1.num_batches_tracked", "layer4.1.bn2.bias"):
        assert k in keys
    assert enc(torch.zeros(2, 3, 224, 224)).shape == (2, 512)


def test_torchvision_checkpoint_loads_by_name(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = ResNet18Encoder()
    state = {**source.state_dict(), "fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    enc = ResNet18Encoder()
    assert load_resnet18_checkpoint(enc, path) == ["fc.bias", "fc.weight"]
    for k, v in source.state_dict().items():
        torch.testing.assert_close(enc.state_dict()[k], v)
    grey = ResNet18Encoder(in_chans=1)
    load_resnet18_checkpoint(grey, path)
    torch.testing.assert_close(grey.conv1.weight, source.conv1.weight.sum(1, keepdim=True))
    with pytest.raises(ModelError, match="conv1.weight has shape"):
        load_resnet18_checkpoint(ResNet18Encoder(widths=(8, 16, 32, 64)), path)
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, tmp_path / "other.pth")
    with pytest.raises(ModelError, match="not a torchvision resnet18"):
        load_resnet18_checkpoint(ResNet18Encoder(), tmp_path / "other.pth")


def test_eidnet_and_discriminator_shapes() -> None:
    net = EIDNet(3, 5, in_chans=1, image_size=64, widths=(8, 8, 16, 16), embedding=12, decoder_widths=(16, 8, 8, 4))
    x = torch.rand(4, 1, 64, 64)
    f_e, f_s = net(x)
    assert f_e.shape == f_s.shape == (4, 12)
    rec = net.reconstruct(f_e, f_s)
    assert rec.shape == x.shape and 0 <= rec.min() and rec.max() <= 1
    assert net.classifier(f_e).shape == (4, 3) and net.identity_classifier(f_e).shape == (4, 5)
    assert EmbeddingDiscriminator(12, channels=4, n_conv=2)(f_e).shape == (4,)
    with pytest.raises(ModelError, match="multiple of 2"):
        EIDNet(3, 5, image_size=100, decoder_widths=(8, 8, 8, 8, 8))
