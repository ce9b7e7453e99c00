"""``diff`` follows the lineage graph and reads across layouts.

A tiny BERT family built in code: root; ft (a fine-tune); cls1, cls2 (classifiers
fine-tuned from root: 'bert.' prefix and a new head); cls1-ft; vocab (3 appended
vocabulary rows) and vocab-ft; dropped (layers 0, 2, 3 of root, unchanged); and an
unrelated model. Only a pair joined by an edge gets a derivation verb; other pairs are
described by their kinship.
"""
from __future__ import annotations

import json
import re

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertModel

from modellake.store.catalog import Catalog
from modellake.tools.ingest import ingest
from modellake.tools.lineage import diff, infer_lineage

CFG = dict(vocab_size=300, hidden_size=64, num_hidden_layers=4, num_attention_heads=4,
           intermediate_size=128, max_position_embeddings=64)
EDGES = {("root", "ft"), ("root", "cls1"), ("root", "cls2"), ("cls1", "cls1-ft"),
         ("root", "vocab"), ("vocab", "vocab-ft"), ("root", "dropped")}


def _noisy(model, seed: int):
    """A "fine-tune": small seeded noise on every parameter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.01 * p.std().clamp(min=1e-3))
    return model


def _dropped(root: BertModel, keep: list[int]) -> BertModel:
    """Layers ``keep`` of root, renumbered, weights unchanged."""
    out = BertModel(BertConfig(**{**CFG, "num_hidden_layers": len(keep)}))
    state = {}
    for k, v in root.state_dict().items():
        if ".layer." in k:
            i = int(k.split(".layer.")[1].split(".")[0])
            if i in keep:
                state[k.replace(f".layer.{i}.", f".layer.{keep.index(i)}.")] = v
        else:
            state[k] = v
    out.load_state_dict(state)
    return out


def _build(d):
    torch.manual_seed(0)
    root = BertModel(BertConfig(**CFG))
    root.save_pretrained(d / "root")
    _noisy(BertModel.from_pretrained(d / "root"), 2).save_pretrained(d / "ft")
    for name, seed in (("cls1", 3), ("cls2", 4)):
        cls = BertForSequenceClassification.from_pretrained(d / "root", num_labels=2)
        _noisy(cls, seed).save_pretrained(d / name)
    _noisy(BertForSequenceClassification.from_pretrained(d / "cls1"), 5).save_pretrained(d / "cls1-ft")
    vocab = BertModel.from_pretrained(d / "root")
    vocab.resize_token_embeddings(303, mean_resizing=False)
    _noisy(vocab, 6).save_pretrained(d / "vocab")
    _noisy(BertModel.from_pretrained(d / "vocab"), 7).save_pretrained(d / "vocab-ft")
    _dropped(root, [0, 2, 3]).save_pretrained(d / "dropped")
    torch.manual_seed(99)
    BertModel(BertConfig(**CFG)).save_pretrained(d / "unrelated")


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    d = tmp_path_factory.mktemp("kin")
    _build(d / "lake")
    c = Catalog(d / "c.db")
    report = ingest(c, [d / "lake"])
    assert not report.errors, report.errors
    yield c
    c.close()


def test_the_graph_has_the_built_edges(cat):
    g = infer_lineage(cat)
    assert {(e.parent, e.child) for e in g.edges} >= EDGES
    assert ["unrelated"] in g.families


@pytest.mark.parametrize("a,b", [("cls1", "cls2"), ("ft", "cls1"), ("cls2", "cls1")])
def test_siblings_name_their_parent_without_a_derivation(cat, a, b):
    d = diff(cat, a, b)
    assert (d.relation, d.parent, d.kinship) == ("siblings", None, "siblings")
    assert d.verdict.startswith(f"{a} and {b} are siblings: both fine-tuned from root; their weights "
                                "differ on all layers (relative distance "), d.verdict
    for words in (f"{a} is {b}", f"{b} is {a}", "fine-tuned on", "a fine-tune of", "quantized", "pruned"):
        assert words not in d.verdict and words not in d.text()
    assert d.text().startswith(f"{a} and {b} are siblings: both fine-tuned from root; their weights "
                               "differ on all layers")


def test_siblings_across_layouts_say_how_the_layouts_differ(cat):
    d = diff(cat, "ft", "cls1")
    assert d.verdict.endswith("; only cls1 has a classifier; cls1's tensor names carry the 'bert.' prefix")
    assert d.only_in_b == 2 and d.changed > 60


@pytest.mark.parametrize("a,b,relation,verdict", [
    ("root", "cls1", "finetune", "cls1 is root fine-tuned on all layers, with a new classifier and the "
                                 "'bert.' prefix"),
    ("root", "vocab", "finetune", "vocab is root fine-tuned on all layers, with 3 appended vocabulary rows"),
    ("root", "dropped", "pruned", "dropped keeps layers 0, 2, 3 of root (others dropped), unchanged"),
    ("cls1", "cls1-ft", "finetune", "cls1-ft is cls1 fine-tuned on all layers"),
])
def test_parent_and_child_across_layouts(cat, a, b, relation, verdict):
    d = diff(cat, a, b)
    assert d.verdict == verdict
    assert (d.relation, d.parent, d.kinship) == (relation, a, "parent and child")


def test_the_edge_orients_the_verdict_whatever_the_argument_order(cat):
    d = diff(cat, "cls1", "root")
    assert d.parent == "root" and d.child() == "cls1"
    assert d.verdict == ("cls1 is root fine-tuned on all layers, with a new classifier and the 'bert.' "
                         "prefix (root is the parent)")
    assert re.match(r"cls1 is a fine-tune of root: all \d+ tensors changed slightly\. It was ", d.text())
    assert d.text().split(". ", 1)[1].startswith("It was "
                               "fine-tuned on all layers, with a new classifier and the 'bert.' prefix.")
    assert (d.only_in_a, d.only_in_b) == (2, 0)
    assert {t.name for t in d.tensors if t.status == "only_in_a"} == {"classifier.weight", "classifier.bias"}


def test_resized_and_dropped_tensors_are_reported(cat):
    v = diff(cat, "root", "vocab")
    emb = next(t for t in v.tensors if t.name == "embeddings.word_embeddings.weight")
    assert emb.resized == [300, 303] and emb.status == "changed" and emb.shape == [303, 64]
    assert "embeddings.word_embeddings.weight: 3 rows appended in vocab" in v.text()
    assert v.layout["appended_vocab_rows"] == 3
    dr = diff(cat, "root", "dropped")
    assert (dr.changed, dr.only_in_a, dr.only_in_b) == (0, 16, 0)
    assert {t.name.split(".")[2] for t in dr.tensors if t.status == "only_in_a"} == {"1"}
    assert dr.layout["kept_layers"] == [0, 2, 3]
    assert re.match(r"dropped is a pruned copy of root: all \d+ tensors identical\. ", dr.text())
    assert dr.text().split(". ", 1)[1].startswith("It keeps "
                                "layers 0, 2, 3 of root (others dropped), unchanged.")


@pytest.mark.parametrize("a,b,kinship,words", [
    ("cls1-ft", "vocab-ft", "cousins", "cls1-ft descends from root through cls1, vocab-ft through vocab"),
    ("root", "cls1-ft", "same family", "cls1-ft descends from root through cls1"),
    ("ft", "vocab-ft", "same family", "their nearest common ancestor is root"),
])
def test_more_distant_kin(cat, a, b, kinship, words):
    d = diff(cat, a, b)
    assert (d.relation, d.parent, d.kinship) == (kinship, None, kinship)
    assert words in d.verdict and "fine-tuned on" not in d.verdict and f"{b} is {a}" not in d.verdict


def test_unrelated(cat):
    d = diff(cat, "unrelated", "root")
    assert (d.relation, d.parent, d.kinship) == (None, None, "unrelated")
    assert d.verdict.startswith("unrelated and root are unrelated: their weights are near-orthogonal")


def test_json_carries_relation_parent_and_kinship(cat):
    for a, b, want in (("cls1", "cls2", ("siblings", None, "siblings")),
                       ("root", "cls1", ("finetune", "root", "parent and child")),
                       ("unrelated", "root", (None, None, "unrelated"))):
        d = json.loads(json.dumps(diff(cat, a, b).to_dict()))
        assert (d["relation"], d["parent"], d["kinship"]) == want
        assert "object at 0x" not in json.dumps(d) and "TensorDiff(" not in json.dumps(d)
