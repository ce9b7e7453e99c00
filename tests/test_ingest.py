"""Ingest of every supported format, versioning, and bad input."""
from __future__ import annotations

import json
import pickle
import shutil
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from modellake.store.records import CardInfo, ModelRecord
from modellake.tools.ingest import ingest
from tests.conftest import tiny_bert, tiny_llama


def _only(report):
    assert not report.errors, report.errors
    assert len(report.models) == 1
    return report.models[0]


def test_hf_directory_safetensors(catalog, bert_dir):
    m = _only(ingest(catalog, [bert_dir]))
    assert m.name == "tiny-bert"
    assert m.format == "safetensors"
    assert m.architecture == "bert"
    assert m.num_parameters == tiny_bert().num_parameters()
    assert "model.safetensors" in [f.path for f in m.files]
    assert all(len(f.sha256) == 64 and f.size > 0 for f in m.files)
    tensors = catalog.tensors(m.id)
    emb = next(t for t in tensors if t.name.endswith("word_embeddings.weight"))
    ref = tiny_bert().embeddings.word_embeddings.weight.detach()
    assert emb.shape == [100, 32]
    assert emb.mean == pytest.approx(ref.mean().item(), abs=1e-6)
    assert emb.std == pytest.approx(ref.std(unbiased=False).item(), rel=1e-4)
    assert emb.absmax == pytest.approx(ref.abs().max().item())
    sketch = catalog.sketch(m.id)
    assert sketch is not None and len(sketch.vector) == 2048 and sketch.total_numel == m.num_parameters


def test_sharded_safetensors_and_tied_llama(catalog, tmp_path):
    model = tiny_llama()
    model.save_pretrained(tmp_path / "llama", safe_serialization=True, max_shard_size="20KB")
    assert (tmp_path / "llama" / "model.safetensors.index.json").is_file()
    m = _only(ingest(catalog, [tmp_path / "llama"]))
    assert m.architecture == "llama"
    assert m.num_parameters == model.num_parameters()
    assert sum(f.path.endswith(".safetensors") for f in m.files) > 1


def test_pytorch_bin_directory(catalog, tmp_path):
    model = tiny_bert(seed=1)
    d = tmp_path / "bin-bert"
    d.mkdir()
    model.config.save_pretrained(d)
    torch.save(model.state_dict(), d / "pytorch_model.bin")
    m = _only(ingest(catalog, [d]))
    assert m.format == "pytorch"
    assert m.num_parameters == model.num_parameters()


def test_single_pt_and_safetensors_files(catalog, tmp_path):
    sd = tiny_bert(seed=2).state_dict()
    torch.save(sd, tmp_path / "ckpt.pt")
    save_file({k: v.contiguous() for k, v in sd.items()}, tmp_path / "loose.safetensors")
    report = ingest(catalog, [tmp_path / "ckpt.pt", tmp_path / "loose.safetensors"])
    assert not report.errors
    by_name = {m.name: m for m in report.models}
    assert set(by_name) == {"ckpt", "loose"}
    assert by_name["loose"].architecture == "bert"  # guessed from tensor names
    assert by_name["ckpt"].num_parameters == by_name["loose"].num_parameters


def test_peft_adapter(catalog, tmp_path):
    d = tmp_path / "my-lora"
    d.mkdir()
    (d / "adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["query", "value"],
        "base_model_name_or_path": "tiny-bert"}))
    prefix = "base_model.model.encoder.layer.0.attention.self"
    save_file({f"{prefix}.query.lora_A.weight": torch.randn(4, 32),
               f"{prefix}.query.lora_B.weight": torch.zeros(32, 4)}, d / "adapter_model.safetensors")
    m = _only(ingest(catalog, [d]))
    assert m.format == "adapter"
    assert m.adapter_base == "tiny-bert"
    assert m.num_parameters == 4 * 32 * 2


CARD = """---\r\nlicense: mit\r\nbase_model: bert-base-uncased\r\ndatasets: imdb\r\ntags:\r\n- sentiment\r\n---\r\n# My model\r\n\r\nIt classifies.\r\n"""  # noqa: E501 - one card, byte for byte


