"""The ``builtin`` backend: an offline chat model that routes questions to tools.

It is a LangChain ``BaseChatModel`` like any other backend, so it runs in the same
agent loop: given the conversation and the bound tools, it either emits real tool
calls (an ``AIMessage`` with ``tool_calls``) or, once the tool results of the turn
are back, writes the answer from them. It plans only from the user's own messages;
tool results (card text included) are read as data for the answer, never as
instructions. Its plan is kept in the AI message's ``additional_kwargs`` so that a
follow-up ("and its license?", "what about Y?") can reuse the previous turn's model
and question kind.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import PrivateAttr

from modellake.agent import answers, nlu, router
from modellake.agent.results import loads

PLAN_KEY = "modellake_plan"


class BuiltinChatModel(BaseChatModel):
    """Offline, deterministic chat model over the lake's tools (no download, no key)."""

    _ctx: Any = PrivateAttr(default=None)
    _embedder: Any = PrivateAttr(default=None)
    _arch_cache: tuple[tuple[str, ...], list[str], list[str]] | None = PrivateAttr(default=None)

    def __init__(self, ctx: Any, embedder: router.Embedder | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ctx = ctx
        self._embedder = embedder

    @property
    def _llm_type(self) -> str:
        return "modellake-builtin"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None,
                   **kwargs: Any) -> Any:
        specs = [convert_to_openai_tool(t)["function"] for t in tools]
        return self.bind(tools=specs, **kwargs)

    # -- generation ----------------------------------------------------------------------
    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  tools: list[dict[str, Any]] | None = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.respond(messages, tools or []))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                tools: list[dict[str, Any]] | None = None, **kwargs: Any
                ) -> Iterator[ChatGenerationChunk]:
        msg = self.respond(messages, tools or [])
        if msg.tool_calls:
            yield ChatGenerationChunk(message=AIMessageChunk(
                content="", additional_kwargs=msg.additional_kwargs,
                tool_call_chunks=[{"name": tc["name"], "args": json.dumps(tc["args"]),
                                   "id": tc["id"], "index": i}
                                  for i, tc in enumerate(msg.tool_calls)]))
            return
        pieces = re.findall(r"\S+\s*|\s+", str(msg.content)) or [""]
        for i in range(0, len(pieces), 4):
            chunk = AIMessageChunk(content="".join(pieces[i:i + 4]),
                                   additional_kwargs=msg.additional_kwargs if i == 0 else {})
            if run_manager:
                run_manager.on_llm_new_token(chunk.content, chunk=ChatGenerationChunk(message=chunk))
            yield ChatGenerationChunk(message=chunk)

    def respond(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        """The next message: tool calls for a new question, or the answer from the results."""
        infos = {t["name"]: router.ToolInfo(t["name"], t.get("description", ""),
                                            t.get("parameters", {})) for t in tools}
        h = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        if h < 0:
            return AIMessage(content="Ask me about the models in this lake.")
        question = _text(messages[h])
        turn = messages[h + 1:]
        own = [m for m in turn if isinstance(m, AIMessage) and m.tool_calls]
        if not own:
            plan = self._plan(question, messages[:h], infos)
            if plan.calls:
                calls = [{"name": c.tool, "args": c.args, "id": f"call_{uuid.uuid4().hex[:12]}",
                          "type": "tool_call"} for c in plan.calls]
                return AIMessage(content="", tool_calls=calls,
                                 additional_kwargs={PLAN_KEY: plan.to_dict()})
            text = answers.reply_without_tools(plan, infos, self._names())
            return AIMessage(content=text, additional_kwargs={PLAN_KEY: plan.to_dict()})
        plan = router.Plan.from_dict(own[0].additional_kwargs.get(PLAN_KEY) or
                                     {"intent": "unknown", "question": question})
        outcomes = _outcomes(own, turn)
        if plan.then and len(own) == 1:
            calls = _second_round(plan, outcomes)
            if calls:
                return AIMessage(content="", tool_calls=[
                    {"name": c.tool, "args": c.args, "id": f"call_{uuid.uuid4().hex[:12]}",
                     "type": "tool_call"} for c in calls],
                    additional_kwargs={PLAN_KEY: plan.to_dict()})
        return AIMessage(content=answers.write(plan, outcomes, infos),
                         additional_kwargs={PLAN_KEY: plan.to_dict()})

    # -- helpers -------------------------------------------------------------------------
    def _names(self) -> list[str]:
        return self._ctx.catalog.model_names() if self._ctx is not None else []

    def _vocab(self, names: list[str]) -> tuple[list[str], list[str]]:
        """(architectures, card tasks) in the lake, recomputed when the names change."""
        key = tuple(names)
        if self._arch_cache is None or self._arch_cache[0] != key:
            archs: set[str] = set()
            tasks: set[str] = set()
            if self._ctx is not None:
                for m in self._ctx.catalog.list_models():
                    archs.update(a for a in (m.architecture, m.model_type) if a)
                    if m.card is not None and m.card.pipeline_tag:
                        tasks.add(m.card.pipeline_tag)
            self._arch_cache = (key, sorted(archs | {"bert", "llama", "gpt2", "gemma3", "t5"}),
                                sorted(tasks))
        return self._arch_cache[1], self._arch_cache[2]

    def _plan(self, question: str, history: list[BaseMessage],
              infos: dict[str, router.ToolInfo]) -> router.Plan:
        names = self._names()
        linker = nlu.Linker(names)
        prev, prev_models = None, []
        for m in reversed(history):
            if prev is None and isinstance(m, AIMessage) and PLAN_KEY in m.additional_kwargs:
                prev = router.Plan.from_dict(m.additional_kwargs[PLAN_KEY])
                break
        if prev is None:  # a thread started by another backend: models named in earlier questions
            for m in reversed(history):
                if isinstance(m, HumanMessage):
                    prev_models = [x.spec for x in linker.link(_text(m))]
                    if prev_models:
                        break
        embedder = self._embedder or router.default_embedder()
        archs, tasks = self._vocab(names)
        return router.make_plan(question, linker, archs, infos, embedder, prev=prev,
                                prev_models=prev_models, tasks=tasks)


def _text(m: BaseMessage) -> str:
    c = m.content
    if isinstance(c, str):
        return c
    return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in c)


