"""Comparing models: two versions task by task (``compare``), or one against the whole lake
by behavioural fingerprint (``behaves-like``).

Runs compare only on the same task definition and data (``task_hash``); measured and
reported values are never compared with each other.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modellake.store.catalog import Catalog
from modellake.store.errors import TaskError
from modellake.store.records import BenchmarkRun, ModelRecord
from modellake.tools.bench import stats as st
from modellake.tools.bench.records import (
    JsonRecord,
    Progress,
    finite,
    lake_root_of,
    metric_direction,
    trust_levels,
)
from modellake.tools.bench.results import (
    TABLE_FROM,
    bullets,
    capped_table,
    gap,
    named,
    reason,
    same_value,
    score,
    sentence,
    shell_arg,
)
from modellake.tools.bench.runs import BenchError, bench
from modellake.tools.bench.tasks import get_task, load_task_data
from modellake.tools.rendering import join, plural, score_pair

__all__ = ["BehavesLike", "CompareRow", "Comparison", "Neighbour", "behaves_like", "compare"]


def _apart(x: Any, y: Any) -> tuple[str, str]:
    """Two scores as read, told apart when they round alike (0.28 against 0.2795)."""
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return score_pair(float(x), float(y))
    return score(x), score(y)


# =========================================================================== compare
@dataclass
class CompareRow(JsonRecord):
    """One metric of one task, for models A and B (``diff`` = B - A)."""

    task: str
    metric: str
    higher_is_better: bool
    trust: str
    a: float | None
    b: float | None
    diff: float | None
    spread: float | None
    spread_method: str            # repeats | bootstrap | stderr | none
    exceeds_spread: bool | None
    better: str | None            # "a" | "b" | "same" (within the spread) | None (unknown)
    ci95: list[float] | None      # paired bootstrap 95% interval of B - A over the examples
    significant: bool | None      # ci95 excludes 0: the difference holds when examples are resampled
    changed_fraction: float | None  # share of examples whose output differs between A and B
    n_samples: int | None
    a_runs: list[int]
    b_runs: list[int]
    note: str = ""


@dataclass
class Comparison(JsonRecord):
    """``compare A B``: per task and metric, the difference and whether it exceeds the spread."""

    a: str
    b: str
    a_hash: str
    b_hash: str
    same_weights: bool
    trust: list[str]
    rows: list[CompareRow] = field(default_factory=list)
    behaviour: list[dict[str, Any]] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    spread_definition: str = (
        "repeats: std of the metric over repeated runs of the same model (pooled), as the std "
        "of the difference of the two means; exceeds_spread when |diff| > 2 x spread (or > 0 "
        "when repeats are identical). bootstrap (one run each): std of the difference under a "
        "paired bootstrap over the per-sample outputs; exceeds_spread when the 95% interval "
        "excludes 0. stderr (reported runs): sqrt(se_a^2 + se_b^2); exceeds when |diff| > 1.96 x spread. "
        "Independently, `significant` says whether the paired-bootstrap 95% interval of the "
        "difference over the examples excludes 0, and `changed_fraction` how many examples' "
        "outputs differ at all.")

    # -- words -----------------------------------------------------------------------------
    def _names(self) -> tuple[str, str]:
        """The two models as people name them (the version only when both share a name)."""
        na, nb = self.a.rpartition("@")[0] or self.a, self.b.rpartition("@")[0] or self.b
        return (self.a, self.b) if na == nb else (na, nb)

    def _groups(self) -> dict[tuple[str, str], list[CompareRow]]:
        """The rows by (trust, task), in order."""
        out: dict[tuple[str, str], list[CompareRow]] = {}
        for r in self.rows:
            out.setdefault((r.trust, r.task), []).append(r)
        return out

    @staticmethod
    def _verdict(rows: list[CompareRow]) -> str:
        """a | b (better on some metric, worse on none) | mixed | same | unknown | note."""
        if all(not r.metric for r in rows):
            return "note"
        wins = {r.better for r in rows if r.metric}
        if {"a", "b"} <= wins:
            return "mixed"
        for side in ("a", "b"):
            if side in wins:
                return side
        return "same" if "same" in wins else "unknown"

    def summary(self) -> str:
        a, b = self._names()
        verdicts = [self._verdict(rs) for rs in self._groups().values()]
        if not verdicts:
            return f"{a} and {b} share no benchmark task yet."
        na, nb = verdicts.count("a"), verdicts.count("b")
        n = plural(len(verdicts), "shared task")
        if na and not nb:
            return f"{a} is better than {b} on {na} of {n}."
        if nb and not na:
            return f"{b} is better than {a} on {nb} of {n}."
        if na or nb:
            return f"{a} is better on {na}, {b} on {nb} of {n}."
        return f"{a} and {b} are level on {n}."

    def text(self) -> str:
        a, b = self._names()
        groups = self._groups()
        paras: list[str] = []
        if not groups and not self.behaviour:
            return self._nothing_shared()
        lead = f"{a} and {b} have identical weights. " if self.same_weights else ""
        if groups:
            paras.append(lead + self._lead(groups))
            paras.append(self._detail(groups))
        elif lead:
            paras.append(lead.strip())
        paras += [self._behaviour_text(row) for row in self.behaviour]
        paras.append(self._one_sided())
        if any(r.spread_method == "bootstrap" and r.better == "same" for r in self.rows):
            paras.append("To measure the run-to-run spread as well, run both again with "
                         "`--repeats 3`.")
        return "\n\n".join(p for p in paras if p)

    def _lead(self, groups: dict[tuple[str, str], list[CompareRow]]) -> str:
        a, b = self._names()
        by: dict[str, list[str]] = {}
        for (trust, task), rows in groups.items():
            label = f"{task} (reported)" if trust == "reported" and len(self.trust) > 1 else task
            by.setdefault(self._verdict(rows), []).append(label)
        wa, wb, same = by.get("a", []), by.get("b", []), by.get("same", [])
        mixed, unknown = by.get("mixed", []), by.get("unknown", [])
        n = len(groups)
        if wa and not wb and not mixed:
            head = (f"{a} is better than {b} on every shared task ({join(wa)})" if not same and n > 1
                    else f"{a} is better than {b} on {join(wa)}")
        elif wb and not wa and not mixed:
            head = (f"{b} is better than {a} on every shared task ({join(wb)})" if not same and n > 1
                    else f"{b} is better than {a} on {join(wb)}")
        elif wa or wb:
            parts = ([f"{a} is better on {join(wa)}"] if wa else []) + (
                [f"{b} on {join(wb)}"] if wb else [])
            head = "Neither model is better overall: " + ", ".join(parts)
        elif same:
            all_zero = all(same_value(r.diff, 0.0) for r in self.rows if r.metric)
            head = (f"{a} and {b} score the same on " if all_zero else
                    f"{a} and {b} are level on ") + (
                f"every shared task ({join(same)})" if n > 1 and not mixed and not unknown
                else join(same)) + ("" if all_zero else ": every difference is within the spread (noise)")
            same = []
        else:
            head = ""
        tails = []
        if same:
            tails.append(f"they are level on {join(same)}")
        if mixed:
            tails.append(f"on {join(mixed)} each is better on a different metric")
        if unknown:
            tails.append(f"on {join(unknown)} the spread is unknown, so it is unclear which is better")
        if not head:  # starts with our own words, not a model's name
            text = "; ".join(tails)
            return sentence(text[:1].upper() + text[1:])
        return head + ("; " + "; ".join(tails) if tails else "") + "."

    def _detail(self, groups: dict[tuple[str, str], list[CompareRow]]) -> str:
        lines = []
        for (trust, task), rows in groups.items():
            label = f"{task} (reported)" if trust == "reported" else task
            lines.append(f"{label}: " + "; ".join(self._clauses(rows)) + ".")
        return bullets(lines) + self._spread_words()

    _SPREAD = {"repeats": "the spread of repeated runs",
               "bootstrap": "the spread from resampling the test examples (each model ran once)",
               "stderr": "the runs' standard errors"}

    def _spread_words(self) -> str:
        """What "better" and "level" were judged against, said once."""
        methods = [m for m in dict.fromkeys(r.spread_method for r in self.rows if r.metric)
                   if m in self._SPREAD]
        if not methods:
            return ""
        against = join([self._SPREAD[m] for m in methods], "or")
        return (f"\n\nBetter means the difference goes beyond {against}; level means it stays "
                "within it.")

    def _clauses(self, rows: list[CompareRow]) -> list[str]:
        """What the rows of one task say, metrics with the same verdict together."""
        a, b = self._names()
        out: list[str] = []
        groups: dict[str, list[CompareRow]] = {}
        for r in rows:
            if not r.metric:
                out.append(r.note or "no metric to compare")
                continue
            zero = r.better == "same" and same_value(r.diff, 0.0)
            groups.setdefault("zero" if zero else str(r.better), []).append(r)
        several = len(groups) > 1
        for better, rs in groups.items():
            on = f" on {join([r.metric for r in rs])}" if several else ""
            if better in ("a", "b"):
                win = a if better == "a" else b
                pick = (lambda r: (r.a, r.b)) if better == "a" else (lambda r: (r.b, r.a))
                vals = join([(f"{r.metric} " if not several else "") + "{} against {}".format(*_apart(*pick(r)))
                             for r in rs])
                out.append(f"{win} is better{on} ({vals})")
            elif better == "zero":
                out.append(f"the same{on} for both ({join([f'{r.metric} {score(r.a)}' for r in rs])})")
            else:
                vals = join([f"{r.metric} " + "{} against {}".format(*_apart(r.a, r.b)) for r in rs])
                ahead = self._aheads(rs)
                out.append(f"level{on} ({a} against {b}: {vals}; {ahead})" if better == "same" else
                           f"{ahead}{on} ({vals}), but no spread is known to tell whether that is real")
        return out

    def _aheads(self, rs: list[CompareRow]) -> str:
        """"A ahead by 0.03 on accuracy and 0.04 on macro_f1"; one leader named once."""
        leaders = {self._leader(r) for r in rs}
        if len(leaders) == 1:
            return f"{leaders.pop()} ahead by " + join(
                [f"{gap(r.diff)}" + (f" on {r.metric}" if len(rs) > 1 else "") for r in rs])
        return join([f"{self._leader(r)} ahead by {gap(r.diff)} on {r.metric}" for r in rs])

    def _leader(self, r: CompareRow) -> str:
        a, b = self._names()
        up = (r.diff or 0.0) > 0
        return b if up == r.higher_is_better else a

    def _nothing_shared(self) -> str:
        a, b = self._names()
        kinds = join(self.trust, "or")
        if not self.only_a and not self.only_b:
            return (f"Neither {a} nor {b} has {kinds} runs yet, so they cannot be compared. Run "
                    f"`modellake bench {shell_arg(a)} {shell_arg(b)} --task TASK` first "
                    "(`modellake bench --list-tasks` lists the tasks).")
        return (f"{a} and {b} share no benchmark task yet, so they cannot be compared. "
                + self._one_sided())

    def _one_sided(self) -> str:
        a, b = self._names()
        parts = []
        for who, other, tasks in ((a, b, self.only_a), (b, a, self.only_b)):
            if not tasks:
                continue
            which = named(tasks) if len(tasks) <= 8 else f"{len(tasks)} tasks ({named(tasks)})"
            text = f"Only {who} has runs on {which}"
            if self.trust == ["measured"]:
                scored = [t for t in tasks if "probe" not in t] or tasks
                text += (f"; run `modellake bench {shell_arg(other)} --task "
                         f"{shell_arg(scored[0])}` to compare them there")
            elif self.trust == ["reported"]:
                text += (f"; import {other}'s reported results with `modellake import-results "
                         f"FILE --model {shell_arg(other)}` to compare them there")
            parts.append(text + ".")
        return " ".join(parts)

    def _behaviour_text(self, row: dict[str, Any]) -> str:
        task = row.get("task", "the probe set")
        if row.get("identical"):
            return f"On the probe set {task} the two give identical outputs."
        if not finite(row.get("cka")):
            return f"On the probe set {task} their outputs cannot be compared (a fingerprint is missing)."
        text = f"On the probe set {task} their outputs are {likeness(row['cka'])}"
        if row.get("exceeds_spread") is True:
            text += ", further apart than repeated runs of one model"
        elif row.get("exceeds_spread") is False:
            text += ", no further apart than repeated runs of one model"
        return text + "."


def likeness(cka: float) -> str:
    """How alike two fingerprints are, in words (linear CKA: 1 is the same geometry)."""
    if cka >= 0.99:
        return "nearly identical"
    if cka >= 0.9:
        return "very similar"
    if cka >= 0.7:
        return "similar"
    if cka >= 0.4:
        return "somewhat similar"
    return "different"


def _changed(kind: str, a: dict[str, Any], b: dict[str, Any]) -> bool:
    if kind == "classification":
        return a.get("pred") != b.get("pred")
    if kind == "similarity":
        return abs(float(a["pred"]) - float(b["pred"])) > 1e-6
    if "nll" in a and "nll" in b:
        return abs(float(a["nll"]) - float(b["nll"])) > 1e-6 * max(1.0, abs(float(a["nll"])))
    return a != b


def _aligned(ra: BenchmarkRun, rb: BenchmarkRun) -> tuple[list[dict], list[dict]] | None:
    if not ra.outputs or not rb.outputs:
        return None
    ib = {o.get("id"): o for o in rb.outputs}
    pairs = [(o, ib[o.get("id")]) for o in ra.outputs if o.get("id") in ib]
    if not pairs:
        return None
    return [p[0] for p in pairs], [p[1] for p in pairs]


def compare(catalog: Catalog, a: str, b: str, *, tasks: Sequence[str] | None = None,
            trust: str = "measured", n_boot: int = 1000, seed: int = 0) -> Comparison:
    """Compare two model versions task by task, metric by metric.

    Measured rows use runs of the same task definition and data (``task_hash``; the newest
    one both models share; repeated runs pool). Reported rows (``trust="reported"`` or
    ``"all"``) pair the newest reported run of each model by task name, never pooling
    sources. Measured and reported values are never compared with each other. ``behaviour``
    lists probe-set fingerprint similarities (linear CKA, RSA, output cosine).
    """
    ra, rb = catalog.get_model(a), catalog.get_model(b)
    trusts = trust_levels(trust)
    cmp = Comparison(a=f"{ra.name}@{ra.version}", b=f"{rb.name}@{rb.version}",
                     a_hash=ra.content_hash, b_hash=rb.content_hash,
                     same_weights=ra.content_hash == rb.content_hash, trust=trusts)
    want = set(tasks) if tasks else None

    def by_key(rec: ModelRecord, tr: str) -> dict[tuple[str, str], list[BenchmarkRun]]:
        out: dict[tuple[str, str], list[BenchmarkRun]] = defaultdict(list)
        for r in catalog.runs.find(model=f"{rec.name}@{rec.version}", trust=tr,
                                   with_outputs=True):
            if want is None or r.task in want:
                out[(r.task, r.task_hash if tr == "measured" else "")].append(r)
        return out

    for tr in trusts:
        ga, gb = by_key(ra, tr), by_key(rb, tr)
        tasks_a = {k[0] for k in ga}
        tasks_b = {k[0] for k in gb}
        cmp.only_a += sorted(t for t in tasks_a - tasks_b)
        cmp.only_b += sorted(t for t in tasks_b - tasks_a)
        for task in sorted(tasks_a & tasks_b):
            common = [k for k in ga if k[0] == task and k in gb]
            if not common:
                cmp.rows.append(CompareRow(task, "", True, tr, None, None, None, None, "none", None,
                                           None, None, None, None, None, [], [],
                                           note="the two models ran different versions of this "
                                           "task's data; rerun both"))
                continue
            key = max(common, key=lambda k: max(r.id or 0 for r in ga[k] + gb[k]))
            runs_a, runs_b = ga[key], gb[key]
            if tr == "reported":  # never pool reported values from different sources
                runs_a, runs_b = runs_a[:1], runs_b[:1]
            kind = runs_a[0].task_kind
            if kind == "probe":
                cmp.behaviour.append(_behaviour_row(catalog, task, runs_a, runs_b))
                continue
            newest_a, newest_b = runs_a[0], runs_b[0]
            aligned = _aligned(newest_a, newest_b)
            metrics = sorted(set(newest_a.metrics) & set(newest_b.metrics))
            for m in metrics:
                va = [r.metrics[m] for r in runs_a if finite(r.metrics.get(m))]
                vb = [r.metrics[m] for r in runs_b if finite(r.metrics.get(m))]
                if not va or not vb:
                    continue
                row = _compare_metric(task, m, tr, kind, runs_a, runs_b, va, vb, aligned,
                                      n_boot, seed)
                cmp.rows.append(row)
    return cmp


def _compare_metric(task: str, m: str, tr: str, kind: str, runs_a: list[BenchmarkRun],
                    runs_b: list[BenchmarkRun], va: list[float], vb: list[float],
                    aligned: tuple[list[dict], list[dict]] | None,
                    n_boot: int, seed: int) -> CompareRow:
    hib = metric_direction(runs_a + runs_b, m, None)
    ma, mb = float(np.mean(va)), float(np.mean(vb))
    diff = mb - ma
    ci = None
    changed = None
    boot = None
    if aligned is not None and kind in ("similarity", "classification", "perplexity",
                                        "pseudo_perplexity"):
        xa, xb = aligned
        from modellake.tools.bench.kinds import label_codes, metric_stat

        codes = label_codes(xa, xb)
        boot = st.paired_bootstrap(len(xa), metric_stat(kind, xa, codes),
                                   metric_stat(kind, xb, codes), m, n_boot=n_boot, seed=seed)
        if boot:
            ci = [boot["lo"], boot["hi"]]
        changed = sum(_changed(kind, p, q) for p, q in zip(xa, xb)) / len(xa)
    spread: float | None = None
    method = "none"
    exceeds: bool | None = None
    note = ""
    if len(va) > 1 or len(vb) > 1:
        variances = [float(np.var(v, ddof=1)) for v in (va, vb) if len(v) > 1]
        s = math.sqrt(float(np.mean(variances)))
        spread = s * math.sqrt(1 / len(va) + 1 / len(vb))
        method = "repeats"
        tol = 1e-9 * max(1.0, abs(ma), abs(mb))
        exceeds = abs(diff) > max(2 * spread, tol)
        if spread <= tol:
            note = "repeated runs gave identical values: any difference is the models'"
    elif boot is not None:
        spread, method = boot["se"], "bootstrap"
        exceeds = not (boot["lo"] <= 0.0 <= boot["hi"])
        if not exceeds and changed:
            note = (f"outputs differ on {changed:.0%} of the examples, but the difference is "
                    "within what resampling the examples gives; run with repeats to measure "
                    "run-to-run spread")
    else:
        sa = [r.stderr.get(m) for r in runs_a if finite(r.stderr.get(m))]
        sb = [r.stderr.get(m) for r in runs_b if finite(r.stderr.get(m))]
        if sa and sb:
            spread = math.sqrt(float(np.mean(sa)) ** 2 + float(np.mean(sb)) ** 2)
            method = "stderr"
            exceeds = abs(diff) > 1.96 * spread
    better = None
    if exceeds is not None:
        better = "same" if not exceeds else (("b" if diff > 0 else "a") if hib else
                                             ("b" if diff < 0 else "a"))
    n = runs_a[0].n_samples
    return CompareRow(task=task, metric=m, higher_is_better=hib, trust=tr, a=ma, b=mb, diff=diff,
                      spread=spread, spread_method=method, exceeds_spread=exceeds, better=better,
                      ci95=ci, significant=None if ci is None else not (ci[0] <= 0.0 <= ci[1]),
                      changed_fraction=changed, n_samples=n,
                      a_runs=[r.id for r in runs_a if r.id], b_runs=[r.id for r in runs_b if r.id],
                      note=note)


def _fp_similarity(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    return {"cka": st.linear_cka(x, y), "rsa": st.rsa(x, y),
            "cosine": st.mean_row_cosine(x, y) if x.shape == y.shape else None}


def _behaviour_row(catalog: Catalog, task: str, runs_a: list[BenchmarkRun],
                   runs_b: list[BenchmarkRun]) -> dict[str, Any]:
    fa = catalog.runs.fingerprint(runs_a[0].id)
    fb = catalog.runs.fingerprint(runs_b[0].id)
    row: dict[str, Any] = {"task": task, "a_run": runs_a[0].id, "b_run": runs_b[0].id}
    if fa is None or fb is None:
        return {**row, "note": "fingerprint missing"}
    sim = _fp_similarity(fa, fb)
    # run-to-run spread of a fingerprint: 1 - CKA between repeated runs of the same model
    self_d = []
    for rs in (runs_a, runs_b):
        if len(rs) > 1:
            f0, f1 = (catalog.runs.fingerprint(r.id) for r in rs[:2])
            if f0 is not None and f1 is not None:
                self_d.append(1.0 - st.linear_cka(f0, f1))
    distance = 1.0 - sim["cka"]
    row.update(sim, distance=distance, identical=bool(np.array_equal(fa, fb)),
               spread=max(self_d) if self_d else None,
               exceeds_spread=(distance > 2 * max(self_d) + 1e-12) if self_d else None)
    return row


# =========================================================================== behaves like
@dataclass
class Neighbour(JsonRecord):
    """A model whose probe-set outputs resemble the query model's."""

    model: str
    model_version: int | None
    cka: float                 # linear CKA over the probe inputs (1 = same geometry)
    rsa: float                 # Spearman of the input-by-input cosine matrices
    cosine: float | None       # mean cosine of matching outputs (same width only)
    same_layout: bool          # same tensor names and shapes as the query model
    run_id: int | None


