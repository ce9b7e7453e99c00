"""Search that understands needs (issue 16): numbers cards report in tables and sentences,
thresholds in the words people use, model families by their common names, what a query rules
out, needs told without a task's name, and questions about stored results by meaning, time
and provenance.

Cards are written here. The lake uses the packaged MiniLM (through its ONNX export, as a
search does), since reading a need by meaning is what is tested.
"""
from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modellake.store.lake import Lake
from modellake.store.records import BenchmarkRun
from modellake.tools.cards.reported import reported_numbers
from modellake.tools.ingest import ingest
from modellake.tools.search import parse_query, search, search_runs, sync_index
from modellake.tools.search.families import mentions
from modellake.tools.search.runs import is_runs_query, read_sources, read_window


def card(meta: str, body: str) -> str:
    return f"---\n{textwrap.dedent(meta).strip()}\n---\n\n{textwrap.dedent(body).strip()}\n"


# -- numbers a card reports ---------------------------------------------------------------
def test_a_comparison_table_gives_only_the_models_own_column():
    text = textwrap.dedent("""
        | Benchmark | Domain | Foo-7B | Bar-70B | Baz-7B |
        |---|---|---|---|---|
        | **MMLU** | English | 61.2 | 79.9 | 55.0 |
        | GSM8K (8-shot) | Math | 48.5 | 80.1 | 40.2 |
        """)
    got = {(r.dataset, r.value) for r in reported_numbers(text, ["acme/Foo-7B-v1"])}
    assert got == {("MMLU", 61.2), ("GSM8K (8-shot)", 48.5)}
    # a model the table does not name gets nothing from it: the columns are others'
    assert reported_numbers(text, ["acme/Qux-3B"]) == []


def test_a_row_per_model_an_html_table_and_a_training_log():
    rows = textwrap.dedent("""
        |                  | ARC | HellaSwag |
        |------------------|-----|-----------|
        | **Acme-Chat-8B** | 60.5 | 82.0 |
        | Other-70B        | 70.1 | 88.0 |
        """)
    assert {(r.dataset, r.value) for r in reported_numbers(rows, ["Acme-Chat-8B"])} == {
        ("ARC", 60.5), ("HellaSwag", 82.0)}
    html = ("<table><tr><td>Category</td><td>Benchmark</td><td>Acme 8B</td><td>Other 70B</td></tr>"
            "<tr><td rowspan=2>General</td><td>MMLU (5-shot)</td><td>66.6</td><td>79.5</td></tr>"
            "<tr><td>DROP (3-shot, F1)</td><td>58.4</td><td>79.7</td></tr></table>")
    got = {(r.dataset, r.metric, r.value) for r in reported_numbers(html, ["acme/Acme-8B"])}
    assert got == {("MMLU (5-shot)", None, 66.6), ("DROP (3-shot, F1)", "F1", 58.4)}
    log = textwrap.dedent("""
        | Training Loss | Epoch | Step | Validation Loss | F1 | Accuracy |
        |:---:|:---:|:---:|:---:|:---:|:---:|
        | 0.08 | 1.0 | 100 | 0.065 | 0.92 | 0.98 |
        | 0.03 | 2.0 | 200 | 0.061 | 0.94 | 0.99 |
        """)
    got = {(r.dataset, r.metric, r.value) for r in reported_numbers(log, ["x"], datasets=["conll2003"])}
    assert ("conll2003", "F1", 0.94) in got and ("conll2003", "F1", 0.92) not in got  # the last epoch


def test_sentences_and_result_lists_keep_their_passage():
    text = ("Our model reaches 71.3 on ARC-Challenge (25-shot) and an F1 of 91.5 on CoNLL-2003.\n"
            "It has 7B params and was trained in 2023.\n\n## Results\nIt achieves the following results "
            "on the evaluation set:\n- Loss: 0.21\n- Accuracy: 0.93\n\n```\nSERVER_PORT = 443\n```\n")
    got = {(r.dataset, r.metric, r.value): r for r in reported_numbers(text, ["x"], datasets=["imdb"])}
    assert ("ARC-Challenge (25-shot)", None, 71.3) in got
    assert ("CoNLL-2003", "F1", 91.5) in got
    assert ("imdb", "Accuracy", 0.93) in got
    assert "reaches 71.3 on ARC-Challenge" in got[("ARC-Challenge (25-shot)", None, 71.3)].passage
    assert not any(v in (7.0, 2023.0, 443.0) for _, _, v in got)  # sizes, years, configuration


@pytest.mark.parametrize("query, expected", [
    ("an LLM that reports at least 60 on MMLU (5-shot)", ("MMLU (5-shot)", None, ">=", 60.0)),
    ("code model with HumanEval pass@1 above 40%", ("HumanEval", "pass@1", ">", 40.0)),
    ("MMLU over 60", ("MMLU", None, ">", 60.0)),
    ("vision-language model scoring 90 or more on DocVQA", ("DocVQA", None, ">=", 90.0)),
    ("60+ on GSM8K", ("GSM8K", None, ">=", 60.0)),
    ("WER under 5 on LibriSpeech", ("LibriSpeech", "wer", "<", 5.0)),
    ("llm that reports a hellaswag score of 86 or higher", ("hellaswag", None, ">=", 86.0)),  # a known name, lower case
    ("scores north of 80 on hellaswag", ("hellaswag", None, ">", 80.0)),
    ("86+ hellaswag", ("hellaswag", None, ">=", 86.0)),
    ("a model reaching 85 on hellaswag", ("hellaswag", None, ">=", 85.0)),
    ("a 7b model that scores 60 on mmlu or more", ("mmlu", None, ">=", 60.0)),
    ("llms whose reported arc-challenge accuracy is above 70", ("arc-challenge", "accuracy", ">", 70.0)),
])
def test_thresholds_in_the_words_people_use(query, expected):
    r = parse_query(query).results
    assert (r.dataset, r.metric, r.op, r.value) == expected


