"""``microexpr spot``: a spotter over every long video of the configured corpora, MEGC-scored.

Spot config (typed YAML, like run configs; packaged ones in ``microexpr/configs/spotting/``)::

    name: roi_flow_synthetic
    data:
      datasets: {casme_sq_long: null, samm_long: null}   # roots; null: give them with --data NAME=DIR
      synthetic: null          # quick | tiny: generate the synthetic long videos of each dataset instead
    spotter: {name: roi_flow, params: {}}
    crop_size: 128             # face crops the spotter sees (pixels)
    threshold: 0.5             # IoU of a true positive (MEGC)
    reference: {source: ..., rows: {METHOD: {DATASET: {micro|macro|overall: F1}}}}

The run directory holds ``config.yaml`` (resolved), ``truths.csv`` (every annotated interval,
0-based frame positions), ``videos/<video>.csv`` (the spotted intervals of one video: onset,
apex, offset, type, score; written atomically as each video ends, so an interrupted run
resumes where it stopped), ``curves/<video>.npy`` (the spotter's per-frame score) and
``metrics.json`` (TP/FP/FN, precision, recall, F1 for micro, macro and overall, pooled over
the videos of each dataset and over all). A run directory is bound to its config: a rerun
with another config is refused once a video is done. Spotters here are unsupervised; a
learned spotter would be trained leave-one-subject-out (not implemented yet).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd
import yaml

from ..errors import ConfigError
from ..io_utils import atomic_write_bytes, atomic_write_json, atomic_write_text, check_writable, file_slug
from .metric import THRESHOLD, Interval, spotting_scores
from .videos import LongVideos

log = logging.getLogger("microexpr.spotting")
SPOT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs" / "spotting"


@dataclass(frozen=True)
class SpotData:
    datasets: dict[str, Union[str, None]] = field(default_factory=dict)
    synthetic: Union[str, None] = None


@dataclass(frozen=True)
class SpotterSpec:
    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SpotReference:
    source: str
    rows: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SpotConfig:
    name: str
    data: SpotData
    spotter: SpotterSpec
    description: str = ""
    crop_size: int = 128
    threshold: float = THRESHOLD
    reference: Union[SpotReference, None] = None


def readers() -> dict[str, Any]:
    from . import casme_sq_long, samm_long

    return {casme_sq_long.NAME: casme_sq_long, samm_long.NAME: samm_long}


def load_spot_config(name_or_path: str | os.PathLike[str]) -> SpotConfig:
    """A spot config from a path, or a packaged one by name (``microexpr/configs/spotting``)."""
    from ..config import _abs, _parse

    p = Path(name_or_path)
    if not p.is_file():
        packaged = SPOT_CONFIG_DIR / f"{p.name.removesuffix('.yaml')}.yaml"
        if not packaged.is_file():
            names = sorted(q.stem for q in SPOT_CONFIG_DIR.glob("*.yaml"))
            raise ConfigError(f"spot config {name_or_path!r} not found; give a path or one of {names}")
        p = packaged
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"spot config {p} is not valid YAML: {exc}") from None
    cfg = _parse(SpotConfig, raw, "", str(p))
    base = p.resolve().parent
    datasets = {k: _abs(v, base) for k, v in cfg.data.datasets.items()}  # relative to the config, as run configs
    return _checked(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, datasets=datasets)), str(p))


def _checked(cfg: SpotConfig, source: str) -> SpotConfig:
    from .spotters import create_spotter

    unknown = [d for d in cfg.data.datasets if d not in readers()]
    if unknown or not cfg.data.datasets:
        raise ConfigError(f"{source}: data.datasets must name long-video corpora among {sorted(readers())}, got {unknown or '{}'}")
    if cfg.data.synthetic not in (None, "quick", "tiny"):
        raise ConfigError(f"{source}: data.synthetic must be null, quick or tiny, got {cfg.data.synthetic!r}")
    if not 16 <= cfg.crop_size <= 512 or not 0 < cfg.threshold <= 1:
        raise ConfigError(f"{source}: crop_size must be in 16..512 and threshold in (0, 1]")
    create_spotter(cfg.spotter.name, cfg.spotter.params)  # unknown spotters and parameters fail now
    return cfg


def with_roots(cfg: SpotConfig, items: dict[str, str]) -> SpotConfig:
    unknown = [k for k in items if k not in cfg.data.datasets]
    if unknown:
        raise ConfigError(f"--data {unknown}: not datasets of this config ({sorted(cfg.data.datasets)})")
    roots = {**cfg.data.datasets, **{k: str(Path(v).expanduser().resolve()) for k, v in items.items()}}
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, datasets=roots))


def load_videos(cfg: SpotConfig, cache: Path | None = None) -> LongVideos:
    """Every long video of the config's corpora (or of their synthetic stand-ins)."""
    parts = []
    for name, root in cfg.data.datasets.items():
        if cfg.data.synthetic:
            from ..cache_dirs import cache_root
            from ..synth.long_videos import generate_long_videos

            where = (cache or cache_root() / "synth") / f"long-{name}-{cfg.data.synthetic}-seed0"
            if not (where / "manifest.json").is_file():
                generate_long_videos(where, name, size=cfg.data.synthetic, seed=0)
            root = str(where)
        if root is None:
            raise ConfigError(f"no root for {name}: give it with --data {name}=DIR (or set data.synthetic: quick)")
        parts.append(readers()[name].read(root))
    return LongVideos.concat(parts)