def test_card_only_file_and_directory(catalog, tmp_path):
    (tmp_path / "cardy.md").write_bytes(CARD.encode())
    d = tmp_path / "dir-model"
    d.mkdir()
    (d / "README.md").write_text("---\nlicense: apache-2.0\nbase_model: []\n---\n# Hi\n")
    report = ingest(catalog, [tmp_path / "cardy.md", d])
    assert not report.errors
    by_name = {m.name: m for m in report.models}
    cardy = by_name["cardy"]
    assert cardy.format == "card" and cardy.num_parameters is None
    assert cardy.card.license == "mit"
    assert cardy.card.base_model == ["bert-base-uncased"]
    assert cardy.card.datasets == ["imdb"] and cardy.card.tags == ["sentiment"]
    assert "\r" not in cardy.card.text
    assert by_name["dir-model"].card.base_model == []


def test_tree_scan_finds_every_model(catalog, tmp_path, bert_dir):
    root = tmp_path / "tree"
    shutil.copytree(bert_dir, root / "team" / "bert-a")
    tiny_llama().save_pretrained(root / "team" / "llama", safe_serialization=True)
    (root / "notes").mkdir()
    (root / "notes" / "README.md").write_text("plain notes, no front matter\n")
    (root / "cards").mkdir()
    (root / "cards" / "x.md").write_text("---\nlicense: mit\n---\ntext\n")
    report = ingest(catalog, [root])
    assert not report.errors
    assert sorted(m.name for m in report.models) == ["bert-a", "llama", "x"]


def test_gguf_beside_a_model_is_its_own_model(catalog, tmp_path, bert_dir):
    d = tmp_path / "exported"
    shutil.copytree(bert_dir, d)
    (d / "exported.gguf").write_bytes(b"GGUF")  # truncated: must surface as its own error
    report = ingest(catalog, [tmp_path])
    assert [m.name for m in report.models] == ["exported"]
    assert [e.path for e in report.errors] == [str(d / "exported.gguf")]


def test_weight_file_with_card_in_its_own_directory(catalog, tmp_path):
    d = tmp_path / "released-model"
    d.mkdir()
    save_file({"w": torch.randn(8, 8)}, d / "weights.safetensors")
    (d / "README.md").write_text("---\nlicense: mit\n---\n# Released\n")
    (tmp_path / "variants").mkdir()
    for q in ("q4", "q8"):
        save_file({"w": torch.randn(8, 8)}, tmp_path / "variants" / f"m-{q}.safetensors")
    (tmp_path / "variants" / "README.md").write_text("---\nlicense: apache-2.0\n---\n")
    report = ingest(catalog, [tmp_path])
    assert not report.errors
    by_name = {m.name: m for m in report.models}
    assert set(by_name) == {"released-model", "m-q4", "m-q8"}
    assert by_name["released-model"].card.license == "mit"
    assert by_name["m-q4"].card.license == by_name["m-q8"].card.license == "apache-2.0"


def test_reingest_unchanged_and_changed_makes_version(catalog, tmp_path, bert_dir):
    d = tmp_path / "m"
    shutil.copytree(bert_dir, d)
    first = _only(ingest(catalog, [d]))
    again = ingest(catalog, [d])
    assert not again.models and [m.name for m in again.unchanged] == ["m"]
    tiny_bert(seed=5).save_pretrained(d, safe_serialization=True)
    second = _only(ingest(catalog, [d]))
    assert (second.name, second.version) == ("m", 2)
    assert catalog.get_model("m").version == 2
    assert catalog.get_model("m@1").content_hash == first.content_hash
    assert [v.version for v in catalog.versions("m")] == [1, 2]
    assert len(catalog.list_models()) == 1


def test_explicit_name_and_name_collisions(catalog, tmp_path, bert_dir):
    a = tmp_path / "a" / "same"
    b = tmp_path / "b" / "same"
    shutil.copytree(bert_dir, a)
    tiny_bert(seed=3).save_pretrained(b, safe_serialization=True)
    r = ingest(catalog, [a, b])
    assert sorted(m.name for m in r.models) == ["same", "same-2"]
    named = _only(ingest(catalog, [bert_dir], name="chosen"))
    assert named.name == "chosen"


def test_name_with_several_models_is_refused(catalog, tmp_path, bert_dir):
    (tmp_path / "x.md").write_text("---\nlicense: mit\n---\n")
    r = ingest(catalog, [bert_dir, tmp_path / "x.md"], name="one")
    assert r.errors and "--name" in r.errors[0].error
    assert catalog.list_models() == []


# -- bad input --------------------------------------------------------------

