"""Model cards drafted from evidence, and cards audited against it (tools/card*.py).

A tiny lake built here: ``tiny-base`` (a random BERT with a card), ``tiny-ft`` (tiny-base
really fine-tuned a few AdamW steps; no card), ``tiny-ft2`` (another fine-tune of
tiny-base, with a card full of planted errors) and ``tiny-other`` (an unrelated BERT).
Benchmark runs are stored through the benchmark store (``modellake.store.runs``).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from modellake.store.records import BenchmarkRun
from modellake.tools import cards as card_api
from modellake.tools.cards import (
    check_card,
    draft_card,
    llm_writer,
    score_card,
    validate_card,
    verify_draft,
    write_card,
)

CARDS_DIR = os.environ.get("MODELLAKE_CARDS_DIR")
TASK = "sentiment-smoke"

BASE_CARD = """---
license: mit
language: en
tags: [tiny]
---
# tiny-base

A tiny random BERT encoder made for the card tests.

## Limitations

It was never trained: its outputs carry no meaning at all.
"""

PLANTED_CARD = """---
license: apache-2.0
base_model: tiny-other
model-index:
- name: tiny-ft2
  results:
  - task: {type: text-classification}
    dataset: {name: sentiment-smoke, type: sentiment-smoke}
    metrics:
    - {type: accuracy, value: 0.97}
---
# tiny-ft2

This is a BERT-base model with 22M parameters, fine-tuned for sentiment.

## Evaluation

It reaches an accuracy of 97% on sentiment-smoke.

## Uses

