"""MTMNet's networks (Xia, Peng, Hong & Zhao, "Learning from macro-expression: a micro-expression
recognition framework", paper 003): the EIDNet and MTMNet's discriminator.

**EIDNet** (expression-identity disentangling; MicroNet and MacroNet are each one, §3.1):

* ``encoder``: a ResNet-18 (:class:`ResNet18Encoder`: stem 7x7/2 + max-pool, four stages of two
  basic blocks, global average pooling). Module names are torchvision's (``conv1``, ``bn1``,
  ``layerN.K.conv1`` ..., ``layerN.0.downsample.0/1``), so a user-supplied torchvision
  ``resnet18`` checkpoint loads by name (:func:`load_resnet18_checkpoint`); widths are
  parameters (full width 64/128/256/512; the CPU configs use narrower ones).
* two branches on the pooled features, each ``Linear -> BN -> ReLU``: the expression
  embedding ``f^e`` (``expression``) and the identity embedding ``f^s`` (``identity``).
* ``decoder`` D_r: ``[f^e, f^s]`` (concatenated) -> a linear layer to a ``base_hw`` x ``base_hw``
  map -> ``n_up`` x (upsample x2, 3x3 conv, BN, ReLU) -> 3x3 conv to the image's channels ->
  sigmoid: the reconstruction in [0, 1] (224 px = 7 x 2^5).
* ``classifier`` D_e (expression, a linear layer on ``f^e``) and ``identity_classifier`` D_s (over
  the training subjects, a linear layer on ``f^e``: the adversary that must fail, eq. 5).

**Discriminator** D (§3.2): "a few convolutional layers followed by a linear layer" on an
expression embedding (a vector): the embedding is read as a one-channel 1-D signal, then
``n_conv`` x (Conv1d k=3, LeakyReLU 0.2), flattened, and a linear layer gives one logit
(D(f) = sigmoid(logit) is the probability that ``f`` comes from a macro-expression).

Sizes the paper does not give (embedding 256, decoder widths, discriminator depth 3 x 16
channels) are parameters, written in the configs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn as nn

from ..errors import ModelError

__all__ = ["BasicBlock", "ResNet18Encoder", "EIDNet", "EmbeddingDiscriminator", "load_resnet18_checkpoint"]


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: 3x3 conv -> BN -> ReLU -> 3x3 conv -> BN, plus the shortcut
    (identity, or ``downsample`` = 1x1 conv + BN when the shape changes), then ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                           if stride != 1 or cin != cout else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18Encoder(nn.Module):
    """ResNet-18 without its classifier: ``forward(x) -> (B, widths[-1])`` pooled features."""

    def __init__(self, in_chans: int = 3, widths: Sequence[int] = (64, 128, 256, 512)) -> None:
        super().__init__()
        w = tuple(int(v) for v in widths)
        if len(w) != 4 or min(w) < 1 or in_chans not in (1, 3):
            raise ModelError(f"ResNet-18 encoder: widths must be 4 positive channel counts and in_chans 1 or 3, "
                             f"got {widths}, {in_chans}")
        self.widths, self.in_chans = w, in_chans
        self.conv1 = nn.Conv2d(in_chans, w[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = w[0]
        for i, cout in enumerate(w):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout)))
            cin = cout
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = w[-1]
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


def _branch(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(cin, cout), nn.BatchNorm1d(cout), nn.ReLU(inplace=True))


class EIDNet(nn.Module):
    """Encoder + expression/identity branches + decoder + expression and identity classifiers.

    ``forward(x)`` returns ``(f_e, f_s)``; ``reconstruct(f_e, f_s)`` is D_r (eq. 2: the expression
    embedding of the expression image with the identity embedding of the neutral image);
    ``classifier(f_e)`` is D_e and ``identity_classifier(f_e)`` is D_s.
    """

    def __init__(self, num_classes: int, num_subjects: int, *, in_chans: int = 3, image_size: int = 224,
                 widths: Sequence[int] = (64, 128, 256, 512), embedding: int = 256,
                 decoder_widths: Sequence[int] = (256, 128, 64, 32, 16)) -> None:
        super().__init__()
        dec = tuple(int(v) for v in decoder_widths)
        if num_classes < 2 or num_subjects < 1 or embedding < 1 or not dec or min(dec) < 1:
            raise ModelError(f"EIDNet: need num_classes >= 2, num_subjects >= 1, embedding >= 1 and decoder "
                             f"widths, got {num_classes}, {num_subjects}, {embedding}, {decoder_widths}")
        base = image_size // (2 ** len(dec))
        if base < 1 or base * 2 ** len(dec) != image_size:
            raise ModelError(f"EIDNet: image_size {image_size} must be a multiple of 2^{len(dec)} (one x2 upsampling "
                             f"per decoder width); e.g. 224 with 5 widths, 112 with 4")
        self.num_classes, self.num_subjects, self.embedding = num_classes, num_subjects, embedding
        self.in_chans, self.image_size, self._base = in_chans, image_size, base
        self.encoder = ResNet18Encoder(in_chans, widths)
        self.expression = _branch(self.encoder.num_features, embedding)
        self.identity = _branch(self.encoder.num_features, embedding)
        self.decoder_input = nn.Linear(2 * embedding, dec[0] * base * base)
        layers: list[nn.Module] = []
        cin = dec[0]
        for cout in dec:
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            cin = cout
        layers += [nn.Conv2d(cin, in_chans, 3, 1, 1), nn.Sigmoid()]
        self.decoder = nn.Sequential(*layers)
        self.classifier = nn.Linear(embedding, num_classes)
        self.identity_classifier = nn.Linear(embedding, num_subjects)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.expression(h), self.identity(h)

    def reconstruct(self, f_e: torch.Tensor, f_s: torch.Tensor) -> torch.Tensor:
        z = self.decoder_input(torch.cat([f_e, f_s], dim=1))
        return self.decoder(z.view(len(z), -1, self._base, self._base))


class EmbeddingDiscriminator(nn.Module):
    """D: expression embedding (B, E) -> logit (B,); sigmoid(logit) = P(macro-expression)."""

    def __init__(self, embedding: int = 256, channels: int = 16, n_conv: int = 3) -> None:
        super().__init__()
        if embedding < 1 or channels < 1 or n_conv < 1:
            raise ModelError(f"discriminator: embedding, channels and n_conv must be >= 1, got "
                             f"{embedding}, {channels}, {n_conv}")
        layers: list[nn.Module] = []
        cin = 1
        for _ in range(n_conv):
            layers += [nn.Conv1d(cin, channels, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True)]
            cin = channels
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(channels * embedding, 1)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.convs(f.unsqueeze(1)), 1)).squeeze(1)


def load_resnet18_checkpoint(encoder: ResNet18Encoder, path: str | Path) -> list[str]:
    """Load a torchvision ``resnet18`` checkpoint (a state dict file the user holds; nothing is
    downloaded) into ``encoder`` by name; returns the checkpoint keys not used (``fc.*``).

    The first convolution is summed over colour for a grey encoder (as ResNet-10's transfer
    does). Every encoder parameter and buffer must be found with the same shape: a checkpoint of
    another architecture or width is an error naming the first mismatch."""
    from ..training.transfer import adapt_first_conv, read_state_dict

    state = read_state_dict(path)
    own = encoder.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise ModelError(f"{path}: not a torchvision resnet18 checkpoint: no {missing[0]!r} "
                         f"({len(missing)} encoder entries missing)")
    new = {}
    for k, v in own.items():
        if k not in state:
            new[k] = v
            continue
        src = state[k]
        if k == "conv1.weight" and encoder.in_chans == 1 and src.shape[1] == 3:
            src = adapt_first_conv(src, 1)
        if tuple(src.shape) != tuple(v.shape):
            raise ModelError(f"{path}: {k} has shape {tuple(src.shape)}, the encoder needs {tuple(v.shape)} "
                             f"(widths {encoder.widths}: the checkpoint is full-width ResNet-18 64/128/256/512)")
        new[k] = src.to(v.dtype)
    encoder.load_state_dict(new)
    return sorted(k for k in state if k not in own)
