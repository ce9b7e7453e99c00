"""Benchmark and search records render themselves: the answer first, in plain words.

Records are built in code (no model runs); a small catalog of card-only models with stored
runs checks the records that ``list_runs``, ``leaderboard`` and ``compare`` return.
"""
from __future__ import annotations

import math

import pytest

from modellake.store.records import BenchmarkRun, ModelRecord
from modellake.tools import bench
from modellake.tools.bench import (
    BehavesLike,
    BenchError,
    BenchReport,
    CompareRow,
    Comparison,
    ImportReport,
    Leaderboard,
    LeaderboardEntry,
    Neighbour,
    RunList,
    TaskList,
    TaskSpec,
)
from modellake.tools.rendering import Rendered
from modellake.tools.search import SearchHit, SearchResult

BAD = ("{", "}", "None", "nan", "``", "[]", "'")


def first_sentence(text: str) -> str:
    return text.split("\n", 1)[0].split(". ", 1)[0]


def check(record) -> str:
    """What every rendering must hold; returns the text."""
    assert isinstance(record, Rendered)
    text, summary = record.text(), record.summary()
    assert text.strip() and summary.strip()
    assert "\n" not in summary
    for bad in BAD:
        if bad == "'":  # an apostrophe is fine in words; a quoted repr is not
            assert "['" not in text and "{'" not in text
            continue
        assert bad not in text, (bad, text)
        assert bad not in summary, (bad, summary)
    assert "inf" not in text.replace("info", "")
    return text


# --------------------------------------------------------------------------- leaderboard
def entry(model, value, rank=0, trust="measured", n_runs=1, std=None, version=1):
    return LeaderboardEntry(rank=rank, model=model, model_version=version, model_hash="ab" * 32,
                            trust=trust, value=value, std=std, stderr=0.034, n_runs=n_runs,
                            run_ids=[7], source="measured by modellake bench")


def board(entries, **kw):
    for i, e in enumerate(entries, 1):
        e.rank = i
    args = dict(task="sentiment-smoke", metric="accuracy", higher_is_better=True,
                trust=["measured"], task_hash="cd" * 32, entries=entries)
    args.update(kw)
    return Leaderboard(**args)


def test_leaderboard_names_ties_as_ties():
    b = board([entry("a", 0.95), entry("b", 0.95), entry("c", 0.95000000000001), entry("d", 0.9)])
    text = check(b)
    lead = first_sentence(text)
    assert "3 models tie for best" in lead and "accuracy 0.95" in lead
    assert all(n in lead for n in ("a, b and c",))
    assert "d (0.9)" in text  # the rest, in a sentence (a short list)
    assert "tie" in b.summary()


def test_leaderboard_winner_first_rounded_and_no_statistics():
    b = board([entry("minilm-paraphrase", 0.9097877145894805, std=0.0123),
               entry("minilm-merge", 0.8911529847373253)],
              notes=["sentiment-smoke is a smoke-size built-in suite: useful to tell models apart"])
    text = check(b)
    assert first_sentence(text).startswith("minilm-paraphrase is best on sentiment-smoke")
    assert "0.91" in text and "0.9097" not in text and "0.891" in text
    assert "0.0123" not in text and "0.034" not in text  # std, stderr stay in to_dict
    assert "ab" * 32 not in text and "#7" not in text
    assert text.count("sentiment-smoke is a smoke-size") == 1  # a note keeps a name's case
    assert b.to_dict()["entries"][0]["std"] == 0.0123


def test_leaderboard_long_list_is_a_table_with_shared_places():
    values = [0.95, 0.95, 0.9, 0.85, 0.825, 0.825, 0.8]
    b = board([entry(f"m{i}", v) for i, v in enumerate(values)])
    text = check(b)
    assert "| # | model | accuracy |" in text
    assert "| 1 | m1 | 0.95 |" in text and "| 5 | m5 | 0.825 |" in text  # ties share a place
    assert "| 7 | m6 | 0.8 |" in text


def test_leaderboard_all_tie_and_lower_is_better():
    text = check(board([entry("x", 1.0), entry("y", 1.0)]))
    assert first_sentence(text).startswith("Both models tie on sentiment-smoke at accuracy 1")
    low = board([entry("p", 12.3456), entry("q", 15.0)], metric="perplexity",
                higher_is_better=False, task="ppl-smoke")
    text = check(low)
    assert "p is best on ppl-smoke, with perplexity 12.35 (lower is better)" in text