@pytest.mark.parametrize("query", ["small chat model under 3B parameters", "models over 7B", "gets 7 stars on github",
                                   "a model reaching 3 languages",
                                   "at least 128k context", "a model with more than 3 languages"])
def test_sizes_are_not_thresholds_on_results(query):
    assert parse_query(query).results is None


# -- families and what a query rules out ----------------------------------------------------
def test_family_mentions_and_what_is_ruled_out():
    got = [(m.keys, m.negated) for m in mentions("the original LLaMA and things built on it, not Llama 2")]
    assert got == [(["llama-1"], False), (["llama-2"], True)]
    got = [(m.keys, m.negated) for m in mentions("an image generator that is neither Stable Diffusion nor FLUX")]
    assert got == [(["sd-1", "sd-2", "sdxl", "sd-3", "stable-diffusion"], True), (["flux"], True)]
    assert [m.keys for m in mentions("Google's open model family")] == [["gemma"]]
    assert mentions("a GGUF I can run with llama.cpp") == []
    assert mentions("a short video clip from a prompt") == []  # "clip" is not CLIP


CARDS = {
    "llama2-chat-gguf": card("base_model: meta-llama/Llama-2-7b-chat-hf\nlicense: llama2\ntags: [gguf]",
                             "# Llama 2 7B Chat GGUF\nQuantized GGUF files of Llama 2 7B Chat for llama.cpp."),
    "alpaca-lora": card("license: apache-2.0\nlibrary_name: peft",
                        "# Alpaca LoRA\nA LoRA adapter for decapoda-research/llama-7b-hf, the original "
                        "LLaMA, tuned on the Alpaca instruction data."),
    "codellama-sql": card("base_model: codellama/CodeLlama-7b-hf\nlicense: llama2",
                          "# CodeLlama SQL\nA fine-tune of Code Llama that writes SQL queries from questions."),
    "gemma-ft": card("base_model: google/gemma-2b\nlicense: gemma",
                     "# Gemma 2B customer support\nA Gemma 2B fine-tune that answers customer support chats."),
    "mistral-de": card("base_model: mistralai/Mistral-7B-v0.1\nlicense: apache-2.0\nlanguage: [de]",
                       textwrap.dedent("""
                           # Mistral 7B German chat
                           A German chat model fine-tuned from Mistral 7B.

                           | Benchmark | Mistral-7B-German | Llama-2-7B |
                           |---|---|---|
                           | MMLU | 62.5 | 45.3 |
                           | HellaSwag | 83.0 | 78.1 |
                           """)),
    "qwen-awq": card("base_model: Qwen/Qwen2-7B-Instruct\nlicense: apache-2.0\ntags: [awq, 4-bit]",
                     "# Qwen2 7B Instruct AWQ\nAWQ 4-bit quantized weights of Qwen2 7B Instruct. "
                     "It scores 70.3 on MMLU."),
    "ppo-cartpole": card("library_name: stable-baselines3\ntags: [reinforcement-learning, ppo]",
                         "# PPO agent playing CartPole-v1\nA PPO agent trained with stable-baselines3."),
    "dqn-cartpole": card("library_name: stable-baselines3\ntags: [reinforcement-learning, dqn]",
                         "# DQN agent playing CartPole-v1\nA DQN agent trained with stable-baselines3."),
    "langid-xlmr": card("base_model: FacebookAI/xlm-roberta-base\npipeline_tag: text-classification\n"
                        "license: mit", "# Language identification\nDetects which of 20 languages a "
                        "text is written in. Fine-tuned from XLM-RoBERTa on language identification data."),
    "sentiment-bert": card("base_model: google-bert/bert-base-uncased\npipeline_tag: text-classification\n"
                           "license: apache-2.0", "# Review sentiment\nClassifies product reviews as "
                           "positive or negative."),
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("understanding")
    d = root / "cards"
    d.mkdir()
    for name, text in CARDS.items():
        (d / f"{name}.md").write_text(text)
    lk = Lake.open(root / "lake")
    with lk.catalog() as cat:  # each under the name its test uses (as `ingest FILE --name NAME`)
        for name in CARDS:
            report = ingest(cat, [d / f"{name}.md"], name=name)
            assert not report.errors, report.errors
    return lk


def names(res) -> list[str]:
    return [h.name for h in res.hits]


def test_a_reported_table_number_answers_a_threshold(lake):
    res = search(lake, "an LLM with MMLU above 60")
    assert set(names(res)) == {"mistral-de", "qwen-awq"}  # the German model's column, not Llama 2's
    why = next(w for w in res.hits[names(res).index("mistral-de")].why if w["kind"] == "result")
    assert why["value"] == 62.5 and why["source"] == "card table" and "62.5" in why["passage"]
    assert "a table of its card" in res.text()
    assert names(search(lake, "an LLM with MMLU above 65")) == ["qwen-awq"]  # 62.5 misses it: gone


@pytest.mark.parametrize("query, op, value, upper", [
    ("ImageNet top-1 accuracy of 85% or more", ">=", 85.0, None),
    ("a model whose TruthfulQA is 55 or better", ">=", 55.0, None),
    ("WER of 10 or lower on LibriSpeech", "<=", 10.0, None),
    ("ARC-Challenge (25-shot) no lower than 60", ">=", 60.0, None),
    ("models scoring between 60 and 70 on HellaSwag", "between", 60.0, 70.0),
])
def test_thresholds_said_after_the_number(query, op, value, upper):
    r = parse_query(query).results
    assert r is not None and (r.op, r.value, r.upper) == (op, value, upper)
    assert parse_query("a model of 50M parameters or less").results is None  # a size, not a score


def test_a_range_of_reported_scores(lake):
    assert names(search(lake, "an LLM with MMLU between 60 and 65")) == ["mistral-de"]  # 62.5; not 70.3


def test_families_by_common_name_and_ruled_out(lake):
    assert names(search(lake, "Code Llama descendants")) == ["codellama-sql"]
    assert set(names(search(lake, "anything built on the original LLaMA")))== {"alpaca-lora"}
    assert names(search(lake, "fine-tunes of Google's open models")) == ["gemma-ft"]
    got = names(search(lake, "a chat model that is not from the Llama 2 family"))
    assert "llama2-chat-gguf" not in got and got


def small_lake(tmp_path: Path, cards: dict[str, str]) -> Lake:
    """A lake of these card-only models (name -> card text)."""
    for name, text in cards.items():
        (tmp_path / f"{name}.md").write_text(text)
    lk = Lake.open(tmp_path / "lake")
    with lk.catalog() as cat:
        assert not ingest(cat, [tmp_path]).errors
    return lk


def test_a_family_by_its_tag_alone_is_ruled_out(tmp_path):
    # the Hub's convention: a DreamBooth fine-tune says it is Stable Diffusion by its tag only
    # (no version, no declared base model); "neither Stable Diffusion nor FLUX" must drop it
    cards = {
        "vishu-dreambooth": card("license: creativeml-openrail-m\ntags: [stable-diffusion, text-to-image]",
                                 "# Vishu\nA text-to-image model fine-tuned on pictures of our cat."),
        "kandinsky-style": card("license: apache-2.0\npipeline_tag: text-to-image",
                                "# Kandinsky style\nA text-to-image model that paints pictures from prompts."),
    }
    lk = small_lake(tmp_path, cards)
    got = names(search(lk, "a text-to-image generator that is neither Stable Diffusion nor FLUX"))
    assert got == ["kandinsky-style"]
    assert "vishu-dreambooth" in names(search(lk, "Stable Diffusion fine-tunes"))


def test_what_a_negation_rules_out_and_what_it_does_not():
    def ruled(q):
        return sorted((c.field, str(c.value)) for c in parse_query(q).constraints if c.op == "not")

    # a list shares the negation; "besides" rules out too
    assert ruled("LLMs that are not from the Llama, Mistral or Qwen families") == [
        ("architecture", "['llama']"), ("architecture", "['mistral']"), ("architecture", "['qwen']")]
    assert ruled("speech models besides Whisper") == [("architecture", "['whisper']")]
    # what follows "of" names the source of what is ruled out, not something ruled out itself
    q = parse_query("Llama 2 derivatives, no straight re-quantizations of Meta's chat model")
    assert ruled(q.raw) == [("relation", "['quantized']")] and q.lineage is None


def test_how_a_model_was_made_is_ruled_out(tmp_path):
    cards = {
        "hermes-merge": card("base_model: [teknium/OpenHermes-2.5-Mistral-7B, Intel/neural-chat-7b-v3-3]\n"
                             "tags: [merge, mergekit]\nlicense: apache-2.0",
                             "# Hermes merge\nA SLERP merge of two Mistral chat fine-tunes."),
        "mistral-awq": card("base_model: mistralai/Mistral-7B-Instruct-v0.2\ntags: [awq, 4-bit]\nlicense: apache-2.0",
                            "# Mistral Instruct AWQ\nAWQ 4-bit quantized weights of the Mistral chat model."),
        # the same base named twice (a Hub id and its short form) and the Hub's own relation tag:
        # an adapter, not a merge, although its card talks of merging the adapter into the base
        "mistral-qlora": card("base_model: [mistralai/Mistral-7B-v0.1, Mistral-7B]\nlibrary_name: peft\n"
                              "tags: [lora, 'base_model:adapter:mistralai/Mistral-7B-v0.1']",
                              "# Mistral QLoRA chat\nLoRA adapter weights for a Mistral chat model; "
                              "merge them into the base with merge_and_unload()."),
        "mistral-sft": card("base_model: mistralai/Mistral-7B-v0.1\nlicense: apache-2.0",
                            "# Mistral SFT chat\nA Mistral 7B chat fine-tune trained on dialogue data."),
    }
    lk = small_lake(tmp_path, cards)
    q = parse_query("Mistral chat fine-tunes, not merges and no quantized copies")
    assert {(c.field, c.op, tuple(c.value)) for c in q.constraints if c.field == "relation"} == {
        ("relation", "not", ("merge",)), ("relation", "not", ("quantized",))}
    got = names(search(lk, "Mistral chat fine-tunes, not merges and no quantized copies"))
    assert set(got) == {"mistral-qlora", "mistral-sft"}
    got = names(search(lk, "a Mistral chat model that is not an adapter: full weights only"))
    assert "mistral-qlora" not in got and "mistral-sft" in got


def test_a_ruled_out_format_or_word(lake):
    got = names(search(lake, "a 4-bit quantized chat model that is not GGUF"))
    assert got[0] == "qwen-awq" and "llama2-chat-gguf" not in got
    got = names(search(lake, "a CartPole agent trained with something other than PPO"))
    assert got[0] == "dqn-cartpole"


def test_the_dense_ranking_leads_for_a_query_that_only_describes(lake):
    # a need told in plain words matches incidental words of many cards: its meaning counts more
    described = search(lake, "figure out what language each customer email is in").query["fusion"]
    assert described["dense"] == 3.0 and described["score_gaps"]
    constrained = search(lake, "an MIT-licensed model that tells which language a text is in").query["fusion"]
    assert constrained["dense"] == 1.0  # a licence to check: the words and the meaning count alike
    assert not search(lake, "sentiment classifier").query["fusion"]["score_gaps"]  # two keywords


def test_a_need_told_without_the_tasks_name(lake):
    res = search(lake, "figure out what language each customer email is in")
    assert names(res)[0] == "langid-xlmr"
    task = next(c for c in res.query["constraints"] if c["field"] == "task")
    assert task["source"] == "need" and task["value"][0] == "text-classification"


# -- questions about results ------------------------------------------------------------------
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)


