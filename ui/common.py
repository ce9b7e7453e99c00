"""What every CLI command module shares: the chosen lake, its catalog, JSON and rich output."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")


class State:
    """Options of the root command, read by the subcommands."""

    lake_dir: Path | None = None


def open_catalog():
    """The catalog of the lake chosen with ``--lake`` (or the default lake)."""
    from modellake.store.lake import Lake

    return Lake.open(State.lake_dir).catalog()


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr)


class Bars:
    """Rich progress bars on stderr, one per stage (``ingest``, ``cards``, ``passages``...), each
    with its count, elapsed time and an estimate of what is left. Silent when stderr is not a
    terminal (scripts and ``--json`` get clean output)."""

    LABELS = {"ingest": "reading models", "cards": "indexing cards", "passages": "encoding passages",
              "lineage": "solving lineage", "encoder": "preparing encoder",
              "bench": "running benchmarks"}

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> Bars:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(TextColumn("{task.fields[label]:<18}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(),
                                      TextColumn("eta"), TimeRemainingColumn(),
                                      TextColumn("[dim]{task.description}"),
                                      console=Console(stderr=True), transient=True)
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int, detail: str = "") -> None:
        """A progress report: ``stage`` has done ``done`` of ``total``."""
        if self._progress is None:
            return
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(detail, total=total or None,
                                                         label=self.LABELS.get(stage, stage))
        self._progress.update(self._tasks[stage], completed=done, total=total or None,
                              description=detail)

    def file(self, label: str, done: int, total: int) -> None:
        """An ingest report: ``label`` is the model path being read."""
        self("ingest", done, total, Path(label).name if label else "")


def waiting(label: str, show: bool = True) -> Any:
    """A spinner on the terminal's stderr while nothing else shows (a no-op when piped)."""
    import contextlib

    err = console(stderr=True)
    return err.status(f"[dim]{label}…[/]") if show and err.is_terminal else contextlib.nullcontext()


def prepare_encoder(show: bool = True) -> None:
    """Export the text encoder first when this is its first use here (~10 s, once per user),
    saying so on the terminal instead of leaving a silent wait."""
    from modellake.tools.embedding import embedder

    if embedder.needs_prepare():
        with waiting("preparing the text encoder (once per user, about 10 s)", show):
            embedder.prepare()
