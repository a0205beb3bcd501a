"""Batched multi-fold training: every fold of a protocol trained at once, one stacked model.

For the STSTNet/LAENet family (``ParallelStreamNet``) the parameters of ``F`` fold models
are stacked along a leading fold axis and trained together:

- all streams of a fold share kernel size and padding, so they are one convolution with
  ``sum(widths)`` filters;
- BatchNorm statistics are computed per fold over that fold's real samples only (folds
  have different training-set sizes, so batches are padded and the padding is ignored);
  BN is applied *after* max pooling on the pooled values, which is the same function
  (BN's per-channel affine map is monotone; for a negative scale the pooling is a
  min-pool), and saves work on the 9x larger pre-pool maps;
- the loss is the sum of the per-fold mean cross-entropies, so each fold's gradient is
  exactly its own; ``StackedAdam`` updates every fold with its own step count and skips
  folds that have no batch at a step (their epoch has fewer batches);
- every fold draws its epoch order, dropout masks and augmentation from its own
  generators (``FoldSeeds``) in the same order as ``train_model`` does.

Two backends compute each step's losses and gradients (``backend=``):

- ``"fused"``: compiled CPU kernels (``stream_kernels``, driven by ``fused_step``) make one
  pass over the pre-pool maps forward and one backward, in cache, image by image; all
  folds read one shared copy of the images through row indices (no per-fold batch copies,
  no padding work for ragged batches). Built with the system C compiler on first use;
- ``"eager"``: PyTorch ops (one ``conv2d`` per fold; grouped convolutions over folds were
  measured slower on CPU) and ``torch.autograd``;
- ``"auto"`` (default): fused, else eager with a logged warning when the kernels cannot
  be built (no compiler, unsupported platform).

Hence the trained weights equal fold-by-fold training with the same seeds up to
floating-point rounding (convolution summation order, BN applied after pooling);
``tests/flownets/test_batched.py`` states the tolerance (max |dprob| <= 1e-4; measured
~1e-8 at lr 5e-5). Folds are processed in chunks of ``fold_chunk`` to bound memory.
Ties inside a pooling window go to the first maximum in row-major order, as PyTorch's
max-pool; the fused path compares the convolution outputs, the module their BN'd
values, so two outputs that differ only below BN's rounding can pick different winners.

Speed (``python benchmarks/batched_folds_bench.py [--threads 1]``: full CDE LOSO, 68
folds, 442 synthetic 28x28x3 clips, STSTNet, batch 256, 20 epochs, fold chunks of 8, the
two paths alternating block by block; batched time includes compiling the kernels,
~1.1-1.5 s; a shared 2-core AMD EPYC VM whose load from other jobs can move a figure by
+-25% -- a run during other jobs' tests measured plain 294 s, so check the machine is
quiet):

- PyTorch's default threads (2) for both: plain 145.3 s vs fused 23.2 s = 6.26x
  and 127.7 s vs 21.1 s = 6.06x (max |dprob| 4.5e-6 both);
- one thread for both: plain 198.6 s vs fused 35.0 s = 5.67x (max |dprob| 5.5e-7).

So about 6x at equal epochs and equal predictions (the previous version, three kernel
calls per step and masks drawn with ``torch.rand`` between them: 4.3-5x).

Where the fused path's time goes (per 256 images of one fold, one thread, quiet
machine): the kernel call (``stream_step``) ~12 ms -- forward ~4-5 ms, backward ~6-7
ms, head ~1 ms; dropout uniforms ~0.7 ms (the same draws as ``SeededDropout``: the
compiled mt19937 of ``stream_kernels``; ``torch.rand`` float64 takes ~2.6 ms, and
``bernoulli_`` 3x that -- start-up checks show all three agree bit for bit); the
optimiser and index building well under 1 ms per step of a whole chunk. A plain PyTorch
step on the same batch takes ~85 ms on one thread (~63 ms on two), ~7 ms of it in
``bernoulli_``. On 2 threads the
fused path runs 1.9x faster than on one (was 1.4x): each fold's dropout draws and its
forward/head/backward run back to back in one worker, with one hand-off per step; the
PyTorch ops left in the calling thread run with one intra-op thread (see
``train_folds_batched``), since OpenMP wake-ups cost more than those tiny ops.
The eager backend is *slower* than the plain loop at batch 256 (0.37x on the full run
before the fused path existed; 0.48x with ``--quick --epochs 4 --threads 1 --backend
eager``): each fold's batch already gives large memory-bound tensor operations, so
stacking only adds memory traffic.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..errors import ConfigError, ModelError
from ..models.layers import ParallelStreamNet, dropout_scale_mask
from .audit import after_epoch as audit_after_epoch, pending_folds as audit_pending
from ..devices import current as current_compute
from .fused_step import FusedStreamStep
from .history import record as record_history
from .loop import Augment, TrainConfig, TrainHistory, lr_at
from .sampling import Sampler, validation_split
from .seeding import FoldSeeds
from .stream_kernels import BN_EPS, Geometry, StreamKernels, load_stream_kernels

BN_MOMENTUM = 0.1
BACKENDS = ("auto", "fused", "eager")
logger = logging.getLogger(__name__)


class StackedStreamNet:
    """``F`` ``ParallelStreamNet`` models of one architecture as stacked tensors."""

    def __init__(self, models: Sequence[ParallelStreamNet], device: torch.device | str = "cpu",
                 grouped: bool | None = None) -> None:
        """``device``: where the stacked tensors live; ``grouped``: one grouped convolution over the
        folds instead of one ``conv2d`` per fold (default: off the CPU, where it is one kernel launch
        instead of F; on the CPU the per-fold loop was measured faster)."""
        if not models:
            raise ModelError("no models to stack")
        ref = models[0]
        for m in models:
            if not isinstance(m, ParallelStreamNet):
                raise ModelError(f"batched training supports the STSTNet/LAENet family only; got {type(m).__name__} "
                                 "(set batched_folds: false to train fold by fold)")
            if (type(m), m.widths, m.padding, m.in_chans, m.input_size, m.num_classes, m.drop_rate) != \
               (type(ref), ref.widths, ref.padding, ref.in_chans, ref.input_size, ref.num_classes, ref.drop_rate):
                raise ModelError("batched training needs identical architectures in every fold")
            for conv, bn in m.streams():
                if bn.eps != BN_EPS or bn.momentum != BN_MOMENTUM or not bn.affine or not bn.track_running_stats:
                    raise ModelError("batched training assumes default BatchNorm settings (eps 1e-5, momentum 0.1)")
        self.widths, self.padding, self.p = ref.widths, ref.padding, ref.drop_rate
        self.n_folds = len(models)
        self.channels = sum(self.widths)
        self.in_chans = ref.in_chans
        self.input_size, self.num_classes = ref.input_size, ref.num_classes
        with torch.no_grad():
            def cat(get):  # (F, channels, ...) from each model's streams, in stream order
                return torch.stack([torch.cat([get(c, b) for c, b in m.streams()]) for m in models]).clone()

            self.weight = cat(lambda c, b: c.weight)
            self.bias = cat(lambda c, b: c.bias)
            self.gamma = cat(lambda c, b: b.weight)
            self.beta = cat(lambda c, b: b.bias)
            self.running_mean = cat(lambda c, b: b.running_mean)
            self.running_var = cat(lambda c, b: b.running_var)
            self.batches_tracked = torch.stack([m.streams()[0][1].num_batches_tracked for m in models]).clone()
            self.fc_weight = torch.stack([m.fc.weight for m in models]).clone()
            self.fc_bias = torch.stack([m.fc.bias for m in models]).clone()
        self.device = torch.device(device)
        self.grouped = self.device.type != "cpu" if grouped is None else bool(grouped)
        for name in ("weight", "bias", "gamma", "beta", "running_mean", "running_var", "batches_tracked",
                     "fc_weight", "fc_bias"):
            setattr(self, name, getattr(self, name).to(self.device))
        self.params = [self.weight, self.bias, self.gamma, self.beta, self.fc_weight, self.fc_bias]
        for p in self.params:
            p.requires_grad_(True)

    def buffers(self) -> list[torch.Tensor]:
        return [self.running_mean, self.running_var, self.batches_tracked]

    def forward(self, x: torch.Tensor, sizes: Sequence[int], *, training: bool,
                masks: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(F, B, n_classes)`` for inputs ``(F, B, C, H, W)``; rows ``>= sizes[f]`` are padding.

        Fold-major layout: each fold's convolution is a plain ``conv2d`` on a contiguous
        block (grouped convolutions with 3 input channels per group are slow on CPU).
        """
        Fn, B = x.shape[:2]
        K = self.channels
        if self.grouped:  # (B, F*C, H, W) with F groups: fold f's filters see fold f's images only
            C, H, W = x.shape[2:]
            z = F.conv2d(x.transpose(0, 1).reshape(B, Fn * C, H, W), self.weight.reshape(Fn * K, *self.weight.shape[2:]),
                         self.bias.reshape(-1), padding=self.padding, groups=Fn)
            r = torch.relu(z.view(B, Fn, K, *z.shape[-2:]).transpose(0, 1))
        else:
            r = torch.relu(torch.stack([F.conv2d(x[f], self.weight[f], self.bias[f], padding=self.padding) for f in range(Fn)]))
        S = r.shape[-1]
        if training:
            if all(int(n) == B for n in sizes):
                var, mean = torch.var_mean(r, dim=(1, 3, 4), unbiased=False)
            else:  # ragged step: statistics over each fold's real rows only (float64 sums)
                dev = r.device
                valid = (torch.arange(B, device=dev)[None, :] < torch.tensor([int(n) for n in sizes], device=dev)[:, None]).to(r.dtype)
                rm = r * valid[:, :, None, None, None]
                count = torch.tensor([max(int(n), 1) * S * S for n in sizes], dtype=torch.float64, device=dev)[:, None]
                mean64 = rm.sum((1, 3, 4), dtype=torch.float64) / count
                var64 = (rm * rm).sum((1, 3, 4), dtype=torch.float64) / count - mean64 * mean64
                mean, var = mean64.to(r.dtype), var64.clamp(min=0).to(r.dtype)
            self.track_running_stats(mean, var, sizes)
        else:
            mean, var = self.running_mean, self.running_var
        negative = bool((self.gamma < 0).any())
        if negative:  # max-pool of a decreasing map = min-pool: pool sign * r, undo the sign
            sign = torch.where(self.gamma.detach() < 0, -1.0, 1.0)[:, None, :, None, None]
            r = r * sign
        q = F.max_pool2d(r.reshape(Fn * B, K, S, S), 3, 3, 1)
        P = q.shape[-1]
        q = q.view(Fn, B, K, P, P)
        if negative:
            q = q * sign
        scale = (torch.rsqrt(var + BN_EPS) * self.gamma)[:, None, :, None, None]
        y = (q - mean[:, None, :, None, None]) * scale + self.beta[:, None, :, None, None]
        if training and masks is not None:
            y = y * masks
        pooled = F.avg_pool2d(y.reshape(Fn * B, K, P, P), 2, 2).reshape(Fn, B, -1)
        return torch.baddbmm(self.fc_bias[:, None, :], pooled, self.fc_weight.transpose(1, 2))

    @torch.no_grad()
    def track_running_stats(self, mean: torch.Tensor, var: torch.Tensor, sizes: Sequence[int]) -> None:
        """BatchNorm's running-statistics update from batch ``mean``/biased ``var`` ``(F, channels)``;
        folds with no rows this step are left untouched."""
        S2 = (self.input_size + 2 * self.padding - 2) ** 2
        active = torch.tensor([int(n) > 0 for n in sizes], device=self.device)
        count = torch.tensor([max(int(n), 1) * S2 for n in sizes], dtype=torch.float32, device=self.device)[:, None]
        unbiased = var.detach() * count / (count - 1).clamp(min=1)
        new_mean = self.running_mean * (1 - BN_MOMENTUM) + BN_MOMENTUM * mean.detach()
        new_var = self.running_var * (1 - BN_MOMENTUM) + BN_MOMENTUM * unbiased
        self.running_mean.copy_(torch.where(active[:, None], new_mean, self.running_mean))
        self.running_var.copy_(torch.where(active[:, None], new_var, self.running_var))
        self.batches_tracked.add_(active.long())

    def dropout_masks(self, sizes: Sequence[int], generators: Sequence[torch.Generator], pooled: int,
                      fold_map: Callable[[Callable[[int, int], None], int], None] | None = None) -> torch.Tensor:
        """Per-fold dropout multipliers ``(F, B, channels, P, P)`` drawn stream by stream, as
        ``SeededDropout`` does. ``fold_map(fn, F)`` may run ``fn(f0, f1)`` over fold ranges in
        threads (each fold has its own generator and rows, so the result is the same)."""
        B = max(sizes)
        masks = torch.zeros(self.n_folds, B, self.channels, pooled, pooled)

        fast = rand_reproduces_bernoulli()

        def draw(f0: int, f1: int) -> None:
            for f in range(f0, f1):
                start, n = 0, sizes[f]
                for w in self.widths if n else ():
                    shape = (n, w, pooled, pooled)
                    if fast:  # keep flags now, one scaling below: dropout_scale_mask's values
                        masks[f, :n, start:start + w] = torch.rand(shape, dtype=torch.float64, generator=generators[f]) < (1.0 - self.p)
                    else:
                        masks[f, :n, start:start + w] = dropout_scale_mask(shape, self.p, generators[f])
                    start += w

        (fold_map or (lambda fn, n: fn(0, n)))(draw, self.n_folds)
        return masks.mul_(1.0 / (1.0 - self.p)) if fast else masks

    @torch.no_grad()
    def write_back(self, models: Sequence[ParallelStreamNet]) -> None:
        """Copy fold ``f``'s stacked tensors into ``models[f]``."""
        for f, m in enumerate(models):
            start = 0
            for (conv, bn), w in zip(m.streams(), self.widths):
                sl = slice(start, start + w)
                conv.weight.copy_(self.weight[f, sl]); conv.bias.copy_(self.bias[f, sl])
                bn.weight.copy_(self.gamma[f, sl]); bn.bias.copy_(self.beta[f, sl])
                bn.running_mean.copy_(self.running_mean[f, sl]); bn.running_var.copy_(self.running_var[f, sl])
                bn.num_batches_tracked.fill_(int(self.batches_tracked[f]))
                start += w
            m.fc.weight.copy_(self.fc_weight[f]); m.fc.bias.copy_(self.fc_bias[f])


