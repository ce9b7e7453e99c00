"""``modellake ask`` and ``modellake chat``: the agent from the terminal.

``register(app)`` adds both commands to the CLI's Typer app. Heavy modules (LangChain,
the agent, the chat backends) are imported inside the commands, so ``--help`` stays fast.

* ``ask "QUESTION" [--llm SPEC] [--json] [--thread ID] [--yes]``: one question; with
  ``--json``, ``{"answer", "tool_calls": [{"tool", "args"}], "citations": [...]}``. A change
  to the lake waits for a yes: asked at the terminal, or ``--yes`` up front, or
  ``ask --thread ID yes`` afterwards.
* ``chat [--llm SPEC] [--thread ID]``: a conversation; tool steps shown as they run, the
  answer streamed and rendered as Markdown; ``/new`` starts a new conversation, ``/exit``
  (or Ctrl-D) leaves. Conversations are kept in the lake; ``--thread ID`` resumes one.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import typer

from modellake.ui import common

LlmOpt = typer.Option(None, "--llm", metavar="SPEC",
                      help="Chat backend: builtin (offline, default), openai:MODEL (an "
                           "OpenAI-compatible server with tool calling, e.g. llama.cpp, Ollama, "
                           "vLLM: OPENAI_BASE_URL / OPENAI_API_KEY) or hf:PATH (a local model "
                           "directory or .gguf, run in-process; it must be able to call tools). "
                           "Default: $MODELLAKE_LLM, else builtin.")
ThreadOpt = typer.Option(None, "--thread", metavar="ID",
                         help="Conversation id: continue that conversation (kept in the lake).")
StepsOpt = typer.Option(8, "--max-steps", min=1, help="Most model calls per question.")
EXIT_WORDS = {"/exit", "/quit", "/q", "exit", "quit", ":q"}


def register(app: typer.Typer) -> None:
    """Add ``ask`` and ``chat`` to ``app`` (once)."""
    have = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    if "ask" not in have:
        app.command("ask")(ask)
    if "chat" not in have:
        app.command("chat")(chat)


def _agent(llm: str | None, max_steps: int, confirm: bool = True) -> Any:
    from modellake.agent.loop import Agent
    from modellake.tools.toolspec import Policy

    return Agent(common.State.lake_dir, llm=llm, max_steps=max_steps,
                 policy=Policy(confirm=confirm))


def ask(question: str = typer.Argument(..., help="The question, in your words."),
        llm: str | None = LlmOpt,
        as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
        thread: str | None = ThreadOpt, max_steps: int = StepsOpt,
        yes: bool = typer.Option(False, "--yes", "-y",
                                 help="Make a change you ask for without asking again.")) -> None:
    """Ask the lake a question: the agent answers with its tools and cites the evidence."""

    common.prepare_encoder(show=not as_json)
    with common.waiting("starting the agent"):
        agent = _agent(llm, max_steps, confirm=not yes)
    with agent:
        if as_json:
            final = agent.ask(question, thread)
            common.emit_json(final.to_dict() | ({"thread_id": final.thread_id} if final.pending
                                                else {}))
            return
        console = common.console()
        final = render_turn(console, _after_waiting(agent.stream(question, thread), "thinking"))
        if final is not None and final.pending:
            _settle(console, agent, final.thread_id)


def _settle(console: Any, agent: Any, thread_id: str) -> None:
    """A change waiting for a yes: asked at a terminal; otherwise, how to confirm it later."""
    import sys

    if not (sys.stdin.isatty() and console.is_terminal):
        console.print(f"[dim]Nothing changed yet. To make the change: modellake ask --thread "
                      f"{thread_id} yes (or ask again with --yes).[/]", highlight=False)
        return
    answer = "yes" if typer.confirm("Make this change?", default=False) else "no"
    render_turn(console, agent.stream(answer, thread_id))


def chat(llm: str | None = LlmOpt, thread: str | None = ThreadOpt,
         max_steps: int = StepsOpt) -> None:
    """Chat with the lake in the terminal (/new for a new conversation, /exit to leave)."""
    from modellake.agent.loop import new_thread_id

    console = common.console()
    with _agent(llm, max_steps) as agent:
        thread_id = thread or new_thread_id()
        console.print(f"[bold]modellake chat[/] - lake {common.safe(agent.ctx.lake.root)}, "
                      f"backend {common.safe(agent.backend)}, conversation "
                      f"{common.safe(thread_id)}", highlight=False)
        console.print("[dim]Ask about the models in the lake. /new: new conversation, "
                      "/exit: leave.[/]")
        while True:
            try:
                line = console.input("[bold cyan]you>[/] ").strip()
            except (EOFError, KeyboardInterrupt):
                console.print()
                break
            if not line:
                continue
            if line.lower() in EXIT_WORDS:
                break
            if line == "/new":
                thread_id = new_thread_id()
                console.print(f"[dim]new conversation {common.safe(thread_id)}[/]")
                continue
            if line in ("/help", "/?"):
                console.print("[dim]/new: new conversation; /exit: leave; anything else is a "
                              "question for the agent.[/]")
                continue
            render_turn(console, _after_waiting(agent.stream(line, thread_id), "thinking"),
                        raise_errors=False)


def _after_waiting(events: Iterable[Any], label: str) -> Iterable[Any]:
    """``events``, with a spinner until the first one arrives."""
    spinner = common.waiting(label)
    spinner.__enter__()
    try:
        for i, ev in enumerate(events):
            if i == 0:
                spinner.__exit__(None, None, None)
            yield ev
    finally:
        spinner.__exit__(None, None, None)


def render_turn(console: Any, events: Iterable[Any], raise_errors: bool = True) -> Any:
    """Print one turn as it happens: tool steps, the streamed answer (Markdown), sources."""
    from rich.live import Live
    from rich.markdown import Markdown

    from modellake.agent.errors import AgentFailed
    from modellake.agent.events import AgentError, FinalAnswer, TextDelta, ToolFinished, ToolStarted

    text = ""
    live: Live | None = None
    final = None
    try:
        for ev in events:
            if isinstance(ev, ToolStarted):
                if live is not None:
                    live.stop()
                    live, text = None, ""
                flag = " [yellow](changes the lake)[/]" if ev.mutating else ""
                console.print(f"[dim]-> {common.safe(ev.tool)}({common.safe(_args(ev.args))})[/]"
                              f"{flag}", highlight=False)
            elif isinstance(ev, ToolFinished):
                if not ev.ok:
                    console.print(f"[red]   {common.safe(ev.tool)} failed:[/] "
                                  f"{common.safe(ev.error)}", highlight=False)
            elif isinstance(ev, TextDelta):
                text += ev.text
                if not console.is_terminal:  # piped: print the answer once, when it is complete
                    continue
                if live is None:
                    live = Live(Markdown(_shown(text)), console=console, refresh_per_second=12,
                                vertical_overflow="visible")
                    live.start()
                else:
                    live.update(Markdown(_shown(text)))
            elif isinstance(ev, FinalAnswer):
                final = ev
                if live is None:
                    console.print(Markdown(_shown(ev.answer)))
                else:
                    live.update(Markdown(_shown(ev.answer)))
            elif isinstance(ev, AgentError):
                if live is not None:
                    live.stop()
                    live = None
                if raise_errors:
                    raise AgentFailed(ev.message, ev.kind)
                console.print(f"[red]error:[/] {common.safe(ev.message)}", highlight=False)
    finally:
        if live is not None:
            live.stop()
    if final is not None and final.citations:
        console.print("[dim]sources: " + "; ".join(common.safe(citation_text(c))
                                                  for c in final.citations[:8])
                      + (f"; +{len(final.citations) - 8} more" if len(final.citations) > 8 else "")
                      + "[/]", highlight=False)
    return final


def _shown(text: str) -> str:
    """An answer for the terminal: its lines kept, any other control character made visible."""
    return "\n".join(common.visible(line) for line in text.split("\n"))


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())


def citation_text(c: dict[str, Any]) -> str:
    """One citation in a few words."""
    from modellake.tools.rendering import flow

    kind = c.get("kind")
    if kind == "model":
        return f"{c['name']}" + (f" v{c['version']}" if c.get("version") is not None else "")
    if kind == "card":
        if c.get("fields"):  # lists and mappings in YAML's flow style, never Python reprs
            return f"card of {c['model']} ({', '.join(f'{k}={flow(v)}' for k, v in c['fields'].items())})"
        return f"card of {c['model']}, \"{c.get('section')}\""
    if kind == "edge":
        extra = ", ".join(str(c[k]) for k in ("relation", "confidence") if c.get(k) is not None)
        return f"{c['parent']} -> {c['child']}" + (f" ({extra})" if extra else "")
    if kind == "run":
        about = ", ".join(str(c[k]) for k in ("model", "task", "trust") if c.get(k))
        head = "a result" if c.get("id") is None else f"run #{c['id']}"
        return head + (f" ({about})" if about else "")
    return json.dumps(c, ensure_ascii=False)[:80]
