"""Questions about many models at once: select, attach facts, rank, count, with ties kept.

:func:`query_models` is one typed operation over the lake that composes what people ask:
*select* models (by name, by filters on size, format, license, architecture, task, card, by
lineage relation to a model: parents, ancestors, children, descendants, siblings, family,
roots), *attach* facts (parameters, size on disk, format, quantization, license, layers,
scores on a task...), then *rank* them (largest / smallest, best / worst on a task) or
*count* them. Ties are kept as ties. Its :class:`ModelQuery` renders the direct answer.
"""
from __future__ import annotations

import re
from typing import Any, Literal

from modellake.store.errors import ModelLakeError, NotFoundError, UsageError
from modellake.store.records import ModelRecord
from modellake.tools.model_view import name_facts
from modellake.tools.query.facts import FACTS, Fact, get_fact
from modellake.tools.query.filters import declared_bases, passes, task_of, text_hits
from modellake.tools.query.relations import RELATIONS, related
from modellake.tools.query.result import ModelQuery, Row
from modellake.tools.query.scores import (
    TaskScores,
    lake_tasks,
    resolve_task,
    round_score,
    task_scores,
)
from modellake.tools.rendering import plural, score_pair
from modellake.tools.toolspec import ToolContext

__all__ = ["FACTS", "RELATIONS", "Fact", "ModelQuery", "Row", "query_models", "resolve_task"]

Relation = Literal["parents", "ancestors", "children", "descendants", "siblings", "family", "roots"]