class StackedAdam:
    """``torch.optim.Adam`` (L2 weight decay, no amsgrad) on fold-stacked tensors.

    Each fold keeps its own step count; folds not ``active`` at a step are left untouched
    (parameters and moments), exactly as if that fold's optimiser had not been called.
    """

    def __init__(self, params: list[torch.Tensor], n_folds: int, *, weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.params, self.wd, self.betas, self.eps = params, weight_decay, betas, eps
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.steps = np.zeros(n_folds, dtype=np.int64)

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], active: np.ndarray, lr: float) -> None:
        b1, b2 = self.betas
        self.steps[active] += 1
        steps = np.maximum(self.steps, 1).astype(np.float64)
        dev = self.params[0].device
        step_size = torch.tensor(lr / (1 - b1 ** steps), dtype=torch.float32, device=dev)
        bc2_sqrt = torch.tensor(np.sqrt(1 - b2 ** steps), dtype=torch.float32, device=dev)
        act = torch.from_numpy(np.asarray(active, dtype=bool)).to(dev)
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq):
            shape = (-1,) + (1,) * (p.ndim - 1)
            if self.wd:
                g = g.add(p, alpha=self.wd)
            m_new = torch.lerp(m, g, 1 - b1)
            v_new = (v * b2).addcmul_(g, g, value=1 - b2)
            denom = (v_new.sqrt() / bc2_sqrt.view(shape)).add_(self.eps)
            p_new = p - step_size.view(shape) * (m_new / denom)
            a = act.view(shape)
            m.copy_(torch.where(a, m_new, m)); v.copy_(torch.where(a, v_new, v)); p.copy_(torch.where(a, p_new, p))


