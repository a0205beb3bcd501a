"""The fused STSTNet/LAENet training kernels: ``kernels.c`` (real C) and ``build.py`` (compiles it)."""