MAX_FOLLOW_UP = 6  # diff calls after a descendants question


def _second_round(plan: router.Plan, outcomes: list[answers.Outcome]) -> list[router.Call]:
    """Tool calls that need the first round's results: the diff of a model with each of
    its direct children ("which models came from X and how do they differ?")."""
    if plan.then != "diff_children" or not plan.models:
        return []
    root = plan.models[0]
    children: list[str] = []
    for o in outcomes:
        if o.error or o.data is None:
            continue
        for e in answers._edges(o.data):
            if answers._same(e.get("parent"), root) and e.get("child") not in children:
                children.append(e["child"])
        if isinstance(o.data, dict) and o.data.get("kind") == "descendants":
            children += [m["name"] for m in o.data.get("models", [])
                         if m.get("depth") == 1 and m["name"] not in children]
    return [router.Call("diff", {"a": root, "b": c})
            for c in children[:MAX_FOLLOW_UP]]


def _outcomes(own: list[AIMessage], turn: list[BaseMessage]) -> list[answers.Outcome]:
    results = {m.tool_call_id: m for m in turn if isinstance(m, ToolMessage)}
    out = []
    for ai in own:
        for tc in ai.tool_calls:
            tm = results.get(tc["id"])
            if tm is None:
                out.append(answers.Outcome(tc["name"], tc["args"], None, "no result came back"))
                continue
            data = loads(_text(tm))
            err = None
            if isinstance(data, dict) and isinstance(data.get("error"), str):
                err = data["error"]
            elif tm.status == "error":
                err = _text(tm)
            out.append(answers.Outcome(tc["name"], tc["args"], None if err else data, err))
    return out
