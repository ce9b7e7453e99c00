"""``modellake ask`` / ``modellake chat`` (ui/chat_cli.py) through the CLI's entry point."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from modellake.ui import cli
from modellake.ui.chat_cli import citation_text, register

register(cli.app)  # ui/cli.py calls this itself once wired; registering twice is a no-op
register(cli.app)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_json_contract(capsys, agent_lake):
    code, out, _ = run(capsys, "--lake", str(agent_lake), "ask",
                       "How many parameters does tiny-bert have?", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"answer", "tool_calls", "citations"}
    assert "23,520" in data["answer"]
    assert data["tool_calls"] == [{"tool": "show_model", "args": {"name": "tiny-bert", "about": ["parameters"]}}]
    assert {"kind": "model", "name": "tiny-bert", "version": 1} in data["citations"]


def test_ask_human_output_and_memory_by_thread(capsys, agent_lake):
    code, out, _ = run(capsys, "--lake", str(agent_lake), "ask", "what license does "
                       "sentiment-bert have?", "--thread", "t1")
    assert code == 0 and "show_model" in out and "mit" in out and "sources:" in out
    code, out, _ = run(capsys, "--lake", str(agent_lake), "ask", "and its datasets?",
                       "--thread", "t1", "--json")
    assert "imdb" in json.loads(out)["answer"]


def test_ask_errors_are_one_line(capsys, agent_lake, monkeypatch):
    code, _, err = run(capsys, "--lake", str(agent_lake), "ask", "hi", "--llm", "nonsense:x")
    assert code == 1 and err.startswith("error: unknown chat backend") and err.count("\n") == 1
    monkeypatch.setenv("MODELLAKE_LLM", "hf:/no/such/model.gguf")
    code, _, err = run(capsys, "--lake", str(agent_lake), "ask", "hi")
    assert code == 1 and "hf:/no/such/model.gguf" in err


def test_chat_streams_answers_until_exit(capsys, agent_lake, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(
        "what is the largest model?\n\nand the smallest?\n/new\nhow many layers does "
        "gpt2-mini have?\n/exit\nnever asked\n"))
    code, out, _ = run(capsys, "--lake", str(agent_lake), "chat")
    assert code == 0
    assert "gpt2-mini" in out and "tiny-q8" in out and "3 layers" in out
    assert "query_models" in out and "new conversation" in out and "never asked" not in out


def test_chat_ends_on_end_of_input(capsys, agent_lake, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("list the gguf models\n"))
    code, out, _ = run(capsys, "--lake", str(agent_lake), "chat", "--thread", "c1")
    assert code == 0 and "tiny-q8" in out and "conversation c1" in out


def test_citation_text():
    assert citation_text({"kind": "model", "name": "m", "version": 2}) == "m v2"
    assert citation_text({"kind": "edge", "parent": "a", "child": "b", "relation": "finetune",
                          "confidence": 0.9}) == "a -> b (finetune, 0.9)"
    assert "license=mit" in citation_text({"kind": "card", "model": "m",
                                           "fields": {"license": "mit"}})


@pytest.mark.parametrize("module", ["modellake.ui.chat_cli"])
def test_chat_cli_import_is_light(module):
    code = (f"import sys; import {module}; "
            "print([m for m in ('langchain', 'langgraph', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_empty_question_is_a_one_line_error(capsys, agent_lake):
    code, out, err = run(capsys, "--lake", str(agent_lake), "ask", "   ")
    assert code == 1 and err.startswith("error: the question is empty") and err.count("\n") == 1
    assert "query_models" not in out + err  # no tool list, no traceback
