"""``inspect_model`` and ``render_inspection`` on tiny models built here and ingested for real."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from modellake.store.catalog import Catalog
from modellake.store.errors import NotFoundError
from modellake.store.records import ModelRecord, TensorSummary
from modellake.tools.ingest import ingest
from modellake.tools.inspection import GROUPS, classify, inspect_model

CARD_NO_LICENSE = """---
language: en
tags:
- tiny
pipeline_tag: feature-extraction
---
# tiny-bert

A tiny BERT for tests.

## How to use

```python
# Intended uses
model = AutoModel.from_pretrained("tiny-bert")
```

## Training procedure

Random initialisation only.
"""

CARD_ONLY = """---
license: mit
base_model: org/base-model
datasets:
- imdb
pipeline_tag: text-classification
model-index:
- name: card-only
  results:
  - task: {type: text-classification}
    dataset: {name: imdb, type: imdb}
    metrics:
    - {type: accuracy, value: 0.91}
---
# card-only

## Intended uses & limitations

Sentiment of movie reviews.

Training
--------

Fine-tuned for one epoch.
"""


def _bert():
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    return BertModel(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=2, intermediate_size=64,
                                max_position_embeddings=64))


def _gpt2():
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(1)
    return GPT2LMHeadModel(GPT2Config(vocab_size=100, n_embd=32, n_layer=2, n_head=2,
                                      n_positions=64, bos_token_id=0, eos_token_id=0))


def _fake_int8_llama(path: Path) -> None:
    """A float Llama whose linear weights were rounded to 255 levels per row."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(2)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=100, hidden_size=320, intermediate_size=640,
                                         num_hidden_layers=1, num_attention_heads=4,
                                         num_key_value_heads=4, tie_word_embeddings=False))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2 and "embed" not in name:
                scale = p.abs().amax(dim=1, keepdim=True) / 127
                p.copy_(torch.round(p / scale) * scale)
    model.save_pretrained(path, safe_serialization=True)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """One catalog holding every test model; returns (catalog, {name: num_parameters()})."""
    import torch
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("inspect")
    expected = {}

    bert = _bert()
    bert.save_pretrained(root / "tiny-bert", safe_serialization=True)
    (root / "tiny-bert" / "README.md").write_text(CARD_NO_LICENSE)
    expected["tiny-bert"] = bert.num_parameters()

    with torch.no_grad():  # magnitude-prune 70% of every matrix
        for p in bert.parameters():
            if p.dim() == 2:
                k = int(p.numel() * 0.7)
                cut = p.abs().flatten().kthvalue(k).values
                p[p.abs() <= cut] = 0.0
    bert.save_pretrained(root / "tiny-bert-pruned", safe_serialization=True)
    expected["tiny-bert-pruned"] = bert.num_parameters()

    gpt2 = _gpt2()
    gpt2.save_pretrained(root / "tiny-gpt2", safe_serialization=True)  # head dropped, config ties
    expected["tiny-gpt2"] = gpt2.num_parameters()

    # the same model with the tied head written out as a second copy
    dup = root / "tiny-gpt2-dup"
    dup.mkdir()
    state = {k: v.clone().contiguous() for k, v in gpt2.state_dict().items()}
    state["lm_head.weight"] = state["transformer.wte.weight"].clone()
    save_file(state, dup / "model.safetensors")
    (dup / "config.json").write_text((root / "tiny-gpt2" / "config.json").read_text())
    expected["tiny-gpt2-dup"] = gpt2.num_parameters() + state["lm_head.weight"].numel()

    _fake_int8_llama(root / "tiny-llama-int8")

    (root / "card-only.md").write_text(CARD_ONLY)

    cat = Catalog(root / "lake.db")
    report = ingest(cat, [root])
    assert not report.errors, report.errors
    assert {m.name for m in report.models} >= set(expected) | {"card-only", "tiny-llama-int8"}
    yield cat, expected
    cat.close()


def _group(insp, name):
    return next((g for g in insp.groups if g.group == name), None)


