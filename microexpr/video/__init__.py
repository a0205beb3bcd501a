"""Frame sequences: natural-sorted image folders and video files, read lazily."""

from .frames import FRAME_EXTENSIONS, list_frames, natural_key, read_frame

__all__ = ["FRAME_EXTENSIONS", "list_frames", "natural_key", "read_frame"]
