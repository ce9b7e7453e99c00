"""Lineage and card records speak for themselves: ``summary()`` one line, ``text()`` for a
person (the verdict first, relations in words, no evidence statistics), ``to_dict()`` as is.

Records built in code, then the tiny card lake of ``tests/test_card.py`` (real weights).
"""
from __future__ import annotations

import json
import re

import pytest

from modellake.store.records import LineageEdge
from modellake.tools.cards.audit import BaseModelCheck, CardAudit, CardFinding
from modellake.tools.cards.draft import DraftedCard
from modellake.tools.lineage.declared import AuditReport, Conflict
from modellake.tools.lineage.graph import LineageGraph, Relative, Relatives
from modellake.tools.lineage.model_diff import ModelDiff, TensorDiff
from modellake.tools.rendering import Rendered
from tests.test_card import lake  # noqa: F401  (the tiny card lake, a module fixture)

FORBIDDEN = ("residual_ratio", "direction_cue", "relative_distance", "identical_tensors", "{",
             "None", "``", "nan", "'finetune'", "[")
RAW_RELATIONS = re.compile(r"\bfinetune\b|\((finetune|merge|adapter|quantized|pruned)[,)]")


def _clean(text: str) -> None:
    for bad in FORBIDDEN:
        assert bad not in text, (bad, text)
    assert not RAW_RELATIONS.search(text), text


def _one_line(record) -> str:
    s = record.summary()
    assert s and "\n" not in s, s
    return s


def _edge(parent: str, child: str, relation: str, confidence: float = 0.99,
          source: str = "inferred") -> LineageEdge:
    return LineageEdge(parent, child, relation, confidence,
                       {"distance": 1.2, "relative_distance": 0.004, "identical_tensors": 0.02,
                        "residual_ratio": 6.8e-06, "direction_cue": {"norm_growth_z": 0.4}},
                       source)


def _conflict() -> Conflict:
    return Conflict("ft", "org/twin", "unrelated",
                    "ft: declares twin as its base, but their weights are unrelated "
                    "(independent initializations)", ["base"], None, "finetune",
                    {"relative_distance": 1.0, "related": False})


def _graph() -> LineageGraph:
    edges = [_edge("base", "ft", "finetune", 1.0), _edge("ft", "ft-int8", "quantized"),
             _edge("base", "pruned", "pruned"), _edge("ft", "merged", "merge", 0.9999),
             _edge("pruned", "merged", "merge", 0.9999), _edge("base", "lora", "adapter")]
    fam = ["base", "ft", "ft-int8", "pruned", "merged", "lora"]
    return LineageGraph(edges, ["base", "other"], [fam, ["other"]], [_conflict()])


# ----------------------------------------------------------------- lineage graph
def test_graph_text_roots_first_then_relations_in_words():
    g = _graph()
    before = json.dumps(g.to_dict(), sort_keys=True)
    text = g.text()
    _clean(text)
    assert isinstance(g, Rendered)
    first = text.split("\n", 1)[0]
    assert "form 2 families" in first and "base and other" in first
    assert "- ft was fine-tuned from base (confidence 1.00)" in text
    assert "ft-int8 was quantized from ft (confidence 0.99)" in text
    assert "pruned was pruned from base" in text
    assert "merged was merged from ft and pruned" in text
    assert "lora was an adapter trained on base" in text
    # parents before children
    assert text.index("ft was fine-tuned") < text.index("ft-int8 was quantized")
    assert "other has no relatives in the lake" in text
    assert "ft declares org/twin as its base model" in text and "fine-tuned from base" in text
    assert json.dumps(g.to_dict(), sort_keys=True) == before
    assert set(g.to_dict()) == {"edges", "roots", "families", "conflicts", "notes"}
    _one_line(g)


def test_graph_family_of_one_and_empty_graph():
    fam = _graph().subgraph(["base", "ft", "ft-int8", "pruned", "merged", "lora"])
    assert fam.text().startswith("The family of base has 6 models")
    alone = LineageGraph([], ["other"], [["other"]], [])
    assert alone.text().startswith("other has no relatives in the lake")
    empty = LineageGraph()
    assert "empty" in empty.text() and "\n" not in _one_line(empty)


