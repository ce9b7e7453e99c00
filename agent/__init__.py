"""The agent: questions about the lake answered by its tools, with citations.

``Agent(lake, llm=...)`` runs LangChain's ``create_agent`` over the tool registry
(``modellake.tools.registry.TOOLS``) with one of the chat backends (``builtin``,
``openai:MODEL``, ``hf:PATH``) and yields typed events (``modellake.agent.events``).
LangChain is imported by this layer and ``ui/`` only.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Agent", "AgentError", "AgentFailed", "FinalAnswer", "TextDelta", "ToolFinished",
           "ToolStarted", "make_chat_model"]


def __getattr__(name: str) -> Any:  # lazy: importing the package stays cheap
    if name == "Agent":
        from modellake.agent.loop import Agent

        return Agent
    if name == "make_chat_model":
        from modellake.agent.backends import make_chat_model

        return make_chat_model
    if name == "AgentFailed":
        from modellake.agent.errors import AgentFailed

        return AgentFailed
    if name in ("AgentError", "FinalAnswer", "TextDelta", "ToolFinished", "ToolStarted"):
        from modellake.agent import events

        return getattr(events, name)
    raise AttributeError(name)
