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
from collections import Counter
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
from ..models.layers import ImageNetStandardise
from ..models.resnet10 import PreActResNet10, micro_attention_resnet10, resnet10, upsample_attention
from ..training.augment import ApexAugment, center_crop
from ..training import audit
from ..training.loop import TrainConfig, train_model
from ..training.sampling import no_single_batches
from ..training.seeding import FoldSeeds, seeded_init
from ..training.transfer import load_imagenet_checkpoint
from .base import RunContext, training_labels
from .stages import pretraining_stage
from .registry import register_method

MACRO_CLASSES: tuple[str, ...] = ("happiness", "surprise", "anger", "disgust", "sadness")
_MACRO_SYNONYMS = {
    "happiness": "happiness", "happy": "happiness", "joy": "happiness",
    "surprise": "surprise", "surprised": "surprise",
    "anger": "anger", "angry": "anger",
    "disgust": "disgust", "disgusted": "disgust",
    "sadness": "sadness", "sad": "sadness",
}
_STAGE_NAME = "microattention_macro_pretrain"


def macro_emotion(emotion: str) -> str | None:
    """The pretraining class of a macro corpus's native emotion, or None if not one of the 5."""
    return _MACRO_SYNONYMS.get(str(emotion).strip().lower())


def load_backbone(model: PreActResNet10, state: dict[str, torch.Tensor]) -> None:
    """Load pretrained ResNet-10 weights except the head; only attention units may be missing
    (the macro stage trains the plain network). Used by Micro-Attention and ATNet's spatial stream."""
    backbone = {k: v for k, v in state.items() if not k.startswith("fc.")}
    result = model.load_state_dict(backbone, strict=False)
    missing = [k for k in result.missing_keys if ".attention." not in k and not k.startswith("fc.")]
    if missing or result.unexpected_keys:
        raise ModelError(
            f"pretrained weights do not fit the model (missing {missing[:5]}, unexpected "
            f"{result.unexpected_keys[:5]}): were they made with another base_width/colour?"
        )


