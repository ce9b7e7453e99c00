"""``ingest``, ``list``, ``show``, ``rm``, ``rename``, ``card``, ``demo``: the models in the lake."""
from __future__ import annotations

import sys
from pathlib import Path

import typer

from modellake.ui import common
from modellake.ui.common import JsonOpt


def ingest(paths: list[Path] = typer.Argument(None, help="Model files, model directories or trees.",
                                              parser=common.path_value),
           name: str | None = typer.Option(None, "--name", help="Name for the (single) model.",
                                           parser=common.name_value),
           hf_cache: bool = typer.Option(False, "--hf-cache", help="Also ingest the local Hugging Face cache."),
           ray: str | None = typer.Option(
               None, "--ray", metavar="ADDRESS",
               help="Read and store the models as tasks on a Ray cluster: auto (the running one), "
                    "local (this machine), or HOST:PORT. Several machines need --catalog postgresql://..."),
           as_json: bool = JsonOpt) -> None:
    """Add models to the lake (re-ingesting unchanged files does nothing)."""
    from modellake.tools.ingest import ingest as run_ingest

    if not paths and not hf_cache:
        raise typer.BadParameter("give at least one PATH, or --hf-cache")
    common.prepare_encoder(show=not as_json)  # the new cards are indexed for search
    with common.open_catalog() as catalog, common.Bars(enabled=None if not as_json else False) as bars:
        report = run_ingest(catalog, paths or [], name=name, hf_cache=hf_cache,
                            on_progress=bars.file, on_index_progress=bars, ray=ray)
    if as_json:
        common.emit_json(report.to_dict())
    else:
        _print_ingest(report)
    if catalog.storage_error is not None:  # the lake refused writes: say why, once, on stderr
        raise catalog.storage_error
    if report.errors:
        raise typer.Exit(1)


def _print_ingest(report) -> None:
    from modellake.tools.model_facts import count_text as human_count

    safe = common.safe
    for m in report.models:
        if m.has_weights:
            what = (f"{safe(m.format)}, {safe(m.architecture or 'unknown architecture')}, "
                    f"{human_count(m.num_parameters)} params")
        else:
            what = "a card, no weights"
        common.say(f"[green]added[/] {safe(m.name)} (v{m.version}, {what})", highlight=False)
    for m in report.unchanged:
        common.say(f"[dim]unchanged[/] {safe(m.name)} (v{m.version})", highlight=False)
    for e in report.errors:
        common.say(f"[red]failed[/] {safe(e.error)}", highlight=False)
    common.say(f"{len(report.models)} added, {len(report.unchanged)} unchanged, "
               f"{len(report.errors)} failed")
    if report.index is not None:
        common.say(f"[dim]{safe(report.index.describe())}[/]")


def list_models(all_versions: bool = typer.Option(False, "--all-versions", help="Include older versions."),
                as_json: bool = JsonOpt) -> None:
    """List the models in the lake."""
    with common.open_catalog() as catalog:
        models = catalog.list_models(all_versions=all_versions)
    if as_json:
        common.emit_json({"models": [m.brief() for m in models]})
        return
    common.console().print(models_table(models))


def models_table(models):
    from rich.table import Table

    from modellake.tools.model_facts import count_text as human_count

    table = Table(title=f"{len(models)} models", title_justify="left")
    for col in ("name", "ver", "format", "architecture", "params", "card"):
        table.add_column(col, justify="right" if col in ("ver", "params") else "left")
    for m in models:
        table.add_row(common.plain(m.name), str(m.version), common.plain(m.format),
                      common.plain(m.architecture or "-"), human_count(m.num_parameters),
                      "yes" if m.has_card else "-")
    return table


def show(name: str = typer.Argument(..., help="Model name, or NAME@VERSION.",
                                    parser=common.spec_value),
         as_json: bool = JsonOpt) -> None:
    """Inspect a model: architecture, parameters by module, dtypes, sparsity, outliers, card."""
    from modellake.tools.inspection import inspect_model
    from modellake.tools.lake_tools import made_from

    with common.open_catalog() as catalog:
        insp = inspect_model(catalog, name)
        made = made_from(catalog, insp.name) if insp.weights_in_lake else []
    if as_json:
        common.emit_json(insp.to_dict() | ({"derived_from": made} if made else {}))
        return
    from modellake.ui.show import render_inspection

    common.console().print(render_inspection(insp, made))


def rm(name: str = typer.Argument(..., help="Model name (all versions) or NAME@VERSION.",
                                  parser=common.spec_value),
       as_json: bool = JsonOpt) -> None:
    """Remove a model from the lake (its files on disk are not touched)."""
    with common.open_catalog() as catalog:
        n = catalog.remove(name)
    if as_json:
        common.emit_json({"removed": name, "versions": n})
    else:
        common.say(f"removed {common.safe(name)} ({n} version{'s' if n != 1 else ''})")


