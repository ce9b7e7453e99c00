"""The numbers in a card's tables: the model's own row or column, its strongest and weakest
benchmark, one benchmark's figure and its gap to the base, variants, lm-evaluation-harness
output pasted in a code block."""
from __future__ import annotations

from modellake.tools.cards.figures import findings, series
from modellake.tools.cards.reported import tables

ROWS = """---
license: apache-2.0
---
# Yarn-Mistral-7b-128k

## Benchmarks

Short context benchmarks:

| Model | Context Window | ARC-c | Hellaswag | MMLU | Truthful QA |
|-------|---------------:|------:|----------:|-----:|------------:|
| Mistral-7B-v0.1 | 8k | 59.98 | 83.31 | 64.16 | 42.15 |
| Yarn-Mistral-7b-64k | 64k | 59.38 | 81.21 | 61.32 | 42.50 |
| **Yarn-Mistral-7b-128k** | 128k | 58.87 | 80.58 | 60.64 | 42.46 |

## Training hyperparameters

| Hyperparameter | Value |
|---|---|
| learning rate | 2e-5 |
| epochs | 3 |
"""

COLUMNS = """# MedLM-8B

## Results

|                 | GPT-4 | [MedLM-8B](https://x.org/m) | MedLM-70B |
|-----------------|-------|----------|-----------|
| Clinical KG     | 86.04 | 76.101   | 92.93     |
| Medical Genetics| 91    | 86.1     | 93.197    |
| MedMCQA         | 69.52 | 56.913   | 74.014    |
| Avg             | 82.85 | 72.5     | 86.1      |
"""

LM_EVAL = """# Hermes

## Benchmarks

```
|    Task     |Version| Metric |Value |   |Stderr|
|-------------|------:|--------|-----:|---|-----:|
|arc_easy     |      0|acc     |0.8346|±  |0.0076|
|             |       |acc_norm|0.8165|±  |0.0079|
|truthfulqa_mc|      1|mc2     |0.5304|±  |0.0153|
```

Some prose after the block that mentions nothing numeric.
"""

VARIANTS = """# YOLOv9

| Model | size (pixels) | mAP val 50-95 | params (M) |
| ----- | ------------- | ------------- | ---------- |
| [YOLOv9n](https://x.org/n.pt) | 640 | 37.3 | 3.2 |
| [YOLOv9s](https://x.org/s.pt) | 640 | 44.9 | 11.2 |
"""


def test_tables_read_rows_cells_and_clean_markup() -> None:
    t = tables(ROWS)
    assert t[0][0][:3] == ["Model", "Context Window", "ARC-c"]
    assert t[0][3][0] == "Yarn-Mistral-7b-128k"  # bold stripped
    assert [r[0] for r in tables(COLUMNS)[0][1:]] == ["Clinical KG", "Medical Genetics", "MedMCQA", "Avg"]
    assert tables(COLUMNS)[0][0][2] == "MedLM-8B"  # a link reads as its text


def test_own_row_found_by_name_quantized_copy_included() -> None:
    own = series(ROWS, "TheBloke/Yarn-Mistral-7B-128k-AWQ")
    assert len(own) == 1 and own[0].label == "Yarn-Mistral-7b-128k"
    assert ("MMLU", "60.64") in own[0].cells
    assert all(b != "Context Window" for b, _ in own[0].cells)  # not a score
    # the hyperparameter table (a "Value" column) holds settings, not results
    assert all(b not in ("learning rate", "epochs") for s in series(ROWS, "x/Yarn-Mistral-7b-128k") for b, _ in s.cells)


def test_gap_to_the_plain_model_the_row_extends() -> None:
    got = findings(ROWS, "TheBloke/Yarn-Mistral-7B-128k-AWQ", "did the 128k context cost anything on MMLU?")
    assert got == ["In the table of its card, Yarn-Mistral-7b-128k has MMLU 60.64 against 64.16 "
                   "for Mistral-7B-v0.1: 3.52 lower."]


def test_gap_to_a_row_the_question_names() -> None:
    got = findings(ROWS, "TheBloke/Yarn-Mistral-7B-128k-AWQ", "hellaswag vs yarn mistral 7b 64k?")
    assert "80.58 against 81.21 for Yarn-Mistral-7b-64k: 0.63 lower" in got[0]


def test_no_gap_asked_no_comparison() -> None:
    got = findings(ROWS, "TheBloke/Yarn-Mistral-7B-128k-AWQ", "what's its truthful qa score")
    assert got == ["In the table of its card, Yarn-Mistral-7b-128k has Truthful QA 42.46."]


def test_own_column_strongest_and_weakest_average_left_out() -> None:
    got = findings(COLUMNS, "acme/MedLM-8B", "strongest and weakest benchmark in its card?")
    assert got == ["In the table of its card, MedLM-8B is strongest on Medical Genetics (86.1) "
                   "and weakest on MedMCQA (56.913)."]
    assert series(COLUMNS, "acme/MedLM-70B")[0].label == "MedLM-70B"  # not the 8B's column


def test_lm_eval_output_in_a_code_block() -> None:
    got = findings(LM_EVAL, "teknium/Hermes", "and on truthfulqa?")
    assert got == ["In the table of its card, Hermes has truthfulqa_mc mc2 0.5304."]
    own = series(LM_EVAL, "teknium/Hermes")[0]
    assert ("arc_easy acc_norm", "0.8165") in own.cells  # a row without a task continues the one above


