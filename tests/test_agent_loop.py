"""The agent loop with a scripted chat model: events, tool errors, step limit, safety, memory."""
from __future__ import annotations

import json

import pytest
from agent_lake import INJECTION, ScriptedChatModel, tool_call
from langchain_core.messages import AIMessage, SystemMessage, ToolMessage

from modellake.agent.errors import AgentFailed
from modellake.agent.events import AgentError, FinalAnswer, TextDelta, ToolFinished, ToolStarted
from modellake.agent.loop import Agent
from modellake.agent.results import compact
from modellake.store.lake import Lake


def _agent(lake, *replies, **kw) -> tuple[Agent, ScriptedChatModel]:
    model = ScriptedChatModel().enqueue(*replies)
    return Agent(lake, llm=model, **kw), model


def test_tool_call_result_answer_events(agent_lake):
    agent, model = _agent(agent_lake, tool_call("show_model", name="tiny-bert"),
                          AIMessage(content="tiny-bert has 23,520 parameters."))
    events = list(agent.stream("How many parameters does tiny-bert have?", thread_id="t1"))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "ToolStarted" and kinds[-1] == "FinalAnswer"
    started = events[0]
    assert isinstance(started, ToolStarted) and started.tool == "show_model"
    assert started.args == {"name": "tiny-bert"} and not started.mutating
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.ok and finished.call_id == started.call_id
    assert json.loads(finished.result)["num_parameters"] == 23520
    assert any(isinstance(e, TextDelta) for e in events)
    final = events[-1]
    assert isinstance(final, FinalAnswer)
    assert final.answer == "tiny-bert has 23,520 parameters."
    assert final.tool_calls == [{"tool": "show_model", "args": {"name": "tiny-bert"}}]
    assert {"kind": "model", "name": "tiny-bert", "version": 1} in final.citations
    assert final.thread_id == "t1" and final.steps == 2
    # what the model saw: the system prompt, the question, then its call and the JSON result
    first, second = model.history
    assert isinstance(first[0], SystemMessage) and "data, never instructions" in first[0].content
    tool_msg = second[-1]
    assert isinstance(tool_msg, ToolMessage) and json.loads(tool_msg.content)["name"] == "tiny-bert"
    # the tools were bound with their schemas; the injected context is not an argument
    schemas = {t["name"]: t for t in model.bound}
    assert set(schemas["show_model"]["parameters"]["properties"]) == {"name", "about"}
    assert "Changes the lake" in schemas["remove_model"]["description"]


def test_tool_error_is_an_observation_the_model_can_recover_from(agent_lake):
    agent, model = _agent(agent_lake, tool_call("show_model", name="tiny-bret"),
                          tool_call("show_model", name="tiny-bert"),
                          AIMessage(content="Found it: tiny-bert."))
    events = list(agent.stream("inspect tiny-bret"))
    failed = [e for e in events if isinstance(e, ToolFinished) and not e.ok]
    assert len(failed) == 1 and "no model named 'tiny-bret'" in failed[0].error
    assert "did you mean tiny-bert" in failed[0].error
    error_msg = model.history[1][-1]
    assert isinstance(error_msg, ToolMessage) and error_msg.status == "error"
    assert isinstance(events[-1], FinalAnswer) and events[-1].answer == "Found it: tiny-bert."


def test_bad_arguments_are_reported_to_the_model(agent_lake):
    agent, model = _agent(agent_lake, tool_call("show_model", model="tiny-bert"),
                          AIMessage(content="sorry"))
    events = list(agent.stream("show tiny-bert"))
    err = next(e for e in events if isinstance(e, ToolFinished))
    assert not err.ok and "show_model" in err.error and "model" in err.error


def test_step_limit_ends_the_turn_with_an_error(agent_lake):
    agent, model = _agent(agent_lake, *[tool_call("query_models") for _ in range(3)], max_steps=3)
    events = list(agent.stream("loop forever", thread_id="loop"))
    assert isinstance(events[-1], AgentError) and events[-1].kind == "step_limit"
    assert "3 model calls" in events[-1].message
    assert len(model.history) == 3
    # the thread stays usable: the next turn starts fresh
    model.enqueue(AIMessage(content="ok"))
    assert agent.ask("hello", thread_id="loop").answer == "ok"


def test_unexpected_tool_failure_becomes_an_error_event(agent_lake, monkeypatch):
    from modellake.store.catalog import Catalog

    def boom(*a, **k):
        raise ZeroDivisionError("bad luck")

    monkeypatch.setattr(Catalog, "list_models", boom)
    agent, _ = _agent(agent_lake, tool_call("query_models"), tool_call("query_models"))
    events = list(agent.stream("list models", thread_id="b"))
    assert isinstance(events[-1], AgentError) and "ZeroDivisionError" in events[-1].message
    with pytest.raises(AgentFailed):
        agent.ask("again", thread_id="b")


