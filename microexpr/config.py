"""Typed run configuration: a strict YAML schema (unknown keys and wrong types are errors).

A run config says everything a run does (see docs/CONTRACTS.md for a full example)::

    name: laenet_cde
    description: "LAENet under composite LOSO"
    data:
      datasets: {casme2: null, samm: null, smic: null}   # null: give it with --data NAME=DIR
      options: {smic: {apex: middle}}                    # per-dataset read_dataset options
      scheme: composite3
      ground_truth_csv: null
      aux: {ckplus: null}                                # pretraining data, never split
      synthetic: false                                   # true: numbers say nothing about accuracy
    protocol: {name: cde}            # other keys are the protocol's parameters, e.g.
                                     # {name: hde, train: [casme2, samm], test: smic}
                                     # {name: kfold, k: 5, grouped: true}
    method: {name: logistic, params: {features: feats.npz, C: 1.0}}
    seeds: [0]
    batched_folds: true
    cache_dir: null                  # inputs cache; default <cache root>/inputs (microexpr.cache_dirs)
    n_jobs: null                     # default: one per core
    device: auto                     # auto | cpu | cuda | cuda:N | mps (microexpr.devices)
    precision: "32"                  # 32 | bf16 | 16-mixed (CUDA only)
    executor: local                  # local | processes | ray: where folds run (microexpr.runs.executors)
    ray_address: null                # executor ray: null starts a local Ray, "auto" or HOST:PORT joins one
    threads: null                    # PyTorch threads per unit; null: PyTorch's default locally, cores/workers in workers
    sweep:                           # optional: one run directory per point, all scheduled as one job
      methods: [logistic, majority]
      grid: {method.params.C: [0.1, 1.0]}
    per_fold_mean: false             # also report per-fold means (labelled as such)
    paper_reference: {source: ..., metric_names: [acc, f1, uf1, uar], rows: {...}}

Decisions where the spec is silent:

- Relative paths in ``data`` (roots, ``ground_truth_csv``) and ``cache_dir`` are relative to
  the config file's folder; paths given with ``--data NAME=DIR`` are relative to the current
  directory. Method parameters are passed to the method verbatim (a relative feature-file
  path there is relative to the current directory).
- :func:`resolve_config` fills every default (protocol and method parameters included), so
  the ``config.yaml`` in a run directory states exactly what was done.
- :data:`RESULT_NEUTRAL_KEYS` (description, paper reference, seeds, cache location, process
  count, per-fold-mean switch, executor) do not change any fold's predictions: a run restarted
  with different values of these keys resumes; any other difference is refused. ``device`` is
  among them: a run that died on a GPU may be finished on the CPU (results differ by
  floating-point rounding only; the run log records the device of every execution and
  ``metrics.json`` that of the last). ``precision`` changes results and is not. ``threads`` is
  neutral too although, like the device, it can move floating-point sums (PyTorch splits
  reductions by thread): set it (e.g. ``threads: 1``) to get bit-identical folds from every
  executor.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from .errors import ConfigError

METRIC_NAMES: tuple[str, ...] = ("acc", "uar", "uf1", "macro_f1", "f1", "macro_precision", "f1_macro_pr")

_FLOAT_LITERAL = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")

RESULT_NEUTRAL_KEYS: tuple[str, ...] = ("description", "paper_reference", "seeds", "cache_dir", "n_jobs", "per_fold_mean",
                                         "device", "executor", "ray_address", "threads")
"""Top-level keys whose change does not alter fold predictions (a restart may differ in them)."""

EXECUTORS: tuple[str, ...] = ("local", "processes", "ray")
"""Where a run's units of work (folds, or batched groups of folds) run (``microexpr.runs.executors``)."""


@dataclass(frozen=True)
class DataConfig:
    """Which datasets to read, how to label them, and auxiliary (pretraining) datasets."""

    scheme: str
    datasets: dict[str, Union[str, None]] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    ground_truth_csv: Union[str, None] = None
    aux: dict[str, Union[str, None]] = field(default_factory=dict)
    synthetic: bool = False