def _good_file(tmp_path: Path) -> Path:
    p = tmp_path / "good.safetensors"
    save_file({"w": torch.randn(64, 64), "b": torch.randn(64)}, p)
    return p


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    good = _good_file(tmp_path).read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    header = json.dumps({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 4096]}}).encode()
    files = {
        "truncated": good[: len(good) // 2],
        "oversized": struct.pack("<Q", 10**12) + b"{}",
        "corrupt": struct.pack("<Q", 12) + b"{not json!!}" + b"\0" * 16,
        "outside": struct.pack("<Q", len(header)) + header + b"\0" * 64,
        "empty": b"",
    }
    out = {}
    for key, data in files.items():
        p = bad / f"{key}.safetensors"
        p.write_bytes(data)
        out[key] = p
    return out


@pytest.mark.parametrize("kind,message", [
    ("truncated", "truncated"), ("oversized", "exceeds"), ("corrupt", "not JSON"),
    ("outside", "outside the file"), ("empty", "truncated"),
])
def test_bad_safetensors_clear_error_and_nothing_written(catalog, tmp_path, kind, message):
    bad = _bad_files(tmp_path)[kind]
    good = _good_file(tmp_path)
    report = ingest(catalog, [bad, good])
    assert [m.name for m in report.models] == ["good"]  # the rest of the batch still goes in
    assert len(report.errors) == 1
    err = report.errors[0]
    assert err.path == str(bad)
    assert str(bad) in err.error and message in err.error and "\n" not in err.error
    assert catalog.model_names() == ["good"]


class _Payload:
    def __reduce__(self):
        import os
        return (os.system, ("touch /tmp/modellake-pwned-marker",))


def test_malicious_pickle_is_refused_and_never_runs(catalog, tmp_path):
    marker = Path("/tmp/modellake-pwned-marker")
    marker.unlink(missing_ok=True)
    evil = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "x": _Payload()}, evil)
    raw = tmp_path / "raw.bin"
    raw.write_bytes(pickle.dumps(_Payload()))
    report = ingest(catalog, [evil, raw])
    assert not marker.exists()
    assert len(report.errors) == 2 and not report.models
    assert any("refused" in e.error for e in report.errors)
    assert catalog.list_models() == []


def test_unreadable_and_missing_paths(catalog, tmp_path):
    report = ingest(catalog, [tmp_path / "nope", tmp_path / "weird.txt"])
    assert len(report.errors) == 2
    assert "no such file" in report.errors[0].error
    (tmp_path / "weird.txt").write_text("x")
    report = ingest(catalog, [tmp_path / "weird.txt"])
    assert "unsupported file type" in report.errors[0].error


def test_broken_shard_index(catalog, tmp_path, bert_dir):
    d = tmp_path / "sharded"
    shutil.copytree(bert_dir, d)
    (d / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"a": "model-00001-of-00002.safetensors"}}))
    report = ingest(catalog, [d])
    assert report.errors and "missing" in report.errors[0].error
    assert catalog.list_models() == []


def test_failure_midway_leaves_catalog_untouched(catalog, bert_dir, monkeypatch):
    from modellake.store import catalog as catalog_mod

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(catalog_mod.Catalog, "_log", boom)
    report = ingest(catalog, [bert_dir])
    assert report.errors and "disk full" in report.errors[0].error
    monkeypatch.undo()
    assert catalog.list_models() == []
    assert catalog._conn.execute("SELECT COUNT(*) FROM tensors").fetchone()[0] == 0


def test_canonical_weights_file_wins_over_extras(catalog, tmp_path, bert_dir):
    d = tmp_path / "with-head"
    shutil.copytree(bert_dir, d)
    save_file({"classifier.weight": torch.randn(2, 32)}, d / "classifier_head.safetensors")
    m = _only(ingest(catalog, [d]))
    assert m.num_parameters == tiny_bert().num_parameters()  # the head is a file, not weights
    assert "classifier_head.safetensors" in [f.path for f in m.files]
    assert not any(t.name == "classifier.weight" for t in catalog.tensors(m.id))


MI_CARD = """---
license: apache-2.0
language: [en, "no", de]
model-index:
- name: reviewer-7b
  results:
  - task: {type: text-generation}
    dataset: {name: HellaSwag (10-Shot), type: hellaswag, args: {num_few_shot: 10}}
    metrics: [{type: acc_norm, value: 84.36}]
  - task: {type: text-generation}
    dataset: {name: GSM8k, type: gsm8k}
    metrics: [{type: acc, value: "n/a"}]
  - task: {type: text-generation}
    dataset: {name: ARC, type: arc}
    metrics: [{type: acc_norm, value: 61.2}]
---
# reviewer-7b
"""


