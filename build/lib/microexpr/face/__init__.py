"""Faces: detection and 68-point landmarks (dlib), crop boxes, eye-line alignment, eye masks.

Licence caveat: dlib's 68-point predictor (shipped by face-recognition-models) was trained
on iBUG 300-W, whose licence excludes commercial use.
"""

from .crop import Box, crop, eye_line_transform, face_box, landmarks_in_crop, warp_image, warp_points
from .eyes import eye_mask
from .landmarks import LandmarkDetector, detect_landmarks, get_detector, load_supplied_landmarks
from .track import TrackedFace, track_faces

__all__ = [
    "Box",
    "LandmarkDetector",
    "TrackedFace",
    "crop",
    "detect_landmarks",
    "eye_line_transform",
    "eye_mask",
    "face_box",
    "get_detector",
    "landmarks_in_crop",
    "load_supplied_landmarks",
    "track_faces",
    "warp_image",
    "warp_points",
]