def test_leaderboard_keeps_measured_and_reported_apart():
    b = board([entry("rep", 0.99, trust="reported"), entry("m1", 0.91), entry("m2", 0.85)],
              trust=["measured", "reported"],
              notes=["measured and reported values come from different protocols and data; "
                     "each entry is labelled with its trust level"])
    text = check(b)
    lead = text.split("\n\n")[0]
    assert "m1 among results measured here (accuracy 0.91)" in lead
    assert "rep among reported results (accuracy 0.99)" in lead
    assert "| 1 | m1 | 0.91 | measured |" in text and "| 1 | rep | 0.99 | reported |" in text
    assert text.index("m2") < text.index("| 1 | rep")  # measured ranked first, apart
    assert b.summary().startswith("Best measured on sentiment-smoke: m1")


def test_leaderboard_empty_and_excluded_in_words():
    b = board([], excluded={"other_task_version": 2, "no_such_metric": 1})
    text = check(b)
    assert text.startswith("No measured runs of sentiment-smoke can be ranked yet")
    assert "2 runs on an older version" in text and "1 run without a value for accuracy" in text
    assert "other_task_version" not in text and "no_such_metric" not in text
    assert "`modellake bench MODEL --task sentiment-smoke`" in text


# --------------------------------------------------------------------------- runs
def run(model="m", task="sentiment-smoke", metrics=None, trust="measured", day="2026-12-06",
        kind="classification", rid=1):
    metrics = {"accuracy": 0.95, "macro_f1": 0.9499} if metrics is None else metrics
    return BenchmarkRun(model=model, task=task, metrics=metrics,
                        trust=trust, model_hash="ab" * 32, task_hash="cd" * 32, source="x",
                        created_at=f"{day}T10:00:00+00:00", id=rid, task_kind=kind,
                        stderr={"accuracy": 0.03})


def test_run_list_empty_says_so_and_what_to_do():
    rl = RunList([])
    rl.asked = {"model": "gemma-3-270m", "trust": "all"}
    text = check(rl)
    assert text.startswith("No runs are stored for gemma-3-270m yet.")
    assert "`modellake bench gemma-3-270m --task TASK`" in text
    assert RunList().to_dict() == {"runs": []}
    assert "asked" not in rl.to_dict()


def test_run_list_short_and_long():
    one = RunList([run()])
    text = check(one)
    assert text.startswith("One run is stored: m scored accuracy 0.95 and macro_f1 0.95 on "
                           "sentiment-smoke (measured here, 2026-12-06).")
    many = RunList([run(model=f"m{i}", metrics={"accuracy": 0.9, "f1": math.nan}, rid=i)
                    for i in range(8)] + [run(task="probe-smoke", metrics={}, kind="probe", rid=9)])
    text = check(many)
    assert first_sentence(text).startswith("9 runs are stored (9 models on 2 tasks")
    assert "| model | task | scores |" in text and "all on 2026-12-06" in text
    assert "a fingerprint (a probe set has no score)" in text


# --------------------------------------------------------------------------- compare
def row(task, metric, a, b, better, method="bootstrap", hib=True, trust="measured"):
    diff = b - a
    return CompareRow(task=task, metric=metric, higher_is_better=hib, trust=trust, a=a, b=b,
                      diff=diff, spread=0.03, spread_method=method,
                      exceeds_spread=better in ("a", "b"), better=better,
                      ci95=[diff - 0.05, diff + 0.05], significant=better in ("a", "b"),
                      changed_fraction=0.125, n_samples=40, a_runs=[8], b_runs=[9])


def comparison(rows, **kw):
    return Comparison(a="base@1", b="tuned@1", a_hash="ab" * 32, b_hash="cd" * 32,
                      same_weights=False, trust=["measured"], rows=rows, **kw)


