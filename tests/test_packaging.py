"""What a pip-installed microexpr offers: packaged configs by name, `configs`, `doctor`,
`--version` with provenance. (CI also installs the built wheel in a fresh virtual
environment and runs them there: `.ci/wheel_check.sh`.)"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import microexpr
from microexpr.cli import main
from microexpr.config import load_config
from microexpr.doctor import render, run_checks
from microexpr.errors import ConfigError
from microexpr.packaged_configs import CONFIG_DIR, config_info, find_config, list_configs

REPO = Path(__file__).resolve().parents[1]


def test_every_config_ships_inside_the_package_once():
    assert CONFIG_DIR == Path(microexpr.__file__).resolve().parent / "configs"
    names = {p.name for p in CONFIG_DIR.glob("*.yaml")}
    assert {"laenet_cde.yaml", "ststnet_cde_png.yaml", "atnet_cde_fusion.yaml", "demo_cde.yaml"} <= names
    root_configs = REPO / "configs"  # the checkout's configs/ is the package's folder, not a copy
    assert root_configs.resolve() == CONFIG_DIR
    for info in list_configs():
        load_config(info.path)  # every packaged config is valid


def test_names_resolve_and_a_path_wins(tmp_path, monkeypatch):
    assert find_config("laenet_cde") == CONFIG_DIR / "laenet_cde.yaml" == find_config("laenet_cde.yaml")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "laenet_cde.yaml").write_text("name: mine\n")
    assert find_config("laenet_cde.yaml") == Path("laenet_cde.yaml")  # an existing path wins
    with pytest.raises(ConfigError, match=r"did you mean laenet_cde"):
        find_config("laenet_cdee")
    with pytest.raises(ConfigError, match="neither a file nor a packaged config"):
        find_config("some/dir/laenet_cde.yaml")  # a missing path is not silently a packaged name


def test_catalogue_reads_paper_table_method_protocol_from_the_files():
    info = config_info(CONFIG_DIR / "laenet_cde.yaml")
    assert (info.paper, info.table, info.method, info.protocol) == ("LAENet (Lien & Chiang, 2020)", "4", "laenet", "cde")
    hde = config_info(CONFIG_DIR / "atnet_hde_fusion.yaml")
    assert hde.table == "III" and hde.protocol.startswith("hde test=")
    assert {c.name for c in list_configs(method="atnet")} >= {"atnet_cde_fusion", "atnet_cpu"}
    assert all("ATNet" in c.paper or "ATNet" in c.description for c in list_configs(paper="atnet"))


def test_configs_cli(tmp_path, capsys):
    assert main(["configs", "list", "--method", "ststnet"]) == 0
    out = capsys.readouterr().out
    assert "ststnet_cde_png" in out and "laenet_cde " not in out
    assert main(["configs", "show", "off_apexnet_cde"]) == 0
    assert capsys.readouterr().out == (CONFIG_DIR / "off_apexnet_cde.yaml").read_text()
    assert main(["configs", "copy", "off_apexnet_cde", str(tmp_path)]) == 0
    assert (tmp_path / "off_apexnet_cde.yaml").read_text() == (CONFIG_DIR / "off_apexnet_cde.yaml").read_text()
    assert main(["configs", "copy", "off_apexnet_cde", str(tmp_path)]) == 2  # never overwrites
    assert "exists already" in capsys.readouterr().err
    assert main(["run", "ststnet_cde"]) == 2  # a packaged name runs (here it stops at the missing dataset roots)
    assert "give each with --data NAME=DIR" in capsys.readouterr().err


def test_doctor_reports_each_part_and_fails_on_a_missing_required_one(monkeypatch, capsys):
    checks = run_checks(fused=False)
    names = {c.name for c in checks}
    assert {"Python", "TV-L1 optical flow (OpenCV contrib)", "dlib 68-point landmark model", "GPU devices",
            "Ray (scale-out)"} <= names
    assert all(c.ok for c in checks if c.required) and "all required parts present" in render(checks)
    import microexpr.face.models as models

    monkeypatch.setattr(models, "SHAPE_PREDICTOR_68", "no_such_model.dat")
    assert main(["doctor", "--no-kernels"]) == 1
    out = capsys.readouterr().out
    assert "MISSING  dlib 68-point landmark model" in out and "fix: pip install face-recognition-models" in out


def test_version_names_the_git_commit_and_runs_record_it(tmp_path, capsys):
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    with pytest.raises(SystemExit):
        main(["--version"])
    out = capsys.readouterr().out
    assert out.startswith(f"microexpr {microexpr.__version__} (git {commit[:12]}")
    from tests.runs.runs_helpers import labelled_table, run_config, run_data

    from microexpr.runs import execute_run

    res = execute_run(run_config({"name": "majority"}, {"name": "cde"}), tmp_path / "run", progress=False,
                      data=run_data(labelled_table({"casme2": 2})))
    prov = json.loads((res.run_dir / "metrics.json").read_text())["microexpr"]
    assert prov["version"] == microexpr.__version__ and prov["git_commit"] == commit
    assert f"microexpr {microexpr.__version__} (git {commit[:12]}" in (res.run_dir / "run.log").read_text()
