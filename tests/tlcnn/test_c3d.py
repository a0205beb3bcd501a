"""TLCNN's 3D-CNN baseline: TLCNN's printed widths and FC sizes on C3D's exploration net, the
paper's training settings, and learning on toy clips whose class is only in the motion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from microexpr.errors import ConfigError, ModelError
from microexpr.methods import create_method
from microexpr.methods.base import RunContext
from microexpr.methods.c3d import C3DMethod
from microexpr.models import create_model
from microexpr.training.loop import lr_at


def test_paper_widths_and_feature_sizes():
    net = create_model("c3d")
    assert [c.out_channels for c in net.convs] == [64, 128, 256, 256, 256]  # TLCNN §4.3
    assert all(c.kernel_size == (3, 3, 3) and c.padding == (1, 1, 1) for c in net.convs)
    assert (net.fc6.out_features, net.fc7.out_features, net.fc.out_features) == (2048, 2048, 4)
    # 32 frames of 112 px: time 32 -> 32 (pool 1x2x2) -> 16 -> 8 -> 4 -> 2, space 112 -> 56 -> ... -> 3
    assert net.out_size() == (2, 3) and net.fc6.in_features == 256 * 2 * 3 * 3
    with torch.no_grad():
        assert net(torch.zeros(1, 32, 3, 112, 112)).shape == (1, 4)
    assert create_model("c3d", frames=64).out_size() == (4, 3)
    with pytest.raises(ModelError, match="too small"):
        create_model("c3d", frames=8)


def test_training_settings_are_the_papers():
    m = create_method("c3d", {})
    cfg = m.train_config()
    assert (cfg.optimizer, cfg.momentum, cfg.lr, cfg.batch_size) == ("sgd", 0.9, 0.003, 7)
    # x0.1 after 20,000 iterations = 312 epochs of 64 iterations (448 clips / batch 7)
    assert 20000 // (448 // 7) == 312
    assert [lr_at(cfg, e) for e in (0, 311, 312)] == pytest.approx([0.003, 0.003, 0.0003])
    with pytest.raises(ConfigError, match="cannot give 112 px crops"):
        create_method("c3d", {"frame_width": 100})


def motion_clip(label: int, seed: int) -> torch.Tensor:
    """(16, 3, 40, 40): a bright square moving right (label 0) or down (label 1); every frame of
    either class holds the same square, so only the motion tells them apart."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, (16, 3, 40, 40), dtype=np.uint8)
    r0, c0 = rng.integers(4, 10, 2)
    for t in range(16):
        r, c = (r0, c0 + t) if label == 0 else (r0 + t, c0)
        x[t, :, r:r + 8, c:c + 8] = 230
    return torch.from_numpy(x)


def test_learns_motion_on_toy_clips(tmp_path, monkeypatch):
    rows = [{"key": f"d/s{i % 4}/c{i}", "subject": f"d/s{i % 4}", "label": i % 2} for i in range(32)]
    table = pd.DataFrame(rows)
    clips = {r["key"]: motion_clip(r["label"], i) for i, r in enumerate(rows)}
    monkeypatch.setattr(C3DMethod, "clips", lambda self, t, ctx: torch.stack([clips[k] for k in t["key"]]))
    ctx = RunContext(run_dir=tmp_path, cache_dir=None, classes=("right", "down"), progress=False)
    m = create_method("c3d", {"widths": [8, 16, 16, 16, 16], "fc": 32, "frame_height": 40, "frame_width": 40,
                              "input_size": 32, "tim_length": 16, "epochs": 60, "lr": 0.01, "batch_size": 8,
                              "dropout": 0.0})
    m.fit(table.iloc[:24], ctx)
    proba = m.predict_proba(table.iloc[24:], ctx)
    assert proba.shape == (8, 2)
    assert (proba.argmax(1) == table["label"].iloc[24:].to_numpy()).mean() >= 0.75