def execute_spot(cfg: SpotConfig, run_dir: str | os.PathLike[str], *, progress: bool = True,
                 cache: Path | None = None) -> dict[str, Any]:
    """Spot every video into ``run_dir`` (resumable) and return the metrics (also ``metrics.json``)."""
    from tqdm.auto import tqdm

    from ..provenance import provenance
    from ..runs.lock import run_lock
    from .spotters import create_spotter, video_crops

    root = Path(run_dir)
    missing = [k for k, v in cfg.data.datasets.items() if v is None] if cfg.data.synthetic is None else []
    if missing:  # before the run directory is made
        raise ConfigError(f"no root for {missing[0]}: give it with --data {missing[0]}=DIR (or set data.synthetic: quick)")
    check_writable(root, "spot run directory (--out)")
    resolved = yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False)
    cfg_path, videos_dir = root / "config.yaml", root / "videos"
    with run_lock(root, log):
        if videos_dir.is_dir() and any(videos_dir.iterdir()) and cfg_path.is_file() \
                and cfg_path.read_text(encoding="utf-8") != resolved:
            raise ConfigError(f"{root} holds a spot run with another config; resume it with the same config, "
                              "or choose another --out directory")
        atomic_write_text(cfg_path, resolved)
        data = load_videos(cfg, cache)
        atomic_write_text(root / "truths.csv", data.truths.to_csv(index=False))
        spotter = create_spotter(cfg.spotter.name, cfg.spotter.params)
        learned = bool(getattr(spotter, "learned", False))
        crops_memo: dict[str, Any] = {}

        def crops_of(row: Any) -> Any:
            if row.key not in crops_memo:
                crops_memo[row.key] = video_crops(row.frames, row.fps, size=cfg.crop_size, landmarks=row.landmarks)
            return crops_memo[row.key]

        features = _FeatureCache(root / "features", crops_memo) if learned else None
        spotted: dict[str, list[Interval]] = {}
        done = 0
        trained_for: str | None = None
        rows = list(data.videos.sort_values(["subject", "key"]).itertuples(index=False))
        for row in tqdm(rows, desc=f"spot {cfg.name}", unit="video", disable=not progress):
            path = videos_dir / f"{file_slug(row.key)}.csv"
            if path.is_file():
                spotted[row.key] = read_intervals(path)
                continue
            if learned and trained_for != row.subject:  # leave-one-subject-out: train without this subject
                train = [r for r in rows if r.subject != row.subject]
                if not train:
                    raise ConfigError(f"{cfg.spotter.name} is trained leave-one-subject-out and needs videos of at "
                                      f"least two subjects; {row.subject} is the only one")
                log.info("spot %s: training %s without %s on %d video(s)", cfg.name, cfg.spotter.name, row.subject,
                         len(train))
                spotter = create_spotter(cfg.spotter.name, cfg.spotter.params)
                spotter.fit([(crops_of(r), data.intervals(r.key)) for r in train], features=features.get)
                trained_for = row.subject
            video = crops_of(row)
            result = spotter.spot(video, features=features.get) if learned else spotter.spot(video)
            buf = io.BytesIO()
            np.save(buf, result.curve.astype(np.float32), allow_pickle=False)
            atomic_write_bytes(root / "curves" / f"{file_slug(row.key)}.npy", buf.getvalue())
            atomic_write_text(path, intervals_csv(result.intervals))  # last: marks the video done
            spotted[row.key] = result.intervals
            done += 1
        metrics: dict[str, Any] = {"name": cfg.name, "spotter": cfg.spotter.name, "threshold": cfg.threshold,
                                   "synthetic": cfg.data.synthetic is not None, "microexpr": provenance(),
                                   "n_videos": int(len(data.videos)), "computed": done}
        for ds in ["all", *sorted(data.videos["dataset"].unique())]:
            keys = [k for k, d in zip(data.videos["key"], data.videos["dataset"]) if ds in ("all", d)]
            metrics[ds] = spotting_scores([(spotted[k], data.intervals(k)) for k in keys], cfg.threshold)
        atomic_write_json(root / "metrics.json", metrics)
    return metrics


