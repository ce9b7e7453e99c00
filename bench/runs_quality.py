"""Search quality on benchmark runs: do questions about result rows find the right runs?

    python bench/runs_quality.py                          # ../shared/cards (or $MODELLAKE_CARDS_DIR)
    python bench/runs_quality.py /path/to/cards --show 5 --json out.json
    python bench/runs_quality.py --lake /tmp/runs-lake    # build the lake there and keep it
    python bench/runs_quality.py --keep --list            # keep the temporary lake, list its runs

The lake ("runs lake"), built from scratch in a temporary directory each time (deterministic
apart from the time stamps, which are relative to the moment the bench starts):

* **Demo lake (real)**: ``.demo/lake`` (``make run`` / ``modellake demo`` builds it) is copied,
  catalog and search index only (``catalog.db``, ``index/``; the 950 MB of model files in
  ``demo-models/`` are not needed by search and stay where they are; the copy is never written
  back). Its 9 models and its 21 real **measured** runs (7 MiniLM encoders x ``sts-smoke``,
  ``sentiment-smoke``, ``topic-smoke``, measured by ``modellake bench``).
* **Real cards, card-only**: the cards of ``CARDS`` below (from ``CARDS_DIR``, 194 real model
  cards), each ingested on its own with ``modellake.tools.ingest.ingest`` under a readable name
  (the last part of its repo id); their model-index results are stored by ingest as
  **reported** runs (NER F1, extractive QA EM/F1, Open LLM leaderboard v1 and v2 scores, ASR WER,
  summarization ROUGE, translation BLEU, HumanEval pass@1, emotion/sentiment accuracy, image
  classification, RL rewards...). Card 051 (Meta-Llama-3-8B) has no model-index and gets its
  numbers from the next step.
* **lm-evaluation-harness files (real)**: every ``CARDS_DIR/results/lmeval_*.json`` imported with
  ``modellake.tools.bench.import_results`` as **reported** runs of ``Meta-Llama-3-8B`` (card 051)
  and ``Meta-Llama-3-8B-Instruct``. The Instruct model has no card among the 194: it gets a
  stub card written here (YAML front matter and one line saying it is a stub), as
  ``bench/import_results.py`` does.

**Re-stamped (not real): every run's ``created_at``.** The real times say nothing useful (the
demo runs are from when the demo was built, the others from this bench's own start), so each
run is re-stamped to one of four buckets relative to the bench's start (``BUCKETS``: today, 3,
20 and 80 days ago; ``run_bucket`` says which run goes where: by model for the cards and the
lm-eval files, by task and model for the measured runs), a few minutes apart within a bucket.
There is no API to change a stored run's time, so each run is read (``catalog.runs.get``, with
its outputs and fingerprint), deleted (``catalog.runs.delete``) and stored again
(``catalog.runs.add``, which honours ``created_at``) in time order: run ids change (the bench
identifies runs by ``(model, task, trust)``, never by id), the original time is kept in the
run's ``config["original_created_at"]``, and the models' own ``ingested_at`` stays at the
bench's start (no API sets it). Card-reported rows reach search from the card's model-index
(``card model-index``, with no time), not from the stored runs: a time window cannot find them
today, though the runs in the catalog carry the re-stamped times.

The judged questions (``bench/search_queries/runs.jsonl``: ``qid``, ``kind`` = meaning | time |
trust | model | mixed, ``split`` = tune | held, ``query``, ``relevant`` = ``[model, task, trust]``
or ``[model, task, trust, metric]``, ``notes``) may name dates relative to the bench's start:
``{DATE-N}`` becomes the ISO date N days before it.

Each question goes through two entry points:

* ``search``: ``modellake.tools.search.search(lake, query, k=10)``, what ``modellake search`` and
  the agent use (it hands questions that look like run questions to ``search_runs``);
* ``search_runs``: ``modellake.tools.search.search_runs(lake, query, k=10)`` called directly.

A hit is a model; the result rows in its ``why`` (``kind == "result"``) are the runs it answers
with. The ranked list of runs is those rows, hit by hit, in order, each mapped to its run's
stable key (by ``run_id`` when the row has one, else by model and value, equal to the decimals
the row gives, as a fraction or a percentage, and metric when one matches, among that model's
runs: a card's model-index row, or a number a card's text or tables state that is the same as
its model-index's), duplicates dropped; rows that are no
stored run (a number only in a card's prose or tables) are counted as ``unmapped``. A hit without result rows
contributes no run. Scores: recall@5 = |relevant in top 5| / min(|relevant|, 5) (so a question
with more than 5 relevant runs can reach 1), recall@10 likewise, MRR (first relevant run), and
models@5 (the relevant runs' models among the top 5 hits, capped the same way: whether the right
models were found even when their runs were not shown). Overall, per kind and per split.

Target (once runs are in the vector index, issue 16): recall@5 >= 0.9 on ``search``. The exit
status is 0 whatever the figures (``--json OUT`` writes them all, per question).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DEMO_LAKE = ROOT / ".demo" / "lake"
QUERIES = ROOT / "bench" / "search_queries" / "runs.jsonl"
TARGET_RECALL5 = 0.9
KINDS = ("meaning", "time", "trust", "model", "mixed")
BUCKETS = (0, 3, 20, 80)  # days before the bench's start

# (card id in CARDS_DIR, lake name, days ago its results arrived); 051 has no model-index:
# its runs come from the lm-eval files (LMEVAL)
CARDS = [
    ("111", "bert-finetuned-ner", 3),
    ("174", "es_spacy_ner_cds_trf", 3),
    ("172", "whisper-small-hi", 3),
    ("060", "zephyr-7b-beta", 20),
    ("099", "Beyonder-4x7B-v2", 20),
    ("061", "roberta-base-squad2", 20),
    ("064", "w2v-xls-r-uk", 20),
    ("134", "distilbert-base-uncased-finetuned-emotion", 20),
    ("140", "rubert-tiny2-russian-emotion-detection", 20),
    ("160", "distilbert-base-uncased-finetuned-sentiment-amazon", 20),
    ("083", "WizardCoder-15B-V1.0", 20),
    ("085", "opus-mt-en-ro-finetuned-en-to-ro", 20),
    ("020", "Llama-3-8b-Ita", 80),
    ("021", "falcon-mamba-7b", 80),
    ("058", "NeuralPipe-7B-slerp", 80),
    ("023", "led-large-book-summary", 80),
    ("072", "mT5_multilingual_XLSum", 80),
    ("079", "financial-summarization-pegasus", 80),
    ("069", "stt_en_conformer_ctc_large", 80),
    ("180", "bloom", 80),
    ("165", "swin-tiny-patch4-window7-224-finetuned-eurosat", 80),
    ("166", "vit-base-nsfw-detector", 80),
    ("102", "table-detection-and-extraction", 80),
    ("055", "LunarLander", 80),
    ("068", "Reinforce-CartPole-v1", 80),
    ("051", "Meta-Llama-3-8B", 80),
]
# lm-eval file name prefix -> (lake model, days ago the file was imported)
LMEVAL = {"lmeval_Meta-Llama-3-8B-Instruct_": ("Meta-Llama-3-8B-Instruct", 0),
          "lmeval_Meta-Llama-3-8B_": ("Meta-Llama-3-8B", 80)}
STUB_CARD = """---
license: llama3
base_model: meta-llama/Meta-Llama-3-8B
pipeline_tag: text-generation
---
# Meta-Llama-3-8B-Instruct

