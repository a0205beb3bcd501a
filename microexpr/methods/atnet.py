"""ATNet method: apex ResNet-10 stream + ADM LSTM stream (+ fusion), Peng et al., ACII 2019.

Inputs (from the cached inputs layer): ``apex_crop`` (greyscale face crop of the apex
frame, ``input_size`` square) for the spatial stream and ``adm`` (the 64 x 128 average
direction-magnitude sequence, zero rows of short clips first as in the authors' data)
for the temporal stream. A variant loads only the inputs it uses, so ``variant:
spatial`` never computes optical flow.

Recipe (paper §III-B and §IV-A; METHODS.md "ATNet"):

1. Spatial stream: ResNet-10, optionally initialised from a local ImageNet checkpoint
   and macro-expression pretrained (``pretrain_macro``, once per run) with exactly the
   Micro-Attention method's procedure, reused from :mod:`microexpr.methods.apexnets`
   (its ``pretrain_*``/``macro_frames`` settings, aux corpora ``data.aux``); the stream
   then drops the pretraining head.
2. Both streams can also start from earlier trained ATNet weights
   (``init_checkpoints``: local state-dict files, e.g. the ``models/<fold>.pt`` files a
   run with ``save_models: true`` writes); every stream weight present in the files is
   loaded, the classifier never is. Nothing is downloaded.
3. Per fold the whole network is trained end to end: SGD lr 0.01, momentum 0.9, weight
   decay 5e-6, lr x``gamma`` (0.1) every ``step_size`` (10) of ``epochs`` (50) epochs,
   batch 16 (the release), minority classes oversampled to the majority count every
   epoch, and augmentation of the APEX IMAGE ONLY (the ADM sequence is never touched):
   rotation uniform in +-``max_rotation`` (5 deg) and an integer shift uniform in
   +-``max_shift`` (10 px) per axis, each applied to a sample with probability
   ``aug_p`` (0.5). The release's augmentation is accidentally off; ours runs. The last
   epoch is evaluated (no test peeking).

Decisions where the paper is silent: the shift is in pixels of the network input
(``input_size``; the paper's 10 px are at 224 px), integer, borders replicated like the
rotation (black borders would mark augmented images); samples not drawn for a transform
are left bit for bit unchanged; the apex image is standardised like the Micro-Attention
input (ImageNet grey mean 0.449, std 0.226); the ADM values are fed raw (radians and
pixels per frame), as in the authors' data files, unless ``adm_standardise`` is on (per
value z-scores with the training fold's mean/std over its non-padding rows; the reduced
CPU config uses it because the raw values train slowly with few SGD steps). The temporal
variant has no spatial stream, so ``pretrain_macro`` does nothing there.

Other outputs: ``save_models: true`` writes each fold's trained ATNet state dict to
``<run_dir>/models/<fold>-seed<S>.pt`` (loadable with ``init_checkpoints``), and
:func:`microexpr.report.compare.comparison_table` (``microexpr report RUN1 RUN2 ...``) lays several finished runs (the three variants) out like the
paper's Tables II/III, with the paper's rows below ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from ..errors import ConfigError, ModelError
from ..io_utils import file_slug
from ..models.atnet import VARIANTS, ATNet, atnet
from ..models.layers import ImageNetStandardise
from ..training.augment import rotate_by
from ..training.checkpoints import load_state, save_state
from ..training import audit
from ..training.loop import TrainConfig, predict_proba, train_model
from ..training.sampling import no_single_batches
from ..training.seeding import FoldSeeds, seeded_init
from .macro_pretraining import (
    PRETRAIN_OPTIONS, ApexInput, StepSGDParams, imagenet_init, load_backbone, macro_pretrain, macro_stage, pretrain_params,
)
from .param_groups import ParamGroup, accepts
from .base import RunContext, training_labels
from .registry import register_method

__all__ = ["ATNetAugment", "ATNetMethod", "adm_statistics", "random_rotation", "random_shift", "shift_by"]

_STAGE_NAME = "atnet_macro_pretrain"
ATNET_FINETUNE = ParamGroup(source=StepSGDParams, defaults={"epochs": 50, "lr": 0.01, "batch_size": 16})
"""ATNet's end-to-end training (paper §IV-A and the release): the apex recipe's keys, its own defaults."""


# --------------------------------------------------------------------------- augmentation
def shift_by(x: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Translate sample i by integer (``dx[i]`` columns right, ``dy[i]`` rows down), borders replicated.

    ``out[i, :, r, c] = x[i, :, clamp(r - dy[i]), clamp(c - dx[i])]``.
    """
    if x.ndim != 4:
        raise ConfigError(f"shift takes a batch (N, C, H, W), got shape {tuple(x.shape)}")
    n, _, h, w = x.shape
    rows = (torch.arange(h).view(1, h) - dy.long().view(n, 1)).clamp(0, h - 1)  # (n, h)
    cols = (torch.arange(w).view(1, w) - dx.long().view(n, 1)).clamp(0, w - 1)  # (n, w)
    idx = torch.arange(n).view(n, 1, 1)
    out = x.permute(0, 2, 3, 1)[idx, rows.view(n, h, 1), cols.view(n, 1, w)]  # (n, h, w, C)
    return out.permute(0, 3, 1, 2).contiguous()


