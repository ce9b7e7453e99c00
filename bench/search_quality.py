"""Search quality on real model cards: fused search against BM25 alone and dense alone.

    python bench/search_quality.py ../shared/cards            # ingest, index, evaluate
    python bench/search_quality.py ../shared/cards --queries other.jsonl --show 5
    python bench/search_quality.py ../shared/cards --json out.json

Ingests every card of CARDS_DIR (``NNN.md``, via ``modellake.tools.ingest.pipeline.ingest``) into a
temporary lake, builds the search index, runs each judged query of ``queries.jsonl``
(``qid``, ``query``, ``relevant`` card ids; ``partially_relevant`` is ignored) in three
modes and reports recall@5, recall@10, MRR and nDCG@10 (binary gains), overall and per
query kind (lineage, results, constraint, semantic: what the parser found in the query).

* ``fused``: the full search (query parsing, constraints, lineage, BM25 + dense, RRF);
* ``bm25``: the FTS5 BM25 ranking of the raw query alone;
* ``dense``: the MiniLM chunk ranking of the raw query alone.

recall@k = |relevant in top k| / |relevant| (queries with more than k relevant answers
cannot reach 1). Exit status 1 when fused misses recall@5 >= 0.85 or MRR >= 0.75, or does
not beat both baselines on both.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TARGET_RECALL5 = 0.85
TARGET_MRR = 0.75
MODES = {"fused": "fused", "bm25": "lexical", "dense": "dense"}


def metrics(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    def recall(k: int) -> float:
        return len(set(ranked[:k]) & relevant) / len(relevant)

    rr = next((1.0 / (i + 1) for i, n in enumerate(ranked) if n in relevant), 0.0)
    dcg = sum(1.0 / math.log2(i + 2) for i, n in enumerate(ranked[:10]) if n in relevant)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    return {"recall@5": recall(5), "recall@10": recall(10), "mrr": rr, "ndcg@10": dcg / idcg}


def mean(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = ["recall@5", "recall@10", "mrr", "ndcg@10"]
    return {k: sum(r[k] for r in rows) / len(rows) for k in keys} if rows else {k: 0.0 for k in keys}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cards_dir", type=Path)
    ap.add_argument("--queries", type=Path, help="judged queries (default: CARDS_DIR/queries.jsonl)")
    ap.add_argument("--lake", type=Path, help="lake directory to use (default: a temporary one)")
    ap.add_argument("--show", type=int, default=0, help="print the top N of each fused query")
    ap.add_argument("--json", type=Path, help="write all figures and per-query results here")
    args = ap.parse_args(argv)

    from modellake.store.lake import Lake
    from modellake.tools.embedding import embedder as embed
    from modellake.tools.ingest import ingest
    from modellake.tools.search import parse_query, reindex, search

    qpath = args.queries or args.cards_dir / "queries.jsonl"
    queries = [json.loads(line) for line in qpath.read_text().splitlines() if line.strip()]
    tmp = None
    if args.lake is None:
        tmp = tempfile.TemporaryDirectory(prefix="modellake-searchq-")
        args.lake = Path(tmp.name) / "lake"
    lake = Lake.open(args.lake)
    cards = sorted(p for p in args.cards_dir.glob("*.md") if p.stem.isdigit())
    with lake.catalog() as catalog:
        t0 = time.perf_counter()
        report = ingest(catalog, cards)
        t_ingest = time.perf_counter() - t0
        if report.errors:
            print(f"ingest errors: {report.errors[:3]}", file=sys.stderr)
        t0 = time.perf_counter()
        embed.load()
        t_load = time.perf_counter() - t0
        idx = reindex(catalog)
        print(f"{len(cards)} cards: ingest {t_ingest:.1f}s, model load {t_load:.1f}s, index "
              f"{idx.seconds:.1f}s ({idx.chunks} chunks, {idx.embedded} embedded)")

        per_mode: dict[str, list[dict]] = {m: [] for m in MODES}
        for q in queries:
            relevant = set(q["relevant"])
            kind = parse_query(q["query"]).kind()
            for label, mode in MODES.items():
                t0 = time.perf_counter()
                res = search(catalog, q["query"], k=10, mode=mode, sync_first=False)
                ms = (time.perf_counter() - t0) * 1000
                ranked = res.names
                row = {"qid": q["qid"], "kind": kind, "ms": ms, "top": ranked,
                       **metrics(ranked, relevant)}
                per_mode[label].append(row)
                if label == "fused" and args.show:
                    mark = ["*" if n in relevant else " " for n in ranked[: args.show]]
                    print(f"{q['qid']} [{kind}] r@5={row['recall@5']:.2f} rr={row['mrr']:.2f}  "
                          f"{q['query']}\n    top: {' '.join(m + n for m, n in zip(mark, ranked))}"
                          f"   want: {' '.join(sorted(relevant))}")

    kinds = sorted({r["kind"] for r in per_mode["fused"]})
    summary: dict[str, dict] = {}
    header = f"{'':22} {'recall@5':>9} {'recall@10':>9} {'MRR':>7} {'nDCG@10':>8}"
    for label in MODES:
        summary[label] = {"all": mean(per_mode[label])}
        for kind in kinds:
            summary[label][kind] = mean([r for r in per_mode[label] if r["kind"] == kind])
    print(f"\n{len(queries)} queries; kinds: " + ", ".join(
        f"{k} {sum(r['kind'] == k for r in per_mode['fused'])}" for k in kinds))
    print(header)
    for group in ["all"] + kinds:
        for label in MODES:
            m = summary[label][group]
            print(f"{group + ' / ' + label:22} {m['recall@5']:9.3f} {m['recall@10']:9.3f} "
                  f"{m['mrr']:7.3f} {m['ndcg@10']:8.3f}")
    lat = sorted(r["ms"] for r in per_mode["fused"])
    print(f"fused query latency on this lake: p50 {lat[len(lat) // 2]:.0f} ms, max {lat[-1]:.0f} ms")

    f, b, d = summary["fused"]["all"], summary["bm25"]["all"], summary["dense"]["all"]
    ok = (f["recall@5"] >= TARGET_RECALL5 and f["mrr"] >= TARGET_MRR
          and all(f[m] > x[m] for x in (b, d) for m in ("recall@5", "mrr")))
    print(f"target recall@5 >= {TARGET_RECALL5}, MRR >= {TARGET_MRR}, beating both baselines: "
          f"{'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "queries": per_mode}, indent=1))
    if tmp is not None:
        tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
