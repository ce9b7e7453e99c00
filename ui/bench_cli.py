"""``bench``, ``runs``, ``leaderboard``, ``compare``, ``behaves-like``, ``import-results``."""
from __future__ import annotations

from pathlib import Path

import typer

from modellake.ui import common
from modellake.ui.common import JsonOpt

TrustOpt = typer.Option("measured", "--trust", help="measured, reported or all.")



def _fmt(v) -> str:
    return "-" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))


def _print_runs(runs, title: str) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("id", "model", "task", "trust", "metrics", "when"):
        table.add_column(col)
    for r in runs:
        metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in list(r.metrics.items())[:4])
        table.add_row(str(r.id), r.model, r.task, r.trust, metrics, (r.created_at or "")[:19])
    common.console().print(table)


def bench_cmd(models: list[str] = typer.Argument(None, help="Models to evaluate."),
              task: list[str] = typer.Option(None, "--task", "-t", help="Task name or YAML path (repeatable)."),
              list_tasks: bool = typer.Option(False, "--list-tasks", help="List the tasks and exit."),
              repeats: int = typer.Option(1, help="Runs per model and task (for run-to-run spread)."),
              seed: int = typer.Option(0, help="Random seed."),
              engine: str = typer.Option("auto", "--engine", help="auto: BERT encoders use the "
                                         "padding-free forward once it matches transformers; "
                                         "transformers: always transformers."),
              as_json: bool = JsonOpt) -> None:
    """Evaluate models on tasks; every run is stored with its provenance."""
    from modellake.tools import bench as lib

    with common.open_catalog() as catalog:
        if list_tasks:
            result = lib.list_tasks(catalog)
            if as_json:
                common.emit_json(result.to_dict())
            else:
                for t in result.tasks:
                    common.console().print(f"[bold]{t.name}[/] ({t.kind}) {t.description}",
                                         highlight=False)
            return
        if not models or not task:
            raise typer.BadParameter("give MODEL... and --task T (or --list-tasks)")
        if engine not in ("auto", "transformers"):
            raise typer.BadParameter(f"--engine must be auto or transformers, not {engine!r}")
        report = _run_bench(lib, catalog, models, task, seed, repeats, as_json, engine)
    if as_json:
        common.emit_json(report.to_dict())
    else:
        _print_runs(report.runs, f"{len(report.runs)} runs in {report.duration_s:.1f}s")
        for e in report.errors:
            common.console().print(f"[red]failed[/] {e['model']} on {e['task']}: {e['error']}",
                                 highlight=False)
    if report.errors:
        raise typer.Exit(1)


def _run_bench(lib, catalog, models, tasks, seed, repeats, quiet, engine):
    import sys

    if quiet or not sys.stderr.isatty():
        return lib.bench(catalog, models, tasks, seed=seed, repeats=repeats, engine=engine)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("[bold]bench"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), transient=True) as bar:
        tid = bar.add_task("", total=None)

        def on_progress(label: str, done: int, total: int) -> None:
            bar.update(tid, completed=done, total=total, description=label)

        return lib.bench(catalog, models, tasks, seed=seed, repeats=repeats, engine=engine,
                         on_progress=on_progress)


def runs_cmd(model: str | None = typer.Option(None, "--model", "-m"),
             task: str | None = typer.Option(None, "--task", "-t"),
             trust: str = typer.Option("all", "--trust", help="measured, reported or all."),
             as_json: bool = JsonOpt) -> None:
    """List stored benchmark runs."""
    from modellake.tools import bench as lib

    with common.open_catalog() as catalog:
        result = lib.list_runs(catalog, model=model, task=task, trust=trust)
    if as_json:
        common.emit_json(result.to_dict())
    else:
        _print_runs(result.runs, f"{len(result.runs)} runs")