@dataclass
class BehavesLike(JsonRecord):
    """``behaves-like NAME``: models ranked by how closely their fingerprints match."""

    model: str
    task: str
    task_hash: str
    method: str
    neighbours: list[Neighbour] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[BenchError] = field(default_factory=list)

    # -- words -----------------------------------------------------------------------------
    def _top(self) -> list[Neighbour]:
        ns = self.neighbours
        return [n for n in ns if same_value(n.cka, ns[0].cka)] if ns else []

    def summary(self) -> str:
        top = self._top()
        if not top:
            return f"No other model has a fingerprint on {self.task} to compare with {self.model}."
        if len(top) > 1:
            return f"{join([n.model for n in top])} tie as the models behaving most like {self.model}."
        return f"{top[0].model} behaves most like {self.model} (CKA {score(top[0].cka)})."

    def text(self) -> str:
        top = self._top()
        if not top:
            paras = [f"No other model has a fingerprint on the probe set {self.task} yet, so "
                     f"nothing can be compared with {self.model}."]
        else:
            where = f"on the probe set {self.task}"
            value = f"linear CKA {score(top[0].cka)}, where 1 means the same"
            if len(top) > 1:
                lead = (f"{len(top)} models tie as the ones behaving most like {self.model} {where} "
                        f"({value}): {join([n.model for n in top])}.")
            else:
                lead = (f"{top[0].model} behaves most like {self.model} {where}: its outputs are "
                        f"{likeness(top[0].cka)} ({value}).")
            paras = [lead, self._others(len(top))]
        paras += [self._missing_text(), self._errors_text()]
        return "\n\n".join(p for p in paras if p)

    def _others(self, skip: int) -> str:
        ns = self.neighbours
        all_same = all(n.same_layout for n in ns)
        if len(ns) >= TABLE_FROM:
            rows = [[i, n.model, score(n.cka), likeness(n.cka)]
                    + ([] if all_same else ["yes" if n.same_layout else "no"])
                    for i, n in enumerate(ns, 1)]
            cols = ["#", "model", "CKA", "outputs"] + ([] if all_same else ["same layout"])
            out = capped_table(cols, rows, "model")
        else:
            rest = ns[skip:]
            if not rest:
                return ""
            out = "Then " + join([f"{n.model} ({score(n.cka)}"
                                  + ("" if all_same or n.same_layout else ", another weight layout")
                                  + ")" for n in rest]) + "."
        if all_same:
            out += ("\n\n" if len(ns) >= TABLE_FROM else " ") + (
                "All of them share its weight layout." if len(ns) > 1 else
                "It shares its weight layout.")
        return out

    def _missing_text(self) -> str:
        if not self.missing:
            return ""
        n = len(self.missing)
        return (f"{plural(n, 'model')} {'has' if n == 1 else 'have'} no fingerprint on {self.task} "
                f"yet ({named(self.missing)}); `modellake behaves-like {shell_arg(self.model)} "
                "--run-missing` runs the probe set on them first.")

    def _errors_text(self) -> str:
        if not self.errors:
            return ""
        return "Could not fingerprint:\n" + bullets(
            [f"{e.model}: {reason(e.model, e.error)}" for e in self.errors])