def query_models(ctx: ToolContext, names: list[str] | None = None,
                 relation: Relation | None = None, of: str | None = None,
                 architecture: str | None = None, format: str | None = None,
                 quantized: bool | None = None, license: str | None = None,
                 task: str | None = None, has_card: bool | None = None,
                 min_parameters: int | None = None, max_parameters: int | None = None,
                 base_model: str | None = None, text: str | None = None,
                 derivation: str | None = None, has_weights: bool | None = None,
                 exclude: list[str] | None = None, show: list[str] | None = None, rank_by: str | None = None,
                 order: Literal["best", "worst", "highest", "lowest"] = "best",
                 top: int | None = None, count_only: bool = False,
                 group_by: str | None = None, place_of: str | None = None,
                 same_as: str | None = None, same: list[str] | None = None,
                 quantization: str | None = None, min_score: float | None = None,
                 max_score: float | None = None, has_runs: bool | None = None) -> ModelQuery:
    """Select models, attach facts, rank or count them, ties kept: "the smallest model", "how many
    GGUF models", "descendants of X", "best on sentiment among X's children", "licenses of A and B".

    Args:
        names: only these models (lake names).
        relation: select by lineage relation to ``of``: parents, ancestors, children, descendants,
            siblings, family, or roots (no ``of``).
        of: the model the relation is about.
        architecture: only models of this architecture (bert, llama, gemma3...); "not bert":
            the others (so too format and license).
        format: only this storage format: safetensors, pytorch, gguf, adapter, card.
        quantized: true for quantized models only, false for the others.
        quantization: only models quantized by this method or type, as the weights store it or a
            card-only model's name says: awq, gptq, q4_k_m, q8_0, int8, 4-bit...
        license: only models whose card declares this license ("none": no license; several,
            comma-separated: any of them).
        task: only models for this task, in the user's words: a benchmark task with scores
            ("sentiment", "topic classification") or a card task ("text-generation").
        has_card: true for models with a card, false for those without.
        min_parameters: only models with at least this many parameters.
        max_parameters: only models with at most this many parameters.
        base_model: only models whose card (or adapter config) declares this base model ("any":
            those that declare one, "none": those that declare none, "lake": those whose declared
            base model is in the lake too).
        text: only models whose name, card metadata or card text mention these words (a
            keyword filter, best matches first; search_models understands needs).
        has_weights: true for models whose weights are in the lake, false for card-only ones.
        exclude: leave these models out ("the other GGUF model").
        derivation: only models derived this way (finetune, quantized, pruned, merge, adapter,
            or any): with a relation, the relatives reached by such a step; without, every model
            whose weights show it was made this way from a parent in the lake ("any": every model
            with a parent in the lake, each with that parent).
        show: facts to give for each model: parameters, bytes (size on disk), format, quantization,
            architecture, layers, license, task, language, datasets, base_model, has_card,
            ingested, score:TASK (TASK in the user's words), or scores (every task scored).
        rank_by: a numeric fact to rank by (parameters, bytes, layers, ingested, score:TASK, or
            score:TASK:METRIC for another metric than the task's first), count:descendants /
            count:children (how many models derive from each), count:runs (how many benchmark runs
            are stored for each), gain:TASK (its score on TASK less its parent's), language_count,
            or confidence (of the inferred link that reaches each model, with a relation or
            derivation).
        order: best / highest first (largest, best score) or worst / lowest first (smallest,
            worst score); "best" and "worst" follow the task's direction (lower perplexity is
            better).
        top: keep this many places of the ranking (ties share a place); none: all.
        count_only: answer with the count and the names only.
        same_as: only models that share the facts in ``same`` with this model (it left out):
            "which models share X's architecture".
        same: the facts ``same_as`` compares (default: architecture).
        place_of: with ``rank_by``, a model whose place in the ranking to give first ("how does
            X rank on sentiment?").
        group_by: count the selected models per value of this fact (architecture, format,
            quantization, license, task, language, base_model, has_card): "how many models of
            each architecture".
        min_score: with ``task``, only models scoring at least this on it ("still hits 0.95";
            90 on a task scored 0-1 reads as 0.9).
        max_score: with ``task``, only models scoring at most this on it.
        has_runs: true for models with stored benchmark runs (measured or reported), false for
            those with none ("which models have been benchmarked"); count:runs shows how many.
    """
    catalog = ctx.catalog
    all_models = catalog.list_models()
    q = ModelQuery(total_in_lake=len(all_models), order=order, count_only=count_only)
    scores_of = _Scores(catalog, q)
    by_name = {m.name: m for m in all_models}
    chosen = _by_derivation(catalog, q, _select(catalog, q, by_name, names, relation, of),
                            derivation, relation)
    asked_for = [c[2] for c in chosen] if names and not relation else []
    filters = {k: v for k, v in (("architecture", architecture), ("format", format),
                                 ("license", license), ("has_card", has_card),
                                 ("min_parameters", min_parameters),
                                 ("max_parameters", max_parameters), ("base_model", base_model))
               if v is not None}
    if task:
        chosen = _by_task(catalog, q, chosen, task, scores_of.task_name, scores_of)
    if min_score is not None or max_score is not None:
        chosen = _by_score(q, chosen, task, scores_of, min_score, max_score)
    copies = _derived_by(catalog, "quantized") if quantized or quantization or "quantization" in (show or []) \
        else {}
    sized = {k: v for k, v in filters.items() if k in ("min_parameters", "max_parameters")}
    if sized:  # models a size bound leaves out only because their size is not known
        rest = _narrow(catalog, chosen, {k: v for k, v in filters.items() if k not in sized},
                       quantized, has_weights, exclude, copies)
        q.unknown_size = [c[2] for c in rest if c[0] is not None and c[0].num_parameters is None]
    chosen = _narrow(catalog, chosen, {k: v for k, v in filters.items() if v != "lake"}, quantized, has_weights,
                     exclude, copies)
    if has_runs is not None:
        with_runs = scores_of.run_counts()
        chosen = [c for c in chosen if (with_runs.get(c[2], 0) > 0) == has_runs]
    if base_model == "lake":  # "which models declare a base model that is also in this lake?"
        chosen = [c for c in chosen if c[0] is not None and _base_in_lake(c[0], by_name)]
    if text:
        chosen = _by_words(chosen, text)
    if same_as:
        chosen = _sharing(catalog, q, chosen, same_as, same or ["architecture"], by_name)
    if quantization:
        chosen = _quantized_as(chosen, quantization, copies)
    q.filters = {**filters, **({"task": task} if task else {}), **({"text": text} if text else {}),
                 **({"quantized": quantized} if quantized is not None else {}),
                 **({"has_weights": has_weights} if has_weights is not None else {}),
                 **({"has_runs": has_runs} if has_runs is not None else {}),
                 **({"exclude": list(exclude)} if exclude else {}),
                 **({"quantization": quantization} if quantization else {})}
    q.rows = [_row(m, link, name) for m, link, name in chosen]
    q.left_out = [n for n in asked_for if n not in {r.name for r in q.rows}]  # named, but filtered out
    if has_weights is not None and not (filters or task or text or quantized is not None or names
                                        or relation):  # "weights vs just a card": both sides
        q.others = sorted(set(by_name) - {r.name for r in q.rows})
    _show(q, catalog, show or [], filters, by_name, scores_of, copies)
    if relation and relation != "roots" and of and q.about in by_name:
        q.about_shown = {**_own_facts(by_name[q.about], show or []), **_own_scores(q, show or [], scores_of)}
    if rank_by:
        _rank(q, rank_by, by_name, scores_of, order, top)
        q.place_of = catalog.get_model(place_of).name if place_of else None
    elif q.task_scored and q.task and q.rows and not count_only:  # scored on a task: best first
        _rank(q, f"score:{q.task}", by_name, scores_of, order, top)
    q.count = len(q.rows)
    if group_by:
        _group(q, group_by, by_name, scores_of)
    return q


