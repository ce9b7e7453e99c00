"""Lineage from weights: relations, families, declared vs inferred, diff, GGUF, cache."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import lakegen  # noqa: E402

from modellake.store.catalog import Catalog  # noqa: E402
from modellake.tools.ingest import ingest  # noqa: E402
from modellake.tools.lineage import (
    diff,  # noqa: E402
    draw_graph,  # noqa: E402
)
from modellake.tools.lineage.graph import (  # noqa: E402
    ancestors,
    audit,
    descendants,
    infer_lineage,
    lineage,
    siblings,
)
from tests.conftest import tiny_llama  # noqa: E402

DIMS = {"hidden": 32, "layers": 2, "vocab": 128, "heads": 4}


def _task(seed: int, active: float = 1.0):
    task = lakegen.MarkovTask(DIMS["vocab"], seed, active=active)
    return lambda: task.batch(8, 16)


def _save(model, root: Path, name: str, card: str | None = None) -> Path:
    out = root / name
    model.save_pretrained(out, safe_serialization=True)
    if card is not None:
        (out / "README.md").write_text(card)
    return out


def _ft(parent, seed: int, frozen: bool = False, steps: int = 8):
    m = lakegen._copy(parent)
    params = lakegen._freeze_embeddings(m) if frozen else None
    lakegen.train(m, _task(seed, 0.5), steps, 1e-4, 0.01, params=params, seed=seed)
    for p in m.parameters():
        p.requires_grad_(True)
    return m


def build_test_lake(root: Path) -> Path:
    """A tiny lake with every relation, an unrelated twin, and cards (one wrong)."""
    torch.set_num_threads(1)
    base = lakegen.make_model("bert", DIMS, seed=1)
    lakegen.train(base, _task(100), 150, 1e-3, 0.01, seed=100)
    twin = lakegen.make_model("bert", DIMS, seed=2)  # same architecture, other init
    lakegen.train(twin, _task(200), 10, 1e-3, 0.01, seed=200)
    ft = _ft(base, 1)
    frozen = _ft(base, 2, frozen=True)
    lora = lakegen._copy(base)
    lakegen.lora_finetune(lora, _task(3), 8, 5e-4, 2, seed=3)
    grand = _ft(ft, 4)
    q8 = lakegen._copy(ft)
    lakegen.quantize(q8, 8)
    pruned = lakegen._copy(base)
    lakegen.prune(pruned, 0.5)
    merged = lakegen._copy(ft)
    lakegen.merge(merged, [ft, frozen], [0.5, 0.5])
    half = lakegen._copy(base).to(torch.float16)
    _save(base, root, "base")
    _save(twin, root, "twin")
    _save(ft, root, "ft", "---\nbase_model: twin\n---\nFine-tuned from twin (wrong).\n")
    _save(frozen, root, "frozen", "---\nbase_model: org/base\nbase_model_relation: finetune\n---\n")
    _save(lora, root, "lora")
    _save(grand, root, "grand")
    _save(q8, root, "ft-int8")
    _save(pruned, root, "pruned")
    _save(merged, root, "merged")
    _save(half, root, "base-fp16")
    return root


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    return build_test_lake(tmp_path_factory.mktemp("lineage-lake"))


@pytest.fixture(scope="module")
def cat(lake, tmp_path_factory):
    c = Catalog(tmp_path_factory.mktemp("lineage-db") / "catalog.db")
    report = ingest(c, [lake])
    assert not report.errors, report.errors
    yield c
    c.close()


@pytest.fixture(scope="module")
def graph(cat):
    return infer_lineage(cat)


def _edges(graph) -> dict[tuple[str, str], str]:
    return {(e.parent, e.child): e.relation for e in graph.edges}


EXPECTED = {("base", "ft"): "finetune", ("base", "frozen"): "finetune",
            ("base", "lora"): "adapter", ("ft", "grand"): "finetune",
            ("ft", "ft-int8"): "quantized", ("base", "pruned"): "pruned",
            ("ft", "merged"): "merge", ("frozen", "merged"): "merge",
            ("base", "base-fp16"): "quantized"}


@pytest.mark.parametrize("edge", sorted(EXPECTED))
def test_each_relation_detected(graph, edge):
    assert _edges(graph).get(edge) == EXPECTED[edge]


def test_no_other_edges_and_unrelated_twin_stays_apart(graph):
    assert _edges(graph) == EXPECTED
    assert ["twin"] in graph.families
    assert sorted(graph.roots) == ["base", "twin"]


def test_edges_carry_confidence_and_evidence(graph):
    for e in graph.edges:
        assert 0.0 <= e.confidence <= 1.0
        assert "distance" in e.evidence and "direction_cue" in e.evidence
    by = {(e.parent, e.child): e for e in graph.edges}
    assert by[("base", "lora")].evidence["max_update_rank"] <= 2
    assert by[("base", "pruned")].evidence["zero_fraction_gain"] > 0.3
    assert set(by[("ft", "merged")].evidence["coefficients"]) == {"ft", "frozen"}


def test_json_contract(graph):
    d = json.loads(json.dumps(graph.to_dict()))
    assert set(d) == {"edges", "roots", "families", "conflicts", "notes"}
    e = d["edges"][0]
    assert {"parent", "child", "relation", "confidence", "evidence"} <= set(e)


def test_wrong_declared_base_is_flagged(cat, graph):
    kinds = {(c.model, c.kind) for c in graph.conflicts}
    assert ("ft", "unrelated") in kinds
    report = audit(cat)
    conflict = next(c for c in report.conflicts if c.model == "ft")
    assert conflict.declared == "twin" and conflict.inferred_parents == ["base"]
    assert conflict.evidence["related"] is False
    assert conflict.evidence["relative_distance"] > 0.9
    assert any(a["model"] == "frozen" and a["parent"] == "base" for a in report.agreements)
    assert {u["model"] for u in report.undocumented} >= {"lora", "grand", "pruned"}


def test_family_query_and_relatives(cat, graph):
    fam = lineage(cat, "grand")
    assert "twin" not in {n for f in fam.families for n in f}
    assert [r.name for r in ancestors(cat, "grand").models] == ["ft", "base"]
    down = {r.name: r.depth for r in descendants(cat, "base").models}
    assert down["grand"] == 2 and down["ft-int8"] == 2 and "twin" not in down
    assert {r.name for r in siblings(cat, "ft").models} >= {"frozen", "lora", "pruned"}


@pytest.mark.parametrize("a,b,phrase,relation", [
    ("base", "frozen", "fine-tuned on all layers except the embeddings", "finetune"),
    ("base", "ft", "fine-tuned on all layers", "finetune"),
    ("base", "lora", "rank-2 update", "adapter"),
    ("ft", "ft-int8", "quantized", "quantized"),
    ("base", "pruned", "pruned", "pruned"),
    ("base", "base-fp16", "cast to F16", "quantized"),
    ("base", "twin", "unrelated", None),
])
def test_diff_verdicts(cat, graph, a, b, phrase, relation):
    d = diff(cat, a, b)
    assert phrase in d.verdict, d.verdict
    assert d.relation == relation
    if relation is not None:
        assert d.parent == a


def test_diff_tensor_details(cat):
    d = diff(cat, "base", "lora")
    changed = [t for t in d.tensors if t.status == "changed"]
    assert changed and all(t.rank is not None and t.rank <= 2 for t in changed)
    assert d.identical > 0 and d.verdict.startswith("lora is base")
    frozen = diff(cat, "base", "frozen")
    emb = [t for t in frozen.tensors if "embeddings" in t.name and t.name.endswith("weight")]
    assert emb and all(t.status == "identical" for t in emb if "LayerNorm" not in t.name)
    assert json.loads(json.dumps(d.to_dict()))["verdict"] == d.verdict


def test_graph_drawing(graph, tmp_path):
    for suffix in (".png", ".svg"):
        out = draw_graph(graph, tmp_path / f"g{suffix}")
        assert out.is_file() and out.stat().st_size > 1000
    assert "finetune" in (tmp_path / "g.svg").read_text()


def _pair_rows(c: Catalog) -> set[tuple[int, int, str]]:
    return set(c._conn.execute("SELECT a, b, kind FROM lineage_pairs").fetchall())


def test_cache_incremental_add_rename_remove(lake, tmp_path):
    import shutil

    root = tmp_path / "lake"
    shutil.copytree(lake, root)
    c = Catalog(tmp_path / "c.db")
    try:
        assert not ingest(c, [root]).errors
        first = _edges(infer_lineage(c))
        before = _pair_rows(c)
        assert _edges(infer_lineage(c)) == first and _pair_rows(c) == before  # all cached
        from transformers import BertForMaskedLM

        grand = BertForMaskedLM.from_pretrained(root / "grand")
        _save(_ft(grand, 9), root, "great")
        added = ingest(c, [root / "great"]).models[0]
        edges = _edges(infer_lineage(c))
        assert edges[("grand", "great")] == "finetune"
        assert {k: v for k, v in edges.items() if "great" not in k} == first
        new = _pair_rows(c) - before
        assert new and all(added.id in (a, b) for a, b, _ in new)  # only the new model compared
        rows = _pair_rows(c)
        c.rename("ft", "ft-renamed")
        renamed = _edges(infer_lineage(c))
        assert renamed[("base", "ft-renamed")] == "finetune" and _pair_rows(c) == rows
        c.remove("grand")
        edges = _edges(infer_lineage(c))
        assert not any("grand" in k for k in edges)
    finally:
        c.close()


def _write_gguf(model, path: Path) -> None:
    """Export a HF Llama the way convert_hf_to_gguf does: llama.cpp names, Q/K rows
    permuted for rotary, 2-D weights in Q8_0."""
    import gguf
    from gguf.quants import quantize

    cfg = model.config
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)

    def permute(x: np.ndarray, heads: int) -> np.ndarray:
        return x.reshape(heads, 2, x.shape[0] // heads // 2, *x.shape[1:]).swapaxes(1, 2) \
                .reshape(x.shape)

    for name, t in model.state_dict().items():
        if name == "lm_head.weight" and cfg.tie_word_embeddings:
            continue
        x = t.detach().float().numpy()
        if name.endswith("q_proj.weight"):
            x = permute(x, cfg.num_attention_heads)
        elif name.endswith("k_proj.weight"):
            x = permute(x, cfg.num_key_value_heads)
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if x.ndim == 2:
            w.add_tensor(new, quantize(x, gguf.GGMLQuantizationType.Q8_0),
                         raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(new, x.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_gguf_q8_export_linked_to_its_source(tmp_path):
    torch.set_num_threads(1)
    src = tiny_llama(seed=5)
    other = tiny_llama(seed=6)
    src.save_pretrained(tmp_path / "llama-src", safe_serialization=True)
    other.save_pretrained(tmp_path / "llama-other", safe_serialization=True)
    _write_gguf(src, tmp_path / "llama-src-q8.gguf")
    c = Catalog(tmp_path / "c.db")
    try:
        report = ingest(c, [tmp_path / "llama-src", tmp_path / "llama-other",
                            tmp_path / "llama-src-q8.gguf"])
        assert not report.errors, report.errors
        g = infer_lineage(c)
        edge = next(e for e in g.edges if e.child == "llama-src-q8")
        assert (edge.parent, edge.relation) == ("llama-src", "quantized")
        assert edge.evidence["qk_unpermuted"] is True
        assert edge.evidence["relative_distance"] < 0.05
        d = diff(c, "llama-src", "llama-src-q8")
        assert d.relation == "quantized" and "GGUF" in d.verdict
    finally:
        c.close()


def test_unmerged_peft_adapter_attached_to_declared_base(tmp_path, lake):
    import shutil

    from safetensors.torch import save_file

    shutil.copytree(lake / "base", tmp_path / "base")
    shutil.copytree(lake / "twin", tmp_path / "twin")
    ad = tmp_path / "my-adapter"
    ad.mkdir()
    (ad / "adapter_config.json").write_text(json.dumps(
        {"base_model_name_or_path": "someorg/Base", "peft_type": "LORA", "r": 2,
         "target_modules": ["query", "value"]}))
    gen = torch.Generator().manual_seed(0)
    tensors = {}
    for layer in range(DIMS["layers"]):
        for mod in ("query", "value"):
            key = f"base_model.model.bert.encoder.layer.{layer}.attention.self.{mod}"
            tensors[f"{key}.lora_A.weight"] = torch.randn(2, 32, generator=gen)
            tensors[f"{key}.lora_B.weight"] = torch.randn(32, 2, generator=gen)
    save_file(tensors, ad / "adapter_model.safetensors")
    c = Catalog(tmp_path / "c.db")
    try:
        assert not ingest(c, [tmp_path]).errors
        edge = next(e for e in infer_lineage(c).edges if e.child == "my-adapter")
        assert (edge.parent, edge.relation) == ("base", "adapter")
        assert edge.evidence["lora_rank"] == 2
    finally:
        c.close()


def test_migration_tables_exist(cat):
    tables = {r[0] for r in cat._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"lineage_pairs", "lineage_edges", "lineage_state"} <= tables


def test_arborescence_matches_networkx():
    import random

    import networkx as nx

    from modellake.tools.lineage.arborescence import min_spanning_arborescence

    rng = random.Random(0)
    for _ in range(100):
        n = rng.randint(2, 25)
        edges = {}
        for i in range(1, n):
            j = rng.randrange(i)
            edges[(j, i)], edges[(i, j)] = rng.random(), rng.random()
        for _ in range(rng.randint(0, 3 * n)):
            a, b = rng.sample(range(n), 2)
            edges[(a, b)] = rng.random()
        ours = min_spanning_arborescence(range(n), edges)
        g = nx.DiGraph()
        g.add_weighted_edges_from((a, b, w) for (a, b), w in edges.items())
        ref = nx.minimum_spanning_arborescence(g)
        assert len(ours) == n - 1
        assert sum(edges[(p, c)] for c, p in ours.items()) == pytest.approx(
            sum(edges[e] for e in ref.edges()))


def test_a_subgraph_draws_only_the_models_it_keeps():
    """The model page draws a neighbourhood: its families hold only the kept models (a
    grandparent drawn with no edge to anything read as an unrelated model)."""
    from modellake.store.records import LineageEdge
    from modellake.tools.lineage.graph import LineageGraph

    g = LineageGraph([LineageEdge("a", "b", "finetune", 1.0, {}), LineageEdge("b", "c", "quantized", 0.99, {})],
                     ["a"], [["a", "b", "c"]], [], {})
    sub = g.subgraph(["c", "b"])
    assert sub.families == [["b", "c"]] and sub.roots == []
    assert [(e.parent, e.child) for e in sub.edges] == [("b", "c")]
