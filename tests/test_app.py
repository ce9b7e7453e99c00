"""The web app against a live server on localhost, driven by gradio_client."""
from __future__ import annotations

import socket

import pytest

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_lake(template, root):
    """A copy of the agent test lake plus ``tiny-bert-ft``, a fine-tune of ``tiny-bert``."""
    import shutil

    import torch
    from conftest import tiny_bert

    from modellake.store.lake import Lake
    from modellake.tools.ingest import ingest

    lake_dir = root / "lake"
    shutil.copytree(template, lake_dir)
    model = tiny_bert(0)
    torch.manual_seed(11)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    model.save_pretrained(root / "tiny-bert-ft")
    with Lake.open(lake_dir).catalog() as cat:
        assert not ingest(cat, [root / "tiny-bert-ft"], name="tiny-bert-ft").errors
    return lake_dir


@pytest.fixture(scope="module")
def live_app(agent_lake_template, tmp_path_factory):
    """The app over a copy of the test lake, serving on 127.0.0.1:<free port>."""

    from modellake.agent import Agent
    from modellake.ui.app import create_app

    lake_dir = app_lake(agent_lake_template, tmp_path_factory.mktemp("app"))
    agent = Agent(lake_dir, llm="builtin")
    roots = [str(tmp_path_factory.getbasetemp())]
    app = create_app(lake_dir, agent, allowed_roots=roots, max_upload_bytes=10_000,
                     allow_changes=True)
    port = free_port()
    app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                       quiet=True, share=False)
    try:
        yield app, f"http://127.0.0.1:{port}/", lake_dir
    finally:
        app.close()
        agent.close()


@pytest.fixture(scope="module")
def client(live_app):
    from gradio_client import Client

    return Client(live_app[1], verbose=False)


def test_chat_round_trip_answers_a_lineage_question(client):
    answer = client.predict("Which models are derived from tiny-bert?", "conv-1", api_name="/chat")
    assert isinstance(answer, str)
    # the weights say tiny-bert-ft is the real fine-tune (sentiment-bert only claims it in its card)
    assert "tiny-bert-ft (a fine-tune)" in answer and "not confirmed by the weights" in answer


def test_conversations_are_separate(client, live_app):
    client.predict("How many parameters does tiny-bert have?", "conv-a", api_name="/chat")
    agent = live_app[0]._modellake_handlers.agent
    assert any("tiny-bert" in m["content"] for m in agent.history("conv-a") if m["role"] == "user")
    assert agent.history("conv-b-unused") == []


def test_lake_table_lists_the_lake(client, live_app):
    from modellake.store.lake import Lake

    with Lake.open(live_app[2]).catalog() as cat:
        expected = set(cat.model_names())
    table, _ = client.predict("", api_name="/models")
    names = {row[0] for row in table["data"]}
    assert names == expected and "tiny-bert" in names


def test_show_model_gives_inspection_markdown(client):
    md, card = client.predict("tiny-bert", api_name="/show")
    assert "tiny-bert" in md and "parameters" in md


def test_lineage_tab_draws_or_says_unavailable(client):
    from modellake.ui.handlers import LINEAGE_UNAVAILABLE, lineage_api

    img, edges, note = client.predict("", api_name="/lineage")
    if lineage_api() is None:
        assert note == LINEAGE_UNAVAILABLE
    else:
        assert img and "edge" in note, note
        assert ["tiny-bert", "tiny-bert-ft"] in [row[:2] for row in edges["data"]]
        assert "sentiment-bert" in note  # its declared base contradicts its weights


def test_ingest_path_outside_allowed_roots_is_refused(client):
    out = client.predict("/etc/../etc/passwd", "", api_name="/ingest_path")
    assert "/etc/passwd is outside the folders this app may read" in out


def test_inside_roots_blocks_traversal(tmp_path):
    from modellake.tools.toolspec import PolicyError
    from modellake.ui.handlers import inside_roots

    (tmp_path / "ok").mkdir()
    assert inside_roots(tmp_path / "ok", [tmp_path]) == (tmp_path / "ok").resolve()
    with pytest.raises(PolicyError):
        inside_roots(f"{tmp_path}/ok/../../etc", [tmp_path])
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(PolicyError):
        inside_roots(tmp_path / "link", [tmp_path])


def test_draft_and_audit_card(client):
    text, note = client.predict("tiny-bert", api_name="/draft_card")
    assert "tiny-bert" in text
    findings = client.predict("tiny-bert", text, api_name="/audit_card")
    assert "tiny-bert" in findings


def test_ingest_path_inside_allowed_roots(client, live_app, tmp_path_factory):
    import torch
    from conftest import tiny_bert

    d = tmp_path_factory.mktemp("to-ingest") / "tiny-bert-copy"
    torch.manual_seed(0)
    tiny_bert(5).save_pretrained(d)
    out = client.predict(str(d), "web-ingested", api_name="/ingest_path")
    assert "web-ingested" in out, out
    table, _ = client.predict("web-ingested", api_name="/models")  # the filter
    assert [row[0] for row in table["data"]] == ["web-ingested"]


def test_upload_is_staged_with_a_size_limit(live_app, tmp_path):
    h = live_app[0]._modellake_handlers
    big = tmp_path / "big.gguf"
    big.write_bytes(b"\0" * (h.max_upload + 1))
    assert "the limit is" in h.ingest_upload(str(big), "", progress=None)
    small = tmp_path / "model-card.md"
    small.write_text("---\nlicense: mit\n---\n# uploaded-card\nA card-only model.\n")
    out = h.ingest_upload(str(small), "uploaded-card", progress=None)
    assert "uploaded-card" in out, out
    staged = list((live_app[2] / "staging").rglob("model-card.md"))
    assert staged and all(p.resolve().is_relative_to((live_app[2] / "staging").resolve()) for p in staged)


