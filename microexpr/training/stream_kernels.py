"""Fused CPU kernels for training ``ParallelStreamNet`` (STSTNet/LAENet) folds, built at run time.

Why: in these networks almost all the work is on the pre-pool maps (3x3 convolution
output, ``sum(widths)`` channels at full resolution), and PyTorch makes about a dozen
memory-bound passes over them per step (conv, ReLU, BN statistics, BN, max-pool with
indices, and their backwards). The kernels here make two: one forward pass (convolution,
ReLU, BN statistics, max-pool with the arg-max) and one backward pass (the convolution is
recomputed, the gradient of ReLU + BN + max-pool formed in place, the weight gradient
accumulated), both in cache, one image at a time; the map itself is never stored.
``stream_step`` runs a fold's forward, batch statistics, head (post-pool layers and loss,
forward and backward) and backward in one call, fold after fold.

``mt_uniform``: PyTorch's CPU generator (mt19937) re-implemented on its ``get_state()``
bytes, to draw the dropout uniforms ``torch.rand(float64)`` would, ~4x faster than its
per-element loop; used only where :attr:`StreamKernels.reproduces_torch_rand` confirms
at start-up that values and final state agree on this build.

Layout: images zero-padded and channels-last, ``(rows, H + 2p, H + 2p, C)``; each fold
reads its batch through a row index, so folds share one copy of the data. Channels are
padded to a multiple of 8 (one 8-float SIMD vector) with zero weights; the padded
channels are ignored. Per-fold quantities are stacked on a leading fold axis.

The math is that of ``microexpr.training.batched.StackedStreamNet`` (BN applied after
pooling, the max-pool's arg-max taken on the convolution output, first maximum in
row-major window order as PyTorch's max-pool): see the tests in
``tests/flownets/test_batched.py``, which compare these kernels with autograd on the
``nn.Module``.

Build: the C source (``microexpr/training/fused/kernels.c``) is compiled by
:mod:`microexpr.training.fused.build` with the system C compiler (``$CC``, else ``cc`` /
``gcc``; ``-O3 -march=native``) once per geometry into the kernel cache
(:func:`microexpr.cache_dirs.kernel_cache_dir`) and loaded with ctypes. When no compiler works,
:func:`load_stream_kernels` raises ``RuntimeError`` with the reason and
``train_folds_batched(backend="auto")`` falls back to PyTorch ops (eager) with a logged
warning. No OpenMP: the kernels are single-threaded and callers split folds across
threads (ctypes releases the GIL during a call).

Why not ``torch.compile``: the stacked step compiled with inductor (CPU, gcc) measured
~40-50 ms per 256 images (vs ~110 ms plain, ~12 ms here), after 20-50 s of compiling per
batch shape (ragged last batches add shapes); its generated reductions and max-pool
backward make several strided passes over the pre-pool maps.
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelError
from .fused.build import compile_kernels, compilers




BN_EPS = 1e-5
"""BatchNorm's epsilon (PyTorch's default), compiled into the kernels and used by every batched path."""


@dataclass(frozen=True)
class Geometry:
    """Compile-time sizes of one ``ParallelStreamNet`` architecture."""

    in_chans: int
    channels: int  # sum of the stream widths
    input_size: int
    padding: int
    num_classes: int

    @property
    def padded_channels(self) -> int:
        return -(-self.channels // 8) * 8

    @property
    def conv_size(self) -> int:
        return self.input_size + 2 * self.padding - 2

    @property
    def pooled_size(self) -> int:
        return (self.conv_size - 1) // 3 + 1

    def defines(self) -> list[str]:
        return [f"-DBN_EPS={BN_EPS!r}", f"-DC_IN={self.in_chans}", f"-DKR={self.channels}", f"-DKP={self.padded_channels}",
                f"-DH={self.input_size}", f"-DPD={self.padding}", f"-DNC={self.num_classes}"]


def _compilers() -> list[str]:
    return compilers()


def build_library(geom: Geometry) -> Path:
    """Compile the kernels for ``geom`` (cached); raises ``RuntimeError`` naming the failure."""
    return compile_kernels(geom.defines(), find_compilers=_compilers)


_P = ctypes.c_void_p
_I = ctypes.c_int64
_LOADED: dict[Geometry, "StreamKernels"] = {}
_GEN_STATE_BYTES = 5056  # sizeof(CPUGeneratorImplState): mt19937 words in a legacy layout


_F32, _F64, _I64, _U8 = torch.float32, torch.float64, torch.int64, torch.uint8


def _ptrs(*pairs: tuple[torch.Tensor | None, torch.dtype]) -> list[int | None]:
    """Data pointers, after checking what the C code assumes (contiguous, dtype)."""
    out = []
    for t, dtype in pairs:
        if t is not None and (t.dtype != dtype or not t.is_contiguous() or t.device.type != "cpu"):
            raise ModelError(f"fused kernels need contiguous CPU {dtype} tensors, got {t.dtype} {tuple(t.shape)} "
                             f"(contiguous={t.is_contiguous()}, device={t.device})")
        out.append(None if t is None else t.data_ptr())
    return out


class StreamKernels:
    """ctypes front end of the compiled kernels for one geometry (see the module docstring)."""

    def __init__(self, geom: Geometry, lib_path: Path) -> None:
        self.geom = geom
        self.lib = ctypes.CDLL(str(lib_path))
        self.lib.stream_step.argtypes = [_I, _I, _I] + [_P] * 13 + [ctypes.c_double, ctypes.c_float, _P, _I] + [_P] * 12
        self.lib.stream_step.restype = None
        self.lib.mt_uniform.argtypes = [_P, _I, _P]
        self.lib.mt_uniform.restype = None

    def pad_images(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> zero-padded channels-last ``(N, H+2p, W+2p, C)`` float32."""
        g = self.geom
        if x.ndim != 4 or x.shape[1] != g.in_chans or x.shape[2] != g.input_size or x.shape[3] != g.input_size:
            raise ModelError(f"fused kernels built for (N, {g.in_chans}, {g.input_size}, {g.input_size}) inputs, got {tuple(x.shape)}")
        p = g.padding
        return torch.nn.functional.pad(x.float(), (p, p, p, p)).permute(0, 2, 3, 1).contiguous()

    def uniform(self, generator: torch.Generator, out: torch.Tensor) -> None:
        """Fill ``out`` (contiguous float64) with ``torch.rand``'s next draws from ``generator``
        and advance it as ``torch.rand`` would, in C (~4x faster than PyTorch's per-element
        loop). Only where :meth:`reproduces_torch_rand` holds."""
        state = generator.get_state()
        if state.numel() != _GEN_STATE_BYTES:
            raise ModelError(f"unexpected torch.Generator state size {state.numel()} (expected {_GEN_STATE_BYTES})")
        self.lib.mt_uniform(*_ptrs((state, _U8)), out.numel(), *_ptrs((out, _F64)))
        generator.set_state(state)

    @functools.cached_property
    def reproduces_torch_rand(self) -> bool:
        """Whether :meth:`uniform` gives exactly ``torch.rand(n, dtype=float64)``'s values and
        generator state on this PyTorch build (checked once: over several lengths, across the
        mt19937 state refills, and after draws of other lengths). If not, callers use
        ``torch.rand``."""
        if torch.Generator().get_state().numel() != _GEN_STATE_BYTES:
            return False
        g1, g2 = torch.Generator(), torch.Generator()
        for seed, sizes in ((0, (1, 5, 311, 312, 313)), (2**40 + 3, (700, 4000, 1)), (12345, (20000,))):
            g1.manual_seed(seed)
            g2.manual_seed(seed)
            for n in sizes:
                a = torch.rand(n, dtype=torch.float64, generator=g1)
                b = torch.empty(n, dtype=torch.float64)
                self.uniform(g2, b)
                if not (torch.equal(a, b) and torch.equal(g1.get_state(), g2.get_state())):
                    return False
        return True

    def step(self, f0: int, f1: int, B: int, sizes: torch.Tensor, rows: torch.Tensor, labels: torch.Tensor,
             ximg: torch.Tensor, wt: torch.Tensor, bias: torch.Tensor, sgn: torch.Tensor, gamma: torch.Tensor,
             beta: torch.Tensor, fcw: torch.Tensor, fcb: torch.Tensor, mask: torch.Tensor | None,
             unif: torch.Tensor | None, keep: float, mscale: float, widths: torch.Tensor,
             pooled: torch.Tensor, arg: torch.Tensor, gsel: torch.Tensor, mean: torch.Tensor, var: torch.Tensor,
             loss: torch.Tensor, dw: torch.Tensor, db: torch.Tensor, dgamma: torch.Tensor, dbeta: torch.Tensor,
             dfcw: torch.Tensor, dfcb: torch.Tensor) -> None:
        """``stream_step`` (see the C source) for folds ``[f0, f1)``; the caller checks shapes."""
        head = _ptrs((sizes, _I64), (rows, _I64), (labels, _I64), (ximg, _F32), (wt, _F32), (bias, _F32), (sgn, _F32),
                     (gamma, _F32), (beta, _F32), (fcw, _F32), (fcb, _F32), (mask, _F32), (unif, _F64))
        tail = _ptrs((pooled, _F32), (arg, _U8), (gsel, _F32), (mean, _F32), (var, _F32), (loss, _F64), (dw, _F32),
                     (db, _F32), (dgamma, _F32), (dbeta, _F32), (dfcw, _F32), (dfcb, _F32))
        self.lib.stream_step(f0, f1, B, *head, keep, mscale, *_ptrs((widths, _I64)), len(widths), *tail)


def load_stream_kernels(geom: Geometry) -> StreamKernels:
    """The kernels for ``geom``, compiled on first use; raises ``RuntimeError`` if they cannot be built."""
    if geom not in _LOADED:
        if np.dtype(np.intp).itemsize != 8:
            raise RuntimeError("fused kernels need a 64-bit platform")
        _LOADED[geom] = StreamKernels(geom, build_library(geom))
    return _LOADED[geom]