Stub card written by bench/runs_quality.py: the lake model its lm-evaluation-harness results
are imported for (the real card is not among the shared cards).
"""
# the measured demo runs: sts-smoke first (80 days ago), topic-smoke (20), then sentiment-smoke
# (3 days ago for the base and the two first fine-tunes, today for the derived ones)
MEASURED_DAYS = {"sts-smoke": 80, "topic-smoke": 20}
SENTIMENT_EARLY = {"all-MiniLM-L6-v2", "minilm-sentiment", "minilm-paraphrase"}

Key = tuple[str, ...]


# -- the lake ----------------------------------------------------------------------------
def run_bucket(run: Any, card_days: dict[str, int]) -> int:
    """Days before the bench's start at which a run is stamped (one of ``BUCKETS``)."""
    if run.trust == "measured":
        if run.task in MEASURED_DAYS:
            return MEASURED_DAYS[run.task]
        return 3 if run.model in SENTIMENT_EARLY else 0
    for _, (model, days) in LMEVAL.items():
        if run.model == model:
            return days
    return card_days.get(run.model, 80)


def stamp(now: datetime, days: int, i: int) -> str:
    """The ``i``-th time of a bucket: ``days`` before ``now``, ``i`` minutes earlier, on the same
    calendar day as ``now - days`` (a run of "today" is never stamped yesterday)."""
    day0 = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    t = now - timedelta(days=days, minutes=5 + i)
    if t < day0:
        t = day0 + (now - timedelta(days=days) - day0) * 0.5
    return t.isoformat(timespec="seconds")


