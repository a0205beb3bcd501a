"""One training step of a chunk of stacked folds with the compiled kernels of ``stream_kernels``.

:class:`FusedStreamStep` computes, for every fold of a ``StackedStreamNet``, the mean
cross-entropy of its batch and the gradients of all its parameters, and updates the BN
running statistics -- what ``StackedStreamNet.forward`` + ``torch.autograd.grad`` do in
the eager path, with the same math (see ``batched.py``), in three kernel calls:

1. ``forward``: convolution, ReLU, BN sums, max-pool (value and arg-max) per window;
2. ``head``: BN after pooling, dropout, average pooling, the linear layer and the loss,
   forward and backward (gradients of BN's gamma/beta and the linear layer);
3. ``backward``: the convolution is recomputed and ``dL/dz`` formed in place from the
   head's gradient at each window's selected position plus BN's statistics terms
   ``A + Bc * z`` (below); its product with the input patches gives the conv gradients.

BN backward: with ``y = gamma (r - mean) invstd + beta`` over ``M`` values per channel,
``dL/dr = scale g - scale sum(g)/M - scale xhat sum(g xhat)/M`` (``scale = gamma invstd``,
``g = dL/dy``), and ``sum(g) = dbeta``, ``sum(g xhat) = dgamma``; where ``z > 0``,
``r = z``, so ``dL/dz = scale g + A + Bc z`` with ``A = scale (mean invstd dgamma -
dbeta) / M`` and ``Bc = -scale invstd dgamma / M``; zero where ``z <= 0``.

Folds are independent, so with ``threads > 1`` each kernel call is split into fold ranges
run in a thread pool (ctypes releases the GIL); results do not depend on the split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F

from ..errors import ModelError
from .stream_kernels import Geometry, StreamKernels, load_stream_kernels

BN_EPS = 1e-5


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
        self.M_per_row = g.conv_size ** 2
        self.threads = max(1, int(threads))
        self.pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

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

    @torch.no_grad()
    def __call__(self, ximg: torch.Tensor, rows: torch.Tensor, sizes: Sequence[int], labels: torch.Tensor,
                 masks: torch.Tensor | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Per-fold losses ``(F,)`` and gradients (the layout of ``net.params``).

        ``ximg``: images from :meth:`pad_images`; ``rows``/``labels``: ``(F, B)`` int64, row
        ``b`` of fold ``f`` is image ``rows[f, b]`` for ``b < sizes[f]`` (the rest is
        ignored); ``masks``: dropout multipliers ``(F, B, K, P, P)`` or ``None``.
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

        s1 = torch.zeros(Fn, KP, dtype=torch.float64)
        s2 = torch.zeros(Fn, KP, dtype=torch.float64)
        pooled = torch.empty(Fn, B, P, P, KP)
        arg = torch.empty(Fn, B, P, P, KP, dtype=torch.uint8)
        self.fold_map(lambda a, b: kern.forward(a, b, B, size_t, rows, ximg, wt, bias, sgn, s1, s2, pooled, arg), Fn)

        M = (size_t.double() * self.M_per_row).clamp(min=1)[:, None]
        mean64 = s1 / M
        var64 = (s2 / M - mean64 * mean64).clamp(min=0)
        mean, var = mean64.float().contiguous(), var64.float().contiguous()
        invstd = torch.rsqrt(var + BN_EPS).contiguous()
        net.track_running_stats(mean[:, :self.K], var[:, :self.K], sizes)

        loss = torch.zeros(Fn, dtype=torch.float64)
        gsel = torch.empty(Fn, B, P, P, KP)
        dgamma, dbeta = torch.zeros(Fn, KP), torch.zeros(Fn, KP)
        dfcw, dfcb = torch.zeros_like(fcw), torch.zeros_like(fcb)
        self.fold_map(lambda a, b: kern.head(a, b, B, size_t, labels, pooled, sgn, mean, invstd, gamma, beta, masks,
                                         fcw, fcb, loss, gsel, dgamma, dbeta, dfcw, dfcb), Fn)

        Mf = M.float()
        scale = gamma * invstd
        A = (scale * (mean * invstd * dgamma - dbeta) / Mf).contiguous()
        Bc = (-scale * invstd * dgamma / Mf).contiguous()
        dw, db = torch.zeros(Fn, self.T, KP), torch.zeros(Fn, KP)
        self.fold_map(lambda a, b: kern.backward(a, b, B, size_t, rows, ximg, wt, bias, arg, gsel, A, Bc, dw, db), Fn)

        K = self.K
        dfcw = dfcw.permute(0, 1, 4, 2, 3).reshape(net.fc_weight.shape)
        grads = [dw[:, :, :K].transpose(1, 2).reshape(net.weight.shape), db[:, :K], dgamma[:, :K], dbeta[:, :K], dfcw, dfcb]
        return loss, grads
