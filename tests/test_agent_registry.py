"""The tool registry (tools/registry.py) and the question reader (agent/nlu.py): no chat model."""
from __future__ import annotations

from typing import Literal

import pytest

from modellake.agent import Agent
from modellake.agent.nlu import Linker, read
from modellake.agent.results import citations
from modellake.store.catalog import Catalog
from modellake.store.errors import NotFoundError, UsageError
from modellake.store.lake import Lake
from modellake.tools.registry import TOOLS, get_tool
from modellake.tools.toolspec import ToolArgumentError, ToolContext, tool


def test_registry_lists_the_lake_tools_with_flags():
    names = {t.name: t for t in TOOLS}
    assert {"query_models", "show_model", "read_card", "ingest_models", "remove_model",
            "rename_model"} <= set(names)
    assert {n for n, t in names.items() if t.mutating} == {"ingest_models", "remove_model",
                                                          "rename_model", "import_results",
                                                          "run_benchmark"}
    assert {"search", "search_runs", "similar", "lineage", "audit_lineage", "diff", "leaderboard",
            "draft_card", "check_card", "list_tasks", "compare_runs"} <= set(names)
    for t in TOOLS:  # declared once: a description, words and examples to route by, no context
        assert t.description and "ctx" not in t.schema()["properties"]
        assert t.examples and t.words, t.name
        assert not any(callable(p.schema.get("default")) for p in t.params)
        assert "progress" not in " ".join(p.name for p in t.params), t.name


def test_schema_from_signature_and_docstring():
    def f(catalog: Catalog, name: str, k: int = 3, kinds: list[str] | None = None,
          mode: Literal["a", "b"] = "a", lake_root: str | None = None, debug: bool = False) -> dict:
        """Do a thing to a model.

        More detail that the agent does not need.

        Args:
            name: the model.
            k: how many,
                at most.
        """
        return {}

    t = tool(f, hide=("debug",))
    assert t.description == "Do a thing to a model."
    assert dict(t.injected) == {"catalog": "catalog", "lake_root": "lake_root"}
    s = t.schema()
    assert s["required"] == ["name"]
    assert s["properties"]["name"] == {"type": "string", "description": "the model."}
    assert s["properties"]["k"] == {"type": "integer", "default": 3, "description": "how many, at most."}
    assert s["properties"]["kinds"] == {"type": "array", "items": {"type": "string"}}
    assert s["properties"]["mode"]["enum"] == ["a", "b"] and "debug" not in s["properties"]
    with pytest.raises(TypeError, match="no default"):
        tool(f, hide=("name",))


def test_a_function_from_elsewhere_joins_with_one_line(agent_lake):
    from modellake.tools.inspection import inspect_model

    t = tool(inspect_model)
    assert t.schema()["required"] == ["name"] and dict(t.injected) == {"catalog": "catalog"}
    with ToolContext(Lake(agent_lake)) as ctx:
        assert t(ctx, name="tiny-bert").num_parameters == 23520
        with pytest.raises(ToolArgumentError, match="takes no argument"):
            t(ctx, name="tiny-bert", verbose=True)
        with pytest.raises(ToolArgumentError, match="needs name"):
            t(ctx)


def test_lake_tools_on_the_test_lake(agent_lake):
    with ToolContext(Lake(agent_lake)) as ctx:
        query = get_tool("query_models")
        listed = query(ctx, architecture="llama", rank_by="parameters")
        assert [r.name for r in listed.rows] == ["tiny-llama-chat", "tiny-llama", "tiny-q8"]
        assert listed.total_in_lake == 8 and listed.count == 3
        assert [r.name for r in query(ctx, base_model="tiny-bert").rows] == ["sentiment-bert"]
        family = query(ctx, license="llama*,gpl*")  # a family: any version
        assert [(r.name, r.shown.get("license")) for r in family.rows] == [("acme/mega-7b", None)]
        assert "under a license among llama (any version), gpl (any version)" in family.text()
        assert query(ctx, text="movie reviews").rows[0].name == "sentiment-bert"
        shown = get_tool("show_model")(ctx, name="sentiment-bert", about=["license", "parameters"])
        data = shown.to_dict()
        assert data["num_parameters"] == 23586 and data["card"]["license"] == "mit"
        assert data["card"]["reported_results"][0]["value"] == 0.88
        assert shown.text() == ("sentiment-bert's card declares the license mit. sentiment-bert "
                                "has 23.6K parameters (23,586).")
        card = get_tool("read_card")(ctx, name="tiny-bert", topic="risks")
        assert card.topic_found and card.passages[0]["section"] == "Limitations"
        assert "close to random" in card.text() and card.text().startswith("What tiny-bert's card says")
        assert get_tool("read_card")(ctx, name="gpt2-mini").has_card is False
        with pytest.raises(NotFoundError, match="did you mean tiny-bert"):
            get_tool("show_model")(ctx, name="tiny-bret")
        renamed = get_tool("rename_model")(ctx, old="tiny-q8", new="q8")
        assert renamed.text() == "Renamed tiny-q8 to q8."
        removed = get_tool("remove_model")(ctx, name="q8")
        assert removed.detail == {"removed": "q8", "versions": 1} and "Removed q8" in removed.text()
        with pytest.raises(NotFoundError):
            get_tool("ingest_models")(ctx, path="/no/such/path")


