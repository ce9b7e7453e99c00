"""The web app: the whole lake in a browser (``modellake ui``).

    app = create_app(lake, agent)      # a gr.Blocks; nothing is launched at import
    serve(lake_dir, host="127.0.0.1", port=7860, auth=("user", "pass"), llm="builtin")

Tabs: Chat (the agent, streaming, each tool call a collapsible step, a stop button,
lineage and leaderboard pictures inline, model names linking to their page), Model (a
model's page: card, facts, lineage neighbourhood, results, files, audit; ``?model=NAME``),
Search (a box and filters; results open model pages), Lake, Runs
(every measured and reported run, provenance, leaderboards, compare), Card, Lineage,
Ingest. The chat is also the named API endpoint ``/chat`` (``message``, ``conversation_id``
-> answer text) for ``gradio_client`` and scripts.

What the app may touch is one ``Policy`` (``modellake.tools.toolspec``), enforced by the
tools for the chat and the tabs alike: server paths only inside the allowed folders, changes
to the lake only when people log in (``auth``), and in chat only after the user's "yes".
``serve`` refuses an address other than loopback without a login, and limits what a
request may carry: uploads (``max_file_size``), other request bodies, chat messages.

What each tab does lives in :mod:`modellake.ui.handlers`; this module lays the tabs out.
Only ``ui/`` imports gradio.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from modellake.store.lake import Lake
from modellake.tools.toolspec import MAX_MESSAGE_CHARS, Policy, PolicyError
from modellake.ui.handlers import LINEAGE_UNAVAILABLE, Handlers, card_preview, lineage_api, new_thread
from modellake.ui.model_page import model_tab, search_tab
from modellake.ui.runs_page import runs_tab

DEFAULT_MAX_UPLOAD = 2 * 1024**3  # bytes
MAX_BODY_BYTES = 1 << 20          # any other request body (a chat message is far smaller)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
TABLE_COLUMNS = ["name", "version", "format", "architecture", "parameters", "family", "card"]


def create_app(lake: Lake | str | os.PathLike[str], agent: Any, *,
               allowed_roots: Sequence[str | os.PathLike[str]] | None = None,
               max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
               allow_changes: bool = False) -> gr.Blocks:
    """The Gradio app over ``lake``, chatting with ``agent`` (an ``modellake.agent.Agent``).

    ``allowed_roots``: folders server paths may be ingested from (default: the lake's
    ``staging/`` folder and ``$MODELLAKE_INGEST_ROOTS``, ``os.pathsep``-separated).
    Uploads go to ``LAKE/staging/`` and may be at most ``max_upload_bytes``.
    ``allow_changes``: people may change the lake (ingest, rename, remove, run benchmarks);
    ``serve`` sets it only when they log in. The app's policy is also its agent's.
    """
    lake = lake if isinstance(lake, Lake) else Lake.open(lake)
    staging = lake.root / "staging"
    if allowed_roots is None:
        env = os.environ.get("MODELLAKE_INGEST_ROOTS", "")
        allowed_roots = [staging, *[p for p in env.split(os.pathsep) if p]]
    policy = Policy.web(list(dict.fromkeys([staging, *allowed_roots])), logged_in=allow_changes)
    if getattr(agent, "ctx", None) is not None:
        agent.ctx.policy = policy  # the chat may do what the tabs may, no more
    h = Handlers(lake, agent, policy, staging, max_upload_bytes)
    backend = getattr(agent, "backend", "?")
    names = h.model_names()

    with gr.Blocks(title="modellake") as app:
        gr.Markdown(f"# modellake\nLake: `{lake.root}`" + ("" if policy.may_change else
                    "  \n*Read-only: start the app with `modellake ui --auth USER:PASS` to "
                    "ingest, rename or remove models from the browser.*"))
        thread = gr.State(None)
        with gr.Tabs() as tabs:
            thread = _chat_tab(h, thread, backend, h.example_questions())
            page = model_tab(h, names)
            search_tab(h, page, tabs)
            table, pick, insp_md, card_md, filt, refresh = _lake_tab(h, names)
            runs = runs_tab(h, names)
            card_model = _card_tab(h, names)
            focus = _lineage_tab(h, names)
            _ingest_tab(h, staging, max_upload_bytes)
        page.wire(app, tabs)  # ?model=NAME opens that model's page (links in chat and pages)
        app.load(lambda: new_thread(), None, thread, api_visibility="private")
        pickers = [pick, runs.model_a, runs.model_b, card_model, focus, page.pick]
        app.load(h.refresh_all, None, [table, *pickers], api_visibility="private")
        refresh.click(h.refresh_all, filt, [table, *pickers], api_visibility="private")
        app.load(h.show_model, pick, [insp_md, card_md], api_visibility="private")
    app._modellake_handlers = h  # for tests
    return app


def serve(lake_dir: str | os.PathLike[str] | None, host: str = "127.0.0.1", port: int = 7860,
          auth: tuple[str, str] | str | None = None, llm: str | None = None, *,
          block: bool = True, allowed_roots: Sequence[str] | None = None,
          max_upload_bytes: int = DEFAULT_MAX_UPLOAD):
    """Open the lake, start the agent and serve the app (loopback by default, never shared).

    Off loopback a login is required; with one, logged-in people may change the lake."""
    from starlette.middleware import Middleware

    from modellake.agent import Agent

    auth = checked_auth(host, auth)
    lake = Lake.open(lake_dir)
    agent = Agent(lake, llm=llm)
    app = create_app(lake, agent, allowed_roots=allowed_roots, allow_changes=auth is not None,
                     max_upload_bytes=max_upload_bytes)
    app.queue(default_concurrency_limit=4)
    limit = Middleware(BodyLimit, limit=MAX_BODY_BYTES, upload_limit=max_upload_bytes + (1 << 20))
    app.launch(server_name=host, server_port=port, auth=auth, share=False,
               prevent_thread_lock=not block, quiet=not block, max_file_size=max_upload_bytes,
               app_kwargs={"middleware": [limit]})
    return app


def checked_auth(host: str, auth: tuple[str, str] | str | None) -> tuple[str, str] | None:
    """The login to require; ``PolicyError`` when serving off loopback without one."""
    auth = parse_auth(auth)
    if host not in LOOPBACK and auth is None:
        raise PolicyError(f"refusing to serve on {host} without a login: anyone who reaches it "
                          "could read and change the lake; add --auth USER:PASS (or set "
                          "MODELLAKE_UI_AUTH), or serve on 127.0.0.1")
    return auth


def parse_auth(auth: tuple[str, str] | str | None) -> tuple[str, str] | None:
    """``USER:PASS`` (or a pair) as a pair; ``$MODELLAKE_UI_AUTH`` when none is given."""
    auth = auth if auth is not None else os.environ.get("MODELLAKE_UI_AUTH") or None
    if isinstance(auth, str):
        user, sep, pw = auth.partition(":")
        if not sep or not user.strip() or not pw:
            raise PolicyError("--auth must be USER:PASS, with a user name and a password")
        return user, pw
    return auth


class BodyLimit:
    """ASGI middleware: a request body over its limit is refused (413) before the app reads
    it; uploads (``.../upload``) have their own, larger limit."""

    def __init__(self, app: Any, limit: int, upload_limit: int) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        most = self.upload_limit if scope.get("path", "").rstrip("/").endswith("/upload") \
            else self.limit
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > most:
            return await _too_large(send, most)
        seen = 0

        async def bounded() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > most:  # a chunked body that outgrew the limit: end it here
                return {"type": "http.disconnect"}
            return message

        return await self.app(scope, bounded, send)


async def _too_large(send: Any, most: int) -> None:
    body = (f'{{"error": "request body over the limit of {most:,} bytes"}}').encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _chat_tab(h: Handlers, thread: Any, backend: str, examples: list[str]):
    with gr.Tab("Chat", id="chat"):
        gr.Markdown(f"Backend: **{backend}**", elem_id="backend")
        chatbot = gr.Chatbot(label="Ask the lake", height=480, elem_id="chatbot")
        with gr.Row():
            box = gr.Textbox(placeholder="Ask about the models in the lake…", scale=5,
                             show_label=False, elem_id="question", max_length=MAX_MESSAGE_CHARS)
            send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
            stop = gr.Button("Stop", variant="stop", scale=1, elem_id="stop")
        gr.Examples(examples, inputs=box, label="Example questions")
        new = gr.Button("New conversation", size="sm")
        runs = [trigger(h.respond, [box, chatbot, thread], [chatbot, thread, box],
                        api_visibility="private") for trigger in (box.submit, send.click)]
        stop.click(None, None, None, cancels=runs, api_visibility="private")
        new.click(lambda: ([], new_thread()), None, [chatbot, thread],
                  api_visibility="private")
        gr.api(h.chat_api, api_name="chat")
    return thread


def _lake_tab(h: Handlers, names: list[str]):
    with gr.Tab("Lake", id="lake"):
        with gr.Row():
            filt = gr.Textbox(label="Filter", placeholder="name, format, architecture…", scale=4,
                              elem_id="lake-filter")
            refresh = gr.Button("Refresh", scale=1)
        table = gr.Dataframe(headers=TABLE_COLUMNS, value=h.models_table(),
                             interactive=False, label="Models (click a row for its details; sort "
                             "a column with its ⋮ menu)", elem_id="models")
        pick = gr.Dropdown(names, label="Model", allow_custom_value=True, elem_id="lake-pick")
        with gr.Row():
            insp_md = gr.Markdown(elem_id="lake-details")
            card_md = gr.Markdown()
        refresh.click(h.lake_table, filt, [table, pick], api_name="models")
        filt.submit(h.lake_table, filt, [table, pick], api_visibility="private")
        table.select(h.select_row, table, [pick, insp_md, card_md], api_visibility="private")
        pick.change(h.show_model, pick, [insp_md, card_md], api_name="show")
    return table, pick, insp_md, card_md, filt, refresh


def _card_tab(h: Handlers, names: list[str]):
    with gr.Tab("Card", id="card"):
        with gr.Row():
            card_model = gr.Dropdown(names, label="Model", allow_custom_value=True,
                                     elem_id="card-model")
            draft_btn = gr.Button("Draft card")
            audit_btn = gr.Button("Audit")
            dl_btn = gr.Button("Download README.md")
        card_note = gr.Markdown()
        findings = gr.Markdown(elem_id="card-findings")  # next to its button, not below the card
        with gr.Row():
            card_text = gr.Code(language="markdown", label="README.md (editable)",
                                interactive=True, lines=24, max_lines=24, scale=1,
                                elem_id="card-editor")
            with gr.Column(scale=1):
                preview = gr.Markdown(label="Preview", elem_id="card-preview", height=560)
        dl_file = gr.File(label="README.md", visible=False)  # shown once there is one to download
        draft_btn.click(h.draft, card_model, [card_text, card_note], api_name="draft_card")
        audit_btn.click(h.audit_editor, [card_model, card_text], [findings, card_text, preview],
                        api_visibility="private")
        gr.api(h.audit, api_name="audit_card")
        card_text.change(card_preview, card_text, preview, api_visibility="private")
        dl_btn.click(lambda text: gr.File(value=(p := h.download(text)), visible=p is not None),
                     card_text, dl_file, api_visibility="private")
    return card_model


def _lineage_tab(h: Handlers, names: list[str]):
    with gr.Tab("Lineage", id="lineage", elem_id="lineage-tab") as lin_tab:
        available = lineage_api() is not None
        with gr.Row():
            focus = gr.Dropdown(["", *names], label="Focus on a model's family (empty: all)",
                                allow_custom_value=True)
            draw_btn = gr.Button("Draw")
        lin_note = gr.Markdown("" if available else LINEAGE_UNAVAILABLE, elem_id="lineage-note")
        lin_img = gr.Image(label="Version graph", type="filepath", elem_id="lineage-graph")
        lin_edges = gr.Dataframe(headers=["parent", "child", "relation", "confidence", "source"],
                                 interactive=False)
        draw_btn.click(h.draw_lineage, focus, [lin_img, lin_edges, lin_note], api_name="lineage")
        focus.change(h.draw_lineage, focus, [lin_img, lin_edges, lin_note],
                     api_visibility="private")
        lin_tab.select(h.draw_lineage, focus, [lin_img, lin_edges, lin_note],
                       api_visibility="private")  # drawn when opened, not on a button
    return focus


def _ingest_tab(h: Handlers, staging: Path, max_upload_bytes: int):
    with gr.Tab("Ingest", id="ingest"):
        roots = ", ".join(f"`{r}`" for r in h.policy.roots or ())
        gr.Markdown((f"Server paths must be inside: {roots} (more with `modellake ui "
                     f"--ingest-root DIR`). Uploads (at most {max_upload_bytes / 2**30:.1f} GiB) "
                     f"are staged in `{staging}`.") if h.policy.may_change else
                    f"⚠️ Ingesting is off: {h.policy.why_read_only}.")
        may = h.policy.may_change  # read-only: shown, but nothing to fill in or press
        ing_name = gr.Textbox(label="Name (optional, for a single model)", interactive=may,
                              elem_id="ingest-name")
        with gr.Row():
            ing_path = gr.Textbox(label="Path on the server", scale=4, interactive=may)
            ing_btn = gr.Button("Ingest path", scale=1, interactive=may)
        with gr.Row():
            upload = gr.File(label="Or upload a model file", type="filepath", interactive=may)
            folder = gr.File(label="…or a model folder (config, weights, card)", type="filepath",
                             file_count="directory", interactive=may, elem_id="ingest-folder")
        up_btn = gr.Button("Ingest upload", interactive=may)
        ing_out = gr.Markdown(elem_id="ingest-result")
        ing_btn.click(h.ingest_path, [ing_path, ing_name], ing_out, api_name="ingest_path")
        up_btn.click(lambda f, d, n, progress=gr.Progress(): h.ingest_upload(d or f, n, progress),
                     [upload, folder, ing_name], ing_out, api_visibility="private")
