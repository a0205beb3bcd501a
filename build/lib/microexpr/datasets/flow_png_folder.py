"""Precomputed STSTNet-style flow images (PNG, 28x28, u, v, strain) read on their own as a ClipTable.

For researchers who hold only the published composite flow images (442 PNGs), not the
licensed corpora. ``read(root, labels=None)`` accepts the two layouts of
:class:`microexpr.sources.flow_png.FlowPngFolder`:

- *flat*: ``ROOT/<subject>_<clip>.png`` or ``ROOT/<subject>_<clip> .png`` (space before
  ``.png``, as in the published copies); labels then come from the ``labels`` CSV;
- *per fold*: ``ROOT/<subject>/{u_train,u_test}/{0,1,2}/<subject>_<clip>.png``; the folder
  digit is the label (0 negative, 1 positive, 2 surprise). A ``labels`` CSV may be given
  too: it must then agree with the folders.

Corpus of a clip (the ``dataset`` column), from the subject token before the first ``_``
of the file name (case-insensitive): ``subNN`` -> ``casme2`` (subject ``sub01``), ``sNN`` ->
``smic`` (subject ``s01``; the clip is spelt as the SMIC folders spell it, ``s1_ne_01``),
``NNN`` (digits only) -> ``samm`` (subject ``006``). Subjects are namespaced exactly as the
casme2/smic/samm readers do (``casme2/sub01``, ``smic/s01``, ``samm/006``), so the keys are
those of the real readers and LOSO/CDE/HDE and ``ground_truth_csv`` behave the same (CDE
on the 442 published images gives 68 subject folds). Any other subject spelling is
refused, naming the file.

Labels file (``labels``): a CSV with either columns ``subject,clip,label`` or the
official MEGC 2019 list ``dataset,subject,clip,label`` (e.g. ``samm,6,006_1_2,0``); a
header row is optional (recognised by a ``label`` cell). ``label`` is ``0``/``1``/``2``
or ``negative``/``positive``/``surprise``; anything else is an error naming the line.
Subjects/clips match with the padding of the other readers ignored (``6`` = ``006``,
``s1`` = ``s01``, ``1``/``sub01`` for CASME II when the dataset column says so); without a
dataset column the corpus follows the subject-spelling rule above. A relative ``labels``
path is looked up in ROOT first, then in the current directory. PNGs the labels file
lacks and rows naming no PNG are *problems* (``on_problem``: ``raise`` lists them all;
``skip`` leaves them out, listed in ``DatasetRead.problems``) -- never dropped silently.

ClipTable representation (a decision; the spec is silent): one row per image;
``frames`` = ``(<png path>,)``, ``onset = apex = offset = 0``, ``fps`` the corpus's rate
(CASME II/SAMM 200, SMIC-HS 100; informative only); ``apex_source`` is how the image's
apex was obtained by its authors: ``annotated`` (CASME II, SAMM), ``dc_rois`` (SMIC,
DATASETS.md); ``emotion`` is the composite class name; extra columns ``flow_png`` (the
image path) and ``label_source = "flow_png"`` (the emotion vocabulary: label schemes map
it, ``composite3`` directly, see :mod:`microexpr.labels`). Representations computed from
frames (``microexpr.inputs``) refuse such rows with a clear error: only the flow-image
methods (``ststnet``, ``laenet``, ``off_apexnet``) can use them, reading the PNG itself.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from ..errors import DatasetFormatError
from ..io_utils import read_text_file
from ..identity import COMPOSITE_SUBJECT_RULE, ClipId, canonical_dataset, clip_identity, composite_corpus
from ..sources.flow_png import FlowPngFolder
from . import casme2, samm, smic
from .base import ClipCollector, DatasetRead, RepairRule, RepairTable, check_option, require_root

NAME = "flow_png"
CLASSES = ("negative", "positive", "surprise")
EMOTIONS = frozenset(CLASSES)
CORPORA = ("casme2", "samm", "smic")
"""Values the ``dataset`` column can take (paper_reference scopes, HDE names)."""
FPS = {"casme2": casme2.FPS, "samm": samm.FPS, "smic": smic.FPS["HS"]}
APEX_SOURCE = {"casme2": "annotated", "samm": "annotated", "smic": "dc_rois"}
SUBJECT_RULE = COMPOSITE_SUBJECT_RULE
REPAIRS: dict[tuple[str, str], tuple[RepairRule, ...]] = {}


def parse_stem(stem: str) -> tuple[str, str, str]:
    """``(corpus, native subject, clip)`` of a ``<subject>_<clip>`` name; ValueError if unknown.

    >>> parse_stem("s01_s01_ne_01")
    ('smic', 's01', 's1_ne_01')
    """
    subject, sep, clip = stem.strip().partition("_")
    if not sep or not clip.strip():
        raise ValueError("no '_' separating <subject> and <clip>")
    corpus = composite_corpus(subject)
    if corpus is None:
        raise ValueError(f"subject {subject!r} is not {SUBJECT_RULE}")
    return native_spelling(corpus, subject, clip)


def native_spelling(corpus: str, subject: str, clip: str) -> tuple[str, str, str]:
    """``(corpus, subject, clip)`` spelt as that corpus's reader spells them (``samm``, ``6`` ->
    ``006``; ``smic``, ``1``, ``s01_ne_01`` -> ``s01``, ``s1_ne_01``); other spellings kept."""
    corpus = canonical_dataset(corpus)
    digits = re.fullmatch(r"(?:sub|s)?0*(\d+)", subject.strip().lower())
    if digits is None:
        return corpus, subject.strip(), clip.strip()
    number = int(digits.group(1))
    if corpus == "casme2":
        return corpus, f"sub{number:02d}", clip.strip()
    if corpus == "smic":
        return corpus, f"s{number:02d}", smic.canonical_clip(clip)
    if corpus == "samm":
        return corpus, f"{number:03d}", clip.strip()
    return corpus, subject.strip(), clip.strip()


def label_index(value: str) -> int | None:
    """A label cell (``0``/``1``/``2`` or a class name) as a class index; None if unknown."""
    s = str(value).strip().lower()
    if s in CLASSES:
        return CLASSES.index(s)
    try:
        f = float(s)
    except ValueError:
        return None
    return int(f) if f.is_integer() and 0 <= f < len(CLASSES) else None


def read(
    root: str | Path,
    *,
    labels: str | None = None,
    repairs: RepairTable | None = None,
    on_problem: str = "raise",
) -> DatasetRead:
    """Read a flow-PNG folder (flat or per-fold) into a ClipTable; see the module docstring."""
    check_option(NAME, "on_problem", on_problem, ("raise", "skip"))
    root = require_root(NAME, root, "a folder of <subject>_<clip>.png files or <subject>/u_train|u_test/<0|1|2>/ folders")
    src = FlowPngFolder(root)
    col = ClipCollector(NAME, REPAIRS, repairs)
    col.skipped += _unused_items(root, src)
    listed = _read_labels(_labels_path(root, labels)) if labels is not None else None
    if listed is None and src.layout == "flat":
        raise DatasetFormatError(
            f"{NAME}: {root} is a flat folder of PNGs, which carries no labels; give the labels CSV as the reader "
            f"option labels (columns subject,clip,label or the official dataset,subject,clip,label list), e.g. "
            f"data.options: {{flow_png: {{labels: /path/labels.csv}}}} or `--option labels=FILE` for `datasets check`"
        )
    used: set[ClipId] = set()
    for path, folder_label in sorted(src.index.values()):
        stem = path.name[:-4].rstrip()
        try:
            corpus, native, clip = parse_stem(stem)
        except ValueError as exc:
            col.problem(str(path), f"{exc}; name it <subject>_<clip>.png with the subject spelt {SUBJECT_RULE}, "
                                   "e.g. sub01_EP02_01f.png, s01_s01_ne_01.png, 006_006_1_2.png")
            continue
        key = f"{corpus}/{native}/{clip}"
        label: int | None = None
        if folder_label is not None:
            if not 0 <= folder_label < len(CLASSES):
                col.problem(key, f"{path}: label folder {folder_label} is not 0, 1 or 2 ({', '.join(CLASSES)})")
                continue
            label = folder_label
        if listed is not None:
            match = clip_identity(corpus, native, clip)
            entry = listed.get(match)
            if entry is None:
                col.problem(key, f"{path.name}: no row in the labels file {labels}; add a row for it or remove the PNG")
                continue
            used.add(match)
            if label is not None and entry[0] != label:
                col.problem(key, f"{path}: folder label {label} ({CLASSES[label]}) but {entry[1]} says "
                                 f"{entry[0]} ({CLASSES[entry[0]]}); fix one of them")
                continue
            label = entry[0]
        if label is None:  # unreachable: a flat folder without labels was refused above
            raise DatasetFormatError(f"{path}: no label")
        values = col.repaired(native, clip, {"emotion": CLASSES[label]})
        col.add(native_subject=native, subject_id=native, clip=clip, frames=[path], fps=FPS[corpus],
                onset=0, apex=0, offset=0, numbers=False, emotion=values["emotion"],
                extra={"dataset": corpus, "subject": f"{corpus}/{native}", "key": key,
                       "apex_source": APEX_SOURCE[corpus], "flow_png": str(path), "label_source": NAME})
    for match, (_, where, key) in (listed or {}).items():
        if match not in used:
            col.problem(key, f"{where} names this clip but {root} has no PNG for it "
                                         "(<subject>_<clip>.png); add the image or delete the row")
    return col.finish("midpoint", on_problem)


def _labels_path(root: Path, labels: str | Path) -> Path:
    p = Path(labels).expanduser()
    tried = [p] if p.is_absolute() else [root / p, Path.cwd() / p]
    for cand in tried:
        if cand.is_file():
            return cand.resolve()
    raise DatasetFormatError(f"{NAME}: labels file {labels} not found (looked at {', '.join(str(t) for t in tried)})")


def _read_labels(path: Path) -> dict[ClipId, tuple[int, str, str]]:
    """Clip identity -> (class index, ``file line N``, the clip's key in the reader's spelling) of
    a labels CSV (see the module docstring)."""
    out: dict[ClipId, tuple[int, str, str]] = {}
    with io.StringIO(read_text_file(path, "labels file"), newline="") as fh:
        rows = [(n, [c.strip() for c in rec]) for n, rec in enumerate(csv.reader(fh), start=1)
                if rec and any(c.strip() for c in rec)]
    if rows and any(c.lower() == "label" for c in rows[0][1]):
        rows = rows[1:]  # header
    for n, rec in rows:
        where = f"{path.name} line {n}"
        if len(rec) not in (3, 4):
            raise DatasetFormatError(f"{where}: expected subject,clip,label or dataset,subject,clip,label; got {rec}")
        label = label_index(rec[-1])
        if label is None:
            raise DatasetFormatError(f"{where}: label {rec[-1]!r} is not 0, 1, 2 or one of {list(CLASSES)}; fix the row")
        if len(rec) == 4:
            if canonical_dataset(rec[0]) not in CORPORA:
                raise DatasetFormatError(f"{where}: dataset {rec[0]!r} is not one of {list(CORPORA)}")
            ds, sub, clip = native_spelling(rec[0], rec[1], rec[2])
        else:
            try:
                ds, sub, clip = parse_stem(f"{rec[0]}_{rec[1]}")
            except ValueError as exc:
                raise DatasetFormatError(f"{where}: {exc}; spell subjects {SUBJECT_RULE} or add a dataset column") from None
        match = clip_identity(ds, sub, clip)
        if match in out:
            raise DatasetFormatError(f"{where}: clip {match} is listed twice (also {out[match][1]})")
        out[match] = (label, where, f"{ds}/{sub}/{clip}")
    return out


def _unused_items(root: Path, src: FlowPngFolder) -> list[tuple[str, str]]:
    """Files/folders of ROOT the reader does not use (reported as skipped, never silently)."""
    used = {p for p, _ in src.index.values()}
    out: list[tuple[str, str]] = []
    if src.layout == "flat":
        for p in sorted(root.iterdir()):
            if p not in used:
                out.append((str(p), "not a <subject>_<clip>.png flow image"))
        return out
    copies = 0
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p in used:
            continue
        if p.suffix.lower() == ".png" and p.parent.parent.name in ("u_train", "u_test") and p.parent.parent.parent.parent == root:
            copies += 1  # the same clip in another fold's folder (FlowPngFolder checked the labels agree)
        else:
            out.append((str(p), "not part of the per-fold layout <subject>/u_train|u_test/<label>/*.png"))
    if copies:
        out.append((str(root), f"{copies} further copies of clips in other folds' folders (same label): each clip is read once"))
    return out

