"""MTMNet's two training loops (paper 003): EIDNet pretraining (eq. 6) and MTMNet fine-tuning
(eq. 12), on the device and precision of :func:`microexpr.devices.current`.

Both train on *pairs*: an expression image and the neutral image of the same clip (the clip's
onset frame; a macro sequence's first frame). Images are uint8 tensors (n, C, S, S); the
encoder sees them standardised with ImageNet statistics (the encoder may start from ImageNet
weights), the decoder reconstructs them on the [0, 1] scale.

Decisions where the paper is silent (each a field of :class:`EIDConfig` / :class:`MTMConfig`,
so a config names it):

* Optimiser: Adam for every part (the paper gives learning rates only). EIDNet: ``lr`` (1e-4)
  for the encoder, both branches, D_e and D_s; ``decoder_lr`` (1e-5) for the decoder. MTMNet:
  ``lr`` (1e-5) for the MicroNet's encoder, expression branch and D_e, and for the
  discriminator D. The identity branch, D_s and the decoder take no part in eq. 12 and are
  not updated.
* Identity adversary: gradient reversal (:func:`~microexpr.training.mtm_losses.reverse_gradient`),
  one backward pass per batch.
* Triplets (one per anchor, drawn anew every epoch from the fold's seed): the positive is a
  macro image of the anchor's class drawn uniformly, the negative a micro training image of
  another class drawn uniformly. An anchor whose class has no macro image (a class the macro
  corpus lacks) takes part in L_cls only; the run log counts such anchors.
* The discriminator D is stepped first on every batch (L_D, both embeddings detached), then
  the MicroNet on L_MTM with D fixed (L_adv reaches the encoder only).
* The frozen MacroNet stays in evaluation mode (its BatchNorm statistics are not updated) and
  its parameters never receive a gradient: bit-identical before and after (tested).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..devices import current as current_compute
from ..errors import ConfigError
from ..models.layers import ImageNetStandardise
from ..models.mtmnet import EIDNet, EmbeddingDiscriminator
from .history import record as record_history
from .loop import TrainHistory
from .mtm_losses import (EIDWeights, MTMWeights, adversarial_loss, discriminator_loss, identity_similarity_loss,
                         lir_loss, reconstruction_loss, reverse_gradient, triplet_loss)
from .sampling import balanced_indices, no_single_batches, shuffled_indices
from .seeding import FoldSeeds


@dataclass
class PairSet:
    """Expression images with the neutral image of their clip.

    ``expression`` (n, C, S, S) uint8; ``neutral`` (m, C, S, S) uint8, one per clip; ``clip`` (n,)
    the clip of each expression image, which is also the row of its neutral image in ``neutral``
    (a clip's images are predicted together); ``labels`` (n,) class indices; ``subjects`` (n,)
    subject indices 0..n_subjects-1 (D_s's targets).
    """

    expression: torch.Tensor
    neutral: torch.Tensor
    clip: torch.Tensor
    labels: torch.Tensor
    subjects: torch.Tensor
    n_subjects: int = 1

    def __post_init__(self) -> None:
        n = len(self.expression)
        if not (len(self.clip) == len(self.labels) == len(self.subjects) == n) or n == 0:
            raise ConfigError(f"pair set: {n} expression images but {len(self.clip)} clip indices, "
                              f"{len(self.labels)} labels, {len(self.subjects)} subjects; need the same non-zero number")


@dataclass(frozen=True)
class EIDConfig:
    """EIDNet pretraining (eq. 6): epochs and batch not given in the paper (config)."""

    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-4
    decoder_lr: float = 1e-5
    weights: EIDWeights = field(default_factory=EIDWeights)
    class_balance: bool = False


@dataclass(frozen=True)
class MTMConfig:
    """MTMNet fine-tuning (eq. 12): 20 epochs and lr 1e-5 as the paper; batch and margin are ours."""

    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-5
    margin: float = 1.0
    weights: MTMWeights = field(default_factory=MTMWeights)
    class_balance: bool = False

    @property
    def needs_macro(self) -> bool:
        w = self.weights
        return bool(w.triplet or w.adversarial or w.lir)


class _Epoch:
    """Per-epoch sums of named loss terms, weighted by batch size."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.n = 0
        self.correct = 0

    def add(self, n: int, **terms: torch.Tensor | float) -> None:
        self.n += n
        for k, v in terms.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v) * n

    def means(self) -> dict[str, float]:
        return {k: v / max(self.n, 1) for k, v in self.sums.items()}


def _record(desc: str, epochs: list[dict[str, float]], acc: list[float],
            log: logging.Logger | None) -> dict[str, list[float]]:
    """One history per loss term (``<desc> [L_rec]`` ...) and the total with the expression accuracy;
    the last epoch's terms in the log."""
    if log is not None and epochs:
        log.info("%s: %d epochs, final %s", desc, len(epochs), ", ".join(f"{k} {v:.4f}" for k, v in epochs[-1].items()))
    terms = {k: [e[k] for e in epochs] for k in epochs[0]} if epochs else {}
    for name, values in terms.items():
        hist = TrainHistory(train_loss=list(values), kept_epoch=len(values) - 1,
                            train_acc=list(acc) if name == "total" else [])
        record_history(desc if name == "total" else f"{desc} [{name}]", hist)
    return terms


def _sampler(class_balance: bool, batch_size: int):  # noqa: ANN202
    return no_single_batches(balanced_indices if class_balance else shuffled_indices, batch_size)


def _step(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler: object | None) -> None:
    opt.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        opt.step()
    else:
        scaler.scale(loss).backward()  # type: ignore[attr-defined]
        scaler.step(opt)  # type: ignore[attr-defined]
        scaler.update()  # type: ignore[attr-defined]


def train_eidnet(net: EIDNet, data: PairSet, cfg: EIDConfig, seeds: FoldSeeds, *, desc: str, progress: bool = False,
                 log: logging.Logger | None = None) -> dict[str, list[float]]:
    """Train ``net`` in place with L_EID = L_c + w_rec L_rec + w_sim L_sim + w_s L_s (eq. 6; the
    identity adversary through gradient reversal); returns each term's per-epoch mean (``total``,
    ``L_c``, and ``L_rec`` / ``L_sim`` / ``L_s`` for the terms switched on). A term with weight 0
    is not computed (with all three off this is plain classification pretraining)."""
    w = cfg.weights
    compute = current_compute()
    device = compute.device
    std = ImageNetStandardise(net.in_chans).to(device)
    net.to(device)
    decoder = [*net.decoder_input.parameters(), *net.decoder.parameters()]
    dec_ids = {id(p) for p in decoder}
    rest = [p for p in net.parameters() if id(p) not in dec_ids]
    opt = torch.optim.Adam([{"params": rest, "lr": cfg.lr}, {"params": decoder, "lr": cfg.decoder_lr}])
    scaler = compute.grad_scaler()
    sampler = _sampler(cfg.class_balance, cfg.batch_size)
    g_data = seeds.generator("data")
    needs_neutral = bool(w.reconstruction or w.similarity)
    epochs, acc = [], []
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seeds.dropout)
            for _ in tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False):
                net.train()
                ep = _Epoch()
                order = sampler(data.labels, g_data)
                for start in range(0, len(order), cfg.batch_size):
                    b = order[start:start + cfg.batch_size]
                    x = data.expression[b].to(device).float()
                    y, s = data.labels[b].to(device), data.subjects[b].to(device)
                    with compute.autocast():
                        f_e, f_s = net(std(x))
                        logits = net.classifier(f_e)
                        l_c = F.cross_entropy(logits, y)
                        terms: dict[str, torch.Tensor] = {"L_c": l_c}
                        total = w.classification * l_c
                        if needs_neutral:
                            xn = data.neutral[data.clip[b]].to(device).float()
                            _, f_sn = net(std(xn))
                            if w.reconstruction:
                                terms["L_rec"] = reconstruction_loss(x / 255.0, net.reconstruct(f_e, f_sn).float())
                                total = total + w.reconstruction * terms["L_rec"]
                            if w.similarity:
                                terms["L_sim"] = identity_similarity_loss(f_s, f_sn)
                                total = total + w.similarity * terms["L_sim"]
                        if w.identity_adversary:
                            terms["L_s"] = F.cross_entropy(net.identity_classifier(reverse_gradient(f_e)), s)
                            total = total + w.identity_adversary * terms["L_s"]
                    _step(total, opt, scaler)
                    ep.add(len(b), total=total.detach(), **{k: v.detach() for k, v in terms.items()})
                    ep.correct += int((logits.detach().argmax(1) == y).sum())
                epochs.append(ep.means())
                acc.append(ep.correct / max(ep.n, 1))
    finally:
        net.to("cpu")
    return _record(desc, epochs, acc, log)


