"""Exception types shared by every layer.

Every error raised on bad user input names the file or clip concerned and says what to do;
these classes only let callers (the CLI, tests) tell the kinds apart.
"""


class MicroexprError(Exception):
    """Base class of every error microexpr raises on purpose."""


class DatasetNotFoundError(MicroexprError):
    """A dataset root is missing or does not have the expected layout."""


class DatasetFormatError(MicroexprError):
    """A dataset file (sheet, label file, frame) is present but malformed."""


class ClipTableError(MicroexprError):
    """A ClipTable violates its documented schema."""


class ConfigError(MicroexprError):
    """A configuration file or option is invalid (unknown key, wrong type, bad value)."""


class ProtocolError(MicroexprError):
    """A protocol cannot run (missing group column) or produced a leaking split."""


class PreprocessingError(MicroexprError):
    """Face detection, landmarks, flow or another preprocessing step failed on a clip."""


class ModelError(MicroexprError):
    """A model name, keyword, checkpoint or artefact is invalid."""


class OutputError(MicroexprError):
    """A result cannot be written: the disk is full, or the folder is not writable."""
