"""Public pieces of the apex-frame ResNet-10 recipe, shared by Micro-Attention / ResNet-10
(:mod:`microexpr.methods.apexnets`) and ATNet's spatial stream (:mod:`microexpr.methods.atnet`).

* :class:`ApexInput` — the ``apex_crop`` input (size, colour) and its tensor layout.
* :class:`MacroPretrainParams` — the macro-expression pretraining settings (the flat
  ``pretrain_*`` / ``macro_frames`` keys of a method's config, grouped; the keys stay flat
  in YAML because the papers and ``--set method.params.pretrain_epochs=5`` name them so).
* :func:`macro_table` — the pretraining images, labelled with the ``macro5`` label scheme
  (:data:`microexpr.labels.MACRO5`: data, not code).
* :func:`macro_pretrain` — train a plain ResNet-10 on them; :func:`macro_stage` — the once-per-run
  keyed stage around it; :func:`load_backbone` and :func:`imagenet_init` — starting points.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from ..errors import ConfigError, ModelError
from ..inputs.apex_transform import check_colour, crops_tensor
from ..labels import MACRO5, apply_scheme
from ..models.layers import ImageNetStandardise
from ..models.resnet10 import PreActResNet10, micro_attention_resnet10, resnet10
from ..training.augment import ApexAugment, center_crop
from ..training.loop import TrainConfig, train_model
from ..training.sampling import no_single_batches
from ..training.seeding import FoldSeeds, seeded_init
from ..training.transfer import load_imagenet_checkpoint
from .base import RunContext
from .param_groups import ParamGroup
from .stages import pretraining_stage

MACRO_CLASSES: tuple[str, ...] = MACRO5.classes


def macro_emotion(emotion: str) -> str | None:
    """The pretraining class of a macro corpus's native emotion; None if excluded or not listed."""
    return (MACRO5.mapping_for("any") or {}).get(str(emotion).strip().lower())


@dataclass(frozen=True)
class ApexInput:
    """The ``apex_crop`` input: square face crops of the apex frame, ``size`` pixels, grey or RGB."""

    size: int
    colour: str = "grey"

    def __post_init__(self) -> None:
        check_colour(self.colour)

    @property
    def in_chans(self) -> int:
        return check_colour(self.colour)

    def images(self, table: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        """Apex face crops (n, size, size[, 3]) uint8, from the cached inputs layer."""
        from ..inputs import load_inputs

        return load_inputs(table, "apex_crop", {"size": self.size, "colour": self.colour},
                           cache_dir=ctx.cache_dir, n_jobs=ctx.n_jobs, progress=ctx.progress)

    def tensor(self, images: np.ndarray) -> torch.Tensor:
        """Apex crops as a float tensor (n, in_chans, size, size), pixel values 0-255."""
        return crops_tensor(images, self.colour, size=self.size)


@dataclass(frozen=True)
class StepSGDParams:
    """Per-fold fine-tuning of the apex-frame networks: SGD with momentum, lr x ``gamma`` every
    ``step_size`` epochs, minority classes oversampled (``class_balance``). The defaults are
    Micro-Attention's; ATNet declares its own (:data:`ATNET_FINETUNE` in :mod:`.atnet`)."""

    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 8
    weight_decay: float = 5e-6
    momentum: float = 0.9
    step_size: int = 10
    gamma: float = 0.1
    class_balance: bool = True

    def __post_init__(self) -> None:
        if int(self.step_size) < 1:
            raise ConfigError(f"method parameter step_size must be >= 1, got {self.step_size}")
        self.train_config()  # TrainConfig checks epochs, lr, batch size, momentum, decay, gamma now

    def train_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, optimizer="sgd",
                           weight_decay=self.weight_decay, momentum=self.momentum, schedule="step",
                           step_epochs=self.step_size, gamma=self.gamma, class_balance=self.class_balance)


FINETUNE_OPTIONS = ParamGroup(source=StepSGDParams)
"""The fine-tuning keys of Micro-Attention / ResNet-10 (``@accepts(FINETUNE_OPTIONS, into="finetune")``)."""


