"""Shared fixtures: tiny real models built in code, and a fresh catalog per test."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def catalog(tmp_path):
    from modellake.store.catalog import Catalog

    (tmp_path / "lake").mkdir()
    cat = Catalog(tmp_path / "lake" / "catalog.db")
    yield cat
    cat.close()


def tiny_bert(seed: int = 0):
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    return BertModel(config)


def tiny_llama(seed: int = 0, tie: bool = True):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                         tie_word_embeddings=tie)
    return LlamaForCausalLM(config)


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("models") / "tiny-bert"
    tiny_bert().save_pretrained(d, safe_serialization=True)
    return d


@pytest.fixture(scope="session")
def agent_lake_template(tmp_path_factory) -> Path:
    """The agent tests' lake (tests/agent_lake.py), built once per session."""
    from agent_lake import build_lake

    return build_lake(tmp_path_factory.mktemp("agent-lake"))


@pytest.fixture
def agent_lake(agent_lake_template, tmp_path) -> Path:
    """A private copy of the test lake (tests may change it)."""
    import shutil

    dst = tmp_path / "lake"
    shutil.copytree(agent_lake_template, dst)
    return dst


# A card whose model-index reports one accuracy on sst2 (``.format(name=..., value=...)``).
MODEL_INDEX_CARD = """---
model-index:
- name: {name}
  results:
  - task: {{type: text-classification}}
    dataset: {{name: sst2, type: sst2}}
    metrics:
    - {{type: accuracy, value: {value}}}
---
"""