def test_bert_parameters_and_breakdown(lake):
    cat, expected = lake
    insp = inspect_model(cat, "tiny-bert")
    assert insp.num_parameters == expected["tiny-bert"]
    assert insp.num_parameters == 23520 and insp.num_parameters_human == "23.5K"
    assert sum(g.parameters for g in insp.groups) == insp.num_parameters
    assert abs(sum(g.fraction for g in insp.groups) - 1.0) < 1e-9
    assert [g.group for g in insp.groups] == [g for g in GROUPS if _group(insp, g)]
    emb = _group(insp, "embeddings")
    assert emb.parameters == (100 + 64 + 2) * 32  # word + position + token type
    assert _group(insp, "norms").tensors == 2 + 2 * 2 * 2  # embeddings LN + 2 LNs per layer, w+b
    assert _group(insp, "attention").parameters == 2 * 4 * (32 * 32 + 32)
    assert _group(insp, "mlp").parameters == 2 * (2 * 32 * 64 + 64 + 32)
    assert _group(insp, "heads").parameters == 32 * 32 + 32  # pooler
    assert insp.num_layers == 2 and insp.config_layers == 2
    assert insp.format == "safetensors" and insp.architecture == "bert"
    assert insp.quantization is None  # plain float weights are not mistaken for quantized ones
    assert insp.dtype_breakdown[0].dtype == "F32"
    assert insp.dtype_breakdown[0].parameters == insp.num_parameters
    assert insp.largest[0].name == "embeddings.word_embeddings.weight"
    assert len(insp.largest) == 10
    assert insp.tied == [] and insp.tie_notes == []  # BertModel has no LM head to tie
    assert insp.matrix_zero_fraction < 0.01  # only the padding row of the word embeddings
    assert {f.path for f in insp.files} >= {"model.safetensors", "config.json", "README.md"}
    assert insp.total_size == sum(f.size for f in insp.files) > 0
    assert len(insp.content_hash) == 64 and insp.ingested_at
    assert insp.top_kurtosis and insp.top_absmax_ratio
    json.dumps(insp.to_dict())  # JSON-ready for `show --json`


def test_card_missing_list(lake):
    cat, _ = lake
    card = inspect_model(cat, "tiny-bert").card
    assert card.present and card.license is None and card.pipeline_tag == "feature-extraction"
    assert "license" in card.missing
    assert "datasets" in card.missing
    assert "evaluation results" in card.missing
    assert "pipeline_tag" not in card.missing
    # "How to use" is not an intended-uses section, nor a heading inside a code fence
    assert "intended uses section" in card.missing
    assert "limitations section" in card.missing
    assert "training section" not in card.missing
    assert card.sections == ["training"]
    assert not any(m.startswith("base_model") for m in card.missing)  # nothing says it's derived


def test_card_only_model(lake):
    cat, _ = lake
    insp = inspect_model(cat, "card-only")
    assert insp.format == "card" and not insp.weights_in_lake and not insp.has_weights
    assert insp.num_parameters is None and insp.groups is None and insp.zero_fraction is None
    assert insp.largest is None and insp.tied is None and insp.dtype_breakdown is None
    assert any("not in the lake" in n for n in insp.notes)
    card = insp.card
    assert card.license == "mit" and card.base_model == ["org/base-model"]
    assert card.num_results == 1
    assert card.sections == ["intended uses", "limitations", "training"]
    assert card.missing == []


def test_no_card_and_not_found(lake):
    cat, _ = lake
    assert inspect_model(cat, "tiny-gpt2").card.missing == ["model card (no README.md in the lake)"]
    with pytest.raises(NotFoundError):
        inspect_model(cat, "no-such-model")


def test_pruned_sparsity(lake):
    cat, expected = lake
    insp = inspect_model(cat, "tiny-bert-pruned")
    assert insp.num_parameters == expected["tiny-bert-pruned"]
    assert 0.6 < insp.matrix_zero_fraction < 0.75
    assert insp.zero_fraction > 0.6
    names = {t.name for t in insp.sparse_tensors}
    assert "embeddings.word_embeddings.weight" in names
    assert insp.sparse_tensor_count >= 1 + 2 * 6  # every matrix, plus zero-initialised biases
    assert insp.quantization is None  # sparse rows are not mistaken for quantized ones


def test_tied_by_config(lake):
    cat, expected = lake
    insp = inspect_model(cat, "tiny-gpt2")
    assert insp.num_parameters == expected["tiny-gpt2"]
    assert sum(g.parameters for g in insp.groups) == insp.num_parameters
    assert _group(insp, "heads") is None and _group(insp, "embeddings").tensors == 2
    assert insp.num_layers == 2
    assert insp.tied == []
    assert len(insp.tie_notes) == 1 and "transformer.wte.weight" in insp.tie_notes[0]


def test_tied_by_hash(lake):
    cat, expected = lake
    insp = inspect_model(cat, "tiny-gpt2-dup")
    assert insp.num_parameters == expected["tiny-gpt2-dup"]
    assert len(insp.tied) == 1
    tied = insp.tied[0]
    assert set(tied.names) == {"transformer.wte.weight", "lm_head.weight"}
    assert tied.kind == "embeddings tied to head"
    assert insp.unique_parameters == expected["tiny-gpt2"]
    assert insp.tie_notes == []  # the head is stored (as a copy)