@dataclass(frozen=True)
class MacroPretrainParams:
    """Macro-expression pretraining (Micro-Attention §4.1): SGD with step decay, class-balanced,
    1/``val_fraction`` of the macro subjects held out (lowest validation loss kept)."""

    frames: int = 3
    epochs: int = 60
    lr: float = 0.01
    batch_size: int = 50
    weight_decay: float = 5e-4
    step_size: int = 20
    val_fraction: float = 0.1
    augment: bool = True
    momentum: float = 0.9
    gamma: float = 0.1
    class_balance: bool = True

    def __post_init__(self) -> None:
        for name in ("frames", "epochs", "batch_size", "step_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"method parameter {'macro_frames' if name == 'frames' else 'pretrain_' + name} "
                                  f"must be >= 1, got {getattr(self, name)}")
        self.train_config()  # TrainConfig checks lr, momentum, decay, gamma now, not mid-run

    def train_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, optimizer="sgd",
                           weight_decay=self.weight_decay, momentum=self.momentum, schedule="step",
                           step_epochs=self.step_size, gamma=self.gamma, class_balance=self.class_balance,
                           val_fraction=self.val_fraction)

    def augmentation(self) -> ApexAugment:
        """Paper §4.1: colour shift 20, rotation 10, smoothing window <= 6 (p 0.5); or none."""
        if not self.augment:
            return ApexAugment(colour_shift=0.0, max_rotation=0.0, smooth_window=0, crop_size=None)
        return ApexAugment(colour_shift=20.0, max_rotation=10.0, smooth_window=6, crop_size=None, p=0.5)


PRETRAIN_OPTIONS = ParamGroup(
    source=MacroPretrainParams,
    rename={"frames": "macro_frames", "epochs": "pretrain_epochs", "lr": "pretrain_lr",
            "batch_size": "pretrain_batch_size", "weight_decay": "pretrain_weight_decay",
            "step_size": "pretrain_step_size", "val_fraction": "pretrain_val_fraction",
            "augment": "pretrain_augment"},
    exclude=("momentum", "gamma", "class_balance"),  # shared with fine-tuning: the method's own keys
)
"""The macro-pretraining keys a method accepts (``@accepts(PRETRAIN_OPTIONS, into="pretrain")``)."""


def pretrain_params(method: Any, given: dict[str, Any] | None) -> MacroPretrainParams:
    """The method's :class:`MacroPretrainParams`: ``given`` under the dataclass's names, the rest its
    defaults; momentum, gamma and class balance are the method's fine-tuning ones."""
    return PRETRAIN_OPTIONS.build(method, given, momentum=method.momentum, gamma=method.gamma,
                                  class_balance=method.class_balance)


def new_resnet10(num_classes: int, *, attention: bool, in_chans: int, base_width: int) -> PreActResNet10:
    """A ResNet-10, with Micro-Attention units or plain."""
    factory = micro_attention_resnet10 if attention else resnet10
    return factory(num_classes=num_classes, in_chans=in_chans, base_width=base_width)


def imagenet_init(model: nn.Module, checkpoint: str | None, ctx: RunContext) -> None:
    """Load a local torchvision ImageNet ``checkpoint`` into ``model`` (first conv adapted), or
    log that the model starts from random weights."""
    if checkpoint is None:
        ctx.log.info("no imagenet_checkpoint given: starting from random weights")
        return
    load_imagenet_checkpoint(model, checkpoint, log=ctx.log)


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


def train_resnet(
    model: nn.Module, x: torch.Tensor, y: np.ndarray, cfg: TrainConfig, seeds: FoldSeeds, *, in_chans: int,
    augment: Any, ctx: RunContext, what: str, groups: np.ndarray | None = None,
) -> None:
    """Train in place with the generic loop; inputs stay on the 0-255 scale for augmentation
    and are standardised with ImageNet statistics inside the network."""
    net = nn.Sequential(ImageNetStandardise(in_chans), model)
    train_model(net, x, torch.tensor(np.asarray(y), dtype=torch.long), cfg, seeds, groups=groups,
                augment=augment, sampler=no_single_batches(cfg.sampler(), cfg.batch_size), progress=ctx.progress,
                desc=what, log=ctx.log)


