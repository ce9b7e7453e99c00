"""Questions this lake can answer, made from what it holds (for a refusal, or the web app).

Each question is asked only where the lake holds its answer: parameter questions name models
whose weights were read (a card-only model has no count), the leaderboard question the task
most models were scored on, the search question the task most cards declare."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from modellake.store.catalog import Catalog


def example_questions(names: list[str], tasks: list[str], derived: str | None = None,
                      n: int = 3, *, sized: Sequence[str] | None = None,
                      pipeline: str | None = None) -> list[str]:
    """Up to ``n`` questions naming the lake's own models and tasks.

    ``sized``: the models whose parameter count is known (``None``: not known which, so any);
    ``pipeline``: a task the cards declare, for a search question."""
    sized = names if sized is None else list(sized)
    out = ["Which models are in the lake?"] if not names else []
    if derived or len(names) > 1:
        out.append(f"What is {derived or names[-1]} derived from?")
    if tasks:
        out.append(f"Which model is best on {tasks[0]}?")
    if pipeline:
        out.append(f"Find a {pipeline} model")
    if sized:
        out.append(f"How many parameters does {sized[0]} have?")
    if len(sized) > 1:
        out.append("Which is the smallest model in the lake?")
    out.append("Which models are in the lake?")
    return list(dict.fromkeys(out))[:n]


def lake_examples(catalog: Catalog, n: int = 4) -> list[str]:
    """Example questions for ``catalog``'s lake (cheap: no lineage is inferred)."""
    models = catalog.list_models()
    names = [m.name for m in models]
    declared = [m for m in models if m.card is not None and m.card.base_model]
    def short(n: str) -> str:  # a Hub id's last part names it here
        return n.lower().rsplit("/", 1)[-1]

    here = {short(n) for n in names}
    derived = next((m.name for m in declared  # a model whose declared parent is another lake model
                    if ({short(b) for b in m.card.base_model} - {short(m.name)}) & here),
                   declared[0].name if declared else None)
    scored: dict[str, set[str]] = {}
    for r in catalog.runs.find(limit=500):
        scored.setdefault(r.task, set()).add(r.model)
    tasks = sorted(scored, key=lambda t: (-len(scored[t]), len(t), t))  # most models ran it; short
    sized = [m.name for m in models if m.num_parameters]
    tags = Counter(m.card.pipeline_tag for m in models if m.card is not None and m.card.pipeline_tag)
    pipeline = min(tags, key=lambda t: (-tags[t], t)) if tags and not sized else None
    return example_questions(names, tasks, derived, n, sized=sized, pipeline=pipeline)
