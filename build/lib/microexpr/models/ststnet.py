"""STSTNet (Liong et al., FG 2019) and OFF-ApexNet (Gan et al., 2019), plus the loader
for the published STSTNet per-fold weight files.

STSTNet: three 3x3 streams (3, 5, 8 filters, padding 2: 28 -> 30), each ReLU -> BN ->
MaxPool 3/3 pad 1 (-> 10x10) -> Dropout 0.5; concat (16 ch) -> AvgPool 2 (-> 5x5) ->
400 -> Linear 3. 1,683 parameters (tested). Layer names ``conv1..3``, ``bn1..3``, ``fc``
match the released code so its per-subject ``.pth`` files load with a strict match.

The published weights were trained on the composite flow PNGs read by OpenCV: BGR
channel order, float 0-255, no rescaling (see ``microexpr.sources.flow_png``). Feed them
exactly that tensor.

OFF-ApexNet takes the horizontal and vertical flow (2 channels) as two streams:
conv 5x5 (6) -> maxpool 2 -> conv 5x5 (16) -> maxpool 2, "same" padding, concat ->
FC ``hidden`` -> FC ``hidden`` -> Linear. With ``hidden=1024`` it has 2,664,475
parameters; the LAENet paper's Table 1 says 2.77 M (its exact layer sizes are not
given there), so that count is not asserted.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ..errors import ModelError
from .layers import ParallelStreamNet
from .registry import register_model


class STSTNet(ParallelStreamNet):
    """Shallow triple-stream network; see the module docstring."""

    def __init__(self, num_classes: int = 3, in_chans: int = 3, drop_rate: float = 0.5) -> None:
        super().__init__((3, 5, 8), padding=2, num_classes=num_classes, in_chans=in_chans,
                         input_size=28, drop_rate=drop_rate)


@register_model
def ststnet(num_classes: int = 3, in_chans: int = 3, drop_rate: float = 0.5) -> STSTNet:
    """STSTNet, 1,683 parameters with the defaults."""
    return STSTNet(num_classes=num_classes, in_chans=in_chans, drop_rate=drop_rate)


class OffApexNet(nn.Module):
    """Two-stream (u, v) shallow CNN of OFF-ApexNet; input ``(N, 2, 28, 28)``."""


    def __init__(self, num_classes: int = 3, hidden: int = 1024, drop_rate: float = 0.5) -> None:
        super().__init__()
        if hidden < 1 or num_classes < 1:
            raise ModelError(f"bad sizes: hidden={hidden}, num_classes={num_classes}")

        def stream() -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            )

        self.stream_u = stream()
        self.stream_v = stream()
        self.fc1 = nn.Linear(2 * 16 * 7 * 7, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.drop = nn.Dropout(drop_rate)
        self.act = nn.ReLU()
        self.num_features = int(hidden)
        self.num_classes = int(num_classes)
        self.fc = nn.Linear(hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 2 or x.shape[-2:] != (28, 28):
            raise ModelError(f"OffApexNet expects (N, 2, 28, 28) input (u, v), got {tuple(x.shape)}")
        feats = torch.cat([torch.flatten(self.stream_u(x[:, :1]), 1), torch.flatten(self.stream_v(x[:, 1:2]), 1)], 1)
        h = self.drop(self.act(self.fc1(feats)))
        return self.drop(self.act(self.fc2(h)))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.num_classes = int(num_classes)
        self.fc = nn.Linear(self.num_features, self.num_classes)

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        return torch.rand(batch_size, 2, 28, 28) * 255.0


@register_model
def off_apexnet(num_classes: int = 3, hidden: int = 1024, drop_rate: float = 0.5) -> OffApexNet:
    """OFF-ApexNet (u and v streams); see the module docstring for its parameter count."""
    return OffApexNet(num_classes=num_classes, hidden=hidden, drop_rate=drop_rate)


# Small width for the registry-wide test (tests/models/test_registry_harness.py).
off_apexnet.harness_kwargs = {"hidden": 16}  # type: ignore[attr-defined]


def load_state_dict_strict(model: nn.Module, state: dict[str, torch.Tensor], *, source: str) -> None:
    """Load ``state`` into ``model`` requiring identical keys and shapes.

    Raises :class:`ModelError` naming every missing and unexpected key (and ``source``),
    instead of PyTorch's generic message, so a user sees which file layout they hold.
    """
    if not isinstance(state, dict):
        raise ModelError(f"{source}: expected a state dict (mapping of tensor names), got {type(state).__name__}")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ModelError(
            f"{source}: state-dict keys do not match {type(model).__name__}: "
            f"missing {missing}, unexpected {extra}. Published STSTNet files have keys "
            "conv1..3.{weight,bias}, bn1..3.{weight,bias,running_mean,running_var,num_batches_tracked}, fc.{weight,bias}"
        )
    for k, v in state.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise ModelError(f"{source}: tensor {k!r} has shape {tuple(v.shape)}, expected {tuple(expected[k].shape)}")
    model.load_state_dict(state, strict=True)


def load_published_ststnet(path: str | Path) -> STSTNet:
    """Load one published STSTNet per-fold file (``<subject>.pth``) strictly, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"STSTNet weight file {path} not found: give the folder holding one .pth per test subject")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # re-raised with the file named; the cause is kept
        raise ModelError(f"{path}: cannot read as a PyTorch state dict ({exc}); expected a file saved with torch.save(model.state_dict())") from exc
    model = STSTNet()
    load_state_dict_strict(model, state, source=str(path))
    return model.eval()
