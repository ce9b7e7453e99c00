"""Card quality: drafted cards for the demo lake, and audits of real model cards.

    python bench/card_quality.py ../shared/cards                 # build the demo lake too
    python bench/card_quality.py ../shared/cards --lake .demo/lake --json out.json
    python bench/card_quality.py ../shared/cards --no-demo       # real cards only

Demo lake (``--lake DIR`` reuses one made by ``modellake --lake DIR demo``; otherwise it
is built in a temporary folder with ``build_demo_models`` + ``ingest``): unless
``--no-bench``, the smoke tasks (``--tasks``) are measured on every model that can run
them, so the Evaluation sections have runs to draw on. Then a card is drafted for every
model and checked by ``verify_draft`` (every statement carries evidence that agrees with
the lake; the card round-trips through ``huggingface_hub.ModelCard``). Reported:

* per section: how often a drafted card fills it (share of models whose section score is
  > 0) and its mean completeness; the unsupported statements found (must be 0);
* real cards (CARDS_DIR/NNN.md, ingested as card-only models): completeness per section,
  and audit findings by kind and severity (``check_card``).

Exit status 1 when a drafted card fails verification or a real card cannot be scored or
audited.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEFAULT_TASKS = "sentiment-smoke,sts-smoke"


def _table(rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header)] + [fmt.format(*r) for r in rows])


def demo_lake(lake_dir: Path | None, steps: int, tmp: Path) -> Path:
    """A lake with the demo models: the given one, or one built under ``tmp``."""
    if lake_dir is not None:
        if not (lake_dir / "catalog.db").is_file():
            raise SystemExit(f"no lake at {lake_dir} (make one with `modellake --lake "
                             f"{lake_dir} demo`)")
        return lake_dir
    from modellake.store.lake import Lake
    from modellake.tools.demo.build import build_demo_models
    from modellake.tools.ingest import ingest

    lake = Lake.open(tmp / "demo-lake")
    t0 = time.perf_counter()
    models = build_demo_models(tmp / "demo-models", steps=steps)
    with lake.catalog() as catalog:
        for m in models:
            report = ingest(catalog, [m.path], name=m.name)
            if report.errors:
                raise SystemExit(f"demo ingest failed: {report.errors[0].error}")
    print(f"demo lake built in {time.perf_counter() - t0:.0f}s ({len(models)} models)")
    return lake.root


def measure(catalog, tasks: list[str]) -> tuple[int, int]:
    """Run the smoke tasks on every model that has no measured run of them yet."""
    from modellake.tools.bench import bench

    done = errors = 0
    for name in catalog.model_names():
        todo = [t for t in tasks if not catalog.runs.find(model=name, task=t,
                                                          trust="measured")]
        if not todo:
            continue
        report = bench(catalog, [name], todo, threads=1)
        done += len(report.runs)
        errors += len(report.errors)
    return done, errors


def drafted(catalog) -> dict:
    from modellake.tools.cards import SECTIONS, draft_card, verify_draft

    per_model = {}
    t0 = time.perf_counter()
    for name in catalog.model_names():
        t = time.perf_counter()
        d = draft_card(catalog, name)
        seconds = time.perf_counter() - t
        problems = verify_draft(catalog, d)
        per_model[name] = {"completeness": d.completeness, "overall": d.overall,
                           "problems": problems, "evidence": len(d.evidence),
                           "notes": d.notes, "seconds": round(seconds, 3),
                           "base_model": d.metadata.get("base_model"),
                           "base_model_relation": d.metadata.get("base_model_relation"),
                           "model_index_rows": sum(len(r["metrics"]) for e in
                                                   d.metadata.get("model-index", [])
                                                   for r in e["results"])}
    n = len(per_model)
    sections = {}
    for sec in SECTIONS:
        vals = [m["completeness"][sec] for m in per_model.values()]
        sections[sec] = {"filled_share": sum(v > 0 for v in vals) / n if n else 0.0,
                         "mean": statistics.fmean(vals) if vals else 0.0}
    return {"models": per_model, "sections": sections,
            "overall": statistics.fmean(m["overall"] for m in per_model.values()) if n else 0.0,
            "problems": sum(len(m["problems"]) for m in per_model.values()),
            "seconds": time.perf_counter() - t0}


def real_cards(cards_dir: Path, tmp: Path) -> dict:
    from modellake.store.catalog import Catalog
    from modellake.tools.cards import SECTIONS, check_card, score_card
    from modellake.tools.ingest import ingest

    paths = sorted(p for p in cards_dir.glob("*.md") if p.stem.isdigit())
    (tmp / "cards-lake").mkdir(parents=True, exist_ok=True)
    catalog = Catalog(tmp / "cards-lake" / "catalog.db")
    t0 = time.perf_counter()
    report = ingest(catalog, paths)
    t_ingest = time.perf_counter() - t0
    failures, scores, findings = [], {}, []
    by_kind: Counter = Counter()
    by_kind_sev: Counter = Counter()
    cards_with: Counter = Counter()
    t0 = time.perf_counter()
    for p in paths:
        try:
            model = catalog.get_model(p.stem)
            s = score_card(model.card)
            audit = check_card(catalog, p.stem, infer_lineage=False)
        except Exception as exc:  # noqa: BLE001 - the bench reports every failure
            failures.append(f"{p.name}: {type(exc).__name__}: {exc}")
            continue
        scores[p.stem] = s.sections | {"overall": s.overall}
        kinds = set()
        for f in audit.findings:
            by_kind[f.kind] += 1
            by_kind_sev[(f.kind, f.severity)] += 1
            kinds.add(f.kind)
            if f.severity != "info":
                findings.append({"card": p.stem, "kind": f.kind, "severity": f.severity,
                                 "message": f.message})
        for k in kinds:
            cards_with[k] += 1
    seconds = time.perf_counter() - t0
    catalog.close()
    flagged = {f["card"] for f in findings if f["kind"] == "base_model"}
    labels = None
    manifest = cards_dir / "manifest.jsonl"
    if manifest.is_file():
        rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
        truth = {r["id"] for r in rows if r.get("base_model_in_text") and not r.get("base_model")}
        hit = flagged & truth
        labels = {"labelled": len(truth), "flagged": len(flagged), "correct": len(hit),
                  "precision": len(hit) / len(flagged) if flagged else 0.0,
                  "recall": len(hit) / len(truth) if truth else 0.0,
                  "false_positives": sorted(flagged - truth), "missed": sorted(truth - flagged)}
    n = len(scores)
    sections = {sec: statistics.fmean(v[sec] for v in scores.values()) if n else 0.0
                for sec in list(SECTIONS) + ["overall"]}
    return {"cards": len(paths), "scored": n, "ingest_errors": [e.error for e in report.errors],
            "failures": failures, "sections": sections,
            "findings_by_kind": dict(by_kind.most_common()),
            "findings_by_kind_severity": {f"{k}/{s}": c for (k, s), c in
                                          sorted(by_kind_sev.items())},
            "cards_with_finding": dict(cards_with.most_common()),
            "non_info_findings": findings, "seconds": seconds, "ingest_seconds": t_ingest,
            "missing_base_model_vs_manifest": labels,
            "per_card": scores}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cards_dir", type=Path, nargs="?", help="the real cards (NNN.md)")
    ap.add_argument("--lake", type=Path, help="a demo lake to reuse (default: build one)")
    ap.add_argument("--steps", type=int, default=60, help="fine-tuning steps when building")
    ap.add_argument("--tasks", default=DEFAULT_TASKS, help="smoke tasks to measure first")
    ap.add_argument("--no-bench", action="store_true", help="do not measure any task")
    ap.add_argument("--no-demo", action="store_true", help="only the real cards")
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args(argv)
    out: dict = {}
    ok = True
    with tempfile.TemporaryDirectory(prefix="modellake-cardq-") as tmpname:
        tmp = Path(tmpname)
        if not args.no_demo:
            from modellake.store.catalog import Catalog

            root = demo_lake(args.lake, args.steps, tmp)
            with Catalog(root / "catalog.db") as catalog:
                if not args.no_bench:
                    t0 = time.perf_counter()
                    n, errors = measure(catalog, [t for t in args.tasks.split(",") if t])
                    print(f"measured {n} runs ({errors} refused) in "
                          f"{time.perf_counter() - t0:.0f}s")
                from modellake.tools.lineage import infer_lineage

                t0 = time.perf_counter()
                infer_lineage(catalog)
                print(f"lineage ready in {time.perf_counter() - t0:.0f}s")
                demo = drafted(catalog)
                from modellake.tools.cards import check_card

                demo["audits"] = {}
                for name in catalog.model_names():
                    if catalog.get_model(name).card is not None:
                        a = check_card(catalog, name)
                        demo["audits"][name] = [f"{f.severity} {f.kind}: {f.message}"
                                                for f in a.findings if f.severity != "info"]
            out["demo"] = demo
            print(f"\nDrafted cards, demo lake ({len(demo['models'])} models, "
                  f"{demo['seconds']:.1f}s):")
            print(_table([(s, f"{v['filled_share']:.0%}", f"{v['mean']:.2f}")
                          for s, v in demo["sections"].items()],
                         ("section", "filled", "mean completeness")))
            print(f"overall completeness {demo['overall']:.2f}; unsupported statements "
                  f"{demo['problems']}")
            for name, m in demo["models"].items():
                print(f"  {name:24s} overall {m['overall']:.2f}  base_model "
                      f"{m['base_model']} ({m['base_model_relation']})  model-index rows "
                      f"{m['model_index_rows']}  {m['seconds']:.2f}s")
                for p in m["problems"][:5]:
                    print(f"    PROBLEM {p}")
            for name, found in demo["audits"].items():
                print(f"  audit of {name}'s own card: " + ("; ".join(found) or "no errors or "
                                                          "warnings"))
            ok &= demo["problems"] == 0
        if args.cards_dir:
            real = real_cards(args.cards_dir, tmp)
            out["real"] = real
            print(f"\nReal cards ({real['scored']}/{real['cards']} scored and audited in "
                  f"{real['seconds']:.1f}s, ingest {real['ingest_seconds']:.1f}s):")
            print(_table([(s, f"{v:.2f}") for s, v in real["sections"].items()],
                         ("section", "mean completeness")))
            print("\naudit findings by kind (cards with at least one):")
            print(_table([(k, c, real["cards_with_finding"].get(k, 0))
                          for k, c in real["findings_by_kind"].items()],
                         ("kind", "findings", "cards")))
            print("by kind/severity: " + ", ".join(f"{k} {c}" for k, c in
                                                   real["findings_by_kind_severity"].items()))
            lab = real["missing_base_model_vs_manifest"]
            if lab:
                print(f"missing base_model (YAML has none, the text names one) against the "
                      f"manifest's {lab['labelled']} labelled cards: flagged {lab['flagged']}, "
                      f"precision {lab['precision']:.2f}, recall {lab['recall']:.2f}")
            for f in real["failures"][:10]:
                print(f"  FAILED {f}")
            ok &= not real["failures"] and not real["ingest_errors"] \
                and real["scored"] == real["cards"]
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
