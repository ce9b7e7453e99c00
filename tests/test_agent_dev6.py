"""Phrasings of the dev6 set made to work, one test a class, over the family lake: a model's
shape asked loosely, two models set side by side by a factor, "it" next to a named model, "the
winner" of the last ranking, "the smaller of the two", "the one that was fine-tuned", the subject
kept after "pruned from what?", and later parts about the root or the task an earlier part found."""
from __future__ import annotations

from test_agent_lake_questions import ask_in_turn as _ask
from test_agent_lake_questions import family_agent, family_lake  # noqa: F401 - the lake's fixtures


def _tools(a) -> list[str]:
    return [c["tool"] for c in a.tool_calls]


def test_shape_asked_loosely_reads_the_configuration(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "shape", "llama-small: how many query heads vs key/value heads?")
    assert _tools(a) == ["show_model"] and "key/value heads 2" in a.answer and "not in the lake" not in a.answer
    a = _ask(agent, "wide", "how deep and how wide is enc-base?")
    assert "2 layers" in a.answer and "hidden size" in a.answer


def test_plural_architecture_is_negated(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "berts", "which models in here are not BERTs?")
    assert a.tool_calls[0]["args"].get("architecture") == "not bert"


def test_by_what_factor_gives_the_ratio_of_the_two(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "factor", "llama-small vs enc-base - which is bigger and by what factor?")
    assert "31.5x the parameters of llama-small" in a.answer


def test_it_next_to_a_named_model_is_both(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "next", "is llama-small related to any of the encoders?",
             "how many params does it have next to enc-base?")
    assert set(a.tool_calls[0]["args"].get("names", [])) == {"llama-small", "enc-base"}


def test_the_winner_of_the_last_ranking_and_a_question_of_two_parts(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "winner", "sts-smoke leaderboard?", "does the winner have a card, or a parent?")
    assert "enc-twin has no model card" in a.answer and "no parent of enc-twin" in a.answer


def test_which_of_the_two_after_two_questions_and_on_disk(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "two", "license of enc-base?", "and of llama-small?", "which of the two is bigger on disk?")
    args = a.tool_calls[0]["args"]
    assert set(args["names"]) == {"enc-base", "llama-small"} and args["rank_by"] == "bytes"


def test_the_larger_of_the_two_then_asked_of_it(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "larger", "compare llama-small and enc-base",
             "does the larger of the two tie its output layer to the embeddings?")
    assert a.tool_calls[-1]["tool"] == "show_model" and a.tool_calls[-1]["args"]["name"] == "enc-base"


def test_the_one_that_was_fine_tuned_among_the_last_list(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "ft", "which models have no card at all?", "take the one that was fine-tuned - what's its parent?")
    assert "enc-grand was fine-tuned from enc-sentiment" in a.answer
    a = agent.ask("what license would it inherit from that parent?", thread_id="ft")
    assert "mit" in a.answer


def test_the_subject_is_kept_after_how_it_was_made(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "kept", "anything pruned in this lake?", "pruned from what, and how aggressively?",
             "got any benchmark numbers for it?")
    assert _tools(a) == ["list_runs"] and a.tool_calls[0]["args"] == {"model": "enc-pruned"}


def test_a_later_part_about_the_root_an_earlier_part_found(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "root", "enc-sentiment-int8 - trace it back to the root of its family. "
             "what license does the root carry?")
    assert a.tool_calls[0]["args"] == {"relation": "ancestors", "of": "enc-sentiment-int8"}
    assert "enc-base's card declares the license apache-2.0" in a.answer


def test_last_on_a_task_and_list_then_which_is_best(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "last", "which model is last on sts-smoke?")
    assert a.tool_calls[0]["args"].get("order") == "worst" and "enc-base" in a.answer
    a = _ask(agent, "list", "list enc-base's children and tell me which of those has the best sts-smoke score")
    assert "top" not in a.tool_calls[-1]["args"] and a.tool_calls[-1]["args"].get("order") == "best"


def test_how_much_a_model_gave_up_against_its_parent_is_the_gap(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "gap", "how much sts-smoke spearman did enc-sentiment-int8 give up relative to the model "
             "it was quantized from?")
    assert a.tool_calls[0]["args"]["relation"] == "parents" and "The gap:" in a.answer


def test_two_models_on_each_task_show_every_score(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "tasks", "enc-sentiment vs enc-base: where does each one win on the smoke tasks?")
    assert any(c["args"].get("show") and "scores" in c["args"]["show"] for c in a.tool_calls)


def test_a_later_part_about_what_relatives_declare_keeps_the_fact_asked(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "declare", "what license is enc-grand under? if it has nothing of its own, check its parents "
             "and tell me what they declare")
    assert {"relation": "parents", "of": "enc-grand", "show": ["license"]} in [c["args"] for c in a.tool_calls]
