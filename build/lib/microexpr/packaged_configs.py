"""The run configs that ship inside the package (``microexpr/configs``), found by name.

``microexpr run laenet_cde`` and ``microexpr run path/to/laenet_cde.yaml`` both work: a path
that exists wins, else a packaged name (with or without ``.yaml``); an unknown name is an
error listing the closest packaged names. ``microexpr configs list|show|copy`` browses them.
Each config's paper, table, method and protocol are read from the config itself
(``paper_reference.source``, ``method.name``, ``protocol``), so the catalogue never drifts
from the files.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True)
class ConfigInfo:
    """One packaged config, as ``microexpr configs list`` shows it."""

    name: str
    path: Path
    paper: str
    table: str
    method: str
    protocol: str
    description: str


def config_names() -> list[str]:
    """Names of the packaged configs (file stems), sorted."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def find_config(name_or_path: str | Path) -> Path:
    """The config file ``name_or_path`` names: an existing path, else a packaged config name."""
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p
    stem = p.name[:-5] if p.name.endswith(".yaml") else p.name
    if str(p) in (stem, f"{stem}.yaml"):  # a bare name, not a path to a missing file
        packaged = CONFIG_DIR / f"{stem}.yaml"
        if packaged.is_file():
            return packaged
    close = difflib.get_close_matches(stem, config_names(), n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(f"config {name_or_path!r} is neither a file nor a packaged config{hint} "
                      "(`microexpr configs list` shows them all)")


def config_info(path: Path) -> ConfigInfo:
    """Catalogue line of one config file."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    ref = raw.get("paper_reference") or {}
    source = str(ref.get("source") or "")
    m = re.match(r"^[^(:,]*\([^)]*\)", source)
    paper = (m.group(0) if m else source.split(",")[0].split(":")[0]).strip()
    if not paper and path.stem.startswith("demo"):
        paper = "demo (synthetic corpus)"
    tables = re.findall(r"Table\s+([0-9IVX]+)", source)
    proto = raw.get("protocol") or {}
    protocol = str(proto.get("name", "?"))
    if protocol == "hde" and proto.get("test"):
        protocol += f" test={proto['test']}"
    if protocol == "kfold":
        protocol += f" k={proto.get('k', 5)}{' grouped' if proto.get('grouped', True) else ' clip-level'}"
    return ConfigInfo(path.stem, path, paper, ",".join(dict.fromkeys(tables)), str((raw.get("method") or {}).get("name", "?")),
                      protocol, str(raw.get("description") or ""))


def list_configs(*, method: str | None = None, paper: str | None = None) -> list[ConfigInfo]:
    """Every packaged config, optionally only those of ``method`` or whose paper contains ``paper``."""
    out = [config_info(CONFIG_DIR / f"{n}.yaml") for n in config_names()]
    if method:
        out = [c for c in out if c.method == method]
    if paper:
        out = [c for c in out if paper.lower() in c.paper.lower() or paper.lower() in c.description.lower()]
    return out
