"""The Micro-Attention configs load, build their method, and carry the paper's tables."""

from __future__ import annotations

from pathlib import Path

import pytest

import microexpr.config as config_mod
from microexpr.methods import create_method  # noqa: E402

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("microattention_*.yaml"))
PAPER_TABLES = {"microattention_hde": 2, "microattention_cde": 4, "microattention_cde_resnet10": 4,
                "microattention_loso": 6, "microattention_loso_smic": 6}


def test_every_table_has_a_config():
    assert {p.stem for p in CONFIGS} >= set(PAPER_TABLES) | {"microattention_cpu"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_builds_its_method(path):
    cfg = config_mod.load_config(path)
    resolved = config_mod.resolve_config(cfg, require_roots=False)
    method = create_method(resolved["method"]["name"], resolved["method"]["params"])
    assert method.attention == (resolved["method"]["name"] == "micro_attention")
    if path.stem in PAPER_TABLES:
        ref = cfg.paper_reference
        assert ref is not None and f"Table {PAPER_TABLES[path.stem]}" in ref.source
        scopes = {s for rows in ref.rows.values() for s in rows}
        assert scopes <= set(cfg.data.datasets) | {"overall"}
        assert method.base_width == 64 and method.input_size == 224  # the paper's full setting
    else:
        assert method.input_size <= 64  # reduced CPU config