@pytest.mark.parametrize("text, since, until", [
    ("runs from today", NOW - timedelta(days=1), None),
    ("results added in the last two weeks", NOW - timedelta(days=14), None),
    ("results older than a month", None, NOW - timedelta(days=31)),
    ("more than two months old", None, NOW - timedelta(days=62)),
    ("since 2026-05-01", datetime(2026, 5, 1, tzinfo=UTC), None),
    ("before 2026-05-01", None, datetime(2026, 5, 1, tzinfo=UTC)),
    ("on 2026-05-01", datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC)),
])
def test_time_windows(text, since, until):
    w, _ = read_window(text, NOW)
    assert (w.since, w.until) == (since, until)


@pytest.mark.parametrize("text, sources", [
    ("sentiment results we measured ourselves, not numbers copied from cards", {"measured"}),
    ("which ARC numbers come from model cards?", {"card"}),
    ("GSM8K scores from lm-eval harness runs, not model cards", {"imported"}),
    ("error rates reported in the last week", {"card", "imported"}),
    ("WER results added in the last two weeks", None),
])
def test_how_a_result_was_obtained(text, sources):
    assert read_sources(text)[0] == sources


@pytest.mark.parametrize("query, runs", [
    ("what did we measure on sentiment last week", True),
    ("grade-school math word problem scores", True),
    ("winogrande figures reported in model cards", True),
    ("what did the base mini model score?", True),
    ("how did zephyr do on benchmarks?", True),
    ("evals reported for the NSFW image detector", True),
    ("a model for sentiment this week", False),
    ("NER with F1 above 0.9 on CoNLL-2003", False),
    ("predict next month's store sales from past daily figures", False),
    ("convert web copy into Catalan; ideally something that runs under CTranslate2", False),
    ("llm that scores 80 or more on gsm8k by its own reported number", False),  # "scores" here is a verb
    ("scores on mmlu from last week", True),
])
def test_which_questions_are_about_results(query, runs):
    assert is_runs_query(query) is runs