def test_compare_says_who_is_better_task_by_task_and_against_what_spread():
    cmp = comparison([row("sentiment-smoke", "accuracy", 0.825, 0.95, "b"),
                      row("sentiment-smoke", "macro_f1", 0.824, 0.95, "b"),
                      row("sts-smoke", "pearson", 0.875, 0.804, "a"),
                      row("sts-smoke", "spearman", 0.866, 0.81, "same"),
                      row("topic-smoke", "accuracy", 1.0, 0.96875, "same")])
    text = check(cmp)
    lead = text.split("\n\n")[0]
    assert lead.startswith("Neither model is better overall: base is better on sts-smoke, "
                           "tuned on sentiment-smoke")
    assert "level on topic-smoke" in lead
    assert "- sentiment-smoke: tuned is better (accuracy 0.95 against 0.825" in text
    assert "level on spearman (base against tuned: spearman" in text and "base ahead by 0.056)" in text
    assert "beyond the spread from resampling the test examples" in text
    assert "0.0526" not in text and "[" not in text  # spread and interval stay in to_dict
    assert "@1" not in text  # versions only when both share a name


def test_compare_one_winner_and_all_level():
    win = comparison([row("t1", "accuracy", 0.8, 0.9, "b", method="repeats"),
                      row("t2", "accuracy", 0.7, 0.8, "b", method="repeats")])
    text = check(win)
    assert first_sentence(text).startswith("tuned is better than base on every shared task")
    assert "the spread of repeated runs" in text
    level = comparison([row("t1", "accuracy", 0.95, 0.95, "same")])
    text = check(level)
    assert first_sentence(text) == "base and tuned score the same on t1."
    assert "the same for both (accuracy 0.95)" in text


def test_compare_nothing_shared_says_so():
    text = check(comparison([], only_b=["probe-smoke", "sentiment-smoke"]))
    assert text.startswith("base and tuned share no benchmark task yet")
    assert "`modellake bench base --task sentiment-smoke`" in text
    assert check(comparison([])).startswith("Neither base nor tuned has measured runs yet")


def test_behaves_like_ties_and_empty():
    ns = [Neighbour("x", 1, 0.959, 0.79, 0.92, True, 3), Neighbour("y", 1, 0.959, 0.7, 0.9, True, 4),
          Neighbour("z", 1, 0.5, 0.4, None, False, 5)]
    bl = BehavesLike(model="q", task="probe-smoke", task_hash="ab" * 32, method="linear CKA",
                     neighbours=ns, missing=["gemma"])
    text = check(bl)
    assert first_sentence(text).startswith("2 models tie as the ones behaving most like q")
    assert "x and y" in first_sentence(text)
    assert "another weight layout" in text and "--run-missing" in text
    empty = BehavesLike(model="q", task="probe-smoke", task_hash="", method="")
    assert check(empty).startswith("No other model has a fingerprint")


# --------------------------------------------------------------------------- tasks, bench, import
def spec(name, kind="classification", metrics=("accuracy", "macro_f1")):
    return TaskSpec(name=name, kind=kind, description=f"Smoke-size {name}", data="x.jsonl",
                    metrics=list(metrics), smoke=True)


def test_task_list_short_list_and_table():
    short = TaskList([spec("sentiment-smoke"), spec("probe-smoke", "probe", ())])
    text = check(short)
    assert text.startswith("2 benchmark tasks can run here, all built in and smoke-size")
    assert "- probe-smoke: probe set, no score." in text and "behaves-like" in text
    long = TaskList([spec(f"t{i}") for i in range(7)])
    assert "| task | kind | scored by | description |" in check(long)
    assert check(TaskList()).startswith("No benchmark task is defined here.")


def test_bench_report_scores_and_failures():
    rep = BenchReport(runs=[run(model="m1"), run(model="m2", metrics={"accuracy": 0.825})],
                      errors=[BenchError("g", "sentiment-smoke", "model g: cannot classify"),
                              BenchError("g", "sts-smoke", "model g: cannot classify")],
                      duration_s=75.4)
    text = check(rep)
    assert text.startswith("Stored 2 new measured runs in 1 min 15 s")
    assert "- m2 on sentiment-smoke: accuracy 0.825" in text
    assert "g could not run sentiment-smoke and sts-smoke. Cannot classify." in text
    assert "; 2 model/task pairs could not run" in rep.summary()
    one = BenchReport(runs=[run(model="m1")] * 3, duration_s=2.0)
    assert check(one).startswith("m1 scored accuracy 0.95 and macro_f1 0.95 in each of 3 runs")
    none = BenchReport(errors=[BenchError("g", "t", "no tokenizer")])
    assert check(none).startswith("Nothing was stored: g could not run t.")


