"""TLCNN: transferring long-term CNN (Wang et al., Neurocomputing 2018; METHODS.md "TLCNN").

Three stages, each a keyed stage of the run (``RunContext.once``) so a resumed run and every
fold reuse what is already built, and a changed setting rebuilds that stage and every stage
after it (each stage's key holds the key of the stage it starts from):

1. **Expression pretraining** (``tlcnn_expression``, once per run and seed): the frame CNN
   (:func:`microexpr.models.tlcnn.tlcnn`) on still expression images, 9 classes
   (``expression9``: §4.1's list). The images are the run's auxiliary corpora (``data.aux``:
   a manifest listing KDEF / MMI / RaFD / TFEID photos, CK+ sequences at their peak frame),
   one ``apex_rect`` crop each (``expression_frames`` > 1: also the frames just before a
   sequence's peak, as Micro-Attention's macro pretraining takes CK+'s last three). A 1/5
   validation split (whole subjects: stricter than the paper's image split) picks the epoch with the best validation accuracy and stops
   training ``expression_patience`` epochs after the last improvement (§4.1: stopped when
   the accuracy stops changing).
2. **Frame fine-tuning** (``tlcnn_frames-<fold>``, per fold): every TIM frame of every
   training clip is a sample labelled with its clip's label (TIM32: 32 x 448 = 14,336 per
   paper fold); the network starts from stage 1 (FC8 new, 4 classes). SGD momentum 0.9,
   batch 224, lr 1e-3 / 10 every 2,560 iterations for about 10,000 iterations (§4.2).
3. **CNN + LSTM** (per fold): the stage-2 CNN's FC6 features of ``window`` (16) consecutive
   frames -> LSTM (``lstm_hidden``: not given in the paper; 512 here) -> FC to the classes,
   trained jointly; one random window per clip per epoch; batch 16 clips, lr 0.01, x0.1
   after 5,600 iterations, 20,000 iterations (§4.2).

Iterations are given here as epochs, so they scale with the data (decision): an epoch is one
pass over the training samples (stage 2: frames, stage 3: clips, one window each). At the
paper's fold size, stage 2 has 14,336 / 224 = 64 iterations per epoch (2,560 iterations = 40
epochs, 10,000 = 156) and stage 3 has 448 / 16 = 28 (5,600 = 200, 20,000 = 714); these are the
defaults. Weight decay is not given: 5e-4 (Caffe's AlexNet solver, which the paper's Caffe
setup suggests).

Geometry (§3.3): RGB face frames 240 x 320 (height x width, ``tim_clip_rect``), a random
227 x 227 crop per training sample (stage 3: one crop per clip, the same for its 16 frames),
the centre crop at test; pixels standardised with ImageNet statistics (the paper's mean
subtraction is not given).

Test time (stage 3): every window of ``window`` consecutive frames (17 for TIM32) is classified
and the softmax outputs are averaged (the paper gives no rule: decision).

Model selection: the paper keeps "the best accuracy", which reads the test fold. Here stage 2
and 3 keep the last epoch, or (``val_fraction`` > 0) the epoch with the lowest validation
loss on whole training subjects held out; the test fold is never looked at.

Variants (Table 3): ``tlcnn`` (stages 1-3), ``tlcnn_e`` (no stage 1: TLCNN(E)), ``tlcnn_em``
(stage 3 from random weights: TLCNN(EM)), ``c5_svm`` (stages 1-2, then the C5 maps of the
stage-2 CNN averaged over a clip's frames -> SVM; the kernel is not given: linear).
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
from ..features.svm import FeatureSVM
from ..labels import EXPRESSION9
from ..models.layers import ImageNetStandardise
from ..models.tlcnn import PAPER_WIDTHS, TLCNN, TLCNNLSTM
from ..training import audit
from ..training.checkpoints import load_state, save_state
from ..training.loop import TrainConfig, predict_logits, train_model
from ..training.seeding import FoldSeeds, seeded_init
from .base import RunContext, fold_data_key, key_digest, stage_key, training_labels
from .macro_pretraining import peak_frame_table
from .param_groups import ParamGroup, accepts
from .registry import register_method

VARIANTS: dict[str, tuple[str, ...]] = {
    "tlcnn": ("expression", "frames", "lstm"),
    "tlcnn_e": ("frames", "lstm"),
    "tlcnn_em": ("lstm",),
    "c5_svm": ("expression", "frames", "svm"),
}
"""Each variant's stages, in order (Table 3's TLCNN, TLCNN(E), TLCNN(EM), C5+SVM)."""


@dataclass(frozen=True)
class SGDStage:
    """One stage's SGD run: ``epochs`` at ``lr`` x ``gamma`` every ``step_epochs``; ``val_fraction``
    of the training subjects held out to pick the epoch (0: the last epoch); ``patience`` > 0
    stops once the validation score has not improved for that many epochs."""

    epochs: int
    lr: float
    batch_size: int
    step_epochs: int
    val_fraction: float = 0.0
    patience: int = 0
    val_metric: str = "loss"

    def train_config(self, *, momentum: float, weight_decay: float, gamma: float,
                     class_balance: bool = False) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, optimizer="sgd",
                           momentum=momentum, weight_decay=weight_decay, schedule="step", step_epochs=self.step_epochs,
                           gamma=gamma, val_fraction=self.val_fraction, patience=self.patience,
                           val_metric=self.val_metric, class_balance=class_balance)


def _stage_group(prefix: str, **defaults: Any) -> ParamGroup:
    names = ("epochs", "lr", "batch_size", "step_epochs", "val_fraction", "patience", "val_metric")
    return ParamGroup(source=SGDStage, rename={n: f"{prefix}_{n}" for n in names}, defaults=defaults)


EXPRESSION_OPTIONS = _stage_group("expression", epochs=100, lr=1e-3, batch_size=64, step_epochs=40,
                                  val_fraction=0.2, patience=10, val_metric="accuracy")
"""Stage 1 (§4.1: 4:1 split, stop when the validation accuracy stops improving; lr and batch not given)."""
FRAME_OPTIONS = _stage_group("frame", epochs=156, lr=1e-3, batch_size=224, step_epochs=40)
"""Stage 2 (§4.2: batch 224, lr 1e-3 / 10 every 2,560 iterations, ~10,000 iterations = 40 / 156 epochs)."""
LSTM_OPTIONS = _stage_group("lstm", epochs=714, lr=0.01, batch_size=16, step_epochs=200)
"""Stage 3 (§4.2: batch 16 clips, lr 0.01 x0.1 after 5,600 iterations, 20,000 iterations = 200 / 714 epochs)."""
C5_SVM_OPTIONS = ParamGroup(
    source=FeatureSVM, defaults={"kernel": "linear"},
    rename={n: f"svm_{n}" for n in ("kernel", "C", "degree", "coef0", "gamma", "chi2_gamma", "standardize",
                                    "class_weight")})
"""C5+SVM's classifier, keys ``svm_*`` (the paper does not give the kernel: linear)."""