def copy_demo(demo: Path, lake_dir: Path) -> None:
    """The demo lake's catalog and search index (not its model files), copied into ``lake_dir``."""
    lake_dir.mkdir(parents=True, exist_ok=True)
    for name in ("catalog.db", "catalog.db-wal", "catalog.db-shm"):
        if (demo / name).exists():
            shutil.copy2(demo / name, lake_dir / name)
    if (demo / "index").is_dir():
        shutil.copytree(demo / "index", lake_dir / "index")


def build_lake(lake_dir: Path, cards_dir: Path, demo: Path, now: datetime) -> dict[str, Any]:
    """The runs lake (see the module docstring); returns what went in."""
    from modellake.store.lake import Lake
    from modellake.tools.bench import import_results
    from modellake.tools.ingest import ingest
    from modellake.tools.search import sync_index

    copy_demo(demo, lake_dir)
    lake = Lake.open(lake_dir)
    errors: list[str] = []
    with lake.catalog() as cat:
        for cid, name, _ in CARDS:
            rep = ingest(cat, [cards_dir / f"{cid}.md"], name=name, index=False)
            errors += [str(e) for e in rep.errors]
        with tempfile.TemporaryDirectory(prefix="modellake-runsq-stub-") as d:
            stub = Path(d) / "Meta-Llama-3-8B-Instruct"
            stub.mkdir()
            (stub / "README.md").write_text(STUB_CARD)
            rep = ingest(cat, [stub], name="Meta-Llama-3-8B-Instruct", index=False)
            errors += [str(e) for e in rep.errors]
        imported = 0
        for f in sorted((cards_dir / "results").glob("lmeval_*.json")):
            model = next((m for p, (m, _) in LMEVAL.items() if f.name.startswith(p)), None)
            if model is not None:
                imported += len(import_results(cat, f, model).runs)
        restamp(cat, now, {name: days for _, name, days in CARDS})
        index = sync_index(cat)
    if errors:
        print("ingest errors:", *errors[:5], sep="\n  ", file=sys.stderr)
    return {"cards": len(CARDS) + 1, "lmeval_runs": imported, "errors": errors,
            "indexed": index.models}


def restamp(cat: Any, now: datetime, card_days: dict[str, int]) -> None:
    """Give every run its bucket's time: read, delete, add again (in time order)."""
    runs = sorted(cat.runs.find(), key=lambda r: (r.model, r.task, r.trust, r.id))
    model_ids = cat.runs.model_ids([r.id for r in runs])
    planned = []
    seen: Counter[int] = Counter()
    for r in runs:
        days = run_bucket(r, card_days)
        planned.append((stamp(now, days, seen[days]), r.id))
        seen[days] += 1
    planned.sort()
    for when, rid in planned:
        run = cat.runs.get(rid, with_outputs=True)
        fp = cat.runs.fingerprint(rid)
        cat.runs.delete(rid)
        run.config = {**(run.config or {}), "original_created_at": run.created_at}
        if "imported_at" in run.config:
            run.config["imported_at"] = when
        run.created_at, run.id = when, None
        cat.runs.add(run, model_ids.get(rid), fp)