def macro_table(ctx: RunContext, frames: int) -> pd.DataFrame:
    """One row per pretraining image: the ``frames`` frames ending at each clip's peak (apex, or
    the offset where no apex is annotated), labelled with the ``macro5`` scheme."""
    if not ctx.aux_tables:
        raise ConfigError("macro pretraining needs an auxiliary macro-expression dataset: add data.aux "
                          "(e.g. ckplus: DIR) or set pretrain_macro: false")
    out, dropped = peak_frame_table(ctx.aux_tables, MACRO5, frames)
    if dropped:
        ctx.log.info("macro pretraining leaves out clips whose emotion is not one of %s: %s",
                     MACRO_CLASSES, dict(sorted(dropped.items())))
    if out.empty:
        raise ConfigError(
            f"macro pretraining found no clip labelled {MACRO_CLASSES} in the auxiliary datasets "
            f"{sorted(ctx.aux_tables)}; add data.aux (e.g. ckplus: DIR) or set pretrain_macro: false"
        )
    return out


def peak_frame_table(tables: dict[str, pd.DataFrame], scheme: Any, frames: int) -> tuple[pd.DataFrame, Counter]:
    """One row per image of a pretraining set: the ``frames`` frames ending at each clip's peak (its
    apex, or its offset where no apex is annotated; a still photo is its own peak), each row's
    ``apex`` set to that frame, labelled with ``scheme``. Also returns the count of clips the scheme
    excludes, per ``dataset:native`` label."""
    rows, dropped = [], Counter()
    for name, table in sorted(tables.items()):
        labelled, _, report = apply_scheme(table, scheme)
        dropped.update({f"{name}:{native}": n for (_, native), n in report.excluded.items()})
        for rec in labelled.to_dict("records"):
            peak = int(rec["apex"]) if not pd.isna(rec["apex"]) else int(rec["offset"])
            first = max(int(rec["onset"]), peak - frames + 1)
            for pos in range(first, peak + 1):
                row = dict(rec)
                row.update(clip=f"{rec['clip']}__f{pos}", key=f"{rec['subject']}/{rec['clip']}__f{pos}",
                           apex=pos, apex_source="annotated")
                rows.append(row)
    out = pd.DataFrame(rows)
    if not out.empty:
        out["apex"] = out["apex"].astype("Int64")
    return out.reset_index(drop=True), dropped


def macro_pretrain(
    ctx: RunContext, params: MacroPretrainParams, *, images: Callable[[pd.DataFrame], torch.Tensor],
    input_size: int, in_chans: int, base_width: int, imagenet_checkpoint: str | None,
) -> dict[str, torch.Tensor]:
    """Train a plain ResNet-10 on the run's macro corpora and return its state dict.

    ``images(table)`` gives the apex crops of the pretraining rows as a 0-255 tensor (n, C, S, S)
    with S >= ``input_size``; the centre ``input_size`` crop is trained on.
    """
    table = macro_table(ctx, params.frames)
    counts = Counter(table["label_name"])
    ctx.log.info("macro pretraining (once per run) on %d images from %s: %s",
                 len(table), sorted(ctx.aux_tables), dict(sorted(counts.items())))
    seeds = FoldSeeds.for_fold(ctx.seed, table["key"])
    with seeded_init(seeds.init):
        model = new_resnet10(len(MACRO_CLASSES), attention=False, in_chans=in_chans, base_width=base_width)
    imagenet_init(model, imagenet_checkpoint, ctx)
    x = center_crop(images(table), input_size)
    groups = table["subject"].to_numpy() if params.val_fraction > 0 else None
    train_resnet(model, x, table["label"].to_numpy(), params.train_config(), seeds, in_chans=in_chans,
                 augment=params.augmentation(), ctx=ctx, what="macro pretraining", groups=groups)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def macro_stage(method: Any, ctx: RunContext, name: str, build: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The macro-pretrained ResNet-10 of the run (once per run: :func:`pretraining_stage`), built
    by ``build`` on the run's auxiliary corpora and keyed by ``method``'s parameters."""
    return pretraining_stage(
        ctx, method, name=name, tables=list(ctx.aux_tables.values()), build=build,
        what="macro-expression pretraining",
        missing=(f"{type(method).__name__}: pretrain_macro is true but the run has no auxiliary macro-expression "
                 "dataset: add data.aux (e.g. ckplus: DIR) or set pretrain_macro: false"))