def freeze(net: nn.Module) -> nn.Module:
    """``net`` in evaluation mode with no parameter requiring a gradient (the MacroNet in MTMNet)."""
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def train_mtmnet(micro: EIDNet, macro: EIDNet | None, disc: EmbeddingDiscriminator | None, micro_data: PairSet,
                 macro_data: PairSet | None, cfg: MTMConfig, seeds: FoldSeeds, *, desc: str, progress: bool = False,
                 log: logging.Logger | None = None) -> dict[str, list[float]]:
    """Fine-tune ``micro`` in place with L_MTM = L_cls + w_tri L_tri + w_adv L_adv + w_LIR L_LIR
    (eq. 12); ``macro`` stays frozen (needed, with ``macro_data``, when a transfer term is on;
    ``disc`` when L_adv is). Returns each term's per-epoch mean."""
    w = cfg.weights
    if cfg.needs_macro and (macro is None or macro_data is None):
        raise ConfigError(f"{desc}: triplet, adversarial and LIR terms need the MacroNet and macro images")
    if w.adversarial and disc is None:
        raise ConfigError(f"{desc}: the adversarial term needs a discriminator")
    compute = current_compute()
    device = compute.device
    std = ImageNetStandardise(micro.in_chans).to(device)
    micro.to(device)
    trained = [*micro.encoder.parameters(), *micro.expression.parameters(), *micro.classifier.parameters()]
    opt = torch.optim.Adam(trained, lr=cfg.lr)
    scaler, d_scaler = compute.grad_scaler(), compute.grad_scaler()
    opt_d = None
    if w.adversarial:
        disc.to(device)  # type: ignore[union-attr]
        opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr)  # type: ignore[union-attr]
    by_class_macro: dict[int, torch.Tensor] = {}
    if cfg.needs_macro:
        freeze(macro).to(device)  # type: ignore[union-attr]
        by_class_macro = {int(c): torch.nonzero(macro_data.labels == c).flatten()  # type: ignore[union-attr]
                          for c in torch.unique(macro_data.labels)}  # type: ignore[union-attr]
        missing = sorted({int(c) for c in micro_data.labels.tolist()} - set(by_class_macro))
        if missing and log is not None:
            n = int(sum((micro_data.labels == c).sum() for c in missing))
            log.info("%s: no macro image of class(es) %s: their %d micro images take part in L_cls only", desc, missing, n)
    labels = micro_data.labels
    sampler = _sampler(cfg.class_balance, cfg.batch_size)
    g_data, g_triplet = seeds.generator("data"), seeds.generator("augment")
    epochs, acc = [], []
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seeds.dropout)
            for _ in tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False):
                micro.train()
                ep = _Epoch()
                order = sampler(labels, g_data)
                for start in range(0, len(order), cfg.batch_size):
                    b = order[start:start + cfg.batch_size]
                    y = labels[b]
                    x = micro_data.expression[b].to(device).float()
                    with compute.autocast():
                        f_a, _ = micro(std(x))
                        logits = micro.classifier(f_a)
                        l_cls = F.cross_entropy(logits, y.to(device))
                    total = w.classification * l_cls
                    terms: dict[str, torch.Tensor] = {"L_cls": l_cls}
                    if cfg.needs_macro:
                        pos, neg, has = triplets(y, labels, by_class_macro, g_triplet)
                        if has.any():
                            m = has.to(device)
                            with torch.no_grad(), compute.autocast():
                                f_p, _ = macro(std(macro_data.expression[pos].to(device).float()))  # type: ignore[misc]
                                macro_logits = macro.classifier(f_p)  # type: ignore[union-attr]
                            f_p = f_p.float()
                            if w.adversarial:
                                for p in disc.parameters():  # type: ignore[union-attr]
                                    p.requires_grad_(True)
                                with compute.autocast():
                                    l_d = discriminator_loss(disc(f_p), disc(f_a[m].detach()))  # type: ignore[misc]
                                _step(l_d, opt_d, d_scaler)  # type: ignore[arg-type]
                                for p in disc.parameters():  # type: ignore[union-attr]
                                    p.requires_grad_(False)
                                with compute.autocast():
                                    terms["L_adv"] = adversarial_loss(disc(f_a[m]))  # type: ignore[misc]
                                terms["L_D"] = l_d.detach()
                                total = total + w.adversarial * terms["L_adv"]
                            if w.triplet:
                                with compute.autocast():
                                    f_n, _ = micro(std(micro_data.expression[neg[has]].to(device).float()))
                                terms["L_tri"] = triplet_loss(f_a[m].float(), f_p, f_n.float(), cfg.margin)
                                total = total + w.triplet * terms["L_tri"]
                            if w.lir:
                                terms["L_LIR"] = lir_loss(logits[m].float(), y[has].to(device), macro_logits.float())
                                total = total + w.lir * terms["L_LIR"]
                    _step(total, opt, scaler)
                    ep.add(len(b), total=total.detach(), **{k: v.detach() for k, v in terms.items()})
                    ep.correct += int((logits.detach().argmax(1).cpu() == y).sum())
                epochs.append(ep.means())
                acc.append(ep.correct / max(ep.n, 1))
    finally:
        micro.to("cpu")
        if macro is not None:
            macro.to("cpu")
        if disc is not None:
            disc.to("cpu")
            for p in disc.parameters():
                p.requires_grad_(True)
    return _record(desc, epochs, acc, log)


