"""STSTNet, LAENet and OFF-ApexNet on onset->apex flow images, with batched multi-fold training.

Inputs: the ``flow_image`` representation (28x28, channels u, v, strain; see
``microexpr.inputs``) or, when ``flow_png_dir`` is set, a folder of precomputed
STSTNet-style PNGs (``microexpr.sources.flow_png``; eye masking cannot be applied to
those, so ``eye_mask`` must then be false).

A table read by the ``flow_png`` dataset reader (the PNG folder alone, no corpus; rows
with a ``flow_png`` path) is read from those PNG files directly: ``flow_png_dir`` is then
not needed; if it is given it must be that same folder (or hold the files), else it is a
ConfigError, so that one run never mixes two image sources. Such a table has no
landmarks, so ``eye_mask`` must be false (LAENet's default is true: set it). A table
mixing PNG rows and corpus rows is refused.

Pixel convention (``pixel_convention``): ``rgb01`` (u, v, strain / 255; what models
trained here use) or ``opencv_bgr255`` (OpenCV's BGR order, float 0-255: what the
published STSTNet weights expect). ``auto`` = ``opencv_bgr255`` when ``weights_dir``
(published per-subject weights) is set, else ``rgb01``.

Training (defaults = STSTNet's released settings; LAENet's paper gives none and uses
them too): Adam, lr 5e-5, no weight decay, batch 256, 800 epochs, the last epoch kept,
fresh weights per fold. ``fit_predict_folds`` trains every fold at once
(``microexpr.training.batched``) and gives the same predictions as ``fit`` +
``predict_proba`` per fold with the same seed (rounding aside).

LAENet's CK+ stage (``pretrain_ckplus``) trains one LAENet on
``ctx.aux_tables["ckplus"]`` once per run (``ctx.once``) and every fold fine-tunes all
layers from it. CK+ emotions map to the composite classes by the ``composite3`` scheme:
happy -> positive, surprise -> surprise, anger/contempt/disgust/fear/sadness ->
negative, neutral (and unlabelled) excluded. CK+ flow images are not eye-masked (the
paper masks the micro-expression stage, §2.2.4) and always come from the inputs layer.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from ..errors import ConfigError, ModelError
from ..models.registry import create_model
from ..identity import canonical_dataset, subject_file_identity, subject_identity
from ..inputs.flow_transform import CONVENTIONS, FlowImageTransform
from ..inputs.spec import InputSpec
from ..sources.flow_png import FlowPngFolder, png_rows
from ..training import audit
from ..training.history import fold_index
from ..training.batched import fused_unavailable_reason, train_folds_batched
from ..training.loop import TrainConfig, predict_proba, train_model
from ..training.seeding import FoldSeeds, seeded_init
from .base import RunContext, training_labels
from .stages import pretraining_stage
from .registry import register_method


class FlowNetMethod:
    """Shared recipe of the flow-image networks (fold by fold)."""

    model_name: ClassVar[str] = ""
    channels: ClassVar[tuple[int, ...]] = (0, 1, 2)  # of (u, v, strain) fed to the model

    def __init__(
        self,
        *,
        epochs: int = 800,
        lr: float = 5e-5,
        batch_size: int = 256,
        optimizer: str = "adam",
        weight_decay: float = 0.0,
        schedule: str = "constant",
        class_balance: bool = False,
        val_fraction: float = 0.0,
        eye_mask: bool = False,
        flow_png_dir: str | None = None,
        pixel_convention: str = "auto",
        flow_params: dict[str, Any] | None = None,
        drop_rate: float = 0.5,
        fold_chunk: int = 8,
    ) -> None:
        self.epochs, self.lr, self.batch_size = epochs, lr, batch_size
        self.optimizer, self.weight_decay, self.schedule = optimizer, weight_decay, schedule
        self.class_balance, self.val_fraction = class_balance, val_fraction
        self.eye_mask, self.flow_png_dir = bool(eye_mask), flow_png_dir
        self.pixel_convention, self.flow_params = pixel_convention, dict(flow_params or {})
        self.drop_rate, self.fold_chunk = drop_rate, fold_chunk
        self.train_config()  # validate early
        if pixel_convention not in ("auto",) + CONVENTIONS:
            raise ConfigError(f"pixel_convention {pixel_convention!r} unknown; use auto or one of {CONVENTIONS}")
        if flow_png_dir is not None and self.eye_mask:
            raise ConfigError(f"eye_mask cannot be applied to precomputed PNGs ({flow_png_dir}); set eye_mask: false "
                              "or compute flow images from the datasets (unset flow_png_dir)")
        if "eye_mask" in self.flow_params:
            raise ConfigError("set eye masking with the method parameter eye_mask, not in flow_params")
        self._png: FlowPngFolder | None = None

    # ------------------------------------------------------------------ inputs
    def train_config(self, epochs: int | None = None) -> TrainConfig:
        return TrainConfig(epochs=int(epochs if epochs is not None else self.epochs), lr=float(self.lr),
                           batch_size=int(self.batch_size), optimizer=self.optimizer,
                           weight_decay=float(self.weight_decay), schedule=self.schedule,
                           class_balance=bool(self.class_balance), val_fraction=float(self.val_fraction))

    def convention(self) -> str:
        return "rgb01" if self.pixel_convention == "auto" else self.pixel_convention

    def transform(self) -> FlowImageTransform:
        """How a flow image becomes this model's input tensor (the one owner of the convention)."""
        return FlowImageTransform(self.convention(), tuple(self.channels))

    def input_spec(self) -> InputSpec:
        """This method's model input (export, predict and the report read it from here)."""
        return InputSpec("flow_image", {**self.flow_params, "eye_mask": self.eye_mask}, self.transform().as_dict())

    def prepare_inputs(self, table: pd.DataFrame, ctx: RunContext) -> None:
        """Fill the inputs cache for ``table`` (the engine calls it before dispatching units to workers)."""
        self.images(table, ctx)

    def images(self, table: pd.DataFrame, ctx: RunContext, *, eye_mask: bool | None = None,
               from_png: bool = True) -> torch.Tensor:
        """Model inputs ``(n, C, 28, 28)`` float32 for every row of ``table``."""
        tr = self.transform()
        png_paths = table_png_paths(table) if from_png else None
        if png_paths is not None:
            mask = self.eye_mask if eye_mask is None else eye_mask
            if mask:
                raise ConfigError(f"{self.model_name}: eye_mask cannot be applied to precomputed flow PNGs (the flow_png "
                                  "reader's clips have no landmarks); set eye_mask: false under method.params")
            if self.flow_png_dir is not None:
                _check_same_folder(self.flow_png_dir, png_paths)
            self.png_table_ = True
            return tr.from_files(png_paths, os.path.commonpath(png_paths))
        if self.flow_png_dir is not None and from_png:
            if self._png is None:
                self._png = FlowPngFolder(self.flow_png_dir)
            return tr.from_images(self._png.load(table))
        from ..inputs import load_inputs

        params = {**self.flow_params, "eye_mask": self.eye_mask if eye_mask is None else eye_mask}
        return tr.from_images(load_inputs(table, "flow_image", params, cache_dir=ctx.cache_dir, n_jobs=ctx.n_jobs,
                                          progress=ctx.progress))

    # ------------------------------------------------------------------ models
    def model_kwargs(self, ctx: RunContext) -> dict[str, Any]:
        return {"num_classes": ctx.n_classes, "drop_rate": float(self.drop_rate)}

    def new_model(self, seeds: FoldSeeds, ctx: RunContext) -> nn.Module:
        with seeded_init(seeds.init):
            return create_model(self.model_name, **self.model_kwargs(ctx))

    def prepare(self, ctx: RunContext) -> None:
        """Per-run work before any fold (LAENet: CK+ pretraining)."""

    # ------------------------------------------------------------------ Method API
    def fit(self, train: pd.DataFrame, ctx: RunContext) -> "FlowNetMethod":
        y = training_labels(train, ctx, self.model_name)
        self.prepare(ctx)
        x = self.images(train, ctx)
        seeds = FoldSeeds.for_fold(ctx.seed, train["key"])
        if audit.active():  # leakage audit: the test fold scored every N epochs, stored apart
            audit.bind(lambda test: audit.proba_scorer(self.images(test, ctx)))
        self.model_ = self.new_model(seeds, ctx)
        self.model_kwargs_ = self.model_kwargs(ctx)
        self.history_ = train_model(self.model_, x, y, self.train_config(), seeds, groups=train["subject"].to_numpy(),
                                    progress=ctx.progress, desc=f"{self.model_name} {ctx.fold}".strip(), log=ctx.log)
        return self

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise ModelError(f"{self.model_name}: predict_proba called before fit")
        return predict_proba(self.model_, self.images(test, ctx))


    def export_payload(self) -> dict[str, Any]:
        """The fitted model and its input specification (``microexpr.artefacts.ExportableMethod``).

        ``microexpr export`` calls this after fitting on all clips of a run, so that
        ``microexpr predict`` rebuilds the very same ``flow_image`` input for any video.
        """
        if getattr(self, "model_", None) is None or not hasattr(self, "model_kwargs_"):
            raise ModelError(f"{self.model_name}: nothing to export; fit the method first "
                             "(published per-subject weights are not one deployable model)")
        if self.flow_png_dir is not None or getattr(self, "png_table_", False):
            where = self.flow_png_dir or "the flow_png dataset reader"
            raise ModelError(f"{self.model_name}: a model trained on precomputed flow PNGs ({where}) cannot be "
                             "exported for video inference, because their preprocessing is unknown; train from the datasets")
        spec = self.input_spec()
        return {"model_name": self.model_name, "model_kwargs": dict(self.model_kwargs_),
                "state_dict": self.model_.state_dict(), "input_name": spec.name,
                "input_params": spec.params, "input_transform": spec.transform}


