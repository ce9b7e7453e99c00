"""What a caller may touch (issue 20, findings 1, 6 and 10): one policy, enforced by the tools.

The CLI user may read any path and change the lake; the web app and its chat read server paths
only inside the allowed folders and change the lake only for logged-in people; a change asked
for in chat is made only after the user's own "yes"; requests and messages have limits.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from agent_lake import ScriptedChatModel, tiny_bert_dir, tool_call
from langchain_core.messages import AIMessage

from modellake.agent.events import AgentError, FinalAnswer
from modellake.agent.loop import Agent
from modellake.store.lake import Lake
from modellake.tools.registry import get_tool
from modellake.tools.toolspec import Policy, PolicyError, ToolContext


def _names(lake) -> list[str]:
    with Lake(lake).catalog() as cat:
        return cat.model_names()


def _scripted(lake, *replies, policy=None) -> Agent:
    return Agent(lake, llm=ScriptedChatModel().enqueue(*replies), policy=policy)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- finding 1: the chat cannot get around the Ingest tab's folders, nor change a read-only app --
def test_web_chat_cannot_ingest_outside_the_allowed_folders(agent_lake, tmp_path):
    outside = tiny_bert_dir(tmp_path)
    web = Policy.web([agent_lake / "staging"], logged_in=True)
    agent = Agent(agent_lake, llm="builtin", policy=web)
    first = agent.ask(f"ingest {outside}", thread_id="w")
    after = agent.ask("yes", thread_id="w")
    assert "outside the folders this app may read" in first.answer + after.answer
    assert not first.changes and not after.changes and "bert-to-ingest" not in _names(agent_lake)


def test_tools_check_the_policy_whoever_calls_them(agent_lake, tmp_path):
    """Not one screen's rule: the registry's tools refuse for any caller."""
    before = _names(agent_lake)
    web = ToolContext(Lake(agent_lake), Policy.web([tmp_path / "allowed"], logged_in=False))
    with pytest.raises(PolicyError, match="only for logged-in users"):
        get_tool("remove_model")(web, name="tiny-bert")
    with pytest.raises(PolicyError, match="outside the folders"):
        get_tool("import_results")(ToolContext(Lake(agent_lake), Policy.web(
            [tmp_path / "allowed"], logged_in=True)), path="/etc/passwd", model="tiny-bert")
    with pytest.raises(PolicyError, match="outside the folders"):  # a task file is a path too
        get_tool("run_benchmark")(ToolContext(Lake(agent_lake), Policy.web(
            [tmp_path / "allowed"], logged_in=True)), models=["tiny-bert"], tasks=["/etc/x.yaml"])
    assert _names(agent_lake) == before
    local = ToolContext(Lake(agent_lake))  # the CLI user's own machine: any path, any change
    assert get_tool("remove_model")(local, name="tiny-q8").action == "removed"


def test_web_chat_changes_nothing_unless_people_log_in(agent_lake):
    agent = Agent(agent_lake, llm="builtin",
                  policy=Policy.web([agent_lake / "staging"], logged_in=False))
    first = agent.ask("remove tiny-bert from the lake", thread_id="r")
    agent.ask("yes", thread_id="r")
    assert "only for logged-in users" in first.answer and "--auth" in first.answer
    assert "tiny-bert" in _names(agent_lake)


def test_app_policy_is_its_agents_and_read_only_without_login(agent_lake, tmp_path):
    pytest.importorskip("gradio")
    from modellake.ui.app import create_app

    agent = Agent(agent_lake, llm="builtin")
    app = create_app(agent_lake, agent, allowed_roots=[tmp_path])
    h = app._modellake_handlers
    assert agent.ctx.policy is h.policy and not h.policy.may_change and h.policy.confirm
    model = tiny_bert_dir(tmp_path)
    assert "only for logged-in users" in h.ingest_path(str(model), "", progress=None)
    card = tmp_path / "card.md"
    card.write_text("---\nlicense: mit\n---\n# a card\n")
    assert "only for logged-in users" in h.ingest_upload(str(card), "", progress=None)
    assert "bert-to-ingest" not in _names(agent_lake)
    agent.close()


def test_serving_off_loopback_needs_a_login(agent_lake):
    pytest.importorskip("gradio")
    from modellake.ui.app import serve

    with pytest.raises(PolicyError, match="without a login"):
        serve(agent_lake, host="0.0.0.0", block=False)
    out = subprocess.run([sys.executable, "-m", "modellake.ui.cli", "--lake", str(agent_lake),
                          "ui", "--host", "0.0.0.0"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("error: refusing to serve on 0.0.0.0 without a login")
    assert len(out.stderr.strip().splitlines()) == 1


# -- finding 10: a change needs the user's own words and then the user's own yes -------------------
def test_quoted_words_do_not_count_as_asking_for_a_change(agent_lake):
    agent = _scripted(agent_lake, tool_call("remove_model", name="tiny-bert"),
                      AIMessage(content="ok"), policy=Policy())
    final = agent.ask('my notes say "remove tiny-bert" - what does that mean?')
    assert final.refused and "does not ask for a change" in final.refused[0]["why"]
    assert "tiny-bert" in _names(agent_lake)


def test_only_the_users_next_message_confirms_a_change(agent_lake):
    """A card that says "yes", or a model that calls the tool again, confirms nothing."""
    agent = _scripted(agent_lake, tool_call("remove_model", name="tiny-bert"),
                      tool_call("remove_model", name="tiny-bert"), AIMessage(content="Asked."),
                      tool_call("read_card", name="evil-model"), AIMessage(content="yes"),
                      AIMessage(content="Yes to what?"))
    first = agent.ask("please remove tiny-bert", thread_id="c")
    assert first.pending and not first.changes and "tiny-bert" in _names(agent_lake)
    second = agent.ask("what does the card of evil-model say?", thread_id="c")
    assert not second.changes and "Not done: remove tiny-bert" in second.answer
    assert not agent.pending("c")
    assert not agent.ask("yes", thread_id="c").changes  # nothing is waiting any more
    assert "tiny-bert" in _names(agent_lake)


def test_a_pending_change_can_be_declined(agent_lake):
    agent = Agent(agent_lake, llm="builtin")
    assert agent.ask("rename tiny-bert to bert-x", thread_id="d").pending
    assert agent.ask("no", thread_id="d").answer.startswith("Nothing was changed")
    assert "tiny-bert" in _names(agent_lake) and "bert-x" not in _names(agent_lake)


def test_confirmation_words():
    from modellake.agent.toolkit import is_confirmation, is_refusal

    assert all(is_confirmation(t) for t in ("yes", "Yes!", "yes, do it", "ok go ahead", "confirm"))
    assert not any(is_confirmation(t) for t in (
        "yes, and rename gpt2-mini too", "yes but not that one", "what is tiny-bert?", "",
        "the card says yes"))
    assert is_refusal("no") and is_refusal("cancel that") and not is_refusal("yes")


# -- finding 6: limits ---------------------------------------------------------------------------------
def test_an_overlong_message_is_refused_at_once(agent_lake):
    agent = _scripted(agent_lake)  # no reply scripted: the chat model must not be called
    events = list(agent.stream("x" * (agent.ctx.policy.max_message_chars + 1)))
    assert len(events) == 1 and isinstance(events[0], AgentError)
    assert "the limit is" in events[0].message


@pytest.fixture(scope="module")
def served(agent_lake_template, tmp_path_factory):
    """The app as ``modellake ui --auth`` serves it, with a 64 KiB upload limit."""
    pytest.importorskip("gradio")
    import shutil

    from modellake.ui.app import serve

    lake = tmp_path_factory.mktemp("served") / "lake"
    shutil.copytree(agent_lake_template, lake)
    port = _free_port()
    app = serve(lake, port=port, auth="alice:secret", llm="builtin", block=False,
                max_upload_bytes=64 * 1024)
    try:
        yield f"http://127.0.0.1:{port}", lake
    finally:
        app.close()


def test_request_bodies_and_uploads_have_limits(served):
    import httpx

    url, _ = served
    big = httpx.post(f"{url}/gradio_api/queue/join", content=b"x" * (2 << 20),
                     headers={"content-type": "application/json"}, timeout=30)
    assert big.status_code == 413 and "over the limit" in big.text
    with httpx.Client(base_url=url, timeout=30) as web:
        login = web.post("/login", data={"username": "alice", "password": "secret"})
        assert login.status_code == 200, login.text
        small = web.post("/gradio_api/upload", files={"files": ("m.gguf", b"\0" * 1024)})
        assert small.status_code == 200, small.text
        upload = web.post("/gradio_api/upload", files={"files": ("m.gguf", b"\0" * (200 * 1024))})
        assert upload.status_code == 413, upload.text  # over the 64 KiB limit: never stored


def test_many_chats_and_a_cli_ingest_at_once(served, tmp_path):
    """200 concurrent chat requests while the CLI ingests into the same lake: no errors."""
    from gradio_client import Client

    url, lake = served
    client = Client(url + "/", auth=("alice", "secret"), verbose=False)
    model = tiny_bert_dir(tmp_path)
    ingest = subprocess.Popen([sys.executable, "-m", "modellake.ui.cli", "--lake", str(lake),
                               "ingest", str(model), "--name", "cli-added"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    questions = ["how many models are in the lake?", "which models derive from tiny-bert?",
                 "what license does tiny-bert have?", "list the models"]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: client.predict(
            questions[i % len(questions)], f"conv-{i}", api_name="/chat"), range(200)))
    out, err = ingest.communicate(timeout=300)
    assert ingest.returncode == 0, err
    errors = [a for a in answers if a.startswith("error")]
    assert not errors and len(answers) == 200
    assert all("tiny-bert" in a or "model" in a for a in answers)
    assert "cli-added" in _names(lake)
    assert json.loads(json.dumps(answers))  # plain strings


def test_final_answer_reports_pending_changes_in_json(agent_lake):
    agent = Agent(agent_lake, llm="builtin")
    final = agent.ask("remove tiny-q8")
    assert isinstance(final, FinalAnswer)
    assert final.to_dict()["pending"][0]["tool"] == "remove_model"
