"""``lineage``, ``diff``, ``search``, ``similar``, ``reindex``: attribution and search commands."""
from __future__ import annotations

from pathlib import Path

import typer

from modellake.ui import common
from modellake.ui.common import JsonOpt

KOpt = typer.Option(10, "-k", parser=common.count_value(1, 10_000), help="How many models.")
WaitOpt = typer.Option(False, "--wait", help="First index models the search index does not cover "
                       "yet (progress on the terminal); without it they are left out, with a note.")


def lineage_cmd(name: str | None = typer.Argument(None, help="Only the family of this model.",
                                                  parser=common.spec_value),
                audit: bool = typer.Option(False, "--audit", help="Declared-vs-inferred conflicts."),
                graph: Path | None = typer.Option(None, "--graph", parser=common.path_value,
                                                  help="Draw the graph (.png/.svg)."),
                refresh: bool = typer.Option(False, "--refresh", help="Solve again from scratch."),
                ray: str | None = typer.Option(
                    None, "--ray", metavar="ADDRESS",
                    help="Compare weights as tasks on a Ray cluster: auto (the running one), local "
                         "(this machine), or HOST:PORT. Several machines need --catalog postgresql://..."),
                as_json: bool = JsonOpt) -> None:
    """The version graph inferred from the weights: edges, roots, families, conflicts."""
    from modellake.tools import lineage as lib

    with common.open_catalog() as catalog, common.Bars(enabled=False if as_json else None) as bars:
        g = lib.lineage(catalog, name, refresh=refresh, on_progress=bars, ray=ray)  # solves what changed
        if audit:
            report = lib.audit(catalog)
            common.emit_json(report.to_dict()) if as_json else _print_audit(report)
            return
    if graph is not None:
        from modellake.tools.lineage import draw_graph

        draw_graph(g, graph)
    if as_json:
        common.emit_json(g.to_dict())
    else:
        _print_graph(g, graph)


def _print_graph(g, graph: Path | None) -> None:
    safe = common.safe
    if not g.roots and not g.edges:  # a lake of cards alone: no weights to infer a graph from
        common.say("no model in the lake has weights to infer lineage from; `modellake lineage --audit` "
                   "lists the base models their cards declare")
        return
    common.say(f"roots: {safe(', '.join(g.roots) or '-')}")
    for e in g.edges:
        ev = e.evidence or {}
        nums = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in list(ev.items())[:3] if not isinstance(v, (dict, list)))
        cue = ev.get("direction_cue")  # across layouts: what changed, in words
        layout = f"  ({safe(cue)})" if ev.get("layout") and isinstance(cue, str) and cue else ""
        common.say(f"{safe(e.parent)} -> {safe(e.child)}  [bold]{safe(e.relation)}[/] "
                   f"({e.confidence:.2f}){'  ' + safe(nums) if nums else ''}{layout}", highlight=False)
    for model, note in g.notes.items():
        if model in g.roots:
            common.say(f"{safe(model)} has no parent in the lake: {safe(note)}", highlight=False)
    for c in g.conflicts:
        common.say(f"[yellow]conflict[/] {safe(c.message if hasattr(c, 'message') else c)}",
                   highlight=False)
    if graph is not None:
        common.say(f"graph written to {safe(graph)}")


def _print_audit(report) -> None:
    """The audit in its own words: a lead sentence, then one sentence per model."""
    console = common.console()
    for line in report.text().splitlines():
        style = {"Conflicts:": "bold red", "Agreements:": "bold green"}.get(line, "")
        console.print(common.plain(line, style or ("bold" if line.endswith(":") else "")),
                      highlight=False, soft_wrap=not console.is_terminal)


def diff_cmd(a: str = typer.Argument(..., parser=common.spec_value),
             b: str = typer.Argument(..., parser=common.spec_value),
             as_json: bool = JsonOpt) -> None:
    """Which tensors are identical and which changed between two models, and a verdict."""
    from modellake.tools.lineage import diff

    with common.open_catalog() as catalog:
        d = diff(catalog, a, b)
    if as_json:
        common.emit_json(d.to_dict())
        return
    common.say(f"[bold]{common.safe(d.verdict)}[/]")
    common.say(f"{d.identical} identical, {d.changed} changed, {d.only_in_a} only in "
               f"{common.safe(a)}, {d.only_in_b} only in {common.safe(b)}")


def search_cmd(query: str = typer.Argument(..., help="What you need, in words.",
                                           parser=common.text_value),
               k: int = KOpt,
               task: str | None = typer.Option(None, "--task", parser=common.text_value),
               license: str | None = typer.Option(None, "--license",  # noqa: A002
                                                  parser=common.text_value),
               max_params: str | None = typer.Option(None, "--max-params", help="e.g. 50M, 7B.",
                                                     parser=common.text_value),
               format: str | None = typer.Option(None, "--format",  # noqa: A002
                                                 help="gguf, safetensors, adapter...",
                                                 parser=common.text_value),
               wait: bool = WaitOpt, as_json: bool = JsonOpt) -> None:
    """Find models by need, constraints, lineage and results; each hit says why."""
    from modellake.tools.search import search

    common.prepare_encoder(show=not as_json)
    with common.open_catalog() as catalog, common.Bars(enabled=False if as_json else None) as bars:
        res = search(catalog, query, k, task=task, license=license, max_params=max_params,
                     format=format, wait=wait, progress=bars)
    if as_json:
        common.emit_json(res.to_dict())
    else:
        _print_hits(res)


def _print_hits(res) -> None:
    safe = common.safe
    if res.note:
        common.say(f"[yellow]note:[/] {safe(res.note)}", stderr=True, highlight=False)
    if not res.hits:
        common.say("no model matches")
    for i, h in enumerate(res.hits, 1):
        common.say(f"{i:>2}. [bold]{safe(h.name)}[/]  {h.score:.3f}", highlight=False)
        for text in h.reasons():  # the reasons in words, the strongest first
            common.say(f"      [dim]{safe(text[:150])}[/]", highlight=False)


def similar_cmd(name: str = typer.Argument(..., parser=common.spec_value), k: int = KOpt,
                wait: bool = WaitOpt, as_json: bool = JsonOpt) -> None:
    """Models nearest to NAME by weight sketch (its family), or by card when it has no weights."""
    from modellake.tools.search import similar

    with common.open_catalog() as catalog:
        res = similar(catalog, name, k, wait=wait)
    common.emit_json(res.to_dict()) if as_json else _print_hits(res)


def reindex_cmd(as_json: bool = JsonOpt) -> None:
    """Rebuild the search index from the catalog (progress on the terminal)."""
    from modellake.tools.search import reindex

    common.prepare_encoder(show=not as_json)
    with common.open_catalog() as catalog, common.Bars(enabled=False if as_json else None) as bars:
        rep = reindex(catalog, progress=bars)
    common.emit_json(rep.to_dict()) if as_json else common.say(common.safe(rep.describe()))


def register(app: typer.Typer) -> None:
    """Add the lineage and search commands to the CLI."""
    app.command("lineage")(lineage_cmd)
    app.command("diff")(diff_cmd)
    app.command("search")(search_cmd)
    app.command("similar")(similar_cmd)
    app.command("reindex")(reindex_cmd)
