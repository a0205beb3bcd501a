"""Slow: STSTNet and LAENet through the real pipeline (synthetic corpus -> preprocessing ->
CDE engine -> pooled metrics), and the eye-masking ablation. Run with ``-m slow``.

Measured on the quick synthetic corpus (60 clips, 15 subjects; 60 epochs, lr 5e-3,
batch 32, Farneback flow): LAENet UF1 0.97 with CK+ pretraining and eye masking. The
bound below (0.8) comes from that measurement with room for platform differences.
Synthetic numbers show the pipeline works, not how the methods do on real data.
"""

from __future__ import annotations

import pytest

from microexpr.config import config_from_dict
from microexpr.runs.engine import execute_run
from microexpr.synth import generate_corpus

pytestmark = pytest.mark.slow
UF1_BOUND = 0.8


def run(tmp_path, roots, name, params, aux=True):
    cfg = {
        "name": f"{name}_e2e", "description": "synthetic end-to-end",
        "data": {"datasets": {d: str(roots[d]) for d in ("casme2", "samm", "smic")},
                 "options": {"smic": {"apex": "middle"}}, "scheme": "composite3",
                 **({"aux": {"ckplus": str(roots["ckplus"])}} if aux else {})},
        "protocol": {"name": "cde"},
        "method": {"name": name, "params": {"epochs": 60, "lr": 5.0e-3, "batch_size": 32,
                                            "flow_params": {"flow_method": "farneback"}, **params}},
        "seeds": [0], "batched_folds": True, "cache_dir": str(tmp_path / "cache"),
    }
    return execute_run(config_from_dict(cfg), tmp_path / f"run_{name}_{len(params)}_{params.get('eye_mask')}", progress=False)


def test_flow_networks_end_to_end_on_the_synthetic_corpus(tmp_path):
    roots = generate_corpus(tmp_path / "synth", size="quick", seed=0)
    lae = run(tmp_path, roots, "laenet", {"pretrain_ckplus": True, "pretrain_epochs": 60, "eye_mask": True})
    assert lae.metrics["overall"]["uf1"] >= UF1_BOUND
    assert list((lae.run_dir / "stages").glob("laenet_ckplus_pretrain-*.pt"))
    st = run(tmp_path, roots, "ststnet", {}, aux=False)
    assert st.metrics["overall"]["uf1"] >= UF1_BOUND
    no_eye = run(tmp_path, roots, "laenet", {"pretrain_ckplus": True, "pretrain_epochs": 60, "eye_mask": False})
    print(f"synthetic LAENet UF1: eye masking {lae.metrics['overall']['uf1']:.3f}, "
          f"without {no_eye.metrics['overall']['uf1']:.3f}; STSTNet {st.metrics['overall']['uf1']:.3f}")
    assert 0.0 <= no_eye.metrics["overall"]["uf1"] <= 1.0