def test_variants_of_a_family_card() -> None:
    got = findings(VARIANTS, "Ultralytics/YOLOv9", "what mAP does it get")
    assert got == ["In the table of its card, mAP val 50-95 is 37.3 for YOLOv9n, 44.9 for YOLOv9s."]


def test_lower_is_better_column_set() -> None:
    card = "# M\n\n| Model | 8k PPL | 32k PPL |\n|---|---|---|\n| M-7b | 3.08 | 2.47 |\n"
    assert findings(card, "org/M-7b", "where is it best?") == [
        "In the table of its card, M-7b is strongest on 32k PPL (2.47) and weakest on 8k PPL (3.08)."]


def test_a_base_row_is_not_the_model_itself() -> None:
    card = "# Belle\n\n| Model | aishell | wenet |\n|---|---|---|\n| whisper-large-v3 | 8.0 | 9.1 |\n"
    assert series(card, "BELLE-2/Belle-whisper-large-v3-zh", "openai/whisper-large-v3") == []


def test_two_columns_of_one_name_are_not_guessed() -> None:
    card = "# X\n\n| Bench | Hermes-2 7B | Hermes-2 7B |\n|---|---|---|\n| GPT4All | 72.68 | 73.12 |\n"
    assert series(card, "teknium/Hermes-2.5-7B") == []


def test_nothing_asked_of_the_numbers_nothing_said() -> None:
    assert findings(ROWS, "TheBloke/Yarn-Mistral-7B-128k-AWQ", "what license is it under?") == []
    assert findings("# no tables here\n\nJust text.", "a/b", "best benchmark?") == []


def test_cost_asked_without_a_benchmark_every_column_against_the_plain_model() -> None:
    got = findings(ROWS, "TheBloke/Yarn-Mistral-7B-128k-AWQ", "did the long context cost accuracy? numbers pls")
    assert got == ["In the table of its card, Yarn-Mistral-7b-128k against Mistral-7B-v0.1: ARC-c 58.87 "
                   "against 59.98 (-1.11); Hellaswag 80.58 against 83.31 (-2.73); MMLU 60.64 against 64.16 (-3.52); "
                   "Truthful QA 42.46 against 42.15 (+0.31)."]


def test_a_figure_stated_in_a_sentence() -> None:
    card = "# DETR\n\n## Evaluation\n\nThis model achieves an AP of 42.0 on COCO 2017 validation.\n"
    assert findings(card, "facebook/detr", "what does it get on coco?") == [
        "Its card says: \u201cThis model achieves an AP of 42.0 on COCO 2017 validation.\u201d"]


def test_a_row_of_a_relative_with_a_shorter_name_is_not_the_model() -> None:
    card = ("# Distill\n\n| Model | MMLU | GSM8K |\n|---|---|---|\n| DeepSeek R1 | 90.8 | 97.3 |\n"
            "| DeepSeek-R1-Distill-Qwen-1.5B | 52.1 | 83.9 |\n")
    own = series(card, "unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF")
    assert [s.label for s in own] == ["DeepSeek-R1-Distill-Qwen-1.5B"]
    assert series(card.replace("| DeepSeek-R1-Distill-Qwen-1.5B | 52.1 | 83.9 |\n", ""),
                  "unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF") == []


def test_the_cards_own_metric_columns_are_set_beside_nothing() -> None:
    card = "# NER\n\n## Eval\n\n| | accuracy | f1 |\n|---|---|---|\n| conll2003 | 0.98 | 0.91 |\n"
    assert findings(card, "dslim/ner", "did it cost accuracy? numbers pls") == []


def test_a_size_from_the_models_own_row_of_a_table():
    from modellake.tools.cards.figures import table_size

    card = ("# Whisper\n\n| Size | Parameters | Multilingual |\n|---|---|---|\n| large | 1550 M | ✓ |\n"
            "| large-v3 | 1550 M | ✓ |\n| large-v3-turbo | 809 M | ✓ |\n")
    assert table_size(card, "openai/whisper-large-v3-turbo") == (809e6, "809 M")  # the longest row its name ends with
    assert table_size(card, "openai/whisper-large-v3") == (1550e6, "1550 M")
    assert table_size(card, "openai/whisper-medium") is None  # no row of its own
    assert table_size("| Size | Speed |\n|---|---|\n| large-v3 | 2x |\n", "openai/whisper-large-v3") is None


def test_a_benchmark_with_its_shots_and_a_greek_letter_in_a_row_label():
    card = ("| Category | Benchmark | Phi-3-Mini-128K-Ins | Gemma-7B |\n|---|---|---|---|\n"
            "| Reasoning | ARC Challenge 10-shot | 85.5 | 78.3 |\n| Math | GSM8K CoTT 8-shot | 85.3 | 59.8 |\n\n"
            "| Model | Size | MT-Bench (score) |\n|---|---|---|\n| Zephyr-7b-α | 7B | 6.88 |\n"
            "| **Zephyr-7b-β** | **7B** | **7.34** |\n")
    assert findings(card, "microsoft/Phi-3-mini-128k-instruct", "its gsm8k?") == [
        "In the table of its card, Phi-3-Mini-128K-Ins has GSM8K CoTT 8-shot 85.3."]
    said = findings(card, "HuggingFaceH4/zephyr-7b-beta", "mt-bench score?")
    assert len(said) == 1 and "7.34" in said[0] and "6.88" not in said[0]
