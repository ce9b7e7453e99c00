"""The agent-callable tools: one explicit list of plain typed functions.

How a tool is declared is in :mod:`.toolspec`; a function joins this list with one line,
``tool(f)``. Tools that change the lake are flagged ``mutating=True``; the agent calls them
only when the user asks for the change in their own words, and reports what changed.

Results are typed records or plain dicts; a record's ``to_dict()`` is what the
agent sends back to the model (compact JSON, truncated when large).
"""
from __future__ import annotations

from collections.abc import Sequence

from modellake.store.errors import NotFoundError
from modellake.tools import bench, cards, lineage, search
from modellake.tools.lake_tools import (
    ingest_models,
    list_models,
    read_card,
    remove_model,
    rename_model,
    show_model,
)
from modellake.tools.toolspec import Tool, tool

TOOLS: list[Tool] = [
    tool(list_models),
    tool(show_model),
    tool(read_card),
    tool(ingest_models, mutating=True),
    tool(remove_model, mutating=True),
    tool(rename_model, mutating=True),
    tool(search.search, hide=("mode", "sync_first", "min_params", "quantization", "library"),
         description="Search the lake for models that fit a need, in the user's words: card text "
         "(semantic and lexical), constraints stated in the query or given as arguments (task, "
         "license, size, format, language, architecture), lineage (\"derived from X\") and "
         "reported or measured results; each hit says why it matched.",
         args={"query": "what the user needs, in their words (constraints in it are understood)",
               "k": "how many models to return", "task": "only models for this task",
               "license": "only models under this license",
               "max_params": "only models with at most this many parameters (e.g. 50M)",
               "format": "only models stored in this format (gguf, safetensors, adapter...)",
               "language": "only models for this language", "architecture":
               "only models of this architecture"}),
    tool(search.search_runs, hide=("now",),
         description="Search benchmark results and runs (measured here or reported in cards) by "
         "task, dataset, metric, model and time (\"what did we measure on sentiment last week\").",
         args={"query": "the results wanted, in the user's words", "k": "how many models"}),
    tool(search.similar, hide=("sync_first",),
         description="Models whose weights are most similar to a model's (weight sketches, same "
         "tensor layout; card text for card-only models), nearest first, family members marked.",
         args={"name": "the model to compare with", "k": "how many neighbours"}),
    tool(lineage.lineage, hide=("refresh",)),
    tool(lineage.ancestors, description="Every model a model descends from, inferred from the "
         "weights (parent first, then its parent...), with the relation of each step.",
         args={"name": "the model"}),
    tool(lineage.descendants, description="Every model derived from a model, recursively, "
         "inferred from the weights (children, grandchildren...), with the relation of each step.",
         args={"name": "the model"}),
    tool(lineage.siblings, description="Models that share a parent with a model (inferred from "
         "the weights).", args={"name": "the model"}),
    tool(lineage.audit, name="audit_lineage",
         description="Check every card's declared base model against the lineage inferred from "
         "the weights: agreements, conflicts (a card naming the wrong parent, with the evidence) "
         "and undocumented models."),
    tool(lineage.diff),
    tool(bench.list_tasks, description="The benchmark tasks that can be run here (built-in "
         "smoke-size suites and the lake's own tasks): name, kind, metrics, size."),
    tool(bench.bench, name="run_benchmark", mutating=True,
         description="Run benchmark tasks on models and store each run with its provenance. "
         "Adds runs to the lake: only when the user asks to benchmark or evaluate.",
         args={"models": "lake names of the models to evaluate",
               "tasks": "task names (see list_tasks)", "repeats": "runs per model and task"},
         hide=("seed", "batch_size", "max_length", "keep_outputs", "device", "threads", "head",
               "verify", "on_progress")),
    tool(bench.leaderboard, hide=("plot", "current_only")),
    tool(bench.compare, name="compare_runs", hide=("n_boot", "seed")),
    tool(bench.list_runs),
    tool(bench.behaves_like, hide=("run_missing", "device", "threads", "on_progress")),
    tool(bench.import_results, mutating=True),
    tool(cards.draft_card, hide=("repo_id", "writer", "infer_lineage")),
    tool(cards.check_card, hide=("text", "infer_lineage")),
]


def get_tool(name: str, tools: Sequence[Tool] | None = None) -> Tool:
    for t in tools if tools is not None else TOOLS:
        if t.name == name:
            return t
    raise NotFoundError(f"no tool named {name!r}")