def test_import_report():
    rep = ImportReport(model="m", file="/tmp/results.json", format="lm-evaluation-harness",
                       runs=[run(task="arc challenge [25-shot]", trust="reported",
                                 metrics={"acc": 0.5551, "acc_norm": 0.575})],
                       duplicates=1, skipped=[{"task": "x", "metric": "f1", "value": "n/a",
                                               "reason": "value is not a number"}],
                       warnings=["the file reports results for org/other, stored under lake model m"])
    text = check(rep)
    assert text.startswith("Imported 1 reported result for m from results.json")
    assert "1 was already stored" in text and "acc 0.555" in text
    assert '--task "arc challenge [25-shot]"' in text
    assert "Skipped 1 entry: x f1 (value is not a number)." in text
    again = ImportReport(model="m", file="r.json", format="model-index", duplicates=4)
    assert check(again).startswith("Nothing new: the 4 results in r.json")


# --------------------------------------------------------------------------- search
def constraint(field, value, status="ok", hard=False, wanted=""):
    return {"kind": "constraint", "field": field, "wanted": wanted, "value": value,
            "source": "weights", "status": status, "hard": hard}


def test_search_best_first_with_reasons_and_conditions():
    hits = [SearchHit("minilm-sentiment", 0.043, [
                {"kind": "passage", "section": "(summary)", "text": "Task: text-classification.",
                 "similarity": 0.6},
                {"kind": "terms", "name": ["sentiment"], "meta": ["sentiment"]},
                constraint("params", "22.7M"), constraint("task", ["text-classification"])]),
            SearchHit("gemma", 0.015, [constraint("task", ["text-generation"], status="fail")])]
    q = {"text": "small encoder for sentiment", "kind": "semantic", "mode": "fused",
         "constraints": [{"field": "params", "op": "prefer_small", "value": None, "hard": False,
                          "source": "query", "text": "small"},
                         {"field": "task", "op": "in", "value": ["text-classification"],
                          "hard": False, "source": "query", "text": "sentiment"}],
         "lineage": None, "results": None}
    res = SearchResult(hits, q, candidates=9)
    text = check(res)
    assert first_sentence(text).startswith("The best match is minilm-sentiment: 22.7M parameters")
    assert '"sentiment" in its name and tags' in text
    assert "- gemma: but its task is text-generation" in text
    assert ('Read from the query: preferred a small model and a text-classification model '
            '(from "sentiment").') in text
    assert "Task: text-classification." not in text  # the index's own summary adds nothing here
    assert "0.043" not in text
    assert hits[0].summary().startswith("minilm-sentiment: 22.7M parameters; ")
    mixed = SearchResult([SearchHit("g", 0.2, [constraint("params", "268M"),
                                               constraint("language", None, status="unknown",
                                                          hard=True)])], q)
    assert check(mixed).startswith("The best match is g: 268M parameters, but its language "
                                   "is not stated.")


def test_search_ties_table_empty_and_behind_note():
    tie = SearchResult([SearchHit("a", 1e-4, [constraint("license", ["mit"], hard=True)]),
                        SearchHit("b", 1e-4, [constraint("license", ["mit"], hard=True)])],
                       {"constraints": [{"field": "license", "op": "in", "value": ["mit"],
                                         "hard": True, "text": "mit"}]})
    text = check(tie)
    assert text.startswith("2 models match equally well: a and b.")
    assert "Read from the query: required license mit." in text
    many = SearchResult([SearchHit(f"m{i}", 1.0 - i / 10, []) for i in range(8)], {})
    assert "| # | model | why |" in check(many)
    empty = SearchResult([], {"constraints": [{"field": "params", "op": "max", "value": 1e6,
                                               "hard": True, "text": "under 1M parameters"}]})
    text = check(empty)
    assert text.startswith("No model in the lake matches the query. Read from the query: required")
    assert "under 1M parameters" in text
    assert check(SearchResult([], {})) == "No model in the lake matches the query."
    behind = SearchResult([SearchHit("a", 0.5, [])], {}).behind_by(3, 6)
    text = check(behind)
    assert "3 models are not in the search index yet" in text
    assert behind.to_dict()["index_behind"] == 3


