"""Slow: on the quick synthetic long videos (both layouts; planted micro- and macro-expressions,
blinks, head motion, flicker) the ROI-flow spotter reaches micro F1 >= 0.6 at IoU >= 0.5, and
both it and the learned SOFTNet (leave-one-subject-out) beat the random-interval control by a
wide margin. Synthetic videos: this shows spotting works, not how it does on real long videos."""

from __future__ import annotations

import dataclasses

import pytest

from microexpr.spotting.engine import execute_spot, load_spot_config


def _beside_random(name: str, tmp_path) -> tuple[dict, dict]:
    """The packaged config ``name`` and the random control on the same videos: their metrics."""
    cfg = load_spot_config(name)
    ours = execute_spot(cfg, tmp_path / "ours", progress=False, cache=tmp_path / "cache")
    rnd = execute_spot(dataclasses.replace(cfg, spotter=dataclasses.replace(cfg.spotter, name="random", params={})),
                       tmp_path / "random", progress=False, cache=tmp_path / "cache")
    print(f"synthetic spotting F1: {cfg.spotter.name}", {k: round(v["f1"], 3) for k, v in ours["all"].items()},
          "random", {k: round(v["f1"], 3) for k, v in rnd["all"].items()})
    return ours, rnd


@pytest.mark.slow
def test_roi_flow_spots_the_planted_micro_expressions_and_beats_random(tmp_path):
    roi, rnd = _beside_random("roi_flow_synthetic", tmp_path)
    assert roi["all"]["micro"]["f1"] >= 0.6
    for layout in ("casme_sq_long", "samm_long"):
        assert roi[layout]["micro"]["f1"] >= 0.5
    assert roi["all"]["overall"]["f1"] >= rnd["all"]["overall"]["f1"] + 0.4
    assert roi["all"]["micro"]["f1"] >= rnd["all"]["micro"]["f1"] + 0.4


@pytest.mark.slow
def test_softnet_learns_to_spot_leave_one_subject_out(tmp_path):
    soft, rnd = _beside_random("softnet_synthetic", tmp_path)
    assert soft["all"]["overall"]["f1"] >= rnd["all"]["overall"]["f1"] + 0.25
    assert soft["all"]["micro"]["f1"] >= 0.4