def test_long_family_is_a_table_and_declared_edges_are_marked():
    edges = [_edge("base", f"c{i}", "finetune") for i in range(7)]
    edges[0].source = "declared"
    g = LineageGraph(edges, ["base"], [["base"] + [f"c{i}" for i in range(7)]], [])
    text = g.text()
    _clean(text.replace("| model |", ""))
    assert "| model | derivation | from | confidence |" in text
    assert "| c3 | fine-tuned from | base | 0.99 |" in text
    assert "declared by its card" in text
    assert "No declared base model conflicts" in text


# ----------------------------------------------------------------- relatives
def test_relatives_in_words():
    up = Relatives("merged", "ancestors", [Relative("ft", 1, "merge", "merged"),
                                           Relative("pruned", 1, "merge", "merged"),
                                           Relative("base", 2, "finetune", "ft")])
    text = up.text()
    _clean(text)
    assert text.startswith("merged descends from 3 models in the lake")
    assert "merged was merged from ft and pruned; ft was fine-tuned from base." in text
    down = Relatives("base", "descendants", [Relative("ft", 1, "finetune", "base"),
                                             Relative("merged", 2, "merge", "ft")])
    text = down.text()
    _clean(text)
    assert text.startswith("2 models in the lake derive from base")
    assert "merged was merged from ft and at least one other model" in text
    sib = Relatives("ft", "siblings", [Relative("pruned", 1, "pruned", "base"),
                                       Relative("lora", 1, "adapter", "base")])
    assert sib.text() == ("ft shares its parent base with pruned (pruned from it) and lora "
                          "(an adapter trained on it).")
    for r in (up, down, sib):
        _one_line(r)


@pytest.mark.parametrize("kind,phrase", [("ancestors", "descends from no other model"),
                                         ("descendants", "No model in the lake derives from x"),
                                         ("siblings", "shares a parent with no other model")])
def test_no_relatives_say_so(kind, phrase):
    r = Relatives("x", kind, [])
    assert phrase in r.text() and _one_line(r)


def test_many_relatives_are_a_table():
    r = Relatives("base", "descendants", [Relative(f"c{i}", 1, "quantized", "base")
                                          for i in range(8)])
    assert "| c7 | child | quantized from | base |" in r.text()


# ----------------------------------------------------------------- audit report
def test_audit_report_agreement_count_first():
    report = AuditReport(
        agreements=[{"model": "frozen", "declared": "org/base", "source": "card.base_model",
                     "parent": "base", "relation": "finetune"}],
        conflicts=[_conflict()],
        undocumented=[{"model": "ft-int8", "has_card": False, "inferred_parents": ["ft"],
                       "relation": "quantized", "confidence": 0.99},
                      {"model": "grand", "has_card": True, "inferred_parents": ["ft"],
                       "relation": "finetune", "confidence": 0.98}],
        external=[{"model": "gem", "declared": "google/gem", "source": "card.base_model",
                   "inferred_parents": []}])
    before = report.to_dict()
    text = report.text()
    _clean(text)
    assert text.startswith("1 declared base model agrees with the weights and 1 conflicts with "
                           "them; 2 models derived from another model in the lake declare no "
                           "base model.")
    assert ("ft declares org/twin as its base model, but their weights are unrelated "
            "(independently initialized); the weights show it was fine-tuned from base "
            "instead.") in text
    assert "frozen's card names org/base, and the weights show it was fine-tuned from base." in text
    assert "ft-int8 was quantized from ft (confidence 0.99), but it has no card." in text
    assert "grand was fine-tuned from ft (confidence 0.98), but its card names no base model." in text
    assert "gem's card names google/gem, which is not in the lake" in text
    assert text.index("Conflicts:") < text.index("Agreements:") < text.index("Undocumented")
    assert report.to_dict() == before
    assert _one_line(report) == text.split("\n", 1)[0]


def test_empty_audit_report():
    text = AuditReport().text()
    assert text.startswith("No model in the lake declares a base model")


