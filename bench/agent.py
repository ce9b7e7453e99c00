"""Agent benchmark: answer quality per kind of question, and ``ask`` latency cold and warm.

    python bench/agent.py                          # everything below, defaults
    python bench/agent.py --demo-lake .demo/lake   # the demo lake to time on
    python bench/agent.py --hf hf:PATH --hf-limit 20 --out /tmp/agent.json

1. The question sets of ``bench/questions`` (``bench/agent_questions.py``, over the demo,
   family and real-cards lakes): ``held`` (180, the reported set, by an independent writer,
   never read question by question) and the tuning sets ``tune`` (176), ``dev`` ... ``dev7``
   (each by another writer), ``held1`` and ``held2`` (the first and second held-out sets,
   retired once reported): accuracy per split and per kind, invented facts, lake changes,
   warm latency.
2. builtin on the older question sets of ``tests/test_agent_questions.py`` (63) and
   ``tests/test_agent_lake_questions.py`` (40): must keep >= 95%.
3. Latency on the demo lake: a cold ``modellake ask`` process (median of 3) beside a cold
   ``modellake --help`` in the same run (their ratio is what a slower or busier machine does
   not change much), and the warm p50 / p95 of ``Agent.ask`` over common questions.
4. Optionally (``--hf hf:PATH``) an hf: backend on the question set of 2.

Figures go to docs/benchmarks.md ("## Agent").
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEMO_QUESTIONS = [
    "What models are in the lake?",
    "How many parameters does minilm-sentiment have?",
    "What architecture is gemma-3-270m?",
    "Which model is the largest?",
    "Is smollm2-135m-instruct quantized?",
    "What license does all-MiniLM-L6-v2 have?",
    "What is missing from minilm-sentiment's card?",
    "Which models have no card?",
    "What is minilm-sentiment derived from?",
    "Which models were fine-tuned from all-MiniLM-L6-v2?",
    "Compare minilm-sentiment and minilm-sentiment-int8",
    "How sparse is minilm-pruned?",
    "Does gemma-3-270m have tied embeddings?",
    "How many layers does smollm2 have?",
    "What is the context length of gemma-3-270m?",
    "What does the card of all-MiniLM-L6-v2 say about intended uses?",
    "Which models are under 50M parameters?",
    "What's the difference between minilm-merge and minilm-paraphrase?",
    "Tell me about minilm-sentiment-topic",
    "Which model should I use for sentence similarity?",
    "Which of my models came from all-MiniLM-L6-v2 and how do they differ?",
    "Which model cards declare the wrong base model?",
    "find a small encoder for sentiment under 50M params",
    "What are the siblings of minilm-sentiment?",
    "Which models have weights similar to minilm-sentiment?",
    "Draft a card for minilm-sentiment-topic",
    "Which model is best on sts-smoke?",
]


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def latency(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_s": round(statistics.median(values), 3),
            "p95_s": round(pct(values, 0.95), 3), "max_s": round(max(values), 3),
            "mean_s": round(statistics.fmean(values), 3)}


def question_set(agent: Any, limit: int | None = None, verbose: bool = False,
                 questions: list | None = None, values: dict[str, str] | None = None) -> dict[str, Any]:
    from test_agent_questions import QUESTIONS, check

    from modellake.agent.errors import AgentFailed

    rows, times = [], []
    for i, (q, facts, forbidden) in enumerate((questions or QUESTIONS)[:limit]):
        facts = [tuple(a.format(**(values or {})) for a in alts) for alts in facts]
        t0 = time.perf_counter()
        try:
            final = agent.ask(q, thread_id=f"bench-{i}-{time.time_ns()}")
            answer, calls = final.answer, final.tool_calls
        except AgentFailed as exc:
            answer, calls = f"(failed: {exc})", []
        times.append(time.perf_counter() - t0)
        problems = check(answer, facts, forbidden)
        rows.append({"question": q, "ok": not problems, "problems": problems,
                     "tool_calls": calls, "answer": answer[:400], "seconds": round(times[-1], 3)})
        if verbose:
            print(f"  [{'ok' if not problems else 'WRONG'}] {times[-1]:6.2f}s  {q}", flush=True)
    right = sum(r["ok"] for r in rows)
    return {"questions": len(rows), "right": right, "accuracy": round(right / len(rows), 3),
            "called_a_tool": sum(bool(r["tool_calls"]) for r in rows),
            "latency": latency(times), "rows": rows}


def bench_builtin(lake: Path, verbose: bool, questions: list | None = None,
                  values: dict[str, str] | None = None) -> dict[str, Any]:
    from modellake.agent.loop import Agent

    with Agent(lake, llm="builtin") as agent:
        t0 = time.perf_counter()
        agent.ask("list the models", thread_id="warmup")  # loads MiniLM, compiles the graph
        warm = time.perf_counter() - t0
        out = question_set(agent, verbose=verbose, questions=questions, values=values)
    out["first_question_s"] = round(warm, 2)
    return out


def bench_demo(lake: Path, verbose: bool) -> dict[str, Any]:
    from modellake.agent.loop import Agent

    t0 = time.perf_counter()
    with Agent(lake, llm="builtin") as agent:
        agent.ask("what models are in the lake?", thread_id="warmup")
        first = time.perf_counter() - t0
        times, calls = [], []
        for i, q in enumerate(DEMO_QUESTIONS):
            t = time.perf_counter()
            final = agent.ask(q, thread_id=f"demo-{i}-{time.time_ns()}")
            times.append(time.perf_counter() - t)
            calls.append([c["tool"] for c in final.tool_calls])
            if verbose:
                print(f"  {times[-1]:6.2f}s  {q} -> {calls[-1]}", flush=True)
    return {"lake": str(lake), "warm": latency(times), "first_question_in_process_s": round(first, 2),
            "under_3s": sum(x < 3.0 for x in times), "questions": len(times)}


def bench_hf(spec: str, lake: Path, limit: int | None, verbose: bool) -> dict[str, Any]:
    from modellake.agent.hf import load
    from modellake.agent.loop import Agent

    t0 = time.perf_counter()
    load(spec.split(":", 1)[1])
    load_s = time.perf_counter() - t0
    with Agent(lake, llm=spec, max_steps=3) as agent:
        out = question_set(agent, limit=limit, verbose=verbose)
    out["load_s"] = round(load_s, 1)
    out["spec"] = spec
    out["max_new_tokens"] = int(os.environ.get("MODELLAKE_HF_MAX_NEW_TOKENS", "200"))
    return out


def question_sets(splits: list[str], demo: Path | None) -> dict[str, Any]:
    """bench/agent_questions.py on each split (its own process, its own lake copies)."""
    out: dict[str, Any] = {}
    for split in splits:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            target = f.name
        cmd = [sys.executable, str(ROOT / "bench" / "agent_questions.py"), "--split", split,
               "--out", target] + (["--demo-lake", str(demo)] if demo else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            out[split] = {"error": proc.stderr.strip()[-500:]}
            continue
        out[split] = json.loads(Path(target).read_text())["summary"]
        Path(target).unlink()
    return out


def cold_start(lake: Path, repeats: int = 3) -> dict[str, Any]:
    """Median wall time of ``modellake --help`` and of a cold ``modellake ask`` (new processes)."""
    exe = str(Path(sys.executable).with_name("modellake"))

    def timed(args: list[str]) -> float:
        t = time.perf_counter()
        subprocess.run([exe, *args], capture_output=True, text=True, cwd=ROOT)
        return time.perf_counter() - t

    helps = sorted(timed(["--help"]) for _ in range(repeats))
    asks = sorted(timed(["--lake", str(lake), "ask", "which model is best on sentiment?"])
                  for _ in range(repeats))
    return {"help_s": round(helps[len(helps) // 2], 2), "ask_s": round(asks[len(asks) // 2], 2),
            "ask_over_help": round(asks[len(asks) // 2] / helps[len(helps) // 2], 2),
            "target_ask_s": 2.5}


def demo_lake(arg: str | None) -> Path | None:
    if arg:
        return Path(arg)
    default = ROOT / ".demo" / "lake"
    return default if (default / "catalog.db").is_file() else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo-lake", help="an existing demo lake (default: .demo/lake if built)")
    ap.add_argument("--build-demo", action="store_true",
                    help="build the demo lake in a temporary directory when none is given")
    ap.add_argument("--hf", default="", help="an hf: backend to score too (e.g. hf:smollm2)")
    ap.add_argument("--splits", default="held,tune,dev,dev2,dev3,dev4,dev5,dev6,dev7,dev8,dev9,dev10,dev11,dev12,"
                    "dev13,dev14,dev15,dev16,held1,held2",
                    help="splits of bench/questions to run ('' to skip)")
    ap.add_argument("--hf-limit", type=int, default=None, help="first N questions only for hf:")
    ap.add_argument("--hf-max-new-tokens", type=int, default=64,
                    help="generation budget per model call for hf: (default 64)")
    ap.add_argument("--out", help="write all results as JSON here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    from agent_lake import build_lake

    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(),
                                           "load_avg_1m": round(os.getloadavg()[0], 2)}}
    demo = demo_lake(args.demo_lake)
    if args.splits:
        print("the question set of bench/questions ...", flush=True)
        results["question_set"] = question_sets(args.splits.split(","), demo)
        for split, summ in results["question_set"].items():
            if "error" in summ:
                print(f"  {split}: failed: {summ['error']}", flush=True)
                continue
            o = summ["overall"]
            print(f"  {split}: {o['right']}/{o['n']} right ({o['accuracy']:.1%})", flush=True)
            for kind, k in sorted(summ["per_kind"].items()):
                print(f"    {kind:18s} {k['right']:3d}/{k['n']:<3d} {k['accuracy']:.0%}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ml-agent-bench-") as tmp:
        print("building the question-set lake ...", flush=True)
        template = build_lake(Path(tmp) / "qset")
        lake = Path(tmp) / "lake-builtin"
        shutil.copytree(template, lake)
        print("builtin on the question set ...", flush=True)
        results["builtin"] = bench_builtin(lake, args.verbose)
        b = results["builtin"]
        print(f"builtin: {b['right']}/{b['questions']} right ({b['accuracy']:.0%}); latency "
              f"p50 {b['latency']['p50_s']}s p95 {b['latency']['p95_s']}s max "
              f"{b['latency']['max_s']}s", flush=True)

        from test_agent_lake_questions import QUESTIONS as FAMILY_QUESTIONS
        from test_agent_lake_questions import build_family_lake

        print("building the family lake (lineage, runs) and asking its questions ...", flush=True)
        fam_lake, values = build_family_lake(Path(tmp) / "family")
        results["builtin_family"] = bench_builtin(fam_lake, args.verbose, FAMILY_QUESTIONS, values)
        b = results["builtin_family"]
        print(f"builtin, family lake: {b['right']}/{b['questions']} right ({b['accuracy']:.0%}); "
              f"latency p50 {b['latency']['p50_s']}s p95 {b['latency']['p95_s']}s max "
              f"{b['latency']['max_s']}s", flush=True)

        if demo is None and args.build_demo:
            from modellake.store.lake import Lake
            from modellake.tools.demo.build import build_demo_models
            from modellake.tools.ingest import ingest

            print("building the demo lake (minutes) ...", flush=True)
            dl = Lake.open(Path(tmp) / "demo" / "lake")
            with dl.catalog() as cat:
                for m in build_demo_models(Path(tmp) / "demo" / "models"):
                    ingest(cat, [m.path], name=m.name)
            demo = dl.root
        if demo is not None:
            print(f"demo lake latency ({demo}) ...", flush=True)
            results["demo"] = bench_demo(demo, args.verbose)
            results["cold"] = cold_start(demo)
            c = results["cold"]
            print(f"cold: modellake --help {c['help_s']}s, modellake ask {c['ask_s']}s "
                  f"(x{c['ask_over_help']} of --help; target {c['target_ask_s']}s)", flush=True)
            d = results["demo"]
            print(f"demo: warm p50 {d['warm']['p50_s']}s p95 {d['warm']['p95_s']}s max "
                  f"{d['warm']['max_s']}s ({d['under_3s']}/{d['questions']} under 3 s)", flush=True)
        else:
            print("demo lake: skipped (give --demo-lake DIR or --build-demo)", flush=True)

        if args.hf:
            os.environ["MODELLAKE_HF_MAX_NEW_TOKENS"] = str(args.hf_max_new_tokens)
            lake_hf = Path(tmp) / "lake-hf"
            shutil.copytree(template, lake_hf)
            print(f"{args.hf} on the question set ...", flush=True)
            results["hf"] = bench_hf(args.hf, lake_hf, args.hf_limit, args.verbose)
            h = results["hf"]
            print(f"{args.hf}: {h['right']}/{h['questions']} right ({h['accuracy']:.0%}), called a "
                  f"tool on {h['called_a_tool']}; load {h['load_s']}s; latency p50 "
                  f"{h['latency']['p50_s']}s p95 {h['latency']['p95_s']}s", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