def test_an_uploaded_folder_is_one_model(live_app, tmp_path, monkeypatch):
    from conftest import tiny_bert

    h = live_app[0]._modellake_handlers
    monkeypatch.setattr(h, "max_upload", 10 * 2**20)
    folder = tmp_path / "my-encoder"
    tiny_bert(3).save_pretrained(folder, safe_serialization=True)
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# my-encoder\nAn encoder.\n")
    files = sorted(str(p) for p in folder.iterdir())  # what a directory upload hands over
    out = h.ingest_upload(files, "uploaded-folder", progress=None)
    assert "uploaded-folder (v1)" in out, out
    with h.catalog() as cat:
        m = cat.get_model("uploaded-folder")
    assert m.format == "safetensors" and m.card is not None


def test_auditing_an_empty_editor_shows_the_card_it_audits(live_app):
    h = live_app[0]._modellake_handlers
    findings, text, preview = h.audit_editor("tiny-bert", "")
    with h.catalog() as cat:
        card = cat.get_model("tiny-bert").card
    if card is None:
        assert "no stored card" in findings and text == ""
    else:
        assert text == card.text and findings and not preview.startswith("---")
    assert h.audit_editor("tiny-bert", "---\nlicense: mit\n---\n# Hi\n")[2] == "# Hi"


def test_serve_with_auth_requires_login(agent_lake_template, tmp_path):
    import shutil

    from gradio_client import Client

    from modellake.ui.app import serve

    lake_dir = tmp_path / "lake"
    shutil.copytree(agent_lake_template, lake_dir)
    port = free_port()
    app = serve(lake_dir, port=port, auth="alice:secret", llm="builtin", block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises ValueError or HTTP errors by version
            Client(url, verbose=False).predict("hi", "", api_name="/chat")
        answer = Client(url, auth=("alice", "secret"), verbose=False).predict(
            "How many parameters does tiny-bert have?", "auth-conv", api_name="/chat")
        assert "tiny-bert" in answer
    finally:
        app.close()


def test_leaderboard_and_compare_on_reported_runs(client, live_app, tmp_path):
    from conftest import MODEL_INDEX_CARD

    from modellake.store.lake import Lake
    from modellake.tools.bench import import_results

    tasks = set()
    with Lake.open(live_app[2]).catalog() as cat:
        for name, value in (("tiny-bert", 0.61), ("tiny-bert-ft", 0.83)):
            p = tmp_path / f"{name}.md"
            p.write_text(MODEL_INDEX_CARD.format(name=name, value=value))
            tasks |= {r.task for r in import_results(cat, p, name).runs}
    (task,) = tasks
    rows, plot, note = client.predict(task, "reported", api_name="/leaderboard")
    ranked = [row[1] for row in rows["data"]]
    assert ranked[:2] == ["tiny-bert-ft", "tiny-bert"], (rows, note)
    assert plot  # the bar chart
    out = client.predict("tiny-bert", "tiny-bert-ft", api_name="/compare")
    assert "tiny-bert" in out and "tiny-bert-ft" in out


def test_chat_streams_tool_steps_as_collapsible_messages(live_app):
    h = live_app[0]._modellake_handlers
    states = list(h.respond("How many parameters does tiny-bert have?", [], None))
    assert len(states) >= 3  # the question, the tool step(s), the answer
    history, thread, box = states[-1]
    assert thread and box == ""
    assert history[0] == {"role": "user", "content": "How many parameters does tiny-bert have?"}
    steps = [m for m in history if m.get("metadata")]
    assert steps and all(m["metadata"]["title"].startswith("Tool: ") for m in steps)
    assert all(m["metadata"]["status"] == "done" for m in steps)
    assert any(m.get("metadata", {}).get("status") == "pending"
               for s in states[:-1] for m in s[0])  # shown while running
    assert history[-1]["role"] == "assistant" and "tiny-bert" in history[-1]["content"]
    assert not history[-1].get("metadata")


def test_without_lineage_the_tab_says_unavailable(live_app, monkeypatch):
    from modellake.ui import handlers as app_mod

    monkeypatch.setattr(app_mod, "lineage_api", lambda: None)
    h = live_app[0]._modellake_handlers
    assert h.draw_lineage("") == (None, [], app_mod.LINEAGE_UNAVAILABLE)
    assert {r[0] for r in h.models_table()} >= {"tiny-bert"}  # the lake tab still works
    md, _ = h.show_model("tiny-bert")
    assert "tiny-bert" in md


def test_chat_shows_work_at_once_links_models_and_draws_the_lineage(live_app):
    from pathlib import Path

    h = live_app[0]._modellake_handlers
    states = list(h.respond("show the lineage of tiny-bert", [], None))
    first = states[0][0]
    assert first[-1]["metadata"]["title"] == "Working…"  # before the agent's first event
    history = states[-1][0]
    assert all(m.get("metadata", {}).get("id") != "working" for m in history)
    texts = [m["content"] for m in history if m["role"] == "assistant" and not m.get("metadata")
             and isinstance(m["content"], str)]
    assert any("](?model=tiny-bert" in t for t in texts), texts  # names open their page
    pictures = [m["content"] for m in history if isinstance(m["content"], dict)]
    assert pictures and Path(pictures[0]["path"]).is_file()


def test_model_names_become_links_outside_code():
    from modellake.ui.handlers import link_models

    out = link_models("a-int8 is a quantized; see `a` and [b](x).", ["a", "a-int8", "b"])
    assert out == "[a-int8](?model=a-int8) is [a](?model=a) quantized; see `a` and [b](x)."
