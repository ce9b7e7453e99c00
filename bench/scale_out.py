"""Beyond one machine: Ray workers, the PostgreSQL catalog and the Chroma server, measured.

    python bench/scale_out.py                        # everything, default sizes
    python bench/scale_out.py --only catalog --sizes 10000 100000
    python bench/scale_out.py --only ingest lineage --json out.json

Each part prints its figures as ratios to a baseline measured in the same run:

* ``ingest``: N synthetic safetensors models (F32 matrices, ~``--model-mb`` each) ingested
  into a fresh PostgreSQL catalog by one process (the baseline), then as Ray tasks with one
  and with two worker slots (a local Ray cluster started before the clock runs): models/s.
* ``lineage``: a generated lake of ``--lineage-models`` related GPT-2s of ~48 MB each
  (bench/lineage_scale.py's generator, widened: 4 families, fine-tunes, adapters, int8,
  pruned, merges) ingested into three fresh catalogs,
  then the version graph inferred in one process and with weight comparisons as Ray tasks on
  one and two worker slots: seconds and the F1 of the edges (all three must agree).
* ``catalog``: SQLite and PostgreSQL catalogs of 10k and 100k generated models (each with
  files, tensor summaries and a card-text row in the search index): latency of a model
  lookup, the name list, listing every model, a lexical search, a runs query.
* ``chroma``: the card-passage vectors of 10k generated cards in the embedded index and on a
  Chroma server (``chroma run``): latency of a nearest-passages query.

The PostgreSQL server and the Chroma server are throwaway ones started here
(tests/pg_server.py, tests/chroma_server.py). On this 2-core machine two Ray workers share
the cores with the driver and the database: the ratio says what one more core buys, not
what a cluster does. Results: docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from pg_server import PgServer  # noqa: E402


def _ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def timed(fn, repeats: int = 1) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


# ------------------------------------------------------------------------- ingest
def synthetic_models(root: Path, n: int, model_mb: float, seed: int = 0) -> list[Path]:
    """``n`` model folders, each one ``model.safetensors`` of F32 matrices (~``model_mb`` MB)."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    side = 512
    per = max(1, int(model_mb * 2**20 / (side * side * 4)))
    out = []
    for i in range(n):
        d = root / f"model-{i:03d}"
        d.mkdir(parents=True)
        save_file({f"layers.{j}.weight": rng.standard_normal((side, side), dtype=np.float32)
                   for j in range(per)}, str(d / "model.safetensors"))
        out.append(d)
    return out


def bench_ingest(pg: PgServer, work: Path, n: int, model_mb: float) -> dict:
    import ray

    from modellake.store.catalog import Catalog
    from modellake.tools.ingest import ingest

    paths = synthetic_models(work / "ingest-models", n, model_mb)
    res: dict = {"models": n, "model_mb": model_mb}

    def once(ray_addr: str | None) -> float:
        with Catalog(pg.new_database(), root=work / "lake") as cat:
            t = time.perf_counter()
            report = ingest(cat, paths, index=False, ray=ray_addr)
            dt = time.perf_counter() - t
        assert not report.errors and len(report.models) == n, report.errors
        return dt

    once(None)  # warm page cache and imports
    res["one_process_s"] = once(None)
    for workers in (1, 2):
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            once("auto")  # workers started and warm
            res[f"ray_{workers}_s"] = once("auto")
        finally:
            ray.shutdown()
    for k in ("one_process_s", "ray_1_s", "ray_2_s"):
        res[k.replace("_s", "_models_per_s")] = round(n / res[k], 2)
    res["ray_2_vs_1"] = round(res["ray_1_s"] / res["ray_2_s"], 2)
    res["ray_2_vs_one_process"] = round(res["one_process_s"] / res["ray_2_s"], 2)
    return res


