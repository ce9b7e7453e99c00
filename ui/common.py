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


# -- printing lake data safely ------------------------------------------------
_VISIBLE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_VISIBLE.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_VISIBLE.update({c: f"\\u{c:04x}" for c in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029,
                                             *range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def visible(value: object) -> str:
    """``value`` as text with its control characters shown as escapes (``\\x1b``, ``\\n``):
    a name or message cannot move the cursor, colour the terminal or break a line."""
    return str(value).translate(_VISIBLE)


def safe(value: object) -> str:
    """Lake data (a name, a path, card text, an error) to put inside rich markup."""
    from rich.markup import escape

    return escape(visible(value))


def plain(value: object, style: str = ""):
    """Lake data as a rich ``Text`` (never read as markup), control characters shown."""
    from rich.text import Text

    return Text(visible(value), style=style)


def console(stderr: bool = False):
    """A rich console; no ``:emoji:`` codes, so lake data cannot turn into pictures."""
    from rich.console import Console

    return Console(stderr=stderr, emoji=False)


def say(markup: str, stderr: bool = False, highlight: bool | None = None) -> None:
    """One line of (trusted) markup; lake data in it must come through :func:`safe`. It is
    never wrapped: a terminal wraps it itself, and a pipe gets it whole."""
    console(stderr).print(markup, soft_wrap=True, highlight=highlight)


# -- checking arguments -------------------------------------------------------
def path_value(value: str) -> Path:
    """A PATH argument: refused when empty (``Path("")`` would mean the current directory)."""
    if not value.strip():
        raise typer.BadParameter(f"{value!r} is blank, not a path")
    return Path(value)


def text_value(value: str) -> str:
    """A text option (a task, a license, a query...): refused when blank."""
    if not value.strip():
        raise typer.BadParameter(f"{value!r} is blank; give a value")
    return value


def count_value(low: int, high: int):
    """A parser for a count option (``-k``, ``--repeats``...): a whole number in [low, high]."""

    def parse(value: str) -> int:
        try:
            n = int(str(value).strip())
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a whole number") from None
        if not low <= n <= high:
            raise typer.BadParameter(f"{n} is out of range; give a number from {low} to {high}")
        return n

    return parse


def spec_value(value: str) -> str:
    """A model named by the user, ``NAME`` or ``NAME@VERSION``."""
    from modellake.store.catalog import parse_spec

    if not value.strip():
        raise typer.BadParameter(f"{value!r} is blank, not a model name")
    parse_spec(value)  # a version out of range is a UsageError naming it
    return value


def name_value(value: str) -> str:
    """A new model name (``--name``, ``rename``'s NEW)."""
    from modellake.store.catalog import check_name
    from modellake.store.errors import UsageError

    try:
        return check_name(value)
    except UsageError as exc:
        raise typer.BadParameter(str(exc)) from None


class Bars:
    """Rich progress bars on stderr, one per stage (``ingest``, ``cards``, ``passages``...), each
    with its count, elapsed time and an estimate of what is left. Silent when stderr is not a
    terminal (scripts and ``--json`` get clean output)."""

    LABELS = {"ingest": "reading models", "cards": "indexing cards", "passages": "encoding passages",
              "results": "indexing results",
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
            self._tasks[stage] = self._progress.add_task(safe(detail), total=total or None,
                                                         label=self.LABELS.get(stage, stage))
        self._progress.update(self._tasks[stage], completed=done, total=total or None,
                              description=safe(detail))

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
