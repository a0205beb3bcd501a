"""The generic training loop (one model, one fold) and its configuration.

Decisions, where the papers are silent:
- The model kept is the one after the last epoch (``val_fraction=0``, the default). With
  ``val_fraction > 0`` whole training subjects are held out and the epoch with the
  lowest validation cross-entropy is kept (ties: the earlier epoch), or the highest
  validation accuracy with ``val_metric: accuracy`` (ties: the earlier epoch);
  ``patience`` > 0 also stops training once that many epochs have not improved it
  (TLCNN §4.1: "stop when validation accuracy stops improving"). The test fold is never
  looked at.
- Learning-rate schedules are functions of the epoch (``lr_at``), applied at the start
  of each epoch, so the batched multi-fold trainer applies exactly the same rates.
- Every random draw comes from a per-fold seed (``FoldSeeds``): initialisation is the
  caller's job (build the model inside ``seeded_init(seeds.init)``); epoch orders,
  dropout masks and augmentation come from generators seeded here.

Hooks for other models: ``augment(x_batch, generator) -> x_batch`` is called on every
training batch (never on validation data); ``sampler(labels, generator) -> indices``
replaces the epoch order (see ``sampling.py``). Inputs may be one tensor or a tuple of
tensors with the same first dimension (the model is then called as ``model(*xs)``).
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..devices import current as current_compute
from ..errors import ConfigError
from ..models.layers import SeededDropout
from .audit import after_epoch as audit_after_epoch
from .history import record as record_history
from .sampling import Sampler, balanced_indices, shuffled_indices, sequential_indices, validation_split
from .seeding import FoldSeeds

Inputs = torch.Tensor | tuple[torch.Tensor, ...]
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "step", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training stage (defaults: STSTNet's released settings)."""

    epochs: int = 800
    lr: float = 5e-5
    batch_size: int = 256
    optimizer: str = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "constant"
    step_epochs: int = 10
    gamma: float = 0.1
    class_balance: bool = False
    val_fraction: float = 0.0
    shuffle: bool = True
    val_metric: str = "loss"
    patience: int = 0


    def __post_init__(self) -> None:
        if int(self.epochs) < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        if int(self.batch_size) < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer {self.optimizer!r} unknown; use one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"schedule {self.schedule!r} unknown; use one of {SCHEDULES}")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ConfigError(f"weight_decay must be >= 0 and momentum in [0, 1): got {self.weight_decay}, {self.momentum}")
        if int(self.step_epochs) < 1 or not 0 < self.gamma <= 1:
            raise ConfigError(f"step_epochs must be >= 1 and gamma in (0, 1]: got {self.step_epochs}, {self.gamma}")
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be in [0, 1) (0 = keep the last epoch), got {self.val_fraction}")
        if self.val_metric not in ("loss", "accuracy"):
            raise ConfigError(f"val_metric must be 'loss' or 'accuracy', got {self.val_metric!r}")
        if int(self.patience) < 0 or (self.patience and not self.val_fraction > 0):
            raise ConfigError(f"patience must be >= 0 and needs val_fraction > 0 (a validation split to watch); got "
                              f"patience {self.patience}, val_fraction {self.val_fraction}")

    def sampler(self) -> Sampler:
        """The epoch-order rule these settings ask for."""
        if self.class_balance:
            return balanced_indices
        return shuffled_indices if self.shuffle else sequential_indices


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of 0-based ``epoch``."""
    if cfg.schedule == "step":
        return cfg.lr * cfg.gamma ** (epoch // cfg.step_epochs)
    if cfg.schedule == "cosine":
        return 0.5 * cfg.lr * (1 + math.cos(math.pi * epoch / cfg.epochs))
    return cfg.lr


def make_optimizer(params: list[nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


@dataclass
class TrainHistory:
    """Per-epoch mean training loss, validation loss (if any) and the epoch kept (0-based)."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    kept_epoch: int = -1
    train_acc: list[float] = field(default_factory=list)
    """Per epoch: share of training samples the model (in training mode) got right."""
    val_acc: list[float] = field(default_factory=list)


def set_dropout_generator(model: nn.Module, generator: torch.Generator | None) -> None:
    """Attach ``generator`` to every ``SeededDropout`` of ``model``."""
    for m in model.modules():
        if isinstance(m, SeededDropout):
            m.generator = generator


def take(x: Inputs, idx: torch.Tensor) -> Inputs:
    return tuple(t[idx] for t in x) if isinstance(x, tuple) else x[idx]


def n_samples(x: Inputs) -> int:
    return len(x[0]) if isinstance(x, tuple) else len(x)


def call(model: nn.Module, x: Inputs) -> torch.Tensor:
    return model(*x) if isinstance(x, tuple) else model(x)


