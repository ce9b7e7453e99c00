"""Typed events of one agent turn: the CLI and the web UI render the same stream.

A turn yields, in order: any number of ``ToolStarted`` / ``ToolFinished`` pairs and
``TextDelta`` pieces, then exactly one ``FinalAnswer`` or one ``AgentError``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolStarted:
    """The model asked for a tool call."""

    tool: str
    args: dict[str, Any]
    call_id: str
    mutating: bool = False


@dataclass(frozen=True)
class ToolFinished:
    """A tool call returned; ``result`` is the compact JSON the model saw."""

    tool: str
    call_id: str
    result: str
    ok: bool = True
    error: str | None = None


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer text, as it is generated."""

    text: str


@dataclass(frozen=True)
class FinalAnswer:
    """The answer of the turn, the tool calls made, and the evidence they returned."""

    answer: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"tool", "args"}]
    citations: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)  # mutating calls that ran
    refused: list[dict[str, Any]] = field(default_factory=list)  # mutating calls not allowed
    pending: list[dict[str, Any]] = field(default_factory=list)  # changes waiting for a yes
    thread_id: str = ""
    backend: str = ""
    steps: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The ``modellake ask --json`` shape."""
        out = {"answer": self.answer, "tool_calls": self.tool_calls, "citations": self.citations}
        if self.changes:
            out["changes"] = self.changes
        if self.pending:
            out["pending"] = self.pending
        return out


@dataclass(frozen=True)
class AgentError:
    """The turn failed; ``message`` says why and what to do."""

    message: str
    kind: str = "error"  # step_limit | backend | tool | config | error
    thread_id: str = ""


AgentEvent = ToolStarted | ToolFinished | TextDelta | FinalAnswer | AgentError


def event_dict(event: AgentEvent) -> dict[str, Any]:
    """JSON-ready form of any event, with its type name."""
    return {"type": type(event).__name__, **asdict(event)}
