"""Every CLI command, in its human (non ``--json``) form, prints words, never Python reprs.

One run over a copy of the agent tests' lake (tests/agent_lake.py) plus two tiny BERTs with a
tokenizer (so that benchmarks, leaderboards, comparisons and fingerprints have rows), calling
every command and subcommand that ``modellake --help`` lists (the test fails when a command is
added without a case here), with their main options and a few failures.

A leak is ``{'``, ``['`` (a dict or list repr), ``<... object at 0x...>``, or ``None``, ``True``
or ``False`` used as a value: after ``=``, ``#``, ``:``, ``(``, ``[``, ``{`` or ``,``, or not
followed by a lowercase word (so the English "None of them" passes, ``x=None`` and
``None -> bert`` do not). Ignored, because they hold a model's own text or code: fenced code
blocks, backticked spans, double-quoted spans and Markdown quote lines (``>`` or rich's ``▌``).

Not run: ``ui`` serving (it blocks; its refusal to serve off loopback without a login is run)
and the real ``demo`` build (minutes, tests/test_demo.py): ``demo`` runs with its model builder
replaced by the two tiny BERTs and a GPT-2 without a tokenizer (so its failure lines print too).
"""
from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest

from modellake.ui.cli import app, main

LEAK = re.compile(r"\{'|\['|object at 0x[0-9a-fA-F]+"
                  r"|(?<![\w.-])(?:None|True|False)(?![\w-])(?! [a-z])"
                  r"|[=#:(\[{,]\s?(?:None|True|False)\b")
QUOTED = re.compile(r"```.*?```|`[^`\n]*`|\"[^\"\n]*\"|“[^”\n]*”", re.S)
QUOTE_LINE = re.compile(r"^\s*(?:>|▌)")


def leaks(text: str) -> list[str]:
    """The lines of ``text`` that show a Python repr, quoted spans ignored."""
    text = QUOTED.sub('""', text)
    return [line for line in text.splitlines() if not QUOTE_LINE.match(line) and LEAK.search(line)]


def test_the_check_itself():
    assert leaks("card of m (datasets=['a', 'b'])") and leaks("x={'a': 1}") and leaks("n=None")
    assert leaks("sources: None -> bert") and leaks("run #None (task)") and leaks("│ True │")
    assert leaks("<modellake.store.records.ModelRecord object at 0x7f00>")
    assert not leaks("None of the 3 models has a card. True to its card, it is small.")
    assert not leaks('-> show_model(name="m", about=["license"])')
    assert not leaks("its card: \"returns None when ['x'] is empty\" and `f(x=None)`")
    assert not leaks("```python\nmodel(x, y=None)\n```\n> quoted {'card': True}")


def command_paths() -> set[tuple[str, ...]]:
    """Every command and subcommand of the CLI, as the words that call it."""
    import typer

    out: set[tuple[str, ...]] = set()

    def walk(cmd, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        elif path:
            out.add(path)

    walk(typer.main.get_command(app), ())
    return out


def _tokenized_bert(models: Path, dst: Path) -> Path:
    """The test lake's tiny BERT without its card, with a WordPiece vocabulary."""
    shutil.copytree(models / "tiny-bert", dst)
    (dst / "README.md").unlink()
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz",
             *"the a is good bad movie great film not and of to it this was love hate . , ! ?".split()]
    words += [f"w{i}" for i in range(100 - len(words))]
    (dst / "vocab.txt").write_text("\n".join(words) + "\n")
    return dst


LMEVAL = {"results": {"arc_easy": {"acc,none": 0.51, "acc_stderr,none": 0.02, "alias": "arc_easy"},
                      "broken": {"alias": "broken"}},
          "config": {"model_args": "pretrained=someone/other-model"}}

QUESTIONS = [
    "what models are in the lake?", "how many GGUF models are there?", "what is the smallest model?",
    "show tiny-bert", "tell me about acme/mega-7b", "what does the card of tiny-bert say about limitations?",
    "read the card of evil-model", "search for a sentiment classifier",
    "which benchmark results do we have on hellaswag?", "which models are similar to tiny-bert?",
    "what is the lineage of tiny-llama-chat?", "audit the lineage", "diff tiny-bert and sentiment-bert",
    "which benchmark tasks can I run?", "leaderboard on sts-smoke", "compare tok-bert and tok-bert-2",
    "list the runs of tok-bert", "which model behaves like tok-bert?", "draft a card for tiny-bert",
    "check the card of sentiment-bert", "what is the license of tiny-llama?",
    "which models have no card?", "what is the parent of sentiment-bert?",
    "which model is best on sts-smoke?", "what datasets was tiny-llama-chat trained on?",
    "is tiny-q8 quantized?",
]


