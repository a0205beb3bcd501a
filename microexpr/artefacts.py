"""Model artefacts: one file holding a trained model and everything needed to run it on a video.

An artefact is a ``torch.save``d dict of plain types (str, int, float, bool, None, lists,
str-keyed dicts) and tensors only, so it loads through PyTorch's safe path
(``torch.load(weights_only=True)``), which never executes code from the file. It holds:

- ``format`` = ``"microexpr-model"`` and ``format_version`` (:data:`FORMAT_VERSION`);
- ``model``: registry name (``microexpr.models.create_model``), keyword arguments, state dict;
- ``input``: the representation name (``flow_image`` or ``apex_crop``:
  :data:`microexpr.inputs.spec.DEPLOYABLE_INPUTS`) and its *fully resolved* parameters as
  used by ``microexpr.inputs`` (face step, flow, eye masking, size), plus ``transform``: how
  the uint8 representation becomes the model's tensor (flow images: pixel convention,
  channels; apex crops: centre crop and ImageNet standardisation);
- ``classes``: class names in output order;
- ``training``: run name, resolved run config, seed, datasets, number of clips, and a note;
- ``versions``: microexpr, torch, opencv, numpy, python;
- ``sha256``: SHA-256 of the canonical encoding of everything else (tensors by dtype,
  shape and bytes; other values as sorted JSON), so a changed byte of weights or
  configuration is detected.

Loading refuses, with a :class:`~microexpr.errors.ModelError` saying why: a missing file,
a file that is not a torch archive, a pickle holding objects outside the safe set (the
``weights_only`` loader refuses it; we never fall back to the unsafe loader), a dict
without our format tag (a foreign checkpoint), an unknown format version, a digest
mismatch (tampered or corrupt), or a model that does not accept its own state dict.

What gets exported (``microexpr export RUN_DIR``): the run's method re-fitted on *all*
clips of the run with its resolved config and first seed. The LOSO/CDE folds of a run
only evaluate the recipe; the deployable model is trained on every clip.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn as nn

from . import __version__
from .errors import ModelError
from .inputs.flow_transform import FlowImageTransform
from .inputs.spec import input_transform

FORMAT_TAG = "microexpr-model"
FORMAT_VERSION = 1
#: Keys ``ExportableMethod.export_payload()`` must return (``input_transform`` is optional).
PAYLOAD_KEYS: tuple[str, ...] = ("model_name", "model_kwargs", "state_dict", "input_name", "input_params")
DEFAULT_TRANSFORM: dict[str, Any] = FlowImageTransform().as_dict()


@runtime_checkable
class ExportableMethod(Protocol):
    """A fitted method that can hand over its torch model and input specification.

    ``export_payload()`` returns a dict with the keys of :data:`PAYLOAD_KEYS`:
    ``model_name`` (registry name), ``model_kwargs`` (plain dict), ``state_dict``,
    ``input_name`` (a ``microexpr.inputs`` representation) and ``input_params`` (its
    parameters; resolved again on export), and optionally ``input_transform``
    (``{"pixel_convention": "rgb01" | "opencv_bgr255", "channels": [...]}``, default
    ``rgb01`` with channels 0, 1, 2).
    """

    def export_payload(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ModelArtefact:
    """A loaded, verified artefact."""

    path: Path | None
    model_name: str
    model_kwargs: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    input_name: str
    input_params: dict[str, Any]
    input_transform: dict[str, Any]
    classes: tuple[str, ...]
    training: dict[str, Any]
    versions: dict[str, str]
    sha256: str

    def build_model(self) -> nn.Module:
        """The model in eval mode with the artefact's weights (strict state-dict match)."""
        from .models.registry import create_model

        where = self.path or "artefact"
        model = create_model(self.model_name, **self.model_kwargs)
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as exc:
            raise ModelError(f"{where}: the weights do not fit model {self.model_name!r} "
                             f"with {self.model_kwargs}: {exc}") from exc
        return model.eval()