def leaderboard_cmd(task: str = typer.Option(..., "--task", "-t"),
                    metric: str | None = typer.Option(None, "--metric"),
                    trust: str = TrustOpt,
                    plot: Path | None = typer.Option(None, "--plot", help="Bar chart (PNG/SVG)."),
                    as_json: bool = JsonOpt) -> None:
    """Rank models on a task (measured runs unless --trust says otherwise)."""
    from modellake.tools import bench as lib

    with common.open_catalog() as catalog:
        board = lib.leaderboard(catalog, task, metric=metric, trust=trust, plot=plot)
    if as_json:
        common.emit_json(board.to_dict())
        return
    from rich.table import Table

    table = Table(title=f"{board.task}: {board.metric} ({board.trust})", title_justify="left")
    for col in ("rank", "model", "value", "std", "runs", "trust"):
        table.add_column(col)
    for e in board.entries:
        table.add_row(str(e.rank), e.model, _fmt(e.value), _fmt(e.std), str(e.n_runs), e.trust)
    common.console().print(table)
    for note in board.notes:
        common.console().print(f"[dim]{note}[/]")
    if board.plot:
        common.console().print(f"plot written to {board.plot}")


def compare_cmd(a: str = typer.Argument(...), b: str = typer.Argument(...),
                task: list[str] = typer.Option(None, "--task", "-t"),
                trust: str = TrustOpt, as_json: bool = JsonOpt) -> None:
    """Compare two models task by task: difference, and whether it exceeds the spread."""
    from modellake.tools import bench as lib

    with common.open_catalog() as catalog:
        cmp = lib.compare(catalog, a, b, tasks=task or None, trust=trust)
    if as_json:
        common.emit_json(cmp.to_dict())
        return
    from rich.table import Table

    table = Table(title=f"{a} vs {b} ({', '.join(cmp.trust)} results)", title_justify="left")
    for col in ("task", "metric", a, b, "diff (b-a)", "spread", "exceeds"):
        table.add_column(col)
    for r in cmp.rows:
        table.add_row(r.task, r.metric, _fmt(r.a), _fmt(r.b), _fmt(r.diff), _fmt(r.spread),
                      "yes" if r.exceeds_spread else "no")
    common.console().print(table)
    common.console().print(f"[dim]{cmp.spread_definition}[/]")


def behaves_like_cmd(name: str = typer.Argument(...), top: int = typer.Option(10, "-k", "--top"),
                     run_missing: bool = typer.Option(False, "--run-missing",
                                                      help="Run the probe set on models lacking it."),
                     as_json: bool = JsonOpt) -> None:
    """Models whose outputs on the probe set are closest to NAME's."""
    from modellake.tools import bench as lib

    with common.open_catalog() as catalog, common.Bars(enabled=False if as_json else None) as bars:
        res = lib.behaves_like(catalog, name, top=top, run_missing=run_missing,
                               on_progress=lambda label, done, total: bars("bench", done, total, label))
    if as_json:
        common.emit_json(res.to_dict())
        return
    for n in res.neighbours:
        common.console().print(f"{n.model:<32} cka={_fmt(n.cka)} rsa={_fmt(n.rsa)}"
                               f"{'  (same layout)' if n.same_layout else ''}", highlight=False)
    if res.missing:
        common.console().print(f"[dim]no probe run yet: {', '.join(res.missing)} "
                             "(use --run-missing)[/]")


def import_results_cmd(file: Path = typer.Argument(..., exists=False),
                       model: str = typer.Option(..., "--model", "-m"),
                       as_json: bool = JsonOpt) -> None:
    """Import reported results (lm-evaluation-harness JSON or model-index YAML) for a model."""
    from modellake.tools import bench as lib

    with common.open_catalog() as catalog:
        rep = lib.import_results(catalog, file, model)
    if as_json:
        common.emit_json(rep.to_dict())
    else:
        common.console().print(f"imported {len(rep.runs)} reported runs for {rep.model} from "
                             f"{rep.file} ({rep.format}); {rep.duplicates} already there")


def register(app: typer.Typer) -> None:
    """Add the benchmark commands to the CLI."""
    app.command("bench")(bench_cmd)
    app.command("runs")(runs_cmd)
    app.command("leaderboard")(leaderboard_cmd)
    app.command("compare")(compare_cmd)
    app.command("behaves-like")(behaves_like_cmd)
    app.command("import-results")(import_results_cmd)