def test_what_the_user_lacks_tells_the_need_and_rules_nothing_out():
    q = parse_query("sort incoming support tickets into categories we make up on the fly, no labelled training data")
    assert q.situation == "no labelled training data" and not q.constraints
    assert "labelled" not in q.text  # not words to match cards by


def test_results_by_meaning_time_and_provenance(lake):
    with lake.catalog() as cat:
        mid = {n: cat.get_model(n).id for n in ("sentiment-bert", "langid-xlmr", "mistral-de")}
        when = {"today": NOW - timedelta(hours=2), "old": NOW - timedelta(days=40)}
        for model, task, metrics, trust, age in [
                ("sentiment-bert", "imdb", {"accuracy": 0.93}, "measured", "today"),
                ("sentiment-bert", "sst2", {"accuracy": 0.91}, "reported", "old"),
                ("langid-xlmr", "papluca/language-identification", {"accuracy": 0.99}, "measured", "old"),
                ("mistral-de", "gsm8k", {"exact_match": 0.41}, "reported", "today")]:
            cat.runs.add(BenchmarkRun(model=model, task=task, metrics=metrics, trust=trust,
                                      created_at=when[age].isoformat()), mid[model])
    report = sync_index(lake)
    assert report.results >= 4  # the results' descriptions are now in the vector index

    def found(q: str) -> set[tuple[str, str]]:
        res = search_runs(lake, q, now=NOW)
        return {(h.name, w["task"]) for h in res.hits for w in h.why}

    assert found("how do our models do at telling positive from negative reviews?") == {
        ("sentiment-bert", "imdb"), ("sentiment-bert", "sst2")}
    assert found("polarity results we measured today") == {("sentiment-bert", "imdb")}
    assert found("grade-school maths word problems") == {("mistral-de", "gsm8k")}
    assert found("which results were reported rather than measured here, older than a week") == {
        ("sentiment-bert", "sst2")}
    assert found("what did the Mistral German chat model score?") == {("mistral-de", "gsm8k")}
    routed = search(lake, "grade-school maths word problem scores")  # search hands it on
    assert routed.query.get("runs") and names(routed) == ["mistral-de"]
    assert "from its card" not in routed.text() and "gsm8k" in routed.text()
    assert found("which numbers did we import from evaluation files?") == {  # reported, not from cards
        ("sentiment-bert", "sst2"), ("mistral-de", "gsm8k")}
    shown = search(lake, "a German chat model on GSM8K")  # a model search: its results come first
    assert names(shown)[0] == "mistral-de" and shown.hits[0].why[0]["task"] == "gsm8k"
    named = search(lake, "the Mistral 7B German chat model on GSM8K")  # a model and a benchmark
    assert named.query.get("runs") and names(named) == ["mistral-de"]
    assert not search(lake, "a German chat model fine-tuned on GSM8K data").query.get("runs")
    # a model named by a word of its name, possessive or without its version; "how did X do"
    assert found("langid-xlmr's results") == {("langid-xlmr", "papluca/language-identification")}
    assert search(lake, "how did sentiment-bert do on benchmarks?").query.get("runs")


def test_a_relation_word_inside_a_name_names_the_model(tmp_path):
    # "minilm-pruned" is a model's name, not "the pruned models" (of which the lake has none)
    lk = small_lake(tmp_path, {name: card("license: mit", f"# {name}\nA MiniLM sentence encoder.")
                               for name in ("minilm-pruned", "minilm-sentiment")})
    with lk.catalog() as cat:
        for name in ("minilm-pruned", "minilm-sentiment"):
            cat.runs.add(BenchmarkRun(model=name, task="sts-smoke", metrics={"spearman": 0.8}, trust="measured",
                                      created_at=NOW.isoformat()), cat.get_model(name).id)
    res = search_runs(lk, "measured runs of minilm-pruned", now=NOW)
    assert names(res) == ["minilm-pruned"]