def random_rotation(x: torch.Tensor, max_degrees: float, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Rotate each chosen sample (probability ``p``) by a uniform angle in +-``max_degrees``.

    Unlike :func:`microexpr.training.augment.rotate`, samples that are not chosen are returned
    bit for bit (a zero-angle resampling would still blur them slightly).
    """
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"augmentation probability must be in [0, 1], got {p}")
    n = x.shape[0]
    on = torch.rand(n, generator=generator) < p
    angles = (torch.rand(n, generator=generator) * 2 - 1) * max_degrees
    out = x.clone()
    idx = torch.nonzero(on).flatten()
    if idx.numel():
        out[idx] = rotate_by(x[idx], angles[idx])
    return out


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Shift each chosen sample (probability ``p``) by integers uniform in [-max_shift, max_shift] per axis."""
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"augmentation probability must be in [0, 1], got {p}")
    n = x.shape[0]
    on = torch.rand(n, generator=generator) < p
    d = torch.randint(-int(max_shift), int(max_shift) + 1, (2, n), generator=generator)
    d = torch.where(on.view(1, n), d, torch.zeros_like(d))
    return shift_by(x, d[0], d[1])


@dataclass(frozen=True)
class ATNetAugment:
    """Augment the apex image of an input tuple (rotation, then shift); other inputs pass through.

    ``apex_index`` is the position of the apex image in the tuple (``None``: no apex input,
    nothing to augment).
    """

    max_rotation: float = 5.0
    max_shift: int = 10
    p: float = 0.5
    apex_index: int | None = 0

    def __call__(self, xs: torch.Tensor | tuple[torch.Tensor, ...], generator: torch.Generator) -> Any:
        if self.apex_index is None:
            return xs
        single = not isinstance(xs, tuple)
        parts = [xs] if single else list(xs)
        x = parts[self.apex_index]
        if self.max_rotation > 0:
            x = random_rotation(x, self.max_rotation, generator, self.p)
        if self.max_shift > 0:
            x = random_shift(x, self.max_shift, generator, self.p)
        parts[self.apex_index] = x
        return parts[0] if single else tuple(parts)


class _ATNetInputs(nn.Module):
    """Calls the ATNet with the variant's inputs (apex standardised from the 0-255 scale)."""

    def __init__(self, model: ATNet, adm_mean: torch.Tensor | None = None, adm_std: torch.Tensor | None = None) -> None:
        super().__init__()
        self.model = model
        self.standardise = ImageNetStandardise(model.in_chans)
        self.adm_mean, self.adm_std = adm_mean, adm_std

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        v = self.model.variant
        apex = self.standardise(xs[0]) if v in ("spatial", "fusion") else None
        adm = xs[-1] if v in ("temporal", "fusion") else None
        if adm is not None and self.adm_mean is not None and self.adm_std is not None:
            adm = (adm - self.adm_mean) / self.adm_std
        return self.model(apex, adm)


