"""TLCNN's networks (Wang et al., Neurocomputing 2018, §3.3; METHODS.md "TLCNN").

``tlcnn`` — the deep CNN on one RGB frame (227 x 227 crops of 240 x 320 frames):

    C1 96@7x7 stride 2 -> ReLU -> max-pool 3/2 -> LRN         (96 x 55 x 55 at 227, as printed)
    C2 384@5x5 stride 2 -> ReLU -> max-pool 3/2 -> LRN        (384 x 13 x 13, as printed)
    C3 512@3x3, C4 512@3x3, C5 384@3x3 (pad 1, ReLU each)     (512/512/384 x 13 x 13, as printed)
    max-pool 3/2 -> FC6 4096 -> ReLU -> dropout 0.5 -> FC7 4096 -> ReLU -> dropout 0.5 -> FC8

No padding in C1/C2 and ceil-mode pooling (Caffe's), which give the printed sizes; LRN with
Caffe's defaults (5 channels, alpha 1e-4, beta 0.75, k 1). Initialisation is not given: He
(Kaiming) normal weights for ReLU and zero biases (:func:`~microexpr.models.layers.he_init`);
PyTorch's default (uniform, about 1/sqrt(3 fan_in)) shrinks the signal through the eight
layers of this net, which has no batch normalisation: a narrow CPU-sized copy did not leave
the majority-class accuracy in 40 epochs. ``forward_features`` returns FC7's output;
:meth:`TLCNN.fc6_features` the FC6 activations the paper feeds to its LSTM.

``tlcnn_lstm`` — stage 3: the CNN's FC6 features of ``frames`` consecutive frames (16 in the
paper) through an LSTM (``lstm_hidden``), its last output -> FC to the classes. The frame
CNN's FC7 and FC8 are not part of it (a stage-2 model loads into it without them).

Every width is a parameter (``widths``, ``fc``, ``lstm_hidden``) so tests and CPU runs use
small ones; ``input_size`` sets the crop side (227 in the paper).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ModelError
from .layers import LinearHeadClassifier, five_widths, he_init
from .registry import register_model

PAPER_WIDTHS = (96, 384, 512, 512, 384)


class TLCNN(LinearHeadClassifier):
    """The frame CNN (module doc)."""

    def __init__(self, num_classes: int = 4, widths: Sequence[int] = PAPER_WIDTHS, fc: int = 4096,
                 dropout: float = 0.5, input_size: int = 227, in_chans: int = 3) -> None:
        super().__init__()
        w = five_widths("tlcnn", widths, fc, dropout)
        self.widths, self.input_size, self.in_chans, self.num_classes = w, int(input_size), int(in_chans), num_classes
        self.c1 = nn.Conv2d(in_chans, w[0], 7, stride=2)
        self.c2 = nn.Conv2d(w[0], w[1], 5, stride=2)
        self.c3 = nn.Conv2d(w[1], w[2], 3, padding=1)
        self.c4 = nn.Conv2d(w[2], w[3], 3, padding=1)
        self.c5 = nn.Conv2d(w[3], w[4], 3, padding=1)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        side = self.map_sizes()["pool5"]
        if side < 1:
            raise ModelError(f"tlcnn: input_size {input_size} is too small for its five convolutions")
        self.fc6 = nn.Linear(w[4] * side * side, fc)
        self.fc7 = nn.Linear(fc, fc)
        self.drop = nn.Dropout(dropout)
        self.num_features = fc
        self.fc = nn.Linear(fc, num_classes)
        he_init(self)

    def map_sizes(self) -> dict[str, int]:
        """Side of each feature map for ``input_size`` (ceil-mode 3/2 pooling, unpadded C1/C2)."""
        def pool(n: int) -> int:
            return -(-(n - 3) // 2) + 1

        c1 = (self.input_size - 7) // 2 + 1
        p1 = pool(c1)
        c2 = (p1 - 5) // 2 + 1
        p2 = pool(c2)
        return {"c1": c1, "pool1": p1, "c2": c2, "pool2": p2, "c5": p2, "pool5": pool(p2)}

    def conv(self, x: torch.Tensor) -> torch.Tensor:
        """C1..C5 with their pooling and LRN: (B, widths[4], 13, 13) at 227 (before the last pooling)."""
        x = self.lrn(F.max_pool2d(F.relu(self.c1(x)), 3, 2, ceil_mode=True))
        x = self.lrn(F.max_pool2d(F.relu(self.c2(x)), 3, 2, ceil_mode=True))
        return F.relu(self.c5(F.relu(self.c4(F.relu(self.c3(x))))))

    def fc6_features(self, x: torch.Tensor) -> torch.Tensor:
        """FC6 activations (B, fc): what stage 3 feeds to the LSTM."""
        return F.relu(self.fc6(F.max_pool2d(self.conv(x), 3, 2, ceil_mode=True).flatten(1)))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc7(self.drop(self.fc6_features(x))))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(features))

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        return torch.rand(batch_size, self.in_chans, self.input_size, self.input_size)


class TLCNNLSTM(LinearHeadClassifier):
    """Stage 3: per-frame FC6 features of a frame sequence -> LSTM -> FC (module doc).
    Input (B, T, C, H, W); the CNN is applied to every frame."""

    def __init__(self, cnn: TLCNN, num_classes: int = 4, lstm_hidden: int = 512, frames: int = 16) -> None:
        super().__init__()
        cnn.fc7, cnn.fc = nn.Identity(), nn.Identity()  # stage 3 reads FC6: FC7/FC8 of the frame CNN are not part of it
        self.cnn, self.frames, self.num_classes = cnn, int(frames), num_classes
        self.lstm = nn.LSTM(cnn.fc6.out_features, lstm_hidden, batch_first=True)
        self.num_features = lstm_hidden
        self.fc = nn.Linear(lstm_hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        f = self.cnn.fc6_features(x.flatten(0, 1)).view(b, t, -1)
        out, _ = self.lstm(f)
        return out[:, -1]

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        return torch.rand(batch_size, self.frames, self.cnn.in_chans, self.cnn.input_size, self.cnn.input_size)


@register_model
def tlcnn(num_classes: int = 4, widths: Sequence[int] = PAPER_WIDTHS, fc: int = 4096, dropout: float = 0.5,
          input_size: int = 227, in_chans: int = 3) -> TLCNN:
    """TLCNN's frame CNN (paper widths by default)."""
    return TLCNN(num_classes, widths, fc, dropout, input_size, in_chans)


@register_model
def tlcnn_lstm(num_classes: int = 4, widths: Sequence[int] = PAPER_WIDTHS, fc: int = 4096, dropout: float = 0.5,
               input_size: int = 227, in_chans: int = 3, lstm_hidden: int = 512, frames: int = 16) -> TLCNNLSTM:
    """TLCNN's stage 3: the frame CNN's FC6 features over ``frames`` frames -> LSTM -> classes."""
    return TLCNNLSTM(TLCNN(num_classes, widths, fc, dropout, input_size, in_chans), num_classes, lstm_hidden, frames)


tlcnn.harness_kwargs = {"widths": (4, 6, 8, 8, 6), "fc": 16, "input_size": 67}  # type: ignore[attr-defined]
tlcnn_lstm.harness_kwargs = {"widths": (4, 6, 8, 8, 6), "fc": 16, "input_size": 67, "lstm_hidden": 8,  # type: ignore[attr-defined]
                             "frames": 3}