def test_detected_int8(lake):
    cat, _ = lake
    insp = inspect_model(cat, "tiny-llama-int8")
    assert insp.quantization == "looks int8-quantized (stored as float)"
    assert insp.quantization_source == "detected"
    assert insp.quantization_evidence.startswith("8 of 8 linear weights")
    assert _group(insp, "heads").parameters == 100 * 320
    assert _group(insp, "norms").tensors == 3


def test_gguf_names_and_quantization(tmp_path):
    def ts(name, shape, dtype, std=0.02):
        n = 1
        for s in shape:
            n *= s
        return TensorSummary(name, shape, dtype, n, n, f"h-{name}", mean=0.0, std=std,
                             absmax=std * 5, kurtosis=0.5, zero_fraction=0.0)

    tensors = [ts("token_embd.weight", [256, 64], "Q8_0"), ts("output_norm.weight", [64], "F32")]
    for i in range(3):
        tensors += [ts(f"blk.{i}.attn_norm.weight", [64], "F32"),
                    ts(f"blk.{i}.attn_q.weight", [64, 64], "Q4_K"),
                    ts(f"blk.{i}.attn_k.weight", [32, 64], "Q4_K"),
                    ts(f"blk.{i}.attn_v.weight", [32, 64], "Q6_K"),
                    ts(f"blk.{i}.attn_output.weight", [64, 64], "Q4_K"),
                    ts(f"blk.{i}.ffn_norm.weight", [64], "F32"),
                    ts(f"blk.{i}.ffn_gate.weight", [128, 64], "Q4_K"),
                    ts(f"blk.{i}.ffn_up.weight", [128, 64], "Q4_K"),
                    ts(f"blk.{i}.ffn_down.weight", [64, 128], "Q6_K")]
    total = sum(t.numel for t in tensors)
    with Catalog(tmp_path / "lake.db") as cat:
        cat.add_model(ModelRecord(name="tiny-gguf", format="gguf", source="/x/tiny.gguf",
                                  architecture="llama", num_parameters=total,
                                  dtypes=["F32", "Q4_K", "Q6_K", "Q8_0"], quantization="Q4_K_M",
                                  config={"kv": {"llama.block_count": 3}}), tensors)
        insp = inspect_model(cat, "tiny-gguf")
    assert insp.quantization == "GGUF Q4_K_M" and insp.quantization_source == "gguf"
    assert insp.num_layers == 3 and insp.config_layers == 3
    groups = {g.group: g.tensors for g in insp.groups}
    assert groups == {"embeddings": 1, "attention": 12, "mlp": 9, "norms": 7}
    assert {d.dtype: d.tensors for d in insp.dtype_breakdown} == {"Q4_K": 15, "Q6_K": 6,
                                                                 "Q8_0": 1, "F32": 7}
    assert insp.tie_notes and "token_embd.weight" in insp.tie_notes[0]


@pytest.mark.parametrize("name,group", [
    ("model.layers.3.self_attn.o_proj.weight", "attention"),
    ("model.layers.3.mlp.down_proj.weight", "mlp"),
    ("model.layers.3.post_feedforward_layernorm.weight", "norms"),
    ("model.embed_tokens.weight", "embeddings"),
    ("lm_head.weight", "heads"),
    ("classifier.weight", "heads"),
    ("encoder.layer.0.output.dense.weight", "mlp"),
    ("encoder.layer.0.attention.output.dense.weight", "attention"),
    ("transformer.h.1.ln_2.weight", "norms"),
    ("blk.7.ffn_up.weight", "mlp"),
    ("blk.7.attn_q_norm.weight", "norms"),
    ("output.weight", "heads"),
    ("rope_freqs.weight", "other"),
])
def test_classify(name, group):
    assert classify(name) == group


def test_render(lake):
    from rich.console import Console

    from modellake.ui.show import render_inspection

    cat, expected = lake
    for name in ("tiny-bert", "tiny-gpt2-dup", "card-only", "tiny-bert-pruned"):
        console = Console(record=True, width=100, color_system=None)
        console.print(render_inspection(inspect_model(cat, name)))
        text = console.export_text()
        assert name in text
        assert all(len(line) <= 100 for line in text.splitlines())
        if name in expected:
            assert f"{expected[name]:,}" in text and "parameters by module" in text
            assert inspect_model(cat, name).num_parameters_human in text
        else:
            assert "not in the lake" in text and "parameters by module" not in text
