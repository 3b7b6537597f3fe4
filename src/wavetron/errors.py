"""User-facing errors: the CLI prints them as one line, without a traceback."""


class WavetronError(Exception):
    """Base of every error caused by the user's input (a file, a field, a value)."""


class ConfigError(WavetronError):
    """A configuration file or override names an unknown key or holds a bad value."""


class AudioError(WavetronError):
    """An audio file is missing, unreadable, empty or has unsupported settings."""


class TextError(WavetronError):
    """Text is empty after cleaning or cannot be turned into symbols."""


class DataError(WavetronError):
    """A dataset, manifest or metadata line is missing or malformed."""