def macro_stage(method: Any, recipe: "ApexResNetMethod", ctx: RunContext, name: str = _STAGE_NAME) -> dict[str, torch.Tensor]:
    """The macro-pretrained ResNet-10 of the run (once per run: :func:`pretraining_stage`),
    trained by ``recipe`` on the run's auxiliary corpora and keyed by ``method``'s parameters
    (ResNet-10 / Micro-Attention: the same object; ATNet: its spatial stream's recipe)."""
    return pretraining_stage(
        ctx, method, name=name, tables=list(ctx.aux_tables.values()), build=lambda: recipe.macro_pretrain(ctx),
        what="macro-expression pretraining",
        missing=(f"{type(method).__name__}: pretrain_macro is true but the run has no auxiliary macro-expression "
                 "dataset: add data.aux (e.g. ckplus: DIR) or set pretrain_macro: false"))


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
        epochs: int = 30,
        lr: float = 1e-3,
        batch_size: int = 8,
        weight_decay: float = 5e-6,
        momentum: float = 0.9,
        step_size: int = 10,
        gamma: float = 0.1,
        class_balance: bool = True,
        colour_shift: float = 20.0,
        max_rotation: float = 8.0,
        smooth_window: int = 0,
        corner_crops: bool = True,
        aug_p: float = 0.5,
        imagenet_checkpoint: str | None = None,
        pretrain_macro: bool = True,
        macro_frames: int = 3,
        pretrain_epochs: int = 60,
        pretrain_lr: float = 0.01,
        pretrain_batch_size: int = 50,
        pretrain_weight_decay: float = 5e-4,
        pretrain_step_size: int = 20,
        pretrain_val_fraction: float = 0.1,
        pretrain_augment: bool = True,
        save_attention: bool = True,
    ) -> None:
        self.attention = self.default_attention if attention is None else bool(attention)
        self.base_width = base_width
        self.colour = colour
        self.input_size = input_size
        self.load_size = load_size
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.step_size = step_size
        self.gamma = gamma
        self.class_balance = class_balance
        self.colour_shift = colour_shift
        self.max_rotation = max_rotation
        self.smooth_window = smooth_window
        self.corner_crops = corner_crops
        self.aug_p = aug_p
        self.imagenet_checkpoint = imagenet_checkpoint
        self.pretrain_macro = pretrain_macro
        self.macro_frames = macro_frames
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.pretrain_batch_size = pretrain_batch_size
        self.pretrain_weight_decay = pretrain_weight_decay
        self.pretrain_step_size = pretrain_step_size
        self.pretrain_val_fraction = pretrain_val_fraction
        self.pretrain_augment = pretrain_augment
        self.save_attention = save_attention
        self._validate()

    def _validate(self) -> None:
        if self.colour not in ("grey", "rgb"):
            raise ConfigError(f"colour must be 'grey' or 'rgb', got {self.colour!r}")
        if self.load_size < self.input_size:
            raise ConfigError(f"load_size ({self.load_size}) must be >= input_size ({self.input_size})")
        for name in ("epochs", "batch_size", "step_size", "pretrain_epochs", "pretrain_batch_size",
                     "pretrain_step_size", "macro_frames", "base_width", "input_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"method parameter {name} must be >= 1, got {getattr(self, name)}")
        self._finetune_config()  # TrainConfig checks lr, momentum, decay, gamma now, not mid-run
        self._pretrain_config()

    # ------------------------------------------------------------------ data
    @property
    def in_chans(self) -> int:
        return 3 if self.colour == "rgb" else 1

    def apex_images(self, table: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        """Apex face crops (n, load_size, load_size[, 3]) uint8, from the cached inputs layer."""
        from ..inputs import load_inputs

        return load_inputs(
            table, "apex_crop", {"size": self.load_size, "colour": self.colour},  # "grey" | "rgb"
            cache_dir=ctx.cache_dir, n_jobs=ctx.n_jobs, progress=ctx.progress,
        )

    def to_tensor(self, images: np.ndarray) -> torch.Tensor:
        """Apex crops as a float tensor (n, in_chans, load_size, load_size), pixel values 0-255."""
        arr = np.asarray(images)
        if arr.ndim == 3:
            arr = arr[:, None]
        elif arr.ndim == 4 and arr.shape[-1] in (1, 3):
            arr = arr.transpose(0, 3, 1, 2)
        if arr.ndim != 4 or arr.shape[1] != self.in_chans or arr.shape[2] != self.load_size or arr.shape[3] != self.load_size:
            raise ModelError(
                f"apex crops have shape {np.asarray(images).shape}; expected (n, {self.load_size}, {self.load_size})"
                + (" x 3 (colour: rgb)" if self.in_chans == 3 else " (colour: grey)")
            )
        return torch.from_numpy(np.ascontiguousarray(arr)).float()

    # ---------------------------------------------------------------- models
    def _new_model(self, num_classes: int, attention: bool) -> PreActResNet10:
        factory = micro_attention_resnet10 if attention else resnet10
        return factory(num_classes=num_classes, in_chans=self.in_chans, base_width=self.base_width)

    def imagenet_init(self, model: nn.Module, ctx: RunContext) -> None:
        """Load ``imagenet_checkpoint`` into ``model`` (first conv adapted), or log random init."""
        if self.imagenet_checkpoint is None:
            ctx.log.info("no imagenet_checkpoint given: starting from random weights")
            return
        load_imagenet_checkpoint(model, self.imagenet_checkpoint, log=ctx.log)

    def _train(
        self, model: PreActResNet10, x: torch.Tensor, y: np.ndarray, cfg: TrainConfig, seeds: FoldSeeds, *,
        augment: ApexAugment, ctx: RunContext, what: str, groups: np.ndarray | None = None,
    ) -> None:
        """Train in place with the generic loop; inputs stay on the 0-255 scale for augmentation."""
        net = nn.Sequential(ImageNetStandardise(self.in_chans), model)
        train_model(net, x, torch.tensor(np.asarray(y), dtype=torch.long), cfg, seeds, groups=groups,
                     augment=augment, sampler=no_single_batches(cfg.sampler(), cfg.batch_size), progress=ctx.progress,
                     desc=what, log=ctx.log)

    def _finetune_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, optimizer="sgd",
                           weight_decay=self.weight_decay, momentum=self.momentum, schedule="step",
                           step_epochs=self.step_size, gamma=self.gamma, class_balance=self.class_balance)

    def _pretrain_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.pretrain_epochs, lr=self.pretrain_lr, batch_size=self.pretrain_batch_size,
                           optimizer="sgd", weight_decay=self.pretrain_weight_decay, momentum=self.momentum,
                           schedule="step", step_epochs=self.pretrain_step_size, gamma=self.gamma,
                           class_balance=self.class_balance, val_fraction=self.pretrain_val_fraction)

    def _augment(self, *, pretrain: bool) -> ApexAugment:
        crop = self.input_size if (self.corner_crops and not pretrain) else None
        if pretrain:  # paper §4.1: colour shift 20, rotation 10, smoothing window <= 6; or none
            if not self.pretrain_augment:
                return ApexAugment(colour_shift=0.0, max_rotation=0.0, smooth_window=0, crop_size=None)
            return ApexAugment(colour_shift=20.0, max_rotation=10.0, smooth_window=6, crop_size=None, p=0.5)
        return ApexAugment(colour_shift=self.colour_shift, max_rotation=self.max_rotation,
                           smooth_window=self.smooth_window, crop_size=crop, p=self.aug_p)

    def _fit_view(self, x: torch.Tensor) -> torch.Tensor:
        """Training images before augmentation: full load_size for corner crops, else the centre."""
        return x if self.corner_crops else center_crop(x, self.input_size)

    # ------------------------------------------------------- macro pretraining
    def macro_table(self, ctx: RunContext) -> pd.DataFrame:
        """One row per pretraining image: the ``macro_frames`` frames ending at each clip's peak."""
        rows, dropped = [], Counter()
        for name, table in sorted(ctx.aux_tables.items()):
            for rec in table.to_dict("records"):
                cls = macro_emotion(rec["emotion"])
                if cls is None:
                    dropped[f"{name}:{rec['emotion']}"] += 1
                    continue
                peak = int(rec["apex"]) if not pd.isna(rec["apex"]) else int(rec["offset"])
                first = max(int(rec["onset"]), peak - self.macro_frames + 1)
                for pos in range(first, peak + 1):
                    row = dict(rec)
                    row.update(clip=f"{rec['clip']}__f{pos}", key=f"{rec['subject']}/{rec['clip']}__f{pos}",
                               apex=pos, apex_source="annotated", label=MACRO_CLASSES.index(cls), label_name=cls)
                    rows.append(row)
        if dropped:
            ctx.log.info("macro pretraining leaves out clips whose emotion is not one of %s: %s",
                         MACRO_CLASSES, dict(sorted(dropped.items())))
        if not rows:
            raise ConfigError(
                f"macro pretraining found no clip labelled {MACRO_CLASSES} in the auxiliary datasets "
                f"{sorted(ctx.aux_tables)}; add data.aux (e.g. ckplus: DIR) or set pretrain_macro: false"
            )
        out = pd.DataFrame(rows)
        out["apex"] = out["apex"].astype("Int64")
        return out.reset_index(drop=True)

    def macro_pretrain(self, ctx: RunContext) -> dict[str, torch.Tensor]:
        """Train the backbone on the run's macro corpora (called once per run via ``ctx.once``)."""
        table = self.macro_table(ctx)
        counts = Counter(table["label_name"])
        ctx.log.info("macro pretraining (once per run) on %d images from %s: %s",
                     len(table), sorted(ctx.aux_tables), dict(sorted(counts.items())))
        seeds = FoldSeeds.for_fold(ctx.seed, table["key"])
        with seeded_init(seeds.init):
            model = self._new_model(len(MACRO_CLASSES), attention=False)
        self.imagenet_init(model, ctx)
        x = center_crop(self.to_tensor(self.apex_images(table, ctx)), self.input_size)
        groups = table["subject"].to_numpy() if self.pretrain_val_fraction > 0 else None
        self._train(model, x, table["label"].to_numpy(), self._pretrain_config(), seeds,
                    augment=self._augment(pretrain=True), ctx=ctx, what="macro pretraining", groups=groups)
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    # ----------------------------------------------------------- fit/predict
    def fit(self, train: pd.DataFrame, ctx: RunContext) -> "ApexResNetMethod":
        """Build the fold's model from the (once-per-run) pretrained weights and fine-tune it."""
        training_labels(train, ctx, type(self).__name__)  # present and within the run's classes
        seeds = FoldSeeds.for_fold(ctx.seed, train["key"])
        with seeded_init(seeds.init):
            model = self._new_model(ctx.n_classes, attention=self.attention)
        if self.pretrain_macro:
            load_backbone(model, macro_stage(self, self, ctx))
        else:
            self.imagenet_init(model, ctx)
        x = self._fit_view(self.to_tensor(self.apex_images(train, ctx)))
        if audit.active():  # leakage audit: the test fold scored every N epochs, stored apart
            audit.bind(lambda test: audit.proba_scorer(center_crop(self.to_tensor(self.apex_images(test, ctx)),
                                                                   self.input_size), batch_size=64))
        self._train(model, x, train["label"].to_numpy(), self._finetune_config(), seeds,
                    augment=self._augment(pretrain=False), ctx=ctx,
                    what=f"fine-tuning {ctx.fold}".strip())
        self.model_ = model
        return self

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        """Class probabilities (n, n_classes); writes attention overlays when asked."""
        if not hasattr(self, "model_"):
            raise ModelError("predict_proba called before fit")
        model = self.model_
        standardise = ImageNetStandardise(self.in_chans)
        x = center_crop(self.to_tensor(self.apex_images(test, ctx)), self.input_size)
        model.eval()
        probs, maps = [], []
        with torch.no_grad():
            for i in range(0, len(x), 64):
                logits = model(standardise(x[i:i + 64])).double()
                probs.append(F.softmax(logits, dim=1))
                if model.has_attention:
                    maps.append(upsample_attention(model.attention_maps()[-1], x.shape[-2:]))
        proba = torch.cat(probs).numpy().astype(np.float64)
        if self.save_attention and model.has_attention:
            write_attention_overlays(
                ctx.run_dir / "attention" / f"seed{ctx.seed}" / file_slug(ctx.fold or "all"), list(test["key"]),
                x.numpy(), torch.cat(maps).numpy(), proba, ctx.classes,
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