def test_no_python_reprs_in_human_output(agent_lake, agent_lake_template, tmp_path, capsys,
                                         monkeypatch):
    from modellake.tools.demo import build as demo_build

    monkeypatch.delenv("MODELLAKE_LLM", raising=False)
    monkeypatch.setenv("COLUMNS", "160")  # fewer wrapped lines, so quoted spans stay whole
    models = agent_lake_template.parent / "models"
    tok = _tokenized_bert(models, tmp_path / "tok-bert")
    tok2 = shutil.copytree(tok, tmp_path / "tok-bert-2")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x01\x00")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(LMEVAL))

    def fake_demo_models(target, steps=60, seed=0, progress=None):
        progress("tok-bert: cached")
        return [demo_build.DemoModel("demo-encoder", tok, "a tiny BERT with a vocabulary"),
                demo_build.DemoModel("demo-gpt2", models / "gpt2-mini", "no tokenizer")]

    monkeypatch.setattr(demo_build, "build_demo_models", fake_demo_models)
    out = tmp_path / "out"
    out.mkdir()
    found: list[str] = []
    ran: set[tuple[str, ...]] = set()
    paths = command_paths()

    def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        got = main(["--lake", str(agent_lake), *args])
        o, e = capsys.readouterr()
        assert got == code, (args, o, e)
        found.extend(f"modellake {' '.join(args)}: {line}" for line in leaks(o + e))
        ran.update(p for p in paths if tuple(args[:len(p)]) == p)
        return o + e

    # models in the lake
    run("ingest", str(tok), "--name", "tok-bert")
    run("ingest", str(tok2), "--name", "tok-bert-2")
    run("ingest", str(tok), "--name", "tok-bert")  # unchanged
    run("ingest", str(broken), code=1)
    run("list")
    run("list", "--all-versions")
    for name in ("tiny-bert", "acme/mega-7b", "tiny-q8", "sentiment-bert", "tiny-llama-chat",
                 "gpt2-mini", "evil-model", "tok-bert@1"):
        run("show", name)
    run("show", "no-such-model", code=1)
    # lineage and search
    run("lineage")
    run("lineage", "tiny-llama")
    run("lineage", "--audit")
    run("lineage", "--refresh", "--graph", str(out / "graph.png"))
    for a, b in (("tiny-bert", "sentiment-bert"), ("tiny-llama", "tiny-llama-chat"),
                 ("tiny-bert", "acme/mega-7b"), ("tok-bert", "tok-bert-2")):
        run("diff", a, b)
    run("search", "sentiment classifier for movie reviews")
    run("search", "small chat model", "--task", "text-generation", "--license", "apache-2.0",
        "--max-params", "1M", "--format", "safetensors", "--wait")
    run("search", "zzzz", "--license", "no-such-license")
    run("similar", "tiny-bert")
    run("similar", "acme/mega-7b")
    run("reindex")
    # benchmarks
    run("bench", "--list-tasks")
    run("bench", "tok-bert", "tok-bert-2", "-t", "sts-smoke", "-t", "sentiment-smoke", "--repeats", "2")
    run("bench", "tiny-bert", "-t", "sts-smoke", code=1)
    run("runs")
    run("runs", "-m", "tok-bert", "--trust", "measured")
    run("leaderboard", "-t", "sts-smoke", "--plot", str(out / "board.png"))
    run("leaderboard", "-t", "hellaswag", "--trust", "reported")
    run("leaderboard", "-t", "topic-smoke")  # nothing measured yet: a sentence
    run("compare", "tok-bert", "tok-bert-2")
    run("compare", "tok-bert", "tok-bert-2", "--explain", "--trust", "all")
    run("compare", "tiny-llama", "tiny-llama-chat", "--trust", "all")  # no shared task
    run("behaves-like", "tok-bert", "--run-missing", "-k", "3")
    run("behaves-like", "tok-bert")
    run("behaves-like", "tiny-llama", code=1)
    run("import-results", str(results), "--model", "tok-bert")
    run("import-results", str(results), "--model", "tok-bert")  # duplicates
    # cards
    for name in ("tiny-bert", "acme/mega-7b", "sentiment-bert", "tiny-llama-chat", "tiny-q8", "tok-bert"):
        run("card", name)
        run("card", name, "--check")
    run("card", "tok-bert", "--out", str(out / "README.md"), "--repo-id", "me/tok-bert")
    # the agent (builtin backend)
    for q in QUESTIONS:
        run("ask", q)
    pending = run("ask", "rename tok-bert-2 to tok-bert-two")
    thread = re.search(r"--thread (\S+) yes", pending)
    assert thread, pending
    run("ask", "--thread", thread.group(1), "yes")
    run("ask", "--yes", "remove tok-bert-two")
    run("chat", stdin="which models have no card?\n/help\n/new\nwhat is the smallest model?\n/exit\n")
    # renames and removals, the web app's refusal, the demo (builder stubbed)
    run("rename", "gpt2-mini", "gpt2-small")
    run("rm", "gpt2-small")
    run("rm", "tok-bert@1")
    run("ui", "--host", "0.0.0.0", code=1)
    run("demo", "--models-dir", str(tmp_path / "demo"), "--no-bench")
    run("demo", "--models-dir", str(tmp_path / "demo"), code=1)  # gpt2 has no tokenizer

    assert paths - ran == set(), f"commands without a case here: {sorted(paths - ran)}"
    assert not found, "Python reprs in human output:\n" + "\n".join(found)


@pytest.mark.parametrize("args", [["--help"], ["ask", "--help"]])
def test_help_has_no_reprs(args, capsys):
    assert main(args) == 0
    assert not leaks(capsys.readouterr().out)