def test_linker_exact_fuzzy_partial_and_versions():
    link = Linker(["tiny-bert", "tiny-llama", "tiny-llama-chat", "org/mega-7b",
                   "minilm-sentiment", "minilm-sentiment-int8", "gemma-3-270m"])
    got = lambda text: [(m.spec, m.kind) for m in link.link(text)]  # noqa: E731
    assert got("compare tiny-llama-chat and tiny-llama") == [("tiny-llama-chat", "exact"),
                                                            ("tiny-llama", "exact")]
    assert got("what about Tiny Llama Chat?") == [("tiny-llama-chat", "exact")]
    assert got("params of tiny-lama") == [("tiny-llama", "fuzzy")]
    assert got("the int8 one") == [("minilm-sentiment-int8", "partial")]
    assert got("mega-7b license") == [("org/mega-7b", "exact")]
    assert got("tiny-bert@2 size") == [("tiny-bert@2", "exact")]
    assert got("sentiment models") == []  # a part shared by several names links nothing
    assert got("what is the weather") == []


def test_linker_words_of_a_name_with_words_left_out():
    link = Linker(["Qwen/Qwen2.5-14B-Instruct-AWQ", "meta-llama/Meta-Llama-3-8B",
                   "DeepMount00/Llama-3-8b-Ita", "Groq/Llama-3-Groq-8B-Tool-Use",
                   "openai/whisper-large-v3", "openai/whisper-large-v3-turbo",
                   "AdamCodd/distilbert-base-uncased-finetuned-sentiment-amazon"])
    got = lambda text: [m.spec for m in link.link(text)]  # noqa: E731
    assert got("qwen 14b awq: how many bits?") == ["Qwen/Qwen2.5-14B-Instruct-AWQ"]
    # of several names, the one that adds least after the words (derived names add suffixes)
    assert got("what is built on llama 3 8b?") == ["meta-llama/Meta-Llama-3-8B"]
    assert got("is whisper turbo any good") == ["openai/whisper-large-v3-turbo"]
    # a piece of a longer identifier names another model
    assert got("params of meta-llama/Llama-2-7b-chat-hf") == []
    assert got("how big is openai/whisper-large-v2?") == []
    # words of the question are not a name ("fine-tuned", "4-bit")
    assert got("what was zephyr fine-tuned from?") == []
    assert got("which of these are 4-bit releases?") == []
    # a size among common words names no one model; a family with its version does
    link = Linker(["TheBloke/Llama-2-7B-Chat-GGUF", "HuggingFaceH4/zephyr-7b-beta"])
    assert got("it brags it's the top 7B chat model") == []
    assert got("is there a gguf of llama 2 chat in here?") == ["TheBloke/Llama-2-7B-Chat-GGUF"]


def test_read_numbers_and_constraints():
    link = Linker(["smollm2-135m-instruct"])
    q = read("gguf models between 10k and 2.5M parameters without a card", link, ["llama"])
    assert (q.min_params, q.max_params) == (10_000, 2_500_000)
    assert q.formats == ["gguf"] and q.has_card is False
    q = read("which llama models have more than 1.5B params?", link, ["llama"])
    assert q.min_params == 1_500_000_000 and q.architectures == ["llama"]
    q = read("how many params does smollm2-135m-instruct have", link, [])
    assert q.min_params is None and q.max_params is None and q.masked.endswith("does X have")
    q = read("which is the smallest model under 100 MB on disk?", link, [])
    assert q.superlative == "smallest" and q.max_params is None


def test_citations_by_shape():
    assert citations("show_model", {}, {"name": "m", "version": 2, "card": {"license": "mit"}}) == [
        {"kind": "model", "name": "m", "version": 2},
        {"kind": "card", "model": "m", "section": "metadata", "fields": {"license": "mit"}}]
    edge = citations("lineage", {}, {"edges": [{"parent": "a", "child": "b", "relation": "finetune",
                                                "confidence": 0.9, "evidence": {"distance": 0.1}}]})
    assert edge == [{"kind": "edge", "parent": "a", "child": "b", "relation": "finetune",
                     "confidence": 0.9, "evidence": {"distance": 0.1}}]
    runs = citations("leaderboard", {}, {"task": "t", "entries": [{"model": "m", "run_ids": [1, 2]}]})
    assert [c["id"] for c in runs] == [1, 2] and runs[0]["task"] == "t"


def test_a_size_bound_says_which_models_it_could_not_check_and_scored_models_come_ranked(agent_lake):
    with ToolContext(Lake(agent_lake)) as ctx:
        query = get_tool("query_models")
        none = query(ctx, max_parameters=1000)
        assert none.rows == [] and none.unknown_size == ["acme/mega-7b"]  # a card only: size unknown
        assert "1 model could not be checked: its parameter count is not known" in none.text()
        assert "acme/mega-7b" in none.text()
        scored = query(ctx, task="hellaswag")  # models scored on a task: ranked, with the score
        assert scored.ranked_by and [r.name for r in scored.rows] == ["tiny-llama-chat"]
        assert "0.31" in scored.text()