class _FeatureCache:
    """A learned spotter's per-video features (e.g. SOFTNet's flows), computed once per video and
    step k and kept in ``RUN_DIR/features/`` (reused by every fold and by a resumed run)."""

    def __init__(self, folder: Path, crops_memo: dict[str, Any]) -> None:
        self.folder = folder
        self.memo = crops_memo

    def get(self, video: Any, k: int) -> np.ndarray:
        from ..inputs.cache import load_cached, save_cached
        from .softnet import flow_features

        key = next((name for name, v in self.memo.items() if v is video), None)
        if key is None:
            return flow_features(video.crops, k)
        path = self.folder / f"{file_slug(key)}-k{k}.npy"
        arr = load_cached(path)
        if arr is None:
            arr = flow_features(video.crops, k)
            self.folder.mkdir(parents=True, exist_ok=True)
            save_cached(path, arr)
        return arr


def intervals_csv(intervals: list[Interval]) -> str:
    return pd.DataFrame([{"onset": i.onset, "apex": -1 if i.apex is None else i.apex, "offset": i.offset,
                          "type": i.kind, "score": i.score} for i in intervals],
                        columns=["onset", "apex", "offset", "type", "score"]).to_csv(index=False)


def read_intervals(path: Path) -> list[Interval]:
    df = pd.read_csv(path)
    return [Interval(int(r.onset), int(r.offset), str(r.type), float(r.score), None if int(r.apex) < 0 else int(r.apex))
            for r in df.itertuples(index=False)]


def spot_table(metrics: dict[str, Any], cfg: SpotConfig) -> Any:
    """Our F1 / precision / recall per dataset and type, the reference's F1 rows below."""
    from ..report.tables import Table, fmt

    datasets = [k for k in metrics if isinstance(metrics[k], dict) and "overall" in metrics[k]]
    header = ["Spotter", "Dataset", "Micro F1", "Macro F1", "Overall F1", "Micro P / R", "TP / FP / FN (overall)"]
    rows = []
    for ds in datasets:
        m = metrics[ds]
        o = m["overall"]
        rows.append([f"{cfg.spotter.name} (ours)", ds, fmt(m["micro"]["f1"]), fmt(m["macro"]["f1"]), fmt(o["f1"]),
                     f"{fmt(m['micro']['precision'])} / {fmt(m['micro']['recall'])}", f"{o['tp']} / {o['fp']} / {o['fn']}"])
    notes = [f"a spotted interval is a true positive at IoU >= {cfg.threshold} with an unmatched truth of its video and "
             "type; counts pooled over the videos of each dataset (MEGC)"]
    if cfg.reference is not None:
        for method, per_ds in cfg.reference.rows.items():
            for ds, vals in per_ds.items():
                rows.append([f"{method} (published)", ds, fmt(vals.get("micro")), fmt(vals.get("macro")),
                             fmt(vals.get("overall")), "", ""])
        notes.append(f"published rows: {cfg.reference.source}")
        notes += list(cfg.reference.notes)
    if metrics.get("synthetic"):
        notes.append("SYNTHETIC long videos: these numbers show that spotting works end to end; they say nothing about "
                     "real data, and the published rows are on the real corpora")
    return Table(f"Spotting: {cfg.name}", header, rows, notes)


def is_spot_run(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a ``microexpr spot`` run directory (its metrics name a spotter)."""
    import json

    m = Path(path) / "metrics.json"
    try:
        return m.is_file() and "spotter" in json.loads(m.read_text(encoding="utf-8"))
    except ValueError:
        return False


def spot_comparison_table(run_dirs: list[str | os.PathLike[str]]) -> Any:
    """Several spot runs side by side (one row per run and dataset: micro, macro, overall F1),
    e.g. every spotter on the same corpora; the first run's published rows below."""
    import json

    from ..config import _parse
    from ..report.tables import Table, fmt

    header = ["Run (spotter)", "Dataset", "Micro F1", "Macro F1", "Overall F1"]
    rows, notes, first_cfg = [], [], None
    for d in run_dirs:
        d = Path(d)
        m = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
        cfg = _parse(SpotConfig, yaml.safe_load((d / "config.yaml").read_text(encoding="utf-8")), "", str(d))
        first_cfg = first_cfg or cfg
        for ds in [k for k in m if isinstance(m[k], dict) and "overall" in m[k]]:
            rows.append([f"{d.name} ({m['spotter']})", ds, fmt(m[ds]["micro"]["f1"]), fmt(m[ds]["macro"]["f1"]),
                         fmt(m[ds]["overall"]["f1"])])
        if m.get("synthetic") and not any("SYNTHETIC" in n for n in notes):
            notes.append("SYNTHETIC long videos in at least one run: those numbers say nothing about real data")
    if first_cfg is not None and first_cfg.reference is not None:
        for method, per_ds in first_cfg.reference.rows.items():
            for ds, vals in per_ds.items():
                rows.append([f"{method} (published)", ds, fmt(vals.get("micro")), fmt(vals.get("macro")),
                             fmt(vals.get("overall"))])
        notes.append(f"published rows: {first_cfg.reference.source}")
    return Table("Spotters compared", header, rows, notes)
