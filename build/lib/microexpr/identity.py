"""Clip identity: one rule for every place where a name from outside meets the clip table.

The corpora and the files the field passes around spell the same clip differently:
SMIC folders say ``s1`` / ``s1_ne_01`` where the MEGC 2019 list says ``s01`` / ``s01_ne_01``;
SAMM subjects are ``006`` in the folders and ``6`` in the list; CASME II subjects are
``sub01`` or ``1``; CAS(ME)^2 participants ``s15`` or ``15``. Feature ``.npz`` keys,
ground-truth and labels CSVs, flow PNG names, published weight file names and HDE dataset
names all meet the reader tables through :func:`clip_identity` (or
:func:`subject_identity` / :func:`canonical_dataset`), so one spelling rule holds
everywhere:

- dataset: lower case, spaces and ``()^-`` dropped, known aliases folded
  (``CASME II`` / ``casme_2`` -> ``casme2``, ``SMIC-HS`` -> ``smic``);
- subject: the part after the last ``/`` (namespaced ids ``samm/006`` work), lower case; a
  subject that is a number, optionally prefixed ``s`` or ``sub`` (``006``, ``s01``,
  ``sub1``), is that number (``6``, ``1``, ``1``): zero padding and the ``s``/``sub`` token
  never change identity *within one dataset*;
- clip: lower case; each ``_``-separated token that is a number, optionally prefixed ``s``
  (``01``, ``s01``), loses its zero padding (``s01_ne_01`` -> ``s1_ne_1``); other tokens
  (``EP02``, ``01f``) are kept as written.

Two distinct clips of one table (or of one file) that collapse to one identity are an
error naming both (:class:`IdentityIndex`), never a silent merge.

File names without a dataset (flow PNGs ``<subject>_<clip>.png``, weight files
``<subject>.pth``) take the corpus from the subject spelling of the composite set
(:func:`composite_corpus`): ``subNN`` -> CASME II, ``sNN`` -> SMIC, digits -> SAMM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from .errors import DatasetFormatError

DATASET_ALIASES: dict[str, str] = {
    "casme2": "casme2", "casmeii": "casme2", "casme_2": "casme2", "casme_ii": "casme2",
    "samm": "samm", "smic": "smic", "smichs": "smic", "smic_hs": "smic",
    "casme": "casme", "casmei": "casme", "casme1": "casme",
    "ckplus": "ckplus", "ck+": "ckplus", "ck": "ckplus",
    "casme_sq": "casme_sq", "casme^2": "casme_sq", "casme2_sq": "casme_sq", "cas(me)^2": "casme_sq", "casme_2_sq": "casme_sq",
}
_SUBJECT_NUMBER = re.compile(r"(?:sub|s)?0*(\d+)")
_CLIP_NUMBER = re.compile(r"(s?)0*(\d+)")
COMPOSITE_SUBJECT_RULE = "subNN (CASME II), sNN (SMIC) or NNN digits (SAMM)"


class ClipId(NamedTuple):
    """The identity of one clip: (dataset, subject, clip) after :func:`clip_identity`."""

    dataset: str
    subject: str
    clip: str

    def __str__(self) -> str:
        return f"{self.dataset}/{self.subject}/{self.clip}"


def canonical_dataset(name: str) -> str:
    """Dataset name folded to the reader's name (``CASME II`` -> ``casme2``); unknown names lower-cased."""
    raw = str(name).strip().lower()
    for candidate in (raw, re.sub(r"[\s()^\-]", "", raw), re.sub(r"[\s\-]", "_", raw)):
        if candidate in DATASET_ALIASES:
            return DATASET_ALIASES[candidate]
    return re.sub(r"[\s()^\-]", "", raw)


def subject_identity(subject: str) -> str:
    """``006`` / ``6`` / ``samm/006`` -> ``6``; ``s01``, ``sub1`` -> ``1``; other spellings lower-cased."""
    native = str(subject).strip().split("/")[-1].strip().lower()
    m = _SUBJECT_NUMBER.fullmatch(native)
    return str(int(m.group(1))) if m else native


def clip_name_identity(clip: str) -> str:
    """``s01_ne_01`` -> ``s1_ne_1``; ``006_1_2`` -> ``6_1_2``; ``EP02_01f`` -> ``ep02_01f``."""
    tokens = []
    for tok in str(clip).strip().lower().split("_"):
        m = _CLIP_NUMBER.fullmatch(tok)
        tokens.append(f"{m.group(1)}{int(m.group(2))}" if m else tok)
    return "_".join(tokens)


def clip_identity(dataset: str, subject: str, clip: str) -> ClipId:
    """The identity of a clip, whatever the spelling of its dataset, subject and clip name."""
    return ClipId(canonical_dataset(dataset), subject_identity(subject), clip_name_identity(clip))


def key_identity(key: str) -> ClipId:
    """Identity of a clip key ``dataset/subject/clip`` (``smic/s01/s01_ne_01``); a string of
    another shape is its own identity (it then matches only itself)."""
    parts = str(key).strip().split("/")
    if len(parts) != 3 or not all(p.strip() for p in parts):
        return ClipId("", "", str(key).strip())
    return clip_identity(*parts)


def composite_corpus(subject: str) -> str | None:
    """Corpus of a composite-set subject spelling: ``subNN`` -> casme2, ``sNN`` -> smic,
    ``NNN`` -> samm; None for any other spelling."""
    tok = str(subject).strip().lower()
    if re.fullmatch(r"sub\d+", tok):
        return "casme2"
    if re.fullmatch(r"s\d+", tok):
        return "smic"
    if tok.isdigit():
        return "samm"
    return None


def subject_file_identity(stem: str) -> tuple[str, str] | None:
    """``(corpus, subject)`` identity of a per-subject file stem (``006``, ``s01``, ``sub01``), or None."""
    corpus = composite_corpus(stem)
    return None if corpus is None else (corpus, subject_identity(stem))


class IdentityIndex:
    """Clip identity -> the name it was given as, for a set of names from one source.

    ``where`` names the source in errors. Two names with one identity are an error naming
    both (``casme2/sub01/EP02_01f`` and ``casme2/1/EP02_01f`` in one feature file).
    """

    def __init__(self, items: Iterable[tuple[ClipId, str]], where: str) -> None:
        self.where = where
        self.by_id: dict[ClipId, str] = {}
        for ident, name in items:
            prev = self.by_id.get(ident)
            if prev is not None and prev != name:
                raise DatasetFormatError(f"{where}: {prev!r} and {name!r} name the same clip ({ident}: zero padding and "
                                         "the s/sub tokens do not change a clip's identity); keep one of them")
            self.by_id[ident] = name

    @classmethod
    def of_keys(cls, keys: Iterable[str], where: str) -> "IdentityIndex":
        """Index of clip keys ``dataset/subject/clip``."""
        return cls(((key_identity(k), str(k)) for k in keys), where)

    def get(self, ident: ClipId) -> str | None:
        return self.by_id.get(ident)

    def __contains__(self, ident: object) -> bool:
        return ident in self.by_id

    def __len__(self) -> int:
        return len(self.by_id)