class BatchedFlowNetMethod(FlowNetMethod):
    """Adds ``fit_predict_folds``: every fold trained at once (STSTNet/LAENet family)."""

    def fold_by_fold(self, folds: list[tuple[pd.DataFrame, pd.DataFrame]], ctx: RunContext) -> list[np.ndarray]:
        """``fit`` + ``predict_proba`` per fold: what ``fit_predict_folds`` computes, one fold at a time."""
        out = []
        for i, (train, test) in enumerate(folds):
            with fold_index(i):  # its history and audit belong to fold i of the batch
                self.fit(train, ctx)
            out.append(self.predict_proba(test, ctx))
        return out

    def fit_predict_folds(self, folds: list[tuple[pd.DataFrame, pd.DataFrame]], ctx: RunContext) -> list[np.ndarray]:
        if not folds:
            return []
        if getattr(self, "weights_dir", None) is not None:  # published weights: nothing to train
            return self.fold_by_fold(folds, ctx)
        self.prepare(ctx)
        union = pd.concat([t for pair in folds for t in pair], ignore_index=True).drop_duplicates("key").reset_index(drop=True)
        pos = {k: i for i, k in enumerate(union["key"])}
        y_all = np.full(len(union), -1, dtype=np.int64)
        for train, _ in folds:
            lab = training_labels(train, ctx, self.model_name)
            idx = np.array([pos[k] for k in train["key"]])
            if np.any((y_all[idx] >= 0) & (y_all[idx] != lab)):
                raise ConfigError("fit_predict_folds: a clip has different labels in two folds")
            y_all[idx] = lab
        x_all = self.images(union, ctx)
        fold_idx = [torch.as_tensor([pos[k] for k in train["key"]]) for train, _ in folds]
        seeds = [FoldSeeds.for_fold(ctx.seed, train["key"]) for train, _ in folds]
        models = [self.new_model(s, ctx) for s in seeds]
        if audit.active():
            for i, (_, test) in enumerate(folds):
                rows = torch.as_tensor([pos[k] for k in test["key"]])
                audit.bind(lambda _test, rows=rows: audit.proba_scorer(x_all[rows]), fold=i)
        reason = fused_unavailable_reason(models[0])
        if reason is not None:  # the eager batched path is slower than fold by fold at batch 256
            ctx.log.warning("%s: %s; training the %d folds one by one (same predictions, slower)",
                            self.model_name, reason, len(folds))
            return self.fold_by_fold(folds, ctx)
        self.histories_ = train_folds_batched(
            models, x_all, torch.from_numpy(y_all), fold_idx, self.train_config(), seeds,
            groups=union["subject"].to_numpy(), fold_chunk=int(self.fold_chunk), progress=ctx.progress,
            desc=f"{self.model_name} {len(folds)} folds", log=ctx.log)
        self.models_ = models
        return [predict_proba(m, x_all[torch.as_tensor([pos[k] for k in test["key"]])]) for m, (_, test) in zip(models, folds)]


