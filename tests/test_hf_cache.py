"""Ingest of the local Hugging Face cache (huggingface_hub's cache scanning)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from modellake.tools.ingest import hf_cache_units


def _fake_cache(root: Path, bert_dir: Path) -> Path:
    """A cache laid out as huggingface_hub writes it: blobs, refs, snapshot symlinks."""
    repo = root / "models--acme--tiny-bert"
    commit = "a" * 40
    snap = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    snap.mkdir(parents=True)
    for i, f in enumerate(sorted(bert_dir.iterdir())):
        blob = repo / "blobs" / f"{i:040d}"
        blob.write_bytes(f.read_bytes())
        os.symlink(os.path.relpath(blob, snap), snap / f.name)
    return root


def test_cache_units_are_named_after_repos(tmp_path, bert_dir):
    cache = _fake_cache(tmp_path / "hub", bert_dir)
    units = hf_cache_units(cache)
    assert [u.default_name for u in units] == ["acme/tiny-bert"]
    assert units[0].kind == "hf"
    assert hf_cache_units(tmp_path / "missing") == []


def test_cli_hf_cache_flag(tmp_path, bert_dir):
    cache = _fake_cache(tmp_path / "hub", bert_dir)
    env = {**os.environ, "HF_HUB_CACHE": str(cache)}
    proc = subprocess.run([sys.executable, "-m", "modellake.ui.cli", "--lake", str(tmp_path / "l"),
                           "ingest", "--hf-cache", "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [m["name"] for m in data["models"]] == ["acme/tiny-bert"]
    assert data["models"][0]["architecture"] == "bert"
