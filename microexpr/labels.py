"""Label schemes: data mapping (dataset, native emotion or objective class) -> task class.

A scheme is a :class:`Scheme` in :data:`SCHEMES`; ``None`` in a mapping means "excluded".
Native values are matched case-insensitively after stripping spaces. A value that a
scheme does not list for a dataset is an error (never silently dropped): add it to the
scheme or fix the copy (``microexpr datasets check`` lists unknown emotions).

The mapping used for a row is that of its ``label_source`` column when the table has one
and it is set (the reader whose vocabulary ``emotion`` uses: ``flow_png`` rows carry
composite class names but ``dataset`` = the corpus of the image), else of its ``dataset``.

* ``composite3`` — MEGC 2019 composite (CDE): 0 negative, 1 positive, 2 surprise; on a
  full copy of CASME II + SAMM + SMIC-HS it gives the standard 442 clips (250/109/83)
  from 68 subjects. CK+ and CAS(ME)^2 mappings are ours (for pretraining / extra data;
  neutral and "others" excluded) and are not part of the 442.
* ``objective5`` — MEGC 2018 objective classes I..V (names as in Micro-Attention:
  happiness, surprise, anger, disgust, sadness), taken from the dataset's own
  objective-class file/column; VI and VII excluded.
* ``tlcnn4`` — TLCNN: positive, negative, surprise, others (CASME, CASME II, SMIC; SAMM,
  CAS(ME)^2 added with the same reading).
* ``macro5`` — macro-expression pretraining (Micro-Attention, ATNet's spatial stream):
  happiness, surprise, anger, disgust, sadness from any macro corpus (one mapping for
  every dataset, :data:`ANY_DATASET`); neutral, fear, contempt, other excluded.
* ``macro3`` — MTMNet's macro-expression corpora on the composite classes (paper 003 §4.1:
  happiness -> positive, surprise -> surprise, anger/contempt/disgust/fear/sadness -> negative),
  from any macro corpus (CK+, MMI, Oulu-CASIA through a manifest), the reading composite3
  gives CK+; neutral and "other" excluded.
* ``expression9`` — TLCNN's expression pretraining (§4.1): neutral, anger, disgust, fear, happy,
  sad, surprise, shame, contempt from any still-expression corpus (KDEF, MMI, RaFD, TFEID
  through a manifest; CK+). §4.1's list is used; eq. 11 lists "afraid" beside "fear" and no
  "shame" (KDEF's "afraid" is fear here). No listed corpus has shame: the class stays an
  output (FC8 has 9 units) with no images, and the run log says so.
* ``native`` — the native emotion itself; classes are the sorted distinct values.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .errors import ConfigError, DatasetFormatError
from .identity import IdentityIndex, clip_identity
from .io_utils import read_text_file


@dataclass(frozen=True)
class Scheme:
    """A label scheme: ``classes`` in code order, the ClipTable column it reads
    (``emotion`` or ``objective_class``) and ``mapping[dataset][native value] -> class or None``."""

    name: str
    classes: tuple[str, ...]
    source: str
    mapping: Mapping[str, Mapping[str, str | None]]
    description: str = ""

    def mapping_for(self, vocabulary: str) -> Mapping[str, str | None] | None:
        """The mapping of one dataset (vocabulary); :data:`ANY_DATASET` serves datasets not listed."""
        return self.mapping.get(vocabulary, self.mapping.get(ANY_DATASET))


ANY_DATASET = "*"  # a scheme mapping under this key applies to every dataset it does not name


_NEG, _POS, _SUR, _OTH = "negative", "positive", "surprise", "others"

COMPOSITE3 = Scheme(
    name="composite3",
    classes=(_NEG, _POS, _SUR),
    source="emotion",
    description="MEGC 2019 composite 3-class (CASME II + SAMM + SMIC-HS: 442 clips)",
    mapping={
        "casme2": {"happiness": _POS, "surprise": _SUR, "disgust": _NEG, "repression": _NEG,
                   "others": None, "fear": None, "sadness": None},
        "samm": {"happiness": _POS, "surprise": _SUR, "anger": _NEG, "contempt": _NEG, "disgust": _NEG,
                 "fear": _NEG, "sadness": _NEG, "other": None},
        "smic": {"negative": _NEG, "positive": _POS, "surprise": _SUR},
        "ckplus": {"happy": _POS, "surprise": _SUR, "anger": _NEG, "contempt": _NEG, "disgust": _NEG,
                   "fear": _NEG, "sadness": _NEG, "neutral": None, "unlabelled": None},
        "casme_sq": {"positive": _POS, "negative": _NEG, "surprise": _SUR, "others": None},
        # precomputed STSTNet-style flow PNGs (microexpr.datasets.flow_png_folder): the
        # emotion cell already holds the composite class
        "flow_png": {"negative": _NEG, "positive": _POS, "surprise": _SUR},
    },
)

_OBJ = {"1": "happiness", "2": "surprise", "3": "anger", "4": "disgust", "5": "sadness", "6": None, "7": None}
OBJECTIVE5 = Scheme(
    name="objective5",
    classes=("happiness", "surprise", "anger", "disgust", "sadness"),
    source="objective_class",
    description="MEGC 2018 objective classes I-V (VI, VII excluded)",
    mapping={"casme2": _OBJ, "samm": _OBJ},
)

TLCNN4 = Scheme(
    name="tlcnn4",
    classes=(_POS, _NEG, _SUR, _OTH),
    source="emotion",
    description="TLCNN 4-class: positive, negative, surprise, others",
    mapping={
        "casme2": {"happiness": _POS, "surprise": _SUR, "disgust": _NEG, "repression": _NEG, "fear": _NEG,
                   "sadness": _NEG, "others": _OTH},
        "casme": {"happiness": _POS, "surprise": _SUR, "disgust": _NEG, "repression": _NEG, "fear": _NEG,
                  "sadness": _NEG, "contempt": _NEG, "anger": _NEG, "tense": _OTH, "others": _OTH},
        "smic": {"positive": _POS, "negative": _NEG, "surprise": _SUR},
        "samm": {"happiness": _POS, "surprise": _SUR, "anger": _NEG, "contempt": _NEG, "disgust": _NEG,
                 "fear": _NEG, "sadness": _NEG, "other": _OTH},
        "casme_sq": {"positive": _POS, "negative": _NEG, "surprise": _SUR, "others": _OTH},
    },
)

# Macro-expression pretraining (Micro-Attention §4.1; the spatial stream of ATNet): the 5
# emotions the paper keeps, read from any macro corpus (CK+, manifest corpora such as
# Oulu-CASIA, JAFFE's codes, MUG), whatever its dataset name. Neutral, fear, contempt and
# "other" are excluded (counted in the log); a word not listed is an error naming the clip.
_HAP, _SURP, _ANG, _DIS, _SAD = "happiness", "surprise", "anger", "disgust", "sadness"
MACRO5 = Scheme(
    name="macro5",
    classes=(_HAP, _SURP, _ANG, _DIS, _SAD),
    source="emotion",
    description="macro-expression pretraining: happiness, surprise, anger, disgust, sadness (any dataset)",
    mapping={ANY_DATASET: {
        "happiness": _HAP, "happy": _HAP, "joy": _HAP, "hap": _HAP, "ha": _HAP,
        "surprise": _SURP, "surprised": _SURP, "sur": _SURP, "su": _SURP,
        "anger": _ANG, "angry": _ANG, "ang": _ANG, "an": _ANG,
        "disgust": _DIS, "disgusted": _DIS, "dis": _DIS, "di": _DIS,
        "sadness": _SAD, "sad": _SAD, "sa": _SAD,
        "neutral": None, "neu": None, "ne": None, "fear": None, "fearful": None, "afraid": None, "fea": None,
        "fe": None, "contempt": None, "unlabelled": None, "other": None, "others": None,
    }},
)

# MTMNet (paper 003): macro corpora on the composite classes, whatever their dataset name.
MACRO3 = Scheme(
    name="macro3",
    classes=(_NEG, _POS, _SUR),
    source="emotion",
    description="MTMNet macro corpora on the composite classes: negative, positive, surprise (any dataset)",
    mapping={ANY_DATASET: {
        "happiness": _POS, "happy": _POS, "joy": _POS, "hap": _POS, "ha": _POS,
        "surprise": _SUR, "surprised": _SUR, "sur": _SUR, "su": _SUR,
        **{w: _NEG for w in ("anger", "angry", "ang", "an", "disgust", "disgusted", "dis", "di", "sadness", "sad",
                             "sa", "fear", "fearful", "afraid", "fea", "fe", "contempt", "contemptuous")},
        "neutral": None, "neu": None, "ne": None, "unlabelled": None, "other": None, "others": None,
    }},
)

# TLCNN §4.1 (the class list of the prose, not eq. 11's): one mapping for every corpus.
EXPRESSION9 = Scheme(
    name="expression9",
    classes=("neutral", "anger", "disgust", "fear", "happy", "sad", "surprise", "shame", "contempt"),
    source="emotion",
    description="TLCNN expression pretraining: 9 classes of §4.1 (any dataset)",
    mapping={ANY_DATASET: {
        "neutral": "neutral", "neu": "neutral", "ne": "neutral",
        "anger": "anger", "angry": "anger", "ang": "anger", "an": "anger",
        "disgust": "disgust", "disgusted": "disgust", "dis": "disgust", "di": "disgust",
        "fear": "fear", "fearful": "fear", "afraid": "fear", "fea": "fear", "fe": "fear", "af": "fear",
        "happy": "happy", "happiness": "happy", "joy": "happy", "hap": "happy", "ha": "happy",
        "sad": "sad", "sadness": "sad", "sa": "sad",
        "surprise": "surprise", "surprised": "surprise", "sur": "surprise", "su": "surprise",
        "shame": "shame", "contempt": "contempt", "contemptuous": "contempt",
        "unlabelled": None, "other": None, "others": None,
    }},
)

NATIVE = Scheme(name="native", classes=(), source="emotion", mapping={},
                description="native emotion labels as written (classes: sorted distinct values)")

SCHEMES: dict[str, Scheme] = {s.name: s for s in (COMPOSITE3, OBJECTIVE5, TLCNN4, MACRO5, MACRO3, EXPRESSION9, NATIVE)}

# Where each dataset's objective classes come from (named in the error when they are absent).
OBJECTIVE_SOURCES = {
    "casme2": "CASME2-ObjectiveClasses.xlsx (MEGC 2018) in the CASME II root",
    "samm": "the 'Objective Classes' column of SAMM_Micro_FACS_Codes_v2.xlsx",
}

@dataclass
class SchemeReport:
    """What applying a scheme kept and left out, for the run report and the CLI."""

    scheme: str
    classes: tuple[str, ...]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # dataset -> class -> n
    subjects: dict[str, int] = field(default_factory=dict)  # dataset -> n subjects kept
    excluded: dict[tuple[str, str], int] = field(default_factory=dict)  # (dataset, native value) -> n
    not_in_list: list[str] = field(default_factory=list)  # local clips the ground-truth list leaves out
    missing_from_copy: list[str] = field(default_factory=list)  # list entries the local copy lacks
    label_mismatches: list[tuple[str, str, str]] = field(default_factory=list)  # (key, scheme class, list class)

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    def summary(self) -> str:
        lines = [f"label scheme {self.scheme}: {self.total} clips, classes {list(self.classes)}"]
        for ds, c in self.counts.items():
            parts = " / ".join(f"{c.get(k, 0)} {k}" for k in self.classes)
            lines.append(f"  {ds}: {parts} = {sum(c.values())} ({self.subjects.get(ds, 0)} subjects)")
        for (ds, value), n in sorted(self.excluded.items()):
            lines.append(f"  excluded {ds} {value!r}: {n}")
        if self.not_in_list:
            lines.append(f"  {len(self.not_in_list)} local clip(s) not in the ground-truth list (left out)")
        if self.missing_from_copy:
            lines.append(f"  {len(self.missing_from_copy)} clip(s) of the ground-truth list missing from the local copy: "
                         + ", ".join(self.missing_from_copy[:10]) + (" ..." if len(self.missing_from_copy) > 10 else ""))
        for key, ours, theirs in self.label_mismatches[:10]:
            lines.append(f"  label differs for {key}: scheme says {ours}, list says {theirs} (list used)")
        return "\n".join(lines)


def get_scheme(scheme: str | Scheme) -> Scheme:
    """A scheme by name (or the object itself); raise naming the known schemes."""
    if isinstance(scheme, Scheme):
        return scheme
    if scheme not in SCHEMES:
        raise ConfigError(f"unknown label scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    return SCHEMES[scheme]


def _norm(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    return str(value).strip().lower()


def apply_scheme(
    table: pd.DataFrame, scheme: str | Scheme, *, ground_truth_csv: str | Path | None = None
) -> tuple[pd.DataFrame, tuple[str, ...], SchemeReport]:
    """Label a ClipTable: add int ``label`` and ``label_name``, drop excluded clips.

    With ``ground_truth_csv`` (rows ``dataset,subject,clip,label``, e.g. ``samm,6,006_1_2,0``)
    the list fixes the clips and their labels: local clips it does not name are left out
    (``report.not_in_list``), clips it names that the copy lacks are reported
    (``report.missing_from_copy``), and labels that differ from the scheme are reported.
    """
    sch = get_scheme(scheme)
    rep_classes = sch.classes
    names: list[str | None] = []
    excluded: Counter = Counter()
    if sch.name == "native":
        values = [str(e).strip() for e in table["emotion"]]
        rep_classes = tuple(sorted({v for v in values if v and v != "unlabelled"}))
        names = [v if v in rep_classes else None for v in values]
        excluded.update((ds, v) for ds, v, n in zip(table["dataset"], values, names) if n is None)
    else:
        vocab = mapping_keys(table)
        _check_coverage(table, sch, vocab)
        unknown: list[str] = []
        for row, vkey in zip(table.itertuples(index=False), vocab):
            raw = getattr(row, sch.source, None) if sch.source in table.columns else None
            value = _norm(raw)
            if sch.source == "objective_class" and value:
                value = str(int(float(value)))
            mapping = sch.mapping_for(vkey) or {}
            if value not in mapping:
                if sch.source == "objective_class" and not value:
                    excluded[(row.dataset, "no objective class")] += 1
                    names.append(None)
                    continue
                unknown.append(f"{row.key} ({raw!r})")
                names.append(None)
                continue
            names.append(mapping[value])
            if mapping[value] is None:
                excluded[(row.dataset, str(raw))] += 1
        if unknown:
            raise DatasetFormatError(
                f"label scheme {sch.name}: {len(unknown)} clip(s) have a {sch.source} the scheme does not list: "
                f"{', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}; "
                "fix the copy (see `microexpr datasets check`) or extend the scheme"
            )
    report = SchemeReport(scheme=sch.name, classes=rep_classes, excluded=dict(excluded))
    out = table.copy()
    out["label_name"] = names
    if ground_truth_csv is not None:
        out = _apply_ground_truth(out, Path(ground_truth_csv), rep_classes, report)
    else:
        out = out[out["label_name"].notna()].copy()
    index = {c: i for i, c in enumerate(rep_classes)}
    out["label"] = [index[n] for n in out["label_name"]]
    out["label"] = out["label"].astype("int64")
    out = out.reset_index(drop=True)
    for ds, part in out.groupby("dataset", sort=False):
        report.counts[ds] = {c: int((part["label_name"] == c).sum()) for c in rep_classes}
        report.subjects[ds] = int(part["subject"].nunique())
    return out, rep_classes, report


def mapping_keys(table: pd.DataFrame) -> list[str]:
    """Per row, the scheme mapping to use: ``label_source`` where set, else ``dataset``."""
    datasets = [str(d) for d in table["dataset"]]
    if "label_source" not in table.columns:
        return datasets
    return [str(s) if isinstance(s, str) and s else d for s, d in zip(table["label_source"], datasets)]


def _check_coverage(table: pd.DataFrame, sch: Scheme, vocab: list[str]) -> None:
    uncovered = sorted(v for v in set(vocab) if sch.mapping_for(v) is None)
    if uncovered:
        extra = (" (flow_png tables hold composite classes only: use scheme composite3 or native)"
                 if "flow_png" in uncovered else "")
        raise ConfigError(
            f"label scheme {sch.name} does not cover dataset(s) {uncovered}; it covers {sorted(sch.mapping)}{extra}"
        )
    datasets = sorted(set(table["dataset"]))
    if sch.source == "objective_class":
        for ds in datasets:
            part = table[table["dataset"] == ds]
            if "objective_class" not in part.columns or part["objective_class"].isna().all():
                raise DatasetFormatError(
                    f"label scheme {sch.name}: no objective classes for {ds}; expected "
                    f"{OBJECTIVE_SOURCES.get(ds, 'an objective-class file')}"
                )


def read_ground_truth(path: Path) -> list[tuple[str, str, str, int]]:
    """Rows (dataset, subject, clip, label) of an official list; a header row is optional."""
    if not path.is_file():
        raise DatasetFormatError(f"ground-truth list {path} not found")
    rows = []
    with io.StringIO(read_text_file(path, "ground-truth list"), newline="") as fh:
        for n, rec in enumerate(csv.reader(fh), start=1):
            if not rec or all(not c.strip() for c in rec):
                continue
            if len(rec) < 4:
                raise DatasetFormatError(f"ground-truth list {path} line {n}: expected dataset,subject,clip,label; got {rec}")
            try:
                label = int(float(rec[3]))
            except ValueError:
                if n == 1:
                    continue  # header
                raise DatasetFormatError(f"ground-truth list {path} line {n}: label {rec[3]!r} is not an integer") from None
            rows.append((rec[0].strip(), rec[1].strip(), rec[2].strip(), label))
    return rows


def _apply_ground_truth(out: pd.DataFrame, path: Path, classes: tuple[str, ...], report: SchemeReport) -> pd.DataFrame:
    gt = read_ground_truth(path)
    local_index = IdentityIndex(((clip_identity(r.dataset, r.subject, r.clip), str(r.key)) for r in out.itertuples(index=False)),
                                "the clip table")
    row_of = {k: i for i, k in zip(out.index, out["key"])}
    local = {ident: row_of[k] for ident, k in local_index.by_id.items()}
    keep: list[Any] = []
    listed: list[str] = []
    for ds, sub, clip, label in gt:
        if not 0 <= label < len(classes):
            raise DatasetFormatError(f"ground-truth list {path}: label {label} for {ds},{sub},{clip} is not in 0..{len(classes) - 1}")
        mk = clip_identity(ds, sub, clip)
        i = local.get(mk)
        if i is None:
            report.missing_from_copy.append(f"{ds},{sub},{clip}")
            continue
        if i in keep:
            raise DatasetFormatError(f"ground-truth list {path}: clip {ds},{sub},{clip} is listed twice")
        keep.append(i)
        listed.append(classes[label])
        ours = out.at[i, "label_name"]
        if ours != classes[label]:
            report.label_mismatches.append((out.at[i, "key"], str(ours), classes[label]))
    kept = set(keep)
    report.not_in_list = [k for i, k in zip(out.index, out["key"]) if i not in kept]
    res = out.loc[keep].copy()
    res["label_name"] = listed
    return res
