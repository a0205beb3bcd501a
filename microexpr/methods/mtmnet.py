"""MTMNet: learning micro-expressions from macro-expressions (Xia & Wang, paper 003; METHODS.md
"MTMNet"). Networks: :mod:`microexpr.models.mtmnet`; losses: :mod:`microexpr.training.mtm_losses`;
training loops and every unstated choice: :mod:`microexpr.training.mtm_train`.

Stages, each a keyed stage of the run (``RunContext.once``: built once, reused by every fold
and a resumed run, rebuilt when anything it depends on changes):

1. **MacroNet** (``mtmnet_macronet``, once per run and seed): an EIDNet trained with L_EID
   (eq. 6) on the run's macro corpora (``data.aux``: CK+, or MMI / Oulu-CASIA through a
   manifest with a ``neutral_path`` column). Neutral image = the sequence's first frame (a
   manifest still: its ``neutral_path``); expression image = its peak frame (``macro_frames``
   > 1: also the frames just before it). Macro emotions are mapped onto the run's classes
   by the ``macro_scheme`` label scheme (data, :mod:`microexpr.labels`; ``macro3`` for the
   composite classes); clips the scheme excludes, and clips with no neutral frame of their
   own (a still without ``neutral_path``), are left out and counted in the run log. No macro
   subject may be a test subject of the fold (checked).
2. **MicroNet** (``mtmnet_micronet-<fold>``, per fold): an EIDNet trained with L_EID on the
   fold's training clips: neutral = onset frame, expression images = the ``expression_frames``
   (5) frames centred on the apex, each labelled with its clip's class; D_s over the fold's
   training subjects.
3. **MTMNet fine-tuning** (per fold): the MicroNet with L_MTM (eq. 12) against the frozen
   MacroNet (triplets, discriminator, LIR), 20 epochs, lr 1e-5.

A test clip's class probabilities are the MicroNet's softmax averaged over its expression frames.

Ablations (Tables 2 and 3) are two settings: ``losses`` (the MTMNet terms: ``cls`` always, any of
``tri``, ``adv``, ``lir``) and ``eid_pretraining``. Without EIDNet pretraining (the rows marked
"-") both EIDNets are still pretrained, on L_c alone (L_rec, L_sim and L_s switched off), for
the same epochs: the rows then differ only in the EIDNet terms (decision: the paper does not say
what the encoder starts from in those rows). With ``losses: [cls]`` the MacroNet is not needed
and not built.

Fig. 3: each EIDNet trained with L_rec writes ``RUN_DIR/reconstructions/<network>-seed<S>.png``
(expression image, reconstruction, neutral image; :mod:`microexpr.report.reconstructions`), shown
by the HTML report. Without L_rec the decoder is untrained and no figure is written.

Eq. 2 feeds the decoder [f^e of the expression image, f^s of the neutral image]; the prose
says the opposite pairing. The equation is followed.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..errors import ConfigError, ModelError
from ..inputs.apex_transform import check_colour
from ..io_utils import file_slug
from ..labels import apply_scheme, get_scheme
from ..models.mtmnet import EIDNet, EmbeddingDiscriminator, load_resnet18_checkpoint
from ..training.checkpoints import load_state, save_state
from ..training.mtm_losses import EIDWeights, MTMWeights
from ..training.mtm_train import (EIDConfig, MTMConfig, PairSet, clip_proba, reconstructions, train_eidnet,
                                  train_mtmnet)
from ..training.seeding import FoldSeeds, derive_seed, seeded_init
from .base import RunContext, fold_data_key, stage_key, training_labels
from .registry import register_method

LOSS_TERMS: tuple[str, ...] = ("cls", "tri", "adv", "lir")
"""The MTMNet loss terms a config may switch (``cls`` is always on)."""


def window_tensor(arr: np.ndarray) -> torch.Tensor:
    """``apex_window`` arrays (n, k+1, S, S[, 3]) uint8 as a uint8 tensor (n, k+1, C, S, S)."""
    a = np.asarray(arr)
    a = a[:, :, None] if a.ndim == 4 else a.transpose(0, 1, 4, 2, 3)
    return torch.from_numpy(np.ascontiguousarray(a))


def pair_set(windows: torch.Tensor, labels: np.ndarray, subjects: np.ndarray) -> PairSet:
    """A :class:`PairSet` from ``apex_window`` tensors: frame 0 of each clip is its neutral image,
    frames 1.. its expression images, each with its clip's label and subject index."""
    n, k1 = windows.shape[:2]
    if k1 < 2:
        raise ModelError("apex_window arrays need the onset frame and at least one expression frame")
    k = k1 - 1
    clip = torch.arange(n).repeat_interleave(k)
    codes, idx = np.unique(np.array(subjects), return_inverse=True)
    return PairSet(expression=windows[:, 1:].reshape(n * k, *windows.shape[2:]), neutral=windows[:, 0], clip=clip,
                   labels=torch.tensor(np.array(labels), dtype=torch.long).repeat_interleave(k),
                   subjects=torch.as_tensor(idx, dtype=torch.long).repeat_interleave(k), n_subjects=len(codes))


