"""Error types shared across lad_core.

Every error raised for bad input names where the problem is (a file, a field, an array) and what it is, so that a
user reading only the message can fix it.
"""

from __future__ import annotations

from pathlib import Path


class LadError(Exception):
    """Base class for errors a user can act on (bad input, missing resources)."""


class ConfigError(LadError, ValueError):
    """A config file or mapping has a missing, unknown or invalid field."""

    def __init__(self, message: str, *, source: str | Path | None = None, field: str | None = None):
        self.source = str(source) if source is not None else None
        self.field = field
        where = ", ".join(x for x in (self.source, f"field '{field}'" if field else None) if x)
        super().__init__(f"{where}: {message}" if where else message)


class InputError(LadError, ValueError):
    """An array or a data file handed to the library is malformed (shape, NaN, truncated...)."""


class UnknownEmbodimentError(LadError, KeyError):
    """An embodiment name that no registered spec has."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""
