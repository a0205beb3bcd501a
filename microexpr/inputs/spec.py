"""A method's model input, said once: which representation, with which parameters, and how
its arrays become the model's tensor. ``export`` writes it into the model artefact,
``predict`` rebuilds the input from it, and the HTML report draws its thumbnails with it, so
none of them guesses a method's parameter names."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

from ..errors import ModelError


@dataclass(frozen=True)
class InputSpec:
    """``name``: a :mod:`microexpr.inputs` representation; ``params``: its parameters;
    ``transform``: how an array becomes the model tensor (flow images:
    :meth:`microexpr.inputs.flow_transform.FlowImageTransform.as_dict`)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    transform: dict[str, Any] = field(default_factory=dict)


#: The inputs a model artefact may name, each with the transform that turns its arrays into the tensor.
DEPLOYABLE_INPUTS: tuple[str, ...] = ("flow_image", "apex_crop")


def input_transform(name: str, spec: Mapping[str, Any]) -> Any:
    """The transform object of input ``name`` from its stored form (an object with
    ``from_images(arrays) -> tensor``): :class:`~microexpr.inputs.flow_transform.FlowImageTransform`
    for ``flow_image`` (artefacts without a ``kind``), :class:`~microexpr.inputs.apex_transform.ApexImageTransform`
    for ``apex_crop``."""
    if name == "flow_image":
        from .flow_transform import FlowImageTransform

        return FlowImageTransform.from_dict(spec)
    if name == "apex_crop":
        from .apex_transform import ApexImageTransform

        return ApexImageTransform.from_dict(spec)
    raise ModelError(f"model input {name!r} cannot be deployed; deployable inputs: {DEPLOYABLE_INPUTS}")
