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
        None, "--lake", metavar="DIR", parser=common.path_value,
        help="Lake directory (default: $MODELLAKE_HOME, else ~/.modellake)."),
          catalog: str | None = typer.Option(
        None, "--catalog", metavar="URL",
        help="A shared PostgreSQL catalog, postgresql://USER@HOST/DB (default: "
             "$MODELLAKE_CATALOG, else the lake's own SQLite file)."),
          index: str | None = typer.Option(
        None, "--index", metavar="URL",
        help="A shared Chroma server for the search vectors, http://HOST:PORT (default: "
             "$MODELLAKE_INDEX, else the lake's own index folder).")) -> None:
    from modellake.store.lake import ENV_CATALOG, ENV_INDEX, resolve_catalog, resolve_index

    common.State.lake_dir = lake
    if catalog is not None:
        os.environ[ENV_CATALOG] = resolve_catalog(catalog) or ""  # for every part of this run
    if index is not None:
        os.environ[ENV_INDEX] = resolve_index(index) or ""


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


def _fail(message: object, code: int = 1) -> int:
    """An error on stderr: one line, however long, control characters shown as escapes."""
    sys.stderr.write(f"error: {common.visible(message)}\n")
    return code


def _usage_error(exc) -> int:
    """A click usage error (unknown option, bad value) as one line, with where to read more."""
    ctx = getattr(exc, "ctx", None)
    more = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    return _fail(f"{exc.format_message()}{more}", exc.exit_code)


def _as_project_error(exc: Exception):
    """The project error for an OS or SQLite error a user can cause (a read-only lake, a full
    disk, a path too long), or None for a bug."""
    import sqlite3

    from modellake.store import errors
    from modellake.store.lake import resolve_lake_dir

    try:
        root = resolve_lake_dir(common.State.lake_dir)
    except errors.ModelLakeError:
        root = None
    if isinstance(exc, OSError):
        return errors.from_os_error(exc, root)
    if type(exc) in (sqlite3.OperationalError, sqlite3.DatabaseError):
        return errors.from_db_error(exc, root)
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point: domain errors become one line on stderr and exit status 1."""
    from modellake.store.errors import ModelLakeError

    click = _click_module()

    debug = os.environ.get("MODELLAKE_DEBUG") == "1"
    command = typer.main.get_command(app)
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        argv = ["--help"]
    common.State.lake_dir = None
    saved = {k: os.environ.get(k) for k in ("MODELLAKE_CATALOG", "MODELLAKE_INDEX")}
    try:
        rv = command.main(args=argv, prog_name="modellake", standalone_mode=False)
    except ModelLakeError as exc:
        if debug:
            raise
        return _fail(exc)
    except typer.Exit as exc:
        return exc.exit_code
    except click.exceptions.UsageError as exc:
        return _usage_error(exc)
    except click.exceptions.ClickException as exc:
        return _fail(exc.format_message(), exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("aborted\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence for users
        if debug:
            raise
        known = _as_project_error(exc)
        if known is not None:
            return _fail(known)
        return _fail(f"unexpected {type(exc).__name__}: {exc} "
                     "(run with MODELLAKE_DEBUG=1 for the traceback)")
    finally:  # --catalog and --index hold for one call (tests call main() often in one process)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return rv if isinstance(rv, int) else 0


def run() -> None:
    """Console-script wrapper around :func:`main`."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
