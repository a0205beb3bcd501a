"""Hand-crafted baselines: LBP-TOP, HOOF and MDMO descriptors (or a feature file) + an SVM.

Registered methods (every parameter has a default; the baseline configs name them all):

``lbptop_svm``   LBP-TOP (:class:`microexpr.features.LBPTOP`) on ``tim_clip`` inputs.
``hoof_svm``     HOOF (:class:`microexpr.features.HOOF`) on ``flow_sequence`` inputs.
``mdmo_svm``     MDMO (:class:`microexpr.features.MDMO`) on ``flow_sequence`` inputs and the
                 onset landmarks in the same crop (``crop_landmarks``).
``features_svm`` a pre-computed ``.npz`` (``X``, ``keys``; see
                 :mod:`microexpr.sources.feature_npz`) given as ``features``.

The classifier options (``kernel`` poly/linear/chi2, ``C``, ``degree``, ``coef0``,
``gamma``, ``chi2_gamma``, ``standardize``, ``class_weight``) are those of
:class:`microexpr.features.svm.FeatureSVM`, declared there once and accepted by every recipe
(:data:`SVM_OPTIONS`, :mod:`microexpr.methods.param_groups`; flat keys in the config); probabilities are the softmax of the SVM's
decision values, so their argmax is the SVM's own prediction.

Decisions:

- Descriptors are unsupervised per clip, so they are computed once per run for every
  clip (``fit_predict_folds``: the engine's batched path) and memoised in the process
  (for runs with ``batched_folds: false``); scaling and the SVM are fitted per training
  fold only.
- The clip is the face-cropped onset..offset sequence resampled to ``tim_length`` frames
  (``interpolation: tim``, Pfister et al.) at ``size`` x ``size`` pixels. ATNet says only
  "the frames around the apex"; onset..offset contains them.
- Each recipe lists its descriptor's parameters itself (read back into the descriptor by
  name, :meth:`_FeatureSVMMethod._transformer`) because its defaults are the papers' (LBP-TOP
  5x5 blocks, MDMO's accumulated flows), not the descriptor classes' own; the SVM options are
  declared once, by :class:`~microexpr.features.svm.FeatureSVM`.
- ``inputs``: extra parameters for the input representations (e.g. ``face_detector``,
  ``margins``); validated by the inputs layer, so an unknown key is an error there.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, ModelError
from .base import RunContext, training_labels
from ..features.hoof import HOOF
from ..features.lbptop import LBPTOP
from ..features.mdmo import MDMO
from ..features.svm import FeatureSVM
from .param_groups import ParamGroup, accepts
from .registry import register_method

# The classifier options every hand-crafted recipe accepts: FeatureSVM's constructor, declared once.
SVM_OPTIONS = ParamGroup(source=FeatureSVM)

_MEMO: dict[str, dict[str, np.ndarray]] = {}
_MEMO_MAX_SETTINGS = 8


def _clip_id(row: dict[str, Any]) -> str:
    """Key plus what locates the clip on disk, so two corpora with equal keys never mix."""
    frames = row.get("frames") or ()
    first = frames[0] if len(frames) else ""
    return f"{row['key']}|{first}|{len(frames)}|{row.get('onset')}|{row.get('offset')}"


class _FeatureSVMMethod:
    """Shared fold logic: per-clip features (memoised) -> FeatureSVM per training fold."""

    method_name = ""

    def _init_svm(self, options: dict[str, Any] | None) -> None:
        """Keep the classifier options (as attributes, FeatureSVM's defaults where not given) and
        check them now, not after preprocessing."""
        for name, value in FeatureSVM(**(options or {})).get_params().items():
            setattr(self, name, value)
        self._svm()

    def _svm(self) -> FeatureSVM:
        """A fresh classifier with the method's options (one per training fold)."""
        svm = FeatureSVM(**{name: getattr(self, name) for name in FeatureSVM().get_params()})
        svm._check_params()
        return svm

    # ---- features -------------------------------------------------------------------
    representation = ""  # the input representation the descriptor reads ("tim_clip", "flow_sequence")
    input_keys: dict[str, str] = {}  # input parameter -> the method parameter that sets it
    descriptor: type = object  # the descriptor (a scikit-learn transformer) of :mod:`microexpr.features`

    def _keep(self, params: dict[str, Any]) -> None:
        """Keep the constructor's parameters under their own names (scikit-learn's convention,
        read by the stage keys and the memo), then check the SVM and descriptor options now."""
        svm = params.pop("svm", None)
        for name, value in params.items():
            if name != "self":
                setattr(self, name, value)
        self._init_svm(svm)
        if self.representation:
            self._transformer().fit(None)  # validate now, not after preprocessing

    def _transformer(self) -> Any:
        """The descriptor with this method's values for every parameter both declare."""
        names = [n for n in inspect.signature(self.descriptor).parameters if hasattr(self, n)]
        return self.descriptor(**{n: _plain(getattr(self, n)) for n in names})

    def _input(self) -> dict[str, Any]:
        """Parameters of the input representation: the method's own, plus ``inputs``."""
        own = {key: getattr(self, attr) for key, attr in self.input_keys.items()}
        return _input_params(self.inputs, own, self.method_name)

    def _compute(self, table: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        transformer, params = self._transformer(), self._input()
        return _in_chunks(table, _clip_bytes(self.representation, params),
                          lambda part: transformer.transform(_load(part, self.representation, params, ctx)))

    def _settings(self) -> dict[str, Any]:  # descriptor + input parameters (memo key)
        return {"descriptor": self._transformer().get_params(), "inputs": self._input()}

    def prepare_inputs(self, table: pd.DataFrame, ctx: RunContext) -> None:
        """Fill the inputs cache for ``table`` (the engine calls it before dispatching units to workers)."""
        if self.representation:
            self.features(table, ctx)

    def features(self, table: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        """(n_clips, n_features) descriptor matrix of ``table``'s clips, in table order."""
        settings = json.dumps({"method": self.method_name, **self._settings()}, sort_keys=True, default=str)
        memo = _MEMO.setdefault(settings, {})
        while len(_MEMO) > _MEMO_MAX_SETTINGS:
            _MEMO.pop(next(iter(_MEMO)))
        rows = table.to_dict("records")
        ids = [_clip_id(r) for r in rows]
        todo = [i for i, c in enumerate(ids) if c not in memo]
        if todo:
            X_new = self._compute(table.iloc[todo], ctx)
            if X_new.shape[0] != len(todo):
                raise ModelError(f"method {self.method_name!r}: {X_new.shape[0]} feature rows for {len(todo)} clips")
            for i, x in zip(todo, X_new):
                memo[ids[i]] = x
        return np.stack([memo[c] for c in ids]) if ids else np.zeros((0, 0))

    # ---- Method interface -----------------------------------------------------------
    def fit(self, train: pd.DataFrame, ctx: RunContext) -> "_FeatureSVMMethod":
        y = training_labels(train, ctx, self.method_name)
        svm = self._svm()
        X = self.features(train, ctx)
        self.svm_ = svm.fit(X, y)
        return self

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        if not hasattr(self, "svm_"):
            raise ModelError(f"method {self.method_name!r}: predict_proba called before fit")
        return self.svm_.predict_proba_full(self.features(test, ctx), ctx.n_classes)

    def fit_predict_folds(
        self, folds: list[tuple[pd.DataFrame, pd.DataFrame]], ctx: RunContext
    ) -> list[np.ndarray]:
        """Compute every clip's descriptor once, then fit and predict fold by fold."""
        tables = [t for pair in folds for t in pair]
        if tables:
            every = pd.concat(tables, ignore_index=True).drop_duplicates("key")
            self.features(every, ctx)  # fills the memo in one pass (one progress bar)
        out = []
        for train, test in folds:
            self.fit(train, ctx)
            out.append(self.predict_proba(test, ctx))
        return out


#: Most bytes of input arrays held at once while descriptors are computed: HOOF's 64-frame flow
#: sequences are 8 MB a clip (3.6 GB for the 442 composite clips), so clips are loaded and
#: described in parts of at most this size. Descriptors are per clip: the result is the same.
CHUNK_BYTES = 256 * 2**20


def _clip_bytes(name: str, params: dict[str, Any]) -> int:
    """Bytes of one clip's array of representation ``name`` under ``params``."""
    from ..inputs import resolve_representation_params
    from ..inputs.representations import expected_array

    dtype, shape = expected_array(name, resolve_representation_params(name, params))
    return int(np.dtype(dtype).itemsize * int(np.prod(shape)))


def _in_chunks(table: pd.DataFrame, clip_bytes: int, describe: Any) -> np.ndarray:
    """``describe(part)`` over consecutive parts of ``table`` of at most :data:`CHUNK_BYTES` of input
    arrays each, stacked in table order."""
    step = max(1, CHUNK_BYTES // max(1, clip_bytes))
    parts = [np.asarray(describe(table.iloc[i:i + step])) for i in range(0, len(table), step)]
    if len(parts) <= 1:
        return parts[0] if parts else np.asarray(describe(table))
    return np.concatenate(parts)


def _load(table: pd.DataFrame, name: str, params: dict[str, Any], ctx: RunContext) -> np.ndarray:
    from ..inputs import load_inputs  # lazy: the inputs layer imports OpenCV and dlib

    return load_inputs(table, name, params, cache_dir=ctx.cache_dir, n_jobs=ctx.n_jobs, progress=ctx.progress)


def _plain(value: Any) -> Any:
    """YAML lists and tuple defaults alike become lists (the descriptors' grid / n_points)."""
    return list(value) if isinstance(value, (list, tuple)) else value


def _input_params(extra: dict[str, Any] | None, own: dict[str, Any], method: str) -> dict[str, Any]:
    extra = dict(extra or {})
    clash = sorted(set(extra) & set(own))
    if clash:
        raise ConfigError(f"method {method!r}: inputs {clash} are set by the method's own parameters; set them there")
    return {**extra, **own}


@register_method("lbptop_svm")
@accepts(SVM_OPTIONS, into="svm")
class LBPTOPSVM(_FeatureSVMMethod):
    """LBP-TOP on TIM clips + SVM (ATNet Table II/III, MEGC 2019 baseline, TLCNN Table 3).

    ``tim_length``, ``size``, ``colour`` (grey | rgb: per channel concatenated),
    ``interpolation`` (tim | linear); ``radius_x/y/t``, ``n_points`` (P, or [P_XY, P_XT,
    P_YT]), ``mapping``, ``grid`` [rows, cols], ``normalize``; SVM options (module doc).
    """

    method_name = "lbptop_svm"
    representation = "tim_clip"
    input_keys = {"length": "tim_length", "size": "size", "colour": "colour", "interpolation": "interpolation"}
    descriptor = LBPTOP

    def __init__(
        self,
        tim_length: int = 10,
        size: int = 128,
        colour: str = "grey",
        interpolation: str = "tim",
        radius_x: float = 1.0,
        radius_y: float = 1.0,
        radius_t: float = 1.0,
        n_points: int | list[int] = 8,
        mapping: str = "nri_uniform",
        grid: list[int] | int = (5, 5),
        normalize: str = "l1",
        svm: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        self._keep(dict(locals()))


@register_method("hoof_svm")
@accepts(SVM_OPTIONS, into="svm")
class HOOFSVM(_FeatureSVMMethod):
    """HOOF on the flows of TIM clips + SVM (ATNet Table II/III).

    ``tim_length``, ``size``, ``interpolation``, ``flow_method``, ``flow_preset`` (inputs);
    ``n_bins``, ``magnitude_weighted``, ``symmetric``, ``temporal`` (per_frame | pooled),
    ``grid``, ``min_magnitude`` (descriptor); SVM options (module doc).
    """

    method_name = "hoof_svm"
    representation = "flow_sequence"
    input_keys = {"length": "tim_length", "size": "size", "interpolation": "interpolation",
                  "flow_method": "flow_method", "flow_preset": "flow_preset"}
    descriptor = HOOF

    def __init__(
        self,
        tim_length: int = 10,
        size: int = 128,
        interpolation: str = "tim",
        flow_method: str = "farneback",
        flow_preset: str = "default",
        n_bins: int = 8,
        magnitude_weighted: bool = True,
        symmetric: bool = True,
        temporal: str = "per_frame",
        grid: list[int] | int = (1, 1),
        min_magnitude: float = 0.0,
        svm: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        self._keep(dict(locals()))


@register_method("mdmo_svm")
@accepts(SVM_OPTIONS, into="svm")
class MDMOSVM(_FeatureSVMMethod):
    """MDMO on the flows of TIM clips and the onset landmarks + SVM (TLCNN Table 3).

    ``tim_length``, ``size``, ``interpolation``, ``flow_method``, ``flow_preset`` (inputs);
    ``lam`` (TLCNN: 0.77), ``n_bins``, ``pooling``, ``accumulate`` (default true: MDMO's
    flows run from the first frame, approximated by summing consecutive flows),
    ``normalize_magnitude``, ``min_magnitude``; SVM options (module doc).
    """

    method_name = "mdmo_svm"
    representation = "flow_sequence"
    input_keys = {"length": "tim_length", "size": "size", "interpolation": "interpolation",
                  "flow_method": "flow_method", "flow_preset": "flow_preset"}
    descriptor = MDMO

    def __init__(
        self,
        tim_length: int = 32,
        size: int = 128,
        interpolation: str = "tim",
        flow_method: str = "farneback",
        flow_preset: str = "default",
        lam: float = 0.5,
        n_bins: int = 8,
        pooling: str = "per_frame",
        accumulate: bool = True,
        normalize_magnitude: bool = True,
        min_magnitude: float = 0.0,
        svm: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        self._keep(dict(locals()))
        if not 0.0 <= float(lam) <= 1.0:
            raise ConfigError(f"method 'mdmo_svm': lam={lam!r} must lie in [0, 1]")

    def _landmark_input(self) -> dict[str, Any]:
        from ..inputs.params import FACE_PARAMS  # the flows' face step, every key of it

        extra = {k: v for k, v in (self.inputs or {}).items() if k in FACE_PARAMS}
        return {**extra, "size": self.size}

    def _compute(self, table: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        transformer, params = self._transformer(), self._input()

        def part_features(part: pd.DataFrame) -> np.ndarray:
            flows = _load(part, self.representation, params, ctx)
            landmarks = _load(part, "crop_landmarks", self._landmark_input(), ctx)
            return transformer.transform(list(zip(flows, landmarks)))

        return _in_chunks(table, _clip_bytes(self.representation, params), part_features)


@register_method("features_svm")
@accepts(SVM_OPTIONS, into="svm")
class FeaturesSVM(_FeatureSVMMethod):
    """A pre-computed feature file (``features``: path of an ``.npz`` with ``X`` and ``keys``) + SVM.

    Rows are matched to the clips by key; the file may hold more clips than the run uses.
    """

    method_name = "features_svm"

    def __init__(
        self,
        features: str,
        svm: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(features, str) or not features:
            raise ConfigError(f"method 'features_svm': features must be the path of an .npz file, got {features!r}")
        self.features_path = features
        self._init_svm(svm)

    def features(self, table: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        """Rows of the feature file for ``table``'s keys (the file reader caches the file)."""
        from ..sources.feature_npz import load_feature_file

        return load_feature_file(self.features_path, table["key"].astype(str).tolist())