def test_a_dataset_named_as_stored_comes_first(tmp_path):
    lk = small_lake(tmp_path, {"roberta-squad": card("license: cc-by-4.0", "# roberta-squad\nExtractive QA.")})
    with lk.catalog() as cat:
        mid = cat.get_model("roberta-squad").id
        for task, em in (("squad_adversarial/AddOneSent", 78.6), ("squad/plain_text", 86.5), ("squad_v2", 79.9)):
            cat.runs.add(BenchmarkRun(model="roberta-squad", task=task, metrics={"exact_match": em},
                                      trust="reported", created_at=NOW.isoformat()), mid)
    res = search_runs(lk, "how well does the roberta squad model do on squad_v2?", now=NOW)
    assert [w["task"] for w in res.hits[0].why][0] == "squad_v2"  # not squad, said in "squad model"


# -- names people can read ----------------------------------------------------------------------
def test_card_only_models_are_named_from_their_cards(tmp_path):
    d = tmp_path / "cards"
    (d / "wrapped").mkdir(parents=True)
    (d / "a1.md").write_text(card(
        "license: mit\nlicense_link: https://huggingface.co/acme/tiny-ranker-v2/resolve/main/LICENSE",
        "## Summary\nA small reranker.\n\n```python\nAutoModel.from_pretrained(\"acme/tiny-ranker-v2\")\n```"))
    (d / "a2.md").write_text(card("library_name: stable-baselines3\nmodel-index:\n- name: PPO\n  results: []",
                                  "# PPO agent\nAn agent for LunarLander-v2."))
    (d / "a3.md").write_text(card("license: apache-2.0", "# Cabrita adapter\nTrained on top of the base:\n\n"
                                  "```python\nmodel = AutoModel.from_pretrained(\"big-org/llama-7b-hf\")\n```"))
    (d / "wrapped" / "README.md").write_text(card("license: mit", "# Something\nA model card."))
    lk = Lake.open(tmp_path / "lake")
    with lk.catalog() as cat:
        ingest(cat, [d / "a1.md", d / "a2.md", d / "a3.md", d / "wrapped" / "README.md"], index=False)
        by_file = {Path(m.source).name if Path(m.source).name != "README.md" else "wrapped": m.name
                   for m in cat.list_models()}
    assert by_file == {"a1.md": "acme/tiny-ranker-v2",  # the repo id its license and code name
                       "a2.md": "PPO-agent",  # "PPO" names an algorithm, not this model: its title
                       "a3.md": "Cabrita-adapter",  # the id its example loads is a base the title
                       # does not name: the title names it
                       "wrapped": "wrapped"}  # a README given alone is named after its folder


@pytest.mark.parametrize("title, name", [
    ("BGE-M3 ([paper](https://arxiv.org/x), [code](https://github.com/y))", "BGE-M3"),
    ("Model Card for MADLAD-400-3B-MT", "MADLAD-400-3B-MT"),
    ("Gemma 3 model card", "Gemma 3"),
    ("OpenChat: Advancing Open-source Language Models", "OpenChat"),
    ("TinyTimeMixer (TTM) Model Card", "TinyTimeMixer"),
    ("**Llama-2-Ko** \U0001f999", "Llama-2-Ko"),
    ("Model description:  bge-m3-zeroshot-v2.0", "bge-m3-zeroshot-v2.0"),
    ("Model Details", None), ("Load a model", None), ("Whisper", None), ("Reranker", None),
    ("Place an image in the 'images/x.jpg' subfolder", None), ("{'score': 0.97, 'answer': 'x'}", None),
])
def test_a_cards_title_names_its_model_only_when_it_is_a_name(title, name):
    from modellake.tools.cards.naming import readable_stem, title_name

    assert title_name(title) == name
    assert not readable_stem("001") and not readable_stem("README") and readable_stem("mini-embed")


def test_a_meaningful_file_name_is_kept_over_the_title(tmp_path):
    (tmp_path / "mini-embed.md").write_text(card("license: mit", "# mini-embed-22M\nA small embedder."))
    (tmp_path / "017.md").write_text(card("license: mit", "# mini-embed-22M\nA small embedder."))
    lk = Lake.open(tmp_path / "lake")
    with lk.catalog() as cat:
        ingest(cat, [tmp_path / "mini-embed.md", tmp_path / "017.md"], index=False)
        assert sorted(m.name for m in cat.list_models()) == ["mini-embed", "mini-embed-22M"]


def test_not_quantized_is_read_from_weights_without_a_declared_base():
    from modellake.tools.search.hits import why_text
    from modellake.tools.search.rank import FAIL, OK, UNKNOWN, check

    not_quantized = parse_query("an encoder that is not quantized").constraints
    rel = next(c for c in not_quantized if c.field == "relation")
    weights = {"relation": "finetune", "bases": [], "has_weights": True}
    assert check(rel, {**weights, "quantized": False}).status == OK  # the weights say so
    assert check(rel, {**weights, "quantized": True}).status == FAIL
    no_merge = next(c for c in parse_query("an encoder that is not a merge").constraints if c.field == "relation")
    assert check(no_merge, {**weights, "quantized": False}).status == UNKNOWN  # the weights cannot tell
    assert why_text({"kind": "constraint", "field": "relation", "status": "ok", "value": "not quantized"}) \
        == "not quantized (by its weights)"
    assert why_text({"kind": "constraint", "field": "relation", "status": "unknown"}) == \
        "but how it was made is not stated"


def test_languages_ruled_out_and_languages_that_only_describe():
    def langs(q):
        return sorted((c.op, str(c.value), c.hard) for c in parse_query(q).constraints if c.field == "language")

    assert langs("named-entity tagger for one specific non-English language, anything but German") == [
        ("not", "['de']", True), ("not", "['en']", True)]
    assert langs("sentence embedding model, excluding the English-only ones") == [("not", "['en']", True)]
    assert langs("English NER model") == [("in", "['en']", True)]
    assert langs("German BERT and its descendants") == [("in", "['de']", True)]
    # a style of pictures, not the language of a text: a hint, not a filter
    assert langs("a generator for art with big-eyed characters like in japanese cartoons") == [
        ("in", "['ja']", False)]