@register_method("ststnet")
class STSTNetMethod(BatchedFlowNetMethod):
    """STSTNet (1,683 parameters). ``weights_dir``: evaluate published per-subject weights
    (``<subject>.pth``, e.g. ``006.pth``, ``s01.pth``, ``sub01.pth``) instead of training."""

    model_name = "ststnet"

    def __init__(self, *, epochs: int = 800, lr: float = 5e-5, batch_size: int = 256, optimizer: str = "adam",
                 weight_decay: float = 0.0, schedule: str = "constant", class_balance: bool = False,
                 val_fraction: float = 0.0, eye_mask: bool = False, flow_png_dir: str | None = None,
                 pixel_convention: str = "auto", flow_params: dict[str, Any] | None = None, drop_rate: float = 0.5,
                 fold_chunk: int = 8, weights_dir: str | None = None) -> None:
        super().__init__(epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer, weight_decay=weight_decay,
                         schedule=schedule, class_balance=class_balance, val_fraction=val_fraction, eye_mask=eye_mask,
                         flow_png_dir=flow_png_dir, pixel_convention=pixel_convention, flow_params=flow_params,
                         drop_rate=drop_rate, fold_chunk=fold_chunk)
        self.weights_dir = weights_dir
        if weights_dir is not None and pixel_convention == "rgb01":
            raise ConfigError("weights_dir (published STSTNet weights) needs pixel_convention opencv_bgr255 (or auto): "
                              "those models were trained on OpenCV BGR images, float 0-255")

    def convention(self) -> str:
        if self.pixel_convention == "auto":
            return "opencv_bgr255" if self.weights_dir is not None else "rgb01"
        return self.pixel_convention

    def fit(self, train: pd.DataFrame, ctx: RunContext) -> "FlowNetMethod":
        if self.weights_dir is not None:
            self.model_ = None  # published weights are loaded per test subject in predict_proba
            return self
        return super().fit(train, ctx)

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        if self.weights_dir is None:
            return super().predict_proba(test, ctx)
        from ..models.ststnet import load_published_ststnet

        x = self.images(test, ctx)
        out = np.zeros((len(test), ctx.n_classes))
        subjects = test["subject"].to_numpy()
        for subject in sorted(set(subjects)):
            rows = np.flatnonzero(subjects == subject)
            model = load_published_ststnet(published_weight_file(self.weights_dir, subject))
            if model.num_classes != ctx.n_classes:
                raise ModelError(f"published STSTNet weights have {model.num_classes} classes, the run has {ctx.n_classes}")
            out[rows] = predict_proba(model, x[torch.as_tensor(rows)])
        return out

    def fit_predict_folds(self, folds: list[tuple[pd.DataFrame, pd.DataFrame]], ctx: RunContext) -> list[np.ndarray]:
        if self.weights_dir is not None:
            return [self.predict_proba(test, ctx) for _, test in folds]
        return super().fit_predict_folds(folds, ctx)


