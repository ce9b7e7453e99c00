"""The chat's example questions (web app, refusals) are made from the open lake and are
answered by it: each names the lake's own models and tasks, asks only what the lake holds
(no parameter question where only cards are stored), and the agent answers each one.

Checked on the agent tests' lake, on card-only lakes written here, and on a lake of the
shared real model cards (``MODELLAKE_CARDS_DIR``; ``make test`` sets it); the demo lake's
examples are checked in tests/test_demo.py."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from modellake.agent import Agent
from modellake.store.lake import Lake
from modellake.tools.ingest import ingest
from modellake.tools.query.examples import example_questions, lake_examples

CARDS_DIR = os.environ.get("MODELLAKE_CARDS_DIR")
# What an example must never get back: a refusal, an empty answer or a question about a
# number the lake does not hold.
UNANSWERED = re.compile(r"^I can't|no parameter count|has a value for|No model (in the lake )?matches"
                        r"|not in the search index|⚠️", re.I | re.M)


def answers(lake_dir: Path, questions: list[str]) -> dict[str, str]:
    agent = Agent(Lake.open(lake_dir), llm="builtin")
    try:
        return {q: agent.ask(q).answer for q in questions}
    finally:
        agent.close()


def assert_answered(lake_dir: Path, questions: list[str], names: list[str]) -> None:
    assert questions
    for q, a in answers(lake_dir, questions).items():
        assert not UNANSWERED.search(a), (q, a)
        named = [n for n in names if n in q]
        assert all(n in a for n in named), (q, a)


def card_only_lake(root: Path) -> Path:
    cards = {
        "acme/encoder-sentiment": "---\nlicense: mit\npipeline_tag: text-classification\nbase_model: "
                                  "acme/encoder\n---\n# Sentiment\nReview sentiment, positive or negative.\n",
        "acme/encoder": "---\nlicense: mit\npipeline_tag: feature-extraction\n---\n# Encoder\n"
                        "A sentence encoder.\n",
        "acme/topics": "---\nlicense: apache-2.0\npipeline_tag: text-classification\n---\n# Topics\n"
                       "News topic classification.\n",
    }
    lake = root / "lake"
    with Lake.open(lake).catalog() as cat:
        for name, text in cards.items():
            path = root / (name.replace("/", "_") + ".md")
            path.write_text(text)
            assert not ingest(cat, [path], name=name).errors
    return lake


def test_questions_name_only_what_the_lake_holds():
    assert example_questions([], []) == ["Which models are in the lake?"]
    asked = example_questions(["a", "b"], [], n=9, sized=[], pipeline="text-classification")
    assert not any("parameters" in q or "smallest" in q for q in asked), asked
    assert "Find a text-classification model" in asked
    asked = example_questions(["a", "b", "c"], ["sst2"], "b", n=9, sized=["c"])
    assert asked[:3] == ["What is b derived from?", "Which model is best on sst2?",
                         "How many parameters does c have?"]
    assert "Which is the smallest model in the lake?" not in asked  # one count ranks nothing


def test_a_card_only_lake_gets_questions_it_answers(tmp_path):
    lake = card_only_lake(tmp_path)
    with Lake.open(lake).catalog() as cat:
        asked = lake_examples(cat)
    assert asked[0] == "What is acme/encoder-sentiment derived from?"  # its parent is here
    assert "Find a text-classification model" in asked
    assert not any("parameters" in q or "smallest" in q for q in asked), asked
    assert_answered(lake, asked, ["acme/encoder-sentiment", "acme/encoder", "acme/topics"])


def test_the_agent_lakes_examples_are_answered(agent_lake):
    with Lake.open(agent_lake).catalog() as cat:
        asked = lake_examples(cat)
        names = cat.model_names()
    assert any("best on" in q for q in asked) and any("parameters" in q for q in asked), asked
    assert_answered(agent_lake, asked, names)


@pytest.mark.skipif(not CARDS_DIR, reason="set MODELLAKE_CARDS_DIR to the shared real cards "
                    "(make test does when ../shared/cards exists)")
@pytest.mark.parametrize("start", [0, 100])
def test_a_lake_of_real_cards_gets_questions_it_answers(tmp_path, start):
    cards = Path(CARDS_DIR)
    rows = [json.loads(line) for line in (cards / "manifest.jsonl").read_text().splitlines() if line.strip()]
    lake = tmp_path / "lake"
    with Lake.open(lake).catalog() as cat:
        for row in rows[start:start + 40]:  # each under the name people know it by
            assert not ingest(cat, [cards / f"{row['id']}.md"], name=row["model_name"]).errors
        asked = lake_examples(cat)
        names = cat.model_names()
    assert len(asked) == 4 and not any("parameters" in q or "smallest" in q for q in asked), asked
    assert_answered(lake, asked, names)