def test_a_lake_of_cards_says_what_its_cards_declare():
    report = AuditReport(unchecked=[{"model": "org/ft", "declared": "org/base", "in_lake": True},
                                    {"model": "org/ft2", "declared": "meta/llama", "in_lake": False}])
    text = report.text()
    assert text.startswith("2 card-only models declare a base model, which the lake cannot check")
    assert "- org/ft declares org/base (in the lake)\n- org/ft2 declares meta/llama" in text


@pytest.mark.parametrize("kind,relation,phrase", [
    ("reversed", None, "the weights show the opposite: org/twin was derived from ft"),
    ("wrong_parent", None, "but the weights show it was fine-tuned from base instead"),
    ("relation", "adapter", "ft declares it is an adapter on org/twin, but the weights show it "
                            "was fine-tuned from base"),
])
def test_conflict_kinds_in_words(kind, relation, phrase):
    c = Conflict("ft", "org/twin", kind, "raw message", ["base"], relation, "finetune",
                 {"residual_ratio": 0.1})
    assert phrase in c.text() and _one_line(c)
    _clean(c.text())


# ----------------------------------------------------------------- model diff
def _tensors(n_same: int, changes: list[tuple[str, float]]) -> list[TensorDiff]:
    rows = [TensorDiff(f"encoder.layer.0.same{i}.bias", "identical", [8], 0.0)
            for i in range(n_same)]
    rows += [TensorDiff(name, "changed", [8, 8], rc, 8, 8) for name, rc in changes]
    return rows


def test_diff_verdict_first_in_words():
    changes = [(f"encoder.layer.{i % 6}.output.dense.weight{i}",
                0.02 + 0.001 * i if i % 6 == 2 else 0.005) for i in range(37)]
    d = ModelDiff("minilm-sentiment", "minilm-sentiment-int8",
                  "minilm-sentiment-int8 is minilm-sentiment quantized: every weight matrix "
                  "rounded to a grid of at most 8 bits per row", "quantized", "minilm-sentiment",
                  66, 37, 0, 0, 0.0055, _tensors(66, changes))
    before = d.to_dict()
    text = d.text()
    _clean(text)
    assert text.startswith("minilm-sentiment-int8 is a quantized copy of minilm-sentiment: 66 of "
                           "103 tensors (64%) identical, the other 37 changed slightly. Every weight matrix "
                           "was rounded to a grid of at most 8 bits per row.")
    assert "The largest changes are in layer 2, layer 0 and layer 1." in text
    # no per-tensor dump beyond the three most changed
    assert len(re.findall(r"output\.dense\.weight\d+", text)) == 3
    assert ("The most changed tensors are encoder.layer.2.output.dense.weight32 (changed by "
            "5.2%), encoder.layer.2.output.dense.weight26 (changed by 4.6%) and ") in text
    assert "0.0055" not in text
    assert d.to_dict() == before
    assert _one_line(d).startswith("minilm-sentiment-int8 is a quantized copy")


@pytest.mark.parametrize("verdict,relation,parent,start", [
    ("lora is base with a rank-2 update on 4 matrices and everything else identical (a merged "
     "low-rank adapter)", "adapter", "base",
     "lora is an adapter on base: 4 of 8 tensors (50%) identical, the other 4 changed moderately. It "
     "differs from base by a rank-2 update on 4 matrices"),
    ("lora is a merge of ft and pruned", "merge", "base",
     "lora is a merge of ft and pruned: 4 of 8 tensors (50%) identical"),
    ("lora is base pruned: 30% of the weights of its 4 pruned matrices set to zero, all other "
     "weights unchanged (lora is the parent)", "pruned", "base",
     "lora is a pruned copy of base: 4 of 8 tensors (50%) identical, the other 4 changed moderately. 30% "
     "of the weights of its 4 pruned matrices were set to zero; all other weights are "
     "unchanged."),
    ("lora is base fine-tuned on layers 0-1 only (the embeddings unchanged)", "finetune", "base",
     "lora is a fine-tune of base: 4 of 8 tensors (50%) identical, the other 4 changed moderately. It was "
     "fine-tuned on layers 0-1 only (the embeddings unchanged)."),
    ("base and lora are unrelated: their weights are near-orthogonal (relative distance 1.00; "
     "independent initializations give about 1.0)", None, None,
     "base and lora are unrelated: their weights look independently initialized."),
])
def test_diff_verdict_kinds(verdict, relation, parent, start):
    d = ModelDiff("base", "lora", verdict, relation, parent, 4, 4, 0, 0, 0.1,
                  _tensors(4, [(f"layer.{i}.q.weight", 0.12) for i in range(4)]))
    assert d.text().startswith(start), d.text()
    _clean(d.text())
    assert "relative distance" not in d.text()