def published_weight_file(weights_dir: str | Path, subject: str) -> Path:
    """The ``.pth`` of test subject ``subject`` (namespaced or native; zero padding ignored)."""
    folder = Path(weights_dir)
    if not folder.is_dir():
        raise ModelError(f"weights_dir {folder} is not a folder of per-subject .pth files")
    namespace, _, native = str(subject).rpartition("/")
    want = (canonical_dataset(namespace), subject_identity(native)) if namespace else subject_file_identity(native)
    hits = [p for p in sorted(folder.glob("*.pth")) if want is not None and subject_file_identity(p.stem) == want]
    if len(hits) != 1:
        raise ModelError(f"test subject {subject}: expected one weight file named {native}.pth (or another spelling of "
                         f"that subject, e.g. without zero padding) in {folder}, found {[p.name for p in hits] or 'none'}")
    return hits[0]


@register_method("laenet")
class LAENetMethod(BatchedFlowNetMethod):
    """LAENet (843 parameters) with optional CK+ pretraining and eye masking (both on by default)."""

    model_name = "laenet"

    def __init__(self, *, epochs: int = 800, lr: float = 5e-5, batch_size: int = 256, optimizer: str = "adam",
                 weight_decay: float = 0.0, schedule: str = "constant", class_balance: bool = False,
                 val_fraction: float = 0.0, eye_mask: bool = True, flow_png_dir: str | None = None,
                 pixel_convention: str = "auto", flow_params: dict[str, Any] | None = None, drop_rate: float = 0.5,
                 fold_chunk: int = 8, pretrain_ckplus: bool = True, pretrain_epochs: int = 800) -> None:
        super().__init__(epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer, weight_decay=weight_decay,
                         schedule=schedule, class_balance=class_balance, val_fraction=val_fraction, eye_mask=eye_mask,
                         flow_png_dir=flow_png_dir, pixel_convention=pixel_convention, flow_params=flow_params,
                         drop_rate=drop_rate, fold_chunk=fold_chunk)
        self.pretrain_ckplus, self.pretrain_epochs = bool(pretrain_ckplus), int(pretrain_epochs)
        self.train_config(self.pretrain_epochs)
        self._pretrained: dict[str, torch.Tensor] | None = None

    def prepare(self, ctx: RunContext) -> None:
        if not self.pretrain_ckplus:
            return
        ck = ctx.aux_tables.get("ckplus")
        settings = None if ck is None else {
            "epochs": self.pretrain_epochs, "lr": self.lr, "batch": self.batch_size, "opt": self.optimizer,
            "wd": self.weight_decay, "flow": self.flow_params, "drop": self.drop_rate, "conv": self.convention(),
            "classes": list(ctx.classes), "keys": sorted(ck["key"])}
        tag = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:10]
        self._pretrained = pretraining_stage(
            ctx, self, name=f"laenet_ckplus_pretrain-{tag}", tables=None if ck is None else [ck],
            build=lambda: self._pretrain(ck, ctx), what="LAENet CK+ pretraining", extra_key=settings,
            missing="laenet: pretrain_ckplus is true but the run has no CK+ data; add data.aux.ckplus "
                    "(or --data ckplus=DIR), or set pretrain_ckplus: false")

    def _pretrain(self, ck: pd.DataFrame, ctx: RunContext) -> dict[str, torch.Tensor]:
        from ..labels import apply_scheme

        table, classes, _ = apply_scheme(ck, "composite3")
        if tuple(classes) != tuple(ctx.classes):
            raise ConfigError(f"laenet CK+ pretraining maps CK+ to {tuple(classes)}; the run's classes are {ctx.classes} "
                              "(use scheme composite3 or set pretrain_ckplus: false)")
        if len(table) == 0:
            raise ConfigError("laenet: the CK+ table has no clip with a usable emotion (happy, surprise, anger, "
                              "contempt, disgust, fear, sadness)")
        x = self.images(table, ctx, eye_mask=False, from_png=False)
        seeds = FoldSeeds.for_fold(ctx.seed, ["ckplus-pretraining", *table["key"]])
        with seeded_init(seeds.init):
            model = create_model(self.model_name, **self.model_kwargs(ctx))
        train_model(model, x, torch.tensor(table["label"].to_numpy(), dtype=torch.long), self.train_config(self.pretrain_epochs), seeds,
                    progress=ctx.progress, desc="LAENet CK+ pretraining", log=ctx.log)
        return {k: v.clone() for k, v in model.state_dict().items()}

    def new_model(self, seeds: FoldSeeds, ctx: RunContext) -> nn.Module:
        model = super().new_model(seeds, ctx)
        if self.pretrain_ckplus:
            if self._pretrained is None:
                raise ModelError("laenet: CK+ pretraining did not run before the fold")
            model.load_state_dict(self._pretrained, strict=True)
        return model


