"""Frame sequences: natural-sorted image folders and video files, read lazily."""

from .frames import FRAME_EXTENSIONS, list_frames, natural_key
from .source import (VIDEO_EXTENSIONS, FrameSource, iter_frames, iter_video_frames, read_frame, read_frames, split_ref,
                     video_info)

__all__ = [
    "FRAME_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "FrameSource",
    "iter_frames",
    "iter_video_frames",
    "list_frames",
    "natural_key",
    "read_frame",
    "read_frames",
    "split_ref",
    "video_info",
]
