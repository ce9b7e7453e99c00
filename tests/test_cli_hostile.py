"""Hostile input at the CLI: empty and absurd values, names that look like markup or hold
control characters, and the errors a user can cause (read-only lake, full disk, long paths)."""
from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from modellake.store.catalog import Catalog
from modellake.store.errors import UsageError
from modellake.ui.cli import main

ESC_NAME = "esc\x1b[31mred"
NL_NAME = "two\nlines"


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def weights(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    save_file({"w": torch.randn(8, 8)}, path)
    return path


@pytest.fixture
def lake(tmp_path, capsys):
    """A lake holding one model, ``m``."""
    root = str(tmp_path / "lake")
    code, _, err = run_cli(capsys, "--lake", root, "ingest", str(weights(tmp_path / "m.safetensors")))
    assert code == 0, err
    return root


def listed(capsys, lake: str) -> list[tuple[str, int]]:
    code, out, _ = run_cli(capsys, "--lake", lake, "list", "--all-versions", "--json")
    assert code == 0
    return [(m["name"], m["version"]) for m in json.loads(out)["models"]]


def refused(code: int, err: str) -> None:
    """A one-line error, no traceback, no 'unexpected', a non-zero exit."""
    assert code != 0
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "unexpected" not in err and "Traceback" not in err


# -- 7: empty and absurd values ---------------------------------------------------
@pytest.mark.parametrize(("args", "names"), [
    (["ingest", ""], "'paths'"),
    (["ingest", "--name", "", "M"], "'--name'"),
    (["ingest", "--name", "   ", "M"], "'--name'"),
    (["ingest", "--name", "a\x07b", "M"], "'--name'"),
    (["ingest", "--name", "x@3", "M"], "'--name'"),
    (["rename", "m", ""], "'new'"),
    (["rename", "m", "  "], "'new'"),
    (["rename", "m", "new\nname"], "'new'"),
    (["rename", "", "other"], "'old'"),
    (["rm", ""], "'name'"),
    (["show", " "], "'name'"),
    (["search", "-k", "-5", "encoder"], "'-k'"),
    (["search", "-k", "0", "encoder"], "'-k'"),
    (["search", ""], "'query'"),
    (["search", "--task", "", "encoder"], "'--task'"),
    (["similar", "m", "-k", "-1"], "'-k'"),
    (["behaves-like", "m", "--top", "0"], "'--top'"),
    (["bench", "m", "-t", "x", "--repeats", "0"], "'--repeats'"),
    (["bench", "m", "-t", "x", "--seed", "-1"], "'--seed'"),
    (["runs", "--model", ""], "'--model'"),
    (["card", "m", "--out", ""], "'--out'"),
])
def test_empty_and_absurd_values_are_refused(capsys, lake, tmp_path, args, names):
    before = listed(capsys, lake)
    args = [str(weights(tmp_path / "n.safetensors", 1)) if a == "M" else a for a in args]
    code, out, err = run_cli(capsys, "--lake", lake, *args)
    refused(code, err)
    assert names in err  # the error names the argument that is wrong
    assert out == ""
    assert listed(capsys, lake) == before


def test_empty_lake_option_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELLAKE_HOME", str(tmp_path / "default-lake"))
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "--lake", "", "list")
    refused(code, err)
    assert "--lake" in err
    assert not (tmp_path / "default-lake").exists() and not (tmp_path / "catalog.db").exists()


def test_k_refusal_names_the_value(capsys, lake):
    code, _, err = run_cli(capsys, "--lake", lake, "search", "-k", "-5", "x")
    refused(code, err)
    assert "-5" in err and "-k" in err


# -- 8: hostile names are printed, never interpreted ---------------------------------
@pytest.fixture
def hostile_lake(tmp_path, capsys):
    """A lake with models named ``[/x]`` (given with --name), and with an escape sequence
    and a newline in their names (taken from their file names)."""
    root = str(tmp_path / "lake")
    code, out, err = run_cli(capsys, "--lake", root, "ingest", "--name", "[/x]",
                             str(weights(tmp_path / "a.safetensors", 1)))
    assert code == 0, err
    assert "added [/x] (v1" in out
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    weights(hostile / f"{ESC_NAME}.safetensors", 2)
    weights(hostile / f"{NL_NAME}.safetensors", 3)
    code, out, err = run_cli(capsys, "--lake", root, "ingest", str(hostile))
    assert code == 0, err
    assert "\x1b" not in out + err
    assert "added esc\\x1b[31mred (v1" in out and "added two\\nlines (v1" in out
    return root


def test_hostile_names_list_show_rm(capsys, hostile_lake):
    assert {n for n, _ in listed(capsys, hostile_lake)} == {"[/x]", ESC_NAME, NL_NAME}
    code, out, err = run_cli(capsys, "--lake", hostile_lake, "list")
    assert code == 0, err
    assert "[/x]" in out and "esc\\x1b[31mred" in out and "two\\nlines" in out
    assert "\x1b" not in out
    for name, shown in (("[/x]", "[/x]"), (ESC_NAME, "esc\\x1b[31mred"), (NL_NAME, "two\\nlines")):
        code, out, err = run_cli(capsys, "--lake", hostile_lake, "show", name)
        assert code == 0, err
        assert shown in out and "\x1b" not in out
        code, out, err = run_cli(capsys, "--lake", hostile_lake, "rm", name)
        assert code == 0, err
        assert out.count("\n") == 1 and "\x1b" not in out
    assert listed(capsys, hostile_lake) == []


