"""Shared fixtures: tiny real models built in code, and a fresh catalog per test."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server for the session (tests/pg_server.py)."""
    from pg_server import PgServer

    server = PgServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty PostgreSQL database on the session's server."""
    return pg_server.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request, tmp_path):
    """A fresh catalog per test, on SQLite (the lake's file) and on PostgreSQL."""
    from modellake.store.catalog import Catalog

    (tmp_path / "lake").mkdir()
    if request.param == "sqlite":
        cat = Catalog(tmp_path / "lake" / "catalog.db")
    else:
        cat = Catalog(request.getfixturevalue("pg_url"), root=tmp_path / "lake")
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


@pytest.fixture(scope="session")
def agent_model_paths(tmp_path_factory) -> dict[str, Path]:
    """The agent lake's models as files (tests/agent_lake.py) plus tiny-bert-ft, a fine-tune
    of tiny-bert: {name: path}, built once per session."""
    import torch
    from agent_lake import build_models

    root = tmp_path_factory.mktemp("pg-models")
    paths = build_models(root)
    ft = tiny_bert(0)  # a fine-tune of tiny-bert, for the version graph
    torch.manual_seed(11)
    with torch.no_grad():
        for p in ft.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    ft.save_pretrained(root / "tiny-bert-ft")
    return {**paths, "tiny-bert-ft": root / "tiny-bert-ft"}
