"""LAENet (Lien & Chiang, 2020): STSTNet without the 8-filter stream.

Two 3x3 streams (3 and 5 filters, "same" padding: 28x28), ReLU -> BN -> MaxPool 3/3
pad 1 (-> 10x10) -> Dropout 0.5; concat (8 ch) -> AvgPool 2 (-> 5x5x8 = 200) ->
Linear 3. 843 parameters, the paper's figure (tested). Layer names follow STSTNet
(``conv1``, ``conv2``, ``bn1``, ``bn2``, ``fc``) so checkpoints read alike.
"""

from __future__ import annotations

from .layers import ParallelStreamNet
from .registry import register_model


class LAENet(ParallelStreamNet):
    """Lightweight apex-based enhanced network; see the module docstring."""

    def __init__(self, num_classes: int = 3, in_chans: int = 3, drop_rate: float = 0.5) -> None:
        super().__init__((3, 5), padding=1, num_classes=num_classes, in_chans=in_chans,
                         input_size=28, drop_rate=drop_rate)


@register_model
def laenet(num_classes: int = 3, in_chans: int = 3, drop_rate: float = 0.5) -> LAENet:
    """LAENet, 843 parameters with the defaults."""
    return LAENet(num_classes=num_classes, in_chans=in_chans, drop_rate=drop_rate)