@dataclass(frozen=True)
class ProtocolConfig:
    """Protocol name and its parameters (written flat beside ``name`` in YAML)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodConfig:
    """Registered method name and its constructor parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PaperReference:
    """A paper's published numbers: ``rows[method][scope][metric]`` (scope: overall, a dataset, or
    ``fold1``.. ``foldN`` for a paper that prints per-fold values, laid out by
    :func:`microexpr.report.compare.fold_table`).

    Each ``metric`` is the *definition* the paper's column used (``microexpr.metrics.
    METRIC_DEFINITIONS``), not the paper's column name: LAENet's "F1-score" is
    ``f1_macro_pr``, the STSTNet row's "UAR" is ``macro_precision``. ``printed_as[method]
    [metric]`` records the name the paper printed, ``notes`` how a definition was checked;
    the report prints both as footnotes and our numbers under the same definitions.
    ``metric_names`` orders the report's columns.
    """

    source: str
    metric_names: list[str] = field(default_factory=lambda: ["acc", "f1", "uf1", "uar"])
    rows: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    printed_as: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AuditConfig:
    """Leakage audit (off with ``test_every: 0``): score each fold's model on its own test fold
    every ``test_every`` epochs, stored apart and never used (``microexpr.runs.audit``)."""

    test_every: int = 0


@dataclass(frozen=True)
class SweepConfig:
    """The points of a sweep (``microexpr.runs.sweeps``): every method of ``methods`` (default: the
    config's own; each keeps the config's method parameters it accepts) x every combination of
    ``grid`` (dotted keys as ``--set`` takes them -> lists of values; a ``method.params.X`` key
    applies to the methods that have X). Every point runs with all the config's ``seeds``."""

    methods: list[str] = field(default_factory=list)
    grid: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunConfig:
    """One run: data, protocol, method, seeds and report options."""

    name: str
    data: DataConfig
    protocol: ProtocolConfig
    method: MethodConfig
    description: str = ""
    seeds: list[int] = field(default_factory=lambda: [0])
    batched_folds: bool = True
    cache_dir: Union[str, None] = None
    n_jobs: Union[int, None] = None
    device: str = "auto"
    precision: Union[str, int] = "32"
    executor: str = "local"
    ray_address: Union[str, None] = None
    threads: Union[int, None] = None
    sweep: Union[SweepConfig, None] = None
    per_fold_mean: bool = False
    paper_reference: Union[PaperReference, None] = None
    audit: AuditConfig = field(default_factory=AuditConfig)


def load_config(path: str | os.PathLike[str]) -> RunConfig:
    """Read and validate a YAML run config; relative data paths are taken from its folder."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} not found; give the path of a YAML run config")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {p} is not valid YAML: {exc}") from exc
    return config_from_dict(raw, base_dir=p.resolve().parent, source=str(p))


def config_from_dict(raw: Any, *, base_dir: str | os.PathLike[str] | None = None, source: str = "config") -> RunConfig:
    """Validate a config mapping (as read from YAML) into a :class:`RunConfig`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, got {type(raw).__name__}")
    raw = dict(raw)
    proto = raw.get("protocol")
    if isinstance(proto, dict):
        raw["protocol"] = _protocol_section(proto, source)
    cfg = _parse(RunConfig, raw, "", source)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    data = cfg.data
    data = dataclasses.replace(
        data,
        datasets={k: _abs(v, base) for k, v in data.datasets.items()},
        aux={k: _abs(v, base) for k, v in data.aux.items()},
        ground_truth_csv=_abs(data.ground_truth_csv, base),
    )
    from .methods.registry import typed_params

    method = MethodConfig(cfg.method.name, typed_params(cfg.method.name, cfg.method.params))  # fails before any run starts
    cfg = dataclasses.replace(cfg, data=data, cache_dir=_abs(cfg.cache_dir, base), method=method,
                              precision=str(cfg.precision))  # YAML reads 32 as a number
    _check_values(cfg, source)
    return cfg


def with_data_overrides(config: RunConfig, overrides: list[str] | dict[str, str]) -> RunConfig:
    """Set dataset roots from ``NAME=DIR`` strings (or a mapping); names must be in the config."""
    pairs = dict(overrides) if isinstance(overrides, dict) else parse_data_items(overrides)
    datasets, aux = dict(config.data.datasets), dict(config.data.aux)
    for name, root in pairs.items():
        absolute = str(Path(root).expanduser().resolve())
        if name in datasets:
            datasets[name] = absolute
        elif name in aux:
            aux[name] = absolute
        else:
            known = sorted(datasets) + sorted(aux)
            raise ConfigError(f"--data {name}=...: {name!r} is not a dataset of this config; its datasets: {known}")
    return dataclasses.replace(config, data=dataclasses.replace(config.data, datasets=datasets, aux=aux))


