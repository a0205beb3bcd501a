"""TLCNN's 3D-CNN baseline (Table 3, §4.3): a C3D-style network on whole TIM clips.

Input: ``tim_clip_rect`` RGB clips of ``tim_length`` frames at 128 x 171 (height x width, the
paper's "input frame size"), random 112 x 112 crops when training (one per clip, the same for
every frame) and the centre crop at test, as C3D does (:mod:`microexpr.models.c3d`).
Training (§4.3): SGD momentum 0.9; TIM32 lr 0.003, batch 7; TIM64 lr 0.001, batch 4; lr x0.1
after 20,000 iterations. The paper gives no total: the configs train 30 % past the drop.
Iterations are written as epochs (decision, as for TLCNN: they scale with the data): TIM32
at the paper's 448 training clips has 64 iterations per epoch, so 20,000 iterations = 312
epochs; TIM64 112 per epoch, 179 epochs. Weight decay 5e-4 (not given; C3D's). The last
epoch is kept, or the lowest validation loss on held-out training subjects
(``val_fraction``); never the test fold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ..errors import ConfigError, ModelError
from ..models.c3d import C3D, C3D_WIDTHS
from ..training import audit
from ..training.loop import predict_proba, train_model
from ..training.seeding import FoldSeeds, seeded_init
from .base import RunContext, training_labels
from .registry import register_method
from .tlcnn import FrameInput, RandomCrop, SGDStage, rect_clips


@register_method("c3d")
class C3DMethod:
    """The 3D-CNN baseline (module doc); every width and setting is a keyword."""

    def __init__(
        self,
        *,
        widths: list[int] = C3D_WIDTHS,  # type: ignore[assignment]  (a tuple: immutable default)
        fc: int = 2048,
        dropout: float = 0.5,
        input_size: int = 112,
        frame_height: int = 128,
        frame_width: int = 171,
        tim_length: int = 32,
        interpolation: str = "tim",
        epochs: int = 400,
        lr: float = 0.003,
        batch_size: int = 7,
        step_epochs: int = 312,
        gamma: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        val_fraction: float = 0.0,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        self.widths = [int(w) for w in widths]
        self.fc, self.dropout, self.input_size = int(fc), float(dropout), int(input_size)
        self.frame_height, self.frame_width = int(frame_height), int(frame_width)
        self.tim_length, self.interpolation = int(tim_length), str(interpolation)
        self.epochs, self.lr, self.batch_size, self.step_epochs = int(epochs), float(lr), int(batch_size), int(step_epochs)
        self.gamma, self.momentum, self.weight_decay = float(gamma), float(momentum), float(weight_decay)
        self.val_fraction = float(val_fraction)
        self.inputs = dict(inputs or {})
        if min(self.frame_height, self.frame_width) < self.input_size:
            raise ConfigError(f"c3d: frames of {self.frame_height}x{self.frame_width} px cannot give "
                              f"{self.input_size} px crops; raise frame_height/frame_width or lower input_size")
        self.new_model(2)  # widths, clip length and crop size are checked now
        self.train_config()

    def train_config(self) -> Any:
        return SGDStage(self.epochs, self.lr, self.batch_size, self.step_epochs, self.val_fraction).train_config(
            momentum=self.momentum, weight_decay=self.weight_decay, gamma=self.gamma)

    def new_model(self, num_classes: int) -> C3D:
        return C3D(num_classes, self.widths, self.fc, self.dropout, self.tim_length, self.input_size, 3)

    def clips(self, table: pd.DataFrame, ctx: RunContext) -> torch.Tensor:
        """TIM clips as uint8 (N, T, 3, H, W) (``tim_clip_rect``, cached)."""
        return rect_clips(table, ctx, {**self.inputs, "height": self.frame_height, "width": self.frame_width,
                                       "colour": "rgb", "length": self.tim_length, "interpolation": self.interpolation})

    def prepare_inputs(self, table: pd.DataFrame, ctx: RunContext) -> None:
        self.clips(table, ctx)

    def fit(self, train: pd.DataFrame, ctx: RunContext) -> "C3DMethod":
        """Train a fresh network on this fold's training clips."""
        y = training_labels(train, ctx, type(self).__name__)
        seeds = FoldSeeds.for_fold(ctx.seed, train["key"])
        with seeded_init(seeds.init):
            model = self.new_model(ctx.n_classes)
        net = FrameInput(model, self.input_size)
        if audit.active():
            audit.bind(lambda test: audit.proba_scorer(self.clips(test, ctx), batch_size=16))
        cfg = self.train_config()
        train_model(net, self.clips(train, ctx), torch.tensor(y), cfg, seeds,
                    groups=train["subject"].to_numpy() if cfg.val_fraction > 0 else None,
                    augment=RandomCrop(self.input_size), progress=ctx.progress, desc=f"c3d {ctx.fold}".strip(),
                    log=ctx.log)
        self.model_ = model
        return self

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        """Class probabilities (n, n_classes) on the clips' centre crops."""
        if not hasattr(self, "model_"):
            raise ModelError("predict_proba called before fit")
        return predict_proba(FrameInput(self.model_, self.input_size), self.clips(test, ctx), batch_size=16)
