"""The CLI contract: JSON shapes, exit codes, one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from modellake.ui.cli import main


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def lake(tmp_path):
    return str(tmp_path / "lake")


def test_ingest_list_show_rename_rm_json(capsys, lake, bert_dir):
    code, out, _ = run_cli(capsys, "--lake", lake, "ingest", str(bert_dir), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["errors"] == []
    [m] = data["models"]
    assert {"name", "format", "architecture", "num_parameters", "files", "has_card"} <= set(m)
    assert m["name"] == "tiny-bert" and m["architecture"] == "bert" and m["has_card"] is False

    code, out, _ = run_cli(capsys, "--lake", lake, "list", "--json")
    assert code == 0 and [x["name"] for x in json.loads(out)["models"]] == ["tiny-bert"]

    code, out, _ = run_cli(capsys, "--lake", lake, "show", "tiny-bert", "--json")
    assert code == 0 and json.loads(out)["num_parameters"] == m["num_parameters"]

    code, out, _ = run_cli(capsys, "--lake", lake, "rename", "tiny-bert", "bert-small", "--json")
    assert code == 0
    code, out, _ = run_cli(capsys, "--lake", lake, "rm", "bert-small", "--json")
    assert code == 0 and json.loads(out)["versions"] == 1
    code, out, _ = run_cli(capsys, "--lake", lake, "list", "--json")
    assert json.loads(out)["models"] == []


def test_failed_path_exits_1_with_per_file_report(capsys, lake, tmp_path, bert_dir):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x01\x00")
    code, out, err = run_cli(capsys, "--lake", lake, "ingest", str(bad), str(bert_dir), "--json")
    assert code == 1
    data = json.loads(out)
    assert [m["name"] for m in data["models"]] == ["tiny-bert"]
    assert data["errors"][0]["path"] == str(bad) and "truncated" in data["errors"][0]["error"]


def test_human_output_and_unknown_model_error(capsys, lake, bert_dir):
    code, out, _ = run_cli(capsys, "--lake", lake, "ingest", str(bert_dir))
    assert code == 0 and "added tiny-bert" in out
    code, out, _ = run_cli(capsys, "--lake", lake, "list")
    assert "tiny-bert" in out and "bert" in out
    code, out, err = run_cli(capsys, "--lake", lake, "show", "nope")
    assert code == 1
    assert err.startswith("error: no model named 'nope'") and err.count("\n") == 1
    assert "Traceback" not in err
    code, _, err = run_cli(capsys, "--lake", lake, "rename", "tiny-bert", "tiny-bert")
    assert code == 1 and "already exists" in err


def test_name_option_and_versions(capsys, lake, tmp_path):
    f = tmp_path / "w.safetensors"
    save_file({"w": torch.randn(8, 8)}, f)
    assert run_cli(capsys, "--lake", lake, "ingest", str(f), "--name", "mine", "--json")[0] == 0
    save_file({"w": torch.randn(8, 8)}, f)
    code, out, _ = run_cli(capsys, "--lake", lake, "ingest", str(f), "--name", "mine", "--json")
    assert json.loads(out)["models"][0]["version"] == 2
    code, out, _ = run_cli(capsys, "--lake", lake, "list", "--all-versions", "--json")
    assert [(m["name"], m["version"]) for m in json.loads(out)["models"]] == [("mine", 1), ("mine", 2)]
    code, out, _ = run_cli(capsys, "--lake", lake, "rm", "mine@2", "--json")
    assert code == 0
    code, out, _ = run_cli(capsys, "--lake", lake, "show", "mine", "--json")
    assert json.loads(out)["version"] == 1


def test_lake_from_environment(capsys, monkeypatch, tmp_path, bert_dir):
    monkeypatch.setenv("MODELLAKE_HOME", str(tmp_path / "envlake"))
    assert run_cli(capsys, "ingest", str(bert_dir), "--json")[0] == 0
    assert (tmp_path / "envlake" / "catalog.db").is_file()


def test_unexpected_errors_are_one_line_unless_debug(capsys, lake, monkeypatch):
    from modellake.store import catalog as catalog_mod

    def boom(self, *a, **k):
        raise ZeroDivisionError("bad luck")

    monkeypatch.setattr(catalog_mod.Catalog, "list_models", boom)
    code, _, err = run_cli(capsys, "--lake", lake, "list")
    assert code == 1 and "MODELLAKE_DEBUG=1" in err and err.count("\n") == 1
    monkeypatch.setenv("MODELLAKE_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["--lake", lake, "list"])


def test_help_is_fast_and_imports_nothing_heavy():
    code = ("import sys\nfrom modellake.ui.cli import main\nmain(['--help'])\n"
            "heavy = ['torch', 'transformers', 'numpy', 'safetensors', 'chromadb', 'gradio',"
            " 'langchain', 'gguf']\nprint([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_cli_entry_point_exit_code(tmp_path):
    exe = [sys.executable, "-m", "modellake.ui.cli", "--lake", str(tmp_path / "l"), "show", "x"]
    proc = subprocess.run(exe, capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.startswith("error:")


def test_usage_errors_exit_2_without_traceback(capsys, lake):
    code, _, err = run_cli(capsys, "--lake", lake, "list", "--no-such-flag")
    assert code == 2 and "No such option" in err and "Traceback" not in err
    code, out, _ = run_cli(capsys)
    assert code == 0 and "Usage" in out