def _own_facts(m: ModelRecord, show: list[str]) -> dict[str, str]:
    """The model a relation is about, on the plain facts shown of its relatives ("the license at each step")."""
    out = {}
    for spec in show:
        fact = get_fact(spec)
        if fact is not None and spec not in ("base_model", "has_card"):
            v = fact.value(m)
            out[fact.name] = fact.text(v) if v is not None else "unknown"
    return out


def _own_scores(q: ModelQuery, show: list[str], scores_of: Any) -> dict[str, str]:
    """The model a relation is about, on the tasks its relatives' scores are shown for ("how does it
    compare with that grandparent on T": its own score beside theirs)."""
    out = {}
    for spec in show:
        if spec.lower().startswith("score:"):
            board = scores_of(spec.split(":", 1)[1])
            key = _column_key("score", board, spec)
            v = board.values.get(q.about or "")
            if v is not None:
                out[key] = round_score(v)
    return out


def _quantized_as(chosen: list[Any], method: str, copies: dict[str, Any]) -> list[Any]:
    """The models whose quantization names ``method`` ("awq", "q4_k_m", "4-bit")."""
    want = re.sub(r"[^a-z0-9]", "", method.lower())
    fact = get_fact("quantization")
    out = []
    for c in chosen:
        v = fact.value(c[0]) if c[0] is not None else None
        link = copies.get(c[2])  # a quantized copy stored as float: what its weights show
        said = f"{v or ''} {getattr(link, 'detail', '') or ''}".lower()
        widths = [w for found in re.findall(r"\bq(\d)_|\bint(\d)|(\d)[- ]?bit", said) for w in found if w]
        said += "".join(f" {w}bit int{w}" for w in widths)  # GGUF Q4_K_M is 4-bit
        text = re.sub(r"[^a-z0-9]", "", said)
        if want and want in text:
            out.append(c)
    return out


def _sharing(catalog: Any, q: ModelQuery, chosen: list[Any], same_as: str, facts: list[str],
             by_name: dict[str, ModelRecord]) -> list[Any]:
    """The models whose value of every fact in ``facts`` is that of ``same_as`` (a value the
    lake does not know matches nothing)."""
    ref = by_name[catalog.get_model(same_as).name]
    wanted: list[tuple[Fact, Any]] = []
    for spec in facts:
        fact = get_fact(spec)
        if fact is None:
            raise UsageError(f"no fact named {spec!r}: one of {', '.join(f.name for f in FACTS)}")
        wanted.append((fact, fact.value(ref)))
    q.same_as, q.same = ref.name, {fact.label: fact.text(v) for fact, v in wanted}
    return [c for c in chosen if c[2] != ref.name and c[0] is not None and all(
        v is not None and fact.value(c[0]) == v for fact, v in wanted)]


GROUPABLE = ("architecture", "format", "quantization", "license", "task", "language", "base_model",
             "has_card")


