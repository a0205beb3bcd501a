"""Synthetic micro-expression corpora with known ground truth (``microexpr synth``, ``demo``).

Procedural faces with exact 68-point landmarks (:mod:`.faces`, :mod:`.landmarks`), action
units as displacement fields (:mod:`.action_units`), emotion prototypes
(:mod:`.emotions`), nuisances (:mod:`.nuisances`), clip rendering (:mod:`.clips`), corpus
sizes as data (:mod:`.sizes`), planning (:mod:`.plan`) and writing in the native layouts
of CASME II, SAMM, SMIC and CK+ (:mod:`.corpus`).

Results on synthetic data show that the pipeline works; they say nothing about accuracy on
real micro-expressions.
"""

from .clips import ClipPlan, RenderedClip, render_clip
from .corpus import GENERATOR_VERSION, MANIFEST_NAME, generate_corpus, read_manifest, render_record
from .nuisances import Nuisances
from .plan import ClipRecord, plan_corpus

__all__ = [
    "GENERATOR_VERSION",
    "MANIFEST_NAME",
    "ClipPlan",
    "ClipRecord",
    "Nuisances",
    "RenderedClip",
    "generate_corpus",
    "plan_corpus",
    "read_manifest",
    "render_clip",
    "render_record",
]
