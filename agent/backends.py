"""Chat backends by spec: ``builtin`` (default), ``openai:MODEL``, ``hf:PATH``.

The spec comes from ``--llm``, else ``$MODELLAKE_LLM``, else ``builtin``.
"""
from __future__ import annotations

import os
from typing import Any

from modellake.agent.errors import BackendError

ENV_LLM = "MODELLAKE_LLM"
DEFAULT = "builtin"


def resolve_spec(spec: str | None = None) -> str:
    return (spec or os.environ.get(ENV_LLM) or DEFAULT).strip()


def make_chat_model(spec: str | None, ctx: Any) -> Any:
    """A LangChain chat model for ``spec`` (see the module docstring)."""
    spec = resolve_spec(spec)
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if kind == "builtin" and not rest:
        from modellake.agent.builtin import BuiltinChatModel

        return BuiltinChatModel(ctx)
    if kind == "openai":
        if not rest:
            raise BackendError("openai backend needs a model name: --llm openai:MODEL")
        return _openai(rest)
    if kind == "hf":
        if not rest:
            raise BackendError("hf backend needs a path: --llm hf:PATH (a model directory or a "
                               ".gguf file of a model that can call tools; see README, \"The "
                               "agent with a local LLM\")")
        from modellake.agent.hf import HFChatModel, resolve

        resolve(rest)  # fail now, with a clear message, on a bad path
        return HFChatModel(path=rest, max_new_tokens=int(os.environ.get(
            "MODELLAKE_HF_MAX_NEW_TOKENS", "200")))
    raise BackendError(f"unknown chat backend {spec!r}: use builtin, openai:MODEL or hf:PATH")


def _openai(model: str) -> Any:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise BackendError("the openai backend needs langchain-openai installed") from exc
    base_url = os.environ.get("OPENAI_BASE_URL") or None
    key = os.environ.get("OPENAI_API_KEY")
    if not key and not base_url:
        raise BackendError("openai backend needs OPENAI_API_KEY (and OPENAI_BASE_URL for a "
                           "local server such as vLLM, Ollama or llama.cpp)")
    return ChatOpenAI(model=model, base_url=base_url, api_key=key or "not-needed",
                      temperature=0, max_retries=1, timeout=120)
