"""The Model and Search tabs (ui/model_page.py): their handlers called directly."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

gr = pytest.importorskip("gradio")

HOSTILE = "<img src=x onerror=alert(1)>**loud**|x"


@pytest.fixture(scope="module")
def pages(agent_lake_template, tmp_path_factory):
    """The two tabs built in a Blocks of their own over the app test lake, plus a hostile name
    and reported results for ``tiny-bert-ft``."""
    from conftest import MODEL_INDEX_CARD
    from test_app import app_lake

    from modellake.store.lake import Lake
    from modellake.tools.bench import import_results
    from modellake.tools.ingest import ingest
    from modellake.tools.toolspec import Policy
    from modellake.ui.handlers import Handlers
    from modellake.ui.model_page import model_tab, search_tab

    root = tmp_path_factory.mktemp("pages")
    lake = Lake.open(app_lake(agent_lake_template, root))
    (root / "hostile.md").write_text("---\nlicense: mit\n---\n# hostile\nA card-only model.\n")
    (root / "ft.md").write_text(MODEL_INDEX_CARD.format(name="tiny-bert-ft", value=0.83))
    with lake.catalog() as cat:
        assert not ingest(cat, [root / "hostile.md"], name=HOSTILE).errors
        assert import_results(cat, root / "ft.md", "tiny-bert-ft").runs
    staging = lake.root / "staging"
    h = Handlers(lake, None, Policy.web([staging], logged_in=False), staging, 10_000)
    with gr.Blocks() as app:
        with gr.Tabs() as tabs:
            page = model_tab(h, h.model_names())
            search_tab(h, page, tabs)
        page.wire(app, tabs)
    return SimpleNamespace(h=h, page=page, tabs=tabs)


def view(pages, name):
    from modellake.ui.model_page import model_view

    return model_view(pages.h, name)


def test_fine_tune_page_names_parent_results_files_and_audit(pages):
    from modellake.ui.handlers import lineage_api

    v = view(pages, "tiny-bert-ft")
    assert "tiny-bert-ft" in v.facts and "parameters" in v.facts
    assert v.card == "This model has no card."
    if lineage_api() is not None:
        assert re.search(r"fine-tuned from \[tiny-bert\]\(\?model=tiny-bert\) \(confidence [01]\.\d\d\)",
                         v.lineage), v.lineage
        assert v.picture and v.picture.endswith(".png")
    assert any(r[1] == "accuracy" and r[2] == "0.83" and r[3] == "reported" for r in v.results), v.results
    files = {r[0]: r for r in v.files}
    assert files["model.safetensors"][2] == "safetensors" and files["model.safetensors"][1].endswith(" KiB")
    assert "config.json" in files
    assert " KB" not in v.facts and "KiB" in v.facts  # 1024-based sizes, labelled as such
    assert v.audit.startswith("**Card audit**") and "has no card" in v.audit


def test_parent_page_links_children_and_renders_its_card(pages):
    from modellake.ui.handlers import lineage_api

    v = view(pages, "tiny-bert")
    assert v.card.startswith("# tiny-bert") and "license: mit" not in v.card and "---" not in v.card
    if lineage_api() is not None:
        assert "[tiny-bert-ft](?model=tiny-bert-ft)" in v.lineage, v.lineage
    assert v.files and all(r[1] != "-" for r in v.files)


def test_card_body_drops_front_matter_and_sizes_are_binary():
    from modellake.ui.model_page import card_body, file_format, size_text

    assert card_body("---\nlicense: mit\ntags: [a]\n---\n# Title\nBody ---\n") == "# Title\nBody ---"
    assert card_body("# No front matter") == "# No front matter"
    assert [size_text(n) for n in (512, 1536, 5 * 2**20, 3 * 2**30)] == [
        "512 bytes", "1.5 KiB", "5.0 MiB", "3.0 GiB"]
    assert [file_format(p) for p in ("a.gguf", "pytorch_model.bin", "adapter_model.safetensors")] == [
        "gguf", "pytorch", "adapter"]


def test_missing_model_is_one_line_error(pages):
    v = view(pages, "no-such-model")
    assert v.facts.startswith("⚠️") and "\n" not in v.facts and "no-such-model" in v.facts
    assert (v.card, v.results, v.files) == ("", [], [])
    assert view(pages, "").facts == "Pick a model."


def test_names_cannot_inject_markup(pages):
    from modellake.ui.model_page import link

    md = link(HOSTILE)
    assert "<img" not in md and "**loud**" not in md and "&lt;img" in md
    assert md.endswith("(?model=%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%2A%2Aloud%2A%2A%7Cx)")
    v = view(pages, HOSTILE)
    assert not v.facts.startswith("⚠️"), v.facts
    assert "<img" not in v.facts and "**loud**" not in v.facts
    assert v.card == "# hostile\nA card-only model."


def test_deep_link_opens_the_model_tab(pages):
    page = pages.page
    pick, tabs = page.on_load(SimpleNamespace(query_params={"model": "tiny-bert-ft"}))
    assert pick["value"] == "tiny-bert-ft" and "tiny-bert-ft" in pick["choices"]
    assert isinstance(tabs, gr.Tabs) and tabs.selected == "model"
    pick, tabs = page.on_load(SimpleNamespace(query_params={}))
    assert "value" not in pick and "tiny-bert" in pick["choices"]
    assert tabs == gr.skip()
    facts = page.show("tiny-bert-ft")[0]
    assert "tiny-bert-ft" in facts


def test_search_filters_and_opens_a_hit(pages):
    from modellake.ui.model_page import hit_name, search_rows

    rows, note = search_rows(pages.h, "llama")
    assert rows[0][0] == "tiny-llama" and "tiny-llama-chat" in [r[0] for r in rows], note
    rows, note = search_rows(pages.h, "llama", max_params=25_000)  # tiny-llama-chat has 26.8K
    names = [r[0] for r in rows]
    assert names[0] == "tiny-llama" and "tiny-llama-chat" not in names, note
    assert all(len(r) == 6 for r in rows)
    rows, _ = search_rows(pages.h, "", fmt="gguf")
    assert [r[0] for r in rows] == ["tiny-q8"] and rows[0][5] == "gguf"
    assert search_rows(pages.h, "  ") == ([], "Type what you need, or set a filter.")
    evt = gr.SelectData(None, {"index": [0, 1], "value": "x", "row_value": rows[0]})
    pick, tabs = pages.page.open(hit_name(evt))
    assert pick["value"] == "tiny-q8" and tabs.selected == "model"


def test_max_parameters_read_as_people_write_them():
    from modellake.ui.model_page import parse_count

    assert parse_count("50M") == 5e7 and parse_count("1.5B") == 1.5e9 and parse_count("30,000") == 3e4
    assert parse_count("") is None and parse_count(None) is None
    with pytest.raises(ValueError):
        parse_count("lots")
