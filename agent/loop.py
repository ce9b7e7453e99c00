"""The agent loop: LangChain's ``create_agent`` over the tool registry, as typed events.

    agent = Agent(lake_dir, llm="builtin")
    for event in agent.stream("how many parameters does tiny-bert have?", thread_id="t1"):
        ...  # ToolStarted, ToolFinished, TextDelta, then FinalAnswer or AgentError
    agent.ask("and its license?", thread_id="t1").answer   # memory: same thread

Each turn runs at most ``max_steps`` model calls (then ``AgentError(kind="step_limit")``).
Conversations are checkpointed in the lake (``LAKE/agent.sqlite``) by thread id.

Changes to the lake asked for in chat wait for the user's confirmation (the default
``Policy(confirm=True)``): the turn that asks ends with the change pending (``FinalAnswer.
pending``), and the next message of the same conversation makes it when it is a plain yes,
drops it otherwise. The confirmation is read from the user's message by code, never by the
chat model, so no tool result and no model card can confirm a change.
"""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import ModelCallLimitMiddleware
from langchain.agents.middleware.model_call_limit import ModelCallLimitExceededError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage

from modellake.agent.backends import make_chat_model, resolve_spec
from modellake.agent.errors import AgentFailed
from modellake.agent.events import (
    AgentError,
    AgentEvent,
    FinalAnswer,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from modellake.agent.memory import Memory
from modellake.agent.prompts import SYSTEM_PROMPT
from modellake.agent.results import DEFAULT_LIMIT, citations, loads, merge_citations
from modellake.agent.toolkit import PENDING_KEY, Toolkit, Turn, is_confirmation, is_refusal
from modellake.store.errors import ModelLakeError
from modellake.store.lake import Lake
from modellake.tools import registry
from modellake.tools.toolspec import Policy, Tool, ToolContext

DEFAULT_MAX_STEPS = 8


def new_thread_id() -> str:
    return uuid.uuid4().hex[:12]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")


class Agent:
    """Questions about one lake, answered with its tools by a chat backend."""

    def __init__(self, lake: Lake | str | Path | None = None,
                 llm: str | BaseChatModel | None = None, *, tools: Sequence[Tool] | None = None,
                 max_steps: int = DEFAULT_MAX_STEPS, result_chars: int | None = None,
                 memory: bool = True, embedder: Any = None, policy: Policy | None = None) -> None:
        self.ctx = ToolContext(lake if isinstance(lake, Lake) else Lake.open(lake),
                               policy or Policy(confirm=True))
        if isinstance(llm, BaseChatModel):
            self.model, self.backend = llm, getattr(llm, "_llm_type", type(llm).__name__)
        else:
            self.backend = resolve_spec(llm)
            self.model = make_chat_model(self.backend, self.ctx)
        if embedder is not None and hasattr(self.model, "_embedder"):
            self.model._embedder = embedder
        limit = result_chars or (2500 if self.backend.startswith("hf:") else DEFAULT_LIMIT)
        self.toolkit = Toolkit(self.ctx, list(registry.TOOLS if tools is None else tools), limit)
        self.max_steps = max_steps
        self.memory = Memory(self.ctx.lake.root if memory else None, self.ctx.lake.catalog_url)
        self.graph = create_agent(
            self.model, self.toolkit.langchain_tools, system_prompt=SYSTEM_PROMPT,
            checkpointer=self.memory.saver,
            middleware=[ModelCallLimitMiddleware(run_limit=max_steps, exit_behavior="error")])
        self._turn_lock = threading.Lock()  # one turn at a time: the toolkit's turn is shared

    # -- public API -------------------------------------------------------------------------
    def stream(self, question: str, thread_id: str | None = None) -> Iterator[AgentEvent]:
        """Run one turn, yielding typed events; the last is ``FinalAnswer`` or ``AgentError``."""
        thread_id = thread_id or new_thread_id()
        if not question or not question.strip():
            yield AgentError("the question is empty: ask about the models in this lake, e.g. "
                             "\"which models are in the lake?\"", "config", thread_id)
            return
        most = self.ctx.policy.max_message_chars
        if len(question) > most:
            yield AgentError(f"the message has {len(question):,} characters; the limit is "
                             f"{most:,}: ask a shorter question (paste only the part of a card "
                             "that matters)", "config", thread_id)
            return
        with self._turn_lock:
            pending = self.pending(thread_id)
            if pending and is_confirmation(question):
                yield from self._confirm(question, thread_id, pending)
            elif pending and is_refusal(question):
                yield from self._remembered(question, thread_id, "Nothing was changed: "
                                            + "; ".join(p["change"] for p in pending) + " was not done.")
            else:
                yield from self._run(question, thread_id, dropped=pending)

    def ask(self, question: str, thread_id: str | None = None) -> FinalAnswer:
        """Run one turn to its end; raises ``AgentFailed`` when it ends in an error."""
        for event in self.stream(question, thread_id):
            if isinstance(event, FinalAnswer):
                return event
            if isinstance(event, AgentError):
                raise AgentFailed(event.message, event.kind)
        raise AgentFailed("the agent ended without an answer")  # pragma: no cover

    def history(self, thread_id: str) -> list[dict[str, Any]]:
        """The conversation so far: user and assistant turns, with the tools each used."""
        state = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        out: list[dict[str, Any]] = []
        for m in (state.values or {}).get("messages", []):
            if isinstance(m, HumanMessage):
                out.append({"role": "user", "content": _text(m.content)})
            elif isinstance(m, AIMessage) and m.tool_calls:
                out.append({"role": "tools", "content": "",
                            "tool_calls": [{"tool": c["name"], "args": c["args"]} for c in m.tool_calls]})
            elif isinstance(m, AIMessage) and _text(m.content):
                out.append({"role": "assistant", "content": _text(m.content)})
        return out

    def close(self) -> None:
        self.memory.close()
        self.ctx.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pending(self, thread_id: str) -> list[dict[str, Any]]:
        """The changes the last turn of ``thread_id`` left for the user to confirm."""
        state = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        out: list[dict[str, Any]] = []
        for m in reversed((state.values or {}).get("messages", [])):
            if isinstance(m, HumanMessage):
                break
            data = loads(_text(m.content)) if isinstance(m, ToolMessage) else None
            tool = self.toolkit.tools.get(data.get("tool", "")) if isinstance(data, dict) else None
            if tool is not None and tool.mutating and data.get(PENDING_KEY) is True \
                    and isinstance(data.get("args"), dict):
                out.insert(0, {"tool": tool.name, "args": data["args"],
                               "change": str(data.get("change") or tool.name)})
        return out

    # -- the turn ---------------------------------------------------------------------------
    def _confirm(self, question: str, thread_id: str,
                 pending: list[dict[str, Any]]) -> Iterator[AgentEvent]:
        """Make the changes the user has just confirmed, and say what they did."""
        from langchain_core.tools import ToolException

        turn = self.toolkit.start_turn(question, confirmed=True)
        texts = []
        for p in pending:
            call_id = "confirmed-" + uuid.uuid4().hex[:8]
            yield ToolStarted(p["tool"], dict(p["args"]), call_id, True)
            try:
                content, artifact = self.toolkit.call_rendered(p["tool"], dict(p["args"]))
                texts.append(artifact.get("text") or artifact.get("summary") or f"Done: {p['change']}.")
                yield ToolFinished(p["tool"], call_id, content)
            except ToolException as exc:
                error = _error_in(str(exc.args[0]) if exc.args else str(exc))
                texts.append(f"Could not {p['change']}: {error}")
                yield ToolFinished(p["tool"], call_id, str(exc), ok=False, error=error)
        answer = "\n\n".join(texts)
        self._remember(thread_id, question, answer)
        yield _final(answer, turn, thread_id, self.backend, 0)

    def _remembered(self, question: str, thread_id: str, answer: str) -> Iterator[AgentEvent]:
        """A turn answered without the chat model, kept in the conversation."""
        turn = self.toolkit.start_turn(question)
        self._remember(thread_id, question, answer)
        yield _final(answer, turn, thread_id, self.backend, 0)

    def _remember(self, thread_id: str, question: str, answer: str) -> None:
        config = {"configurable": {"thread_id": thread_id}}
        self.graph.update_state(config, {"messages": [HumanMessage(question), AIMessage(answer)]},
                                as_node="model")

    def _run(self, question: str, thread_id: str,
             dropped: list[dict[str, Any]] | None = None) -> Iterator[AgentEvent]:
        config = {"configurable": {"thread_id": thread_id},
                  "recursion_limit": 4 * self.max_steps + 20}
        turn = self.toolkit.start_turn(question)
        steps, final, streamed = 0, None, False
        names: dict[str, str] = {}
        try:
            for mode, data in self.graph.stream({"messages": [HumanMessage(question)]}, config,
                                                stream_mode=["updates", "messages"]):
                if mode == "messages":
                    chunk, meta = data
                    if (meta.get("langgraph_node") == "model"
                            and isinstance(chunk, (AIMessageChunk, AIMessage))):
                        text = _text(chunk.content)
                        if text:
                            streamed = True
                            yield TextDelta(text)
                    continue
                for node, update in (data or {}).items():
                    msgs = update.get("messages", []) if isinstance(update, dict) else []
                    for msg in msgs if isinstance(msgs, list) else []:
                        if node == "model" and isinstance(msg, AIMessage):
                            steps += 1
                            for tc in msg.tool_calls:
                                names[tc["id"]] = tc["name"]
                                turn.plan(tc["name"], dict(tc["args"]))
                                tool = self.toolkit.tools.get(tc["name"])
                                yield ToolStarted(tc["name"], dict(tc["args"]), tc["id"],
                                                  bool(tool and tool.mutating))
                            if not msg.tool_calls:
                                final = msg
                        elif node == "tools" and isinstance(msg, ToolMessage):
                            yield _finished(msg, names)
        except ModelCallLimitExceededError:
            msg = (f"stopped after {self.max_steps} model calls without an answer (step limit); "
                   "ask a narrower question or raise --max-steps")
            self._close_turn(config, msg)
            yield AgentError(msg, "step_limit", thread_id)
            return
        except ModelLakeError as exc:
            self._close_turn(config, str(exc))
            yield AgentError(str(exc), "config", thread_id)
            return
        except Exception as exc:  # noqa: BLE001 - reported as an event; MODELLAKE_DEBUG re-raises
            if os.environ.get("MODELLAKE_DEBUG") == "1":
                raise
            kind, msg = _classify(exc, self.backend)
            self._close_turn(config, msg)
            yield AgentError(msg, kind, thread_id)
            return
        if final is None:
            yield AgentError("the model ended the turn without an answer", "backend", thread_id)
            return
        answer = _text(final.content).strip() or "(the model gave an empty answer)"
        extra = _report_changes(turn, answer, dropped or [])
        if extra:
            if streamed:
                yield TextDelta("\n\n" + extra)
            answer = f"{answer}\n\n{extra}"
        yield _final(answer, turn, thread_id, self.backend, steps)

    def _close_turn(self, config: dict[str, Any], why: str) -> None:
        """After a failure, answer any dangling tool calls and note the failure in the thread."""
        try:
            state = self.graph.get_state(config)
            msgs: list[BaseMessage] = list((state.values or {}).get("messages", []))
            answered = {m.tool_call_id for m in msgs if isinstance(m, ToolMessage)}
            patch: list[BaseMessage] = []
            for m in msgs[-3:]:
                if isinstance(m, AIMessage):
                    patch += [ToolMessage(content='{"error":"not run: the turn failed"}',
                                          tool_call_id=tc["id"], name=tc["name"], status="error")
                              for tc in m.tool_calls if tc["id"] not in answered]
            patch.append(AIMessage(content=f"(This turn failed: {why})"))
            self.graph.update_state(config, {"messages": patch}, as_node="model")
        except Exception:  # noqa: BLE001 - best effort: never hide the original failure
            pass


def _finished(msg: ToolMessage, names: dict[str, str]) -> ToolFinished:
    content = _text(msg.content)
    error = _error_in(content) if msg.status == "error" else None
    return ToolFinished(msg.name or names.get(msg.tool_call_id, "?"), msg.tool_call_id, content,
                        ok=msg.status != "error", error=error)


def _final(answer: str, turn: Turn, thread_id: str, backend: str, steps: int) -> FinalAnswer:
    ran = [c for c in turn.in_order() if not (c.error or "").startswith("refused")]
    cites: list[dict[str, Any]] = []
    for c in ran:
        if c.ok and not c.pending:
            cites += citations(c.tool, c.args, c.data)
    changes = [{"tool": c.tool, "args": c.args, "result": c.data} for c in ran
               if c.mutating and c.ok and not c.pending]
    return FinalAnswer(answer=answer, tool_calls=[{"tool": c.tool, "args": c.args} for c in ran],
                       citations=merge_citations(cites), changes=changes, thread_id=thread_id,
                       backend=backend, steps=steps,
                       refused=[{"tool": c.tool, "args": c.args, "why": c.error}
                                for c in turn.calls if (c.error or "").startswith("refused")],
                       pending=[{"tool": c.tool, "args": c.args, "change": c.data.get("change")}
                                for c in turn.calls if c.pending])


def _error_in(content: str) -> str:
    """The message of a failed call's JSON observation (the content itself when it has none)."""
    data = loads(content)
    return str(data["error"]) if isinstance(data, dict) and data.get("error") else content


def _report_changes(turn: Turn, answer: str, dropped: list[dict[str, Any]]) -> str:
    """What changed in the lake (and what was refused or is waiting for a yes), unless the
    answer already says it."""
    lines = []
    if dropped:
        lines.append("Not done: " + "; ".join(p["change"] for p in dropped)
                     + " (it waited for a yes, and the next message asked something else).")
    pending = [c for c in turn.calls if c.pending]
    if pending and not all((c.summary or "") in answer for c in pending):
        lines.append("Waiting for your yes: " + "; ".join(c.data["change"] for c in pending)
                     + ". Reply **yes** to do it.")
    done = [c for c in turn.calls if c.mutating and c.ok and not c.pending]
    if done:
        said = answer.lower()
        missing = [c for c in done if not all(str(v).lower() in said for v in c.args.values()
                                              if isinstance(v, str))]
        if missing:
            lines.append("Changes made to the lake: " + "; ".join(
                f"{c.tool}({', '.join(f'{k}={v!r}' for k, v in c.args.items())})" for c in missing) + ".")
    refused = [c for c in turn.calls if (c.error or "").startswith("refused")]
    if refused:
        lines.append("Not done (you did not ask for it): " + "; ".join(
            f"{c.tool}({', '.join(f'{k}={v!r}' for k, v in c.args.items())})" for c in refused)
            + ". The lake was not changed by these.")
    return "\n".join(lines)


def _classify(exc: Exception, backend: str) -> tuple[str, str]:
    from langchain_core.exceptions import ModelError

    mod = type(exc).__module__.split(".")[0]
    if isinstance(exc, ModelError) or mod in ("openai", "langchain_openai", "httpx", "httpcore"):
        return "backend", f"the chat backend {backend} failed: {type(exc).__name__}: {exc}"
    return "error", (f"unexpected {type(exc).__name__}: {exc} (run with MODELLAKE_DEBUG=1 for the "
                     "traceback)")