def behaves_like(catalog: Catalog, name: str, *, task: str = "probe-smoke", top: int = 10,
                 lake_root: str | Path | None = None, run_missing: bool = False,
                 device: str = "cpu", threads: int | None = None,
                 on_progress: Progress | None = None) -> BehavesLike:
    """Models whose outputs on the probe set are closest to ``name``'s, best first.

    Fingerprints are compared by linear CKA over the probe inputs, so models of different
    widths and weight layouts compare. With ``run_missing`` the query model and every other
    current model with weights but no fingerprint are benchmarked on the probe set first
    (loads each model once; refusals are listed in ``errors``).
    """
    root = lake_root_of(catalog, lake_root)
    spec = get_task(task, root)
    if spec.kind != "probe":
        raise TaskError(f"task {spec.name} is a {spec.kind} task, not a probe set; "
                        "pick a task of kind probe (e.g. probe-smoke)")
    data = load_task_data(spec)
    target = catalog.get_model(name)
    result = BehavesLike(model=target.name, task=spec.name, task_hash=data.task_hash,
                         method="linear CKA over the probe inputs' mean-pooled last hidden states")
    have = {r.model for r, _ in catalog.runs.latest_fingerprints(data.task_hash)}
    if run_missing:
        todo = [m.name for m in catalog.list_models(with_card=False)
                if m.name not in have and m.format not in ("card", "adapter")]
        if todo:
            rep = bench(catalog, todo, [spec.path], lake_root=root, device=device,
                        threads=threads, on_progress=on_progress)
            result.errors = rep.errors
    fps = catalog.runs.latest_fingerprints(data.task_hash)
    mine = next(((r, f) for r, f in fps if r.model == target.name), None)
    if mine is None:
        why = next((e.error for e in result.errors if e.model == target.name), None)
        if why:
            raise TaskError(f"model {target.name} could not run the probe set {spec.name}: {why}")
        raise TaskError(f"model {target.name} has no fingerprint on probe set {spec.name} yet: "
                        f"run `modellake bench {target.name} --task {spec.name}`, or behaves-like "
                        "with --run-missing (run_missing) to run the missing fingerprints first")
    layouts = {m.name: m.layout_hash for m in catalog.list_models(with_card=False)}
    for run, fp in fps:
        if run.model == target.name:
            continue
        sim = _fp_similarity(mine[1], fp)
        result.neighbours.append(Neighbour(
            model=run.model, model_version=run.model_version, cka=sim["cka"], rsa=sim["rsa"],
            cosine=sim["cosine"],
            same_layout=bool(layouts.get(run.model)) and layouts.get(run.model) == layouts.get(target.name),
            run_id=run.id))
    result.neighbours.sort(key=lambda n: (-(n.cka if finite(n.cka) else -1), n.model))
    result.neighbours = result.neighbours[:top]
    with_fp = {r.model for r, _ in fps}
    result.missing = sorted(m.name for m in catalog.list_models(with_card=False)
                            if m.name not in with_fp)
    return result
