"""``microexpr spot`` end to end on tiny synthetic long videos: the run directory, resuming,
refusing another config, the table; the planted intervals are the reference (manifest.json)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from microexpr.cli import main
from microexpr.errors import ConfigError
from microexpr.spotting.engine import execute_spot, load_spot_config
from microexpr.spotting.spotters import create_spotter


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cache = tmp_path_factory.mktemp("spotcache")
    cfg = load_spot_config("roi_flow_synthetic")
    import dataclasses

    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, synthetic="tiny"))
    return cfg, cache


def test_spot_run_writes_resumes_and_scores_against_the_planted_intervals(tiny, tmp_path):
    cfg, cache = tiny
    m = execute_spot(cfg, tmp_path / "run", progress=False, cache=cache)
    assert m["n_videos"] == 2 and m["computed"] == 2
    truths = pd.read_csv(tmp_path / "run" / "truths.csv")
    for layout in ("casme_sq_long", "samm_long"):  # the truths are the generator's planted intervals, 1-based numbers
        manifest = json.loads((cache / f"long-{layout}-tiny-seed0" / "manifest.json").read_text())
        planted = sorted((k, on - 1, off - 1) for v in manifest["videos"] for k, on, _, off, _ in v["intervals"])
        got = sorted((t.type, t.onset, t.offset) for t in truths[truths["key"].str.startswith(layout)].itertuples())
        assert got == planted
    spotted = sorted((tmp_path / "run" / "videos").glob("*.csv"))
    assert len(spotted) == 2 and all(len(np.load(p)) > 0 for p in (tmp_path / "run" / "curves").glob("*.npy"))
    o = m["all"]["overall"]
    assert o["tp"] + o["fn"] == len(truths) and 0 <= o["f1"] <= 1
    again = execute_spot(cfg, tmp_path / "run", progress=False, cache=cache)
    assert again["computed"] == 0 and again["all"] == m["all"]
    import dataclasses

    other = dataclasses.replace(cfg, spotter=dataclasses.replace(cfg.spotter, params={"p": 0.5}))
    with pytest.raises(ConfigError, match="another config"):
        execute_spot(other, tmp_path / "run", progress=False, cache=cache)


def test_cli_spot_prints_the_table_with_the_published_rows(tiny, tmp_path, capsys, monkeypatch):
    cfg, cache = tiny
    path = tmp_path / "tiny.yaml"
    import yaml

    raw = yaml.safe_load(open(load_spot_config.__globals__["SPOT_CONFIG_DIR"] / "roi_flow_synthetic.yaml"))
    raw["data"]["synthetic"] = "tiny"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("MICROEXPR_CACHE", str(cache.parent / "clicache"))
    assert main(["spot", str(path), "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "roi_flow (ours)" in out and "LTP-ML (published)" in out and "0.0316" in out and "SYNTHETIC" in out


def test_bad_spot_configs_name_the_fix(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndata: {datasets: {casme2: null}}\nspotter: {name: roi_flow}\n")
    with pytest.raises(ConfigError, match="long-video corpora"):
        load_spot_config(bad)
    bad.write_text("name: x\ndata: {datasets: {samm_long: null}}\nspotter: {name: roi_flow, params: {k: 3}}\n")
    with pytest.raises(ConfigError, match="unknown parameter"):
        load_spot_config(bad)
    with pytest.raises(ConfigError, match="roi_flow_synthetic"):
        load_spot_config("no_such_config")
    with pytest.raises(ConfigError, match="--data casme_sq_long=DIR"):
        execute_spot(load_spot_config("roi_flow"), tmp_path / "r", progress=False)


def test_random_control_is_reproducible_and_typed():
    from microexpr.spotting.spotters import VideoCrops

    video = VideoCrops(np.zeros((600, 16, 16), np.uint8), np.zeros((68, 2), np.float32), 30.0, (0, 0, 16, 16), 0)
    a, b = create_spotter("random").spot(video), create_spotter("random").spot(video)
    assert a.intervals == b.intervals and len(a.intervals) == 7  # 20 per minute of a 20 s video
    assert {i.kind for i in a.intervals} == {"micro", "macro"} and all(i.offset < 600 for i in a.intervals)


def test_report_lays_several_spot_runs_side_by_side(tiny, tmp_path, capsys):
    import dataclasses

    cfg, cache = tiny
    execute_spot(cfg, tmp_path / "roi", progress=False, cache=cache)
    rnd = dataclasses.replace(cfg, spotter=dataclasses.replace(cfg.spotter, name="random", params={}))
    m = execute_spot(rnd, tmp_path / "rnd", progress=False, cache=cache)
    assert main(["report", str(tmp_path / "roi"), str(tmp_path / "rnd")]) == 0
    out = capsys.readouterr().out
    assert "roi (roi_flow)" in out and "rnd (random)" in out and "LTP-ML (published)" in out
    row = next(line for line in out.splitlines() if line.startswith("rnd (random)") and " all " in line)
    assert row.split()[-1] == f"{m['all']['overall']['f1']:.4f}"
