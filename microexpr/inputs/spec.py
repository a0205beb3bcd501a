"""A method's model input, said once: which representation, with which parameters, and how
its arrays become the model's tensor. ``export`` writes it into the model artefact,
``predict`` rebuilds the input from it, and the HTML report draws its thumbnails with it, so
none of them guesses a method's parameter names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InputSpec:
    """``name``: a :mod:`microexpr.inputs` representation; ``params``: its parameters;
    ``transform``: how an array becomes the model tensor (flow images:
    :meth:`microexpr.inputs.flow_transform.FlowImageTransform.as_dict`)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    transform: dict[str, Any] = field(default_factory=dict)