def _group(q: ModelQuery, fact: str, by_name: dict[str, ModelRecord], scores_of: Any) -> None:
    """The rows' names per value of ``fact``, largest group first (a model with several values,
    such as two languages, counts in each)."""
    if fact not in GROUPABLE:
        raise UsageError(f"group_by must be one of {', '.join(GROUPABLE)}, not {fact!r}")
    if fact not in q.columns:
        _attach(q, fact, by_name, scores_of)
    groups: dict[str, list[str]] = {}
    for r in q.rows:
        value = r.values.get(fact)
        if isinstance(value, (list, tuple)):
            keys = [str(v) for v in value if v not in (None, "")] or ["not stated"]
        else:
            keys = ["not stated" if value in (None, "") else
                    "card only (no weights)" if fact == "format" and value == "card" else
                    r.shown.get(fact) or str(value)]
        for key in dict.fromkeys(keys):
            groups.setdefault(key, []).append(r.name)
    q.grouped_by = fact
    q.groups = dict(sorted(groups.items(), key=lambda kv: (kv[0] == "not stated", -len(kv[1]), kv[0])))


class _Scores:
    """Scores on tasks named in people's words, read once per query (``score:TASK[:METRIC]``)."""

    def __init__(self, catalog: Any, q: ModelQuery) -> None:
        self.catalog, self.q = catalog, q
        self.tasks: list[Any] | None = None
        self.boards: dict[str, TaskScores] = {}
        self._runs: dict[str, int] | None = None

    def run_counts(self) -> dict[str, int]:
        """model name -> how many benchmark runs are stored for it (the runs read once per query)."""
        if self._runs is None:
            self._runs = {}
            for run in self.catalog.runs.find():
                self._runs[run.model] = self._runs.get(run.model, 0) + 1
        return self._runs

    def task_name(self, phrase: str) -> str:
        self.tasks = self.tasks if self.tasks is not None else lake_tasks(self.catalog)
        name, how = resolve_task(self.catalog, phrase, self.tasks)
        if name is None:
            known = sorted(t.name for t in self.tasks if t.runs) or sorted(t.name for t in self.tasks)
            raise UsageError(f"no task matches {phrase!r}; the lake has scores on "
                             f"{', '.join(known) or 'no task yet'}")
        if how in ("words", "meaning") and name != phrase:
            self.q.notes.append(f"\"{phrase}\" read as the task {name}")
        return name

    def __call__(self, phrase: str) -> TaskScores:
        phrase, _, metric = phrase.partition(":")  # "sentiment" or "topic-smoke:macro_f1"
        name = self.task_name(phrase)
        key = f"{name}:{metric}" if metric else name
        if key not in self.boards:
            self.boards[key] = task_scores(self.catalog, name, metric or None,
                                           same_data=[t.name for t in self.tasks or [] if t.runs])
        return self.boards[key]


def _by_derivation(catalog: Any, q: ModelQuery, chosen: list[Any], derivation: str | None,
                   relation: str | None) -> list[Any]:
    if not derivation:
        return chosen
    q.derivation = derivation
    if relation:  # the relatives reached by such a step (a card that names no kind stays)
        kept = [c for c in chosen if c[1] is not None and (c[1].relation == derivation or derivation == "any" or (
            c[1].from_card and c[1].relation == "declared"))]
        q.other_derivations = [{"name": c[2], "relation": c[1].relation, "via": c[1].via,
                                "confidence": c[1].confidence, "source": c[1].source,
                                "detail": getattr(c[1], "detail", None)}
                               for c in chosen if c not in kept and c[1] is not None]
        return kept
    made = _derived_by(catalog, derivation)  # any model derived this way from a parent
    return [(c[0], made[c[2]], c[2]) for c in chosen if c[2] in made]


def _base_in_lake(m: ModelRecord, by_name: dict[str, ModelRecord]) -> bool:
    tails = {n.lower().rsplit("/", 1)[-1] for n in by_name if n != m.name}
    return any(b.lower() in {n.lower() for n in by_name} or b.lower().rsplit("/", 1)[-1] in tails
               for b in declared_bases(m))


