"""Errors of the agent layer (part of the lake's one hierarchy: the CLI prints them on one line)."""
from __future__ import annotations

from modellake.store.errors import ModelLakeError


class BackendError(ModelLakeError):
    """A chat backend cannot be created or reached."""


class AgentFailed(ModelLakeError):
    """A turn ended without an answer (step limit, backend failure, tool bug)."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind
