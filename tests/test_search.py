"""Search: constraints of every kind, lineage, results, similar, the incremental index.

The lake is made of cards written here. Most tests use a deterministic bag-of-words
embedder (fast, no model); ``test_real_minilm_*`` runs the packaged MiniLM once.
"""
from __future__ import annotations

import hashlib
import json
import re
import textwrap
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest

from modellake.store.lake import Lake
from modellake.tools.embedding import embedder as embed
from modellake.tools.ingest import ingest
from modellake.tools.search import parse_query, reindex, search, similar, sync_index
from modellake.tools.search.index import needs_sync, open_lake


def fake_embed(texts: list[str]) -> np.ndarray:
    """Hashed bag of (5-letter prefixes of) words, unit length: similar words, similar vectors."""
    out = np.zeros((len(texts), embed.DIM), np.float32)
    for i, t in enumerate(texts):
        for w in re.findall(r"[a-z0-9]+", t.lower()):
            h = int(hashlib.md5(w[:5].encode()).hexdigest()[:8], 16)
            out[i, h % embed.DIM] += 1.0
        n = np.linalg.norm(out[i])
        out[i] = out[i] / n if n else out[i]
        if not n:
            out[i, 0] = 1.0
    return out


@pytest.fixture(autouse=True)
def fake_embedder():
    embed.set_embedder(fake_embed, "test-bag-of-words")
    yield
    embed.set_embedder(None)


def card(meta: str, body: str) -> str:
    return f"---\n{textwrap.dedent(meta).strip()}\n---\n\n{textwrap.dedent(body).strip()}\n"


CARDS = {
    "base-7b": card("""
        license: apache-2.0
        language: [en]
        pipeline_tag: text-generation
        """, """
        # base-7b
        A 7B base language model pretrained on web text. It is a decoder-only transformer.
        """),
    "chat-7b-instruct": card("""
        license: apache-2.0
        language: [en]
        pipeline_tag: text-generation
        base_model: org/base-7b
        tags: [chat]
        """, """
        # chat-7b-instruct
        An instruction-tuned chat assistant, fine-tuned from base-7b with supervised dialogues.
        """),
    "chat-7b-medical": card("""
        license: apache-2.0
        pipeline_tag: text-generation
        base_model: org/chat-7b-instruct
        """, """
        # chat-7b-medical
        A clinical and medical question answering assistant, fine-tuned on medical exams.
        """),
    "base-7b-lora-poetry": card("""
        library_name: peft
        base_model: org/base-7b
        tags: [lora]
        """, """
        # base-7b-lora-poetry
        LoRA adapter weights that make base-7b write poetry. Load with PEFT.
        """),
    "chat-7b-gguf": card("""
        license: apache-2.0
        base_model: org/chat-7b-instruct
        tags: [gguf]
        """, """
        # Chat 7B Instruct - GGUF
        GGUF files of chat-7b-instruct for llama.cpp: Q4_K_M (4-bit) and Q8_0 (8-bit).
        """),
    "chat-7b-gptq": card("""
        license: apache-2.0
        base_model: org/chat-7b-instruct
        """, """
        # Chat 7B Instruct GPTQ
        4-bit GPTQ quantized weights of chat-7b-instruct for GPU inference.
        """),
    "chat-merge-7b": card("""
        license: apache-2.0
        base_model: [org/chat-7b-instruct, other/writer-7b]
        tags: [merge, mergekit]
        """, """
        # chat-merge-7b
        A SLERP merge of chat-7b-instruct and writer-7b made with mergekit.
        """),
    "ner-german": card("""
        license: mit
        language: [de]
        pipeline_tag: token-classification
        model-index:
        - name: ner-german
          results:
          - task: {type: token-classification}
            dataset: {name: CoNLL-2003 German, type: conll2003}
            metrics:
            - {type: f1, value: 0.91}
        """, """
        # ner-german
        Named entity recognition for German news text (persons, places, organisations).
        """),
    "ner-english": card("""
        license: cc-by-nc-4.0
        language: [en]
        pipeline_tag: token-classification
        tags: [distilbert]
        model-index:
        - name: ner-english
          results:
          - task: {type: token-classification}
            dataset: {name: CoNLL-2003, type: conll2003}
            metrics:
            - {type: f1, value: 0.85}
        """, """
        # ner-english
        Named entity recognition for English news, a distilled BERT with 66M parameters.
        """),
    "mini-embed": card("""
        license: apache-2.0
        language: [en]
        pipeline_tag: sentence-similarity
        library_name: sentence-transformers
        tags: [transformers.js]
        """, """
        # mini-embed-22M
        A small sentence embedding model for semantic search and clustering, runs in the
        browser with Transformers.js.
        """),
    "embed-unlicensed": card("""
        pipeline_tag: sentence-similarity
        """, """
        # embed-unlicensed
        Sentence embedding model for semantic search, license not stated.
        """),
    "long-llm-128k": card("""
        license: mit
        pipeline_tag: text-generation
        """, """
        # long-llm-128k
        A 3B-parameter chat model with a context window of 128k tokens for long documents.
        """),
}


