"""Lineage accuracy on lakes with known ground truth, against a naive baseline.

    python bench/lineage.py                      # seeds 0 1 2 and the MiniLM family
    python bench/lineage.py --seeds 3 4 --no-minilm --work /tmp/lakes --json out.json
    python bench/lineage.py --seeds 100 101 --recipe alt --no-minilm   # harder recipe

Each lake comes from ``bench/lakegen.py`` (real training steps on tiny BERT,
GPT-2 and Llama models; a family grown from the packaged all-MiniLM-L6-v2). It
is ingested into a fresh catalog, then

* ``infer_lineage`` is scored: directed-edge precision, recall and F1 (an edge
  counts when parent and child are right, in that direction), relation accuracy
  (right relation among the right edges) and recall per relation;
* the naive method is scored on the same catalog: all-pairs L2 distance on full
  weights, minimum spanning arborescence per layout with a kurtosis direction
  prior (MoTHer's cost ``D + 0.3 * mean(D) * [kurtosis rises]``), every edge
  called ``finetune``.

Targets (issue 3): F1 >= 0.95 and relation accuracy >= 0.90 on every lake.
Exits 1 when a target is missed. Results: docs/benchmarks.md, "## Lineage".
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lakegen import GroundTruth, build_lake, build_minilm_lake  # noqa: E402

from modellake.store.catalog import Catalog  # noqa: E402
from modellake.tools.ingest import ingest  # noqa: E402
from modellake.tools.lineage import infer_lineage  # noqa: E402
from modellake.tools.lineage.compare import single_threaded_blas  # noqa: E402
from modellake.tools.lineage.weights import ModelWeights  # noqa: E402

F1_TARGET = 0.95
RELATION_TARGET = 0.90
NAIVE_LAMBDA = 0.3


# ----------------------------------------------------------------- scoring

def score(pred: dict[tuple[str, str], str], true: dict[tuple[str, str], str]) -> dict:
    """Directed-edge precision/recall/F1, relation accuracy, per-relation recall."""
    tp = [k for k in pred if k in true]
    p = len(tp) / len(pred) if pred else 0.0
    r = len(tp) / len(true) if true else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    rel_ok = sum(pred[k] == true[k] for k in tp)
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for k, rel in true.items():
        per[rel][1] += 1
        per[rel][0] += int(pred.get(k) == rel)
    return {"edges_true": len(true), "edges_pred": len(pred), "precision": round(p, 4),
            "recall": round(r, 4), "f1": round(f1, 4),
            "relation_accuracy": round(rel_ok / len(tp), 4) if tp else 0.0,
            "recall_by_relation": {k: round(a / b, 4) for k, (a, b) in sorted(per.items())}}


# ----------------------------------------------------------------- naive baseline

def _kurtosis_score(cat: Catalog, model_id: int) -> float:
    return float(sum(t.kurtosis or 0.0 for t in cat.tensors(model_id) if len(t.shape) == 2))


def naive_distances(cat: Catalog, members: list) -> np.ndarray:
    """All-pairs L2 distance on full weights, streamed one tensor pair at a time."""
    n = len(members)
    d2 = np.zeros((n, n))
    names = [t.name for t in cat.tensors(members[0].id) if t.mean is not None]
    readers = [ModelWeights(m) for m in members]
    try:
        for i in range(n):
            for j in range(i + 1, n):
                s = 0.0
                for name in names:
                    a = readers[i].get(name).astype(np.float64)
                    b = readers[j].get(name)
                    s += float(((a - b) ** 2).sum())
                d2[i, j] = d2[j, i] = s
    finally:
        for r in readers:
            r.close()
    return np.sqrt(d2)


def naive_lineage(cat: Catalog) -> dict[tuple[str, str], str]:
    """MoTHer-style baseline: one arborescence per layout, kurtosis direction prior."""
    import networkx as nx

    by_layout: dict[str, list] = defaultdict(list)
    for m in cat.list_models(with_card=False):
        if m.format in ("safetensors", "pytorch") and m.layout_hash:
            by_layout[m.layout_hash].append(m)
    out: dict[tuple[str, str], str] = {}
    with single_threaded_blas():
        for members in by_layout.values():
            if len(members) < 2:
                continue
            dist = naive_distances(cat, members)
            ku = [_kurtosis_score(cat, m.id) for m in members]
            mean_d = float(dist[np.triu_indices(len(members), 1)].mean())
            g = nx.DiGraph()
            for i, a in enumerate(members):
                for j, b in enumerate(members):
                    if i != j:
                        rises = 1.0 if ku[j] > ku[i] else 0.0  # child should have lower kurtosis
                        g.add_edge(a.name, b.name, weight=dist[i, j] + NAIVE_LAMBDA * mean_d * rises)
            tree = nx.minimum_spanning_arborescence(g)
            out.update({(u, v): "finetune" for u, v in tree.edges()})
    return out


# ----------------------------------------------------------------- one lake

def run_lake(gt: GroundTruth, db: Path, tag_of: Callable[[str], str] | None = None) -> dict:
    """Ingest a lake, run both methods, score them. With ``tag_of`` (recipe text -> kind tag),
    ``lineage.recall_by_tag`` gives per tag of the child: [true edges, found, found with the
    right relation]."""
    cat = Catalog(db)
    try:
        t0 = time.perf_counter()
        report = ingest(cat, [gt.root])
        if report.errors:
            raise SystemExit(f"ingest failed: {report.errors[:3]}")
        t1 = time.perf_counter()
        graph = infer_lineage(cat)
        t2 = time.perf_counter()
        naive = naive_lineage(cat)
        t3 = time.perf_counter()
    finally:
        cat.close()
    true = {(e.parent, e.child): e.relation for e in gt.edges}
    pred = {(e.parent, e.child): e.relation for e in graph.edges}
    ours = score(pred, true)
    ours["seconds"] = round(t2 - t1, 2)
    if tag_of is not None:
        by_tag: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for (p, c), rel in true.items():
            row = by_tag[tag_of(gt.recipes[c])]
            row[0] += 1
            row[1] += int((p, c) in pred)
            row[2] += int(pred.get((p, c)) == rel)
        ours["recall_by_tag"] = dict(sorted(by_tag.items()))
    base = score(naive, true)
    base["seconds"] = round(t3 - t2, 2)
    errors = [{"missed": f"{p} -> {c} ({r}: {gt.recipes[c]})"} for (p, c), r in true.items()
              if (p, c) not in pred]
    errors += [{"spurious": f"{p} -> {c} ({r})"} for (p, c), r in pred.items() if (p, c) not in true]
    return {"models": len(gt.models), "ingest_seconds": round(t1 - t0, 2), "lineage": ours,
            "naive": base, "errors": errors}


def fresh_db(path: Path) -> Path:
    """``path`` with no catalog at it (nor its WAL files): cached comparisons would flatter."""
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    return path


def _lake(kind: str, seed: int, work: Path, recipe: str) -> GroundTruth:
    root = work / f"{kind}-{seed}"
    if (root / "ground_truth.json").is_file():
        return GroundTruth.load(root)
    if kind == "minilm":
        return build_minilm_lake(root, seed)
    return build_lake(root, seed, recipe=recipe)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--minilm-seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--no-minilm", action="store_true")
    ap.add_argument("--recipe", default="default", help="lakegen recipe of the synthetic lakes "
                    "(default | alt: uniform random tokens, few steps, LoRA on all layers...)")
    ap.add_argument("--work", type=Path, help="keep lakes here (reused when present)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    work_ctx = tempfile.TemporaryDirectory(prefix="lineage-bench-") if args.work is None else None
    work = Path(work_ctx.name) if work_ctx else args.work
    work.mkdir(parents=True, exist_ok=True)
    synthetic = "synthetic" if args.recipe == "default" else f"synthetic-{args.recipe}"
    lakes = [(synthetic, s) for s in args.seeds]
    lakes += [] if args.no_minilm else [("minilm", s) for s in args.minilm_seeds]
    results = {}
    ok = True
    for kind, seed in lakes:
        t = time.perf_counter()
        gt = _lake(kind, seed, work, args.recipe)
        build = time.perf_counter() - t
        res = run_lake(gt, fresh_db(work / f"{kind}-{seed}.db"))
        res["build_seconds"] = round(build, 1)
        results[f"{kind}-{seed}"] = res
        L, N = res["lineage"], res["naive"]
        hit = L["f1"] >= F1_TARGET and L["relation_accuracy"] >= RELATION_TARGET
        ok &= hit
        print(f"{kind}-{seed}: {res['models']} models, {L['edges_true']} edges | lineage P "
              f"{L['precision']:.3f} R {L['recall']:.3f} F1 {L['f1']:.3f} rel-acc "
              f"{L['relation_accuracy']:.3f} ({L['seconds']}s) | naive F1 {N['f1']:.3f} "
              f"({N['seconds']}s) | {'ok' if hit else 'MISSED'}", flush=True)
        print(f"    recall by relation: {L['recall_by_relation']}", flush=True)
        for e in res["errors"]:
            print(f"    {e}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if work_ctx:
        work_ctx.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