@register_method("mtmnet")
class MTMNetMethod:
    """MTMNet and its ablations (module doc); every width and setting is a keyword."""

    def __init__(
        self,
        *,
        losses: list[str] = LOSS_TERMS,  # type: ignore[assignment]  (a tuple: immutable default)
        eid_pretraining: bool = True,
        colour: str = "rgb",
        image_size: int = 224,
        widths: list[int] = (64, 128, 256, 512),  # type: ignore[assignment]
        embedding: int = 256,
        decoder_widths: list[int] = (256, 128, 64, 32, 16),  # type: ignore[assignment]
        expression_frames: int = 5,
        macro_frames: int = 1,
        macro_scheme: str = "macro3",
        imagenet_checkpoint: str | None = None,
        eid_epochs: int = 20,
        eid_batch_size: int = 32,
        eid_lr: float = 1e-4,
        eid_decoder_lr: float = 1e-5,
        lambda_rec: float = 0.1,
        lambda_sim: float = 0.1,
        lambda_id: float = 0.1,
        mtm_epochs: int = 20,
        mtm_batch_size: int = 32,
        mtm_lr: float = 1e-5,
        margin: float = 1.0,
        lambda_tri: float = 1e-3,
        lambda_adv: float = 1e-3,
        lambda_lir: float = 1e-3,
        disc_channels: int = 16,
        disc_layers: int = 3,
        class_balance: bool = False,
        reconstructions: int = 6,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        self.losses = [str(t) for t in losses]
        unknown = [t for t in self.losses if t not in LOSS_TERMS]
        if unknown or "cls" not in self.losses:
            raise ConfigError(f"mtmnet: losses must include 'cls' and be drawn from {list(LOSS_TERMS)}, got {losses}")
        self.eid_pretraining = bool(eid_pretraining)
        self.colour = str(colour)
        check_colour(self.colour)
        self.image_size, self.embedding = int(image_size), int(embedding)
        self.widths, self.decoder_widths = [int(w) for w in widths], [int(w) for w in decoder_widths]
        self.expression_frames, self.macro_frames = int(expression_frames), int(macro_frames)
        if self.expression_frames < 1 or self.macro_frames < 1:
            raise ConfigError(f"mtmnet: expression_frames and macro_frames must be >= 1, got {expression_frames}, "
                              f"{macro_frames}")
        self.macro_scheme = str(macro_scheme)
        get_scheme(self.macro_scheme)  # an unknown scheme is an error now, not mid-run
        self.imagenet_checkpoint = imagenet_checkpoint
        self.eid_epochs, self.eid_batch_size = int(eid_epochs), int(eid_batch_size)
        self.eid_lr, self.eid_decoder_lr = float(eid_lr), float(eid_decoder_lr)
        self.lambda_rec, self.lambda_sim, self.lambda_id = float(lambda_rec), float(lambda_sim), float(lambda_id)
        self.mtm_epochs, self.mtm_batch_size, self.mtm_lr = int(mtm_epochs), int(mtm_batch_size), float(mtm_lr)
        self.margin = float(margin)
        self.lambda_tri, self.lambda_adv, self.lambda_lir = float(lambda_tri), float(lambda_adv), float(lambda_lir)
        self.disc_channels, self.disc_layers = int(disc_channels), int(disc_layers)
        self.class_balance = bool(class_balance)
        self.reconstructions = int(reconstructions)
        self.inputs = dict(inputs or {})
        for name in ("eid_epochs", "eid_batch_size", "mtm_epochs", "mtm_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"mtmnet: {name} must be >= 1, got {getattr(self, name)}")
        for name in ("eid_lr", "eid_decoder_lr", "mtm_lr"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"mtmnet: {name} must be positive, got {getattr(self, name)}")
        if min(self.lambda_rec, self.lambda_sim, self.lambda_id, self.lambda_tri, self.lambda_adv, self.lambda_lir,
               self.margin) < 0:
            raise ConfigError("mtmnet: loss weights and the triplet margin must be >= 0")
        self.new_eidnet(2, 2)  # widths, embedding and decoder geometry are checked now, not mid-run
        EmbeddingDiscriminator(self.embedding, self.disc_channels, self.disc_layers)

    # ------------------------------------------------------------------ settings
    def eid_config(self) -> EIDConfig:
        """Eq. 6's settings; without EIDNet pretraining the three EIDNet terms are off."""
        on = self.eid_pretraining
        weights = EIDWeights(1.0, self.lambda_rec if on else 0.0, self.lambda_sim if on else 0.0,
                             self.lambda_id if on else 0.0)
        return EIDConfig(self.eid_epochs, self.eid_batch_size, self.eid_lr, self.eid_decoder_lr, weights,
                         self.class_balance)

    def mtm_config(self) -> MTMConfig:
        """Eq. 12's settings; a term not in ``losses`` has weight 0."""
        weights = MTMWeights(1.0, self.lambda_tri if "tri" in self.losses else 0.0,
                             self.lambda_adv if "adv" in self.losses else 0.0,
                             self.lambda_lir if "lir" in self.losses else 0.0)
        return MTMConfig(self.mtm_epochs, self.mtm_batch_size, self.mtm_lr, self.margin, weights, self.class_balance)

    def new_eidnet(self, num_classes: int, num_subjects: int) -> EIDNet:
        return EIDNet(num_classes, num_subjects, in_chans=check_colour(self.colour), image_size=self.image_size,
                      widths=self.widths, embedding=self.embedding, decoder_widths=self.decoder_widths)

    def _net_key(self) -> dict[str, Any]:
        """What shapes both EIDNets and their pretraining."""
        return {"colour": self.colour, "image_size": self.image_size, "widths": self.widths,
                "embedding": self.embedding, "decoder_widths": self.decoder_widths, "inputs": self.inputs,
                "eid": dataclasses.asdict(self.eid_config()),
                "imagenet_checkpoint": self.imagenet_checkpoint}

    # ------------------------------------------------------------------ inputs
    def window_params(self, frames: int, window: str) -> dict[str, Any]:
        return {**self.inputs, "size": self.image_size, "colour": self.colour, "frames": frames, "window": window}

    def windows(self, table: pd.DataFrame, ctx: RunContext, *, macro: bool = False) -> torch.Tensor:
        """Neutral + expression crops of ``table`` (``apex_window``, cached) as uint8 (n, k+1, C, S, S):
        micro clips the frames centred on the apex, macro sequences the frames ending at the peak."""
        from ..inputs import load_inputs

        params = (self.window_params(self.macro_frames, "ending") if macro
                  else self.window_params(self.expression_frames, "centred"))
        arr = load_inputs(table, "apex_window", params, cache_dir=ctx.cache_dir, n_jobs=ctx.n_jobs,
                          progress=ctx.progress)
        return window_tensor(arr)

    def prepare_inputs(self, table: pd.DataFrame, ctx: RunContext) -> None:
        """Fill the inputs cache for ``table`` (the engine calls it before dispatching folds)."""
        self.windows(table, ctx)

    # ------------------------------------------------------------------ stage 1: MacroNet
    def macro_table(self, ctx: RunContext) -> pd.DataFrame:
        """The macro clips, labelled with the run's class indices through ``macro_scheme``."""
        if not ctx.aux_tables:
            raise ConfigError("mtmnet: the triplet, adversarial and LIR terms need a macro-expression corpus: add "
                              "data.aux (e.g. ckplus: DIR, or a manifest of MMI / Oulu-CASIA with neutral_path), or "
                              "set losses: [cls]")
        scheme = get_scheme(self.macro_scheme)
        foreign = [c for c in scheme.classes if c not in ctx.classes]
        if foreign:
            raise ConfigError(f"mtmnet: macro_scheme {scheme.name!r} has classes {foreign} that the run's classes "
                              f"{list(ctx.classes)} lack; choose a macro scheme on the run's classes")
        parts, dropped, still = [], Counter(), 0
        for name, table in sorted(ctx.aux_tables.items()):
            labelled, _, report = apply_scheme(table, scheme)
            dropped.update({f"{name}:{native}": n for (_, native), n in report.excluded.items()})
            labelled = labelled.copy()
            labelled["label"] = [ctx.classes.index(scheme.classes[int(v)]) for v in labelled["label"]]
            labelled["label_name"] = [ctx.classes[int(v)] for v in labelled["label"]]
            no_neutral = labelled["onset"].astype(int) >= labelled["apex"].astype(int)
            still += int(no_neutral.sum())
            parts.append(labelled[~no_neutral])
        if dropped:
            ctx.log.info("mtmnet macro corpora: clips the %s scheme leaves out: %s", scheme.name,
                         dict(sorted(dropped.items())))
        if still:
            ctx.log.info("mtmnet macro corpora: %d clip(s) have no neutral frame before their peak (a still without "
                         "neutral_path) and are left out", still)
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if out.empty:
            raise ConfigError(f"mtmnet: no macro clip with a neutral frame is labelled with one of {scheme.classes} in "
                              f"{sorted(ctx.aux_tables)}")
        return out

    def macro_stage(self, ctx: RunContext, table: pd.DataFrame) -> dict[str, torch.Tensor]:
        """The MacroNet's state dict (once per run and seed), trained on ``table`` (:meth:`macro_table`)."""
        ctx.check_disjoint(set(table["subject"]), what="MTMNet MacroNet pretraining")
        key = stage_key(self, ctx, params={**self._net_key(), "macro_frames": self.macro_frames,
                                           "macro_scheme": self.macro_scheme, "reconstructions": self.reconstructions})

        def build() -> dict[str, torch.Tensor]:
            data = self.macro_pairs(table, ctx)
            ctx.log.info("mtmnet MacroNet (once per run) on %d images of %d clips from %s: %s", len(data.labels),
                         len(table), sorted(ctx.aux_tables), dict(sorted(Counter(table["label_name"]).items())))
            return self._pretrain(data, FoldSeeds.for_fold(ctx.seed, table["key"]), ctx, "macronet",
                                  "mtmnet MacroNet EIDNet pretraining")

        return ctx.once("mtmnet_macronet", build, save_state, load_state, key=key)

    def macro_pairs(self, table: pd.DataFrame, ctx: RunContext) -> PairSet:
        return pair_set(self.windows(table, ctx, macro=True), table["label"].to_numpy(), table["subject"].to_numpy())

    # ------------------------------------------------------------------ stage 2: MicroNet
    def micro_stage(self, train: pd.DataFrame, data: PairSet, ctx: RunContext) -> dict[str, torch.Tensor]:
        """The fold's MicroNet state dict (EIDNet pretraining on the training clips)."""
        from ..inputs.clip import file_stat, table_fingerprint

        checkpoint = self.imagenet_checkpoint
        key = {**self._net_key(), "expression_frames": self.expression_frames, "data": fold_data_key(train),
               "clips": table_fingerprint(train),  # annotations and frame files: a replaced frame rebuilds
               "checkpoint_file": file_stat(checkpoint) if checkpoint else None,
               "classes": list(ctx.classes), "reconstructions": self.reconstructions}
        fold = file_slug(ctx.fold or "all")  # a file name: casme2/sub01 -> casme2__sub01

        def build() -> dict[str, torch.Tensor]:
            return self._pretrain(data, FoldSeeds.for_fold(ctx.seed, train["key"]), ctx, f"micronet-{fold}",
                                  f"mtmnet MicroNet EIDNet pretraining {ctx.fold}".strip())

        return ctx.once(f"mtmnet_micronet-{fold}", build, save_state, load_state, key=key)

    def _pretrain(self, data: PairSet, seeds: FoldSeeds, ctx: RunContext, name: str, desc: str) -> dict[str, torch.Tensor]:
        with seeded_init(seeds.init):
            net = self.new_eidnet(ctx.n_classes, data.n_subjects)
        if self.imagenet_checkpoint is not None:
            unused = load_resnet18_checkpoint(net.encoder, self.imagenet_checkpoint)
            ctx.log.info("%s: encoder from %s (unused: %s)", desc, self.imagenet_checkpoint, unused)
        else:
            ctx.log.info("%s: no imagenet_checkpoint given: the encoder starts from random weights", desc)
        train_eidnet(net, data, self.eid_config(), seeds, desc=desc, progress=ctx.progress, log=ctx.log)
        if self.reconstructions > 0 and self.eid_config().weights.reconstruction > 0:  # else the decoder is untrained
            self.save_reconstructions(net, data, ctx.run_dir / "reconstructions" / f"{name}-seed{ctx.seed}.png")
        return {k: v.detach().clone() for k, v in net.state_dict().items()}

    def save_reconstructions(self, net: EIDNet, data: PairSet, path: Path) -> Path:
        """The paper's Fig. 3 for up to ``reconstructions`` clips (one expression image each, the
        one nearest the apex): a PNG of rows (expression, reconstruction, neutral)."""
        from ..report.reconstructions import write_reconstruction_grid

        clips = torch.unique(data.clip)[: self.reconstructions].tolist()
        k = int((data.clip == data.clip[0]).sum())
        rows = [int(torch.nonzero(data.clip == c).flatten()[k // 2]) for c in clips]
        return write_reconstruction_grid(path, *reconstructions(net, data, rows))

    # ------------------------------------------------------------------ fit / predict
    def fit(self, train: pd.DataFrame, ctx: RunContext) -> "MTMNetMethod":
        """Stages 1-3 for this fold (stage 1 built once per run, stage 2 once per fold)."""
        y = training_labels(train, ctx, type(self).__name__)
        cfg = self.mtm_config()
        macro_table = self.macro_table(ctx) if cfg.needs_macro else None
        macro_state = None if macro_table is None else self.macro_stage(ctx, macro_table)  # first: a leak stops here
        data = pair_set(self.windows(train, ctx), y, train["subject"].to_numpy())
        state = self.micro_stage(train, data, ctx)
        net = self.new_eidnet(ctx.n_classes, data.n_subjects)
        net.load_state_dict(state)
        seeds = FoldSeeds.for_fold(derive_seed(ctx.seed, "mtmnet fine-tuning"), train["key"])
        macro = disc = macro_data = None
        if macro_state is not None:
            macro = self.new_eidnet(ctx.n_classes, int(macro_state["identity_classifier.weight"].shape[0]))
            macro.load_state_dict(macro_state)
            macro_data = self.macro_pairs(macro_table, ctx)
            if cfg.weights.adversarial:
                with seeded_init(seeds.init):
                    disc = EmbeddingDiscriminator(self.embedding, self.disc_channels, self.disc_layers)
        train_mtmnet(net, macro, disc, data, macro_data, cfg, seeds, desc=f"mtmnet MTMNet {ctx.fold}".strip(),
                     progress=ctx.progress, log=ctx.log)
        self.model_, self.macronet_ = net, macro
        return self

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        """Class probabilities (n, n_classes): softmax averaged over each clip's expression frames."""
        if not hasattr(self, "model_"):
            raise ModelError("predict_proba called before fit")
        windows = self.windows(test, ctx)
        k = windows.shape[1] - 1
        expression = windows[:, 1:].reshape(len(windows) * k, *windows.shape[2:])
        return clip_proba(self.model_, expression, torch.arange(len(windows)).repeat_interleave(k), len(windows))


__all__ = ["LOSS_TERMS", "MTMNetMethod", "pair_set", "window_tensor"]
