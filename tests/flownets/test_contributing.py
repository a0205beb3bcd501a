"""docs/CONTRIBUTING.md's worked example, run as written: two files make a new network that
the registries find, the engine trains, and the config schema accepts.

Synthetic flow images (``synthetic.py``): the score shows the example works, not how a
method does on real micro-expressions."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import yaml

from microexpr.config import config_from_dict
from microexpr.methods.registry import METHODS
from microexpr.models.registry import MODELS
from microexpr.runs import execute_run
from tests.flownets.synthetic import clip_table, flow_images, write_labels_csv, write_pngs

DOC = Path(__file__).resolve().parents[2] / "docs" / "CONTRIBUTING.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def _load_example() -> None:
    if "tinyflow" in METHODS:
        return
    for code in _blocks("python"):
        path = re.match(r"# file: microexpr/(\w+)/(\w+)\.py", code)
        assert path, "each example block names its file"
        name = f"microexpr_example_{path.group(1)}_{path.group(2)}"
        module = types.ModuleType(name)
        sys.modules[name] = module
        exec(compile(code, str(DOC), "exec"), module.__dict__)


def test_the_worked_example_trains_and_predicts(tmp_path):
    _load_example()
    assert "tinyflow" in MODELS and "tinyflow" in METHODS
    table = clip_table(n_subjects=3, clips_per_class=2)
    folder = write_pngs(table, flow_images(table), tmp_path / "png")
    labels = write_labels_csv(table, tmp_path / "labels.csv")
    (raw,) = [yaml.safe_load(b) for b in _blocks("yaml")]
    raw["data"] = {"datasets": {"flow_png": str(folder)}, "options": {"flow_png": {"labels": str(labels)}},
                   "scheme": "composite3", "synthetic": True}
    res = execute_run(config_from_dict(raw), tmp_path / "run", progress=False)
    uf1 = res.metrics["overall"]["uf1"]
    print(f"docs example TinyFlow, synthetic CDE UF1 {uf1:.3f}")
    assert len(res.folds) == 9 and uf1 > 0.6  # chance is 1/3
    assert len(list((res.run_dir / "history" / "seed0").glob("*.csv"))) == 9  # histories come with the recipe