def lake_runs(cat: Any, now: datetime) -> list[dict[str, Any]]:
    """Every run of the lake: stable key, metrics, trust, time bucket."""
    out = []
    for r in cat.runs.find():
        t = datetime.fromisoformat(r.created_at)
        days = (now - t).total_seconds() / 86400
        bucket = min(BUCKETS, key=lambda b: abs(b - days))
        out.append({"key": [r.model, r.task, r.trust], "metrics": r.metrics, "created_at": r.created_at,
                    "bucket": bucket, "id": r.id, "from_card": bool((r.config or {}).get("from_card"))})
    return sorted(out, key=lambda x: (x["bucket"], x["key"]))


# -- scoring -----------------------------------------------------------------------------
class RunKeys:
    """A hit's result rows -> stable run keys ``(model, task, trust)`` (``+ metric``)."""

    def __init__(self, cat: Any) -> None:
        self.by_id: dict[int, Key] = {}
        self.by_model: dict[str, list[tuple[Key, str, float]]] = defaultdict(list)
        for r in cat.runs.find():
            key = (r.model, r.task, r.trust)
            self.by_id[r.id] = key
            for metric, v in (r.metrics or {}).items():
                try:
                    self.by_model[r.model].append((key, _loose(metric), float(v)))
                except (TypeError, ValueError):
                    continue

    def row_key(self, model: str, row: dict[str, Any]) -> Key | None:
        """The run a row shows: by its ``run_id``; else the model's run with the same value, as
        the row writes it (its decimals; as a fraction or a percentage), and the same metric
        when one matches, nearest the row's dataset."""
        key = self.by_id.get(row["run_id"]) if row.get("run_id") is not None else None
        if key is None:
            try:
                value = float(row["value"])
            except (KeyError, TypeError, ValueError):
                return None
            text = repr(value)
            tol = 1e-9 * max(1.0, abs(value)) if "e" in text else 0.5001 * 10.0 ** -len(text.partition(".")[2])
            close = [(k, m) for k, m, v in self.by_model.get(model, [])
                     if any(abs(v * f - value) <= tol for f in (1.0, 100.0, 0.01))]
            metric = _loose(row.get("metric") or "")
            found = [k for k, m in close if m == metric] or [k for k, _ in close]
            if len(set(found)) > 1:  # the same value on several tasks: the one naming the row's dataset
                words = set(re.findall(r"[a-z0-9]+", str(row.get("dataset") or "").lower()))
                found.sort(key=lambda k: -len(words & set(re.findall(r"[a-z0-9]+", k[1].lower()))))
            key = found[0] if found else None
        if key is None:
            return None
        return (*key, str(row.get("metric") or ""))

    def ranked(self, res: Any) -> tuple[list[Key], int]:
        """The runs a search result answers with, in order: (model, task, trust, metric); and
        how many of its result rows are no stored run."""
        out, unmapped = [], 0
        for hit in res.hits:
            for row in hit.why:
                if isinstance(row, dict) and row.get("kind") == "result":
                    key = self.row_key(hit.name, row)
                    if key is None:
                        unmapped += 1
                    else:
                        out.append(key)
        return out, unmapped


def _loose(s: str) -> str:
    return re.sub(r"[^a-z0-9@]", "", str(s).lower())


def answers(ranked: list[Key], relevant: list[Key]) -> list[Key]:
    """Ranked rows as answers: a row counts as its run (3-key) unless the question names a
    metric for that run (4-key); duplicates dropped, order kept."""
    with_metric = {tuple(k[:3]) for k in relevant if len(k) > 3}
    out: list[Key] = []
    for k in ranked:
        a = k if tuple(k[:3]) in with_metric else k[:3]
        if a not in out:
            out.append(a)
    return out


