"""A small "demo" model for the predict, artefact and HTML-report tests, trained through the real stack.

The quick synthetic corpus (``microexpr.synth``) -> the real readers and the composite
label scheme (via the run engine) -> ``flow_image`` inputs (``microexpr.inputs``) ->
a LAENet trained for a few epochs under HDE with two seeds (``execute_run``) -> a run
directory -> ``export_run`` (re-fit on all clips) -> an artefact file.

The method is the registered ``laenet`` (it implements ``export_payload()``, the
``ExportableMethod`` protocol). Everything lives at fixed paths under pytest's base temp folder, so test modules
that each call :func:`demo_run` share one corpus, one inputs cache and one finished run
(the corpus generator, the inputs cache and the run engine all reuse finished work).

Numbers measured with this model come from synthetic data: they show the pipeline works,
not how LAENet does on real micro-expressions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

METHOD_NAME = "laenet"  # the registered method; it implements export_payload()
METHOD_PARAMS = {"epochs": 60, "lr": 0.005, "batch_size": 64, "pretrain_ckplus": False, "eye_mask": True,
                 "flow_params": {"flow_method": "farneback"}}  # farneback: fast enough for unit tests


@dataclass(frozen=True)
class DemoRun:
    roots: dict[str, Path]
    cache: Path
    run_dir: Path
    model: Path


def demo_run(base: Path) -> DemoRun:
    """Build (or reuse) the corpus, run and artefact under ``base``."""
    from microexpr.artefacts import export_run
    from microexpr.config import config_from_dict
    from microexpr.runs import execute_run
    from microexpr.synth import generate_corpus

    roots = generate_corpus(base / "synth-quick", size="quick", seed=0, progress=False)
    cache = base / "inputs-cache"
    run_dir = base / "runs" / "demo_hde"
    model = base / "demo_model.pt"
    if not model.exists():
        raw = {
            "name": "demo_hde_test",
            "description": "tiny LAENet, HDE casme2 <-> samm, synthetic quick corpus",
            "data": {"datasets": {"casme2": str(roots["casme2"]), "samm": str(roots["samm"])},
                     "scheme": "composite3", "synthetic": True},
            "protocol": {"name": "hde", "test": ["casme2", "samm"]},
            "method": {"name": METHOD_NAME, "params": METHOD_PARAMS},
            "seeds": [0, 1],
            "cache_dir": str(cache),
            "n_jobs": 1,
            "paper_reference": {"source": "LAENet (Lien & Chiang, 2020), Table 4 (illustrative)",
                                "metric_names": ["acc", "uf1", "uar"],
                                "rows": {"LAENet": {"overall": {"uf1": 0.7, "uar": 0.7}, "casme2": {"uf1": 0.8}}}},
        }
        execute_run(config_from_dict(raw), run_dir, progress=False)
        export_run(run_dir, model, progress=False)
    return DemoRun(roots, cache, run_dir, model)
