"""Apex-frame ResNet-10 methods: ``micro_attention`` (Wang et al.) and ``resnet10`` (Peng et al. 2018).

Recipe (Micro-Attention paper §3.3, §4.1-4.2; METHODS.md):

1. ImageNet initialisation of the plain ResNet-10 from a local torchvision checkpoint
   (``imagenet_checkpoint``); without one the run logs that it starts from random weights.
2. Macro-expression pretraining (``pretrain_macro``), ONCE per run (``ctx.once``), on the
   run's auxiliary corpora (``data.aux``: CK+, and manifest corpora such as Oulu-CASIA,
   JAFFE, MUG): for every clip the ``macro_frames`` frames ending at its peak (CK+ and
   Oulu: the last three), labelled with the 5 emotions the paper keeps (happiness,
   surprise, anger, disgust, sadness; neutral/fear/contempt/other are left out and
   counted in the log). As in the paper 1/10 is held out for validation: here 1/10 of the
   macro SUBJECTS (so no face is in both parts), and the epoch with the lowest validation
   loss is kept (``pretrain_val_fraction: 0`` keeps the last epoch). SGD momentum 0.9,
   batch 50, lr 0.01 ×0.1 every 20 epochs, class-balanced, augmentation colour shift 20 /
   rotation 10° / smoothing ≤6 (p 0.5; ``pretrain_augment: false`` switches it off).
   Micro test subjects are never involved.
3. Per fold: the pretrained backbone (head dropped) plus fresh micro-attention units and
   head, fine-tuned with SGD, step decay ×``gamma`` every ``step_size`` epochs,
   class-balanced resampling (every class oversampled to the largest class's count each
   epoch), augmentation (colour shift, rotation, smoothing, four-corner crops of the
   ``load_size`` crop to ``input_size``). The last epoch is evaluated (no test peeking).

Input: ``apex_crop`` (face crop of the apex frame, greyscale by default) at ``load_size``;
training crops a corner (or the centre when ``corner_crops`` is off), testing the centre.
Pixels are scaled to [0, 1] and standardised with ImageNet statistics (grey: mean 0.449,
std 0.226, the averages of the RGB values) so ImageNet weights see familiar inputs.

Attention overlays (``save_attention``): for every test clip of a fold, the last stage's
attention map, upsampled to the input and min-max scaled per image for display, blended
(OpenCV JET colour map, 50 %) over the network's input crop, in
``<run_dir>/attention/seed<S>/<fold slug>/<clip key slug>.png`` (slugs as the fold files':
``/`` -> ``__``), listed with the predicted class, its probability and the map's raw range
in ``index.csv`` beside them (columns key, file, predicted, probability, attention_min,
attention_max). The plain ResNet-10 has no attention units and writes none.

Decisions where the paper is silent: fine-tuning epochs (30: three lr steps), pretraining
epochs (60) and weight decay (5e-4). Training uses the generic loop
(:func:`microexpr.training.loop.train_model`) with per-fold seeds from the training keys.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError, ModelError
from ..io_utils import atomic_write_bytes, atomic_write_text, file_slug
from ..inputs.apex_transform import ApexImageTransform
from ..inputs.spec import InputSpec
from ..models.resnet10 import upsample_attention
from ..training.augment import ApexAugment, center_crop
from ..training import audit
from ..training.seeding import FoldSeeds, seeded_init
from .base import RunContext, training_labels
from .macro_pretraining import (
    FINETUNE_OPTIONS, MACRO_CLASSES, PRETRAIN_OPTIONS, ApexInput, imagenet_init, load_backbone, macro_emotion, macro_pretrain,
    macro_stage, macro_table, new_resnet10, pretrain_params, train_resnet,
)
from .param_groups import accepts
from .registry import register_method

__all__ = ["MACRO_CLASSES", "ApexResNetMethod", "MicroAttention", "ResNet10Apex", "load_backbone", "macro_emotion",
           "write_attention_overlays"]

_STAGE_NAME = "microattention_macro_pretrain"


@accepts(FINETUNE_OPTIONS, into="finetune")
@accepts(PRETRAIN_OPTIONS, into="pretrain")
class ApexResNetMethod:
    """Apex-frame (Micro-Attention) ResNet-10; every hyper-parameter is a keyword (see module doc).

    ``attention: null`` means the registered method's own choice: on for ``micro_attention``,
    off for ``resnet10``; either method accepts an explicit true/false (ablation).
    """

    default_attention: bool = True

    def __init__(
        self,
        *,
        attention: bool | None = None,
        base_width: int = 64,
        colour: str = "grey",
        input_size: int = 224,
        load_size: int = 240,
        colour_shift: float = 20.0,
        max_rotation: float = 8.0,
        smooth_window: int = 0,
        corner_crops: bool = True,
        aug_p: float = 0.5,
        imagenet_checkpoint: str | None = None,
        pretrain_macro: bool = True,
        save_attention: bool = True,
        finetune: dict[str, Any] | None = None,
        pretrain: dict[str, Any] | None = None,
    ) -> None:
        self.attention = self.default_attention if attention is None else bool(attention)
        self.base_width = base_width
        self.colour = colour
        self.input_size = input_size
        self.load_size = load_size
        self.finetune = FINETUNE_OPTIONS.build(self, finetune)
        self.colour_shift = colour_shift
        self.max_rotation = max_rotation
        self.smooth_window = smooth_window
        self.corner_crops = corner_crops
        self.aug_p = aug_p
        self.imagenet_checkpoint = imagenet_checkpoint
        self.pretrain_macro = pretrain_macro
        self.save_attention = save_attention
        self._validate(pretrain)

    def _validate(self, pretrain: dict[str, Any] | None) -> None:
        self.apex_input = ApexInput(self.load_size, self.colour)  # checks the colour
        if self.load_size < self.input_size:
            raise ConfigError(f"load_size ({self.load_size}) must be >= input_size ({self.input_size})")
        for name in ("base_width", "input_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"method parameter {name} must be >= 1, got {getattr(self, name)}")
        self.pretrain_params = pretrain_params(self, pretrain)

    # ------------------------------------------------------------------ data
    @property
    def in_chans(self) -> int:
        return self.apex_input.in_chans

    def prepare_inputs(self, table: pd.DataFrame, ctx: RunContext) -> None:
        """Fill the inputs cache for ``table`` (the engine calls it before dispatching units to workers)."""
        self.apex_images(table, ctx)

    def apex_images(self, table: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        """Apex face crops (n, load_size, load_size[, 3]) uint8, from the cached inputs layer."""
        return self.apex_input.images(table, ctx)

    def to_tensor(self, images: np.ndarray) -> torch.Tensor:
        """Apex crops as a float tensor (n, in_chans, load_size, load_size), pixel values 0-255."""
        return self.apex_input.tensor(images)

    # ---------------------------------------------------------------- models
    def imagenet_init(self, model: nn.Module, ctx: RunContext) -> None:
        """Load ``imagenet_checkpoint`` into ``model`` (first conv adapted), or log random init."""
        imagenet_init(model, self.imagenet_checkpoint, ctx)

    def _augment(self) -> ApexAugment:
        crop = self.input_size if self.corner_crops else None
        return ApexAugment(colour_shift=self.colour_shift, max_rotation=self.max_rotation,
                           smooth_window=self.smooth_window, crop_size=crop, p=self.aug_p)

    def _fit_view(self, x: torch.Tensor) -> torch.Tensor:
        """Training images before augmentation: full load_size for corner crops, else the centre."""
        return x if self.corner_crops else center_crop(x, self.input_size)

    # ------------------------------------------------------- macro pretraining
    def macro_table(self, ctx: RunContext) -> pd.DataFrame:
        """One row per pretraining image: the ``macro_frames`` frames ending at each clip's peak."""
        return macro_table(ctx, self.macro_frames)

    def macro_pretrain(self, ctx: RunContext) -> dict[str, torch.Tensor]:
        """Train the backbone on the run's macro corpora (called once per run via ``ctx.once``)."""
        return macro_pretrain(ctx, self.pretrain_params, images=lambda t: self.to_tensor(self.apex_images(t, ctx)),
                              input_size=self.input_size, in_chans=self.in_chans, base_width=self.base_width,
                              imagenet_checkpoint=self.imagenet_checkpoint)

    # ----------------------------------------------------------- fit/predict
    def fit(self, train: pd.DataFrame, ctx: RunContext) -> "ApexResNetMethod":
        """Build the fold's model from the (once-per-run) pretrained weights and fine-tune it."""
        training_labels(train, ctx, type(self).__name__)  # present and within the run's classes
        seeds = FoldSeeds.for_fold(ctx.seed, train["key"])
        with seeded_init(seeds.init):
            model = new_resnet10(ctx.n_classes, attention=self.attention, in_chans=self.in_chans,
                                 base_width=self.base_width)
        if self.pretrain_macro:
            load_backbone(model, macro_stage(self, ctx, _STAGE_NAME, lambda: self.macro_pretrain(ctx)))
        else:
            self.imagenet_init(model, ctx)
        x = self._fit_view(self.to_tensor(self.apex_images(train, ctx)))
        if audit.active():  # leakage audit: the test fold scored every N epochs, stored apart
            audit.bind(lambda test: audit.proba_scorer(center_crop(self.to_tensor(self.apex_images(test, ctx)),
                                                                   self.input_size), batch_size=64))
        train_resnet(model, x, train["label"].to_numpy(), self.finetune.train_config(), seeds, in_chans=self.in_chans,
                     augment=self._augment(), ctx=ctx, what=f"fine-tuning {ctx.fold}".strip())
        self.model_ = model
        return self

    def input_spec(self) -> InputSpec:
        """The model input: ``apex_crop`` at ``load_size``, centre-cropped and standardised by
        :class:`~microexpr.inputs.apex_transform.ApexImageTransform` (export, predict, reports)."""
        return InputSpec("apex_crop", {"size": self.load_size, "colour": self.colour},
                         ApexImageTransform(self.input_size, self.colour).as_dict())

    def export_payload(self) -> dict[str, Any]:
        """The fitted network and its input (``microexpr.artefacts.ExportableMethod``)."""
        if getattr(self, "model_", None) is None:
            raise ModelError(f"{type(self).__name__}: nothing to export; fit the method first")
        spec = self.input_spec()
        return {"model_name": "micro_attention_resnet10" if self.attention else "resnet10",
                "model_kwargs": {"num_classes": int(self.model_.fc.out_features), "in_chans": self.in_chans,
                                 "base_width": int(self.base_width)},
                "state_dict": self.model_.state_dict(), "input_name": spec.name, "input_params": spec.params,
                "input_transform": spec.transform}

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        """Class probabilities (n, n_classes); writes attention overlays when asked."""
        if not hasattr(self, "model_"):
            raise ModelError("predict_proba called before fit")
        model = self.model_
        transform = ApexImageTransform(self.input_size, self.colour)
        images = self.apex_images(test, ctx)
        x = transform.from_images(images)  # centre crop, standardised: what export and predict feed
        model.eval()
        probs, maps = [], []
        with torch.no_grad():
            for i in range(0, len(x), 64):
                logits = model(x[i:i + 64]).double()
                probs.append(F.softmax(logits, dim=1))
                if model.has_attention:
                    maps.append(upsample_attention(model.attention_maps()[-1], x.shape[-2:]))
        proba = torch.cat(probs).numpy().astype(np.float64)
        if self.save_attention and model.has_attention:
            shown = center_crop(self.to_tensor(images), self.input_size)  # the crop on 0-255, for the overlay
            write_attention_overlays(
                ctx.run_dir / "attention" / f"seed{ctx.seed}" / file_slug(ctx.fold or "all"), list(test["key"]),
                shown.numpy(), torch.cat(maps).numpy(), proba, ctx.classes,
            )
        return proba


