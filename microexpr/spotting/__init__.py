"""Spotting in long videos: the MEGC interval metric, long-video readers, spotters, the spot engine."""
