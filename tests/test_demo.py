"""The demo model set: real, loadable models whose weights match their ground truth."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors import safe_open

from modellake.tools.demo import build as demo
from modellake.tools.demo.build import DemoModel, build_demo_models

pytestmark = pytest.mark.slow

STEPS = 4
MINILM = [
    "all-MiniLM-L6-v2",
    "minilm-sentiment",
    "minilm-sentiment-topic",
    "minilm-sentiment-int8",
    "minilm-pruned",
    "minilm-paraphrase",
    "minilm-merge",
]
EXPECTED = {  # name -> (parents, relation)
    "all-MiniLM-L6-v2": ((), None),
    "minilm-sentiment": (("all-MiniLM-L6-v2",), "finetune"),
    "minilm-sentiment-topic": (("minilm-sentiment",), "finetune"),
    "minilm-sentiment-int8": (("minilm-sentiment",), "quantized"),
    "minilm-pruned": (("all-MiniLM-L6-v2",), "pruned"),
    "minilm-paraphrase": (("all-MiniLM-L6-v2",), "finetune"),
    "minilm-merge": (("minilm-sentiment", "minilm-paraphrase"), "merge"),
    "gemma-3-270m": ((), None),
    "smollm2-135m-instruct": ((), None),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, DemoModel]]:
    target = tmp_path_factory.mktemp("demo")
    messages: list[str] = []
    models = build_demo_models(target, steps=STEPS, seed=0, progress=messages.append)
    assert any("building" in m for m in messages)
    return target, {m.name: m for m in models}


def _tensors(model: DemoModel) -> dict[str, torch.Tensor]:
    with safe_open(str(model.weights_path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is no dict


def _load(model: DemoModel):
    from transformers import AutoModel

    m, info = AutoModel.from_pretrained(str(model.path), output_loading_info=True)
    return m, info


def test_set_and_ground_truth(built):
    target, models = built
    assert set(models) == set(EXPECTED)
    for name, (parents, relation) in EXPECTED.items():
        m = models[name]
        assert m.path == target / name and m.path.is_dir()
        assert (m.path / ".complete").is_file()
        assert (m.parents, m.relation) == (parents, relation), name
        assert m.description
        assert m.weights_path.is_file()
        assert (m.path / "README.md").is_file() == m.has_card, name
    assert {n for n, m in models.items() if m.has_card} == {
        "all-MiniLM-L6-v2", "minilm-sentiment", "gemma-3-270m"}
    assert models["minilm-merge"].parent is None
    assert models["minilm-sentiment-int8"].parent == "minilm-sentiment"
    # No temporary or half-built directories are left behind.
    assert sorted(p.name for p in target.iterdir()) == sorted(EXPECTED)


def test_base_is_real_copy_with_card(built):
    _, models = built
    base = models["all-MiniLM-L6-v2"]
    src = demo.base_model_dir()
    for rel in ("model.safetensors", "README.md", "config.json", "tokenizer.json"):
        p = base.path / rel
        assert not p.is_symlink()
        assert p.read_bytes() == (src / rel).read_bytes()


def test_sentiment_card(built):
    _, models = built
    text = (models["minilm-sentiment"].path / "README.md").read_text()
    front = yaml.safe_load(text.split("---")[1])
    assert front["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert front["base_model_relation"] == "finetune"
    assert front["license"] == "apache-2.0"
    assert "sentiment_demo.jsonl" in text


def test_minilm_models_load_with_base_layout(built):
    _, models = built
    base_names = set(_tensors(models["all-MiniLM-L6-v2"]))
    base_shapes = {k: tuple(v.shape) for k, v in _tensors(models["all-MiniLM-L6-v2"]).items()}
    for name in MINILM:
        t = _tensors(models[name])
        assert set(t) == base_names, name
        assert {k: tuple(v.shape) for k, v in t.items()} == base_shapes, name
        m, info = _load(models[name])
        assert type(m).__name__ == "BertModel"
        assert not info["missing_keys"] and not info["unexpected_keys"], (name, info)
    for name in MINILM[1:]:
        assert not (models[name].path / "data_config.json").exists()


def test_finetunes_change_encoder_weights(built):
    _, models = built
    base = _tensors(models["all-MiniLM-L6-v2"])
    for name in ("minilm-sentiment", "minilm-paraphrase", "minilm-sentiment-topic"):
        t = _tensors(models[name])
        changed = [k for k in base if k.startswith("encoder.") and not torch.equal(base[k], t[k])]
        assert len(changed) > 50, name
        assert torch.equal(t["pooler.dense.weight"], base["pooler.dense.weight"])  # unused, frozen
    head = models["minilm-sentiment"].path / demo.HEAD_FILE
    with safe_open(str(head), framework="pt") as f:
        assert f.get_tensor("classifier.weight").shape == (2, 384)
        assert json.loads(f.metadata()["id2label"]) == {"0": "negative", "1": "positive"}


def test_frozen_embeddings_child(built):
    _, models = built
    parent = _tensors(models["minilm-sentiment"])
    child = _tensors(models["minilm-sentiment-topic"])
    emb = [k for k in parent if k.startswith("embeddings.")]
    assert len(emb) >= 5
    for k in emb:
        assert torch.equal(parent[k], child[k]), k
    assert any(not torch.equal(parent[k], child[k]) for k in parent if k.startswith("encoder."))


def _linear(model: DemoModel) -> dict[str, torch.Tensor]:
    return {k: v for k, v in _tensors(model).items() if demo.is_linear_weight(k, v.shape)}


def test_linear_weight_rule_matches_modules(built):
    _, models = built
    m, _ = _load(models["all-MiniLM-L6-v2"])
    names = {n + ".weight" for n, mod in m.named_modules() if isinstance(mod, torch.nn.Linear)}
    assert set(_linear(models["all-MiniLM-L6-v2"])) == names
    assert len(names) == 6 * 6 + 1  # q, k, v, attention out, intermediate, out; + pooler


def test_int8_copy(built):
    _, models = built
    q_lin = _linear(models["minilm-sentiment-int8"])
    p_lin = _linear(models["minilm-sentiment"])
    for name, w in q_lin.items():
        assert w.dtype == torch.float32
        s = torch.sort(w, dim=1).values
        distinct = (s[:, 1:] != s[:, :-1]).sum(dim=1) + 1
        assert int(distinct.max()) <= 255, name
        assert float(distinct.float().mean()) > 64, name  # really quantized, not collapsed
        step = p_lin[name].abs().amax(dim=1, keepdim=True) / 127
        assert torch.all((w - p_lin[name]).abs() <= step / 2 + 1e-6), name
    # Everything that is not a Linear weight is untouched.
    q, p = _tensors(models["minilm-sentiment-int8"]), _tensors(models["minilm-sentiment"])
    for k in p:
        if k not in q_lin:
            assert torch.equal(q[k], p[k]), k


def test_pruned_copy(built):
    _, models = built
    base_lin = _linear(models["all-MiniLM-L6-v2"])
    for name, w in _linear(models["minilm-pruned"]).items():
        zeros = w == 0
        assert float(zeros.float().mean()) >= 0.30, name
        assert torch.equal(w[~zeros], base_lin[name][~zeros]), name
        # The zeroed entries are the smallest in magnitude.
        assert float(base_lin[name][zeros].abs().max()) <= float(base_lin[name][~zeros].abs().min())


def test_merge_is_average_of_parents(built):
    _, models = built
    a = _tensors(models["minilm-sentiment"])
    b = _tensors(models["minilm-paraphrase"])
    m = _tensors(models["minilm-merge"])
    for k in a:
        if a[k].is_floating_point():
            assert torch.allclose(m[k], (a[k] + b[k]) / 2, rtol=0, atol=1e-7), k
        else:
            assert torch.equal(m[k], a[k]), k
    assert not torch.equal(m["encoder.layer.0.attention.self.query.weight"],
                           a["encoder.layer.0.attention.self.query.weight"])


def test_gguf_models(built):
    _, models = built
    for name in ("gemma-3-270m", "smollm2-135m-instruct"):
        m = models[name]
        assert m.format == "gguf"
        f = m.weights_path
        assert f.suffix == ".gguf" and f.is_file() and not f.is_symlink()
        assert f.stat().st_size > 50_000_000
        with f.open("rb") as fh:
            assert fh.read(4) == b"GGUF"
    assert models["gemma-3-270m"].weights_path.name == "gemma-3-270m-q4_k_m.gguf"
    card = (models["gemma-3-270m"].path / "README.md").read_text()
    assert card.startswith("---") and "base_model: google/gemma-3-270m" in card
    src = demo.smollm2_gguf_path()
    assert models["smollm2-135m-instruct"].weights_path.stat().st_size == src.stat().st_size


def test_second_call_reuses_cache(built):
    target, models = built
    before = {p: p.stat().st_mtime_ns for p in target.rglob("*")}
    messages: list[str] = []
    t0 = time.perf_counter()
    again = build_demo_models(target, steps=STEPS, seed=0, progress=messages.append)
    assert time.perf_counter() - t0 < 10
    assert [m.name for m in again] == list(models)
    assert all(m.endswith(": cached") for m in messages), messages
    after = {p: p.stat().st_mtime_ns for p in target.rglob("*")}
    assert after == before


def test_failed_build_leaves_nothing(tmp_path):
    final = tmp_path / "half-model"

    def explode(out: Path) -> None:
        (out / "model.safetensors").write_bytes(b"partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        demo._build_atomically(final, explode, {"fingerprint": "x"})
    assert list(tmp_path.iterdir()) == []


def test_training_is_deterministic(tmp_path):
    rows = demo.load_jsonl(demo.PARAPHRASE_DATA)[:32]
    outs = []
    for i in range(2):
        out = tmp_path / str(i)
        out.mkdir()
        demo.train_paraphrase(demo.base_model_dir(), out, rows, steps=2, seed=3)
        outs.append(out / "model.safetensors")
    assert outs[0].read_bytes() == outs[1].read_bytes()


def test_data_files():
    sent = demo.load_jsonl(demo.SENTIMENT_DATA)
    assert len(sent) >= 190 and {r["label"] for r in sent} == {0, 1}
    assert len({r["text"] for r in sent}) == len(sent)
    topic = demo.load_jsonl(demo.TOPIC_DATA)
    assert len({r["label"] for r in topic}) == 4
    pairs = demo.load_jsonl(demo.PARAPHRASE_DATA)
    assert len(pairs) >= 40 and {r["label"] for r in pairs} == {0, 1}


def test_stale_build_is_replaced_but_foreign_directory_is_not(tmp_path):
    final = tmp_path / "m"
    final.mkdir()
    (final / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        demo._build_atomically(final, lambda out: None, {"fingerprint": "x"})
    assert (final / "keep.txt").read_text() == "mine"
    (final / ".complete").write_text('{"fingerprint": "old"}')
    assert not demo._cached(final, "new")
    demo._build_atomically(final, lambda out: (out / "new.txt").write_text("n"),
                           {"fingerprint": "new"})
    assert demo._cached(final, "new")
    assert sorted(p.name for p in final.iterdir()) == [".complete", "new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_demo_lake_is_benchmarked_once(built, tmp_path):
    """`modellake demo` measures the smoke tasks on the demo encoders that have no run yet:
    a rebuilt lake gets its runs, a second call adds none."""
    from modellake.store.catalog import Catalog
    from modellake.tools.bench import leaderboard
    from modellake.tools.demo.build import bench_demo_lake
    from modellake.tools.ingest import ingest

    _, models = built
    picked = [models[n] for n in ("all-MiniLM-L6-v2", "minilm-sentiment", "gemma-3-270m")]
    with Catalog(tmp_path / "catalog.db") as cat:
        for m in picked:
            ingest(cat, [m.path], name=m.name)
        first = bench_demo_lake(cat, picked, tmp_path, tasks=("sts-smoke",))
        assert sorted(r.model for r in first.runs) == ["all-MiniLM-L6-v2", "minilm-sentiment"]
        assert not first.errors  # the GGUF model is not an encoder: not asked to run
        again = bench_demo_lake(cat, picked, tmp_path, tasks=("sts-smoke",))
        assert again.runs == [] and again.errors == []
        board = leaderboard(cat, "sts-smoke", lake_root=tmp_path)
        assert {e.model for e in board.entries} == {"all-MiniLM-L6-v2", "minilm-sentiment"}


def test_chat_examples_are_answered_on_the_demo_lake(built, tmp_path):
    """The web chat's example questions, made from the demo lake, each get an answer that
    names what it asks about (the lineage one is a parent the weights confirm)."""
    from test_chat_examples import answers, assert_answered

    from modellake.store.lake import Lake
    from modellake.tools.demo.build import bench_demo_lake
    from modellake.tools.ingest import ingest
    from modellake.tools.query.examples import lake_examples

    _, models = built
    lake = tmp_path / "lake"
    with Lake.open(lake).catalog() as cat:
        for m in models.values():
            assert not ingest(cat, [m.path], name=m.name).errors
        bench_demo_lake(cat, [models[n] for n in MINILM[:3]], lake, tasks=("sts-smoke",))
        asked = lake_examples(cat)
    assert asked[:2] == ["What is minilm-sentiment derived from?", "Which model is best on sts-smoke?"]
    assert_answered(lake, asked, list(models))
    said = answers(lake, asked[:1])[asked[0]]
    assert "all-MiniLM-L6-v2" in said and "weights" in said, said


def test_the_demo_lake_answers_the_same_on_the_team_setup(built, tmp_path, pg_url, capsys):
    """The demo lake on the embedded default (SQLite, embedded Chroma) and on the team setup
    (PostgreSQL catalog, Chroma server): the same list, version graph, search top-10s and
    leaderboard."""
    from chroma_server import ChromaServer
    from test_pg_catalog import answers, cli

    _, models = built
    queries = ("sentiment classifier", "paraphrase sentence embeddings", "small chat model",
               "gemma", "quantized int8 encoder")
    with ChromaServer(tmp_path / "chroma") as server:
        embedded = ["--lake", str(tmp_path / "embedded")]
        team = ["--lake", str(tmp_path / "team"), "--catalog", pg_url, "--index", server.url]
        for where in (embedded, team):
            for m in models.values():
                cli(capsys, *where, "ingest", str(m.path), "--name", m.name, "--json")
            cli(capsys, *where, "bench", "all-MiniLM-L6-v2", "minilm-sentiment", "--task", "sts-smoke",
                "--json")
        a = answers(capsys, embedded, queries, ("sts-smoke", "measured"))
        b = answers(capsys, team, queries, ("sts-smoke", "measured"))
    assert len(a["list"]) == len(models) and len(a["edges"]) >= 6 and len(a["board"]) == 2
    for key in a:
        assert a[key] == b[key], (key, a[key], b[key])
