"""One cache rule for every command: run, demo, export, features and the report share it."""

from __future__ import annotations

from pathlib import Path

from microexpr.cache_dirs import cache_root, input_cache_dir, kernel_cache_dir
from microexpr.cli.demo_cmd import default_cache
from microexpr.runs import execute_run
from tests.runs.runs_helpers import labelled_table, run_config, run_data


def test_the_cache_root_and_its_folders(tmp_path, monkeypatch):
    monkeypatch.delenv("MICROEXPR_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "microexpr"
    monkeypatch.setenv("MICROEXPR_CACHE", str(tmp_path / "shared"))
    assert cache_root() == default_cache() == tmp_path / "shared"
    assert input_cache_dir() == tmp_path / "shared" / "inputs" and kernel_cache_dir() == tmp_path / "shared" / "kernels"
    assert input_cache_dir(str(tmp_path / "mine")) == tmp_path / "mine"  # a config's cache_dir wins


def test_run_and_demo_share_the_inputs_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROEXPR_CACHE", str(tmp_path / "shared"))
    seen = {}

    import microexpr.runs.engine as engine

    real = engine.run_context

    def spy(*args, **kw):
        ctx = real(*args, **kw)
        seen["cache"] = ctx.cache_dir
        return ctx

    monkeypatch.setattr(engine, "run_context", spy)
    execute_run(run_config({"name": "majority"}, {"name": "cde"}), tmp_path / "run", progress=False,
                data=run_data(labelled_table({"casme2": 2})))
    assert Path(seen["cache"]) == default_cache() / "inputs"  # where `microexpr demo` keeps its arrays
