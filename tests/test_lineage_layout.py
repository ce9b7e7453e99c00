"""Lineage across layout changes (issue 15): task heads, resized vocabularies, dropped layers,
GGUF exports of them, adapters saved alone, and odd files that match nothing."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from modellake.store.catalog import Catalog
from modellake.tools.ingest import ingest
from modellake.tools.lineage import infer_lineage
from modellake.tools.lineage.align import (
    Canonical,
    align,
    best_prefixes,
    monotone_match,
    structural,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from lakegen_layout import build_layout_lake, tag_of, write_gguf  # noqa: E402

# ----------------------------------------------------------------- alignment, no files

class Arrays:
    """A reader over a dict of arrays."""

    def __init__(self, d: dict[str, np.ndarray]) -> None:
        self.d = d

    def names(self) -> list[str]:
        return list(self.d)

    def shape(self, name: str) -> list[int]:
        return list(self.d[name].shape)

    def get(self, name: str) -> np.ndarray:
        return self.d[name]


def _encoder(layers: int, rows: int = 50, seed: int = 0, prefix: str = "") -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = f"{prefix}." if prefix else ""
    out = {f"{p}embeddings.word_embeddings.weight": rng.standard_normal((rows, 8)).astype(np.float32)}
    for i in range(layers):
        out[f"{p}encoder.layer.{i}.attention.self.query.weight"] = rng.standard_normal((8, 8)).astype(np.float32)
        out[f"{p}encoder.layer.{i}.output.dense.weight"] = rng.standard_normal((8, 16)).astype(np.float32)
    return out


def test_task_prefix_new_head_and_appended_rows_line_up():
    base = _encoder(2)
    child = {("bert." + k): v.copy() for k, v in base.items()}
    child["bert.embeddings.word_embeddings.weight"] = np.concatenate(
        [base["embeddings.word_embeddings.weight"], np.ones((3, 8), np.float32)])
    child["classifier.weight"] = np.zeros((2, 8), np.float32)
    pa, pb = best_prefixes(list(base), list(child))
    assert (pa, pb) == ("", "bert")
    al = structural(Canonical(Arrays(base), pa), Canonical(Arrays(child), pb))
    assert al.appended_rows() == 3 and al.head_side() == "b" and al.direction() == 1
    assert al.coverage_a == 1.0 and al.b_only == ["classifier.weight"]
    facts = al.to_dict()
    assert facts["appended_vocab_rows"] == 3 and facts["new_tensors"] == ["classifier"]


def test_dropped_layers_are_matched_by_their_weights():
    base = _encoder(6, seed=1)
    keep = [0, 2, 3, 5]
    child = {k: v for k, v in base.items() if ".layer." not in k}
    for new, old in enumerate(keep):
        child.update({k.replace(f".layer.{old}.", f".layer.{new}."): v.copy()
                      for k, v in base.items() if f".layer.{old}." in k})
    al = align(Arrays(base), Arrays(child))
    assert al.kept_layers() == keep and al.layers_a == 6 and al.layers_b == 4
    assert al.direction() == 1 and al.coverage_b == 1.0
    assert al.to_dict()["dropped_tensors"] == ["layer 1", "layer 4"]


def test_monotone_match_keeps_order_and_minimizes_cost():
    cost = np.array([[0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0]])
    assert monotone_match(cost) == [0, 2, 3]
    assert monotone_match(np.ones((2, 2))) == [0, 1]


# ----------------------------------------------------------------- a generated lake

@pytest.fixture(scope="module")
def layout_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("layout-lake")
    gt = build_layout_lake(root / "lake", seed=0, quick=True)
    cat = Catalog(root / "c.db")
    report = ingest(cat, [gt.root])
    assert not report.errors
    graph = infer_lineage(cat)
    yield gt, cat, graph
    cat.close()


def test_every_layout_changing_derivation_is_found(layout_lake):
    gt, _, graph = layout_lake
    true = {(e.parent, e.child): e.relation for e in gt.edges}
    pred = {(e.parent, e.child): e.relation for e in graph.edges}
    missed = {k: gt.recipes[k[1]] for k in true if k not in pred}
    assert not missed
    assert not set(pred) - set(true)
    assert all(pred[k] == r for k, r in true.items())
    tags = {tag_of(gt.recipes[c]) for _, c in true}
    assert {"classifier", "vocab-resize", "layer-drop", "gguf-q8_0", "gguf-q4_0", "gguf-f16", "adapter"} <= tags


def test_unrelated_models_of_the_same_architecture_stay_roots(layout_lake):
    gt, _, graph = layout_lake
    unrelated = [n for n, r in gt.recipes.items() if tag_of(r) == "unrelated"]
    assert unrelated
    for n in unrelated:
        assert not graph.parents(n) and not graph.children(n)


def test_edges_across_layouts_say_what_changed(layout_lake):
    gt, _, graph = layout_lake
    by_tag = {tag_of(gt.recipes[e.child]): e for e in graph.edges}
    vocab = by_tag["vocab-resize"].evidence
    assert vocab["layout"]["appended_vocab_rows"] >= 2
    assert "appended vocabulary row" in vocab["direction_cue"]
    drop = by_tag["layer-drop"]
    assert drop.relation == "pruned" and "keeps layers" in drop.evidence["direction_cue"]
    assert len(drop.evidence["layout"]["kept_layers"]) == drop.evidence["layout"]["of_layers"] - 1
    cls = by_tag["classifier"].evidence["layout"]
    assert cls["coverage_parent"] > 0.8 and any(t in ("classifier", "score") for t in cls["new_tensors"])
    json.dumps(graph.to_dict())  # the evidence stays plain JSON


def test_a_changed_model_re_solves_only_what_it_must(layout_lake):
    _, cat, graph = layout_lake
    again = infer_lineage(cat)
    assert {(e.parent, e.child) for e in again.edges} == {(e.parent, e.child) for e in graph.edges}


# ----------------------------------------------------------------- odd files

def _tiny_bert(seed: int, vocab: int = 120):
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    return BertModel(BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=4, intermediate_size=64,
                                max_position_embeddings=32))


def _lora(folder: Path, base: str, width: int) -> None:
    """A PEFT LoRA saved alone: rank 2 on layer 0's query of a ``width``-wide BERT."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "r": 2, "target_modules": ["query"], "base_model_name_or_path": base}))
    stem = "base_model.model.encoder.layer.0.attention.self.query"
    save_file({f"{stem}.lora_A.weight": np.ones((2, width), np.float32),
               f"{stem}.lora_B.weight": np.ones((width, 2), np.float32)},
              str(folder / "adapter_model.safetensors"))