def _narrow(catalog: Any, chosen: list[Any], filters: dict[str, Any], quantized: bool | None,
            has_weights: bool | None, exclude: list[str] | None,
            copies: dict[str, Any]) -> list[Any]:
    """The selection through the filters on the model records."""
    if quantized is not None:  # stored quantized, a quantized copy its weights show, or a card
        def is_quantized(c: Any) -> bool:  # only model whose name says it
            m = c[0]
            return bool(m.quantization or c[2] in copies or (
                not m.has_weights and name_facts(c[2]).get("quantization")))
        chosen = [c for c in chosen if c[0] is None or is_quantized(c) == quantized]
    if has_weights is not None:
        chosen = [c for c in chosen if c[0] is not None and c[0].has_weights == has_weights]
    if exclude:
        gone = {catalog.get_model(n).name for n in exclude}
        chosen = [c for c in chosen if c[2] not in gone]
    return [c for c in chosen if c[0] is None or passes(c[0], filters)]


def _show(q: ModelQuery, catalog: Any, show: list[str], filters: dict[str, Any],
          by_name: dict[str, ModelRecord], scores_of: Any, copies: dict[str, Any]) -> None:
    """Attach the facts asked for; a quantized copy stored as float says what its weights show."""
    for spec in show:
        if spec in filters and not q.named and filters[spec] not in ("any", "lake"):  # "which models are gguf":
            continue  # the filter says it (not "declare a base model": which one)
        if spec == "scores":
            _attach_all_scores(q, catalog, by_name, scores_of)
        else:
            _attach(q, spec, by_name, scores_of)
    for r in q.rows:
        if r.name in copies and r.values.get("quantization") in (None, "none stored"):
            r.values["quantization"] = "quantized copy"
            r.shown["quantization"] = f"a quantized copy of {copies[r.name].via} (stored as float)"


def _select(catalog: Any, q: ModelQuery, by_name: dict[str, ModelRecord], names: list[str] | None,
            relation: str | None, of: str | None) -> list[tuple[ModelRecord | None, Any, str]]:
    """(record or None for a model outside the lake, relation link, name) per selected model."""
    if relation:
        if relation not in RELATIONS:
            raise UsageError(f"relation must be one of {', '.join(RELATIONS)}, not {relation!r}")
        if relation != "roots":
            if not of:
                raise UsageError(f"relation {relation} needs the model it is about (of)")
            of = catalog.get_model(of).name
        q.relation, q.about = relation, of
        links = related(catalog, relation, of)
        if relation in ("parents", "ancestors") and of in by_name:
            q.declared = declared_bases(by_name[of])
        out = [(by_name.get(x.name), x, x.name) for x in links]
        if names:
            wanted = {catalog.get_model(n).name for n in names}
            out = [o for o in out if o[2] in wanted]
        return out
    if names:
        q.named = True
        return [(by_name[catalog.get_model(n).name], None, catalog.get_model(n).name)
                for n in dict.fromkeys(names)]
    return [(m, None, m.name) for m in by_name.values()]


def _derived_by(catalog: Any, derivation: str) -> dict[str, Any]:
    """model -> its parent link, for the models whose weights show this derivation."""
    from modellake.tools.lineage import infer_lineage
    from modellake.tools.query.relations import Link

    out: dict[str, Any] = {}
    for e in infer_lineage(catalog).edges:
        if e.relation != derivation and derivation != "any":
            continue
        if e.child in out:  # a merge: one edge per parent
            out[e.child].also_via.append(e.parent)
        else:
            out[e.child] = Link(e.child, 1, e.relation, e.parent, e.confidence)
    return out


def _by_task(catalog: Any, q: ModelQuery, chosen: list[Any], task: str, task_name: Any,
             scores_of: Any) -> list[Any]:
    """Models for a task: those scored on the lake's task of that name, else the card's task."""
    notes = len(q.notes)
    try:
        board = scores_of(task)
    except (NotFoundError, UsageError):
        board = None
    if board is None or not board.values:
        del q.notes[notes:]  # no scores there: the card's task is meant, say nothing of a task read
    if board is not None and board.values:
        q.task, q.task_scored = board.task, True
        return [c for c in chosen if c[2] in board.values]
    want = _norm(task)
    kept = [c for c in chosen if c[0] is not None and (_norm(task_of(c[0]) or "") == want or (
        c[0].card is not None and want in {_norm(t) for t in c[0].card.tags}))]
    q.task = task
    return kept