def test_what_made_the_users_data_is_not_the_task_wanted():
    def tasks(q):
        return [c.value[0] for c in parse_query(q).constraints if c.field == "task" and c.op == "in"]

    assert "automatic-speech-recognition" not in tasks(
        "my speech-to-text output is one long run-on; I need the punctuation put back")
    assert "automatic-speech-recognition" in tasks("speech-to-text for my podcast")


def test_nothing_derived_from_a_family_rules_it_out():
    q = parse_query("text-to-SQL model, but nothing derived from Llama 2")
    assert q.lineage is None and [(f.text, f.negated) for f in q.families] == [("Llama 2", True)]


def test_an_f_score_is_an_f1():
    from modellake.tools.search.rank import metric_matches

    assert metric_matches("F1", "f_score") and metric_matches("f1", "F Score") and metric_matches("f1", "f1")
    assert not metric_matches("f1", "exact_match") and not metric_matches("accuracy", "f_score")


def test_task_sizes_and_kinds_in_more_words():
    def cons(q):
        return [(c.field, c.op, c.value if not isinstance(c.value, list) else c.value[0])
                for c in parse_query(q).constraints]

    assert ("task", "in", "automatic-speech-recognition") in cons("a speech recognition model")
    assert ("task", "in", "token-classification") in cons("entity recognition for legal text")
    assert ("params", "min", 30e9) in cons("a merged LLM of 30B+ parameters")
    assert ("params", "min", 7e9) in cons("chat models of 7B or more")
    assert ("relation", "in", "merge") in cons("a merged LLM of 30B+ parameters")
    # "no SDXL derivatives" rules the family out, not every fine-tune
    assert ("relation", "not", "finetune") not in cons("image generation, but no SDXL derivatives")
    assert ("relation", "not", "finetune") in cons("a model that is not a fine-tune")
    import re

    from modellake.tools.search.query import _RELATION_WORDS
    assert re.search(_RELATION_WORDS["adapter"], "the small low-rank add-on weights")


def test_a_versioned_family_ruled_out_is_not_its_whole_architecture():
    q = parse_query("models based on the original LLaMA rather than Llama 2")
    assert [(f.text, f.negated) for f in q.families] == [("original LLaMA", False), ("Llama 2", True)]
    assert not [c for c in q.constraints if c.field == "architecture" and c.op == "not"]
    assert q.lineage is not None and q.lineage.target == "original LLaMA"
    included = [c for c in parse_query("code models and their descendants, re-quantized copies included").constraints
                if c.field == "quantization"]
    assert included and not included[0].hard  # included, not only them
    assert [c.hard for c in parse_query("quantized llama models").constraints if c.field == "quantization"] == [True]


def test_negations_said_in_more_ways():
    def cons(q):
        return [(c.field, c.op, c.value, c.hard) for c in parse_query(q).constraints]

    # "not just English": more languages than English, not English ruled out
    assert cons("zero-shot classifier that isn't just English") == [("language", "multilingual", None, False)]
    assert ("language", "not", ["en"], True) in cons("emotion detection for text that's not in english")
    # a parenthesis inside a list shares its negation: both licenses are ruled out
    lic = [c for c in cons("NER for a commercial product - no non-commercial (NC) or GPL licenses")
           if c[0] == "license"]
    assert len(lic) == 1 and lic[0][1] == "not" and "gpl*" in lic[0][2] and "cc-by-nc*" in lic[0][2]
    q = parse_query("a vision-language chat model. I don't want anything from Alibaba or built on Qwen")
    assert q.lineage is None and all(f.negated for f in q.families) and q.families
    q = parse_query("a merged LLM of 30B+ parameters, but not one that just stacks Llama-3-70B onto itself")
    assert [(f.text, f.negated) for f in q.families] == [("Llama-3", True)]
    # "no more than" compares; it negates nothing
    q = parse_query("models with no more than 7B params derived from Mistral")
    assert q.lineage is not None and q.lineage.target == "Mistral"


def test_what_a_lineage_clause_points_at():
    q = parse_query("BAAI's multilingual M3 embedding model and things built on top of it")
    assert q.lineage is not None and q.lineage.target == "BAAI's multilingual M3 embedding model"
    assert not [c for c in q.constraints if c.field == "task" and c.hard]  # the target's task, not the need
    q = parse_query("Mistral-7B chat fine-tune for a language other than English, not a merge")
    assert q.lineage is None  # what it is for, not what it was made from
    assert ("language", "not", ["en"]) in [(c.field, c.op, c.value) for c in q.constraints]
    assert parse_query("layers of two 70B models stacked on top of each other").lineage is None
    q = parse_query("merged models built from Llama family weights - except Mistral-based merges")
    assert q.lineage is not None and q.lineage.target == "Llama family" and q.lineage.relations == ["merge"]
    assert ("relation", "in", ["merge"]) in [(c.field, c.op, c.value) for c in q.constraints]


def test_several_sizes_and_several_languages():
    q = parse_query("stacking the layers of one or two 70B models on top of each other to get ~120B")
    assert [(c.op, c.value, c.hard) for c in q.constraints if c.field == "params"] == [("approx", 120e9, False)]
    q = parse_query("a ~7B chat LLM for our Dutch and German speakers")
    assert [(c.op, sorted(c.value)) for c in q.constraints if c.field == "language"] == [("in", ["de", "nl"])]
    from modellake.tools.search.rank import LIKELY, OK, check

    both = next(c for c in q.constraints if c.field == "language")
    assert check(both, {"languages": ["de", "nl"]}).status == OK
    assert check(both, {"languages": ["de"]}).status == LIKELY  # one of them: kept, below both
    alt = parse_query("an LLM for one language (German, Dutch or French are all fine)").constraints[0]
    assert alt.any_of and check(alt, {"languages": ["nl"]}).status == OK
    many = ["de", "nl", "fr", "it", "es", "pt", "pl", "sv", "da", "fi", "cs", "ro"]
    assert check(alt, {"languages": many}).status == LIKELY  # one of many: below a model built for one


