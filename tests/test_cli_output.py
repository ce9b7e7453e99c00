"""What people read from the CLI: sentences, never Python reprs (issue 18's CLI findings)."""
from __future__ import annotations

import re

from conftest import MODEL_INDEX_CARD

from modellake.ui.cli import main

REPR = re.compile(r"\{'|\['|\bNone\b|\bTrue\b")


def _lake_with_cards(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "base-card.md").write_text("---\nlicense: mit\n---\n# base-card\nA base model.\n")
    (models / "child-card.md").write_text("---\nlicense: mit\nbase_model: base-card\n---\n"
                                          "# child-card\nFine-tuned from base-card.\n")
    lake = str(tmp_path / "lake")
    assert main(["--lake", lake, "ingest", str(models)]) == 0
    return lake


def test_bench_failure_is_a_sentence_not_a_crash(tmp_path, capsys):
    lake = _lake_with_cards(tmp_path)
    capsys.readouterr()
    code = main(["--lake", lake, "bench", "base-card", "--task", "sts-smoke"])
    out, err = capsys.readouterr()
    assert code == 1 and "unexpected" not in out + err
    assert re.search(r"failed base-card on sts-smoke: .*card", out + err), out + err
    assert "0 runs" not in out  # no empty table above the reason


def test_lineage_audit_prints_sentences(tmp_path, capsys):
    """A fine-tune without a card is listed as undocumented, in words (it was a dict)."""
    import torch
    from conftest import tiny_bert

    base = tiny_bert(0)
    base.save_pretrained(tmp_path / "models" / "bert-base")
    torch.manual_seed(3)
    with torch.no_grad():
        for p in base.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    base.save_pretrained(tmp_path / "models" / "bert-tuned")
    lake = str(tmp_path / "lake")
    assert main(["--lake", lake, "ingest", str(tmp_path / "models")]) == 0
    capsys.readouterr()
    assert main(["--lake", lake, "lineage", "--audit"]) == 0
    out, _ = capsys.readouterr()
    assert "bert-tuned was fine-tuned from bert-base" in out and not REPR.search(out), out


CARD = MODEL_INDEX_CARD + "# {name}\nA sentiment classifier for movie reviews.\n"


def test_leaderboard_compare_and_search_print_words(tmp_path, capsys):
    import json

    models = tmp_path / "models"
    models.mkdir()
    for name, value in (("senti-a", 0.91), ("senti-b", 0.88)):
        (models / f"{name}.md").write_text(CARD.format(name=name, value=value))
    lake = str(tmp_path / "lake")
    assert main(["--lake", lake, "ingest", str(models)]) == 0
    capsys.readouterr()
    assert main(["--lake", lake, "runs", "--json"]) == 0
    task = json.loads(capsys.readouterr().out)["runs"][0]["task"]
    assert main(["--lake", lake, "leaderboard", "--task", task, "--trust", "reported"]) == 0
    board = capsys.readouterr().out
    assert "(reported)" in board and not REPR.search(board), board
    assert main(["--lake", lake, "compare", "senti-a", "senti-b", "--trust", "reported"]) == 0
    short = capsys.readouterr().out
    assert main(["--lake", lake, "compare", "senti-a", "senti-b", "--trust", "reported",
                 "--explain"]) == 0
    long = capsys.readouterr().out
    assert "--explain" in short and "bootstrap" not in short and "bootstrap" in long
    assert main(["--lake", lake, "search", "sentiment classifier under 50M params"]) == 0
    hits = capsys.readouterr().out
    assert "senti-a" in hits and not REPR.search(hits), hits