# ------------------------------------------------------------------------ lineage
def bench_lineage(pg: PgServer, work: Path, n: int, width: int) -> dict:
    import lineage_scale
    import ray
    from lineage import score
    from lineage_scale import build_scale_lake

    from modellake.store.catalog import Catalog
    from modellake.tools.ingest import ingest
    from modellake.tools.lineage import infer_lineage

    lineage_scale.ROOT_DIMS = {"vocab_size": 4096, "n_embd": width, "n_layer": 6}
    truth = build_scale_lake(work / "lineage-models", n)
    size = sum(p.stat().st_size for p in (work / "lineage-models").iterdir()) / n / 2**20
    res: dict = {"models": n, "model_mb": round(size, 1)}
    urls = []
    for _ in range(3):
        url = pg.new_database()
        with Catalog(url, root=work / "lake") as cat:
            assert not ingest(cat, [work / "lineage-models"], index=False).errors
        urls.append(url)

    def once(url: str, ray_addr: str | None) -> tuple[float, float]:
        with Catalog(url, root=work / "lake") as cat:
            t = time.perf_counter()
            graph = infer_lineage(cat, ray=ray_addr)
            dt = time.perf_counter() - t
        found = {(e.parent, e.child): e.relation for e in graph.edges}
        return dt, round(score(found, truth)["f1"], 3)

    res["one_process_s"], res["one_process_f1"] = once(urls[0], None)
    for i, workers in enumerate((1, 2), start=1):
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            res[f"ray_{workers}_s"], res[f"ray_{workers}_f1"] = once(urls[i], "auto")
        finally:
            ray.shutdown()
    res["ray_2_vs_1"] = round(res["ray_1_s"] / res["ray_2_s"], 2)
    res["ray_2_vs_one_process"] = round(res["one_process_s"] / res["ray_2_s"], 2)
    return res


# ------------------------------------------------------------------------ catalog
WORDS = ("sentiment classifier encoder chat instruct llama bert gpt summarization translation "
         "code math vision speech retrieval embedding reviews news legal medical small base "
         "large distilled quantized merged adapter lora english french german multilingual").split()


def fill_catalog(cat, n: int, seed: int = 0) -> list[str]:
    """``n`` generated models (files, 8 tensor summaries, a search document, one run each)."""
    from modellake.store.fts import IndexedDoc
    from modellake.store.records import BenchmarkRun, FileRecord, ModelRecord, TensorSummary

    rng = random.Random(seed)
    names = []
    with cat.transaction():
        for i in range(n):
            name = f"org{i % 97}/model-{i:06d}"
            words = " ".join(rng.choice(WORDS) for _ in range(40))
            rec = ModelRecord(name=name, format="safetensors", source=f"/models/{i}",
                              architecture=rng.choice(["bert", "llama", "gpt2"]),
                              num_parameters=rng.randrange(10**6, 10**9),
                              files=[FileRecord("model.safetensors", 10**6, f"{i:064x}")],
                              content_hash=f"{i:064x}")
            tensors = [TensorSummary(f"layers.{j}.weight", [64, 64], "F32", 4096, 16384, f"{i}-{j}",
                                     0.0, 0.02, 0.1, 3.0, 0.0, 4096, 64) for j in range(8)]
            stored = cat.add_model(rec, tensors)
            cat.text.put_docs([IndexedDoc(stored.id, name, name, rec.architecture, words, {})], "now")
            cat.runs.add(BenchmarkRun(model=name, task=rng.choice(["sst2", "mnli", "squad"]),
                                      trust="reported", metrics={"accuracy": rng.random()}),
                         model_id=stored.id)
            names.append(name)
    return names


def catalog_latency(cat, names: list[str], repeats: int = 50) -> dict:
    rng = random.Random(1)
    from modellake.store.fts import match_expression

    out = {
        "get_model_ms": _ms([timed(lambda: cat.get_model(rng.choice(names)))[0] for _ in range(repeats)]),
        "model_names_ms": _ms(timed(cat.model_names, 5)),
        "list_models_ms": _ms(timed(lambda: cat.list_models(with_card=False), 1)),
        "lexical_ms": _ms([timed(lambda: cat.text.lexical(match_expression(rng.sample(WORDS, 2)), 20))[0]
                           for _ in range(repeats)]),
        "runs_ms": _ms([timed(lambda: cat.runs.find(task="sst2", limit=20))[0] for _ in range(repeats)]),
    }
    return {k: round(v, 2) for k, v in out.items()}


