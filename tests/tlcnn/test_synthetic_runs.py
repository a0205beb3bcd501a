"""The reduced TLCNN config end to end on the synthetic corpus: every Table 3 variant, against
shuffled labels, with the stages built once per run and reused by every fold.

Numbers measured here are on SYNTHETIC data: they show the pipeline works, not how TLCNN does
on real micro-expressions. Four classes (tlcnn4); guessing at random gives a UF1 of about 0.25,
always predicting the majority class about 0.14.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from microexpr import config as config_mod
from microexpr import runs
from microexpr.synth import generate_corpus

CPU_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tlcnn_cpu.yaml"
# Lowest UF1 accepted per variant (real labels); highest accepted with shuffled labels. Measured
# once (seed 0, SYNTHETIC, quick corpus, config as shipped): TLCNN 0.463, TLCNN(E) 0.501, C5+SVM
# 0.407, TLCNN(EM) 0.374 (with EM_STAGE3); shuffled labels: TLCNN 0.176, TLCNN(EM) with EM_STAGE3 0.215.
LEARNS = {"tlcnn": 0.38, "tlcnn_e": 0.38, "c5_svm": 0.35, "tlcnn_em": 0.31}
SHUFFLED_MAX = 0.32
# TLCNN(EM) trains the CNN + LSTM from random weights on 51 clips: with the config's stage-3 settings
# (batch 8, 60 epochs) it stays at chance (UF1 0.205); smaller batches and more epochs let it learn
# (README: `--set method.params.lstm_batch_size=4 ...`). Tried: lr 0.01 x 60 / 300 epochs 0.225 / 0.267,
# lr 0.005 x 150 epochs 0.271, whole-clip windows 0.155 (training collapsed).
EM_STAGE3 = {"lstm_batch_size": 4, "lstm_epochs": 250, "lstm_step_epochs": 200}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return generate_corpus(tmp_path_factory.mktemp("synth") / "corpus", size="quick")


def reduced_config(corpus: dict[str, Path], variant: str, **params: object):
    cfg = config_mod.load_config(CPU_CONFIG)
    cfg = config_mod.with_data_overrides(cfg, {k: str(v) for k, v in corpus.items()})
    method = dataclasses.replace(cfg.method, params={**cfg.method.params, "variant": variant, **params})
    return dataclasses.replace(cfg, name=f"tlcnn_cpu_{variant}", method=method, n_jobs=1,
                               data=dataclasses.replace(cfg.data, synthetic=True))


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(LEARNS))
def test_every_variant_learns(corpus, tmp_path, variant):
    cfg = reduced_config(corpus, variant, **(EM_STAGE3 if variant == "tlcnn_em" else {}))
    result = runs.execute_run(cfg, tmp_path / "run", progress=False)
    uf1 = result.metrics["overall"]["uf1"]
    print(f"SYNTHETIC {variant}: UF1 {uf1:.3f}")
    assert uf1 >= LEARNS[variant]
    log = (tmp_path / "run" / "run.log").read_text()
    if variant in ("tlcnn", "c5_svm"):  # stage 1 built once, reused by the other four folds
        assert len(re.findall(r"tlcnn stage 1: expression pretraining: \d+ epochs", log)) == 1
        assert log.count("reusing tlcnn_expression") == 4
    else:
        assert "expression pretraining" not in log
    assert ("tlcnn stage 2: frames" in log) == (variant != "tlcnn_em")  # TLCNN(EM): stage 3 only


@pytest.mark.slow
def test_shuffled_labels_stay_near_chance(corpus, tmp_path):
    cfg = reduced_config(corpus, "tlcnn")
    shuffled = runs.execute_run(cfg, tmp_path / "shuffled", progress=False,
                                data=runs.load_run_data(cfg).with_shuffled_labels(0))
    uf1 = shuffled.metrics["overall"]["uf1"]
    print(f"SYNTHETIC tlcnn, shuffled labels: UF1 {uf1:.3f}")
    assert uf1 <= SHUFFLED_MAX