def test_similar_and_search_runs_records():
    sim = SearchResult([SearchHit("merge", 0.9965, [
                            {"kind": "weights", "family": True, "layout_hash": "e8" * 16,
                             "relative_l2": 0.003547, "cosine": 0.999994},
                            {"kind": "lineage", "path": ["base", "merge"], "relations": ["finetune"],
                             "sources": ["inferred"]}]),
                        SearchHit("pruned", 0.93, [{"kind": "weights", "relative_l2": 0.0755}])],
                       {"similar_to": "base", "basis": "weights"}, candidates=2)
    text = check(sim)
    assert first_sentence(text).startswith("merge is the nearest to base by weights")
    assert "0.355% apart" in text and "descends from base" in text and "7.55% apart" in text
    assert "e8e8" not in text and "0.999994" not in text
    nosim = SearchResult([], {"similar_to": "gemma", "basis": "weights"})
    assert "same tensor layout as gemma" in check(nosim)
    rows = [{"kind": "result", "task": "sentiment-smoke", "dataset": "sentiment-smoke",
             "metric": "accuracy", "value": 0.95, "when": "2026-12-06T13:12:08+00:00",
             "source": "run (measured)", "verified": True, "run_id": 14}]
    found = SearchResult([SearchHit("m", 2.0, rows)],
                         {"runs": True, "since": "2026-11-29T00:00:00+00:00", "measured_only": True,
                          "terms": ["sentiment"], "tasks": ["text-classification"]}, candidates=1)
    text = check(found)
    assert text.startswith('1 model has stored measured results matching "sentiment" since 2026-11-29')
    assert "- m on sentiment-smoke: accuracy 0.95 (measured here, 2026-12-06)" in text
    assert "14" not in text
    none = SearchResult([], {"runs": True, "since": None, "terms": ["ner"], "tasks": []})
    assert check(none).startswith('No stored results match "ner".')


# --------------------------------------------------------------------------- on a small lake
@pytest.fixture
def small_lake(catalog):
    """Card-only models with stored runs: enough for list_runs, leaderboard and compare."""
    from modellake.tools.bench.tasks import get_task, load_task_data

    root = catalog.path.parent
    current = load_task_data(get_task("sentiment-smoke", root)).task_hash
    ids = {}
    for name in ("alpha", "beta", "gamma"):
        ids[name] = catalog.add_model(ModelRecord(name=name, format="card", source=f"/x/{name}",
                                                  content_hash=name * 8)).id
    for name, acc, hash_ in (("alpha", 0.95, current), ("beta", 0.95, current),
                             ("gamma", 0.8, current), ("gamma", 0.99, "stale")):
        catalog.runs.add(BenchmarkRun(model=name, task="sentiment-smoke",
                                      metrics={"accuracy": acc, "macro_f1": acc - 0.01},
                                      stderr={"accuracy": 0.02, "macro_f1": 0.02},
                                      model_hash=name * 8, task_hash=hash_, model_version=1,
                                      task_kind="classification", n_samples=40), ids[name])
    return catalog


def test_records_from_a_small_lake(small_lake):
    board_ = bench.leaderboard(small_lake, "sentiment-smoke")
    text = check(board_)
    assert first_sentence(text).startswith("2 models tie for best on sentiment-smoke at "
                                           "accuracy 0.95: alpha and beta")
    assert "1 run on an older version of sentiment-smoke" in text
    runs = bench.list_runs(small_lake, model="gamma")
    text = check(runs)
    assert text.startswith("2 runs are stored for gamma on sentiment-smoke (all measured here")
    assert check(bench.list_runs(small_lake, task="sts-smoke")).startswith(
        "No runs are stored on sts-smoke yet.")
    cmp = bench.compare(small_lake, "alpha", "gamma")
    text = check(cmp)
    assert first_sentence(text).startswith("alpha is better than gamma on sentiment-smoke")
    assert "beyond the runs' standard errors" in text
    assert "benchmark tasks can run here" in check(bench.list_tasks(small_lake))


def test_a_passage_says_whether_it_quotes_the_card_or_the_lakes_digest():
    from modellake.tools.search.hits import why_text

    digest = why_text({"kind": "passage", "section": "(summary)", "text": "Task: text-classification."})
    assert digest.startswith('what the lake read of it: "Task')  # built by the lake, not the card's words
    quoted = why_text({"kind": "passage", "section": "Mini > Intended uses", "text": "Use it for reviews."})
    assert quoted.startswith('its card (Intended uses): "Use it')


def test_two_scores_that_round_alike_are_told_apart():
    from modellake.tools.rendering import score_pair

    assert score_pair(0.28, 0.2795) == ("0.28", "0.2795")
    assert score_pair(0.95, 0.95) == ("0.95", "0.95")
    assert score_pair(0.866, 0.81) == ("0.866", "0.81")