def bench_catalog(pg: PgServer, work: Path, sizes: list[int]) -> dict:
    from modellake.store.catalog import Catalog

    res: dict = {}
    for n in sizes:
        row: dict = {}
        for kind in ("sqlite", "postgresql"):
            target = work / f"cat-{n}.db" if kind == "sqlite" else pg.new_database()
            with Catalog(target, root=work / "lake") as cat:
                t = time.perf_counter()
                names = fill_catalog(cat, n)
                row[f"{kind}_fill_s"] = round(time.perf_counter() - t, 1)
                row[kind] = catalog_latency(cat, names)
                row[f"{kind}_bytes_per_model"] = round(cat.storage_bytes() / n)
        row["pg_vs_sqlite"] = {k: round(row["postgresql"][k] / max(row["sqlite"][k], 1e-3), 2)
                               for k in row["sqlite"]}
        res[str(n)] = row
    return res


# ------------------------------------------------------------------------- chroma
def bench_chroma(work: Path, cards: int, dim: int = 384, repeats: int = 100) -> dict:
    from chroma_server import ChromaServer

    from modellake.store.index import VectorIndex

    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((cards * 3, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = [f"{i // 3}:{i % 3}" for i in range(len(vecs))]
    mids = [i // 3 for i in range(len(vecs))]
    server = ChromaServer(work / "chroma-server")
    res: dict = {"cards": cards, "passages": len(vecs)}
    try:
        for kind, target in (("embedded", work / "chroma-embedded"), ("server", server.url)):
            vi = VectorIndex.open(target, text_dim=dim)
            for i in range(0, len(vecs), 2000):
                vi.add_chunks(ids[i:i + 2000], mids[i:i + 2000], vecs[i:i + 2000])
            queries = rng.standard_normal((repeats, dim)).astype(np.float32)
            vi.query_chunks(queries[0], 20)
            res[f"{kind}_query_ms"] = round(_ms([timed(lambda q=q, vi=vi: vi.query_chunks(q, 20))[0]
                                                 for q in queries]), 2)
    finally:
        server.stop()
    res["server_vs_embedded"] = round(res["server_query_ms"] / res["embedded_query_ms"], 2)
    return res


# --------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", choices=["ingest", "lineage", "catalog", "chroma"])
    ap.add_argument("--ingest-models", type=int, default=16)
    ap.add_argument("--model-mb", type=float, default=16.0)
    ap.add_argument("--lineage-models", type=int, default=40)
    ap.add_argument("--lineage-width", type=int, default=384, help="hidden size of the generated "
                    "GPT-2s (384: ~12M parameters, ~48 MB each)")
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--cards", type=int, default=10_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    parts = args.only or ["ingest", "lineage", "catalog", "chroma"]
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a throwaway local cluster
    results: dict = {"cpus": os.cpu_count(), "load_start": os.getloadavg()[0]}
    pg = PgServer() if set(parts) & {"ingest", "lineage", "catalog"} else None
    try:
        with tempfile.TemporaryDirectory(prefix="modellake-scale-") as tmp:
            work = Path(tmp)
            if "ingest" in parts:
                results["ingest"] = bench_ingest(pg, work, args.ingest_models, args.model_mb)
                print("ingest ", json.dumps(results["ingest"]), flush=True)
            if "lineage" in parts:
                results["lineage"] = bench_lineage(pg, work, args.lineage_models, args.lineage_width)
                print("lineage", json.dumps(results["lineage"]), flush=True)
            if "catalog" in parts:
                results["catalog"] = bench_catalog(pg, work, args.sizes)
                print("catalog", json.dumps(results["catalog"]), flush=True)
            if "chroma" in parts:
                results["chroma"] = bench_chroma(work, args.cards)
                print("chroma ", json.dumps(results["chroma"]), flush=True)
    finally:
        if pg is not None:
            pg.stop()
    results["load_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