def test_error_rates_and_any_benchmark():
    r = parse_query("speech recognition reporting a word error rate under 5% on any of its test sets").results
    assert r is not None and r.dataset is None and r.op == "<" and r.value == 5.0
    from modellake.tools.search.rank import metric_matches, name_matches

    assert metric_matches(r.metric, "wer") and not metric_matches(r.metric, "cer")
    assert name_matches("Open LLM Leaderboard GSM8k (5-shot)".replace("Open LLM ", ""), "GSM8K")


def test_bases_read_from_usage_code_and_merge_lists():
    from modellake.tools.search.facets import text_bases

    adapter = ("```python\nmodel = LlamaForCausalLM.from_pretrained(\n    \"decapoda-research/llama-7b-hf\",\n"
               "    load_in_8bit=True)\nmodel = PeftModel.from_pretrained(model, \"22h/cabrita-lora\")\n```")
    assert ("decapoda-research/llama-7b-hf", "adapter") in text_bases(adapter)
    merge = ("This is a merge made with mergekit.\n\n### Models Merged\n\nThe following models were included "
             "in the merge:\n* D:/hub/models--acme--Llama-3.1-Tuned-8b/snapshots/221e5f\n"
             "* [org/other-8b](https://huggingface.co/org/other-8b)\n* ./local/my_finetune_2\n\n### Configuration\n")
    found = [b for b, rel in text_bases(merge) if rel == "merge"]
    assert found == ["acme/Llama-3.1-Tuned-8b", "org/other-8b", "my_finetune_2"]


def test_makers_by_namespace_and_by_what_the_card_says(tmp_path):
    cards = {
        "microsoft/phi-mini": card("license: mit\npipeline_tag: text-generation",
                                   "# Phi mini\nA small language model."),
        "bitnet-2b": card("license: mit\npipeline_tag: text-generation",
                          "# BitNet 2B\nA small 1-bit language model, developed by Microsoft Research."),
        "meta-llama/Llama-2-7b": card("license: llama2\npipeline_tag: text-generation\ntags: [facebook, meta]",
                                      "# Llama 2\n**Model Developers** Meta\n\nA language model."),
        "someone/llama-2-ft": card("base_model: meta-llama/Llama-2-7b\npipeline_tag: text-generation\n"
                                   "tags: [facebook, meta, llama-2]",
                                   "# Llama 2 fine-tune\n**Model Developers** Someone\n\nA small chat language model."),
    }
    lk = Lake.open(tmp_path / "lake")
    with lk.catalog() as cat:
        for i, (name, text) in enumerate(cards.items()):
            (tmp_path / f"{i}.md").write_text(text)
            assert not ingest(cat, [tmp_path / f"{i}.md"], name=name).errors
    got = names(search(lk, "Microsoft's small language models"))
    assert set(got[:2]) == {"microsoft/phi-mini", "bitnet-2b"} and len(got) == 4  # theirs first, the rest stay
    # ruled out: what Meta published (its namespace, its card), not a fine-tune that kept its tags
    assert set(names(search(lk, "a language model, not from Meta"))) == {
        "microsoft/phi-mini", "bitnet-2b", "someone/llama-2-ft"}
    q = parse_query("Whisper-based recognizers other than the original checkpoints OpenAI itself published")
    assert [(f.text, f.negated) for f in q.families] == [("Whisper", False), ("OpenAI", True)]
    assert [f.text for f in parse_query("models using Microsoft's DeBERTa as backbone").families] == ["DeBERTa"]


def test_lists_of_alternatives_and_licenses_named_by_a_family():
    def cons(q):
        return {(c.field, c.op, str(c.value)): (c.hard, c.any_of) for c in parse_query(q).constraints}

    made = cons("FLUX derivatives: loras, merges, quantized copies")  # any of them, none required
    assert made[("format", "in", "['adapter']")] == (False, False)
    assert made[("relation", "in", "['merge']")] == (False, False) and made[("quantization", "any", "None")][0] is False
    assert cons("QLoRA adapters (quantized) for mistral")[("format", "in", "['adapter']")][0] is True  # both asked
    langs = cons("an LLM for one European language (German, Dutch, French, Italian are all fine)")
    assert langs[("language", "in", "['de', 'fr', 'it', 'nl']")] == (True, True)
    assert cons("English speech in, French audio out")[("language", "in", "['en', 'fr']")] == (True, False)
    lic = cons("tiny chat model, apache-style license - no Llama-licensed stuff")
    assert ("license", "not", "['llama*']") in lic and not [k for k in lic if k[0] == "architecture"]
    permissive = [c.value for c in parse_query("apache-style license").constraints if c.field == "license"]
    assert permissive and "mit" in permissive[0] and "apache-2.0" in permissive[0]  # "-style": permissive
    q = parse_query("frankenmerges, but skip anything built from 7B or 8B parents")
    assert q.lineage is None  # ruled out, not asked for
    assert [f.text for f in parse_query("models Hugging Face itself trained and released").families] == [
        "Hugging Face itself"]


def test_how_a_model_was_made_in_words_no_card_uses():
    from modellake.tools.embedding import embedder as embed
    from modellake.tools.search.needs import closest_method

    def method(q):
        m = closest_method(embed.embed_query(q))
        return (m.method, m.task) if m else None

    assert method("blend of two chat LLMs made by interpolating their weights, no extra training") == ("merge", "merge")
    assert method("a chatbot taught a new language by adding extra words to its tokenizer") == ("vocabulary", "")
    assert method("plug-in so an image generator gives decent pictures in ~4 denoising passes")[0] == "few-step"
    assert method("language models produced by a SLERP merge") in (None, ("merge", "merge"))  # its own words suffice
    assert method("small multilingual sentence embedding model for cross-lingual semantic search") is None
    assert method("someone converted an existing model so a web page can run it client-side in javascript")[0] == \
        "web-port"


