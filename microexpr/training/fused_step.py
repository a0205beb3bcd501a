"""One training step of a chunk of stacked folds with the compiled kernels of ``stream_kernels``.

:class:`FusedStreamStep` computes, for every fold of a ``StackedStreamNet``, the mean
cross-entropy of its batch and the gradients of all its parameters, and updates the BN
running statistics -- what ``StackedStreamNet.forward`` + ``torch.autograd.grad`` do in
the eager path, with the same math (see ``batched.py``). One kernel call per fold
(``stream_step``) runs three passes back to back, so the fold's scratch stays in cache:

1. forward: convolution, ReLU, BN sums, max-pool (value and arg-max) per window; then the
   batch mean/variance (float64 sums, as the eager path);
2. head: BN after pooling, dropout, average pooling, the linear layer and the loss,
   forward and backward (gradients of BN's gamma/beta and the linear layer);
3. backward: the convolution is recomputed and ``dL/dz`` formed in place from the
   head's gradient at each window's selected position plus BN's statistics terms
   ``A + Bc * z`` (below); its product with the input patches gives the conv gradients.

BN backward: with ``y = gamma (r - mean) invstd + beta`` over ``M`` values per channel,
``dL/dr = scale g - scale sum(g)/M - scale xhat sum(g xhat)/M`` (``scale = gamma invstd``,
``g = dL/dy``), and ``sum(g) = dbeta``, ``sum(g xhat) = dgamma``; where ``z > 0``,
``r = z``, so ``dL/dz = scale g + A + Bc z`` with ``A = scale (mean invstd dgamma -
dbeta) / M`` and ``Bc = -scale invstd dgamma / M``; zero where ``z <= 0``.

Dropout: given masks, or (``drop_generators``) drawn per fold by the worker that runs the
fold, right before its kernel call: ``SeededDropout``'s uniform draws, by the compiled
mt19937 (``StreamKernels.uniform``, checked at start-up to equal ``torch.rand``) or by
``torch.rand`` itself; the kernel compares them with ``1 - p``.

Threads: folds are independent, so with ``threads > 1`` the calling thread and
``threads - 1`` pool threads take folds in turn (ctypes releases the GIL); each worker
has its own scratch and every fold writes only its own outputs, so results do not
depend on the split. All per-step work but a few tiny PyTorch ops on ``(F, channels)``
tensors (and the optimiser, in ``batched``) runs in the workers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F

from ..errors import ModelError
from .stream_kernels import Geometry, StreamKernels, load_stream_kernels


def geometry_of(net) -> Geometry:  # net: batched.StackedStreamNet (not imported: no cycle)
    return Geometry(in_chans=net.in_chans, channels=net.channels, input_size=net.input_size,
                    padding=net.padding, num_classes=net.num_classes)


class FusedStreamStep:
    """Loss and gradients of one step for every fold of ``net`` (a ``StackedStreamNet``)."""

    def __init__(self, net, kernels: StreamKernels | None = None, threads: int = 1) -> None:
        self.net = net
        self.kern = kernels or load_stream_kernels(geometry_of(net))
        g = self.kern.geom
        self.K, self.KP, self.P, self.T = g.channels, g.padded_channels, g.pooled_size, g.in_chans * 9
        self.threads = max(1, int(threads))
        self.pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self.widths_t = torch.tensor([int(w) for w in net.widths], dtype=torch.int64)
        self._bufs: dict[int, list[torch.Tensor]] = {}

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def pad_images(self, x: torch.Tensor) -> torch.Tensor:
        return self.kern.pad_images(x)

    def fold_map(self, fn: Callable[[int, int], None], n_folds: int) -> None:
        """``fn(f0, f1)`` over contiguous fold ranges, in the thread pool when there is one."""
        if self.pool is None or n_folds < 2:
            fn(0, n_folds)
            return
        k = min(self.threads, n_folds)
        bounds = [round(i * n_folds / k) for i in range(k + 1)]
        for fut in [self.pool.submit(fn, a, b) for a, b in zip(bounds[:-1], bounds[1:])]:
            fut.result()

    def _padk(self, t: torch.Tensor) -> torch.Tensor:
        return F.pad(t.detach(), (0, self.KP - self.K)).contiguous()

    def _scratch(self, worker: int, B: int, draws: bool) -> list[torch.Tensor]:
        """Worker ``worker``'s reusable buffers for batches of up to ``B`` rows: pooled maxima,
        arg-maxima, head gradients (one fold at a time) and, with ``draws``, uniform draws."""
        bufs = self._bufs.get(worker)
        if bufs is None or bufs[0].shape[0] < B or (draws and bufs[3].numel() < B * self.K * self.P ** 2):
            P, KP = self.P, self.KP
            bufs = [torch.empty(B, P, P, KP), torch.empty(B, P, P, KP, dtype=torch.uint8), torch.empty(B, P, P, KP),
                    torch.empty(B * self.K * P * P if draws else 0, dtype=torch.float64)]
            self._bufs[worker] = bufs
        return bufs

    def _run_folds(self, fn: Callable[[int, int], None], n_folds: int) -> None:
        """``fn(worker, f)`` for every fold ``f``; with a thread pool the workers take folds in
        turn from a shared counter (balanced however long each fold takes). Folds write
        disjoint outputs and each worker has its own scratch, so the split does not matter."""
        if self.pool is None or n_folds < 2:
            for f in range(n_folds):
                fn(0, f)
            return
        counter = itertools.count()

        def work(worker: int) -> None:
            for f in iter(lambda: next(counter), None):
                if f >= n_folds:
                    return
                fn(worker, f)

        futures = [self.pool.submit(work, i) for i in range(1, min(self.threads, n_folds))]
        try:
            work(0)  # the calling thread is worker 0
        finally:
            for fut in futures:
                fut.result()

    @torch.no_grad()
    def __call__(self, ximg: torch.Tensor, rows: torch.Tensor, sizes: Sequence[int], labels: torch.Tensor,
                 masks: torch.Tensor | None = None, *,
                 drop_generators: Sequence[torch.Generator] | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Per-fold losses ``(F,)`` and gradients (the layout of ``net.params``).

        ``ximg``: images from :meth:`pad_images`; ``rows``/``labels``: ``(F, B)`` int64, row
        ``b`` of fold ``f`` is image ``rows[f, b]`` for ``b < sizes[f]`` (the rest is
        ignored). Dropout: ``masks``, multipliers ``(F, B, K, P, P)``; or
        ``drop_generators``, one per fold: each fold's worker draws ``SeededDropout``'s
        uniforms (``torch.rand`` float64, stream by stream, as ``StackedStreamNet.dropout_masks``
        on its fast path -- only valid where ``batched.rand_reproduces_bernoulli()``) right
        before its kernel call, so the draws run in parallel and stay in cache; or neither.
        Updates the running statistics of the folds with ``sizes[f] > 0``.
        """
        net, kern = self.net, self.kern
        Fn, B = rows.shape
        KP, P = self.KP, self.P
        size_t = torch.tensor([int(n) for n in sizes], dtype=torch.int64)
        # the C code trusts these: check them here (cheap) rather than read out of bounds
        valid = torch.arange(B)[None, :] < size_t[:, None]
        if Fn != net.n_folds or labels.shape != rows.shape or len(sizes) != Fn or not 0 <= int(size_t.min()) <= int(size_t.max()) <= B:
            raise ModelError(f"fused step: rows {tuple(rows.shape)}, labels {tuple(labels.shape)} and sizes {list(sizes)} "
                             f"do not fit {net.n_folds} folds")
        g = self.kern.geom
        side = g.input_size + 2 * g.padding
        if ximg.ndim != 4 or tuple(ximg.shape[1:]) != (side, side, g.in_chans):
            raise ModelError(f"fused step: images must come from pad_images, (N, {side}, {side}, {g.in_chans}); got {tuple(ximg.shape)}")
        if masks is not None and tuple(masks.shape) != (Fn, B, self.K, P, P):
            raise ModelError(f"fused step: dropout masks must be {(Fn, B, self.K, P, P)}, got {tuple(masks.shape)}")
        if drop_generators is not None and (masks is not None or len(drop_generators) != Fn):
            raise ModelError(f"fused step: give either masks or one dropout generator per fold ({Fn}), not both")
        if valid.any():
            r, y = rows[valid], labels[valid]
            if int(r.min()) < 0 or int(r.max()) >= len(ximg) or int(y.min()) < 0 or int(y.max()) >= net.num_classes:
                raise ModelError(f"fused step: row indices must be in [0, {len(ximg)}) and labels in [0, {net.num_classes})")
        rows = rows.contiguous()
        labels = labels.contiguous()
        wt = self._padk(net.weight.reshape(Fn, self.K, self.T).transpose(1, 2))
        bias, gamma, beta = self._padk(net.bias), self._padk(net.gamma), self._padk(net.beta)
        sgn = torch.where(gamma < 0, -1.0, 1.0).contiguous()
        Q, NC = P // 2, net.fc_weight.shape[1]
        fcw = net.fc_weight.detach().view(Fn, NC, self.K, Q, Q).permute(0, 1, 3, 4, 2).contiguous()  # channels-last
        fcb = net.fc_bias.detach().contiguous()
        masks = None if masks is None else masks.contiguous()
        draws = drop_generators is not None and net.p > 0
        keep = 1.0 - net.p
        mscale = float(torch.ones(1).mul_(1.0 / keep)) if draws else 1.0  # dropout_scale_mask's float32 value
        c_draws = draws and kern.reproduces_torch_rand  # checked once per build, before the threads start

        mean, var = torch.zeros(Fn, KP), torch.zeros(Fn, KP)
        loss = torch.zeros(Fn, 2, dtype=torch.float64)  # (mean loss, training-mode hits) per fold
        dgamma, dbeta = torch.zeros(Fn, KP), torch.zeros(Fn, KP)
        dfcw, dfcb = torch.zeros_like(fcw), torch.zeros_like(fcb)
        dw, db = torch.zeros(Fn, self.T, KP), torch.zeros(Fn, KP)

        def fold(worker: int, f: int) -> None:
            pooled, arg, gsel, unif = self._scratch(worker, B, draws)
            n = int(sizes[f])
            if draws and n and c_draws:  # one sequence: the streams' draws back to back
                kern.uniform(drop_generators[f], unif[:n * self.K * P * P])
            elif draws and n:
                start = 0
                for w in net.widths:  # SeededDropout's order: stream by stream, (n, w, P, P) each
                    cnt = n * w * P * P
                    torch.rand((n, w, P, P), dtype=torch.float64, generator=drop_generators[f],
                               out=unif[start:start + cnt].view(n, w, P, P))
                    start += cnt
            kern.step(f, f + 1, B, size_t, rows, labels, ximg, wt, bias, sgn, gamma, beta, fcw, fcb, masks,
                      unif if draws else None, keep, mscale, self.widths_t, pooled, arg, gsel, mean, var, loss,
                      dw, db, dgamma, dbeta, dfcw, dfcb)

        self._run_folds(fold, Fn)
        net.track_running_stats(mean[:, :self.K], var[:, :self.K], sizes)

        K = self.K
        dfcw = dfcw.permute(0, 1, 4, 2, 3).reshape(net.fc_weight.shape)
        grads = [dw[:, :, :K].transpose(1, 2).reshape(net.weight.shape), db[:, :K], dgamma[:, :K], dbeta[:, :K], dfcw, dfcb]
        self.last_correct = loss[:, 1].clone()
        return loss[:, 0].contiguous(), grads
