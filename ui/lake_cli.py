"""``lineage``, ``diff``, ``search``, ``similar``, ``reindex``: attribution and search commands."""
from __future__ import annotations

from pathlib import Path

import typer

from modellake.ui import common
from modellake.ui.common import JsonOpt

WaitOpt = typer.Option(False, "--wait", help="First index models the search index does not cover "
                       "yet (progress on the terminal); without it they are left out, with a note.")


def lineage_cmd(name: str | None = typer.Argument(None, help="Only the family of this model."),
                audit: bool = typer.Option(False, "--audit", help="Declared-vs-inferred conflicts."),
                graph: Path | None = typer.Option(None, "--graph", help="Draw the graph (.png/.svg)."),
                refresh: bool = typer.Option(False, "--refresh", help="Solve again from scratch."),
                as_json: bool = JsonOpt) -> None:
    """The version graph inferred from the weights: edges, roots, families, conflicts."""
    from modellake.tools import lineage as lib

    with common.open_catalog() as catalog, common.Bars(enabled=False if as_json else None) as bars:
        g = lib.lineage(catalog, name, refresh=refresh, on_progress=bars)  # solves what changed
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
    console = common.console()
    console.print(f"roots: {', '.join(g.roots) or '-'}")
    for e in g.edges:
        ev = e.evidence or {}
        nums = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in list(ev.items())[:3] if not isinstance(v, (dict, list)))
        console.print(f"{e.parent} -> {e.child}  [bold]{e.relation}[/] ({e.confidence:.2f})"
                      f"{'  ' + nums if nums else ''}", highlight=False)
    for c in g.conflicts:
        console.print(f"[yellow]conflict[/] {c.message if hasattr(c, 'message') else c}",
                      highlight=False)
    if graph is not None:
        console.print(f"graph written to {graph}")


def _print_audit(report) -> None:
    console = common.console()
    for a in report.agreements:
        console.print(f"[green]agrees[/]   {a}", highlight=False)
    for c in report.conflicts:
        console.print(f"[red]conflict[/] {c.model}: {c.message}", highlight=False)
    for u in report.undocumented:
        console.print(f"[dim]undocumented[/] {u}", highlight=False)


def diff_cmd(a: str = typer.Argument(...), b: str = typer.Argument(...),
             as_json: bool = JsonOpt) -> None:
    """Which tensors are identical and which changed between two models, and a verdict."""
    from modellake.tools.lineage import diff

    with common.open_catalog() as catalog:
        d = diff(catalog, a, b)
    if as_json:
        common.emit_json(d.to_dict())
        return
    console = common.console()
    console.print(f"[bold]{d.verdict}[/]")
    console.print(f"{d.identical} identical, {d.changed} changed, {d.only_in_a} only in {a}, "
                  f"{d.only_in_b} only in {b}")


def search_cmd(query: str = typer.Argument(..., help="What you need, in words."),
               k: int = typer.Option(10, "-k", help="How many models."),
               task: str | None = typer.Option(None, "--task"),
               license: str | None = typer.Option(None, "--license"),  # noqa: A002
               max_params: str | None = typer.Option(None, "--max-params", help="e.g. 50M, 7B."),
               format: str | None = typer.Option(None, "--format", help="gguf, safetensors, adapter..."),  # noqa: A002
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
    console = common.console()
    if res.note:
        common.console(stderr=True).print(f"[yellow]note:[/] {res.note}", highlight=False)
    if not res.hits:
        console.print("no model matches")
    for i, h in enumerate(res.hits, 1):
        console.print(f"{i:>2}. [bold]{h.name}[/]  {h.score:.3f}", highlight=False)
        for w in h.why[:2]:
            text = w.get("text") or w.get("passage") or "; ".join(
                f"{k}: {v}" for k, v in w.items() if k != "kind")
            console.print(f"      [dim]{w.get('kind', '')}: {str(text)[:150]}[/]", highlight=False)


def similar_cmd(name: str = typer.Argument(...), k: int = typer.Option(10, "-k"),
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
    common.emit_json(rep.to_dict()) if as_json else common.console().print(rep.describe())


def register(app: typer.Typer) -> None:
    """Add the lineage and search commands to the CLI."""
    app.command("lineage")(lineage_cmd)
    app.command("diff")(diff_cmd)
    app.command("search")(search_cmd)
    app.command("similar")(similar_cmd)
    app.command("reindex")(reindex_cmd)
