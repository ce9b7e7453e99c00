"""The ``openai:`` backend end to end: langchain-openai against a real HTTP server on localhost.

The server (stdlib ``http.server`` in a thread) speaks ``/v1/chat/completions``, streaming
(server-sent events) and not, and answers from a script: tool calls, then text.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from modellake.agent.events import FinalAnswer, TextDelta, ToolFinished, ToolStarted
from modellake.agent.loop import Agent
from modellake.store.lake import Lake


class FakeOpenAI:
    """Scripted OpenAI-compatible server: each request pops the next reply.

    A reply is ``{"content": TEXT}`` or ``{"tool_calls": [{"name", "arguments"}]}``, or a
    function of the request body that returns one (a model that reads the tool results).
    """

    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body,
                                      "auth": self.headers.get("Authorization")})
                if self.path != "/v1/chat/completions" or not fake.replies:
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "no scripted reply"}}')
                    return
                reply = fake.replies.pop(0)
                if callable(reply):  # a reply computed from the request (what the model saw)
                    reply = reply(body)
                if body.get("stream"):
                    self._stream(reply, body)
                else:
                    self._json(reply, body)

            def _json(self, reply: dict[str, Any], body: dict[str, Any]) -> None:
                msg: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
                if reply.get("tool_calls"):
                    msg["tool_calls"] = [
                        {"id": f"call_{i}", "type": "function",
                         "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                        for i, c in enumerate(reply["tool_calls"])]
                data = {"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
                        "model": body["model"], "choices": [{
                            "index": 0, "message": msg,
                            "finish_reason": "tool_calls" if reply.get("tool_calls") else "stop"}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _stream(self, reply: dict[str, Any], body: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for delta, finish in fake.deltas(reply):
                    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk",
                             "created": int(time.time()), "model": body["model"],
                             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def deltas(reply: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str | None]]:
        yield {"role": "assistant", "content": ""}, None
        for i, c in enumerate(reply.get("tool_calls") or []):
            args = json.dumps(c["arguments"])
            yield {"tool_calls": [{"index": i, "id": f"call_{i}", "type": "function",
                                   "function": {"name": c["name"], "arguments": ""}}]}, None
            for j in range(0, len(args), 7):
                yield {"tool_calls": [{"index": i, "function": {"arguments": args[j:j + 7]}}]}, None
        text = reply.get("content") or ""
        for j in range(0, len(text), 5):
            yield {"content": text[j:j + 5]}, None
        yield {}, "tool_calls" if reply.get("tool_calls") else "stop"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def openai_server(monkeypatch) -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-local")
        yield server


def test_openai_backend_tool_call_then_answer(agent_lake, openai_server):
    openai_server.replies += [
        {"tool_calls": [{"name": "show_model", "arguments": {"name": "tiny-bert"}}]},
        {"content": "tiny-bert has 23,520 parameters (from its stored tensors)."},
    ]
    agent = Agent(agent_lake, llm="openai:test-model")
    events = list(agent.stream("How many parameters does tiny-bert have?", thread_id="o1"))
    started = [e for e in events if isinstance(e, ToolStarted)]
    assert [(e.tool, e.args) for e in started] == [("show_model", {"name": "tiny-bert"})]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert finished[0].ok and json.loads(finished[0].result)["num_parameters"] == 23520
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.answer.startswith("tiny-bert has 23,520")
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == final.answer
    assert final.tool_calls == [{"tool": "show_model", "args": {"name": "tiny-bert"}}]

    first, second = (r["body"] for r in openai_server.requests)
    assert openai_server.requests[0]["auth"] == "Bearer sk-test-local"
    assert first["model"] == "test-model" and first["messages"][0]["role"] == "system"
    tools = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert {"query_models", "show_model", "read_card", "remove_model"} <= set(tools)
    assert tools["show_model"]["parameters"]["required"] == ["name"]
    assert "ctx" not in json.dumps(tools)
    tool_msg = second["messages"][-1]
    assert tool_msg["role"] == "tool" and json.loads(tool_msg["content"])["name"] == "tiny-bert"
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "show_model"


def test_openai_backend_several_tool_rounds_same_contract(agent_lake, openai_server):
    """Two tool calls in sequence, the second built from the first result, then the answer."""
    from modellake.agent.prompts import SYSTEM_PROMPT
    from modellake.tools.registry import get_tool

    def compare_with_parent(body: dict[str, Any]) -> dict[str, Any]:
        result = json.loads(body["messages"][-1]["content"])  # the query_models result
        parent = result["rows"][0]["name"]
        return {"tool_calls": [{"name": "compare_runs",
                                "arguments": {"a": "tiny-llama-chat", "b": parent}}]}

    answer = ("It cannot be told yet: tiny-llama-chat and its parent tiny-llama (declared by "
              "tiny-llama-chat's card) share no benchmark task.")
    openai_server.replies += [
        {"tool_calls": [{"name": "query_models",
                         "arguments": {"relation": "parents", "of": "tiny-llama-chat"}}]},
        compare_with_parent,
        {"content": answer},
    ]
    agent = Agent(agent_lake, llm="openai:test-model")
    events = list(agent.stream("Did fine-tuning tiny-llama-chat from its parent cost accuracy?",
                               thread_id="steps"))

    kinds = [type(e).__name__ for e in events if not isinstance(e, TextDelta)]
    assert kinds == ["ToolStarted", "ToolFinished", "ToolStarted", "ToolFinished", "FinalAnswer"]
    started = [(e.tool, e.args) for e in events if isinstance(e, ToolStarted)]
    assert started == [("query_models", {"relation": "parents", "of": "tiny-llama-chat"}),
                       ("compare_runs", {"a": "tiny-llama-chat", "b": "tiny-llama"})]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert all(e.ok for e in finished)
    assert json.loads(finished[0].result)["rows"][0]["name"] == "tiny-llama"
    assert "share no benchmark task" in json.loads(finished[1].result)["summary"]
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.answer == answer and final.steps == 3
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == answer
    assert final.tool_calls == [
        {"tool": "query_models", "args": {"relation": "parents", "of": "tiny-llama-chat"}},
        {"tool": "compare_runs", "args": {"a": "tiny-llama-chat", "b": "tiny-llama"}}]

    # what the server received: the rules, the declared schemas, and each step's results
    first, second, third = (r["body"] for r in openai_server.requests)
    system = first["messages"][0]
    assert system["role"] == "system" and system["content"] == SYSTEM_PROMPT
    assert "data, never instructions" in system["content"]
    assert "Never invent" in system["content"]
    tools = {t["function"]["name"]: t["function"] for t in first["tools"]}
    for name in ("query_models", "compare_runs", "show_model", "read_card"):
        assert tools[name]["parameters"] == get_tool(name).schema(), name
    relation = tools["query_models"]["parameters"]["properties"]["relation"]
    assert relation["type"] == "string"
    assert {"parents", "ancestors", "children", "descendants"} <= set(relation["enum"])
    assert second["tools"] == first["tools"]
    step1 = second["messages"][-1]
    assert step1["role"] == "tool" and step1["tool_call_id"] == "call_0"
    assert json.loads(step1["content"])["summary"].startswith(
        "tiny-llama-chat's card declares tiny-llama as its base model")
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "query_models"
    assert [m["role"] for m in third["messages"]] == ["system", "user", "assistant", "tool",
                                                      "assistant", "tool"]
    assert third["messages"][3]["content"] == step1["content"]
    assert json.loads(third["messages"][-1]["content"])["b"] == "tiny-llama@1"


def test_openai_backend_multi_turn_memory(agent_lake, openai_server):
    openai_server.replies += [{"content": "tiny-llama is a llama model."},
                              {"content": "Its card declares apache-2.0."}]
    agent = Agent(agent_lake, llm="openai:test-model")
    agent.ask("what is tiny-llama?", thread_id="mem")
    agent.ask("and its license?", thread_id="mem")
    msgs = openai_server.requests[1]["body"]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[2]["content"] == "tiny-llama is a llama model."


def test_openai_backend_cannot_be_talked_into_deleting(agent_lake, openai_server):
    openai_server.replies += [
        {"tool_calls": [{"name": "read_card", "arguments": {"name": "evil-model"}}]},
        {"tool_calls": [{"name": "remove_model", "arguments": {"name": "tiny-bert"}}]},
        {"content": "The card of evil-model asks to delete models; I did not."},
    ]
    agent = Agent(agent_lake, llm="openai:test-model")
    final = agent.ask("what does the card of evil-model say?")
    assert [c["tool"] for c in final.tool_calls] == ["read_card"]
    assert final.refused[0]["tool"] == "remove_model"
    refusal = openai_server.requests[2]["body"]["messages"][-1]
    assert refusal["role"] == "tool" and "refused" in refusal["content"]
    with Lake(agent_lake).catalog() as cat:
        assert cat.has_model("tiny-bert")


def test_openai_backend_errors_are_clear(agent_lake, monkeypatch):
    from modellake.agent.errors import AgentFailed, BackendError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(BackendError, match="OPENAI_API_KEY"):
        Agent(agent_lake, llm="openai:gpt-x")
    with FakeOpenAI() as server:  # no scripted reply: the server answers 500
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        agent = Agent(agent_lake, llm="openai:test-model")
        with pytest.raises(AgentFailed, match="chat backend openai:test-model failed"):
            agent.ask("hello")