def current_versions() -> dict[str, str]:
    """Versions of the libraries that shape a model's inputs and outputs."""
    import cv2

    return {"microexpr": __version__, "torch": torch.__version__, "opencv": cv2.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


# --------------------------------------------------------------------------- canonical form


def _plain(obj: Any, where: str) -> Any:
    """``obj`` with tuples as lists and NumPy scalars as Python numbers; refuse other types."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().contiguous().clone()
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise ModelError(f"artefact field {where}: key {k!r} is not a string")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    if isinstance(obj, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, bool):
        return obj
    for t in (str, int, float):  # subclasses (torch's TorchVersion, IntEnum) become the plain type
        if isinstance(obj, t):
            return t(obj)
    raise ModelError(f"artefact field {where} holds a {type(obj).__name__}; only plain types and tensors are allowed")


def _feed(h: "hashlib._Hash", obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(obj, dict):
        h.update(b"{")
        for k in sorted(obj):
            h.update(json.dumps(k).encode())
            _feed(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, list):
        h.update(b"[")
        for v in obj:
            _feed(h, v)
        h.update(b"]")
    else:
        h.update(json.dumps(obj, allow_nan=True).encode())


def artefact_digest(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical encoding of ``content`` without its ``sha256`` entry."""
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in content.items() if k != "sha256"})
    return h.hexdigest()


# --------------------------------------------------------------------------- export


def build_artefact(payload: Mapping[str, Any], *, classes: Sequence[str], training: Mapping[str, Any]) -> dict[str, Any]:
    """The artefact dict for a method's ``export_payload()`` (inputs re-resolved, digest added)."""
    from .inputs import resolve_representation_params

    missing = [k for k in PAYLOAD_KEYS if k not in payload]
    if missing:
        raise ModelError(f"export_payload() lacks {missing}; it must return {list(PAYLOAD_KEYS)}")
    unknown = sorted(set(payload) - set(PAYLOAD_KEYS) - {"input_transform"})
    if unknown:
        raise ModelError(f"export_payload() returned unknown key(s) {unknown}")
    if not classes:
        raise ModelError("an artefact needs the class names")
    name = str(payload["input_name"])
    given = dict(payload.get("input_transform") or {})
    if name == "flow_image":  # flow-image payloads may leave the transform out: rgb01, channels 0, 1, 2
        given = {**DEFAULT_TRANSFORM, **given}
    transform = input_transform(name, given).as_dict()  # refuses an input predict cannot rebuild
    content = {
        "format": FORMAT_TAG,
        "format_version": FORMAT_VERSION,
        "model": {"name": str(payload["model_name"]), "kwargs": dict(payload["model_kwargs"]),
                  "state_dict": dict(payload["state_dict"])},
        "input": {"name": name, "params": resolve_representation_params(name, payload["input_params"]),
                  "transform": transform},
        "classes": [str(c) for c in classes],
        "training": dict(training),
        "versions": current_versions(),
    }
    content = _plain(content, "artefact")
    content["sha256"] = artefact_digest(content)
    return content


def save_artefact(path: str | os.PathLike[str], payload: Mapping[str, Any], *, classes: Sequence[str],
                  training: Mapping[str, Any]) -> Path:
    """Write the artefact of ``payload`` to ``path`` (atomically) and check it loads back."""
    from .io_utils import atomic_write

    content = build_artefact(payload, classes=classes, training=training)
    out = atomic_write(Path(path), lambda f: torch.save(content, f))
    try:
        load_artefact(out).build_model()  # never leave behind a file that cannot be loaded
    except ModelError:
        out.unlink()
        raise
    return out


# --------------------------------------------------------------------------- load


_UNSAFE_ADVICE = ("weights_only=False", "weights_only = False", "allow_pickle", "safe_globals", "add_safe_globals",
                  "trust the source")


