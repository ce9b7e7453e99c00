"""``bench``, ``runs``, ``leaderboard``, ``compare``, ``behaves-like``, ``import-results``."""
from __future__ import annotations

from pathlib import Path

import typer

from modellake.ui import common
from modellake.ui.common import JsonOpt

TrustOpt = typer.Option("measured", "--trust", help="measured, reported or all.",
                        parser=common.text_value)
TaskOpt = typer.Option(None, "--task", "-t", parser=common.text_value)



def _fmt(v) -> str:
    return "-" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))


def _print_runs(runs, title: str) -> None:
    from rich.table import Table

    plain = common.plain
    table = Table(title=common.safe(title), title_justify="left")
    for col in ("id", "model", "task", "trust", "metrics", "when"):
        table.add_column(col)
    for r in runs:
        metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in list(r.metrics.items())[:4])
        table.add_row(str(r.id), plain(r.model), plain(r.task), plain(r.trust), plain(metrics),
                      plain((r.created_at or "")[:19]))
    common.console().print(table)


def bench_cmd(models: list[str] = typer.Argument(None, help="Models to evaluate.",
                                                 parser=common.spec_value),
              task: list[str] = typer.Option(None, "--task", "-t", parser=common.text_value,
                                             help="Task name or YAML path (repeatable)."),
              list_tasks: bool = typer.Option(False, "--list-tasks", help="List the tasks and exit."),
              repeats: int = typer.Option(1, parser=common.count_value(1, 1000),
                                          help="Runs per model and task (for run-to-run spread)."),
              seed: int = typer.Option(0, parser=common.count_value(0, 2**32 - 1),
                                       help="Random seed."),
              engine: str = typer.Option("auto", "--engine", help="auto: BERT encoders use the "
                                         "padding-free forward once it matches transformers; "
                                         "transformers: always transformers."),
              ray: str | None = typer.Option(
                  None, "--ray", metavar="ADDRESS",
                  help="Run each model and task as a task on a Ray cluster: auto (the running one), "
                       "local (this machine), or HOST:PORT. Several machines need --catalog postgresql://..."),
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
                    common.say(f"[bold]{common.safe(t.name)}[/] ({common.safe(t.kind)}) "
                               f"{common.safe(t.description)}", highlight=False)
            return
        if not models or not task:
            raise typer.BadParameter("give MODEL... and --task T (or --list-tasks)")
        if engine not in ("auto", "transformers"):
            raise typer.BadParameter(f"must be auto or transformers, not {engine!r}",
                                     param_hint="--engine")
        report = _run_bench(lib, catalog, models, task, seed, repeats, as_json, engine, ray)
    if as_json:
        common.emit_json(report.to_dict())
    else:
        if report.runs or not report.errors:
            _print_runs(report.runs, f"{len(report.runs)} runs in {report.duration_s:.1f}s")
        for e in report.errors:
            common.say(f"[red]failed[/] {common.safe(e.model)} on {common.safe(e.task)}: "
                       f"{common.safe(e.error)}", highlight=False)
    if report.errors:
        raise typer.Exit(1)


def _run_bench(lib, catalog, models, tasks, seed, repeats, quiet, engine, ray=None):
    """The library's bench (on a Ray cluster with ``ray``), with a progress bar on a terminal."""
    import sys

    def run(**kw):
        opts = {"seed": seed, "repeats": repeats, "engine": engine, **kw}
        if ray is not None:
            return lib.bench_on_ray(catalog, models, tasks, ray, **opts)
        return lib.bench(catalog, models, tasks, **opts)

    if quiet or not sys.stderr.isatty():
        return run()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("[bold]bench"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), transient=True) as bar:
        tid = bar.add_task("", total=None)

        def on_progress(label: str, done: int, total: int) -> None:
            bar.update(tid, completed=done, total=total, description=common.safe(label))

        return run(on_progress=on_progress)


def runs_cmd(model: str | None = typer.Option(None, "--model", "-m", parser=common.spec_value),
             task: str | None = TaskOpt,
             trust: str = typer.Option("all", "--trust", help="measured, reported or all.",
                                       parser=common.text_value),
             as_json: bool = JsonOpt) -> None:
    """List stored benchmark runs."""
    from modellake.tools import bench as lib

    with common.open_catalog() as catalog:
        result = lib.list_runs(catalog, model=model, task=task, trust=trust)
    if as_json:
        common.emit_json(result.to_dict())
    else:
        _print_runs(result.runs, f"{len(result.runs)} runs")