def score(ranked: list[Key], relevant: list[Key], models: list[str]) -> dict[str, float]:
    rel = {tuple(k) for k in relevant}
    got = answers(ranked, relevant)

    def recall(k: int) -> float:
        return len(set(got[:k]) & rel) / min(len(rel), k)

    rr = next((1.0 / (i + 1) for i, a in enumerate(got) if a in rel), 0.0)
    rel_models = {k[0] for k in rel}
    m5 = len(set(models[:5]) & rel_models) / min(len(rel_models), 5)
    return {"recall@5": recall(5), "recall@10": recall(10), "mrr": rr, "models@5": m5}


def mean(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, float]:
    return {k: (sum(r[k] for r in rows) / len(rows) if rows else 0.0) for k in keys}


def expand(query: str, now: datetime) -> str:
    """``{DATE-N}`` -> the ISO date N days before ``now``."""
    return re.sub(r"\{DATE-(\d+)\}", lambda m: (now - timedelta(days=int(m.group(1)))).date().isoformat(),
                  query)


def show(row: dict[str, Any], relevant: list[Key], n: int) -> None:
    """The top ``n`` runs of both entry points for one question, relevant ones starred."""
    rel = {tuple(k) for k in relevant}
    print(f"\n{row['qid']} [{row['kind']}/{row['split']}] {row['query']}")
    for label in ("search", "search_runs"):
        s = row[label]
        print(f"  {label} ({s['route']}): r@5={s['recall@5']:.2f} rr={s['mrr']:.2f}"
              + (f", {s['unmapped']} rows that are no stored run" if s["unmapped"] else ""))
        for k in s["top"][:n]:
            print(f"    {'*' if tuple(k) in rel else ' '} {' | '.join(k)}")
        if not s["top"]:
            print(f"    (no runs; models: {', '.join(s['models'][:n]) or '-'})")
    print(f"  want: {'; '.join(' | '.join(k) for k in relevant)}")