def _reason(exc: Exception) -> str:
    """The line of PyTorch's weights_only message that names the refused object, without its
    advice to switch the safe loader off (never an option for a file from elsewhere)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    lines = [ln for ln in lines if not any(a in ln for a in _UNSAFE_ADVICE)]
    named = [ln for ln in lines if "WeightsUnpickler" in ln or "Unsupported" in ln]
    text = (named or lines or [type(exc).__name__])[0]
    return text.split(". ")[0][:300]


def load_artefact(path: str | os.PathLike[str]) -> ModelArtefact:
    """Load and verify an artefact through ``torch.load(weights_only=True)``; see the module doc."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"model artefact {p} not found; export one with `microexpr export RUN_DIR --out {p}`")
    if not zipfile.is_zipfile(p):  # torch.save writes a zip archive; anything else is foreign
        raise ModelError(f"{p} is not a microexpr model artefact (not a PyTorch archive; corrupt or another "
                         "kind of file); export one with `microexpr export RUN_DIR --out FILE`")
    try:
        content = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelError(
            f"refusing to load {p}: it holds objects PyTorch's safe loader does not allow, so it is not a microexpr "
            f"model artefact and loading it could run code ({_reason(exc)})"
        ) from None
    except Exception as exc:  # any other failure to read the archive: corrupt bytes give many kinds
        raise ModelError(f"{p} is corrupt or was modified after export: PyTorch cannot read it "
                         f"({type(exc).__name__}); re-export it with `microexpr export`") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT_TAG:
        raise ModelError(
            f"{p} is not a microexpr model artefact (no format tag {FORMAT_TAG!r}; a foreign checkpoint?); "
            "export one with `microexpr export RUN_DIR --out FILE`"
        )
    version = content.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(f"{p} has artefact format version {version!r}; this microexpr ({__version__}) reads "
                         f"version {FORMAT_VERSION}; re-export the model with this version")
    stored = content.get("sha256")
    try:
        actual = artefact_digest(content)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{p}: artefact content cannot be verified ({exc}); re-export it") from exc
    if not isinstance(stored, str) or stored != actual:
        raise ModelError(f"{p}: SHA-256 digest mismatch: the file was modified or corrupted after export "
                         f"(stored {str(stored)[:12]}..., content {actual[:12]}...); re-export it")
    try:
        model, inp = content["model"], content["input"]
        return ModelArtefact(
            path=p, model_name=model["name"], model_kwargs=dict(model["kwargs"]), state_dict=dict(model["state_dict"]),
            input_name=inp["name"], input_params=dict(inp["params"]), input_transform=dict(inp["transform"]),
            classes=tuple(content["classes"]), training=dict(content["training"]),
            versions=dict(content["versions"]), sha256=stored,
        )
    except (KeyError, TypeError) as exc:
        raise ModelError(f"{p}: artefact lacks field {exc}; re-export it") from exc


# --------------------------------------------------------------------------- export a run


def export_run(run_dir: str | os.PathLike[str], out: str | os.PathLike[str], *, progress: bool = True,
               data: Any = None, device: str | None = None) -> Path:
    """Re-fit a finished run's method on ALL its clips and write the deployable artefact to ``out``.

    Uses the run's resolved ``config.yaml`` (method and parameters, data, scheme) and its
    first seed; the folds only ever evaluated the recipe. ``data`` (a
    :class:`microexpr.runs.RunData`) replaces reading the config's datasets, as in
    :func:`microexpr.runs.execute_run`. The method must implement :class:`ExportableMethod`.
    ``device`` (default: the run's ``device``) and the run's ``precision`` are used for the re-fit;
    the artefact holds CPU tensors either way.
    """
    import yaml

    from .config import config_from_dict
    from .methods.registry import create_method
    from .runs import load_run_data

    root = Path(run_dir)
    cfg_path = root / "config.yaml"
    if not cfg_path.is_file():
        raise ModelError(f"{root} is not a run directory (no config.yaml); give the folder `microexpr run` wrote")
    raw = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    config = config_from_dict(raw, base_dir=root, source=str(cfg_path))
    method = create_method(config.method.name, config.method.params)
    if not isinstance(method, ExportableMethod):
        raise ModelError(f"method {config.method.name!r} cannot be exported: it does not implement export_payload() "
                         "(exportable: the flow-image networks, e.g. ststnet and laenet)")
    if data is None:
        data = load_run_data(config)
    data.check()
    from dataclasses import replace

    from .runs.engine import run_context, seed_everything
    from .spotting.spotters import DEFAULT_SPOTTER

    seed = int(config.seeds[0])
    seed_everything(seed)
    # the run engine's own context (same inputs cache, classes, auxiliary data), for all clips
    ctx = replace(run_context(config, root, data, progress=progress), seed=seed, fold="export: all clips")
    from .devices import compute_for, using

    with using(compute_for(device or config.device, config.precision)):
        method.fit(data.table, ctx)
    table = data.table
    training = {
        "run_name": config.name,
        "run_dir": str(root.resolve()),
        "config": raw,
        "seed": seed,
        "datasets": sorted(str(d) for d in table["dataset"].unique()),
        "clips_per_dataset": {str(k): int(v) for k, v in table["dataset"].value_counts().sort_index().items()},
        "n_clips": int(len(table)),
        "synthetic": bool(getattr(data, "synthetic", False) or config.data.synthetic),
        "note": "re-fitted on all clips of the run with its resolved config and first seed; the run's folds "
                "evaluated the recipe, this model is the deployable one",
        "spotter": {"name": DEFAULT_SPOTTER, "params": {}},  # what predict spots long videos with
    }
    return save_artefact(out, method.export_payload(), classes=data.classes, training=training)
