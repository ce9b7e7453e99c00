"""The ``modellake`` command line: parse, call the library, format. ``--json`` everywhere.

Heavy modules are imported inside the commands so that ``modellake --help`` is fast.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from modellake.ui import app_cli, bench_cli, chat_cli, common, lake_cli, models_cli

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="modellake: keep, inspect, attribute, search and document trained models.")


@app.callback()
def _root(lake: Path | None = typer.Option(
        None, "--lake", metavar="DIR",
        help="Lake directory (default: $MODELLAKE_HOME, else ~/.modellake).")) -> None:
    common.State.lake_dir = lake


def _register_plugins() -> None:
    models_cli.register(app)
    lake_cli.register(app)
    bench_cli.register(app)
    chat_cli.register(app)
    app_cli.register(app)


_register_plugins()


def _click_module():
    """The click that typer runs on (recent typer versions vendor their own copy)."""
    try:
        from typer import _click as vendored  # noqa: PLC2701 - its exceptions are not re-exported

        return vendored
    except ImportError:  # pragma: no cover - older typer uses the click package
        import click

        return click


def main(argv: list[str] | None = None) -> int:
    """Entry point: domain errors become one line on stderr and exit status 1."""
    from modellake.store.errors import ModelLakeError

    click = _click_module()

    debug = os.environ.get("MODELLAKE_DEBUG") == "1"
    command = typer.main.get_command(app)
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        argv = ["--help"]
    try:
        rv = command.main(args=argv, prog_name="modellake", standalone_mode=False)
    except ModelLakeError as exc:
        if debug:
            raise
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("aborted\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence for users
        if debug:
            raise
        sys.stderr.write(f"error: unexpected {type(exc).__name__}: {exc} "
                         "(run with MODELLAKE_DEBUG=1 for the traceback)\n")
        return 1
    return rv if isinstance(rv, int) else 0


def run() -> None:
    """Console-script wrapper around :func:`main`."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
