"""The passages of a card that answer a question about it (``tools/cards/passages.py``), and
what the lake reads from a card-only model's declared base (its size)."""
from __future__ import annotations

import textwrap

from modellake.store.records import CardInfo, ModelRecord
from modellake.tools.cards.passages import best_passages
from modellake.tools.search.facets import facets

CARD = textwrap.dedent("""\
    ---
    license: agpl-3.0
    widget:
    - text: "Stocks rallied and the British pound gained."
    ---
    # Detector X

    Detector X finds objects in photos. It is a fine-tuned version of a pruned Detector L: the
    number of decoding layers was reduced from 32 to 4, so it runs about eight times faster.

    ## Usage

    ```python
    # Loading
    model = load("detector-x")  # the context length is set here
    ```

    ## Models

    <table>
      <tr><th>Model</th><th>Params</th><th>Context length</th></tr>
      <tr><td>X-small</td><td>8B</td><td><strong>8k</strong></td></tr>
      <tr><td>X-large</td><td>70B</td><td>8k</td></tr>
    </table>

    | Model | size | mAP |
    |---|---|---|
    | X-n | 3.2M | 37.3 |
    | X-x | 68.2M | 53.9 |

    ## License

    We offer two licensing options:
    - **AGPL-3.0 License**: open source, for students and enthusiasts.
    - **Enterprise License**: designed for commercial use, without the AGPL's requirements.

    ## Limitations

    This model only works for English photos. Long inputs are truncated to at most 512 tokens.
    """)


def texts(topic: str) -> list[str]:
    return [p.text for p in best_passages(CARD, topic)]


def test_the_line_that_answers_not_the_section_that_mentions_it():
    got = texts("how deep is the decoder?")
    assert any("reduced from 32 to 4" in t for t in got)
    assert not any("load(" in t for t in got)  # code is not prose: only asked about usage it counts


def test_a_list_comes_with_the_line_that_introduces_it():
    got = texts("is there any commercial option?")
    assert any("two licensing options" in t and "Enterprise License" in t for t in got)
    assert sum("Enterprise License" in t for t in got) == 1  # shown once, not again on its own


def test_table_rows_come_under_their_header_html_tables_too():
    got = texts("what context length does it support")
    row = next(t for t in got if "Context length" in t)
    assert row.splitlines()[0].startswith("| Model | Params | Context length")
    assert "| X-small | 8B | 8k |" in row and "<td>" not in row and "<strong>" not in row
    mAP = texts("mAP of the biggest variant")
    assert any("53.9" in t and t.startswith("| Model | size | mAP") for t in mAP)


def test_the_metadata_is_not_a_passage_and_unrelated_questions_find_nothing():
    assert not any("Stocks rallied" in t for t in texts("what text is it meant for"))
    assert texts("") == []
    assert texts("the the of") == []


def test_a_card_only_models_size_from_its_declared_base():
    card = CardInfo(text="# Gemma 3 QAT\n\nThe 1B instruction-tuned Gemma 3 in GGUF.",
                    base_model=["google/gemma-3-1b-it"])
    f = facets(ModelRecord(name="Gemma-3", format="card", source="001.md", card=card))
    assert (f["params"], f["params_src"]) == (1_000_000_000, "base model name")
    merged = CardInfo(text="# A merge", base_model=["a/llama-7b", "b/mistral-7b"], base_model_relation="merge")
    merge = ModelRecord(name="m", format="card", source="002.md", card=merged)
    assert facets(merge)["params"] is None  # a merge: not its parents'


def test_a_quoted_table_is_a_table_a_chat_renders():
    from modellake.tools.lake_tools import CardPassages

    text = CardPassages("m", 1, True, [{"section": "Models", "text": "| Model | mAP |\n| X-n | 37.3 |"}],
                        topic="map", topic_found=True).text()
    assert "**Models**\n| Model | mAP |\n|---|---|\n| X-n | 37.3 |" in text and "> |" not in text


SPEC_CARD = textwrap.dedent("""\
    # Mini 128K

    ## Model

    * Architecture: a dense decoder-only Transformer with 3.8B parameters.
    * Context length: 128K tokens
    * GPUs: 512 H100-80G
    * Training time: 10 days
    * Training data: 4.9T tokens

    ## Fine-tuning

    A basic example of multi-GPUs supervised fine-tuning with TRL is provided here.

    ## Datasets

    Our training data includes a wide variety of sources, totaling 4.9 trillion tokens.

    ## Hardware

    * NVIDIA V100 or earlier generation GPUs: use the eager attention implementation.

    ## Intended Uses

    Memory/compute constrained environments and latency bound scenarios.
    """)


def test_each_part_of_a_question_gets_its_passage_and_a_matched_list_comes_whole():
    got = [p.text for p in best_passages(SPEC_CARD, "how much compute went into training it, gpus, how long, "
                                                    "how many tokens")]
    spec = next(t for t in got if "GPUs: 512 H100-80G" in t)
    assert "Training time: 10 days" in spec and "Context length: 128K tokens" in spec  # the list, whole


def test_a_card_of_one_line_is_quoted_whole():
    card = "---\nlicense: mit\n---\n# enc-sentiment\nenc-base fine-tuned for product reviews (positive / negative).\n"
    assert [p.text for p in best_passages(card, "what labels does it output")] == [
        "enc-base fine-tuned for product reviews (positive / negative)."]


def test_a_base_named_only_in_the_cards_text():
    from modellake.tools.query.relations import stated_bases

    table = textwrap.dedent("""\
        | Model | Base model | Language |
        |:--|:--:|:--|
        | [org/reranker-base](https://huggingface.co/org/reranker-base) | [xlm-r](https://huggingface.co/xlm-r) | en |
        | [org/reranker-m3](https://huggingface.co/org/reranker-m3) | [m3](https://huggingface.co/org/m3) | multi |
        """)
    assert stated_bases(table, "org/reranker-m3") == [("org/m3", "finetune")]
    prose = "Model trained from [roberta-base](https://huggingface.co/roberta-base) on go_emotions."
    assert stated_bases(prose, "someone/roberta-base-go_emotions") == [("roberta-base", "finetune")]
    assert stated_bases("We compare it with [gemma-2b](https://huggingface.co/google/gemma-2b), based on "
                        "[gemma-2b](https://huggingface.co/google/gemma-2b).", "google/gemma-7b") == []  # a sibling
    assert stated_bases("Trained from scratch and/or fine-tuned.", "x/model") == []


def test_the_labels_a_classifier_outputs_come_from_its_configuration():
    from modellake.tools.lake_tools import _labels

    m = ModelRecord(name="clf", format="safetensors", source="x", config={"id2label": {"1": "pos", "0": "neg"}})
    assert _labels(m) == {"labels": ["neg", "pos"], "labels_from": "classification head (config id2label)"}
    generic = ModelRecord(name="g", format="card", source="x", config={"id2label": {"0": "LABEL_0"}})
    assert _labels(generic) == {}  # LABEL_0 names nothing


def test_a_cards_sentence_is_not_cut_at_the_dot_of_a_link():
    from modellake.tools.lake_tools import _card_quotes

    text = ("# Mini\n\nThe model belongs to the [Mini](https://huggingface.co/org/mini) family in two variants, "
            "4K and 128K, which is the context length (in tokens) that it can support.\n")
    said = _card_quotes(text)["said_config"]
    assert said.startswith("The model belongs to the Mini family") and "huggingface" not in said
