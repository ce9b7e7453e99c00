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
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# issue 16: the original 60 queries >= 0.9 / 0.9; each newer set, on its held-out half (the half
# nobody tuned on), recall@5 >= 0.9 and MRR >= 0.85; and fused above both baselines.
TARGETS = {"original": (0.9, 0.9), "held": (0.9, 0.85)}
MODES = {"fused": "fused", "bm25": "lexical", "dense": "dense"}
ROOT = Path(__file__).resolve().parents[1]
NEW_SETS = [ROOT / "bench" / "search_queries" / "needs.jsonl",  # 128 queries, tuned on half
            ROOT / "bench" / "search_queries" / "needs2.jsonl",  # 48 more by another writer, all tuning
            ROOT / "bench" / "search_queries" / "needs3.jsonl",  # 50 by a third writer, tuned on half
            ROOT / "bench" / "search_queries" / "needs4.jsonl",  # 60 by a fourth writer, all tuning
            ROOT / "bench" / "search_queries" / "needs5.jsonl",  # 60 by a fifth writer, tuned on half
            ROOT / "bench" / "search_queries" / "needs6.jsonl"]  # 60 by a sixth writer, tuned on half


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
    ap.add_argument("--queries", type=Path, action="append",
                    help="judged queries (repeatable; default: CARDS_DIR/queries.jsonl and the sets of "
                         "bench/search_queries)")
    ap.add_argument("--lake", type=Path, help="lake directory to use (default: a temporary one)")
    ap.add_argument("--show", type=int, default=0,
                    help="print the top N of each fused query of the tuning halves (never the held half)")
    ap.add_argument("--json", type=Path, help="write all figures and per-query results here")
    args = ap.parse_args(argv)

    from modellake.store.lake import Lake
    from modellake.tools.embedding import embedder as embed
    from modellake.tools.ingest import ingest
    from modellake.tools.search import reindex

    sets = args.queries or [args.cards_dir / "queries.jsonl"] + [p for p in NEW_SETS if p.is_file()]
    tmp = None
    if args.lake is None:
        tmp = tempfile.TemporaryDirectory(prefix="modellake-searchq-")
        args.lake = Path(tmp.name) / "lake"
    lake = Lake.open(args.lake)
    cards = sorted(p for p in args.cards_dir.glob("*.md") if p.stem.isdigit())
    out: dict[str, Any] = {}
    ok = True
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
        card_of = {m.name: Path(m.source).stem for m in catalog.list_models()}
        for path in sets:
            queries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            label = "original" if path.name == "queries.jsonl" else path.stem
            per_mode = evaluate(catalog, queries, card_of, args.show)
            out[label] = {"summary": report_set(label, queries, per_mode), "queries": per_mode}
            ok = check(label, out[label]["summary"]) and ok
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    if tmp is not None:
        tmp.cleanup()
    return 0 if ok else 1


def evaluate(catalog: Any, queries: list[dict[str, Any]], card_of: dict[str, str],
             show: int) -> dict[str, list[dict[str, Any]]]:
    """Each query in the three modes; a hit counts by the card it was ingested from."""
    from modellake.tools.search import parse_query, search

    per_mode: dict[str, list[dict]] = {m: [] for m in MODES}
    for q in queries:
        relevant = set(q["relevant"])
        kind = q.get("kind") or parse_query(q["query"]).kind()
        for label, mode in MODES.items():
            t0 = time.perf_counter()
            res = search(catalog, q["query"], k=10, mode=mode, sync_first=False)
            ms = (time.perf_counter() - t0) * 1000
            ranked = [card_of.get(n, n) for n in res.names]
            row = {"qid": q["qid"], "kind": kind, "split": q.get("split", "all"), "ms": ms,
                   "top": ranked, **metrics(ranked, relevant)}
            per_mode[label].append(row)
            if label == "fused" and show and row["split"] != "held":
                mark = ["*" if n in relevant else " " for n in ranked[:show]]
                print(f"{q['qid']} [{kind}] r@5={row['recall@5']:.2f} rr={row['mrr']:.2f}  "
                      f"{q['query']}\n    top: {' '.join(m + n for m, n in zip(mark, ranked))}"
                      f"   want: {' '.join(sorted(relevant))}")
    return per_mode


def report_set(label: str, queries: list[dict[str, Any]],
               per_mode: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, dict[str, float]]]:
    """Print and return the means: overall, per split, per kind."""
    rows = per_mode["fused"]
    splits = sorted({r["split"] for r in rows} - {"all"})
    kinds = sorted({r["kind"] for r in rows})
    groups = ["all"] + [f"split {s}" for s in splits] + kinds
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for mode in MODES:
        summary[mode] = {}
        for g in groups:
            sel = [r for r in per_mode[mode] if g == "all" or r["kind"] == g
                   or (g.startswith("split ") and r["split"] == g[6:])]
            summary[mode][g] = {**mean(sel), "n": len(sel)}
    print(f"\n== {label}: {len(queries)} queries; " + ", ".join(
        f"{g} {summary['fused'][g]['n']}" for g in groups[1:]))
    print(f"{'':28} {'recall@5':>9} {'recall@10':>9} {'MRR':>7} {'nDCG@10':>8}")
    for g in groups:
        for mode in MODES:
            m = summary[mode][g]
            print(f"{g + ' / ' + mode:28} {m['recall@5']:9.3f} {m['recall@10']:9.3f} "
                  f"{m['mrr']:7.3f} {m['ndcg@10']:8.3f}")
    lat = sorted(r["ms"] for r in rows)
    print(f"fused query latency: p50 {lat[len(lat) // 2]:.0f} ms, max {lat[-1]:.0f} ms")
    return summary


def check(label: str, summary: dict[str, dict[str, dict[str, float]]]) -> bool:
    """The targets of issue 16 for this set (see ``TARGETS``)."""
    group = "all" if label == "original" else "split held"
    if group not in summary["fused"]:  # a tuning set only: reported, not a target
        f = summary["fused"]["all"]
        print(f"{label}: a tuning set (no held-out half), no target: recall@5 {f['recall@5']:.3f}, "
              f"MRR {f['mrr']:.3f}")
        return True
    r5, mrr = TARGETS["original" if label == "original" else "held"]
    f, b, d = (summary[m][group] for m in ("fused", "bm25", "dense"))
    ok = (f["recall@5"] >= r5 and f["mrr"] >= mrr
          and all(f[x] > y[x] for y in (b, d) for x in ("recall@5", "mrr")))
    print(f"{label} ({group}): target recall@5 >= {r5}, MRR >= {mrr}, above both baselines: "
          f"{'met' if ok else 'NOT met'} (recall@5 {f['recall@5']:.3f}, MRR {f['mrr']:.3f})")
    return ok


if __name__ == "__main__":
    sys.exit(main())