def parse_data_items(items: list[str]) -> dict[str, str]:
    """``NAME=DIR`` strings (``--data``) as a mapping; a malformed item is a ConfigError."""
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, root = item.partition("=")
        if not sep or not name.strip() or not root.strip():
            raise ConfigError(f"--data {item!r}: write NAME=DIR, e.g. --data casme2=/data/CASME2")
        pairs[name.strip()] = root.strip()
    return pairs


def with_data_options(config: RunConfig, items: list[str]) -> RunConfig:
    """Set reader options from ``NAME.KEY=VALUE`` strings (VALUE parsed as YAML).

    E.g. ``flow_png.labels=gt.csv`` or ``smic.apex=middle``; ``NAME`` must be a dataset of the
    config and ``KEY`` an option its reader declares (the error lists them).
    """
    import yaml

    from .datasets import READERS, reader_options

    options = {name: dict(opts) for name, opts in config.data.options.items()}
    known = sorted(config.data.datasets) + sorted(config.data.aux)
    for item in items:
        target, sep, raw = item.partition("=")
        name, dot, key = target.strip().partition(".")
        if not sep or not dot or not name or not key:
            raise ConfigError(f"--option {item!r}: write NAME.KEY=VALUE, e.g. --option smic.apex=middle")
        if name not in known:
            raise ConfigError(f"--option {item!r}: {name!r} is not a dataset of this config; its datasets: {known}")
        reader = name if name in READERS else None
        if reader is not None and key not in reader_options(reader):
            raise ConfigError(f"--option {item!r}: the {reader} reader has no option {key!r}; "
                              f"its options: {sorted(reader_options(reader))}")
        options.setdefault(name, {})[key] = yaml.safe_load(raw)
    return dataclasses.replace(config, data=dataclasses.replace(config.data, options=options))


def with_overrides(config: RunConfig, items: list[str]) -> RunConfig:
    """Apply ``DOTTED.KEY=VALUE`` overrides (``--set method.params.epochs=50``) to ``config``.

    VALUE is read as YAML (``50`` an integer, ``5e-5`` a number, ``null``, ``[1, 2]``, a
    path a string), set at the dotted key of the resolved config, and the result is checked
    against the schema like a config file (unknown keys and wrong types are errors naming
    the key). Relative paths in ``data`` are taken from the current directory. The run's
    ``config.yaml`` records the overridden values.
    """
    values: dict[str, Any] = {}
    for item in items:
        target, sep, text = item.partition("=")
        if not sep or not all(k.strip() for k in target.split(".")):
            raise ConfigError(f"--set {item!r}: write DOTTED.KEY=VALUE, e.g. --set method.params.epochs=50")
        try:
            values[target.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML: {exc}") from None
    return with_values(config, values, source="--set")


def with_values(config: RunConfig, values: dict[str, Any], *, source: str = "--set") -> RunConfig:
    """``config`` with the value at each dotted key of ``values`` (as :func:`with_overrides`, with
    the values already parsed; sweeps use it), checked against the schema."""
    raw = resolve_config(config, require_roots=False)
    for target, value in values.items():
        keys = [k.strip() for k in target.split(".")]
        node: Any = raw
        for depth, key in enumerate(keys[:-1]):
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
            if not isinstance(node, dict):
                raise ConfigError(f"{source} {target!r}: {'.'.join(keys[: depth + 1])} is a value, not a section")
        node[keys[-1]] = value
    return config_from_dict(raw, base_dir=Path.cwd(), source=source)


def with_seeds(config: RunConfig, seeds: list[int]) -> RunConfig:
    """A copy of ``config`` with other seeds."""
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) for s in seeds):
        raise ConfigError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    return dataclasses.replace(config, seeds=list(seeds))


def resolve_config(config: RunConfig, *, require_roots: bool = True) -> dict[str, Any]:
    """The fully resolved config as a plain dict (every default filled, paths absolute).

    With ``require_roots`` every dataset root must be known (a ``null`` root is an error
    telling the user to pass ``--data NAME=DIR``). The dict loads back with
    :func:`config_from_dict`.
    """
    if require_roots:
        for section, roots in (("datasets", config.data.datasets), ("aux", config.data.aux)):
            missing = [k for k, v in roots.items() if v is None]
            if missing:
                raise ConfigError(
                    f"data.{section}: no root for {missing}; give each with --data NAME=DIR "
                    f"(e.g. --data {missing[0]}=/path/to/{missing[0]}) or set it in the config"
                )
    from .protocols import PROTOCOL_DEFAULTS

    proto = {"name": config.protocol.name, **PROTOCOL_DEFAULTS[config.protocol.name], **config.protocol.params}
    out = dataclasses.asdict(config)
    out["protocol"] = proto
    out["method"] = {"name": config.method.name, "params": _method_params_with_defaults(config.method)}
    return _plain(out)