@functools.lru_cache(maxsize=1)
def rand_reproduces_bernoulli() -> bool:
    """Whether ``torch.rand(float64) < q`` gives exactly ``bernoulli_(q)``'s draws and leaves
    the generator in the same state, checked on this machine and PyTorch build.

    PyTorch's default CPU ``bernoulli_`` draws one 53-bit uniform double per element from
    the generator and compares it with ``q``, as ``torch.rand`` with float64 does, but about
    3x slower; the MKL path some builds take (e.g. on Intel CPUs) draws differently, and
    then this returns False and the masks come from ``bernoulli_`` itself
    (``dropout_scale_mask``, which ``SeededDropout`` uses).
    """
    for n, q in ((1, 0.5), (5000, 0.3), (40000, 0.5)):
        g1, g2 = torch.Generator(), torch.Generator()
        g1.manual_seed(n + 7)
        g2.set_state(g1.get_state())
        a = torch.empty(n).bernoulli_(q, generator=g1)
        b = torch.rand(n, dtype=torch.float64, generator=g2) < q
        if not (torch.equal(a.bool(), b) and torch.equal(g1.get_state(), g2.get_state())):
            return False
    return True


def _pad_batch(x_all: torch.Tensor, y_all: torch.Tensor, batches: list[torch.Tensor | None],
               augment: Augment | None, aug_gens: Sequence[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    sizes = [0 if b is None else len(b) for b in batches]
    B = max(sizes)
    xb = torch.zeros((len(batches), B) + tuple(x_all.shape[1:]), dtype=x_all.dtype)
    yb = torch.zeros(len(batches), B, dtype=torch.long)
    for f, b in enumerate(batches):
        if b is None:
            continue
        xf = x_all[b]
        if augment is not None:
            xf = augment(xf, aug_gens[f])
        xb[f, :len(b)] = xf
        yb[f, :len(b)] = y_all[b]
    return xb, yb, sizes


def _rows_batch(y_all: torch.Tensor, batches: list[torch.Tensor | None]) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Row indices and labels ``(F, B)`` of one step (zero-padded), and the per-fold sizes."""
    sizes = [0 if b is None else len(b) for b in batches]
    rows = torch.zeros(len(batches), max(sizes), dtype=torch.long)
    for f, b in enumerate(batches):
        if b is not None:
            rows[f, :len(b)] = b
    return rows, y_all[rows], sizes


def _fold_losses(logits: torch.Tensor, yb: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
    """Per-fold mean cross-entropy over real rows, ``(F,)``."""
    nll = -torch.log_softmax(logits, -1).gather(-1, yb[..., None]).squeeze(-1)  # (F, B)
    dev = logits.device
    valid = torch.arange(logits.shape[1], device=dev)[None, :] < torch.tensor(sizes, device=dev)[:, None]
    return (nll * valid).sum(1) / torch.tensor(sizes, dtype=nll.dtype, device=dev).clamp(min=1)


def _fold_hits(logits: torch.Tensor, yb: torch.Tensor, sizes: Sequence[int]) -> np.ndarray:
    """Per fold, how many real rows the logits classify right, ``(F,)``."""
    dev = logits.device
    valid = torch.arange(logits.shape[1], device=dev)[None, :] < torch.tensor(sizes, device=dev)[:, None]
    return ((logits.argmax(-1) == yb) & valid).sum(1).cpu().numpy().astype(np.float64)


def train_folds_batched(
    models: Sequence[ParallelStreamNet],
    x_all: torch.Tensor,
    y_all: torch.Tensor,
    fold_indices: Sequence[torch.Tensor],
    cfg: TrainConfig,
    seeds: Sequence[FoldSeeds],
    *,
    groups: np.ndarray | None = None,
    augment: Augment | None = None,
    sampler: Sampler | None = None,
    fold_chunk: int = 8,
    progress: bool = False,
    desc: str = "folds",
    log: logging.Logger | None = None,
    backend: str = "auto",
) -> list[TrainHistory]:
    """Train ``models[f]`` in place on rows ``fold_indices[f]`` of ``(x_all, y_all)``.

    Same contract as calling ``train_model(models[f], x_all[idx], y_all[idx], cfg,
    seeds[f], groups=groups[idx])`` for every fold, but all folds of a chunk at once.
    ``backend``: ``"fused"`` (compiled kernels, ``stream_kernels``), ``"eager"`` (PyTorch
    ops + autograd) or ``"auto"`` (fused, falling back to eager with a logged warning
    when the kernels cannot be built). Both give the same results up to rounding.
    """
    if not (len(models) == len(fold_indices) == len(seeds)):
        raise ConfigError("train_folds_batched: models, fold_indices and seeds must have the same length")
    if cfg.patience or cfg.val_metric != "loss":
        raise ConfigError("batched training keeps the lowest validation loss and never stops early; "
                          "train fold by fold for patience or val_metric: accuracy")
    if cfg.optimizer != "adam":
        raise ConfigError(f"batched training implements optimizer 'adam' only, got {cfg.optimizer!r}; "
                          "set batched_folds: false to use it fold by fold")
    if fold_chunk < 1:
        raise ConfigError(f"fold_chunk must be >= 1, got {fold_chunk}")
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {BACKENDS}, got {backend!r}")
    y_all = torch.as_tensor(y_all, dtype=torch.long)
    n_classes = models[0].num_classes if models else 0
    for f, idx in enumerate(fold_indices):
        idx = torch.as_tensor(idx)
        if idx.numel() == 0 or int(idx.min()) < 0 or int(idx.max()) >= len(y_all):
            raise ConfigError(f"{desc}: fold {f} has {idx.numel()} training rows; need a non-empty set of row "
                              f"positions in [0, {len(y_all)})")
        y = y_all[idx]
        if int(y.min()) < 0 or int(y.max()) >= n_classes:
            raise ConfigError(f"{desc}: fold {f} has training labels outside 0..{n_classes - 1} "
                              f"(got {int(y.min())}..{int(y.max())}); give every training clip a class of the model")
    device = current_compute().device
    if device.type != "cpu":  # the fused kernels are CPU code: off the CPU, PyTorch ops on the device
        if backend == "fused":
            raise ConfigError(f"backend 'fused' runs on the CPU only; this run is on {device} (use backend auto or eager)")
        backend = "eager"
    kernels = _kernels_for(models, backend, log) if backend != "eager" and models else None
    ximg = kernels.pad_images(x_all) if kernels is not None and augment is None else None
    hists: list[TrainHistory] = []
    chunks = [list(range(s, min(s + fold_chunk, len(models)))) for s in range(0, len(models), fold_chunk)]
    bar = tqdm(total=len(chunks) * cfg.epochs, desc=desc, disable=not progress, leave=False)
    threads = torch.get_num_threads()
    try:
        if kernels is not None:
            # The fused path splits folds across its own `threads` workers; the PyTorch ops left
            # in the calling thread (optimiser, index building) are tiny, and with intra-op
            # threads their OpenMP team's wake-ups and spinning cost more than the ops (Adam
            # ~5 ms vs ~1 ms per step) and compete with the workers. Restored below.
            torch.set_num_threads(1)
        for chunk in chunks:
            hists.extend(_train_chunk([models[i] for i in chunk], x_all, y_all, [torch.as_tensor(fold_indices[i]) for i in chunk],
                                      cfg, [seeds[i] for i in chunk], groups, augment, sampler, bar, kernels, ximg, threads,
                                      fold_ids=chunk, device=device))
    finally:
        torch.set_num_threads(threads)
    bar.close()
    if log is not None:
        log.info("%s: trained %d folds batched (%d epochs, chunks of %d, %s)", desc, len(models), cfg.epochs, fold_chunk,
                 "fused kernels" if kernels is not None else f"eager on {device}")
    for f, h in enumerate(hists):
        record_history(desc, h, fold=f)
    return hists


def fused_unavailable_reason(model: ParallelStreamNet) -> str | None:
    """Why the fused kernels cannot train ``model``'s architecture here (``None``: they can).

    Builds (or reuses) the kernels. Callers that would otherwise fall back to the eager
    batched path -- slower than plain fold-by-fold training at batch 256 -- can train fold by
    fold instead, with the same predictions.
    """
    try:
        _kernels_for([model], "fused", None)
    except ModelError as exc:
        return str(exc)
    return None


def _kernels_for(models: Sequence[ParallelStreamNet], backend: str, log: logging.Logger | None) -> StreamKernels | None:
    """The compiled kernels for ``models``' architecture, or ``None`` (eager) when they cannot
    be built and ``backend == "auto"``."""
    StackedStreamNet(models[:1])  # validates the architecture before any compiling
    m = models[0]
    geom = Geometry(in_chans=m.in_chans, channels=sum(m.widths), input_size=m.input_size,
                    padding=m.padding, num_classes=m.num_classes)
    try:
        return load_stream_kernels(geom)
    except (RuntimeError, OSError) as exc:
        if backend == "fused":
            raise ModelError(f"the fused training kernels could not be built: {exc}; "
                             "install a C compiler (gcc/clang, or set CC) or use backend='eager'") from exc
        (log or logger).warning("fused training kernels unavailable (%s); training with PyTorch ops (eager, slower)", exc)
        return None


def _train_chunk(models, x_all, y_all, indices, cfg, seeds, groups, augment, sampler, bar, kernels, ximg,
                 threads: int, fold_ids: Sequence[int] = (), device: torch.device = torch.device("cpu"),
                 grouped: bool | None = None, gather: bool | None = None) -> list[TrainHistory]:
    """Train one chunk of folds. ``grouped`` (one grouped convolution over folds) and ``gather``
    (images moved to ``device`` once, each step's rows gathered there) default to on off the
    CPU: what a GPU runs; the tests switch them on for the CPU to check them against fold-by-fold training."""
    Fn = len(models)
    g_data = [s.generator("data") for s in seeds]
    g_drop = [s.generator("dropout") for s in seeds]
    g_aug = [s.generator("augment") for s in seeds]
    sampler = sampler or cfg.sampler()
    val_idx: list[torch.Tensor] | None = None
    if cfg.val_fraction > 0:
        if groups is None:
            raise ConfigError("val_fraction > 0 needs the subject of every training sample")
        val_idx, train_idx = [], []
        for f in range(Fn):
            tr, va = validation_split(np.asarray(groups)[indices[f].numpy()], cfg.val_fraction, g_data[f])
            train_idx.append(indices[f][torch.as_tensor(tr)])
            val_idx.append(indices[f][torch.as_tensor(va)])
        indices = train_idx
    net = StackedStreamNet(models, device=device, grouped=grouped)
    opt = StackedAdam(net.params, Fn, weight_decay=cfg.weight_decay)
    fused = FusedStreamStep(net, kernels, threads=threads) if kernels is not None else None
    hists = [TrainHistory() for _ in range(Fn)]
    best_loss = np.full(Fn, math.inf)
    best = None
    pooled = net_pooled_size(net, x_all)
    # Off the CPU without augmentation the images go to the device once per chunk, not once per step.
    # Dropout masks are still drawn on the CPU from each fold's generator, so a fold sees the same
    # masks on every device (the price: drawing them is the CPU's share of a GPU step).
    gather = device.type != "cpu" if gather is None else gather
    x_dev = x_all.to(device) if gather and augment is None else None
    try:
        for epoch in range(cfg.epochs):
            lr = lr_at(cfg, epoch)
            orders = [indices[f][sampler(y_all[indices[f]], g_data[f])] for f in range(Fn)]
            batches = [list(torch.split(o, cfg.batch_size)) for o in orders]
            totals = np.zeros(Fn)
            hits = np.zeros(Fn)
            for k in range(max(len(b) for b in batches)):
                step_batches = [b[k] if k < len(b) else None for b in batches]
                if fused is None:
                    if x_dev is not None:  # images already on the device: gather the step's rows there
                        rows, yb, sizes = _rows_batch(y_all, step_batches)  # padding rows repeat row 0: masked out
                        xb = x_dev[rows.to(device)]
                    else:
                        xb, yb, sizes = _pad_batch(x_all, y_all, step_batches, augment, g_aug)  # augmented on the CPU
                    masks = net.dropout_masks(sizes, g_drop, pooled).to(device) if net.p > 0 else None
                    xb, yb = xb.to(device), yb.to(device)
                    logits = net.forward(xb, sizes, training=True, masks=masks)
                    losses = _fold_losses(logits, yb, sizes)
                    grads = torch.autograd.grad(losses.sum(), net.params)
                    losses = losses.detach().cpu()
                    hits += _fold_hits(logits.detach(), yb, sizes)
                else:
                    rows, yb, sizes = _rows_batch(y_all, step_batches)
                    step_img = ximg
                    if augment is not None:  # augmented copies, one row per (fold, slot)
                        xb, _, _ = _pad_batch(x_all, y_all, step_batches, augment, g_aug)
                        step_img = fused.pad_images(xb.flatten(0, 1))
                        rows = torch.arange(rows.numel()).view(rows.shape)
                    if net.p > 0 and rand_reproduces_bernoulli():  # drawn by each fold's worker, in the kernel call
                        losses, grads = fused(step_img, rows, sizes, yb, drop_generators=g_drop)
                    else:
                        masks = net.dropout_masks(sizes, g_drop, pooled, fused.fold_map) if net.p > 0 else None
                        losses, grads = fused(step_img, rows, sizes, yb, masks)
                    hits += fused.last_correct.numpy()
                opt.step(grads, np.array(sizes) > 0, lr)
                totals += losses.numpy() * np.array(sizes)
            for f in range(Fn):
                hists[f].train_loss.append(float(totals[f] / len(orders[f])))
                hists[f].train_acc.append(float(hits[f] / len(orders[f])))
            if val_idx is not None:
                with torch.no_grad():
                    xb, yb, sizes = _pad_batch(x_all, y_all, list(val_idx), None, g_aug)
                    xb, yb = xb.to(device), yb.to(device)
                    val_logits = net.forward(xb, sizes, training=False)
                    vl = _fold_losses(val_logits, yb, sizes).cpu().numpy()
                    va = _fold_hits(val_logits, yb, sizes) / np.maximum(1, np.array(sizes))
                for f in range(Fn):
                    hists[f].val_acc.append(float(va[f]))
                improved = vl < best_loss
                if best is None:
                    best = [t.detach().clone() for t in net.params + net.buffers()]
                for f in np.flatnonzero(improved):
                    for b_t, t in zip(best, net.params + net.buffers()):
                        b_t[f] = t[f].detach()
                    hists[f].kept_epoch = epoch
                best_loss = np.where(improved, vl, best_loss)
                for f in range(Fn):
                    hists[f].val_loss.append(float(vl[f]))
            audited = [(j, gf) for j, gf in enumerate(fold_ids) if gf in set(audit_pending())]
            if audited:  # leakage audit only: the folds' current weights scored on their test folds, never used
                with torch.no_grad():
                    net.write_back(models)
                for j, gf in audited:
                    audit_after_epoch(epoch, cfg.epochs, models[j], fold=gf)
            bar.update(1)
    finally:
        if fused is not None:
            fused.close()  # its worker threads end even when training fails
    if best is not None:
        with torch.no_grad():
            for b_t, t in zip(best, net.params + net.buffers()):
                t.copy_(b_t)
    else:
        for h in hists:
            h.kept_epoch = cfg.epochs - 1
    net.write_back(models)
    return hists


def net_pooled_size(net: StackedStreamNet, xb: torch.Tensor) -> int:
    """Side of the max-pooled maps for inputs like ``xb``."""
    conv = xb.shape[-1] + 2 * net.padding - 2
    return (conv + 2 - 3) // 3 + 1


def fused_self_check(epochs: int = 1) -> str | None:
    """Build the fused kernels and train two tiny STSTNet folds with them and with plain PyTorch
    ops; ``None`` when both give the same predictions (within 1e-4), else the reason
    (``microexpr doctor``). Seconds on a laptop once the kernels are compiled."""
    from ..models.registry import create_model
    from .loop import predict_proba
    from .seeding import seeded_init

    def train(backend: str) -> list[np.ndarray]:
        gen = torch.Generator().manual_seed(1)
        x = torch.rand(24, 3, 28, 28, generator=gen) * 255
        y = torch.arange(24) % 3
        folds = [torch.arange(0, 18), torch.arange(6, 24)]
        seeds = [FoldSeeds.for_fold(3, [str(i) for i in f.tolist()]) for f in folds]
        models = []
        for s in seeds:
            with seeded_init(s.init):
                models.append(create_model("ststnet"))
        train_folds_batched(models, x, y, folds, TrainConfig(epochs=epochs, lr=1e-3, batch_size=8), seeds,
                            fold_chunk=2, backend=backend)
        return [predict_proba(m, x) for m in models]

    try:
        fused = train("fused")
    except ModelError as exc:
        return str(exc)
    eager = train("eager")
    diff = max(float(np.abs(a - b).max()) for a, b in zip(fused, eager))
    return None if diff <= 1e-4 else f"the fused kernels disagree with PyTorch by {diff:.2e} (more than 1e-4)"