def test_a_trainers_eval_results_and_no_multilingual_models():
    text = ("## Evaluation on SQuAD2.0 dev set\n```bash\n{\n    \"epoch\": 3.0,\n    \"eval_HasAns_f1\": 85.9,\n"
            "    \"eval_best_f1\": 84.0,\n    \"eval_exact\": 80.88,\n    \"eval_f1\": 84.01,\n"
            "    \"eval_loss\": 0.77,\n    \"eval_samples\": 12508\n}\n```\n")
    got = [(r.dataset, r.metric, r.value) for r in reported_numbers(text, ["qa"], ["squad_v2"])]
    assert got == [("squad_v2", "exact_match", 80.88), ("squad_v2", "f1", 84.01)]
    assert reported_numbers(text, ["qa"], []) == []  # no dataset of its own: whose numbers is unclear
    from modellake.tools.search.rank import FAIL, OK, check

    one = next(c for c in parse_query("a NER tagger for French, no multilingual models please").constraints
               if c.field == "language" and c.op == "monolingual")
    assert one.hard and check(one, {"languages": ["fr"]}).status == OK
    assert check(one, {"languages": ["multilingual", "fr"]}).status == FAIL


def test_a_misspelt_family_name_is_read_as_the_family():
    from modellake.tools.search.families import spelled

    assert spelled("finetunes of Meta's Lama 3 8B") == "finetunes of Meta's Llama 3 8B"
    assert spelled("mistal 7b chat") == "Mistral 7b chat" and spelled("the best bert model") == "the best bert model"
    assert [f.keys for f in parse_query("finetunes of Meta's Lama 3 8B").families] == [["llama-3"]]
    said = [c.text for c in parse_query("retrained for a language other than English").constraints]
    assert said == ["other than english"]  # the reason a hit shows: the words that ruled it out


def test_a_task_the_card_never_names_is_not_kept_and_the_maker_is_said(tmp_path):
    cards = {
        "ner-fr": card("pipeline_tag: token-classification\nlanguage: fr", "# NER fr\nNamed entity recognition."),
        "tagger-es": card("language: es", "# Tagger\nA named entity tagger for Spanish."),  # task unstated, named
        "chat-es": card("language: es", "# Chat\nA Spanish chat model for customer support."),  # task unstated
        "microsoft/tiny-lm": card("pipeline_tag: text-generation", "# Tiny LM\nA small language model."),
    }
    lk = Lake.open(tmp_path / "lake")
    with lk.catalog() as cat:
        for i, (name, text) in enumerate(cards.items()):
            (tmp_path / f"{i}.md").write_text(text)
            assert not ingest(cat, [tmp_path / f"{i}.md"], name=name).errors
    assert set(names(search(lk, "named entity tagger for a European language"))) == {"ner-fr", "tagger-es"}
    hit = search(lk, "Microsoft's small language models").hits[0]
    assert hit.name == "microsoft/tiny-lm" and "made by Microsoft" in hit.reasons()
    from modellake.tools.search.query import content_terms
    assert "s" not in content_terms("Microsoft's small models")  # the possessive is not a word to match


def test_a_cards_own_word_on_its_maker_beats_its_links():
    from modellake.tools.search.families import makers

    links = " ".join(f"[g{i}](https://huggingface.co/google/gemma-{i}b)" for i in range(3))
    assert "google/" in makers(f"# X\nCompared with {links}.")  # nothing else says who made it
    assert makers(f"# X\n- **Developed by:** Unbabel and partners\n\nCompared with {links}.") == []
    assert makers(f"# X\nCompared with {links}.", names=["amazon/chronos-t5-small"]) == []
    # "developed by a man named ..." is no statement of a maker: the links still count
    assert "google/" in makers(f"# X\nThis was developed by a man named Teknium. {links}")
    q = parse_query("german NER, not a huge multilingual thing").constraints
    assert [c.op for c in q if c.field == "language"] == ["in", "monolingual"]


def test_scores_on_one_dataset_under_two_task_names_meet(tmp_path):
    # "amazon polarity": one card reports it as amazon_polarity (a share), another as
    # mteb/amazon_polarity (a percentage); compared, both count, on one scale, each under its name
    from modellake.tools.query import query_models
    from modellake.tools.query.scores import is_same_data
    from modellake.tools.toolspec import ToolContext

    lk = small_lake(tmp_path, {n: card("license: mit", f"# {n}\nA sentiment model.") for n in ("distil", "e5")})
    with lk.catalog() as cat:
        for name, task, acc in (("distil", "amazon_polarity", 0.9411), ("e5", "mteb/amazon_polarity", 91.266)):
            cat.runs.add(BenchmarkRun(model=name, task=task, metrics={"accuracy": acc, "f1": acc},
                                      trust="reported", created_at=NOW.isoformat()), cat.get_model(name).id)
    with ToolContext(lk) as ctx:
        q = query_models(ctx, names=["distil", "e5"], show=["score:amazon polarity"])
        one = query_models(ctx, names=["e5"], show=["score:amazon polarity"])
    shown = {r.name: r.shown["score:amazon_polarity"] for r in q.rows}
    assert shown == {"distil": "0.941", "e5": "0.913 (scored as mteb/amazon_polarity)"}
    # one model asked about: the run's other numbers too, on the same scale
    assert one.rows[0].shown["score:amazon_polarity"] == "0.913 (scored as mteb/amazon_polarity) (f1 0.913)"
    assert is_same_data("Amazon-Polarity", "amazon_polarity") and not is_same_data("squadshifts/reddit", "squad")