def _by_score(q: ModelQuery, chosen: list[Any], task: str | None, scores_of: Any,
              low: float | None, high: float | None) -> list[Any]:
    """The models whose score on ``task`` is within [low, high] (a percent bound on a task
    scored 0-1 is read as a fraction)."""
    if not task:
        raise UsageError("min_score and max_score need a task: the scores of which task?")
    board = scores_of(task)
    frac = bool(board.values) and max(abs(v) for v in board.values.values()) <= 1.0
    low, high = ((b / 100 if b is not None and frac and b > 1 else b) for b in (low, high))
    q.score_bounds = {"task": board.task, "metric": board.metric, "min": low, "max": high}
    return [c for c in chosen if (v := board.values.get(c[2])) is not None
            and (low is None or v >= low) and (high is None or v <= high)]


def _norm(s: str) -> str:
    return "".join(ch for ch in s.lower() if ch.isalnum())


def _by_words(chosen: list[Any], text: str) -> list[Any]:
    """Models whose name or card mention the words, the best-matching tier first."""
    hits = {c[2]: text_hits(c[0], text) if c[0] is not None else [] for c in chosen}
    kept = sorted((c for c in chosen if hits[c[2]]), key=lambda c: -len(hits[c[2]]))
    if kept:
        top = len(hits[kept[0][2]])
        kept = [c for c in kept if len(hits[c[2]]) >= (top if top <= 2 else top - 1)]
    return kept


def _row(m: ModelRecord | None, link: Any, name: str) -> Row:
    r = Row(name=name, version=m.version if m else None, in_lake=m is not None,
            card_only=m is not None and not m.has_weights)
    if link is not None:
        r.depth, r.relation, r.via = link.depth, link.relation, link.via
        r.confidence, r.source = link.confidence, link.source
        r.also_via = list(getattr(link, "also_via", []))
        r.detail = getattr(link, "detail", None)
    return r


CARD_FIGURES_ROWS = 4  # named models with no run on a task: their cards' tables are read, up to this many


_TASK_FILLER = frozenset("all main test dev validation default en shot shots few zero lab eval benchmark smoke mteb "
                         "huggingfaceh4 open llm leaderboard".split())


def _task_words(task: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z0-9]+", task.lower()) if w not in _TASK_FILLER and len(w) >= 3}


def _kindred_runs(q: ModelQuery, key: str, task: str, catalog: Any) -> None:
    """A named model with no run on the task but one on a task of a kindred name (MMLU-Pro beside
    MMLU): said, as another benchmark, so the two are not read as one."""
    words = _task_words(task)
    for r in q.rows:
        if r.values.get(key) is not None or not words:
            continue
        near = [run for run in catalog.runs.find(model=r.name) if run.task != task and words & _task_words(run.task)]
        if near:
            run = near[0]
            metric, value = next(iter(run.metrics.items()), (None, None))
            shown = f" ({metric} {round_score(value)})" if isinstance(value, (int, float)) else ""
            q.notes.append(f"{r.name} has no result on {task}, but one on {run.task}{shown}: another benchmark, "
                           "not directly comparable")


def _card_figures(q: ModelQuery, key: str, task: str, by_name: dict[str, ModelRecord]) -> None:
    """A named model with no run on the task: what the tables of its card give for it."""
    from modellake.tools.cards.figures import findings

    for r in q.rows:
        m = by_name.get(r.name)
        if r.values.get(key) is None and m is not None and m.card is not None:
            said = findings(m.card.text, r.name, task.replace("_", " "), m.card.metadata.get("base_model"), limit=2)
            q.card_figures += [f"From {r.name}'s card: " + " ".join(said)] if said else []