def to_device(x: Inputs, device: torch.device) -> Inputs:
    """``x`` (a tensor or a tuple of them) on ``device`` (the same objects when already there). To a
    CUDA device a batch goes through pinned (page-locked) memory, so the copy runs asynchronously."""
    def move(t: torch.Tensor) -> torch.Tensor:
        if device.type == "cuda" and t.device.type == "cpu":
            t = t.pin_memory()
        return t.to(device, non_blocking=True)

    return tuple(move(t) for t in x) if isinstance(x, tuple) else move(x)


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters are (the CPU for a model without any)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def train_model(
    model: nn.Module,
    x: Inputs,
    y: torch.Tensor,
    cfg: TrainConfig,
    seeds: FoldSeeds,
    *,
    groups: np.ndarray | None = None,
    augment: Augment | None = None,
    sampler: Sampler | None = None,
    progress: bool = False,
    desc: str = "train",
    log: logging.Logger | None = None,
) -> TrainHistory:
    """Train ``model`` in place on ``(x, y)``; returns the loss history.

    ``groups`` (subject per sample) is required when ``cfg.val_fraction > 0``. Runs on the
    device and precision of :func:`microexpr.devices.current` (the CPU at float32 unless a run
    says otherwise): batches are drawn and augmented on the CPU, moved to the device, and the
    model comes back to the CPU at the end.
    """
    y = torch.as_tensor(y, dtype=torch.long)
    if n_samples(x) != len(y) or len(y) == 0:
        raise ConfigError(f"{desc}: {n_samples(x)} inputs for {len(y)} labels; need the same non-zero number")
    g_data, g_drop, g_aug = seeds.generator("data"), seeds.generator("dropout"), seeds.generator("augment")
    sampler = sampler or cfg.sampler()
    x_val = y_val = None
    if cfg.val_fraction > 0:
        if groups is None:
            raise ConfigError(f"{desc}: val_fraction > 0 needs the subject of every training sample")
        tr, va = validation_split(groups, cfg.val_fraction, g_data)
        x_val, y_val = take(x, torch.as_tensor(va)), y[va]
        x, y = take(x, torch.as_tensor(tr)), y[tr]
    compute = current_compute()
    device = compute.device
    model.to(device)
    scaler = compute.grad_scaler()
    opt = make_optimizer([p for p in model.parameters() if p.requires_grad], cfg)
    hist = TrainHistory()
    best_state, best_score = None, math.inf  # lower is better: the loss, or minus the accuracy
    set_dropout_generator(model, g_drop)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seeds.dropout)  # for models using nn.Dropout
            for epoch in tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False):
                for group in opt.param_groups:
                    group["lr"] = lr_at(cfg, epoch)
                model.train()
                order = sampler(y, g_data)
                total, correct = 0.0, 0
                for start in range(0, len(order), cfg.batch_size):
                    b = order[start:start + cfg.batch_size]
                    xb = take(x, b)
                    if augment is not None:
                        xb = augment(xb, g_aug)
                    xb, yb = to_device(xb, device), y[b].to(device)
                    opt.zero_grad(set_to_none=True)
                    with compute.autocast():
                        logits = call(model, xb)
                        loss = F.cross_entropy(logits, yb)
                    if scaler is None:
                        loss.backward()
                        opt.step()
                    else:
                        scaler.scale(loss).backward()
                        scaler.step(opt)
                        scaler.update()
                    total += float(loss.detach()) * len(b)
                    correct += int((logits.detach().argmax(1) == yb).sum())
                hist.train_loss.append(total / len(order))
                hist.train_acc.append(correct / len(order))
                audit_after_epoch(epoch, cfg.epochs, model)  # leakage audit only: stored apart, never used
                if x_val is not None:
                    val_logits = torch.from_numpy(predict_logits(model, x_val))
                    vl = float(F.cross_entropy(val_logits, y_val))
                    hist.val_loss.append(vl)
                    hist.val_acc.append(float((val_logits.argmax(1) == y_val).float().mean()))
                    score = vl if cfg.val_metric == "loss" else -hist.val_acc[-1]
                    if score < best_score:
                        best_score, best_state, hist.kept_epoch = score, copy.deepcopy(model.state_dict()), epoch
                    elif cfg.patience and epoch - hist.kept_epoch >= cfg.patience:
                        if log is not None:
                            log.info("%s: validation %s not improved for %d epochs: stopping after epoch %d",
                                     desc, cfg.val_metric, cfg.patience, epoch + 1)
                        break
    finally:
        set_dropout_generator(model, None)
        model.to("cpu")
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        hist.kept_epoch = cfg.epochs - 1
    if log is not None:
        log.info("%s: %d epochs, final train loss %.4f, kept epoch %d", desc, len(hist.train_loss), hist.train_loss[-1],
                 hist.kept_epoch)
    record_history(desc, hist)
    return hist


@torch.no_grad()
def predict_logits(model: nn.Module, x: Inputs, batch_size: int = 1024) -> np.ndarray:
    """Eval-mode logits, ``(n, n_classes)`` float32, computed on :func:`microexpr.devices.current`'s
    device (the model goes back to where it was)."""
    compute = current_compute()
    home = model_device(model)
    model.eval()
    model.to(compute.device)
    try:
        out = []
        for s in range(0, n_samples(x), batch_size):
            xb = to_device(take(x, torch.arange(s, min(s + batch_size, n_samples(x)))), compute.device)
            with compute.autocast():
                out.append(call(model, xb).float().cpu())
    finally:
        model.to(home)
    return torch.cat(out).numpy()


def predict_proba(model: nn.Module, x: Inputs, batch_size: int = 1024) -> np.ndarray:
    """Eval-mode softmax probabilities, ``(n, n_classes)`` float64 rows summing to 1."""
    logits = torch.from_numpy(predict_logits(model, x, batch_size)).double()
    return torch.softmax(logits, dim=1).numpy()