def rename(old: str = typer.Argument(..., parser=common.spec_value),
           new: str = typer.Argument(..., parser=common.name_value),
           as_json: bool = JsonOpt) -> None:
    """Rename a model (all its versions)."""
    with common.open_catalog() as catalog:
        catalog.rename(old, new)
    if as_json:
        common.emit_json({"renamed": old, "to": new})
    else:
        common.say(f"renamed {common.safe(old)} -> {common.safe(new)}")


def card(name: str = typer.Argument(..., help="Model name, or NAME@VERSION.",
                                    parser=common.spec_value),
         out: Path | None = typer.Option(None, "--out", parser=common.path_value,
                                         help="Write the drafted card here (a README.md)."),
         check: bool = typer.Option(False, "--check", help="Audit the model's existing card instead."),
         repo_id: str | None = typer.Option(None, "--repo-id", parser=common.text_value,
                                            help="Hub id to use in the usage snippet."),
         as_json: bool = JsonOpt) -> None:
    """Draft a model card from the lake's evidence, or audit the existing one (--check)."""
    from modellake.tools.cards import check_card, draft_card, write_card
    from modellake.tools.lineage import lineage

    with common.open_catalog() as catalog, common.Bars(enabled=False if as_json else None) as bars:
        lineage(catalog, on_progress=bars)  # the card cites the lineage: solve what changed first
        result = check_card(catalog, name) if check else draft_card(catalog, name, repo_id=repo_id)
    if as_json:
        common.emit_json(result.to_dict())
    elif check:
        _print_audit(result)
    elif out is not None:
        path = write_card(result, out)
        common.say(f"wrote {common.safe(path)} (completeness {result.overall:.0%}, "
                   f"{len(result.missing)} items need more information)")
    else:
        sys.stdout.write(result.markdown if result.markdown.endswith("\n") else result.markdown + "\n")
    if out is not None and as_json:
        write_card(result, out)


def _print_audit(audit) -> None:
    colours = {"error": "red", "warning": "yellow", "info": "dim"}
    for f in audit.findings:
        common.say(f"[{colours.get(f.severity, 'white')}]{common.safe(f'{f.severity:<7}')}[/] "
                   f"{common.safe(f'{f.kind:<16}')} {common.safe(f.message)}", highlight=False)
    counts = ", ".join(f"{n} {k}" for k, n in audit.counts.items())
    common.say(f"{common.safe(audit.model)}: {common.safe(counts or 'no findings')}; "
               f"card completeness {audit.overall:.0%}")


def demo(target: Path | None = typer.Option(None, "--models-dir", parser=common.path_value,
                                           help="Where to build the demo models "
                                           "(default: LAKE/demo-models)."),
         steps: int = typer.Option(60, parser=common.count_value(1, 100_000),
                                   help="Fine-tuning steps per derived model."),
         run_bench: bool = typer.Option(True, "--bench/--no-bench", help="Measure the built-in "
                                        "smoke tasks on the demo encoders that have no run yet."),
         as_json: bool = JsonOpt) -> None:
    """Build the demo lake: real MiniLM, Gemma 3 and SmolLM2, plus versions derived here."""
    from modellake.store.lake import Lake
    from modellake.tools.demo.build import bench_demo_lake, build_demo_models
    from modellake.tools.ingest import ingest as run_ingest

    lake = Lake.open(common.State.lake_dir)
    out = (target or lake.root / "demo-models").resolve()  # sources that work from any folder
    say = (lambda msg: None) if as_json else (lambda msg: common.say(f"[dim]{common.safe(msg)}[/]"))
    models = build_demo_models(out, steps=steps, progress=say)
    with lake.catalog() as catalog:
        reports = [run_ingest(catalog, [m.path], name=m.name) for m in models]
        measured = None
        if run_bench:
            say("benchmarking the demo encoders on the built-in smoke tasks ...")
            measured = bench_demo_lake(catalog, models, lake.root)
        listed = catalog.list_models()
    errors = [e.to_dict() for r in reports for e in r.errors]
    errors += [{"path": f"{e.model} / {e.task}", "error": e.error}
               for e in (measured.errors if measured else [])]
    if as_json:
        common.emit_json({"lake": str(lake.root), "models": [m.brief() for m in listed], "errors": errors,
                    "runs": [r.brief() for r in measured.runs] if measured else []})
    else:
        common.say(f"demo lake at {common.safe(lake.root)}")
        common.console().print(models_table(listed))
        if measured and measured.runs:
            common.say(f"measured {len(measured.runs)} benchmark runs in {measured.duration_s:.1f}"
                       " s (see `modellake leaderboard --task sts-smoke`)")
        for e in errors:
            common.say(f"[red]failed[/] {common.safe(e['error'])}", highlight=False)
    if errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the commands about the lake's models to the CLI."""
    app.command()(ingest)
    app.command("list")(list_models)
    app.command()(show)
    app.command()(rm)
    app.command()(rename)
    app.command()(card)
    app.command()(demo)