def _attach(q: ModelQuery, spec: str, by_name: dict[str, ModelRecord], scores_of: Any) -> str:
    """Give every row the value of fact ``spec``; returns the column's key."""
    if spec == "count:runs":
        return _attach_runs(q, scores_of.run_counts())
    if spec in COUNTED:  # "the root with the most descendants": how many relatives of that kind it has
        return _attach_count(q, spec, scores_of.catalog)
    if spec == "confidence":  # how sure the weights are of the link that reaches each model
        for r in q.rows:
            r.values[spec] = r.confidence
            r.shown[spec] = "no inferred link" if r.confidence is None else f"confidence {r.confidence:.2f}" + (
                f" (from {r.via})" if r.via else "")
        q.columns.setdefault(spec, "link confidence")
        return spec
    if spec.lower().startswith("gain:"):
        return _attach_gain(q, spec, scores_of)
    if spec.lower().startswith("score"):
        board = scores_of(spec.split(":", 1)[1] if ":" in spec else (q.task or ""))
        key = _column_key("score", board, spec)
        for r in q.rows:
            v = board.values.get(r.name)
            r.values[key] = v
            other = board.tasks.get(r.name)
            r.shown[key] = "no score" if v is None else round_score(v) + (f" (scored as {other})" if other else "")
            if v is not None and q.named and len(q.rows) == 1 and spec.count(":") < 2:  # "its numbers on squad_v2"
                more = board.other_metrics(scores_of.catalog, r.name)
                if more:
                    r.shown[key] += " (" + ", ".join(f"{k} {round_score(x)}" for k, x in more.items()) + ")"
            for rid in board.run_ids.get(r.name, [])[:3]:
                r.runs.append({"run_id": rid, "model": r.name, "task": other or board.task,
                               "trust": board.trust[r.name]})
        q.columns.setdefault(key, f"{board.metric} on {board.task}")
        q.boards[key] = {"task": board.task, "metric": board.metric,
                         "higher_is_better": board.higher_is_better}
        if q.named and len(q.rows) <= CARD_FIGURES_ROWS:
            _kindred_runs(q, key, board.task, scores_of.catalog)
            _card_figures(q, key, board.task, by_name)
        return key
    fact = get_fact(spec)
    if fact is None:
        raise UsageError(f"no fact named {spec!r}: one of {', '.join(f.name for f in FACTS)} "
                         "or score:TASK")
    for r in q.rows:
        m = by_name.get(r.name)
        v = fact.value(m) if m is not None else None
        in_table = v is None and fact.name == "parameters" and m is not None and m.card is not None and \
            not m.has_weights
        if in_table:  # a card-only model whose card gives its size in a table ("| large-v3-turbo | 809 M |")
            from modellake.tools.cards.figures import table_size

            found = table_size(m.card.text, m.name)
            v = found[0] if found else None
        r.values[fact.name] = v
        r.shown[fact.name] = "unknown" if v is None else (
            f"{found[1]} parameters (in a table of its card, not measured)" if in_table else fact.text(v))
    q.columns.setdefault(fact.name, fact.label)
    return fact.name


def _column_key(kind: str, board: TaskScores, spec: str) -> str:
    """``score:TASK`` / ``gain:TASK`` under the task's lake name, with ``:METRIC`` when the spec names one."""
    return f"{kind}:{board.task}" + (f":{board.metric}" if spec.count(":") > 1 else "")


def _attach_gain(q: ModelQuery, spec: str, scores_of: Any) -> str:
    """``gain:TASK[:METRIC]``: each model's score on the task less its parent's (of several
    parents, a merge's, the best-scoring one): what deriving it won or lost there."""
    board = scores_of(spec.split(":", 1)[1])
    key = _column_key("gain", board, spec)
    for r in q.rows:
        v = board.values.get(r.name)
        try:
            parents = [x.name for x in related(scores_of.catalog, "parents", r.name) if x.name != r.name]
        except ModelLakeError:
            parents = []
        scored = [(p, board.values[p]) for p in parents if board.values.get(p) is not None]
        if v is None or not scored:
            r.values[key] = None
            r.shown[key] = ("no parent in the lake" if not parents else "no score" if v is None
                            else f"no score for its parent {parents[0]}")
            continue
        parent, pv = max(scored, key=lambda x: x[1] if board.higher_is_better else -x[1])
        d = v - pv
        r.values[key] = d
        mine, theirs = score_pair(v, pv)
        r.shown[key] = (f"{'+' if d > 0 else '-'}{round_score(abs(d))}: {mine} against {theirs} for {parent}"
                        if d else f"0: {mine}, the same as {parent}")
    gains = [r.values[key] for r in q.rows if r.values.get(key) is not None]
    if gains:
        up = sum(1 for d in gains if (d > 0) == board.higher_is_better and d != 0)
        down = sum(1 for d in gains if (d < 0) == board.higher_is_better and d != 0)
        q.notes.append(f"against their parent on {board.task}, {_of(up, len(gains))} scores better, "
                       f"{_of(down, len(gains))} worse and {_of(len(gains) - up - down, len(gains))} the same")
    q.columns.setdefault(key, f"change in {board.metric} on {board.task} against the parent")
    q.boards[key] = {"task": board.task, "metric": f"change in {board.metric}",
                     "higher_is_better": board.higher_is_better}
    return key


