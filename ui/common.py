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


def console():
    from rich.console import Console

    return Console()