def test_models_counted_by_a_fact_in_tool_and_chat(agent_lake):
    with ToolContext(Lake(agent_lake)) as ctx:
        query = get_tool("query_models")
        by_arch = query(ctx, group_by="architecture")
        assert by_arch.groups == {"bert": ["evil-model", "sentiment-bert", "tiny-bert"],
                                  "llama": ["tiny-llama", "tiny-llama-chat", "tiny-q8"],
                                  "gpt2": ["gpt2-mini"], "not stated": ["acme/mega-7b"]}
        assert by_arch.text().startswith("By architecture, the lake's 8 models come in 4 groups: bert 3, "
                                          "llama 3, gpt2 1 and not stated 1.")
        llama = query(ctx, architecture="llama", group_by="format")
        assert llama.groups == {"safetensors": ["tiny-llama", "tiny-llama-chat"], "gguf": ["tiny-q8"]}
        assert "the 3 models of architecture llama" in llama.text()
        with pytest.raises(UsageError, match="group_by must be one of"):
            query(ctx, group_by="parameters")
    agent = Agent(agent_lake, llm="builtin")
    for question, lead in (("how many models of each architecture are there?", "By architecture"),
                           ("which formats does the lake hold, and how many models in each?", "By format"),
                           ("give me a breakdown of the llama models by format", "By format, the 3 models")):
        answer = agent.ask(question).answer
        assert answer.startswith(lead), (question, answer)


def test_configuration_numbers_are_facts_to_show_rank_and_share(agent_lake):
    with ToolContext(Lake(agent_lake)) as ctx:
        query = get_tool("query_models")
        widest = query(ctx, rank_by="hidden_size", top=1)
        assert widest.rows and all(r.values["hidden_size"] == widest.rows[0].values["hidden_size"]
                                   for r in widest.rows)
        assert widest.text().startswith("The model in the lake with the widest hidden size is") or \
            "tie for widest" in widest.text()
        same = query(ctx, same_as="tiny-bert", same=["architecture", "hidden_size"])
        assert "tiny-bert" not in [r.name for r in same.rows]
        assert all(r.name in ("sentiment-bert", "evil-model") for r in same.rows) and same.rows
        assert "2 models have the same architecture (bert) and hidden size (32) as tiny-bert" in same.text()
    agent = Agent(agent_lake, llm="builtin")
    a = agent.ask("which other models share tiny-bert's architecture?")
    assert a.tool_calls[0]["args"] == {"same_as": "tiny-bert", "same": ["architecture"]}
    a = agent.ask("which model has the largest vocabulary?")
    assert a.tool_calls[0]["args"]["rank_by"] == "vocab_size" and "parameters" not in a.answer


def test_a_quantization_method_and_a_declared_base_as_selections(agent_lake):
    with ToolContext(Lake(agent_lake)) as ctx:
        query = get_tool("query_models")
        assert [r.name for r in query(ctx, quantization="q8_0").rows] == ["tiny-q8"]
        assert [r.name for r in query(ctx, quantization="8-bit").rows] == ["tiny-q8"]  # Q8_0 is 8-bit
        none = query(ctx, quantization="awq")
        assert none.rows == [] and "quantized as awq" in none.text()
    agent = Agent(agent_lake, llm="builtin")
    a = agent.ask("any 8-bit models?")
    assert a.tool_calls[0]["args"] == {"quantization": "8-bit"} and "tiny-q8" in a.answer
    a = agent.ask("which models name tiny-bert as their base?")
    # the cards that name it, then what the weights say of each claim
    assert a.tool_calls[0]["args"] == {"base_model": "tiny-bert"} and "sentiment-bert" in a.answer


def test_a_card_only_model_is_compared_by_what_its_card_states_not_diffed(agent_lake):
    from modellake.tools.registry import get_tool as tool_named

    assert tool_named("diff").weights and not tool_named("query_models").weights  # declared once
    agent = Agent(agent_lake, llm="builtin")
    a = agent.ask("how do acme/mega-7b and tiny-bert differ?")
    assert "diff" not in [c["tool"] for c in a.tool_calls]
    assert "share no comparable weight tensors" not in a.answer and "acme/mega-7b" in a.answer


def test_a_breakdown_by_quantization_counts_every_model(agent_lake):
    with ToolContext(Lake(agent_lake)) as ctx:
        one = get_tool("query_models")(ctx, format="gguf", group_by="architecture")
        assert one.text() == "tiny-q8, the one model stored as gguf, has architecture llama."
        same = get_tool("query_models")(ctx, architecture="llama", format="safetensors", group_by="format")
        assert same.text().startswith("All the 2 models of architecture llama stored as safetensors have format")
    a = Agent(agent_lake, llm="builtin").ask("breakdown of models by quantization please")
    assert a.tool_calls[0]["args"] == {"group_by": "quantization"}  # not only the models made by quantizing
