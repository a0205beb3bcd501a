"""Tests of the apex-frame ResNet-10 / Micro-Attention layer (issue 8)."""