<!-- fill me -->
[More Information Needed]
"""


def _config():
    from transformers import BertConfig

    return BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=64)


def _finetune(src: Path, dst: Path, seed: int) -> None:
    import torch
    from transformers import BertModel

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny batches: a second thread only spins on a busy machine
    try:
        torch.manual_seed(seed)
        model = BertModel.from_pretrained(src)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        for _ in range(20):
            ids = torch.randint(0, 50, (4, 12))
            loss = (model(input_ids=ids).last_hidden_state[:, 0, :4] - 1).pow(2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
        model.save_pretrained(dst, safe_serialization=True)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """(catalog, facts): the tiny lake and its ground truth."""
    import torch
    from transformers import BertModel

    from modellake.store.catalog import Catalog
    from modellake.tools.ingest import ingest

    root = tmp_path_factory.mktemp("card-lake")
    models = root / "models"
    torch.manual_seed(0)
    base = BertModel(_config())
    n_params = sum(p.numel() for p in base.parameters())
    base.save_pretrained(models / "tiny-base", safe_serialization=True)
    (models / "tiny-base" / "README.md").write_text(BASE_CARD)
    torch.manual_seed(1)
    BertModel(_config()).save_pretrained(models / "tiny-other", safe_serialization=True)
    _finetune(models / "tiny-base", models / "tiny-ft", seed=2)
    _finetune(models / "tiny-base", models / "tiny-ft2", seed=3)
    (models / "tiny-ft2" / "README.md").write_text(PLANTED_CARD)
    (root / "lake").mkdir()
    cat = Catalog(root / "lake" / "catalog.db")
    for name in ("tiny-base", "tiny-other", "tiny-ft", "tiny-ft2"):
        report = ingest(cat, [models / name], name=name)
        assert not report.errors, report.errors
    runs = {}
    for name, acc, se in (("tiny-ft", 0.625, 0.05), ("tiny-base", 0.5, 0.06), ("tiny-ft2", 0.55, 0.05)):
        rec = cat.get_model(name)
        run = BenchmarkRun(
            model=name, task=TASK, metrics={"accuracy": acc, "macro_f1": acc - 0.02},
            trust="measured", model_hash=rec.content_hash, dataset_hash="d" * 64,
            source="measured by modellake bench (builtin task)", seed=0, n_samples=40,
            model_version=rec.version, task_kind="classification", task_hash="t" * 64,
            stderr={"accuracy": se}, config={"task_smoke": True,
                                             "higher_is_better": {"accuracy": True,
                                                                  "macro_f1": True}})
        runs[name] = cat.runs.add(run, rec.id)
    rec = cat.get_model("tiny-ft")
    runs["reported"] = cat.runs.add(BenchmarkRun(
        model="tiny-ft", task="imported-task", metrics={"accuracy": 0.91}, trust="reported",
        model_hash=rec.content_hash, source="results.json", model_version=rec.version,
        task_kind="classification"), rec.id)
    yield cat, {"n_params": n_params, "runs": runs}
    cat.close()


@pytest.fixture(scope="module")
def ft_draft(lake):
    cat, _ = lake
    return draft_card(cat, "tiny-ft")


# ------------------------------------------------------------------ drafting
def test_draft_names_inferred_parent(lake, ft_draft):
    d = ft_draft
    assert d.metadata["base_model"] == "tiny-base"
    assert d.metadata["base_model_relation"] == "finetune"
    inferred = [e for e in d.evidence if e["kind"] == "inferred"]
    assert any(e["data"]["parent"] == "tiny-base" and e["data"]["child"] == "tiny-ft"
               for e in inferred)
    assert "fine-tuned from tiny-base (inferred from the weights)" in d.markdown
    assert "relative weight distance" in d.markdown  # the edge's numbers, not just its name


def test_draft_has_right_size_architecture_and_scores(lake, ft_draft):
    cat, truth = lake
    d = ft_draft
    n = truth["n_params"]
    assert cat.get_model("tiny-ft").num_parameters == n
    assert f"{n:,}" in d.markdown
    assert "bert model (`BertModel`)" in d.markdown
    assert d.metadata["library_name"] == "transformers"
    assert d.metadata["pipeline_tag"] == "feature-extraction"
    run = truth["runs"]["tiny-ft"]
    (entry,) = d.metadata["model-index"]
    metrics = {m["type"]: m for r in entry["results"] for m in r["metrics"]}
    assert metrics["accuracy"]["value"] == 0.625
    assert f"run {run.id}" in metrics["accuracy"]["name"]
    assert entry["results"][0]["dataset"]["name"] == TASK
    assert f"| {TASK} | accuracy | 0.625 | 0.05 | measured | " in d.markdown
    assert f"measured: run {run.id}]" in d.markdown
    # a reported run is shown as such and never enters the model-index
    assert "| imported-task | accuracy | 0.91 | - | reported |" in d.markdown
    assert "0.91" not in json.dumps(d.metadata)
    # the parent's run on the same task definition gives a comparison
    assert "Against its parent tiny-base on sentiment-smoke: accuracy 0.625 vs 0.5 (+0.125)" \
        in d.markdown


def test_licence_inherited_and_flagged(ft_draft):
    assert ft_draft.metadata["license"] == "mit"
    assert "mit, inherited from its parent tiny-base (not declared by this model" in ft_draft.markdown
    assert any("inherited" in n for n in ft_draft.notes)


def test_yaml_validates_and_round_trips(ft_draft):
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    assert validate_card(ft_draft.markdown) == []
    card = ModelCard(ft_draft.markdown)  # raises on invalid metadata
    assert card.data.to_dict() == ft_draft.metadata
    assert str(ModelCard(str(card))) == str(card)
    name, results = model_index_to_eval_results(ft_draft.metadata["model-index"])
    assert name == "tiny-ft" and {r.metric_type for r in results} == {"accuracy", "macro_f1"}
    assert ft_draft.markdown.startswith("---\n")
    assert card.data.base_model == "tiny-base"


@pytest.mark.parametrize("name", ["tiny-ft", "tiny-base", "tiny-other", "tiny-ft2"])
def test_nothing_stated_that_is_not_in_the_lake(lake, name):
    cat, _ = lake
    d = draft_card(cat, name)
    assert verify_draft(cat, d) == []
    assert validate_card(d.markdown) == []


def test_verifier_catches_invented_statements(lake, ft_draft):
    """The no-invention check is not vacuous: an added claim or a changed number fails it."""
    from dataclasses import replace

    cat, _ = lake
    invented = ft_draft.markdown.replace("#### Factors\n", "#### Factors\n\nIt was trained on SST-2.\n")
    problems = verify_draft(cat, replace(ft_draft, markdown=invented))
    assert any("no evidence marker" in p and "SST-2" in p for p in problems)
    marker = next(e["marker"] for e in ft_draft.evidence if e["kind"] == "measured")
    wrong = ft_draft.markdown.replace("#### Factors\n",
                                  f"#### Factors\n\nAccuracy is 0.99. {marker}\n")
    assert any("numbers not in its evidence" in p
               for p in verify_draft(cat, replace(ft_draft, markdown=wrong)))
    ev = [dict(e) for e in ft_draft.evidence]
    for e in ev:
        if e["kind"] == "weights" and "num_parameters" in e["data"]:
            e["data"] = dict(e["data"], num_parameters=999)
    assert any("num_parameters" in p for p in verify_draft(cat, replace(ft_draft, evidence=ev)))


def test_unknowns_say_so_and_are_listed(ft_draft):
    d = ft_draft
    assert "[More Information Needed]" in d.markdown
    assert "uses: Out-of-scope use" in d.missing
    assert "- Out-of-scope use (Uses)" in d.markdown
    assert set(d.completeness) == set(card_api.SECTIONS)
    assert all(0.0 <= v <= 1.0 for v in d.completeness.values())
    assert d.completeness["evaluation"] == 1.0
    assert d.completeness["environmental_impact"] == 0.0
    assert 0 < d.overall < 1
    for section, score in d.completeness.items():
        missing = [m for m in d.missing if m.startswith(section + ":")]
        assert (score == 1.0) == (not missing), section


def test_declared_card_text_is_quoted_with_its_evidence(lake):
    cat, _ = lake
    d = draft_card(cat, "tiny-base")
    assert 'From the model\'s own card (README.md, section "Limitations")' in d.markdown
    assert "> It was never trained: its outputs carry no meaning at all." in d.markdown
    assert d.metadata["license"] == "mit" and d.metadata["language"] == "en"
    assert "inherited" not in d.markdown


def test_card_is_rendered_from_the_packaged_template(ft_draft, tmp_path):
    from modellake.tools.cards import TEMPLATE_PATH

    assert TEMPLATE_PATH.is_file() and TEMPLATE_PATH.parent.name == "templates"
    for heading in ("## Model Details", "## Uses", "## Bias, Risks, and Limitations",
                    "## Training Details", "## Evaluation", "## Technical Specifications",
                    "## How to Get Started with the Model", "## Environmental Impact"):
        assert heading in ft_draft.markdown
    out = write_card(ft_draft, tmp_path)
    assert out.name == "README.md" and out.read_text() == ft_draft.markdown + (
        "" if ft_draft.markdown.endswith("\n") else "\n")


def test_json_shape(ft_draft):
    d = ft_draft.to_dict()
    assert set(d) >= {"model", "version", "text", "metadata", "evidence", "missing",
                      "completeness", "overall", "notes", "prose"}
    e = d["evidence"][0]
    assert set(e) == {"id", "kind", "source", "claim", "data", "marker"}
    assert e["marker"] == f"[{e['id']} {e['kind']}: {e['source']}]"
    json.dumps(d)


# ------------------------------------------------------------------ the LLM hook
def test_writer_prose_is_used_only_when_faithful(lake):
    cat, _ = lake
    calls = []

    def faithful(section, evidence):
        calls.append(section)
        assert evidence and all("marker" in e and "data" in e for e in evidence)
        return f"Prose for {section.replace('_', ' ')}."

    d = draft_card(cat, "tiny-ft", writer=faithful)
    assert d.prose == "writer" and "model_description" in calls
    assert "Prose for model description." in d.markdown
    assert verify_draft(cat, d) == []  # the evidence markers were appended

    d = draft_card(cat, "tiny-ft", writer=lambda s, e: "It scores 0.99 everywhere.")
    assert "0.99 everywhere" not in d.markdown
    assert any("rejected" in n and "0.99" in n for n in d.notes)

    def broken(section, evidence):
        raise RuntimeError("backend down")

    d = draft_card(cat, "tiny-ft", writer=broken)
    assert any("writer failed" in n for n in d.notes)
    assert verify_draft(cat, d) == []


def test_llm_writer_wraps_a_generator(lake):
    cat, _ = lake
    prompts = []

    class FakeChat:
        def invoke(self, prompt):
            prompts.append(prompt)

            class Msg:
                content = "A short grounded sentence."
            return Msg()

    d = draft_card(cat, "tiny-ft", writer=llm_writer(FakeChat()))
    assert prompts and "Use ONLY the facts below" in prompts[0]
    assert "A short grounded sentence." in d.markdown


# ------------------------------------------------------------------ without lineage
def test_declared_parent_when_lineage_is_absent(lake, monkeypatch):
    """Before (or without) lineage inference the drafter uses the declared base model."""
    from modellake.tools.cards import facts as card_facts

    cat, _ = lake
    real = card_facts._optional_module
    monkeypatch.setattr(card_facts, "_optional_module",
                        lambda name: None if name.endswith(".lineage") else real(name))
    d = draft_card(cat, "tiny-ft2")
    assert d.metadata["base_model"] == "tiny-other"  # what its card declares
    assert any("declared, not checked against weights" in n for n in d.notes)
    assert verify_draft(cat, d) == []


def test_draft_for_a_card_only_model(tmp_path):
    from modellake.store.catalog import Catalog
    from modellake.tools.ingest import ingest

    p = tmp_path / "card-only.md"
    p.write_text("---\nlicense: mit\nbase_model: org/parent\n---\n# x\n\nA model with "
                 "110M parameters.\n")
    cat = Catalog(tmp_path / "catalog.db")
    ingest(cat, [p])
    d = draft_card(cat, "card-only")
    assert d.metadata["base_model"] == "org/parent" and d.metadata["license"] == "mit"
    assert verify_draft(cat, d) == []
    audit = check_card(cat, "card-only")
    assert not any(f.kind == "parameters" for f in audit.findings)  # no weights: unverifiable
    cat.close()


# ------------------------------------------------------------------ auditing
def _kinds(audit, severities=("error", "warning")):
    return {f.kind for f in audit.findings if f.severity in severities}


def test_audit_catches_planted_errors(lake):
    cat, truth = lake
    audit = check_card(cat, "tiny-ft2")
    errors = {f.kind: f for f in audit.findings if f.severity == "error"}
    # a wrong base_model: its card says tiny-other, the weights show tiny-base
    f = errors["base_model"]
    assert f.card_says == "tiny-other" and f.lake_found == ["tiny-base"]
    assert f.evidence and f.evidence[0]["kind"] == "inferred"
    # a wrong parameter count: "22M parameters" and "a BERT-base model" on a 23.5K model
    params = [f for f in audit.findings if f.kind == "parameters"]
    assert {p.card_says for p in params} >= {"22M parameters", "a BERT-base model"}
    assert all(p.severity == "error" and p.lake_found == truth["n_params"] for p in params)
    # an inflated score: 0.97 (model-index) and 97% (text) against a measured 0.55
    scores = [f for f in audit.findings if f.kind == "score"]
    assert "model-index" in {s.where for s in scores}
    assert any(s.where.startswith("text line") and s.card_says == 97.0 for s in scores)
    assert all(s.severity == "error" and s.lake_found == 0.55 and "inflated" in s.message
               for s in scores)
    assert scores[0].evidence[0]["source"] == f"run {truth['runs']['tiny-ft2'].id}"
    # licence differing from the parent's, and an empty section
    lic = next(f for f in audit.findings if f.kind == "license")
    assert lic.card_says == "apache-2.0" and lic.lake_found == "mit"
    assert any(f.kind == "empty_section" and f.card_says == "Uses" for f in audit.findings)
    assert audit.counts["error"] >= 4
    json.dumps(audit.to_dict())


def test_audit_of_a_drafted_card_is_clean(lake, ft_draft):
    cat, _ = lake
    audit = check_card(cat, "tiny-ft", text=ft_draft.markdown)
    assert not _kinds(audit) & {"base_model", "parameters", "architecture", "score", "license"}, \
        [f.message for f in audit.findings]


def test_audit_catches_understated_and_misnamed(lake):
    cat, _ = lake
    text = ("---\nbase_model: tiny-base\nlicense: mit\nbase_model_relation: adapter\n---\n"
            "# tiny-ft\n\nA Llama model.\n\n| Task | Accuracy |\n|---|---|\n"
            "| sentiment-smoke | 0.30 |\n")
    audit = check_card(cat, "tiny-ft", text=text)
    kinds = {f.kind: f for f in audit.findings}
    assert kinds["architecture"].card_says == "A Llama model" and \
        kinds["architecture"].lake_found == "bert"
    assert kinds["base_model_relation"].lake_found == "finetune"
    assert kinds["score"].severity == "warning" and "understated" in kinds["score"].message
    assert "base_model" not in _kinds(audit)


def test_audit_catches_text_contradicting_yaml(lake):
    cat, _ = lake
    text = ("---\nbase_model: tiny-base\nlicense: mit\n---\n# tiny-ft\n\nThis model is a "
            "fine-tuned version of [acme/other-bert](https://huggingface.co/acme/other-bert).\n")
    f = next(f for f in check_card(cat, "tiny-ft", text=text).findings if f.kind == "base_model")
    assert f.severity == "warning" and f.card_says == "acme/other-bert"
    assert f.lake_found == ["tiny-base"] and f.where == "text line 3"


def test_audit_without_a_card(lake):
    cat, _ = lake
    audit = check_card(cat, "tiny-other")
    assert [f.kind for f in audit.findings] == ["no_card"] and not audit.has_card


def test_missing_base_model_is_found(lake):
    cat, _ = lake
    audit = check_card(cat, "tiny-ft", text="---\nlicense: mit\n---\n# tiny-ft\n\nA model.\n")
    f = next(f for f in audit.findings if f.kind == "base_model")
    assert f.severity == "error" and f.card_says is None and f.lake_found == ["tiny-base"]


# ------------------------------------------------------------------ completeness
def test_completeness_of_the_hub_template_and_of_a_full_card():
    from huggingface_hub import ModelCard, ModelCardData

    empty = str(ModelCard.from_template(ModelCardData(license="mit")))
    s = score_card(empty)
    assert s.sections["uses"] == 0 and s.sections["evaluation"] == 0
    assert s.sections["bias_risks_limitations"] == 0 and s.sections["training"] == 0
    full = ModelCard.from_template(
        ModelCardData(license="mit", language="en", pipeline_tag="fill-mask", tags=["x"],
                      library_name="transformers", datasets=["wikitext"]),
        model_description="A small masked language model trained on English text.",
        direct_use="Fill in masked words in English sentences.",
        bias_risks_limitations="It reproduces the biases of its web training text.",
        training_data="English Wikipedia, 2023 dump, deduplicated.",
        testing_data="The wikitext test split of 245 articles.",
        results="| metric | value |\n|---|---|\n| accuracy | 0.61 |",
        get_started_code="```python\nfrom transformers import pipeline\n```")
    s2 = score_card(str(full))
    assert s2.sections["uses"] > 0 and s2.sections["evaluation"] > 0
    assert s2.sections["get_started"] == 1.0 and s2.overall > s.overall


def test_empty_sections_are_found():
    s = score_card("# T\n\n## Uses\n\n[More Information Needed]\n\n## Training\n\nTrained on "
                   "many English books for ten epochs.\n")
    assert s.empty_sections == ["Uses"] and "training" in s.filled and s.filled["training"]


@pytest.mark.skipif(not CARDS_DIR, reason="set MODELLAKE_CARDS_DIR to the shared real cards "
                    "(make test does when ../shared/cards exists)")
def test_every_real_card_gets_a_completeness_score():
    from modellake.tools.cards import claims as cc
    from modellake.tools.formats.card_fmt import read_card

    paths = sorted(p for p in Path(CARDS_DIR).glob("*.md") if re.fullmatch(r"\d+", p.stem))
    assert len(paths) == 194
    for p in paths:
        info = read_card(p)
        s = score_card(info)
        assert set(s.sections) == set(card_api.SECTIONS), p
        assert all(0.0 <= v <= 1.0 for v in s.sections.values()), p
        cc.parameter_claims(info)
        cc.architecture_claims(info)
        cc.base_model_claims(info)
