"""Lineage accuracy on lakes whose derivations change the tensor layout.

    python bench/lineage_layout.py                          # seeds 0..4, MiniLM and tiny lakes
    python bench/lineage_layout.py --quick --seeds 0        # one quick lake of each kind
    python bench/lineage_layout.py --kinds tiny --seeds 3 4 --work /tmp/lakes --json out.json

Each lake comes from ``bench/lakegen_layout.py``: a family grown from the
packaged all-MiniLM-L6-v2 (``minilm``), or tiny BERT, GPT-2 and Llama families
(``tiny``), with sequence-classification heads added from the saved parent,
vocabularies grown by a few tokens, layers dropped, fp16 casts and
llama.cpp-style GGUF exports (Q8_0, Q4_0, F16) beside plain fine-tunes, and
one unrelated model of the same config per family. It is ingested into a fresh
catalog and ``infer_lineage`` is scored exactly as in ``bench/lineage.py``
(``run_lake``): directed-edge precision, recall and F1, relation accuracy,
plus recall per kind of derivation (the child's recipe tag: found / with the
right relation / true edges) and whether an unrelated model got linked.

Targets: F1 >= 0.95 and relation accuracy >= 0.95 on every lake; exits 1 when
one is missed (or a lake fails to ingest or to infer).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lakegen import GroundTruth  # noqa: E402
from lakegen_layout import build_layout_lake, build_minilm_layout_lake, tag_of  # noqa: E402
from lineage import fresh_db, run_lake  # noqa: E402

F1_TARGET = 0.95
RELATION_TARGET = 0.95
BUILDERS = {"minilm": build_minilm_layout_lake, "tiny": build_layout_lake}


def _lake(kind: str, seed: int, quick: bool, work: Path) -> GroundTruth:
    root = work / f"layout-{kind}-{seed}{'-quick' if quick else ''}"
    if (root / "ground_truth.json").is_file():
        return GroundTruth.load(root)
    return BUILDERS[kind](root, seed, quick)


def _linked_unrelated(gt: GroundTruth, errors: list[dict]) -> list[str]:
    """Spurious edges that touch a model tagged ``unrelated``."""
    unrelated = {n for n, r in gt.recipes.items() if tag_of(r) == "unrelated"}
    out = []
    for e in errors:
        edge = e.get("spurious")
        if edge:
            parent, _, rest = edge.partition(" -> ")
            if parent in unrelated or rest.split(" ")[0] in unrelated:
                out.append(edge)
    return out


def report(name: str, gt: GroundTruth, res: dict) -> bool:
    """Print one lake's scores and errors; True when it meets the targets."""
    L = res["lineage"]
    hit = L["f1"] >= F1_TARGET and L["relation_accuracy"] >= RELATION_TARGET
    print(f"{name}: {res['models']} models, {L['edges_true']} edges ({L['edges_pred']} predicted) | P "
          f"{L['precision']:.3f} R {L['recall']:.3f} F1 {L['f1']:.3f} rel-acc {L['relation_accuracy']:.3f} | "
          f"build {res['build_seconds']}s ingest {res['ingest_seconds']}s lineage {L['seconds']}s | "
          f"naive F1 {res['naive']['f1']:.3f} | {'ok' if hit else 'MISSED'}", flush=True)
    tags = "  ".join(f"{t} {found}/{rel_ok}/{n}" for t, (n, found, rel_ok) in L["recall_by_tag"].items())
    print(f"    recall by kind (found/right relation/true): {tags}", flush=True)
    linked = _linked_unrelated(gt, res["errors"])
    print(f"    unrelated models linked: {len(linked)}", flush=True)
    for e in res["errors"]:
        print(f"    {e}", flush=True)
    return hit


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    ap.add_argument("--kinds", nargs="*", choices=sorted(BUILDERS), default=["minilm", "tiny"])
    ap.add_argument("--quick", action="store_true", help="small, fast lakes (seconds to build)")
    ap.add_argument("--work", type=Path, help="keep lakes here (reused when ground_truth.json is present)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    work_ctx = tempfile.TemporaryDirectory(prefix="lineage-layout-") if args.work is None else None
    work = Path(work_ctx.name) if work_ctx else args.work
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    ok = True
    try:
        for kind in args.kinds:
            for seed in args.seeds:
                name = f"{kind}-{seed}{'-quick' if args.quick else ''}"
                t = time.perf_counter()
                gt = _lake(kind, seed, args.quick, work)
                build = round(time.perf_counter() - t, 1)
                try:
                    res = run_lake(gt, fresh_db(work / f"layout-{name}.db"), tag_of=tag_of)
                except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failing lake is a result
                    ok = False
                    msg = "".join(traceback.format_exception(exc)) if isinstance(exc, Exception) else str(exc)
                    print(f"{name}: {len(gt.models)} models, {len(gt.edges)} edges | build {build}s | FAILED\n"
                          + "\n".join(f"    {line}" for line in msg.rstrip().splitlines()), flush=True)
                    results[name] = {"models": len(gt.models), "build_seconds": build, "failed": msg}
                    continue
                res["build_seconds"] = build
                res["unrelated_linked"] = _linked_unrelated(gt, res["errors"])
                results[name] = res
                ok &= report(name, gt, res)
    finally:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        if work_ctx:
            work_ctx.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