def test_diff_without_comparable_tensors():
    d = ModelDiff("bert", "llama", "bert and llama share no comparable weight tensors (different "
                  "architectures or layouts): no relation can be read from weights",
                  only_in_a=66, only_in_b=1)
    text = d.text()
    assert text.startswith("bert and llama share no comparable weight tensors")
    assert "66 tensors exist only in bert and 1 tensor exists only in llama." in text


# ----------------------------------------------------------------- card audit
def _finding(kind: str, severity: str, message: str, card_says=None, lake_found=None,
             evidence=None, where=None) -> CardFinding:
    return CardFinding(kind, severity, message, card_says, lake_found, evidence or [], where)


def test_card_audit_base_model_conflict_comes_first():
    edge = {"kind": "inferred", "source": "edge tiny-base -> tiny-ft2", "claim": "finetune",
            "data": {"relation": "finetune", "confidence": 0.97,
                     "evidence": {"residual_ratio": 0.0}}}
    audit = CardAudit("tiny-ft2", 1, True, [
        _finding("missing", "info", "the card lacks datasets"),
        _finding("score", "error", "the card claims accuracy 0.97 on sentiment-smoke; run 3 "
                 "measured 0.55 (inflated by 0.42)", 0.97, 0.55),
        _finding("base_model", "error", "the card says base_model tiny-other; the weights show "
                 "tiny-base (...)", "tiny-other", ["tiny-base"],
                 [edge, {"kind": "inferred", "source": "lineage audit",
                         "claim": "declared tiny-other: unrelated", "data": {}}], "yaml"),
        _finding("empty_section", "info", "section \"Uses\" is empty", "Uses", None, [], "Uses"),
    ], overall=0.25, checked={"parameters": 0, "architecture": 0, "score": 1}).finish()
    before = audit.to_dict()
    text = audit.text()
    _clean(text)
    assert text.startswith("tiny-ft2's card disagrees with the weights and the measured runs on "
                           "2 points. Its declared base model, tiny-other, disagrees with the "
                           "weights: the two models' weights are unrelated (independently "
                           "initialized), and they show tiny-ft2 was fine-tuned from tiny-base "
                           "(confidence 0.97).")
    assert "- The card claims accuracy 0.97 on sentiment-smoke" in text
    assert text.index("disagrees") < text.index("The card claims") < text.index("lacks datasets")
    assert "1 section is empty: Uses." in text and "25% complete" in text
    assert audit.to_dict() == before
    assert "base_check" not in audit.to_dict()
    _one_line(audit)


def test_card_audit_confirms_the_declared_base_model():
    audit = CardAudit("minilm-sentiment", 1, True, [
        _finding("missing", "info", "the card lacks limitations section")],
        overall=0.2, checked={"parameters": 0, "architecture": 1, "score": 0}).finish()
    audit.base_check = BaseModelCheck(["sentence-transformers/all-MiniLM-L6-v2"],
                                      ["all-MiniLM-L6-v2"], "finetune", 1.0,
                                      ["sentence-transformers/all-MiniLM-L6-v2"])
    text = audit.text()
    _clean(text)
    assert text.startswith("minilm-sentiment's card agrees with the weights: nothing it claims "
                           "is contradicted. Its declared base model, "
                           "sentence-transformers/all-MiniLM-L6-v2, agrees with the weights: "
                           "minilm-sentiment was fine-tuned from all-MiniLM-L6-v2 (confidence "
                           "1.00).")
    assert "The card lacks a limitations section." in text


