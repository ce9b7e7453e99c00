"""Follow-ups and several-step questions over the family lake: what a question points back at
(the model just discussed, its parent, "those", "the one in last place", "each of them", "the
same number") and the facts a question attaches (file size, zeros, the license of each)."""
from __future__ import annotations

import re

from test_agent_lake_questions import ask_in_turn as _ask
from test_agent_lake_questions import family_agent, family_lake  # noqa: F401 - the lake's fixtures


def test_zeros_of_those_parameters_and_of_its_parent(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "zeros", "how many parameters does enc-pruned have?", "how many of those are exactly zero?")
    assert [c["tool"] for c in a.tool_calls] == ["show_model"] and "of enc-pruned's weights are exactly zero" \
        in a.answer
    a = agent.ask("what about its parent - any zeros there?", thread_id="zeros")
    assert "enc-pruned was pruned from enc-base" in a.answer and "of enc-base's weights are exactly zero" in a.answer


def test_and_its_children_carries_the_fact_asked_and_is_that_a_problem(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "lic", "enc-base licence?", "and its children?")
    assert "enc-sentiment (a fine-tune, license mit)" in a.answer
    a = agent.ask("is that a problem?", thread_id="lic")
    assert "differs from its parent enc-base's" in a.answer


def test_the_one_in_last_place_is_of_the_last_ranking(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "last", "sts-smoke leaderboard please", "is the gap between the top two real?",
             "the one in last place: does it have a parent?")
    assert "no parent of enc-base" in a.answer