def test_hostile_names_in_errors_are_escaped(capsys, hostile_lake):
    code, _, err = run_cli(capsys, "--lake", hostile_lake, "show", "esc\x1b[32mnope\nx")
    refused(code, err)
    assert "\x1b" not in err


def test_markup_in_rename(capsys, lake):
    code, out, err = run_cli(capsys, "--lake", lake, "rename", "m", "[bold]m[/bold] :smile:")
    assert code == 0, err
    assert out == "renamed m -> [bold]m[/bold] :smile:\n"
    assert listed(capsys, lake) == [("[bold]m[/bold] :smile:", 1)]


# -- 9: errors a user can cause are project errors, on one line -----------------------
def test_read_only_lake(capsys, lake, tmp_path, monkeypatch):
    """A lake SQLite can only read (works as root too, where chmod would not stop writes)."""
    real_connect = sqlite3.connect

    def read_only(path, *args, **kwargs):
        return real_connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr("modellake.store.catalog.sqlite3.connect", read_only)
    assert listed(capsys, lake) == [("m", 1)]  # reading still works
    for args in (["ingest", str(weights(tmp_path / "n.safetensors", 1))],
                 ["rename", "m", "m2"], ["rm", "m"]):
        code, _, err = run_cli(capsys, "--lake", lake, *args)
        refused(code, err)
        assert f"the lake at {lake} is read-only" in err
    monkeypatch.undo()
    assert listed(capsys, lake) == [("m", 1)]


def test_permission_denied_creating_lake(capsys, tmp_path, monkeypatch):
    def denied(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", denied)
    code, _, err = run_cli(capsys, "--lake", str(tmp_path / "new"), "list")
    refused(code, err)
    assert "is read-only" in err and "--lake" in err


def test_full_disk_sqlite(capsys, lake, monkeypatch):
    def full(self, *args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Catalog, "_log", full)
    code, _, err = run_cli(capsys, "--lake", lake, "rename", "m", "m2")
    refused(code, err)
    assert f"no space left on the device holding {lake}" in err
    monkeypatch.undo()
    assert listed(capsys, lake) == [("m", 1)]  # rolled back


def test_full_disk_during_ingest(capsys, lake, tmp_path, monkeypatch):
    def full(self, *args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Catalog, "_log", full)
    code, _, err = run_cli(capsys, "--lake", lake, "ingest",
                           str(weights(tmp_path / "n.safetensors", 1)))
    refused(code, err)
    assert f"no space left on the device holding {lake}" in err
    monkeypatch.undo()
    assert listed(capsys, lake) == [("m", 1)]


def test_full_disk_os_error(capsys, tmp_path, monkeypatch):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "mkdir", full)
    code, _, err = run_cli(capsys, "--lake", str(tmp_path / "new"), "list")
    refused(code, err)
    assert "no space left on the device holding" in err


def test_over_long_paths(capsys, lake, tmp_path):
    long_file = tmp_path / ("a" * 300 + ".safetensors")
    code, _, err = run_cli(capsys, "--lake", lake, "ingest", str(long_file))
    refused(code, err)
    assert err.startswith("error: path too long: ") and "255" in err
    code, _, err = run_cli(capsys, "--lake", str(tmp_path / ("b" * 300)), "list")
    refused(code, err)
    assert err.startswith("error: path too long: ")
    assert listed(capsys, lake) == [("m", 1)]


@pytest.mark.parametrize("command", ["show", "rm", "card", "similar"])
def test_version_out_of_range(capsys, lake, command):
    code, _, err = run_cli(capsys, "--lake", lake, command, "m@99999999999999999999")
    refused(code, err)
    assert "99999999999999999999" in err and "out of range" in err
    assert listed(capsys, lake) == [("m", 1)]


def test_catalog_refuses_version_out_of_range_and_blank_names(tmp_path):
    with Catalog(tmp_path / "catalog.db") as cat:
        with pytest.raises(UsageError, match="99999999999999999999"):
            cat.get_model("m@99999999999999999999")
        with pytest.raises(UsageError, match="out of range"):
            cat.remove("m@0")
        with pytest.raises(UsageError, match="blank"):
            cat.rename("m", " ")


def test_long_errors_are_not_wrapped_when_piped(tmp_path):
    lake = str(tmp_path / "lake")
    bad = tmp_path / ("broken-" + "x" * 150 + ".safetensors")
    bad.write_bytes(b"\x01\x00")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    exe = [sys.executable, "-m", "modellake.ui.cli", "--lake", lake]
    proc = subprocess.run([*exe, "ingest", str(bad)], capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    [failed] = [line for line in proc.stdout.splitlines() if line.startswith("failed")]
    assert str(bad) in failed  # the whole path on one line, not folded at 80 columns
    proc = subprocess.run([*exe, "show", "n" * 300], capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "n" * 300 in proc.stderr