def result_relevant(resolved: dict[str, Any]) -> dict[str, Any]:
    """The part of a resolved config that determines fold predictions (for restart checks)."""
    added_later = {"precision": "32", "sweep": None}  # keys newer than some run directories: their value then
    return {k: v for k, v in {**added_later, **resolved}.items() if k not in RESULT_NEUTRAL_KEYS}


def dump_config(resolved: dict[str, Any]) -> str:
    """YAML text of a resolved config."""
    return yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------- internals


def _protocol_section(proto: dict[str, Any], source: str) -> dict[str, Any]:
    from .protocols import PROTOCOLS

    if "name" not in proto:
        raise ConfigError(f"{source}: protocol.name is required; one of {list(PROTOCOLS)}")
    name = proto["name"]
    if name not in PROTOCOLS:
        raise ConfigError(f"{source}: protocol.name {name!r} unknown; allowed: {list(PROTOCOLS)}")
    params = {k: v for k, v in proto.items() if k != "name"}
    unknown = [k for k in params if k not in PROTOCOLS[name]]
    if unknown:
        raise ConfigError(
            f"{source}: protocol {name!r}: unknown key(s) {unknown}; allowed keys: {['name', *PROTOCOLS[name]]}"
        )
    return {"name": name, "params": params}


def _check_values(cfg: RunConfig, source: str) -> None:
    if not cfg.name or "/" in cfg.name:
        raise ConfigError(f"{source}: name {cfg.name!r} must be non-empty and contain no '/'")
    if not cfg.seeds:
        raise ConfigError(f"{source}: seeds must list at least one seed")
    if len(set(cfg.seeds)) != len(cfg.seeds):
        raise ConfigError(f"{source}: seeds {cfg.seeds} repeat")
    if cfg.audit.test_every < 0:
        raise ConfigError(f"{source}: audit.test_every must be 0 (off) or a number of epochs, got {cfg.audit.test_every}")
    if cfg.n_jobs is not None and cfg.n_jobs < 1:
        raise ConfigError(f"{source}: n_jobs must be >= 1 or null, got {cfg.n_jobs}")
    from .devices import DEVICES_HELP, PRECISIONS, valid_device_spec

    if not valid_device_spec(cfg.device):  # resolved when the run starts: the config may travel to a GPU machine
        raise ConfigError(f"{source}: device {cfg.device!r} unknown; use one of {DEVICES_HELP}")
    if str(cfg.precision) not in PRECISIONS:
        raise ConfigError(f"{source}: precision {cfg.precision!r} unknown; use one of {PRECISIONS}")
    if cfg.threads is not None and cfg.threads < 1:
        raise ConfigError(f"{source}: threads must be >= 1 or null, got {cfg.threads}")
    if cfg.executor not in EXECUTORS:
        raise ConfigError(f"{source}: executor {cfg.executor!r} unknown; use one of {EXECUTORS}")
    unknown_opts = [k for k in cfg.data.options if k not in cfg.data.datasets and k not in cfg.data.aux]
    if unknown_opts:
        raise ConfigError(
            f"{source}: data.options names {unknown_opts}, which are not in data.datasets or data.aux "
            f"({sorted(cfg.data.datasets) + sorted(cfg.data.aux)})"
        )
    both = sorted(set(cfg.data.datasets) & set(cfg.data.aux))
    if both:
        raise ConfigError(f"{source}: {both} listed in both data.datasets and data.aux; auxiliary data is never evaluated")
    ref = cfg.paper_reference
    if ref is not None:
        bad = [m for m in ref.metric_names if m not in METRIC_NAMES]
        if bad:
            raise ConfigError(f"{source}: paper_reference.metric_names {bad} unknown; allowed: {list(METRIC_NAMES)}")
        scopes = {"overall", *_corpora(cfg.data.datasets)}
        for method, by_scope in ref.rows.items():
            for scope, values in by_scope.items():
                if scope not in scopes and not re.fullmatch(r"fold[1-9][0-9]*", scope):
                    raise ConfigError(
                        f"{source}: paper_reference.rows.{method}.{scope}: scope must be 'overall', foldN (a paper's "
                        "per-fold value, in fold order) or a dataset of "
                        f"data.datasets ({sorted(scopes)})"
                    )
                big = {m: v for m, v in values.items() if not 0.0 <= v <= 1.0}
                if big:
                    raise ConfigError(
                        f"{source}: paper_reference.rows.{method}.{scope}: {big} outside 0..1; write scores as "
                        "fractions like metrics.json does (79.19% -> 0.7919)"
                    )
                wrong = [m for m in values if m not in METRIC_NAMES]
                if wrong:
                    raise ConfigError(
                        f"{source}: paper_reference.rows.{method}.{scope}: unknown metric(s) {wrong}; "
                        f"allowed: {list(METRIC_NAMES)}"
                    )
                unshown = [m for m in values if m not in ref.metric_names]
                if unshown:
                    raise ConfigError(f"{source}: paper_reference.rows.{method}.{scope}: {unshown} not in "
                                      f"paper_reference.metric_names {ref.metric_names}; add them so the report shows them")
        for method, names in ref.printed_as.items():
            if method not in ref.rows:
                raise ConfigError(f"{source}: paper_reference.printed_as.{method}: no such row; rows: {list(ref.rows)}")
            wrong = [m for m in names if m not in METRIC_NAMES]
            if wrong:
                raise ConfigError(f"{source}: paper_reference.printed_as.{method}: unknown metric(s) {wrong}; "
                                  f"allowed: {list(METRIC_NAMES)}")