def test_gguf_and_adapter_that_match_nothing_are_roots_with_a_reason(tmp_path):
    torch.set_num_threads(1)
    lake = tmp_path / "lake"
    _tiny_bert(1).save_pretrained(lake / "base", safe_serialization=True)
    stranger = tmp_path / "stranger"
    _tiny_bert(2, vocab=130).save_pretrained(stranger, safe_serialization=True)
    (lake / "stranger-q8").mkdir(parents=True)  # a folder of one file is named after the folder
    write_gguf(stranger, lake / "stranger-q8" / "model-q8_0.gguf", "Q8_0", [f"t{i}" for i in range(130)])
    _lora(lake / "lonely-lora", "org/not-in-this-lake", width=48)  # fits no model here
    cat = Catalog(tmp_path / "c.db")
    assert not ingest(cat, [lake]).errors
    graph = infer_lineage(cat)
    assert not graph.edges
    assert "stranger-q8" in graph.notes and "lonely-lora" in graph.notes
    assert "org/not-in-this-lake" in graph.notes["lonely-lora"]
    text = graph.text()
    assert "link to no model in the lake, and why:" in text and "- stranger-q8: " in text
    cat.close()


def test_adapter_declaring_its_base_by_path_is_linked_to_it(tmp_path):
    torch.set_num_threads(1)
    lake = tmp_path / "lake"
    for i in (1, 2):  # two bases of the same shapes: only the declared path tells them apart
        _tiny_bert(i).save_pretrained(lake / f"base-{i}", safe_serialization=True)
    _lora(lake / "my-lora", "../base-2", width=32)
    cat = Catalog(tmp_path / "c.db")
    assert not ingest(cat, [lake]).errors
    (edge,) = infer_lineage(cat).parents("my-lora")
    assert edge.parent == "base-2" and edge.relation == "adapter"
    assert "shapes only" in edge.evidence["weights_confirm"]
    cat.close()


def test_one_failing_link_does_not_stop_the_lineage(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    lake = tmp_path / "lake"
    base = _tiny_bert(1)
    base.save_pretrained(lake / "base", safe_serialization=True)
    ft = _tiny_bert(1)
    with torch.no_grad():
        for p in ft.parameters():
            p.add_(0.01 * torch.randn_like(p))
    ft.save_pretrained(lake / "ft", safe_serialization=True)
    (lake / "base-q8").mkdir()
    write_gguf(lake / "base", lake / "base-q8" / "model-q8_0.gguf", "Q8_0", [f"t{i}" for i in range(120)])
    cat = Catalog(tmp_path / "c.db")
    assert not ingest(cat, [lake]).errors

    def boom(*_a, **_k):
        raise IndexError("index 32982 is out of bounds for axis 0 with size 32768")

    monkeypatch.setattr("modellake.tools.lineage.links.link_gguf", boom)
    graph = infer_lineage(cat)
    assert [(e.parent, e.child) for e in graph.edges] == [("base", "ft")]
    assert "could not be compared" in graph.notes["base-q8"] and "32982" in graph.notes["base-q8"]
    cat.close()
