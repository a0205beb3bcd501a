"""Run configs: strict schema, path resolution, --data overrides, resolved form."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from microexpr.config import (
    config_from_dict,
    dump_config,
    load_config,
    resolve_config,
    result_relevant,
    with_data_options,
    with_data_overrides,
    with_seeds,
)
from microexpr.errors import ConfigError

BASE = {
    "name": "demo",
    "data": {"datasets": {"casme2": "data/casme2", "smic": None}, "scheme": "composite3", "aux": {"ckplus": None}},
    "protocol": {"name": "cde"},
    "method": {"name": "majority"},
}


def _write(tmp_path: Path, raw: dict) -> Path:
    p = tmp_path / "cfg" / "run.yaml"
    p.parent.mkdir(exist_ok=True)
    p.write_text(yaml.safe_dump(raw))
    return p


def _with(path: tuple[str, ...], value) -> dict:
    raw = yaml.safe_load(yaml.safe_dump(BASE))
    node = raw
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return raw


def test_unknown_top_level_key_lists_the_allowed_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['sed'\]; allowed keys: \['name', 'data', 'protocol', 'method'.*'seeds'"):
        load_config(_write(tmp_path, _with(("sed",), [0])))


def test_unknown_nested_key_names_its_section(tmp_path):
    with pytest.raises(ConfigError, match=r"data: unknown key\(s\) \['schemes'\]; allowed keys: \['scheme', 'datasets'"):
        load_config(_write(tmp_path, _with(("data", "schemes"), "x")))
    with pytest.raises(ConfigError, match=r"protocol 'hde': unknown key\(s\) \['tset'\]; allowed keys: \['name', 'train', 'test'\]"):
        load_config(_write(tmp_path, _with(("protocol",), {"name": "hde", "tset": "smic"})))


@pytest.mark.parametrize(
    "path,value,match",
    [
        (("seeds",), "0", "seeds: expected a list"),
        (("seeds",), [0, "1"], r"seeds\[1\]: expected an integer"),
        (("data", "synthetic"), "yes", "data.synthetic: expected true or false"),
        (("data", "datasets"), ["casme2"], "data.datasets: expected a mapping"),
        (("batched_folds",), 1, "batched_folds: expected true or false"),
        (("paper_reference",), {"source": "x", "rows": {"M": {"overall": {"uf1": "high"}}}}, r"paper_reference.rows.M.overall.uf1: expected a number"),
    ],
)
def test_wrong_types_name_the_key_path(tmp_path, path, value, match):
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, _with(path, value)))


def test_bad_values_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="name"):
        config_from_dict(_with(("name",), "a/b"))
    with pytest.raises(ConfigError, match="79.19% -> 0.7919"):
        config_from_dict(_with(("paper_reference",), {"source": "x", "rows": {"M": {"overall": {"acc": 79.19}}}}))
    with pytest.raises(ConfigError, match="scope must be 'overall', foldN .* or a dataset"):
        config_from_dict(_with(("paper_reference",), {"source": "x", "rows": {"M": {"samm": {"acc": 0.5}}}}))
    with pytest.raises(ConfigError, match="protocol.name 'lopo' unknown"):
        config_from_dict(_with(("protocol",), {"name": "lopo"}))
    with pytest.raises(ConfigError, match="data.options names \\['samm'\\]"):
        config_from_dict(_with(("data", "options"), {"samm": {}}))


def test_relative_roots_follow_the_config_file_and_data_overrides_the_cwd(tmp_path, monkeypatch):
    cfg = load_config(_write(tmp_path, BASE))
    assert cfg.data.datasets["casme2"] == str((tmp_path / "cfg" / "data" / "casme2").resolve())
    assert cfg.data.datasets["smic"] is None
    monkeypatch.chdir(tmp_path)
    cfg2 = with_data_overrides(cfg, ["smic=here/smic", "ckplus=/abs/ck"])
    assert cfg2.data.datasets["smic"] == str((tmp_path / "here" / "smic").resolve())
    assert cfg2.data.aux["ckplus"] == "/abs/ck"
    with pytest.raises(ConfigError, match=r"'samm' is not a dataset of this config; its datasets: \['casme2', 'smic', 'ckplus'\]"):
        with_data_overrides(cfg, ["samm=/x"])
    with pytest.raises(ConfigError, match="write NAME=DIR"):
        with_data_overrides(cfg, ["smic"])


def test_data_options_from_the_command_line_are_checked_against_the_reader(tmp_path):
    cfg = load_config(_write(tmp_path, BASE))
    cfg2 = with_data_options(cfg, ["smic.apex=middle", "casme2.variant=cropped", "smic.apex=flow_peak"])
    assert cfg2.data.options == {"smic": {"apex": "flow_peak"}, "casme2": {"variant": "cropped"}}
    assert cfg.data.options == {}  # the original is untouched
    with pytest.raises(ConfigError, match=r"the smic reader has no option 'labels'; its options: \[.*'apex'"):
        with_data_options(cfg, ["smic.labels=x.csv"])
    with pytest.raises(ConfigError, match="'samm' is not a dataset of this config"):
        with_data_options(cfg, ["samm.apex=middle"])
    with pytest.raises(ConfigError, match="write NAME.KEY=VALUE"):
        with_data_options(cfg, ["apex=middle"])


def test_resolve_requires_every_root_and_fills_defaults(tmp_path):
    cfg = load_config(_write(tmp_path, _with(("protocol",), {"name": "kfold", "k": 3})))
    with pytest.raises(ConfigError, match=r"no root for \['smic'\]; give each with --data NAME=DIR"):
        resolve_config(cfg)
    cfg = with_data_overrides(cfg, {"smic": "/s", "ckplus": "/c"})
    res = resolve_config(cfg)
    assert res["protocol"] == {"name": "kfold", "k": 3, "seed": 0, "grouped": True, "stratified": True}
    assert res["method"] == {"name": "majority", "params": {}}
    # the resolved form loads back to the same config (what a run directory stores)
    again = config_from_dict(yaml.safe_load(dump_config(res)))
    assert resolve_config(again) == res


def test_method_defaults_are_filled_and_unknown_params_refused():
    raw = _with(("method",), {"name": "logistic", "params": {"features": "/f.npz", "C": 0.5}})
    res = resolve_config(config_from_dict(raw), require_roots=False)
    assert res["method"]["params"] == {"features": "/f.npz", "C": 0.5, "class_weight": None, "max_iter": 1000}
    raw = _with(("method",), {"name": "logistic", "params": {"features": "/f.npz", "c": 0.5}})
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['c'\]; allowed: \['features', 'C'"):
        resolve_config(config_from_dict(raw), require_roots=False)
    raw = _with(("method",), {"name": "logistic"})
    with pytest.raises(ConfigError, match="parameter 'features' is required"):
        resolve_config(config_from_dict(raw), require_roots=False)


def test_seeds_and_report_options_do_not_change_the_result_relevant_part():
    cfg = config_from_dict(BASE)
    a = resolve_config(cfg, require_roots=False)
    b = resolve_config(with_seeds(cfg, [0, 1, 2]), require_roots=False)
    assert a != b and result_relevant(a) == result_relevant(b)
    c = resolve_config(config_from_dict(_with(("data", "scheme"), "objective5")), require_roots=False)
    assert result_relevant(a) != result_relevant(c)


LAENET = {**BASE, "data": {"datasets": {"casme2": "/d/casme2"}, "scheme": "composite3"},
          "method": {"name": "laenet", "params": {"pretrain_ckplus": False}}}


@pytest.mark.parametrize("key,value,match", [
    ("eye_mask", "false", r"method.params.eye_mask: expected true or false, got 'false'"),
    ("pretrain_ckplus", "no", r"method.params.pretrain_ckplus: expected true or false, got 'no'"),
    ("epochs", 5.7, r"method.params.epochs: expected an integer, got 5.7"),
    ("epochs", "five", r"method.params.epochs: expected an integer, got 'five'"),
    ("epochs", "30", r"method.params.epochs: expected an integer, got '30'"),
    ("lr", "fast", r"method.params.lr: expected a number, got 'fast'"),
])
def test_method_parameters_are_typed_when_the_config_is_read(tmp_path, key, value, match):
    raw = yaml.safe_load(yaml.safe_dump(LAENET))
    raw["method"]["params"][key] = value
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, raw))  # before any run directory exists


def test_yaml_1_1_exponent_floats_are_numbers(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({**LAENET, "method": {"name": "laenet", "params": {}}}).replace("params: {}", "params: {lr: 1e-3}"))
    assert yaml.safe_load(p.read_text())["method"]["params"]["lr"] == "1e-3"  # what PyYAML gives
    cfg = load_config(p)
    assert cfg.method.params["lr"] == 0.001 and resolve_config(cfg)["method"]["params"]["lr"] == 0.001


def test_set_overrides_any_key_typed_and_checked(tmp_path, monkeypatch):
    from microexpr.config import with_overrides

    monkeypatch.chdir(tmp_path)
    cfg = config_from_dict(LAENET)
    out = with_overrides(cfg, ["method.params.epochs=50", "method.params.lr=5e-4", "method.params.flow_png_dir=pngs",
                               "protocol.name=loso", "data.ground_truth_csv=gt.csv", "seeds=[1, 2]"])
    res = resolve_config(out)
    assert res["method"]["params"]["epochs"] == 50 and res["method"]["params"]["lr"] == 0.0005
    assert res["method"]["params"]["flow_png_dir"] == "pngs"  # method params are passed verbatim
    assert res["protocol"]["name"] == "loso" and res["seeds"] == [1, 2]
    assert res["data"]["ground_truth_csv"] == str(tmp_path / "gt.csv")  # data paths: from the current directory
    assert resolve_config(cfg)["method"]["params"]["epochs"] == 800  # the original is untouched
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['weight_dir'\]"):
        with_overrides(cfg, ["method.params.weight_dir=/w"])
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['colour'\]"):
        with_overrides(cfg, ["data.colour=rgb"])
    with pytest.raises(ConfigError, match=r"method.params.epochs: expected an integer, got 'many'"):
        with_overrides(cfg, ["method.params.epochs=many"])
    with pytest.raises(ConfigError, match="write DOTTED.KEY=VALUE"):
        with_overrides(cfg, ["epochs"])
    with pytest.raises(ConfigError, match="name is a value, not a section"):
        with_overrides(cfg, ["name.x=1"])
