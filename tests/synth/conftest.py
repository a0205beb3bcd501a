"""Fixtures of the synthetic-corpus tests: one quick corpus per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from microexpr.synth import generate_corpus


@pytest.fixture(scope="session")
def quick_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """(corpus folder, dataset -> root) of the quick corpus, seed 0, default nuisances."""
    out = tmp_path_factory.mktemp("synth") / "quick-seed0"
    return out, generate_corpus(out, size="quick", seed=0)