# -- main --------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("MODELLAKE_CARDS_DIR") or str(ROOT.parent / "shared" / "cards")
    ap.add_argument("cards_dir", nargs="?", default=default, type=Path)
    ap.add_argument("--queries", type=Path, default=QUERIES, help="judged questions (JSONL)")
    ap.add_argument("--demo", type=Path, default=DEMO_LAKE, help="the demo lake to copy (read only)")
    ap.add_argument("--lake", type=Path, help="build the lake in this new directory and keep it")
    ap.add_argument("--keep", action="store_true", help="keep the temporary lake (its path is printed)")
    ap.add_argument("--list", action="store_true", help="print every run of the lake (for judging)")
    ap.add_argument("--show", type=int, default=0,
                    help="print the top N runs of each question of the tuning half (never the held half)")
    ap.add_argument("--json", type=Path, help="write the figures and per-question results here")
    args = ap.parse_args(argv)
    if not (args.cards_dir / "results").is_dir():
        print(f"no cards folder with results/ at {args.cards_dir}; pass it", file=sys.stderr)
        return 0
    if not (args.demo / "catalog.db").is_file():
        print(f"no demo lake at {args.demo}: build it with `make run` or `modellake demo`", file=sys.stderr)
        return 0

    from modellake.store.lake import Lake
    from modellake.tools.search import search, search_runs

    tmp = None
    if args.lake is None:
        tmp = tempfile.mkdtemp(prefix="modellake-runsq-")
        args.lake = Path(tmp) / "lake"
    elif args.lake.exists() and any(args.lake.iterdir()):
        print(f"{args.lake} is not empty: name a new directory", file=sys.stderr)
        return 0
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    built = build_lake(args.lake, args.cards_dir, args.demo, now)
    t_build = time.perf_counter() - t0
    queries = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]

    with Lake.open(args.lake).catalog() as cat:
        runs = lake_runs(cat, now)
        keys = RunKeys(cat)
        known = {tuple(r["key"]) for r in runs}
        counts = Counter((r["key"][2], r["bucket"]) for r in runs)
        n_models = len(cat.list_models(with_card=False))
        print(f"runs lake {args.lake}: {n_models} models ({built['indexed']} indexed), {len(runs)} runs, "
              f"built in {t_build:.1f}s "
              f"(now = {now.isoformat()})")
        print(f"{'trust':9}" + "".join(f"{f'{b}d ago' if b else 'today':>9}" for b in BUCKETS) + f"{'all':>7}")
        for trust in ("measured", "reported"):
            print(f"{trust:9}" + "".join(f"{counts[(trust, b)]:9d}" for b in BUCKETS)
                  + f"{sum(counts[(trust, b)] for b in BUCKETS):7d}")
        if args.list:
            for r in runs:
                m = ", ".join(f"{k}={v:.4g}" for k, v in list(r["metrics"].items())[:4])
                print(f"  {r['bucket']:2d}d {r['key'][2]:8} {r['key'][0]} | {r['key'][1]} | {m}")

        per_q: list[dict[str, Any]] = []
        for q in queries:
            relevant = [tuple(k) for k in q["relevant"]]
            missing = [k for k in relevant if tuple(k[:3]) not in known]
            if missing:
                print(f"{q['qid']}: judged runs not in the lake: {missing}", file=sys.stderr)
            text = expand(q["query"], now)
            row: dict[str, Any] = {k: q.get(k) for k in ("qid", "kind", "split")}
            row["query"], row["relevant"] = text, [list(k) for k in relevant]
            for label, fn in (("search", search), ("search_runs", search_runs)):
                t1 = time.perf_counter()
                res = fn(cat, text, k=10)
                ms = (time.perf_counter() - t1) * 1000
                ranked, unmapped = keys.ranked(res)
                got = answers(ranked, relevant)
                row[label] = {"route": "runs" if res.query.get("runs") else "models", "ms": round(ms, 1),
                              "models": res.names, "top": [list(k) for k in got[:10]], "unmapped": unmapped,
                              **score(ranked, relevant, res.names)}
            per_q.append(row)
            if args.show and row.get("split") != "held":  # the held half is never read question by question
                show(row, relevant, args.show)

    figures = ("recall@5", "recall@10", "mrr", "models@5")
    groups = [("all", per_q)] + [(k, [r for r in per_q if r["kind"] == k]) for k in KINDS] \
        + [(f"split {s}", [r for r in per_q if r["split"] == s]) for s in ("tune", "held")]
    summary: dict[str, dict[str, Any]] = {}
    print(f"\n{len(per_q)} questions; " + ", ".join(f"{k} {sum(r['kind'] == k for r in per_q)}" for k in KINDS))
    print(f"{'':14}{'n':>4} | {'search: r@5':>11} {'r@10':>6} {'MRR':>6} {'mod@5':>6} | "
          f"{'search_runs: r@5':>16} {'MRR':>6}")
    for name, rows in groups:
        a = mean([r["search"] for r in rows], figures)
        b = mean([r["search_runs"] for r in rows], figures)
        summary[name] = {"n": len(rows), "search": a, "search_runs": b}
        print(f"{name:14}{len(rows):4d} | {a['recall@5']:11.3f} {a['recall@10']:6.3f} {a['mrr']:6.3f} "
              f"{a['models@5']:6.3f} | {b['recall@5']:16.3f} {b['mrr']:6.3f}")
    routed = sum(r["search"]["route"] == "runs" for r in per_q)
    lat = sorted(r["search"]["ms"] for r in per_q)
    print(f"search routed {routed}/{len(per_q)} questions to search_runs; latency p50 "
          f"{lat[len(lat) // 2]:.0f} ms, max {lat[-1]:.0f} ms" if lat else "")
    r5 = summary["all"]["search"]["recall@5"]
    print(f"target recall@5 >= {TARGET_RECALL5} on search: {r5:.3f}, "
          f"{'met' if r5 >= TARGET_RECALL5 else 'NOT met'} (reported only: exit status 0)")
    if args.json:
        args.json.write_text(json.dumps({
            "now": now.isoformat(), "lake": {**built, "runs": runs,
                                             "counts": {f"{t}/{b}d": n for (t, b), n in sorted(counts.items())}},
            "summary": summary, "questions": per_q}, indent=1, default=str))
    if tmp is not None and not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    elif tmp is not None:
        print(f"lake kept at {args.lake}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