def test_without_a_readme_and_where_each_of_them_comes_from(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("which checkpoints here ship without a README/card?", thread_id="each")
    assert "enc-twin" in a.answer and "enc-base" not in a.answer
    a = agent.ask("according to the weights, where does each of them come from?", thread_id="each")
    assert "enc-grand was fine-tuned from enc-sentiment" in a.answer and "no parent of enc-twin" in a.answer


def test_anything_else_with_the_same_number_or_fact(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "same", "what's enc-sentiment's sts-smoke score?", "does anything else hit the same number?")
    assert "enc-sentiment places" in a.answer and "enc-sentiment-int8" in a.answer
    a = _ask(agent, "same2", "how many params does enc-sentiment have?", "any other model with the same count?")
    assert "same parameters" in a.answer and "enc-topic" in a.answer
    a = _ask(agent, "same3", "enc-base licence?", "which models derive directly from it?",
             "do they all keep that same license?")
    assert a.tool_calls[0]["args"]["same_as"] == "enc-base" and "apache-2.0" in a.answer


def test_file_size_and_the_cost_against_a_qualified_parent(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("how large is enc-base's file?", thread_id="file")
    assert "on disk" in a.answer and "parameters" not in a.answer
    a = agent.ask("how does enc-sentiment-int8 do on sts-smoke compared with the parent that has a model card?",
                  thread_id="qual")
    assert a.tool_calls[0]["args"].get("has_card") is True and "enc-sentiment" in a.answer
    a = agent.ask("did enc-pruned's file shrink, and what did it cost on sts-smoke relative to its parent?",
                  thread_id="rel")
    assert "size on disk" in a.answer and "family" not in a.answer


def test_the_best_score_for_the_least_disk(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("I want the best sts-smoke quality for the least disk: which one?", thread_id="trade")
    assert "best model on sts-smoke is enc-twin" in a.answer and "size on disk" in a.answer


def test_two_generations_down_and_the_quantized_one(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "grand", "show me what descends from enc-base", "which of those are two generations down?")
    assert "Two generations below enc-base" in a.answer and "enc-grand and enc-sentiment-int8" in a.answer
    assert "enc-topic" not in a.answer
    a = agent.ask("the quantized one - what dtype are its weights stored in?", thread_id="grand")
    assert "enc-sentiment-int8's weights are stored in" in a.answer


def test_its_parent_after_an_audit_is_the_conflicting_models_and_how_sure(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "audit", "are there any lineage conflicts in this lake?", "so what is its actual parent then?")
    assert a.answer.startswith("enc-topic was fine-tuned from enc-base")  # the model the conflict was about
    a = agent.ask("how confident is that?", thread_id="audit")
    assert "enc-topic was fine-tuned from enc-base" in a.answer and "confidence 0.56" in a.answer


def test_the_license_it_is_under_is_its_own_and_that_parents_is_the_parents(family_agent):  # noqa: F811
    agent, _ = family_agent
    own = agent.ask("what was enc-sentiment made from, and what license is it under?").answer
    assert "fine-tuned from enc-base" in own and "enc-sentiment's card declares the license mit" in own
    assert "apache" not in own
    parents = agent.ask("what is enc-sentiment fine-tuned from and what's the license of that parent?").answer
    assert "enc-base (license apache-2.0)" in parents


def test_the_model_with_the_most_children_and_who_claims_it_as_a_base(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("which model has the most children?").answer
    assert a == "The model in the lake with the most children is enc-base, with 3 children."
    a = _ask(agent, "claim", "top model on sts-smoke in this lake?", "does anything claim it as a base?")
    assert "1 model declares enc-twin as its base model in its card: enc-topic" in a.answer
    assert "which does not match the weights" in a.answer  # and what the weights say of that claim


def test_a_stated_base_then_is_that_true(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("enc-topic says it's built on enc-twin. is that true?").answer
    assert a.startswith("enc-topic was fine-tuned from enc-base") and "which does not match the weights" in a


def test_words_set_against_each_other_name_models():
    from modellake.agent import nlu
    from modellake.agent.planner import reading

    linker = nlu.Linker(["minilm-pruned", "minilm-paraphrase", "minilm-sentiment"])
    domain = {"pruned", "paraphrase", "sentiment"}
    r = reading.read("pruned or paraphrase for sts, who wins", linker, [], [], domain=domain)
    assert r.names == ["minilm-pruned", "minilm-paraphrase"]
    assert reading.read("which pruned models do we have?", linker, [], [], domain=domain).names == []


def test_a_cost_without_the_childs_score_says_it_cannot_tell(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("what did pruning cost enc-pruned in accuracy vs its parent").answer
    assert "enc-pruned has no score on sts-smoke: the two share no benchmark, so their scores cannot be " \
        "compared yet" in a
    assert "spearman 0.28" not in a  # nothing said of a score it does not have


def test_two_scores_read_with_the_same_decimals(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("enc-sentiment vs enc-sentiment-int8 on sts-smoke pearson, which is better?").answer
    assert re.search(r"pearson \d\.(\d+) against \d\.(\d+)", a) and len(set(
        map(len, re.search(r"pearson \d\.(\d+) against \d\.(\d+)", a).groups()))) == 1


def test_a_later_which_ranks_among_what_the_first_part_found(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("what are enc-base's children, and which is best on sts-smoke?")
    assert a.tool_calls[1]["args"]["names"] == ["enc-pruned", "enc-sentiment", "enc-topic"]  # not the lake
    assert "The best model on sts-smoke is enc-sentiment" in a.answer and "enc-twin" not in a.answer
    a = agent.ask("of the models derived from enc-base (directly or further down), which is best on sts?")
    assert a.tool_calls[0]["args"]["relation"] == "descendants"


def test_what_only_a_card_says_is_read_from_it(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("acme/summarizer-1b: how many sentences does it write?")
    assert "read_card" in [c["tool"] for c in a.tool_calls] and "into three sentences" in a.answer


def test_counted_relatives_say_one_child_as_one(family_lake):  # noqa: F811
    from modellake.store.lake import Lake
    from modellake.tools.query import query_models
    from modellake.tools.toolspec import ToolContext

    with ToolContext(Lake(family_lake[0])) as ctx:
        q = query_models(ctx, names=["enc-base", "enc-sentiment", "enc-grand"], show=["count:children"],
                         relation=None)
        shown = {r.name: r.shown["count:children"] for r in q.rows}
        one = query_models(ctx, names=["enc-sentiment-int8"], show=["count:descendants"])
    assert shown == {"enc-base": "3 children", "enc-sentiment": "2 children", "enc-grand": "0 children"}
    assert one.rows[0].shown["count:descendants"] == "0 descendants"


def test_one_relative_is_said_in_the_singular(monkeypatch, family_lake):  # noqa: F811
    import modellake.tools.query as query
    from modellake.store.lake import Lake
    from modellake.tools.toolspec import ToolContext

    monkeypatch.setattr(query, "related", lambda catalog, relation, name: [type("R", (), {"name": "x"})()])
    with ToolContext(Lake(family_lake[0])) as ctx:
        q = query.query_models(ctx, names=["enc-base"], show=["count:children", "count:descendants"])
    assert (q.rows[0].shown["count:children"], q.rows[0].shown["count:descendants"]) == ("1 child", "1 descendant")


def test_a_short_follow_up_stays_on_the_models_of_the_last_answer(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = _ask(agent, "each", "how are enc-topic and enc-sentiment related?", "license on each?")
    assert "mit" in a.answer and "enc-topic" in a.answer and "enc-sentiment" in a.answer
    a = _ask(agent, "so", "what's enc-topic built on according to its card?", "is that actually right?")
    assert a.answer.startswith("enc-topic was fine-tuned from enc-base") and "does not match the weights" in a.answer


def test_both_ends_of_a_ranking_and_what_each_of_two_is_for(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("biggest and smallest model by parameters?", thread_id="ends")
    assert [c["args"]["order"] for c in a.tool_calls] == ["highest", "lowest"]
    a = _ask(agent, "pair", "how are enc-topic and enc-sentiment related, what's each for?")
    assert "news headlines" in a.answer and "product reviews" in a.answer  # each card's own words


def test_what_a_card_only_model_is_for_in_its_cards_words(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("what's acme/summarizer-1b for?", thread_id="for")
    assert "task (card) summarization" in a.answer
    assert "\u201cAbstractive summarization of English news articles into three sentences\u201d" in a.answer
    a = agent.ask("acme/summarizer-1b: what license, and what kind of articles do they recommend it for?")
    assert "search" not in [c["tool"] for c in a.tool_calls] and "news articles" in a.answer  # its card, not the lake


def test_how_a_model_scored_is_its_runs_even_after_what_its_card_says(family_agent):  # noqa: F811
    agent, _ = family_agent
    for q in ("how did enc-sentiment actually score?",
              "enc-sentiment's card says it is for product reviews, how did it actually score?"):
        a = agent.ask(q)
        assert a.tool_calls == [{"tool": "query_models", "args": {"names": ["enc-sentiment"], "show": ["scores"]}}]
        assert "spearman on sts-smoke 0.28" in a.answer


def test_the_activation_function_is_part_of_the_configuration(family_agent):  # noqa: F811
    agent, _ = family_agent
    a = agent.ask("what activation does llama-small use?")
    assert "activation silu" in a.answer