def test_card_results_are_stored_as_reported_runs(catalog, tmp_path):
    from modellake.tools.bench.results import leaderboard, list_runs
    from modellake.tools.search import search_runs

    (tmp_path / "reviewer-7b.md").write_text(MI_CARD)
    m = _only(ingest(catalog, [tmp_path / "reviewer-7b.md"]))
    assert m.card.language == ["en", "no", "de"]  # YAML's `no` is Norwegian, not false
    runs = sorted(catalog.runs.find(), key=lambda r: r.task)
    assert [(r.model, r.task, r.trust, r.metrics) for r in runs] == [
        ("reviewer-7b", "arc", "reported", {"acc_norm": 61.2}),
        ("reviewer-7b", "hellaswag [10-shot]", "reported", {"acc_norm": 84.36})]  # "n/a" left out
    assert runs[0].config["from_card"] is True and "model-index" in runs[0].source
    board = leaderboard(catalog, "hellaswag [10-shot]", trust="reported")
    assert [(e.model, e.value) for e in board.entries] == [("reviewer-7b", 84.36)]
    # one model's own results, ranked: "which of its reported results is lowest?"
    low = list_runs(catalog, model="reviewer-7b", rank_by="acc_norm", order="worst")
    assert [r.task for r in low.runs] == ["arc", "hellaswag [10-shot]"]
    assert low.text().startswith("The lowest acc_norm result stored for reviewer-7b is acc_norm 61.2, "
                                 "on arc (reported). Then: acc_norm 84.36 on hellaswag [10-shot].")
    # a card's own rows are searched once (from the card), and "measured" keeps them out
    found = search_runs(catalog, "hellaswag results")
    assert [len(h.why) for h in found.hits] == [1]
    assert not search_runs(catalog, "what did we measure on hellaswag").hits
    # re-ingesting the unchanged card stores nothing new
    assert not ingest(catalog, [tmp_path / "reviewer-7b.md"], index=False).models
    assert len(catalog.runs.find()) == 2


def test_a_name_for_several_models_is_refused_and_nothing_stored(catalog, tmp_path):
    tiny_bert(0).save_pretrained(tmp_path / "two" / "a")
    tiny_llama(0).save_pretrained(tmp_path / "two" / "b")
    report = ingest(catalog, [tmp_path / "two"], name="one-name", index=False)
    assert report.models == [] and len(report.errors) == 1
    assert "--name 'one-name' applies to one model, but 2 were found" in report.errors[0].error
    assert catalog.list_models() == []


def test_cards_stored_while_the_encoder_is_busy_are_embedded_together(monkeypatch):
    """Card passages are embedded on a second thread while models are read; the models stored
    while it was busy go to the encoder as one batch (one sorted batch pads less than one per
    card), and the passages it encoded are reported as progress."""
    import threading

    from modellake.tools.embedding import embedder
    from modellake.tools.ingest import pipeline

    started, busy, calls, reports = threading.Event(), threading.Event(), [], []

    def embed_ahead(texts):
        calls.append(list(texts))
        started.set()
        assert busy.wait(10)

    monkeypatch.setattr(pipeline._IndexAhead, "_warm", staticmethod(lambda: True))
    monkeypatch.setattr(pipeline._IndexAhead, "_passages", staticmethod(lambda r: [f"{r.name} a", f"{r.name} b"]))
    monkeypatch.setattr(embedder, "embed_ahead", embed_ahead)
    ahead = pipeline._IndexAhead(lambda *a: reports.append(a))
    records = [ModelRecord(name=f"m{i}", format="card", source="-", card=CardInfo(text="x")) for i in range(4)]
    ahead.submit(records[0])
    assert started.wait(10)  # the first model's passages reached the encoder, which is still busy
    for r in records[1:]:
        ahead.submit(r)
    ahead.submit(ModelRecord(name="weights only", format="safetensors", source="-"))
    busy.set()
    ahead.close()
    assert calls == [["m0 a", "m0 b"], ["m1 a", "m1 b", "m2 a", "m2 b", "m3 a", "m3 b"]]
    assert reports == [("passages", 2, 2), ("passages", 8, 8)]
