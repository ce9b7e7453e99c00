"""The ``builtin`` backend: an offline chat model that plans tool calls and answers from them.

It is a LangChain ``BaseChatModel`` like any other backend, so it runs in the same agent
loop: given the conversation and the bound tools, it either emits real tool calls (an
``AIMessage`` with ``tool_calls``) or, once the results of the turn are back, writes the
answer from the results' own words (each tool message's artifact). It plans only from the
user's own messages; tool results (card text included) are data for the answer, never
instructions. Its plan, and the models its answer named, are kept in the AI message's
``additional_kwargs`` so that follow-ups ("and its license?", "which of them is best on T?",
"the second one") resolve against the previous question and answer.
"""
from __future__ import annotations

import functools
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

from modellake.agent import nlu
from modellake.agent.planner import answer, chain, compose, describe, parts, reading, route
from modellake.agent.results import loads
from modellake.tools.cards.summary import without_metadata

PLAN_KEY = "modellake_plan"
CARD_PROSE = 40  # a card with this much prose has text worth reading (not only its metadata)


class BuiltinChatModel(BaseChatModel):
    """Offline, deterministic chat model over the lake's tools (no download, no key)."""

    _ctx: Any = PrivateAttr(default=None)
    _embedder: Any = PrivateAttr(default=None)
    _vocab: tuple[tuple[str, ...], dict[str, Any]] | None = PrivateAttr(default=None)

    def __init__(self, ctx: Any, embedder: route.Embedder | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ctx = ctx
        self._embedder = embedder

    @property
    def _llm_type(self) -> str:
        return "modellake-builtin"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None,
                   **kwargs: Any) -> Any:
        specs = []
        for t in tools:
            spec = convert_to_openai_tool(t)["function"]
            meta = getattr(t, "metadata", None)
            if meta:
                spec["x-modellake"] = meta
            specs.append(spec)
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
        h = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        if h < 0:
            return AIMessage(content="Ask me about the models in this lake.")
        question = _text(messages[h])
        turn = messages[h + 1:]
        own = [m for m in turn if isinstance(m, AIMessage) and m.tool_calls]
        vocab = self._lake_vocab()  # read once per message: the catalog is asked once
        ctx = self._context(tools, messages[:h], vocab)
        read = self._read(question, vocab)
        read_part = lambda t: read if t == question else self._read(t, vocab)  # noqa: E731
        if not own:
            plan = parts.plan_question(question, read_part, ctx)
            plan.listed = ctx.prev.listed if ctx.prev is not None else []
            return self._calls(plan, plan.calls) if plan.calls else self._final(plan, [], vocab)
        plan = compose.Plan.from_dict(own[0].additional_kwargs.get(PLAN_KEY) or
                                      {"kind": "tool", "question": question})
        outcomes = _outcomes(own, turn)
        if plan.kind == "chain":  # the next part, planned from what the parts before found
            plan = compose.Plan.from_dict(own[-1].additional_kwargs[PLAN_KEY])
            calls = chain.advance(plan, [_outcomes([ai], turn) for ai in own], ctx, read_part)
            return self._calls(plan, calls) if calls else self._final(plan, outcomes, vocab)
        if plan.then and len(own) == 1:
            calls = compose.second_round(plan, [o.data for o in outcomes], ctx, read)
            if calls:
                return self._calls(plan, calls)
        if plan.then and len(own) > 1:
            plan.kind = "tool"
        return self._final(plan, outcomes, vocab)

    # -- helpers -------------------------------------------------------------------------
    def _calls(self, plan: compose.Plan, calls: list[compose.Call]) -> AIMessage:
        return AIMessage(content="", tool_calls=[
            {"name": c.tool, "args": c.args, "id": f"call_{uuid.uuid4().hex[:12]}",
             "type": "tool_call"} for c in calls], additional_kwargs={PLAN_KEY: plan.to_dict()})

    def _final(self, plan: compose.Plan, outcomes: list[answer.Outcome],
               vocab: dict[str, Any]) -> AIMessage:
        text = answer.write(plan, outcomes, vocab["names"], vocab["scored_tasks"])
        plan.selection = answer.selection(outcomes, plan) or list(plan.models)
        plan.focus = chain.last_focus(plan, outcomes) if plan.kind == "chain" else compose.focus(plan)
        if plan.focus:  # the model an answer was about counts as discussed ("the gap between those two?")
            plan.recent = [m for m in plan.recent if m != plan.focus][-5:] + [plan.focus]
        if len(plan.selection) >= 2:  # the last list an answer gave ("the microsoft one" later)
            plan.listed = list(plan.selection)
        return AIMessage(content=text, additional_kwargs={PLAN_KEY: plan.to_dict()})

    def _read(self, question: str, vocab: dict[str, Any]) -> reading.Reading:
        question = describe.resolve(question, vocab["names"], lambda lineage: self._described(vocab, lineage),
                                    lambda: self._derived(vocab))
        return reading.read(question, vocab["linker"], vocab["architectures"], vocab["card_tasks"],
                            vocab["lake_archs"], vocab["domain"], vocab["benchmarks"])

    def _context(self, tools: list[dict[str, Any]], history: list[BaseMessage],
                 vocab: dict[str, Any]) -> compose.Context:
        infos = {t["name"]: route.ToolInfo.from_spec(t) for t in tools}
        prev = None
        for m in reversed(history):
            if isinstance(m, AIMessage) and PLAN_KEY in m.additional_kwargs and not m.tool_calls:
                prev = compose.Plan.from_dict(m.additional_kwargs[PLAN_KEY])
                break
        if prev is None:  # a thread begun by another backend: the models its questions named
            linker = vocab["linker"]
            for m in reversed(history):
                if isinstance(m, HumanMessage):
                    named = [x.spec for x in linker.link(_text(m))]
                    if named:
                        prev = compose.Plan("tool", models=named, selection=named)
                        break
        lake = compose.Lake(vocab["names"], vocab["scored_tasks"],
                            functools.partial(self._resolve_task, vocab["tasks"]),
                            {t.name: tuple(t.metrics) for t in vocab["tasks"]},
                            frozenset(vocab["card_only"]), lambda: self._derived(vocab),
                            frozenset(vocab["with_card"]))
        return compose.Context(infos, lake, self._embedder or route.default_embedder(), prev,
                               read=lambda t: self._read(t, vocab))

    def _resolve_task(self, tasks: list[Any], phrase: str, lexical: bool = False,
                      any_task: bool = False) -> str | None:
        """The lake task ``phrase`` names among ``tasks``: one with runs (``any_task``: any)."""
        if self._ctx is None:
            return None
        from modellake.tools.query.scores import resolve_task

        return resolve_task(self._ctx.catalog, phrase, tasks,
                            lexical=lexical, require_runs=not any_task, with_runs=not any_task)[0]

    def _derived(self, vocab: dict[str, Any]) -> frozenset[str]:
        """The models the version graph shows derived from another (read once per lake state)."""
        self._described(vocab, True)
        return vocab.get("derived", frozenset())

    def _described(self, vocab: dict[str, Any], lineage: bool) -> dict[str, frozenset[str]]:
        """model -> the words that describe it; with how the version graph says it was derived
        when ``lineage`` (read once per lake state, only when a question describes so)."""
        if not lineage or self._ctx is None:
            return vocab["described"]
        if "described_lineage" not in vocab:
            from modellake.store.errors import ModelLakeError
            from modellake.tools.query.describe import derivation_words

            try:
                derived = derivation_words(self._ctx.catalog)
            except ModelLakeError:  # no version graph: the record's own words only
                derived = {}
            vocab["described_lineage"] = {n: w | derived.get(n, set()) for n, w in vocab["described"].items()}
            vocab["derived"] = frozenset(derived)
        return vocab["described_lineage"]

    def _lake_vocab(self) -> dict[str, Any]:
        """Names, architectures, card tasks and benchmark tasks, recomputed when the lake changes."""
        names = self._ctx.catalog.model_names() if self._ctx is not None else []
        key = (tuple(names), self._ctx.catalog.last_event_id() if self._ctx is not None else 0)
        if self._vocab is None or self._vocab[0] != key:
            archs: set[str] = set()
            card_tasks: set[str] = set()
            tasks: list[Any] = []
            card_only: list[str] = []
            with_card: list[str] = []
            described: dict[str, frozenset[str]] = {}
            if self._ctx is not None:
                from modellake.tools.query.describe import model_words
                from modellake.tools.query.scores import lake_tasks

                for m in self._ctx.catalog.list_models():
                    described[m.name] = frozenset(model_words(m))
                    archs.update(a for a in (m.architecture, m.model_type) if a)
                    if m.card is not None and m.card.pipeline_tag:
                        card_tasks.add(m.card.pipeline_tag)
                    if m.format == "card":
                        card_only.append(m.name)
                    if m.card is not None and _prose(m.card.text) >= CARD_PROSE:
                        with_card.append(m.name)
                tasks = lake_tasks(self._ctx.catalog)
            self._vocab = (key, {
                "names": names, "linker": nlu.Linker(names),
                "architectures": sorted(archs | {"bert", "llama", "gpt2", "gemma3", "t5"}),
                "lake_archs": frozenset(a.lower() for a in archs),
                "domain": frozenset(w for t in [*(x.name for x in tasks), *card_tasks]
                                    for w in re.split(r"[-_ ]+", t.lower()) if len(w) > 2 and w != "smoke"),
                "benchmarks": frozenset(w for t in tasks for w in [t.name.lower(), *re.split(
                    r"[^a-z0-9_]+", t.name.lower())] if len(w) > 3),
                "card_tasks": sorted(card_tasks), "tasks": tasks, "card_only": card_only, "with_card": with_card,
                "described": described,
                "scored_tasks": sorted(t.name for t in tasks if t.runs)})
        return self._vocab[1]


def _prose(text: str) -> int:
    """How many characters of a card are prose: not its YAML metadata, not its headings."""
    body = without_metadata(text)
    return sum(len(line.strip()) for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#"))


def _text(m: BaseMessage) -> str:
    c = m.content
    if isinstance(c, str):
        return c
    return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in c)


def _outcomes(own: list[AIMessage], turn: list[BaseMessage]) -> list[answer.Outcome]:
    results = {m.tool_call_id: m for m in turn if isinstance(m, ToolMessage)}
    out = []
    for ai in own:
        for tc in ai.tool_calls:
            tm = results.get(tc["id"])
            if tm is None:
                out.append(answer.Outcome(tc["name"], tc["args"], None, None, "no result came back"))
                continue
            data = loads(_text(tm))
            err = None
            if isinstance(data, dict) and isinstance(data.get("error"), str):
                err = data["error"]
            elif tm.status == "error":
                err = _text(tm)
            art = tm.artifact if isinstance(tm.artifact, dict) else {}
            out.append(answer.Outcome(tc["name"], tc["args"], None if err else data,
                                      art.get("text"), err))
    return out