# --------------------------------------------------------------------------- inputs
class FrameInput(nn.Module):
    """uint8 frames (..., C, H, W) -> the centre ``crop`` (unless already that size) -> float,
    ImageNet-standardised -> ``net``. Training crops are cut at random by :class:`RandomCrop`
    before the batch reaches this module, so it only centres at test time."""

    def __init__(self, net: nn.Module, crop: int, in_chans: int = 3) -> None:
        super().__init__()
        self.net, self.crop = net, int(crop)
        self.standardise = ImageNetStandardise(in_chans)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead, chans = x.shape[:-3], x.shape[-3]
        flat = centre_crop(x, self.crop).reshape(-1, chans, self.crop, self.crop).float()
        return self.net(self.standardise(flat).reshape(*lead, chans, self.crop, self.crop))


def centre_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The centre ``size`` x ``size`` window of the last two axes (top/left rounded down)."""
    h, w = x.shape[-2:]
    if h < size or w < size:
        raise ModelError(f"frames of {h}x{w} px are smaller than the {size} px crop: raise frame_height/frame_width "
                         "or lower input_size")
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top:top + size, left:left + size]


@dataclass(frozen=True)
class RandomCrop:
    """Training augmentation: one random ``size`` crop per sample (per clip for clip tensors:
    the same window for every frame, so the motion between frames is kept), and for clips
    longer than ``window`` frames one random run of ``window`` consecutive frames."""

    size: int
    window: int | None = None

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
        if h < self.size or w < self.size:
            raise ModelError(f"frames of {h}x{w} px are smaller than the {self.size} px crop")
        tops = torch.randint(0, h - self.size + 1, (n,), generator=generator)
        lefts = torch.randint(0, w - self.size + 1, (n,), generator=generator)
        starts = None
        if self.window is not None and x.ndim == 5 and x.shape[1] > self.window:
            starts = torch.randint(0, x.shape[1] - self.window + 1, (n,), generator=generator)
        out = []
        for i in range(n):
            xi = x[i]
            if starts is not None:
                xi = xi[int(starts[i]):int(starts[i]) + self.window]
            out.append(xi[..., int(tops[i]):int(tops[i]) + self.size, int(lefts[i]):int(lefts[i]) + self.size])
        return torch.stack(out)


def window_average(model: nn.Module, clips: torch.Tensor, window: int, batch_size: int = 16) -> np.ndarray:
    """Softmax of ``model`` averaged over every run of ``window`` consecutive frames of each clip
    (clips (N, T, C, H, W); T - window + 1 windows; one window when T <= window)."""
    t = clips.shape[1]
    starts = range(max(1, t - window + 1))
    probs = [torch.softmax(torch.from_numpy(predict_logits(model, clips[:, s:s + window].contiguous(),
                                                           batch_size)).double(), 1) for s in starts]
    return torch.stack(probs).mean(0).numpy()


def rect_clips(table: pd.DataFrame, ctx: RunContext, params: dict[str, Any]) -> torch.Tensor:
    """The ``tim_clip_rect`` clips of ``table`` (cached) as uint8 (N, T, C, H, W): channels before
    the pixels, the layout of TLCNN's and the 3D-CNN's clip tensors."""
    from ..inputs import load_inputs

    arr = load_inputs(table, "tim_clip_rect", params, cache_dir=ctx.cache_dir, n_jobs=ctx.n_jobs, progress=ctx.progress)
    return torch.from_numpy(np.ascontiguousarray(np.asarray(arr).transpose(0, 1, 4, 2, 3)))


# --------------------------------------------------------------------------- method
@register_method("tlcnn")
@accepts(EXPRESSION_OPTIONS, into="expression")
@accepts(FRAME_OPTIONS, into="frame")
@accepts(LSTM_OPTIONS, into="lstm")
@accepts(C5_SVM_OPTIONS, into="svm")
class TLCNNMethod:
    """TLCNN and its Table 3 variants (module doc); every width and setting is a keyword."""

    def __init__(
        self,
        *,
        variant: str = "tlcnn",
        widths: list[int] = PAPER_WIDTHS,  # type: ignore[assignment]  (a tuple: immutable default)
        fc: int = 4096,
        dropout: float = 0.5,
        input_size: int = 227,
        frame_height: int = 240,
        frame_width: int = 320,
        tim_length: int = 32,
        interpolation: str = "tim",
        window: int = 16,
        lstm_hidden: int = 512,
        expression_frames: int = 1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        gamma: float = 0.1,
        class_balance: bool = False,
        inputs: dict[str, Any] | None = None,
        expression: dict[str, Any] | None = None,
        frame: dict[str, Any] | None = None,
        lstm: dict[str, Any] | None = None,
        svm: dict[str, Any] | None = None,
    ) -> None:
        if variant not in VARIANTS:
            raise ConfigError(f"tlcnn: variant must be one of {list(VARIANTS)}, got {variant!r}")
        self.variant = variant
        self.widths = [int(w) for w in widths]
        self.fc, self.dropout, self.input_size = int(fc), float(dropout), int(input_size)
        self.frame_height, self.frame_width = int(frame_height), int(frame_width)
        self.tim_length, self.interpolation = int(tim_length), str(interpolation)
        self.window, self.lstm_hidden = int(window), int(lstm_hidden)
        self.expression_frames = int(expression_frames)
        if self.expression_frames < 1:
            raise ConfigError(f"tlcnn: expression_frames must be >= 1, got {expression_frames}")
        self.momentum, self.weight_decay, self.gamma = float(momentum), float(weight_decay), float(gamma)
        self.class_balance = bool(class_balance)
        self.inputs = dict(inputs or {})
        if min(self.frame_height, self.frame_width) < self.input_size:
            raise ConfigError(f"tlcnn: frames of {self.frame_height}x{self.frame_width} px cannot give "
                              f"{self.input_size} px crops; raise frame_height/frame_width or lower input_size")
        if self.window < 1 or self.lstm_hidden < 1:
            raise ConfigError(f"tlcnn: window and lstm_hidden must be >= 1, got {window}, {lstm_hidden}")
        self.new_cnn(2)  # widths, fc, dropout and input_size are checked now, not mid-run
        self.expression = EXPRESSION_OPTIONS.build(self, expression)
        self.frame = FRAME_OPTIONS.build(self, frame)
        self.lstm = LSTM_OPTIONS.build(self, lstm)
        self.svm_params = C5_SVM_OPTIONS.build(self, svm).get_params()
        for stage in (self.expression, self.frame, self.lstm):
            self.config_for(stage)  # TrainConfig checks lr, batch, patience ... now

    # ------------------------------------------------------------------ parts
    @property
    def stages(self) -> tuple[str, ...]:
        return VARIANTS[self.variant]

    def config_for(self, stage: SGDStage) -> TrainConfig:
        """The stage's settings with the method's shared ones; ``class_balance`` (minority classes
        oversampled to the majority count every epoch; not in the paper, off by default) applies to
        stages 2 and 3, never to stage 1, whose 9 classes include one without images (shame)."""
        balance = self.class_balance and stage is not self.expression
        return stage.train_config(momentum=self.momentum, weight_decay=self.weight_decay, gamma=self.gamma,
                                  class_balance=balance)

    def new_cnn(self, num_classes: int) -> TLCNN:
        return TLCNN(num_classes, self.widths, self.fc, self.dropout, self.input_size, 3)

    def rect_params(self) -> dict[str, Any]:
        """The frame geometry every stage reads (face-step options from ``inputs``)."""
        return {**self.inputs, "height": self.frame_height, "width": self.frame_width, "colour": "rgb"}

    def clip_params(self) -> dict[str, Any]:
        return {**self.rect_params(), "length": self.tim_length, "interpolation": self.interpolation}

    def clips(self, table: pd.DataFrame, ctx: RunContext) -> torch.Tensor:
        """TIM clips of ``table`` as uint8 (N, T, 3, H, W) (``tim_clip_rect``, cached)."""
        return rect_clips(table, ctx, self.clip_params())

    def expression_images(self, table: pd.DataFrame, ctx: RunContext) -> torch.Tensor:
        """Stage-1 images of ``table`` as uint8 (N, 3, H, W) (``apex_rect``, cached)."""
        from ..inputs import load_inputs

        arr = load_inputs(table, "apex_rect", self.rect_params(), cache_dir=ctx.cache_dir, n_jobs=ctx.n_jobs,
                          progress=ctx.progress)
        return torch.from_numpy(np.ascontiguousarray(np.asarray(arr).transpose(0, 3, 1, 2)))

    def prepare_inputs(self, table: pd.DataFrame, ctx: RunContext) -> None:
        """Fill the inputs cache for ``table`` (the engine calls it before dispatching folds)."""
        self.clips(table, ctx)

    def _train(self, model: nn.Module, x: torch.Tensor, y: np.ndarray, cfg: TrainConfig, seeds: FoldSeeds, *,
               groups: np.ndarray | None, augment: RandomCrop, ctx: RunContext, what: str) -> None:
        """Train ``model`` (wrapped in :class:`FrameInput`) in place: one place every stage goes through."""
        train_model(FrameInput(model, self.input_size), x, torch.tensor(np.array(y), dtype=torch.long), cfg,
                    seeds, groups=groups if cfg.val_fraction > 0 else None, augment=augment, progress=ctx.progress,
                    desc=what, log=ctx.log)

    # ------------------------------------------------------------------ stage 1
    def _stage1_key(self, ctx: RunContext) -> dict[str, Any]:
        params = {"widths": self.widths, "fc": self.fc, "dropout": self.dropout, "input_size": self.input_size,
                  "geometry": self.rect_params(), "expression": vars(self.expression),
                  "expression_frames": self.expression_frames,
                  "momentum": self.momentum, "weight_decay": self.weight_decay, "gamma": self.gamma}  # not class_balance
        return stage_key(self, ctx, params=params)

    def expression_table(self, ctx: RunContext) -> pd.DataFrame:
        """Stage 1's images: the last ``expression_frames`` frames up to each auxiliary clip's peak
        (a still photo: itself), labelled with ``expression9``."""
        if not ctx.aux_tables:
            raise ConfigError(
                f"tlcnn variant {self.variant!r} pretrains on expression images: add data.aux (a manifest of "
                "KDEF/MMI/RaFD/TFEID photos, or ckplus: DIR), or use variant tlcnn_e / tlcnn_em")
        out, dropped = peak_frame_table(ctx.aux_tables, EXPRESSION9, self.expression_frames)
        if dropped:
            ctx.log.info("tlcnn expression pretraining leaves out %s", dict(sorted(dropped.items())))
        if out.empty:
            raise ConfigError(f"tlcnn: no auxiliary image is labelled with one of {EXPRESSION9.classes}")
        counts = Counter(out["label_name"])
        empty = [c for c in EXPRESSION9.classes if c not in counts]
        ctx.log.info("tlcnn expression pretraining on %d images: %s%s", len(out), dict(sorted(counts.items())),
                     f"; no image of {empty} (those outputs are kept, untrained)" if empty else "")
        return out

    def expression_stage(self, ctx: RunContext) -> dict[str, torch.Tensor]:
        """Stage 1's state dict (9-class frame CNN), built once per run and seed."""
        table = self.expression_table(ctx)
        ctx.check_disjoint(set(table["subject"]), what="TLCNN expression pretraining")

        def build() -> dict[str, torch.Tensor]:
            seeds = FoldSeeds.for_fold(ctx.seed, table["key"])
            with seeded_init(seeds.init):
                model = self.new_cnn(len(EXPRESSION9.classes))
            self._train(model, self.expression_images(table, ctx), table["label"].to_numpy(),
                        self.config_for(self.expression), seeds, groups=table["subject"].to_numpy(),
                        augment=RandomCrop(self.input_size), ctx=ctx, what="tlcnn stage 1: expression pretraining")
            return {k: v.detach().clone() for k, v in model.state_dict().items()}

        return ctx.once("tlcnn_expression", build, save_state, load_state, key=self._stage1_key(ctx))

    # ------------------------------------------------------------------ stage 2
    def _stage2_key(self, ctx: RunContext, train: pd.DataFrame) -> dict[str, Any]:
        upstream = key_digest(self._stage1_key(ctx)) if "expression" in self.stages else None
        return {"stage1": upstream, "frame": vars(self.frame), "clips": self.clip_params(),
                "shared": [self.momentum, self.weight_decay, self.gamma, self.class_balance, self.widths, self.fc,
                           self.dropout, self.input_size],
                "data": fold_data_key(train), "classes": list(ctx.classes)}

    def frame_stage(self, train: pd.DataFrame, clips: torch.Tensor, ctx: RunContext) -> dict[str, torch.Tensor]:
        """Stage 2's state dict for this fold: every TIM frame of the training clips, its clip's label."""
        def build() -> dict[str, torch.Tensor]:
            seeds = FoldSeeds.for_fold(ctx.seed, train["key"])
            with seeded_init(seeds.init):
                model = self.new_cnn(ctx.n_classes)
            if "expression" in self.stages:
                state = self.expression_stage(ctx)
                model.load_state_dict({k: v for k, v in state.items() if not k.startswith("fc.")}, strict=False)
                ctx.log.info("tlcnn stage 2 starts from the expression-pretrained CNN (FC8 new)")
            t = clips.shape[1]
            frames = clips.reshape(-1, *clips.shape[2:])
            self._train(model, frames, np.repeat(train["label"].to_numpy(), t), self.config_for(self.frame), seeds,
                        groups=np.repeat(train["subject"].to_numpy(), t), augment=RandomCrop(self.input_size),
                        ctx=ctx, what=f"tlcnn stage 2: frames {ctx.fold}".strip())
            return {k: v.detach().clone() for k, v in model.state_dict().items()}

        return ctx.once(f"tlcnn_frames-{ctx.fold or 'all'}", build, save_state, load_state,
                        key=self._stage2_key(ctx, train))

    # ------------------------------------------------------------------ stage 3 / SVM
    def new_lstm(self, num_classes: int) -> TLCNNLSTM:
        return TLCNNLSTM(self.new_cnn(num_classes), num_classes, self.lstm_hidden, self.window)

    def fit(self, train: pd.DataFrame, ctx: RunContext) -> "TLCNNMethod":
        """Run the variant's stages for this fold (stages 1 and 2 reused when already built)."""
        y = training_labels(train, ctx, type(self).__name__)
        clips = self.clips(train, ctx)
        if clips.shape[1] < self.window and "lstm" in self.stages:
            raise ConfigError(f"tlcnn: window {self.window} is longer than the clips ({clips.shape[1]} TIM frames); "
                              "lower window or raise tim_length")
        seeds = FoldSeeds.for_fold(ctx.seed, train["key"])
        cnn_state = self.frame_stage(train, clips, ctx) if "frames" in self.stages else None
        if "svm" in self.stages:
            cnn = self.new_cnn(ctx.n_classes)
            cnn.load_state_dict(cnn_state)
            self.cnn_ = cnn
            self.svm_ = FeatureSVM(**self.svm_params).fit(self.c5_features(clips), y)
            return self
        with seeded_init(seeds.init):
            model = self.new_lstm(ctx.n_classes)
        if cnn_state is not None:
            own = {k: v for k, v in cnn_state.items() if not k.startswith(("fc.", "fc7."))}
            model.cnn.load_state_dict(own, strict=False)
            ctx.log.info("tlcnn stage 3 starts from the stage-2 CNN (FC6 features into the LSTM)")
        if audit.active():  # leakage audit: the test fold scored every N epochs, stored apart
            audit.bind(lambda test: self._window_scorer(self.clips(test, ctx)))
        self._train(model, clips, y, self.config_for(self.lstm), seeds, groups=train["subject"].to_numpy(),
                    augment=RandomCrop(self.input_size, self.window), ctx=ctx,
                    what=f"tlcnn stage 3: cnn+lstm {ctx.fold}".strip())
        self.model_ = model
        return self

    def _window_scorer(self, clips: torch.Tensor) -> Callable[[nn.Module], np.ndarray]:
        return lambda model: window_average(model, clips, self.window)

    def c5_features(self, clips: torch.Tensor, batch_size: int = 64) -> np.ndarray:
        """C5 maps (after ReLU, before the last pooling) of every frame's centre crop, averaged over
        each clip's frames: (N, widths[4] * side * side) float64."""
        net, t = FrameInput(_C5(self.cnn_), self.input_size), clips.shape[1]
        step = max(1, batch_size // t)  # a few clips at a time: the maps of every frame at once would not fit
        out = [predict_logits(net, clips[i:i + step].reshape(-1, *clips.shape[2:]), batch_size)
               .reshape(len(clips[i:i + step]), t, -1).astype(np.float64).mean(1) for i in range(0, len(clips), step)]
        return np.concatenate(out)

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        """Class probabilities (n, n_classes): the SVM's, or stage 3's averaged over every window."""
        clips = self.clips(test, ctx)
        if hasattr(self, "svm_"):
            return self.svm_.predict_proba_full(self.c5_features(clips), ctx.n_classes)
        if not hasattr(self, "model_"):
            raise ModelError("predict_proba called before fit")
        return window_average(FrameInput(self.model_, self.input_size), clips, self.window)


class _C5(nn.Module):
    def __init__(self, cnn: TLCNN) -> None:
        super().__init__()
        self.cnn = cnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cnn.conv(x)


__all__ = ["FrameInput", "RandomCrop", "SGDStage", "TLCNNMethod", "VARIANTS", "centre_crop", "rect_clips",
           "window_average"]