def _of(n: int, total: int) -> str:
    return "none" if n == 0 else "every one" if n == total and total > 1 else str(n)


COUNTED = {"count:descendants": ("descendants", "descendant"), "count:children": ("children", "child"),
           "count:runs": ("stored runs", "stored run")}


def _attach_runs(q: ModelQuery, counts: dict[str, int]) -> str:
    """``count:runs``: how many benchmark runs are stored for each model."""
    for r in q.rows:
        r.values["count:runs"] = counts.get(r.name, 0)
        r.shown["count:runs"] = plural(counts.get(r.name, 0), "stored run")
    q.columns.setdefault("count:runs", "stored runs")
    return "count:runs"


def _attach_count(q: ModelQuery, spec: str, catalog: Any) -> str:
    relation, one = COUNTED[spec]
    for r in q.rows:
        try:
            kin = [x for x in related(catalog, relation, r.name) if x.name != r.name]
        except ModelLakeError:
            kin = []
        r.values[spec] = len(kin)
        r.shown[spec] = plural(len(kin), one, relation)
    q.columns.setdefault(spec, relation)
    return spec


def _attach_all_scores(q: ModelQuery, catalog: Any, by_name: dict[str, ModelRecord],
                       scores_of: Any) -> None:
    """A score column for every task on which a selected model has a score."""
    wanted = {r.name for r in q.rows}
    for t in lake_tasks(catalog):
        if not t.runs:
            continue
        board = scores_of(t.name)
        if wanted & set(board.values):
            _attach(q, f"score:{t.name}", by_name, scores_of)


def _rank(q: ModelQuery, spec: str, by_name: dict[str, ModelRecord], scores_of: Any,
          order: str, top: int | None) -> None:
    key = _attach(q, spec, by_name, scores_of)
    board = q.boards.get(key)
    fact = get_fact(key) if board is None else None
    if key in COUNTED:
        fact = Fact(key, COUNTED[key][0], (), lambda m: None, numeric=True, more="most", less="fewest")
    if key == "confidence":
        fact = Fact(key, "link confidence", (), lambda m: None, numeric=True, more="surest", less="least sure")
    if fact is not None and not fact.numeric and fact.name != "ingested":
        raise UsageError(f"cannot rank by {fact.label}: rank by parameters, bytes, layers, "
                         "ingested or score:TASK")
    high_first = order in ("best", "highest")
    if board is not None and order in ("best", "worst"):
        high_first = board["higher_is_better"] == (order == "best")
    have = [r for r in q.rows if r.values.get(key) is not None]
    q.without = [r.name for r in q.rows if r.values.get(key) is None]
    have.sort(key=lambda r: r.values[key], reverse=high_first)
    place, last = 0, object()
    for i, r in enumerate(have):
        if r.values[key] != last:
            place, last = i + 1, r.values[key]
        r.place = place
    q.ranked_total = len(have)
    if top is not None and have:
        far = [r for r in have if r.values[key] == have[-1].values[key]]
        if far and far[0].place and far[0].place > top:  # the other end, for "how far behind the best"
            q.other_end = {"names": [r.name for r in far], "value": far[0].values[key],
                           "shown": far[0].shown.get(key, "")}
        have = [r for r in have if r.place is not None and r.place <= top]
    q.rows = have
    q.ranked_by, q.high_first = key, high_first
    if fact is not None:
        q.ranked_word = fact.more if high_first else fact.less
    else:
        q.ranked_word = ("best" if order in ("best", "highest") else "worst") if order in (
            "best", "worst") else ("highest-scoring" if high_first else "lowest-scoring")
