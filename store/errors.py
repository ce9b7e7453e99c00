"""One exception hierarchy for the whole lake.

Every error a user can cause carries a message that says what went wrong and
what to do about it. The CLI prints ``str(error)`` on one line and exits 1.
"""
from __future__ import annotations


class ModelLakeError(Exception):
    """Base class of every error modellake raises on purpose."""

    hint: str = ""

    def __str__(self) -> str:  # message plus an actionable hint, one line
        msg = super().__str__()
        return f"{msg} ({self.hint})" if self.hint else msg


class LakeError(ModelLakeError):
    """The lake directory or its catalog cannot be used."""


class NotFoundError(ModelLakeError):
    """A model, run or other record named by the user does not exist."""

    hint = "see `modellake list`"


class NameConflictError(ModelLakeError):
    """A name is already taken by another model."""


class InvalidModelFileError(ModelLakeError):
    """A model file is unreadable, truncated, corrupt or not what it claims."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnsafeFileError(InvalidModelFileError):
    """A file would need unsafe deserialization (arbitrary pickled code)."""


class UnsupportedFormatError(InvalidModelFileError):
    """The path holds nothing modellake knows how to ingest."""


class TaskError(ModelLakeError):
    """A model cannot perform the requested task (no tokenizer, wrong head...)."""


class UsageError(ModelLakeError):
    """A request that does not fit: an unknown value for an option, a missing argument."""
