"""Questions this lake can answer, made from what it holds (for a refusal, or the web app)."""
from __future__ import annotations

from modellake.store.catalog import Catalog


def example_questions(names: list[str], tasks: list[str], derived: str | None = None,
                      n: int = 3) -> list[str]:
    """Up to ``n`` questions naming the lake's own models and tasks."""
    out = ["Which models are in the lake?"] if not names else []
    if derived or len(names) > 1:
        out.append(f"What is {derived or names[-1]} derived from?")
    if tasks:
        out.append(f"Which model is best on {tasks[0]}?")
    if names:
        out.append(f"How many parameters does {names[0]} have?")
    out += ["Which is the smallest model in the lake?", "Which models are in the lake?"]
    return list(dict.fromkeys(out))[:n]


def lake_examples(catalog: Catalog, n: int = 4) -> list[str]:
    """Example questions for ``catalog``'s lake (cheap: no lineage is inferred)."""
    models = catalog.list_models()
    names = [m.name for m in models]
    derived = next((m.name for m in models if m.card is not None and m.card.base_model), None)
    tasks = sorted({r.task for r in catalog.runs.find(limit=200)})
    return example_questions(names, tasks, derived, n)
