"""Import every real result file in ../shared/cards/results and check what was stored.

    python bench/import_results.py                       # ../shared/cards (or $MODELLAKE_CARDS_DIR)
    python bench/import_results.py /path/to/cards --json

The folder holds lm-evaluation-harness result JSON files for Meta-Llama-3-8B and its Instruct
variant, and model-index sections copied from real model cards (see its README and
``results/manifest.jsonl``). Each file is imported as ``reported`` runs of a card-only lake
model named after the manifest's ``model``; then known values are checked against the files,
re-import is checked to store nothing new, and the reported runs are checked to stay out of
measured leaderboards. Exits non-zero on any failure. (The same import also runs in
``tests/test_bench.py`` when ``MODELLAKE_CARDS_DIR`` is set, as ``make test`` does.)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# (file, task, metric, value) taken by hand from the files
KNOWN = [
    ("lmeval_Meta-Llama-3-8B_arc.json", "arc_challenge", "acc_norm", 0.5750853242320819),
    ("lmeval_Meta-Llama-3-8B_gsm8k.json", "gsm8k", "exact_match,strict-match", 0.5087187263078089),
    ("lmeval_Meta-Llama-3-8B_mmlu.json", "mmlu", "acc", 0.6504059250818972),
    ("lmeval_Meta-Llama-3-8B-Instruct_hellaswag.json", "hellaswag", "acc_norm", 0.788388767177853),
    ("model-index_060.yaml", "ai2_arc/ARC-Challenge [25-shot]", "acc_norm", 62.03071672354948),
    ("model-index_061.yaml", "squad_v2", "exact_match", 79.9309),
    ("model-index_055.yaml", "LunarLander-v2", "mean_reward", 286.34),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("MODELLAKE_CARDS_DIR") or str(Path(__file__).resolve().parents[2] / "shared" / "cards")
    ap.add_argument("cards_dir", nargs="?", default=default, type=Path)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    results = args.cards_dir / "results"
    if not results.is_dir():
        print(f"no results folder at {results}; pass the cards folder", file=sys.stderr)
        return 2

    from modellake.store.catalog import Catalog
    from modellake.tools import bench
    from modellake.tools.ingest import ingest

    manifest = {}
    for line in (results / "manifest.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            manifest[row["file"]] = row
    tmp = Path(tempfile.mkdtemp(prefix="import-results-"))
    cat = Catalog(tmp / "catalog.db")
    failures: list[str] = []
    summary = []
    t0 = time.perf_counter()
    files = sorted(p for p in results.iterdir() if p.suffix in (".json", ".yaml"))
    for f in files:
        name = manifest.get(f.name, {}).get("model") or f.stem
        if not cat.has_model(name):
            card_dir = tmp / "cards" / name.replace("/", "__")
            card_dir.mkdir(parents=True)
            (card_dir / "README.md").write_text(f"---\nlicense: other\n---\n# {name}\n")
            rep = ingest(cat, [card_dir], name=name)
            if rep.errors:
                failures.append(f"ingest card for {name}: {rep.errors}")
                continue
        try:
            rep = bench.import_results(cat, f, name)
        except Exception as exc:  # noqa: BLE001 - report every file
            failures.append(f"{f.name}: {type(exc).__name__}: {exc}")
            continue
        if not rep.runs:
            failures.append(f"{f.name}: nothing imported")
        again = bench.import_results(cat, f, name)
        if again.runs or again.duplicates != len(rep.runs):
            failures.append(f"{f.name}: re-import stored {len(again.runs)} new runs")
        summary.append({"file": f.name, "model": name, "format": rep.format, "runs": len(rep.runs),
                        "skipped": len(rep.skipped), "warnings": rep.warnings})
    elapsed = time.perf_counter() - t0
    for fname, task, metric, value in KNOWN:
        runs = [r for r in bench.list_runs(cat, task=task, trust="reported").runs if fname in r.source]
        if not runs:
            failures.append(f"{fname}: no run for task {task!r}")
        elif abs(runs[0].metrics.get(metric, float("nan")) - value) > 1e-9:
            failures.append(f"{fname}: {task} {metric} = {runs[0].metrics.get(metric)} != {value}")
    for r in bench.list_runs(cat).runs:
        if r.trust != "reported" or not r.source:
            failures.append(f"run {r.id} is {r.trust} / source {r.source!r}")
    try:
        bench.leaderboard(cat, "arc_challenge")  # measured only: must find nothing
        failures.append("a measured leaderboard of arc_challenge found runs")
    except Exception:  # noqa: BLE001 - NotFoundError expected
        pass
    board = bench.leaderboard(cat, "arc_challenge", trust="reported")
    total = sum(s["runs"] for s in summary)
    out = {"files": len(files), "runs": total, "seconds": round(elapsed, 2),
           "arc_challenge_reported": [(e.model, round(e.value, 4)) for e in board.entries],
           "per_file": summary, "failures": failures}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for s in summary:
            print(f"{s['file']:50s} {s['format']:22s} {s['runs']:4d} runs  {s['skipped']} skipped"
                  + (f"  ({'; '.join(s['warnings'])})" if s["warnings"] else ""))
        print(f"{len(files)} files, {total} reported runs in {elapsed:.2f} s")
        print("arc_challenge (reported):", out["arc_challenge_reported"])
        for f in failures:
            print("FAIL", f)
    cat.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