def write_attention_overlays(
    folder: Path, keys: list[str], images: np.ndarray, maps: np.ndarray,
    proba: np.ndarray, classes: tuple[str, ...],
) -> list[Path]:
    """Write one PNG per clip (attention, JET, blended over the input crop) and ``index.csv``.

    ``images``: (n, C, H, W) on 0-255; ``maps``: (n, 1, H, W) in (0, 1).
    """
    paths, rows = [], []
    for key, img, att, p in zip(keys, images, maps, proba):
        grey = img.mean(axis=0) if img.shape[0] == 3 else img[0]
        base = cv2.cvtColor(np.clip(grey, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        a = att[0]
        lo, hi = float(a.min()), float(a.max())
        scaled = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        heat = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_JET)
        overlay = cv2.addWeighted(base, 0.5, heat, 0.5, 0.0)
        ok, png = cv2.imencode(".png", overlay)
        if not ok:
            raise ModelError(f"OpenCV could not encode the attention overlay of clip {key}")
        path = atomic_write_bytes(folder / f"{file_slug(key)}.png", png.tobytes())
        paths.append(path)
        k = int(np.argmax(p))
        rows.append([key, path.name, classes[k] if k < len(classes) else k, f"{p[k]:.4f}", f"{lo:.4f}", f"{hi:.4f}"])
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["key", "file", "predicted", "probability", "attention_min", "attention_max"])
    writer.writerows(rows)
    atomic_write_text(folder / "index.csv", buf.getvalue())
    return paths


@register_method("micro_attention")
class MicroAttention(ApexResNetMethod):
    """Micro-Attention ResNet-10 (attention units on by default)."""


@register_method("resnet10")
class ResNet10Apex(ApexResNetMethod):
    """Plain pre-activation ResNet-10 on apex frames (Peng et al. 2018); ``attention`` off by default."""

    default_attention = False