@register_method("off_apexnet")
class OffApexNetMethod(FlowNetMethod):
    """OFF-ApexNet on the u and v channels of the flow image (trained fold by fold only)."""

    model_name = "off_apexnet"
    channels = (0, 1)


def table_png_paths(table: pd.DataFrame) -> list[str] | None:
    """The ``flow_png`` path of every row (a table from the ``flow_png`` reader), or None when
    the table has none; a table mixing PNG rows and corpus rows is a ConfigError."""
    has = png_rows(table)
    if not has.any():
        return None
    if not all(has):
        other = [k for k, h in zip(table["key"], has) if not h]
        raise ConfigError(f"the clip table mixes precomputed flow PNGs (flow_png reader) with clips read from corpora "
                          f"(e.g. {other[0]}); one run must use one image source: list either flow_png or the corpora "
                          "under data.datasets")
    return [str(v) for v in table["flow_png"]]


def _check_same_folder(folder: str, paths: list[str]) -> None:
    root = Path(folder).expanduser().resolve()
    outside = [p for p in paths if not Path(p).resolve().is_relative_to(root)]
    if outside:
        raise ConfigError(f"flow_png_dir {folder} is not the folder the flow_png dataset reader read ({outside[0]} is "
                          "outside it); leave flow_png_dir null: the images are read from the table's PNG files")
