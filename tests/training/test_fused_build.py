"""The fused kernels are real C: they compile warning-free under -Wall -Wextra -Werror, and a
training step runs clean under AddressSanitizer (slow suite)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from microexpr.training.fused.build import FLAGS, KERNEL_SOURCE, STRICT_FLAGS, compile_kernels, compilers
from microexpr.training.stream_kernels import Geometry

GEOMETRIES = [Geometry(3, 16, 28, 2, 3), Geometry(3, 8, 28, 1, 3), Geometry(2, 5, 28, 1, 5)]  # STSTNet, LAENet, odd


def _need_compiler() -> None:
    if not compilers():
        if os.environ.get("CI"):
            pytest.fail("no C compiler, but CI is set: setup.sh installs gcc")
        pytest.skip("no C compiler here")


@pytest.mark.parametrize("geom", GEOMETRIES, ids=lambda g: f"K{g.channels}C{g.in_chans}N{g.num_classes}")
def test_kernels_compile_without_a_single_warning(tmp_path, geom):
    _need_compiler()
    lib = compile_kernels(geom.defines(), flags=(*FLAGS, *STRICT_FLAGS), out_dir=tmp_path)
    assert lib.is_file() and KERNEL_SOURCE.suffix == ".c"


ASAN_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    import torch
    from microexpr.models.layers import ParallelStreamNet
    from microexpr.training.batched import StackedStreamNet
    from microexpr.training.fused.build import ASAN_FLAGS, compile_kernels
    from microexpr.training.fused_step import FusedStreamStep, geometry_of
    from microexpr.training.stream_kernels import StreamKernels

    torch.manual_seed(0)
    for widths, nc in (((3, 5, 8), 3), ((2, 3), 5)):
        models = [ParallelStreamNet(widths, padding=2, num_classes=nc) for _ in range(3)]
        net = StackedStreamNet(models)
        geom = geometry_of(net)
        kern = StreamKernels(geom, compile_kernels(geom.defines(), flags=ASAN_FLAGS, out_dir=Path(sys.argv[1])))
        step = FusedStreamStep(net, kern, threads=2)
        x = torch.rand(30, 3, 28, 28) * 255
        y = torch.randint(0, nc, (30,))
        rows = torch.stack([torch.randperm(30)[:11] for _ in range(3)])
        P = models[0].pooled_size
        masks = (torch.rand(3, 11, net.channels, P, P) > 0.5).float() * 2
        for sizes in ([11, 4, 0], [1, 11, 7]):  # ragged, empty and one-row folds
            step(step.pad_images(x), rows, sizes, y[rows], masks)
        step.close()
    print("asan clean")
""")


@pytest.mark.slow
def test_a_training_step_is_clean_under_address_sanitizer(tmp_path):
    _need_compiler()
    runtime = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    if not runtime or not os.path.isfile(runtime):
        pytest.skip("gcc's AddressSanitizer runtime (libasan) is not installed")
    env = {**os.environ, "LD_PRELOAD": runtime, "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1"}
    proc = subprocess.run([sys.executable, "-c", ASAN_SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert "ERROR: AddressSanitizer" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 0 and "asan clean" in proc.stdout, proc.stderr[-3000:]
