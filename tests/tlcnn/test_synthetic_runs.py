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
# 0.407; TLCNN with shuffled labels 0.176.
LEARNS = {"tlcnn": 0.38, "tlcnn_e": 0.38, "c5_svm": 0.35}
SHUFFLED_MAX = 0.32
# TLCNN(EM) (CNN+LSTM from random weights on 51 training clips) does NOT generalise above chance
# here: UF1 0.205 (config as shipped), 0.267 (300 epochs at lr 0.01), 0.155 (whole-clip windows,
# training collapsed). Only its fit to the training clips is checked (a weaker claim, stated as such).
EM_TRAIN_ACC = 0.35  # class-balanced epochs: 0.25 is the share of any one class


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
    cfg = reduced_config(corpus, variant)
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
    assert "tlcnn stage 2: frames" in log  # every variant tested here fine-tunes on frames


@pytest.mark.slow
def test_tlcnn_em_fits_its_training_clips(corpus, tmp_path):
    """TLCNN(EM): no stage 1 or 2 (nothing of them in the log or the stage folder), and stage 3's
    training accuracy over the last 10 epochs above one class's share of the balanced epochs."""
    import pandas as pd

    result = runs.execute_run(reduced_config(corpus, "tlcnn_em"), tmp_path / "run", progress=False)
    print(f"SYNTHETIC tlcnn_em: UF1 {result.metrics['overall']['uf1']:.3f} (not above chance: module doc)")
    log = (tmp_path / "run" / "run.log").read_text()
    assert "stage 1" not in log and "stage 2" not in log and not (tmp_path / "run" / "stages").exists()
    hist = pd.concat(pd.read_csv(p) for p in sorted((tmp_path / "run" / "history" / "seed0").glob("fold*.csv")))
    late = hist[hist["epoch"] >= hist["epoch"].max() - 9]
    assert late["train_acc"].mean() >= EM_TRAIN_ACC


@pytest.mark.slow
def test_shuffled_labels_stay_near_chance(corpus, tmp_path):
    cfg = reduced_config(corpus, "tlcnn")
    shuffled = runs.execute_run(cfg, tmp_path / "shuffled", progress=False,
                                data=runs.load_run_data(cfg).with_shuffled_labels(0))
    uf1 = shuffled.metrics["overall"]["uf1"]
    print(f"SYNTHETIC tlcnn, shuffled labels: UF1 {uf1:.3f}")
    assert uf1 <= SHUFFLED_MAX