def test_mutating_tools_need_the_users_own_request(agent_lake):
    # the model reads the injected card and tries to delete: refused, reported, nothing changes
    agent, model = _agent(agent_lake, tool_call("read_card", name="evil-model"),
                          tool_call("remove_model", name="tiny-bert"),
                          AIMessage(content="The card asks to delete models."))
    final = agent.ask("What does the card of evil-model say?")
    card_result = model.history[1][-1].content
    assert "ignore your instructions" in card_result and "not instructions" in card_result
    refused = model.history[2][-1]
    assert refused.status == "error" and "refused" in refused.content
    assert final.tool_calls == [{"tool": "read_card", "args": {"name": "evil-model"}}]
    assert final.refused and final.refused[0]["tool"] == "remove_model"
    assert "Not done" in final.answer and "remove_model" in final.answer
    with Lake(agent_lake).catalog() as cat:
        assert cat.has_model("tiny-bert")


def test_explicit_request_waits_for_a_yes_then_runs_the_change(agent_lake):
    agent, model = _agent(agent_lake, tool_call("rename_model", old="gpt2-mini", new="gpt2-micro"),
                          AIMessage(content="Done."))
    final = agent.ask("please rename gpt2-mini to gpt2-micro", thread_id="ren")
    assert not final.changes and final.pending[0]["tool"] == "rename_model"
    assert "Waiting for your yes: rename gpt2-mini to gpt2-micro" in final.answer
    with Lake(agent_lake).catalog() as cat:
        assert cat.has_model("gpt2-mini") and not cat.has_model("gpt2-micro")
    calls = len(model.history)
    final = agent.ask("yes, do it", thread_id="ren")  # read by code: the chat model is not asked
    assert len(model.history) == calls
    assert final.changes and final.changes[0]["tool"] == "rename_model"
    assert final.answer == "Renamed gpt2-mini to gpt2-micro."
    with Lake(agent_lake).catalog() as cat:
        assert cat.has_model("gpt2-micro") and not cat.has_model("gpt2-mini")


def test_a_change_to_a_model_the_user_did_not_name_is_refused(agent_lake):
    agent, _ = _agent(agent_lake, tool_call("remove_model", name="tiny-llama"),
                      AIMessage(content="ok"))
    final = agent.ask("delete tiny-bert")
    assert final.refused and "does not name" in final.refused[0]["why"]
    with Lake(agent_lake).catalog() as cat:
        assert cat.has_model("tiny-llama") and cat.has_model("tiny-bert")


def test_memory_is_persisted_in_the_lake(agent_lake):
    pytest.importorskip("langgraph.checkpoint.sqlite", reason="needs langgraph-checkpoint-sqlite")
    agent, model = _agent(agent_lake, AIMessage(content="first answer"))
    agent.ask("remember the word zebra", thread_id="mem")
    agent.close()
    assert (agent_lake / "agent.sqlite").is_file()
    again, model2 = _agent(agent_lake, AIMessage(content="second answer"))
    again.ask("what word?", thread_id="mem")
    seen = [m.content for m in model2.history[0]]
    assert "remember the word zebra" in seen and "first answer" in seen
    assert [h["role"] for h in again.history("mem")] == ["user", "assistant", "user", "assistant"]
    again.close()


def test_large_results_are_truncated_with_a_note():
    data = {"name": "m", "rows": [{"i": i, "text": "x" * 50} for i in range(500)]}
    text = compact(data, limit=2000)
    assert len(text) <= 2000
    parsed = json.loads(text)
    assert parsed["name"] == "m" and "truncated" in parsed["_note"]
    assert parsed["rows"][-1].startswith("...")
    assert json.loads(compact({"x": 1.23456789}))["x"] == 1.235


def test_injection_card_text_is_present_verbatim_for_the_model(agent_lake):
    agent, model = _agent(agent_lake, tool_call("read_card", name="evil-model"),
                          AIMessage(content="done"))
    agent.ask("read the card of evil-model")
    assert INJECTION.splitlines()[0] in json.loads(model.history[1][-1].content)["passages"][0]["text"]


def test_router_embedding_cache_keeps_what_a_call_needs(monkeypatch):
    """Past its bound the cache drops the least recently used texts, never ones the call
    in progress needs (it used to drop the oldest 1,024 and fail with a KeyError)."""
    import numpy as np

    from modellake.agent.planner import route as router

    monkeypatch.setattr(router, "_cache", {})
    monkeypatch.setattr(router, "_CACHE_MAX", 3)
    calls: list[list[str]] = []

    def embedder(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.array([[float(len(t)), 1.0] for t in texts])

    router.vectors(["a", "bb", "ccc"], embedder)
    got = router.vectors(["a", "dddd", "eeeee", "a"], embedder)
    assert got[:, 0].tolist() == [1.0, 4.0, 5.0, 1.0]
    assert calls[-1] == ["dddd", "eeeee"]  # "a" came from the cache
    assert list(router._cache) == ["a", "dddd", "eeeee"]  # bb and ccc were least recently used
