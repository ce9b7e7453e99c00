"""``modellake ui``: serve the web app (``modellake.ui.app``) on the lake.

``register(app)`` adds the command to the CLI's Typer app; gradio and the agent are
imported inside the command, so ``modellake --help`` stays fast.
"""
from __future__ import annotations

import typer

from modellake.ui import common


def ui(host: str = typer.Option("127.0.0.1", "--host",
                                help="Address to bind (loopback by default; 0.0.0.0 exposes it)."),
       port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to serve on."),
       auth: str | None = typer.Option(None, "--auth", metavar="USER:PASS",
                                       help="Require this login; logged-in people may change the "
                                       "lake (needed off loopback; or $MODELLAKE_UI_AUTH)."),
       llm: str | None = typer.Option(None, "--llm", metavar="SPEC",
                                         help="Chat backend: builtin (default), openai:MODEL or hf:PATH."),
       ingest_root: list[str] | None = typer.Option(
           None, "--ingest-root", metavar="DIR",
           help="A folder the web UI may ingest server paths from (repeatable; default: "
                "LAKE/staging and $MODELLAKE_INGEST_ROOTS).")) -> None:
    """Serve the web app (chat, lake, benchmarks, cards, lineage, ingest) in a browser."""
    from modellake.ui.app import checked_auth, serve

    login = checked_auth(host, auth)
    roots = None
    if ingest_root:
        from modellake.store.lake import Lake

        roots = [str(Lake.open(common.State.lake_dir).root / "staging"), *ingest_root]
    typer.echo(f"modellake ui: serving on http://{host}:{port}/ (Ctrl-C to stop)"
               + ("" if login else "; read-only: add --auth USER:PASS to change the lake from "
                  "the browser"), err=True)
    serve(common.State.lake_dir, host=host, port=port, auth=login, llm=llm, allowed_roots=roots)


def register(app: typer.Typer) -> None:
    """Add ``ui`` to ``app`` (once)."""
    have = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    if "ui" not in have:
        app.command("ui")(ui)
