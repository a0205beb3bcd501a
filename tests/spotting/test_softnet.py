"""SOFTNet: pseudo-labels (worked out by hand), the network's shapes, and leave-one-subject-out
training in ``microexpr spot`` (the spotted subject's videos are never in its training set)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from microexpr.spotting.engine import execute_spot, load_spot_config
from microexpr.spotting.metric import Interval
from microexpr.spotting.softnet import SoftNet, SoftNetModel, flow_features, pseudo_labels


def test_pseudo_labels_mark_the_windows_that_overlap_an_expression():
    # n 20, k 3, expression 8..10: windows t..t+3 overlap it for t = 5..10
    y = pseudo_labels(20, 3, [Interval(8, 10)])
    assert np.flatnonzero(y).tolist() == [5, 6, 7, 8, 9, 10]
    assert pseudo_labels(20, 3, []).sum() == 0
    assert np.flatnonzero(pseudo_labels(6, 3, [Interval(1, 2)])).tolist() == [0, 1, 2]


def test_network_and_features_have_the_papers_shapes():
    model = SoftNetModel()
    assert [c.out_channels for c in model.streams] == [3, 5, 8]
    assert model(torch.zeros(4, 3, 42, 42)).shape == (4,)
    crops = (np.random.default_rng(0).random((10, 64, 64)) * 255).astype(np.uint8)
    f = flow_features(crops, 3)
    assert f.shape == (10, 3, 42, 42) and f.dtype == np.float32
    assert np.abs(f[7:]).max() == 0 and np.abs(f[:7]).max() > 0  # no t+k beyond the last frame


def test_spot_trains_softnet_leave_one_subject_out(tmp_path, monkeypatch):
    seen: list[tuple[set[int], int]] = []
    original_fit, original_spot = SoftNet.fit, SoftNet.spot

    def fit(self, videos, features=None):
        self.train_lengths_ = {len(v.crops) for v, _ in videos}
        return original_fit(self, videos, features)

    def spot(self, video, features=None):
        seen.append((self.train_lengths_, len(video.crops)))
        return original_spot(self, video, features)

    monkeypatch.setattr(SoftNet, "fit", fit)
    monkeypatch.setattr(SoftNet, "spot", spot)
    cfg = load_spot_config("softnet_synthetic")
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, synthetic="tiny"),
                              spotter=dataclasses.replace(cfg.spotter, params={"epochs": 1}))
    m = execute_spot(cfg, tmp_path / "run", progress=False, cache=tmp_path / "cache")
    # tiny: one 4 s video per layout, CAS(ME)^2 at 30 fps (120 frames), SAMM-LV at 200 fps (800)
    assert sorted((tuple(sorted(a)), b) for a, b in seen) == [((120,), 800), ((800,), 120)]  # trained on the other
    assert len(list((tmp_path / "run" / "features").glob("*.npy"))) == 4  # 2 videos x (micro k, macro k), cached
    assert m["computed"] == 2