def leaderboard_cmd(task: str = typer.Option(..., "--task", "-t", parser=common.text_value),
                    metric: str | None = typer.Option(None, "--metric", parser=common.text_value),
                    trust: str = TrustOpt,
                    plot: Path | None = typer.Option(None, "--plot", help="Bar chart (PNG/SVG).",
                                                     parser=common.path_value),
                    as_json: bool = JsonOpt) -> None:
    """Rank models on a task (measured runs unless --trust says otherwise)."""
    from modellake.tools import bench as lib

    with common.open_catalog() as catalog:
        board = lib.leaderboard(catalog, task, metric=metric, trust=trust, plot=plot)
    if as_json:
        common.emit_json(board.to_dict())
        return
    from rich.table import Table

    safe = common.safe
    if not board.entries:  # a sentence that says why and what to run, not an empty table
        _print_text(board.text())
        for note in board.notes:
            common.say(f"[dim]{safe(note)}[/]")
        return
    trust = ", ".join(board.trust) if isinstance(board.trust, (list, tuple)) else board.trust
    table = Table(title=f"{safe(board.task)}: {safe(board.metric)} ({safe(trust)})",
                  title_justify="left")
    for col in ("rank", "model", "value", "std", "runs", "trust"):
        table.add_column(col)
    for e in board.entries:
        table.add_row(str(e.rank), common.plain(e.model), _fmt(e.value), _fmt(e.std),
                      str(e.n_runs), common.plain(e.trust))
    common.console().print(table)
    for note in board.notes:
        common.say(f"[dim]{safe(note)}[/]")
    if board.plot:
        common.say(f"plot written to {safe(board.plot)}")


def compare_cmd(a: str = typer.Argument(..., parser=common.spec_value),
                b: str = typer.Argument(..., parser=common.spec_value),
                task: list[str] = TaskOpt,
                trust: str = TrustOpt, as_json: bool = JsonOpt,
                explain: bool = typer.Option(False, "--explain",
                                             help="Say how the spread is measured.")) -> None:
    """Compare two models task by task: difference, and whether it exceeds the spread."""
    from modellake.tools import bench as lib

    with common.open_catalog() as catalog:
        cmp = lib.compare(catalog, a, b, tasks=task or None, trust=trust)
    if as_json:
        common.emit_json(cmp.to_dict())
        return
    from rich.table import Table

    safe = common.safe
    if not cmp.rows:  # why they cannot be compared, and what to run
        _print_text(cmp.text())
        return
    table = Table(title=f"{safe(a)} vs {safe(b)} ({safe(', '.join(cmp.trust))} results)",
                  title_justify="left")
    for col in ("task", "metric", a, b, "diff (b-a)", "spread", "exceeds"):
        table.add_column(common.plain(col))
    for r in cmp.rows:
        table.add_row(common.plain(r.task), common.plain(r.metric), _fmt(r.a), _fmt(r.b),
                      _fmt(r.diff), _fmt(r.spread), "yes" if r.exceeds_spread else "no")
    common.console().print(table)
    common.say(f"[dim]{safe(cmp.spread_definition)}[/]" if explain else
               "[dim]exceeds: the difference is beyond the run-to-run spread (--explain says how "
               "it is measured)[/]")


def behaves_like_cmd(name: str = typer.Argument(..., parser=common.spec_value),
                     top: int = typer.Option(10, "-k", "--top",
                                             parser=common.count_value(1, 10_000)),
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
        common.say(f"{common.safe(f'{n.model:<32}')} cka={_fmt(n.cka)} rsa={_fmt(n.rsa)}"
                   f"{'  (same layout)' if n.same_layout else ''}", highlight=False)
    for e in res.errors:
        common.say(f"[red]could not fingerprint[/] {common.safe(e.model)}: {common.safe(e.error)}",
                   highlight=False)
    if res.missing:
        hint = "the probe set could not run on them" if run_missing else "use --run-missing"
        common.say(f"[dim]no probe run yet: {common.safe(', '.join(res.missing))} ({hint})[/]")


def import_results_cmd(file: Path = typer.Argument(..., parser=common.path_value),
                       model: str = typer.Option(..., "--model", "-m", parser=common.spec_value),
                       as_json: bool = JsonOpt) -> None:
    """Import reported results (lm-evaluation-harness JSON or model-index YAML) for a model."""
    from modellake.tools import bench as lib

    with common.open_catalog() as catalog:
        rep = lib.import_results(catalog, file, model)
    if as_json:
        common.emit_json(rep.to_dict())
        return
    _print_text(rep.text())  # the report's own words: what was stored, skipped, doubtful


def _print_text(text: str) -> None:
    """A result's own text (``text()``), line by line, never read as markup."""
    console = common.console()
    for line in text.splitlines():
        console.print(common.plain(line), highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the benchmark commands to the CLI."""
    app.command("bench")(bench_cmd)
    app.command("runs")(runs_cmd)
    app.command("leaderboard")(leaderboard_cmd)
    app.command("compare")(compare_cmd)
    app.command("behaves-like")(behaves_like_cmd)
    app.command("import-results")(import_results_cmd)