def triplets(anchor_labels: torch.Tensor, micro_labels: torch.Tensor, macro_by_class: dict[int, torch.Tensor],
             generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each anchor label: a macro positive of the same class (row of the macro set), a micro
    negative of another class (row of the micro set), and whether the anchor has a positive.

    Drawn uniformly with ``generator``; anchors without a positive (class absent from the macro
    set) or without a negative (no micro image of another class) get ``has`` False and index 0."""
    n = len(anchor_labels)
    pos = torch.zeros(n, dtype=torch.long)
    neg = torch.zeros(n, dtype=torch.long)
    has = torch.zeros(n, dtype=torch.bool)
    for i, c in enumerate(anchor_labels.tolist()):
        candidates = macro_by_class.get(int(c))
        others = torch.nonzero(micro_labels != c).flatten()
        if candidates is None or not len(candidates) or not len(others):
            continue
        pos[i] = candidates[int(torch.randint(len(candidates), (1,), generator=generator))]
        neg[i] = others[int(torch.randint(len(others), (1,), generator=generator))]
        has[i] = True
    return pos, neg, has


@torch.no_grad()
def clip_proba(net: EIDNet, expression: torch.Tensor, clip: torch.Tensor, n_clips: int, batch_size: int = 64) -> np.ndarray:
    """Class probabilities per clip (n_clips, n_classes): the softmax of D_e on each of a clip's
    expression images, averaged (decision: the paper does not say how a clip's five frames are
    combined at test time)."""
    compute = current_compute()
    std = ImageNetStandardise(net.in_chans).to(compute.device)
    net.eval()
    net.to(compute.device)
    try:
        probs = []
        for s in range(0, len(expression), batch_size):
            with compute.autocast():
                f_e, _ = net(std(expression[s:s + batch_size].to(compute.device).float()))
                probs.append(torch.softmax(net.classifier(f_e).double(), 1).cpu())
    finally:
        net.to("cpu")
    p = torch.cat(probs)
    out = torch.zeros(n_clips, p.shape[1], dtype=torch.float64).index_add_(0, clip, p)
    counts = torch.bincount(clip, minlength=n_clips).clamp(min=1).double()
    return (out / counts[:, None]).numpy()


@torch.no_grad()
def reconstructions(net: EIDNet, data: PairSet, rows: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(expression, reconstruction, neutral) uint8 (k, S, S[, C]) for ``rows`` of ``data``: the paper's
    Fig. 3 (the decoder fed the expression embedding of the expression image and the identity
    embedding of the neutral image, eq. 2)."""
    std = ImageNetStandardise(net.in_chans)
    net.eval()
    idx = torch.as_tensor(rows, dtype=torch.long)
    x = data.expression[idx].float()
    xn = data.neutral[data.clip[idx]].float()
    f_e, _ = net(std(x))
    _, f_sn = net(std(xn))
    rec = (net.reconstruct(f_e, f_sn) * 255.0).round().clamp(0, 255).to(torch.uint8)

    def hwc(t: torch.Tensor) -> np.ndarray:
        a = t.to(torch.uint8).permute(0, 2, 3, 1).numpy()
        return a[..., 0] if a.shape[-1] == 1 else a

    return hwc(x), hwc(rec), hwc(xn)