def adm_statistics(adm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-value mean and std (floored at 1e-6) of the training ADM rows that are not padding.

    Used by ``adm_standardise``: computed on the fold's training clips only, so nothing of
    the test fold is seen. Padding (all-zero) rows are left out of the statistics.
    """
    rows = adm.reshape(-1, adm.shape[-1])
    real = rows[rows.abs().sum(dim=1) > 0]
    if len(real) < 2:
        raise ModelError("adm_standardise: fewer than 2 non-zero ADM rows in the training set; "
                         "are the clips' onset/offset annotations right?")
    return real.mean(dim=0), real.std(dim=0).clamp_min(1e-6)


# --------------------------------------------------------------------------- method
@register_method("atnet")
@accepts(ATNET_FINETUNE, into="finetune")
@accepts(PRETRAIN_OPTIONS, into="pretrain")
class ATNetMethod:
    """ATNet (``variant``: fusion | spatial | temporal); every hyper-parameter is a keyword (module doc)."""

    def __init__(
        self,
        *,
        variant: str = "fusion",
        base_width: int = 64,
        lstm_hidden: int = 512,
        lstm_layers: int = 2,
        dropout: float = 0.5,
        input_size: int = 224,
        adm_params: dict[str, Any] | None = None,
        max_rotation: float = 5.0,
        max_shift: int = 10,
        aug_p: float = 0.5,
        imagenet_checkpoint: str | None = None,
        pretrain_macro: bool = True,
        adm_standardise: bool = False,
        init_checkpoints: list[str] | None = None,
        save_models: bool = False,
        finetune: dict[str, Any] | None = None,
        pretrain: dict[str, Any] | None = None,
    ) -> None:
        if variant not in VARIANTS:
            raise ConfigError(f"atnet: variant must be one of {VARIANTS}, got {variant!r}")
        self.variant = variant
        self.base_width = int(base_width)
        self.lstm_hidden = int(lstm_hidden)
        self.lstm_layers = int(lstm_layers)
        self.dropout = float(dropout)
        self.input_size = int(input_size)
        self.finetune = ATNET_FINETUNE.build(self, finetune)
        self.max_rotation = float(max_rotation)
        self.max_shift = int(max_shift)
        self.aug_p = float(aug_p)
        self.imagenet_checkpoint = imagenet_checkpoint
        self.pretrain_macro = bool(pretrain_macro)
        self.init_checkpoints = [str(p) for p in (init_checkpoints or [])]
        self.save_models = bool(save_models)
        self.adm_standardise = bool(adm_standardise)
        if self.max_rotation < 0 or self.max_shift < 0 or not 0 <= self.aug_p <= 1:
            raise ConfigError(f"atnet: max_rotation and max_shift must be >= 0 and aug_p in [0, 1], got "
                              f"{max_rotation}, {max_shift}, {aug_p}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"atnet: dropout must be in [0, 1), got {dropout}")
        from ..inputs import resolve_representation_params

        self.adm_params = resolve_representation_params("adm", adm_params)  # validated now, not mid-run
        self.adm_shape = (2 * int(self.adm_params["half_window"]), 2 * int(self.adm_params["grid"]) ** 2)
        for p in self.init_checkpoints:
            if not Path(p).is_file():
                raise ConfigError(f"atnet: init_checkpoints file {p} not found; give the path of a saved ATNet state dict")
        # The spatial stream's macro pretraining is the Micro-Attention method's (same pieces and keys).
        self.apex_input = ApexInput(self.input_size, "grey")
        self.pretrain_params = pretrain_params(self, pretrain)

    # ------------------------------------------------------------------ parts
    @property
    def uses_apex(self) -> bool:
        return self.variant in ("spatial", "fusion")

    @property
    def uses_adm(self) -> bool:
        return self.variant in ("temporal", "fusion")

    def train_config(self) -> TrainConfig:
        """SGD with step decay and class-balanced oversampling (the fold's fine-tuning)."""
        return self.finetune.train_config()

    def augment(self) -> ATNetAugment:
        """The training augmentation (apex image only)."""
        return ATNetAugment(self.max_rotation, self.max_shift, self.aug_p, 0 if self.uses_apex else None)

    def new_model(self, num_classes: int) -> ATNet:
        return atnet(variant=self.variant, num_classes=num_classes, in_chans=1, base_width=self.base_width,
                     lstm_hidden=self.lstm_hidden, lstm_layers=self.lstm_layers, adm_shape=self.adm_shape,
                     dropout=self.dropout)

    def prepare_inputs(self, table: pd.DataFrame, ctx: RunContext) -> None:
        """Fill the inputs cache for ``table`` (the engine calls it before dispatching units to workers)."""
        self.inputs(table, ctx)

    def inputs(self, table: pd.DataFrame, ctx: RunContext) -> tuple[torch.Tensor, ...]:
        """The variant's input tensors for ``table``: (apex,), (adm,) or (apex, adm)."""
        from ..inputs import load_inputs

        out: list[torch.Tensor] = []
        if self.uses_apex:
            out.append(self.apex_input.tensor(self.apex_input.images(table, ctx)))  # apex_crop, grey, input_size
        if self.uses_adm:
            adm = load_inputs(table, "adm", self.adm_params, cache_dir=ctx.cache_dir, n_jobs=ctx.n_jobs,
                              progress=ctx.progress)
            adm = np.asarray(adm, dtype=np.float32)
            if adm.shape[1:] != self.adm_shape:
                raise ModelError(f"ADM inputs have shape {adm.shape[1:]}, expected {self.adm_shape}")
            out.append(torch.from_numpy(np.ascontiguousarray(adm)))
        return tuple(out)

    # ------------------------------------------------------- initialisation
    def _init_spatial(self, model: ATNet, ctx: RunContext) -> None:
        if model.spatial is None:
            return
        if self.pretrain_macro:
            load_backbone(model.spatial, macro_stage(self, ctx, _STAGE_NAME, lambda: self.macro_pretrain(ctx)))
            ctx.log.info("atnet: spatial stream starts from the macro-pretrained ResNet-10")
        else:
            imagenet_init(model.spatial, self.imagenet_checkpoint, ctx)

    def macro_pretrain(self, ctx: RunContext) -> dict[str, torch.Tensor]:
        """The spatial stream's macro-expression pretraining (once per run, via its keyed stage)."""
        return macro_pretrain(ctx, self.pretrain_params,
                              images=lambda t: self.apex_input.tensor(self.apex_input.images(t, ctx)),
                              input_size=self.input_size, in_chans=1, base_width=self.base_width,
                              imagenet_checkpoint=self.imagenet_checkpoint)

    def _init_from_checkpoints(self, model: ATNet, ctx: RunContext) -> None:
        """Load every stream weight of ``init_checkpoints`` that this model has (never the head)."""
        own = model.state_dict()
        for path in self.init_checkpoints:
            state = load_state(Path(path))
            picked = {k: v for k, v in state.items() if k.split(".")[0] in ("spatial", "temporal") and k in own}
            bad = [k for k, v in picked.items() if tuple(v.shape) != tuple(own[k].shape)]
            if bad:
                raise ModelError(f"{path}: weights {bad[:3]} have other shapes than this ATNet's "
                                 "(another base_width, lstm_hidden or adm_shape?)")
            if not picked:
                raise ModelError(f"{path}: no spatial./temporal. weight of this {self.variant!r} ATNet in the file")
            model.load_state_dict(picked, strict=False)
            ctx.log.info("atnet: loaded %d stream weights from %s", len(picked), path)

    # ----------------------------------------------------------- fit/predict
    def fit(self, train: pd.DataFrame, ctx: RunContext) -> "ATNetMethod":
        """Build the fold's ATNet (pretrained streams where asked) and train it end to end."""
        training_labels(train, ctx, type(self).__name__)  # present and within the run's classes
        seeds = FoldSeeds.for_fold(ctx.seed, train["key"])
        with seeded_init(seeds.init):
            model = self.new_model(ctx.n_classes)
        self._init_spatial(model, ctx)
        self._init_from_checkpoints(model, ctx)
        x = self.inputs(train, ctx)
        self.adm_stats_ = adm_statistics(x[-1]) if (self.uses_adm and self.adm_standardise) else (None, None)
        net = _ATNetInputs(model, *self.adm_stats_)
        if audit.active():  # leakage audit: the test fold scored every N epochs, stored apart
            audit.bind(lambda test: audit.proba_scorer(self.inputs(test, ctx), batch_size=64))
        cfg = self.train_config()
        train_model(net, x, torch.tensor(train["label"].to_numpy(), dtype=torch.long), cfg,
                    seeds, augment=self.augment(), sampler=no_single_batches(cfg.sampler(), cfg.batch_size), progress=ctx.progress,
                    desc=f"atnet {self.variant} {ctx.fold}".strip(), log=ctx.log)
        if self.save_models:
            path = ctx.run_dir / "models" / f"{file_slug(ctx.fold or 'all')}-seed{ctx.seed}.pt"
            path.parent.mkdir(parents=True, exist_ok=True)
            save_state({k: v.detach().clone() for k, v in model.state_dict().items()}, path)
        self.model_ = model
        return self

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        """Class probabilities (n, n_classes), eval mode (no dropout, no augmentation)."""
        if not hasattr(self, "model_"):
            raise ModelError("predict_proba called before fit")
        return predict_proba(_ATNetInputs(self.model_, *self.adm_stats_), self.inputs(test, ctx), batch_size=64)
