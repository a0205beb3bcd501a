"""Shared fixtures. Tests write their own data; nothing is downloaded."""

from __future__ import annotations

import os

# Keep each test process to one BLAS/torch thread: CI runs pytest -n 2 on 2 cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
