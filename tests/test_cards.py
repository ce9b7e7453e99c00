"""Card parsing copes with what real cards contain."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from modellake.tools.formats.card_fmt import parse_card, read_card
from modellake.tools.ingest import ingest

CARDS_DIR = os.environ.get("MODELLAKE_CARDS_DIR")


def test_crlf_and_bom():
    c = parse_card("\ufeff---\r\nlicense: mit\r\npipeline_tag: fill-mask\r\n---\r\n# Title\r\nBody\r\n")
    assert c.license == "mit" and c.pipeline_tag == "fill-mask"
    assert c.text.startswith("# Title") and "\r" not in c.text


@pytest.mark.parametrize("text", ["---\n---\n# Empty yaml\n", "# No front matter at all\n", ""])
def test_empty_or_missing_metadata(text):
    c = parse_card(text)
    assert c.metadata == {} and c.metadata_error is None and c.base_model == []


def test_malformed_yaml_is_reported_not_raised():
    c = parse_card("---\nlicense: [mit\ntags: {\n---\n# Body survives\n")
    assert c.metadata == {}
    assert c.metadata_error and "malformed YAML" in c.metadata_error
    assert c.text == "# Body survives"


def test_yaml_that_is_not_a_mapping():
    c = parse_card("---\n- just\n- a list\n---\ntext\n")
    assert c.metadata == {} and "not a mapping" in c.metadata_error


def test_lists_versus_strings():
    c = parse_card("---\nbase_model: []\nlanguage: en\ndatasets:\n- a\n- b\ntags: single\n"
                   "license:\n- mit\n---\n")
    assert c.base_model == [] and c.language == ["en"] and c.datasets == ["a", "b"]
    assert c.tags == ["single"] and c.license == "mit"
    c = parse_card("---\nbase_model:\n- org/a\n- org/b\nbase_model_relation: merge\n---\n")
    assert c.base_model == ["org/a", "org/b"] and c.base_model_relation == "merge"


def test_model_index_results_flattened():
    c = parse_card("""---
model-index:
- name: m
  results:
  - task: {type: token-classification}
    dataset: {name: CoNLL-2003, type: conll2003, split: test}
    metrics:
    - {type: f1, value: 0.91}
    - {type: accuracy, value: 0.98, verified: true}
  - task: broken
    metrics: not-a-list
---
""")
    assert [(r["dataset"], r["metric"], r["value"]) for r in c.results] == [
        ("CoNLL-2003", "f1", 0.91), ("CoNLL-2003", "accuracy", 0.98)]
    assert c.results[1]["verified"] is True


def test_the_size_and_depth_a_card_states_for_its_own_model():
    from modellake.tools.cards.claims import stated_layers, stated_parameters

    spec = parse_card("# Qwen2.5 14B AWQ\nWe release models from 0.5 to 72 billion parameters.\n\n"
                      "- Number of Parameters: 14.7B\n- Number of Paramaters (Non-Embedding): 13.1B\n"
                      "- Number of Layers: 48\n")
    assert stated_parameters(spec, "Qwen/Qwen2.5-14B-Instruct-AWQ").value == 14.7e9  # the spec line
    assert stated_layers(spec) == 48
    family = parse_card("# Llama 3\nComes in 8B and 70B sizes. The 70B parameters model is larger.")
    assert stated_parameters(family, "meta-llama/Meta-Llama-3-8B") is None  # 70B is the other size
    often = parse_card("A 3.8B parameters model. It beats 13 billion parameters models; "
                       "3.8B parameters fit on a phone.")
    assert stated_parameters(often, "phi-mini").value == 3.8e9  # the size it states most often
    assert stated_layers(parse_card("2 layers here, 4 layers there")) is None  # no spec line


def test_oversized_card_is_refused(tmp_path):
    from modellake.store.errors import InvalidModelFileError

    p = tmp_path / "big.md"
    p.write_bytes(b"---\nlicense: mit\n---\n" + b"x" * (6 * 1024 * 1024))
    with pytest.raises(InvalidModelFileError, match="larger than"):
        read_card(p)


@pytest.mark.skipif(not CARDS_DIR, reason="set MODELLAKE_CARDS_DIR to the shared real cards "
                    "(make test does when ../shared/cards exists)")
def test_all_real_cards_ingest_as_card_only_models(catalog):
    cards = Path(CARDS_DIR)
    manifest = {json.loads(line)["id"]: json.loads(line)
                for line in (cards / "manifest.jsonl").read_text().splitlines() if line.strip()}
    report = ingest(catalog, [cards])
    assert not report.errors, report.errors[:3]
    assert len(report.models) == len(manifest) == 194
    by_file = {Path(m.source).stem: m for m in catalog.list_models()}
    # card-only models are named from their cards (the repo id a card declares, its
    # model-index or YAML name, its title), after the file ("001") only when the card names nothing
    named = [k for k, m in by_file.items() if m.name != k]
    agree = [k for k in named if (manifest[k].get("model_name") or "").rsplit("/", 1)[-1].lower()
             in by_file[k].name.lower()]
    assert len(named) >= 140 and len(agree) >= 0.7 * len(named), (len(named), len(agree))
    words = lambda t: set(re.findall(r"[a-z][a-z0-9]{2,}", t.lower())) - {"model", "base"}  # noqa: E731
    related = [k for k in named if any(a in b or b in a for a in words(manifest[k].get("model_name") or "")
                                       for b in words(by_file[k].name))]  # "SeamlessM4T" ~ "seamless-m4t"
    assert len(related) >= 0.95 * len(named), sorted(set(named) - set(related))
    assert by_file["132"].name == "BGE-M3"  # "# BGE-M3 ([paper](...), [code](...))"
    assert by_file["156"].name == "bge-m3-zeroshot-v2.0"  # its title, not the deberta id its table links
    for key, row in manifest.items():
        m = catalog.get_model(by_file[key].name)
        assert m.format == "card"
        assert m.card.metadata_error is None
        declared = row.get("base_model")
        declared = [] if declared in (None, "", []) else (
            declared if isinstance(declared, list) else [declared])
        assert m.card.base_model == [str(d) for d in declared], key
        lic = row.get("license")
        if isinstance(lic, list):
            lic = ", ".join(lic)
        if lic:
            assert (m.card.license or "").lower() == str(lic).lower(), key
