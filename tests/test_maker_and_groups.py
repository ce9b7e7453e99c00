"""Who made a model (its card, its GGUF header, the repo it is published as, its declared base),
and several models compared at once ("how do they differ?"): what they share, the best on each
task with ties kept, a table of what differs."""
from __future__ import annotations

import pytest
from test_agent_lake_questions import ask_in_turn as _ask
from test_agent_lake_questions import family_agent, family_lake  # noqa: F401 - the lake's fixtures

from modellake.store.records import ModelRecord
from modellake.tools.formats.card_fmt import parse_card
from modellake.tools.query.facts import get_fact


def _model(name: str, card: str | None = None, kv: dict | None = None) -> ModelRecord:
    return ModelRecord(name=name, format="card" if card else "gguf", source="x",
                       card=parse_card(card) if card else None, config={"kv": kv} if kv else {})


@pytest.mark.parametrize("name,card,kv,said", [
    ("phi-mini", "---\nlicense: mit\n---\n# Phi\n\nDeveloped by: Microsoft Research, 2024.\n", None,
     "Microsoft Research (its card says)"),
    ("TheBloke/Llama-2-7B-GGUF", "# Llama 2\n\n- Model creator: [Meta Llama 2](https://huggingface.co/meta-llama)\n",
     None, "Meta Llama 2 (its card says); published as TheBloke/Llama-2-7B-GGUF"),
    ("smol", None, {"general.organization": "HuggingFaceTB"}, "Hugging Face (its GGUF header's general.organization)"),
    ("facebook/nllb-200", "# NLLB\n\nA translation model.\n", None, "Meta (published as facebook/nllb-200)"),
    ("gemma-q4", "---\nbase_model: google/gemma-3-270m\n---\n# converted\n\nConverted to GGUF.\n", None,
     "not stated; its declared base model google/gemma-3-270m is by Google"),
])
def test_the_maker_and_how_the_lake_knows(name, card, kv, said):
    assert get_fact("maker").value(_model(name, card, kv)) == said


def test_no_maker_when_nothing_says_one():
    assert get_fact("maker").value(_model("mystery", "# mystery\n\nA model.\n")) is None


def test_who_made_it_is_answered_directly(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("who made enc-twin?", thread_id="maker")
    assert a.tool_calls[0]["args"].get("about") == ["maker"]
    assert "enc-twin" in a.answer and "made" in a.answer and "parameters" not in a.answer


def test_how_do_they_differ_compares_the_whole_group(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "diff", "what derives from enc-base?", "how do they differ?")
    calls = a.tool_calls
    assert [c["tool"] for c in calls] == ["query_models"] and len(calls[0]["args"]["names"]) > 2
    assert "All " in a.answer and "have the same" in a.answer and "Where they differ" in a.answer
    assert "| model |" in a.answer and "enc-grand" in a.answer and "Best on sts-smoke" in a.answer