def test_card_audit_omitted_base_model_and_no_card():
    audit = CardAudit("m", 1, True, [_finding(
        "base_model", "warning", "the card names no base_model, but base_model (looks derived: "
        "config _name_or_path is org/x)", None, "base_model (looks derived: config "
        "_name_or_path is org/x)", [], "yaml")], checked={"parameters": 0}).finish()
    text = audit.text()
    assert text.startswith("m's card agrees with the weights: nothing it claims is "
                           "contradicted. It declares no base model, but it looks derived from "
                           "another model (config _name_or_path is org/x).")
    none = CardAudit("m", 1, False, [_finding("no_card", "error", "no card")]).finish()
    assert none.text().startswith("m has no model card in the lake")
    _clean(none.text())
    _one_line(none)


def test_card_audit_many_gaps_are_a_table():
    audit = CardAudit("m", 1, True, [_finding("missing", "info", f"the card lacks item{i}")
                                     for i in range(7)]).finish()
    assert "| item6 | missing |" in audit.text()


# ----------------------------------------------------------------- card draft
CARD = """---
license: mit
---

# Model Card for m

`m` is a bert model. [E1 declared: config.json]

## Model Details

It is fine-tuned from b (inferred from the weights). [E2 inferred: edge b -> m]

## Uses

[More Information Needed]

## Evidence

- **E1** declared, config.json: architecture (model_type=bert)

## Model Card Contact

[More Information Needed]
"""


def test_card_draft_summary_then_the_whole_card():
    d = DraftedCard("m", CARD, {"license": "mit"},
                  [{"id": "E1", "kind": "declared"}, {"id": "E2", "kind": "inferred"}],
                  ["uses: Direct use", "metadata: datasets"], {"details": 0.5}, 2, 0.4,
                  ["license mit is inherited from parent b, not declared"])
    assert d.markdown == CARD
    text = d.text()
    head, card = text.split("\n\n", 1)
    assert card == CARD and text.endswith("## Model Card Contact\n\n[More Information Needed]\n")
    _clean(head)
    assert head.startswith("Draft model card for m (version 2), 40% complete")
    assert "2 statements cite 2 pieces of evidence" in head
    assert "Model Details from the lineage" in head and "Nothing the lake knows fills Uses" in head
    assert "Still unknown: Direct use (Uses) and datasets (metadata)." in head
    assert "license mit is inherited" in head
    assert type(d.to_dict()["text"]) is str and d.to_dict()["text"] == CARD
    assert json.loads(json.dumps(d.to_dict()))["text"] == CARD
    assert _one_line(d).startswith("Drafted card for m: 40% complete")


# ----------------------------------------------------------------- on a real tiny lake
def test_records_of_a_real_lake_read_well(lake):  # noqa: F811
    from modellake.tools.cards import check_card, draft_card
    from modellake.tools.lineage import audit, descendants, diff, lineage

    cat, _ = lake
    g = lineage(cat)
    assert "tiny-ft was fine-tuned from tiny-base" in g.text()
    assert "tiny-ft2 declares tiny-other as its base model" in g.text()
    report = audit(cat)
    assert report.text().startswith("No declared base model agrees with the weights and 1 "
                                    "conflicts with them")
    d = diff(cat, "tiny-base", "tiny-ft")
    assert d.text().startswith("tiny-ft is a fine-tune of tiny-base:")
    down = descendants(cat, "tiny-base")
    assert "tiny-ft was fine-tuned from tiny-base" in down.text()
    planted = check_card(cat, "tiny-ft2")
    assert planted.text().startswith("tiny-ft2's card disagrees with the weights and the "
                                     "measured runs on ")
    assert planted.text().split(". ")[1].startswith("Its declared base model, tiny-other, "
                                                   "disagrees with the weights")
    good = check_card(cat, "tiny-ft", text="---\nbase_model: tiny-base\nlicense: mit\n---\n"
                                          "# tiny-ft\n\nA fine-tune.\n")
    assert "Its declared base model, tiny-base, agrees with the weights" in good.text()
    draft = draft_card(cat, "tiny-ft")
    assert draft.text().endswith(draft.markdown) and "## Model Card Contact" in draft.text()
    for r in (g, report, d, down, planted, good):
        _clean(r.text())
        _one_line(r)
    _clean(draft.text().split("\n\n", 1)[0])
    _one_line(draft)