def write_cards(d: Path, cards: dict[str, str]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in cards.items():
        (d / f"{name}.md").write_text(text)
    return d


@pytest.fixture(scope="module", params=["embedded", "server"], autouse=True)
def index_kind(request):
    """Every test twice: with the lake's embedded index, and with its vectors on a Chroma
    server (``MODELLAKE_INDEX``, tests/chroma_server.py)."""
    if request.param == "embedded":
        yield request.param
        return
    from chroma_server import ChromaServer

    with ChromaServer() as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELLAKE_INDEX", server.url)
        yield request.param


@pytest.fixture(scope="module")
def lake(tmp_path_factory, index_kind):
    embed.set_embedder(fake_embed, "test-bag-of-words")
    root = tmp_path_factory.mktemp("searchlake")
    lk = Lake.open(root / "lake")
    with lk.catalog() as cat:
        report = ingest(cat, [write_cards(root / "cards", CARDS)])
        assert not report.errors, report.errors
    rep = report.index  # ingest indexed the new cards
    assert rep.added == len(CARDS) and rep.models == len(CARDS)
    assert sync_index(lk).added == 0
    embed.set_embedder(None)
    return lk


def names(res) -> list[str]:
    return [h.name for h in res.hits]


# -- constraints ---------------------------------------------------------------------------
def test_task_flag_and_query(lake):
    assert set(names(search(lake, "model", task="token-classification"))) == {"ner-german", "ner-english"}
    res = search(lake, "named entity recognition for news")
    assert set(names(res)[:2]) == {"ner-german", "ner-english"}
    # models known to do another task are excluded; those whose task is unknown rank below
    assert not {"base-7b", "chat-7b-instruct", "mini-embed"} & set(names(res))
    for hit in res.hits[2:]:
        task = next(w for w in hit.why if w["kind"] == "constraint" and w["field"] == "task")
        assert task["status"] == "unknown"


def test_license_constraint_excludes_unknown(lake):
    got = names(search(lake, "Apache-2.0 licensed sentence embedding model"))
    assert got[0] == "mini-embed"
    assert "embed-unlicensed" not in got and "ner-german" not in got
    assert names(search(lake, "models under a non-commercial license")) == ["ner-english"]
    assert set(names(search(lake, "anything", license="mit"))) == {"ner-german", "long-llm-128k"}


def test_params_constraint(lake):
    got = names(search(lake, "sentence embedding model under 100M parameters"))
    assert got[0] == "mini-embed"
    assert not {"base-7b", "chat-7b-instruct"} & set(got)
    flag = names(search(lake, "chat model", max_params="1B"))
    assert set(flag) == {"mini-embed", "ner-english"}  # 22M (name), 66M (text); unknown: strict
    assert "long-llm-128k" in names(search(lake, "chat model", max_params="4B"))


def test_format_and_quantization(lake):
    assert names(search(lake, "GGUF chat model"))[0] == "chat-7b-gguf"
    assert "chat-7b-gptq" not in names(search(lake, "GGUF chat model"))
    assert names(search(lake, "4-bit GPTQ chat model"))[0] == "chat-7b-gptq"
    assert names(search(lake, "poetry", format="adapter")) == ["base-7b-lora-poetry"]


def test_language_library_architecture_context(lake):
    got = names(search(lake, "German named entity recognition"))
    assert got[0] == "ner-german" and "ner-english" not in got
    got = names(search(lake, "embedding model", library="transformers.js"))
    assert got == ["mini-embed"]
    hits = search(lake, "chat model with at least 100k tokens of context").hits
    assert hits[0].name == "long-llm-128k"
    why = [w for w in hits[0].why if w["kind"] == "constraint" and w["field"] == "context"]
    assert why and why[0]["status"] == "ok"
    assert names(search(lake, "model", architecture="bert")) == ["ner-english"]


def test_hits_say_why(lake):
    res = search(lake, "Apache-2.0 licensed sentence embedding model")
    d = res.to_dict()
    assert set(d["hits"][0]) - {"card_only"} == {"name", "score", "why"}  # card_only: only a card in the lake
    kinds = {w["kind"] for w in d["hits"][0]["why"]}
    assert "constraint" in kinds and ({"passage", "terms"} & kinds)
    lic = next(w for w in d["hits"][0]["why"] if w["kind"] == "constraint" and w["field"] == "license")
    assert lic["value"] == ["apache-2.0"] and lic["source"] == "card yaml"
    json.dumps(d)


# -- lineage ---------------------------------------------------------------------------------
def test_lineage_recursive(lake):
    res = search(lake, "models derived from org/base-7b")
    got = names(res)
    assert set(got[:6]) == {"chat-7b-instruct", "base-7b-lora-poetry", "chat-7b-medical",
                            "chat-7b-gguf", "chat-7b-gptq", "chat-merge-7b"}
    assert "base-7b" not in got
    deep = next(h for h in res.hits if h.name == "chat-7b-medical")
    path = next(w for w in deep.why if w["kind"] == "lineage")
    assert path["path"] == ["org/base-7b", "chat-7b-instruct", "chat-7b-medical"] and path["depth"] == 2


def test_lineage_relations(lake):
    assert names(search(lake, "adapters on top of base-7b")) == ["base-7b-lora-poetry"]
    direct = names(search(lake, "direct fine-tunes of org/chat-7b-instruct (not merges, not quantized)"))
    assert direct == ["chat-7b-medical"]
    quants = names(search(lake, "quantizations of chat-7b-instruct"))
    assert set(quants) == {"chat-7b-gguf", "chat-7b-gptq"}
    merges = names(search(lake, "merged models that use org/chat-7b-instruct as an ingredient"))
    assert merges == ["chat-merge-7b"]


def test_lineage_with_text_and_inferred_edges(lake, monkeypatch):
    got = names(search(lake, "medical assistant derived from base-7b"))
    assert got[0] == "chat-7b-medical"
    # inferred edges from modellake.tools.lineage.graph join the declared ones when present
    from modellake.store.records import LineageEdge
    from modellake.tools.search import family as search_lineage

    monkeypatch.setattr(search_lineage, "inferred_edges", lambda catalog: [
        LineageEdge(parent="ner-english", child="ner-german", relation="finetune", confidence=0.8)])
    from modellake.tools.search import state as S

    monkeypatch.setattr(S, "inferred_edges", search_lineage.inferred_edges)
    S._states.clear()
    res = search(lake, "fine-tunes of ner-english")
    assert names(res) == ["ner-german"]
    assert res.hits[0].why[0]["sources"] == ["inferred"]
    S._states.clear()


# -- results ---------------------------------------------------------------------------------
def test_results_threshold_and_best(lake):
    res = search(lake, "NER with F1 above 0.9 on CoNLL-2003")
    assert names(res) == ["ner-german"]
    row = next(w for w in res.hits[0].why if w["kind"] == "result")
    assert row["value"] == 0.91 and row["metric"] == "f1" and row["source"] == "card model-index"
    assert names(search(lake, "F1 above 80% on conll03")) == ["ner-german", "ner-english"]
    assert names(search(lake, "best model on conll2003")) == ["ner-german", "ner-english"]


def test_results_from_registered_source(lake, monkeypatch):
    from modellake.tools.search import state as S
    from modellake.tools.search.rank import ResultRow

    def runs(h, docs):
        mid = next(m for m, n, _ in docs if n == "mini-embed")
        return [ResultRow(mid, "sts", "stsb", "spearman", 0.82, source="run (measured)",
                          when="2026-01-01", run_id=7)]

    monkeypatch.setattr(S, "RESULT_SOURCES", S.RESULT_SOURCES + [runs])
    S._states.clear()
    res = search(lake, "best spearman on stsb")
    assert names(res) == ["mini-embed"]
    assert res.hits[0].why[0]["source"] == "run (measured)"
    S._states.clear()


# -- parsing -------------------------------------------------------------------------------------
def test_parse_query_reads_constraints():
    p = parse_query("small permissively licensed (Apache-2.0 or MIT) chat model under 3B parameters")
    fields = {c.field: c for c in p.constraints}
    assert "apache-2.0" in fields["license"].value and "mit" in fields["license"].value
    assert fields["params"].op == "max" and fields["params"].value == 3e9
    assert "small" not in [c.text for c in p.hard]
    p = parse_query("abstractive summarization for languages other than English")
    lang = next(c for c in p.constraints if c.field == "language")
    assert lang.op == "not" and lang.value == ["en"]
    p = parse_query("LLM that can handle at least 100k tokens of context")
    assert [c.field for c in p.hard] == ["context"]
    assert not any(c.field == "params" for c in p.constraints)
    p = parse_query("direct fine-tunes of mistralai/Mistral-7B-v0.1 (not merges, not quantized re-uploads)")
    assert p.lineage.target == "mistralai/Mistral-7B-v0.1" and p.lineage.direct
    assert set(p.lineage.exclude_relations) == {"merge", "quantized"}
    with pytest.raises(ValueError):
        parse_query("x", max_params="lots")


# -- similar ---------------------------------------------------------------------------------------
def test_similar_by_weights_marks_family(tmp_path):
    import torch

    from tests.conftest import tiny_bert, tiny_llama

    base = tiny_bert(0)
    base.save_pretrained(tmp_path / "m" / "bert-base", safe_serialization=True)
    with torch.no_grad():  # a light fine-tune: same layout, weights close to the base
        for p in base.parameters():
            p.add_(0.01 * torch.randn_like(p))
    base.save_pretrained(tmp_path / "m" / "bert-tuned", safe_serialization=True)
    tiny_bert(5).save_pretrained(tmp_path / "m" / "bert-other", safe_serialization=True)
    tiny_llama(0).save_pretrained(tmp_path / "m" / "llama", safe_serialization=True)
    lk = Lake.open(tmp_path / "lake")
    with lk.catalog() as cat:
        assert not ingest(cat, [tmp_path / "m"]).errors
    res = similar(lk, "bert-base", k=5)
    assert res.query["basis"] == "weights"
    assert names(res) == ["bert-tuned", "bert-other"]  # the llama is another layout
    assert all(w["family"] for h in res.hits for w in h.why if w["kind"] == "weights")
    assert res.hits[0].why[0]["relative_l2"] < res.hits[1].why[0]["relative_l2"]


def test_similar_by_card(lake):
    res = similar(lake, "ner-german", k=3)
    assert res.query["basis"] == "card"
    assert names(res)[0] == "ner-english"


# -- the index follows the catalog ---------------------------------------------------------------
def test_incremental_index_after_rm_rename_and_new_version(tmp_path):
    lk = Lake.open(tmp_path / "lake")
    cards = write_cards(tmp_path / "cards", {k: CARDS[k] for k in ("ner-german", "ner-english",
                                                                   "mini-embed")})
    with lk.catalog() as cat:
        ingest(cat, [cards], index=False)
    first = sync_index(lk)
    assert first.added == 3 and first.embedded > 0
    with open_lake(lk) as h:
        assert not needs_sync(h)
    assert sync_index(lk).added == 0  # nothing changed: nothing done

    with lk.catalog() as cat:
        cat.remove("ner-english")
        cat.rename("ner-german", "ner-de")
    assert names(search(lk, "named entity recognition")) == ["ner-de"]
    rep = sync_index(lk)
    assert rep.added == rep.removed == rep.renamed == 0  # search already synced
    with open_lake(lk) as h:
        assert h.vectors.chunk_count() == sum(
            1 for _ in h.catalog._conn.execute("SELECT 1 FROM search_chunks"))
        assert not h.catalog._conn.execute("SELECT 1 FROM search_docs WHERE name = 'ner-english'").fetchone()

    (cards / "mini-embed.md").write_text(CARDS["mini-embed"] + "\n## Recipes\nIt also finds recipes "
                                         "for cooking, given a list of ingredients.\n")
    with lk.catalog() as cat:
        ingest(cat, [cards / "mini-embed.md"], index=False)
    rep = sync_index(lk)
    assert rep.added == 1 and rep.removed == 1  # the new version replaces the old one
    assert rep.reused > 0  # unchanged chunk texts keep their vectors
    hit = search(lk, "recipes").hits[0]
    assert hit.name == "mini-embed" and hit.version == 2

    full = reindex(lk)
    assert full.rebuilt and full.models == 2 and full.embedded == 0  # vectors reused


def test_search_answers_at_once_and_says_how_far_the_index_is_behind(tmp_path):
    embed.set_embedder(fake_embed, "test-bag-of-words")
    try:
        lk = Lake.open(tmp_path / "lake")
        cards = write_cards(tmp_path / "cards", {k: CARDS[k] for k in ("ner-german", "mini-embed")})
        with lk.catalog() as cat:
            report = ingest(cat, [cards / "ner-german.md"])
            assert report.index.added == 1 and report.index.embedded > 0  # indexed as it came in
            ingest(cat, [cards / "mini-embed.md"], index=False)  # e.g. an interrupted ingest
        from modellake.tools.search import index_status

        status = index_status(lk)
        assert (status.behind, status.indexed, status.rebuild) == (1, 1, False)
        assert "1 model is not in the search index yet" in status.note()
        res = search(lk, "sentence embeddings")
        assert "mini-embed" not in res.names and res.behind == 1  # answered from what is indexed
        assert res.to_dict()["index_behind"] == 1 and "--wait" in res.note
        seen = []
        res = search(lk, "sentence embeddings", wait=True, progress=lambda *a: seen.append(a))
        assert res.names[0] == "mini-embed" and res.behind == 0 and not res.note
        assert ("cards", 1, 1) in seen and any(s[0] == "passages" for s in seen)
        assert index_status(lk).up_to_date
    finally:
        embed.set_embedder(None)


def test_an_interrupted_rebuild_is_redone_by_the_next_search(tmp_path, monkeypatch):
    from modellake.tools.search import index as index_mod

    embed.set_embedder(fake_embed, "test-bag-of-words")
    try:
        lk = Lake.open(tmp_path / "lake")
        cards = write_cards(tmp_path / "cards", {k: CARDS[k] for k in ("ner-german", "mini-embed")})
        with lk.catalog() as cat:
            ingest(cat, [cards])

        def killed(*a, **k):
            raise KeyboardInterrupt

        monkeypatch.setattr(index_mod, "_index_models", killed)
        with pytest.raises(KeyboardInterrupt):
            reindex(lk)  # Ctrl-C after the old index was cleared
        monkeypatch.undo()
        assert index_mod.index_status(lk).rebuild  # the lake knows, instead of claiming sync
        res = search(lk, "named entity recognition", wait=True)
        assert res.names[0] == "ner-german" and index_mod.index_status(lk).up_to_date
    finally:
        embed.set_embedder(None)


def test_real_minilm_finds_a_paraphrase(tmp_path):
    embed.set_embedder(None)
    lk = Lake.open(tmp_path / "lake")
    with lk.catalog() as cat:
        ingest(cat, [write_cards(tmp_path / "cards", {k: CARDS[k] for k in (
            "ner-german", "mini-embed", "chat-7b-medical", "long-llm-128k")})])
    res = search(lk, "a doctor's helper bot", k=4, mode="dense")
    assert res.names[0] == "chat-7b-medical"
    assert search(lk, "vectors for finding similar sentences", k=1).names == ["mini-embed"]
    embed._model = None  # as in a fresh process: the index is current, the model not loaded yet
    assert search(lk, "vectors for finding similar sentences", k=1).names == ["mini-embed"]


def test_runs_are_searchable_documents(lake, monkeypatch):
    from datetime import datetime, timedelta

    from modellake.tools.search import search_runs
    from modellake.tools.search import state as S
    from modellake.tools.search.rank import ResultRow

    now = datetime(2026, 6, 10, tzinfo=UTC)

    def runs(h, docs):
        ids = {n: m for m, n, _ in docs}
        return [ResultRow(ids["ner-english"], "text-classification", "sst2", "accuracy", 0.91,
                          source="run (measured)", when=(now - timedelta(days=2)).isoformat(), run_id=1),
                ResultRow(ids["mini-embed"], "text-classification", "sst2", "accuracy", 0.80,
                          source="run (measured)", when=(now - timedelta(days=40)).isoformat(), run_id=2)]

    monkeypatch.setattr(S, "RESULT_SOURCES", S.RESULT_SOURCES + [runs])
    S._states.clear()
    res = search_runs(lake, "what did we measure on sentiment last week", now=now)
    assert names(res) == ["ner-english"] and res.hits[0].why[0]["run_id"] == 1
    assert set(names(search_runs(lake, "accuracy on sst2", now=now))) == {"ner-english", "mini-embed"}
    assert set(names(search_runs(lake, "f1 on conll2003", now=now))) == {"ner-german", "ner-english"}
    S._states.clear()


def test_results_of_a_model_described_in_words_are_all_its_results(lake, monkeypatch):
    """"results for X, the model our legal team uses": words that describe the model, not its
    tasks, keep every result of it (they used to keep only those close to "legal" or none)."""
    from datetime import datetime

    from modellake.tools.search import search_runs
    from modellake.tools.search import state as S
    from modellake.tools.search.rank import ResultRow

    now = datetime(2026, 6, 10, tzinfo=UTC)

    def runs(h, docs):
        ids = {n: m for m, n, _ in docs}
        return [ResultRow(ids["ner-english"], task, ds, metric, v, source="run (measured)",
                          when=now.isoformat(), run_id=i)
                for i, (task, ds, metric, v) in enumerate([
                    ("token-classification", "conll2003", "f1", 0.91), ("text-classification", "sst2", "accuracy", 0.8),
                    ("question-answering", "squad", "exact_match", 0.7)], start=1)]

    monkeypatch.setattr(S, "RESULT_SOURCES", S.RESULT_SOURCES + [runs])
    S._states.clear()
    res = search_runs(lake, "results for ner-english, the model our legal team uses for contracts", now=now)
    assert names(res) == ["ner-english"] and {w["run_id"] for w in res.hits[0].why} == {1, 2, 3}
    res = search_runs(lake, "ner-english on squad", now=now)  # a word of its results: those results
    assert [w["run_id"] for w in res.hits[0].why] == [3]
    S._states.clear()


def test_vector_index_restricted_queries(tmp_path, monkeypatch):
    from modellake.store import index as store_index
    from modellake.store.index import VectorIndex

    vi = VectorIndex(tmp_path / "index", text_dim=8)
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((30, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = [f"{i // 3}:{i % 3}" for i in range(30)]
    vi.add_chunks(ids, [i // 3 for i in range(30)], vecs)
    q = vecs[4]
    assert vi.query_chunks(q, 1)[0][:2] == ("1:1", 1)
    subset = [i for i in ids if not i.startswith("1:")]
    exact = vi.query_chunks(q, 5, chunk_ids=subset)
    monkeypatch.setattr(store_index, "EXACT_CHUNKS", 0)  # the same through Chroma's id filter
    via_chroma = vi.query_chunks(q, 5, chunk_ids=subset)
    assert [c for c, _, _ in exact] == [c for c, _, _ in via_chroma]
    assert all(not c.startswith("1:") for c, _, _ in exact)
    assert abs(exact[0][2] - float(vecs[ids.index(exact[0][0])] @ q)) < 1e-5
    vi.delete_models([0])
    assert vi.chunk_count() == 27


def test_stored_runs_and_cached_lineage_edges(tmp_path):
    from modellake.store.records import BenchmarkRun, LineageEdge
    from modellake.tools.search import search_runs

    lk = Lake.open(tmp_path / "lake")
    with lk.catalog() as cat:
        ingest(cat, [write_cards(tmp_path / "cards", {k: CARDS[k] for k in (
            "ner-german", "ner-english", "mini-embed")})])
        assert not names(search(cat, "fine-tunes of ner-english"))
        ids = {n: cat.get_model(n).id for n in ("ner-german", "ner-english", "mini-embed")}
        cat.runs.add(BenchmarkRun(model="ner-english", task="sentiment-smoke",
                                       metrics={"accuracy": 0.75}), ids["ner-english"])
        cat.runs.add(BenchmarkRun(model="mini-embed", task="sentiment-smoke",
                                       metrics={"accuracy": 0.5}), ids["mini-embed"])
        cat.lineage.save_group("g1", "fp", [LineageEdge("ner-english", "ner-german",
                                                               "finetune", 0.9)], ids)
        res = search(cat, "best accuracy on sentiment-smoke")
        assert names(res) == ["ner-english", "mini-embed"]
        assert res.hits[0].why[0]["source"] == "run (measured)"
        found = search_runs(cat, "what did we measure today")
        assert set(names(found)) == {"ner-english", "mini-embed"}
        # the one search entry point hands questions about runs to search_runs
        routed = search(cat, "what did we measure on sentiment this week")
        assert routed.query["runs"] is True and routed.query["since"] is not None
        assert set(names(routed)) == {"ner-english", "mini-embed"}  # newest first on a tie
        assert all(h.why[0]["kind"] == "result" and h.why[0]["run_id"] for h in routed.hits)
        assert not search(cat, "a model for sentiment this week").query.get("runs")
        res = search(cat, "fine-tunes of ner-english")
        assert names(res) == ["ner-german"] and res.hits[0].why[0]["sources"] == ["inferred"]