def _corpora(datasets: dict[str, Any]) -> list[str]:
    """Dataset names the run's table can hold: each reader's own name or the corpora it infers
    (the ``flow_png`` reader yields casme2/samm/smic rows); unknown readers count as themselves
    (reading them fails later with the list of known datasets)."""
    from .datasets import READERS, reader_corpora

    return [c for d in datasets for c in (reader_corpora(d) if d in READERS else (d,))]


def _method_params_with_defaults(method: MethodConfig) -> dict[str, Any]:
    import inspect

    from .methods.registry import method_parameters, typed_params

    sig = method_parameters(method.name)
    given = typed_params(method.name, method.params)
    out: dict[str, Any] = {}
    for p in sig:
        if p in given:
            out[p] = given[p]
        elif sig[p].default is not inspect.Parameter.empty:
            out[p] = sig[p].default
        else:
            raise ConfigError(f"method {method.name!r}: parameter {p!r} is required; add it under method.params")
    return out


def _abs(value: str | None, base: Path) -> str | None:
    if value is None:
        return None
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def parse_value(tp: Any, value: Any, path: str, source: str) -> Any:
    """``value`` checked against type ``tp`` (the config schema's rules; ConfigError naming ``path``)."""
    return _parse(tp, value, path, source)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _parse(tp: Any, value: Any, path: str, source: str) -> Any:
    """Check ``value`` against type ``tp``; raise ConfigError naming the key path."""
    where = path or "<top level>"
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # Optional[X]: X's own error names the deepest key
            return _parse(options[0], value, path, source)
        for arg in options:
            try:
                return _parse(arg, value, path, source)
            except ConfigError:
                continue
        raise ConfigError(f"{source}: {where}: expected one of {[_type_name(a) for a in options]}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {where}: expected a mapping, got {type(value).__name__} {value!r}")
        hints = typing.get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp)}
        unknown = [k for k in value if k not in fields]
        if unknown:
            raise ConfigError(f"{source}: {where}: unknown key(s) {unknown}; allowed keys: {list(fields)}")
        kwargs = {}
        for name, f in fields.items():
            sub = f"{path}.{name}" if path else name
            if name in value:
                kwargs[name] = _parse(hints[name], value[name], sub, source)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{source}: {sub} is required")
        return tp(**kwargs)
    if origin is dict:
        kt, vt = typing.get_args(tp)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {where}: expected a mapping, got {type(value).__name__} {value!r}")
        return {_parse(kt, k, f"{path}.{k}", source): _parse(vt, v, f"{path}.{k}", source) for k, v in value.items()}
    if origin is list:
        (et,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{source}: {where}: expected a list, got {type(value).__name__} {value!r}")
        return [_parse(et, v, f"{path}[{i}]", source) for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: {where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str) and _FLOAT_LITERAL.fullmatch(value.strip()):
            return float(value)  # YAML 1.1 (PyYAML) reads 1e-3 as a string; YAML 1.2 as the number
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: {where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: {where}: expected a string, got {type(value).__name__} {value!r}")
        return value
    raise TypeError(f"config schema uses an unsupported type {tp!r} at {where}")  # programming error
