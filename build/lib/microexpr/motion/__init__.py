"""Motion: optical flow, optical strain, flow images, apex spotting, TIM, ADM sequences."""

from .adm import adm_from_frames, adm_sequence, block_direction_magnitude
from .apex import APEX_METHODS, spot_apex
from .flow import FLOW_PRESETS, compute_flow, flow_preset
from .flow_image import flow_image, flow_to_colour
from .strain import optical_strain
from .tim import linear_resample, tim_interpolate

__all__ = [
    "APEX_METHODS",
    "FLOW_PRESETS",
    "adm_from_frames",
    "adm_sequence",
    "block_direction_magnitude",
    "compute_flow",
    "flow_image",
    "flow_preset",
    "flow_to_colour",
    "linear_resample",
    "optical_strain",
    "spot_apex",
    "tim_interpolate",
]
