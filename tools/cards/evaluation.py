"""Evaluation: the model-index (measured runs only), testing data and metrics, the results
table (measured and reported runs), and the comparison with each inferred parent."""
from __future__ import annotations

from typing import Any

from modellake.store.records import BenchmarkRun
from modellake.tools.cards.drafting import Draft
from modellake.tools.cards.facts import TASK_KIND_PIPELINE, higher_is_better, markers
from modellake.tools.cards.text import num

MAX_RESULT_ROWS = 40
REPORTED_NOTE = ("`reported` rows are imported claims, not re-measured here; the model-index "
                 "lists measured runs only.")
RESULTS_HEAD = ("| Task | Metric | Value | ± stderr | Trust | Evidence |", "|---|---|---|---|---|---|")
STATIC_LINES = (REPORTED_NOTE, *RESULTS_HEAD)  # lines of a draft that state nothing


def model_index(d: Draft) -> None:
    """``eval_results`` for the YAML: one per metric of each measured run."""
    from huggingface_hub import EvalResult

    out = []
    for run in d.f.measured:
        ev = d.run_ev(run)
        task_type = TASK_KIND_PIPELINE.get(run.task_kind) or d.meta.get("pipeline_tag") or "other"
        for metric, value in sorted(run.metrics.items()):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            out.append(EvalResult(
                task_type=task_type, task_name=run.task, dataset_type=run.task,
                dataset_name=run.task, metric_type=metric, metric_value=round(float(value), 4),
                metric_name=f"{metric} (modellake run {run.id})"))
        d.section("results", [ev])
    if out:
        d.meta["eval_results"] = out


def evaluation(d: Draft) -> None:
    """Testing data and metrics, the results table, the comparison with the parents."""
    measured, reported = d.f.measured, d.f.reported
    if not measured and not reported:
        return
    _testing_data(d, measured)
    _results(d, measured + reported, bool(reported))
    _against_parents(d, measured)


def _testing_data(d: Draft, measured: list[BenchmarkRun]) -> None:
    data_lines, metric_lines = [], []
    for r in measured:
        ev = d.run_ev(r)
        smoke = ", a smoke-size task" if (r.config or {}).get("task_smoke") else ""
        data_lines.append(f"- **{r.task}**: {r.n_samples} examples ({r.task_kind} task{smoke}; "
                          f"data sha256 {r.dataset_hash[:12]}). {ev.marker}")
        metric_lines.append(f"- **{r.task}**: " + ", ".join(
            f"{k} ({'higher' if higher_is_better(r, k) else 'lower'} is better)"
            for k in sorted(r.metrics)) + f". {ev.marker}")
    if data_lines:
        d.fields["testing_data"] = "\n".join(data_lines)
        d.fields["testing_metrics"] = "\n".join(metric_lines)


def _results(d: Draft, runs: list[BenchmarkRun], any_reported: bool) -> None:
    """The results table: one row per metric, at most ``MAX_RESULT_ROWS``."""
    rows: list[str] = []
    for r in runs:
        ev = d.run_ev(r)
        for k, v in sorted(r.metrics.items()):
            if len(rows) >= MAX_RESULT_ROWS:
                break
            se = (r.stderr or {}).get(k)
            rows.append(f"| {r.task} | {k} | {num(v)} | {num(se) if se is not None else '-'} "
                        f"| {r.trust} | {ev.marker} |")
    if len(rows) >= MAX_RESULT_ROWS:
        d.notes.append(f"only the first {MAX_RESULT_ROWS} result rows are shown")
    if rows:
        d.fields["results"] = "\n".join([*RESULTS_HEAD, *rows])
        if any_reported:
            d.fields["results"] += "\n\n" + REPORTED_NOTE


def _against_parents(d: Draft, measured: list[BenchmarkRun]) -> None:
    """Each measured task against the same task's latest run on each inferred parent."""
    summary, evs = [], []
    for e in d.f.lineage.parents:
        pruns = {r.task_hash: r for r in latest_by_task_hash(d.f.parent_runs.get(e.parent, []))}
        for r in measured:
            pr = pruns.get(r.task_hash)
            if pr is None or not r.task_hash:
                continue
            common = sorted(set(r.metrics) & set(pr.metrics))
            if not common:
                continue
            a, b = d.run_ev(r), d.run_ev(pr)
            summary.append(f"- Against its parent {e.parent} on {r.task}: "
                           f"{_differences(r.metrics, pr.metrics, common)}. "
                           f"{markers(a, b, d.edge_ev(e))}")
            evs += [a, b]
    if summary:
        d.fields["results_summary"] = "\n".join(summary)
        d.section("results_summary", evs)


def _differences(mine: dict[str, Any], parent: dict[str, Any], keys: list[str]) -> str:
    return ", ".join(f"{k} {num(mine[k])} vs {num(parent[k])} "
                     f"({'+' if mine[k] - parent[k] >= 0 else ''}{num(mine[k] - parent[k])})"
                     for k in keys)


def latest_by_task_hash(runs: list[BenchmarkRun]) -> list[BenchmarkRun]:
    """The latest measured run of each task (by task hash)."""
    out: dict[str, BenchmarkRun] = {}
    for r in sorted(runs, key=lambda r: r.id or 0, reverse=True):
        if r.trust == "measured" and r.task_hash and r.task_hash not in out:
            out[r.task_hash] = r
    return list(out.values())
