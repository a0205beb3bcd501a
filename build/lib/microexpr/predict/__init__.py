"""Inference on any video or frame folder with an exported model artefact (``microexpr predict``)."""

from .pipeline import Predictor, predict
from .reader import FrameStream, open_frames
from .windows import Candidate, CandidatePool, WindowSpec, select_intervals

__all__ = ["Candidate", "CandidatePool", "FrameStream", "Predictor", "WindowSpec", "open_frames", "predict",
           "select_intervals"]
