"""The agent-callable tools: one explicit list, each tool declared once.

A declaration (see :mod:`.toolspec`) is the plain typed function plus what only the agent
needs: the name it sees, its description, hidden parameters, whether it changes the lake
(``mutating=True``: called only when the user asks for the change in their own words), and
the words and example questions that route a question to it without an LLM (X and Y stand
for model names). The function's result renders itself (``summary()``, ``text()``,
``to_dict()``; see :mod:`.rendering`). Adding a tool is one module and one entry here.
"""
from __future__ import annotations

from collections.abc import Sequence

from modellake.store.errors import NotFoundError
from modellake.tools import bench, cards, lineage, query, search
from modellake.tools.lake_tools import ingest_models, read_card, remove_model, rename_model, show_model
from modellake.tools.model_view import ASPECTS
from modellake.tools.toolspec import Tool, tool

TOOLS: list[Tool] = [
    tool(query.query_models, name="query_models",
         words=("list", "how many", "which models", "largest", "smallest", "parents",
                "children", "descendants", "siblings", "derived from", "best", "worst"),
         examples=("list the models in the lake", "how many models are there",
                   "which is the smallest model", "which models derive from X",
                   "what is X derived from", "which model is best on sentiment",
                   "what licenses do X and Y have", "which models are stored as GGUF")),
    tool(show_model, values={"about": ASPECTS}, words=("tell me about", "describe", "inspect", "details", "structure",
                            "tied", "sparse", "sparsity", "outliers", "dtype", "precision",
                            "hidden size", "heads", "vocabulary", "context length", "files"),
         examples=("tell me about X", "what is X", "does X have tied embeddings",
                   "how sparse are the weights of X", "what dtype is X stored in",
                   "what is the hidden size of X", "what is missing from X's card",
                   "which files does X have", "how many attention heads does X have")),
    tool(read_card, words=("say", "says", "said", "card say", "card says", "card describe", "card describes",
                           "card description", "mention", "quote",
                           "intended use", "limitations", "bias", "risks", "how was it trained",
                           "training procedure", "citation", "readme"),
         examples=("what does X's card say about limitations", "what are the intended uses of X",
                   "how was X trained according to its card", "show me the model card of X",
                   "quote the training section of X's card")),
    tool(ingest_models, mutating=True, paths=("path",),
         change=lambda a: f"ingest the models found at {a['path']} into the lake"
         + (f" as {a['name']}" if a.get("name") else ""),
         words=("ingest", "add", "import", "register", "load"),
         examples=("ingest PATH", "add the model at PATH to the lake")),
    tool(remove_model, mutating=True, targets=("name",),
         change="remove {name} from the lake (its files on disk stay where they are)",
         words=("delete", "remove", "rm", "drop", "erase", "purge", "get rid of"),
         examples=("delete X", "remove X from the lake")),
    tool(rename_model, mutating=True, targets=("old",), change="rename {old} to {new}",
         words=("rename", "change the name"),
         examples=("rename X to NEW", "change the name of X to NEW")),
    tool(search.search, hide=("mode", "sync_first", "min_params", "quantization", "library", "progress"),
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
               "only models of this architecture"},
         words=("find", "search", "recommend", "suggest", "should i use", "good for", "suitable",
                "i need", "looking for", "a model for", "a model that", "something for"),
         examples=("which model should I use for summarization",
                   "find a model for sentiment analysis in French",
                   "recommend a small model for text generation",
                   "I need an embedding model under 100M parameters",
                   "search for models trained on imdb")),
    tool(search.search_runs, hide=("now", "progress"),
         description="Search benchmark results and runs (measured here or reported in cards) by "
         "task, dataset, metric, model and time (\"what did we measure on sentiment last week\").",
         args={"query": "the results wanted, in the user's words", "k": "how many models"},
         words=("what did we measure", "results on", "scores on", "reported", "last week",
                "yesterday", "this month"),
         examples=("what did we measure on sentiment last week", "which results do we have on imdb",
                   "what scores were reported on hellaswag",
                   "show the benchmark results from this month")),
    tool(search.similar, hide=("sync_first",),
         description="Models whose weights are most similar to a model's (weight sketches, same "
         "tensor layout; card text for card-only models), nearest first, family members marked.",
         args={"name": "the model to compare with", "k": "how many neighbours"},
         words=("similar", "closest", "nearest", "looks like", "resembles"),
         examples=("which models have weights similar to X", "what is closest to X")),
    tool(lineage.lineage, hide=("refresh", "on_progress"), words=("lineage", "version graph", "family tree",
                                                    "families"),
         examples=("show the lineage of X", "show the version graph",
                   "which families are in the lake")),
    tool(lineage.audit, name="audit_lineage",
         description="Check every card's declared base model against the lineage inferred from "
         "the weights: agreements, conflicts (a card naming the wrong parent, with the evidence) "
         "and undocumented models.",
         words=("wrong base model", "wrong base", "conflicts", "mislabeled", "lying", "lies",
                "lie about", "lies about", "mislabelled", "any card", "lineage conflicts",
                "any conflicts", "conflicting", "conflict with", "conflicts with", "contradict the weights",
                "disagrees with the weights", "disagree with the weights", "agree with the weights",
                "undocumented", "audit the lineage", "don't document", "do not document", "doesn't document",
                "not documented", "back up", "backed up", "backed by", "mismatch",
                "mismatched", "don't match", "doesn't match", "do not match", "does not match"),
         examples=("which model cards declare the wrong base model",
                   "do the declared base models match the weights", "are there lineage conflicts",
                   "which models have undocumented parents")),
    tool(lineage.diff, weights=True, words=("diff", "what changed", "differ", "difference", "differences",
                                            "which tensors", "weights differ", "how do the weights"),
         examples=("what changed between X and Y", "which tensors differ between X and Y",
                   "how do the weights of X and Y differ", "diff X Y")),
    tool(bench.list_tasks, description="The benchmark tasks that can be run here (built-in "
         "smoke-size suites and the lake's own tasks): name, kind, metrics, size.",
         words=("which tasks", "what tasks", "benchmarks available", "list the benchmarks",
                "which evaluations"),
         examples=("which benchmark tasks are available", "what tasks can I run",
                   "list the benchmarks")),
    tool(bench.bench, name="run_benchmark", mutating=True, paths=("tasks",), targets=("models",),
         change="run {tasks} on {models} and store the runs in the lake",
         description="Run benchmark tasks on models and store each run with its provenance. "
         "Adds runs to the lake: only when the user asks to benchmark or evaluate.",
         args={"models": "lake names of the models to evaluate",
               "tasks": "task names (see list_tasks)", "repeats": "runs per model and task"},
         hide=("seed", "batch_size", "max_length", "keep_outputs", "device", "threads", "head",
               "verify", "on_progress"),
         words=("benchmark", "evaluate", "run", "measure"), needs=1,
         examples=("benchmark X on sts-smoke", "evaluate X on the sentiment task")),
    tool(bench.leaderboard, hide=("plot", "current_only"), words=("leaderboard", "ranking"),
         examples=("show the leaderboard for sentiment-smoke",)),
    tool(bench.compare, name="compare_runs", hide=("n_boot", "seed"),
         words=("better", "worse", "outperform", "gap", "the gap", "task by task", "per task", "each task",
                "every task", "wins each", "as good as", "as accurate as", "on par with", "beats",
                "cost accuracy", "lose accuracy",
                "scores of", "benchmark results of", "significant", "significantly", "real or noise",
                "noise", "or noise", "real difference", "real diff", "measured difference",
                "within noise", "beyond the spread", "statistically"),
         examples=("compare the benchmark results of X and Y", "is the gap between X and Y real or noise",
                   "which is better on the benchmarks, X or Y", "is X better than Y on task T",
                   "did X lose accuracy compared to Y")),
    tool(bench.list_runs, words=("runs", "measured", "evaluations", "benchmarked", "evaluated", "tested",
                                     "been run"),
         examples=("what runs do we have for X", "what was measured on X",
                   "show the benchmark runs")),
    tool(bench.behaves_like, hide=("run_missing", "device", "threads", "on_progress"),
         words=("behaves like", "behave like", "same outputs", "acts like"),
         examples=("which models behave like X", "what has the same outputs as X")),
    tool(bench.import_results, mutating=True, paths=("path",), targets=("model",),
         change="import the results in {path} as reported runs of {model}",
         words=("import results", "import the results"),
         examples=("import the results in PATH for X",)),
    tool(cards.draft_card, hide=("repo_id", "writer", "infer_lineage"),
         words=("draft a", "draft the", "draft me", "draft one", "write a card", "generate a card",
                "create a card", "model card for", "readme for", "document", "write up a card"),
         examples=("draft a model card for X", "write a card for X",
                   "generate documentation for X")),
    tool(cards.check_card, hide=("text", "infer_lineage"),
         words=("audit", "check", "verify", "truthful", "accurate", "correct", "lying", "tell the truth",
                "card truthful", "card accurate", "card correct", "card right", "card honest",
                "card lying", "card lie", "card wrong", "claims check out", "weights agree",
                "agree with the weights", "weights confirm", "weights say", "weights point to", "weights show",
                "weights actually point", "legit", "confirm that",
                "can you confirm", "can the lake confirm",
                "is that right", "is it right", "trust the card", "believe the card", "card check",
                "check the card", "check its card"),
         examples=("audit the card of X", "is X's card correct", "does X's card tell the truth",
                   "check X's model card against the evidence",
                   "X's card says its base is Y, is that legit", "can I trust what X's card claims")),
]


def get_tool(name: str, tools: Sequence[Tool] | None = None) -> Tool:
    for t in tools if tools is not None else TOOLS:
        if t.name == name:
            return t
    raise NotFoundError(f"no tool named {name!r}")
