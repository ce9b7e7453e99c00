"""The catalog on PostgreSQL, end to end: the same lake gives the same answers on the
embedded SQLite file and on a PostgreSQL database (tests/pg_server.py starts a throwaway
server), several processes write one PostgreSQL catalog at once without losing or
doubling a model version, and a catalog that cannot be reached is one line naming it.

The store's unit tests (tests/test_catalog.py, test_ingest.py, test_hostile_files.py,
test_bench.py, test_cards.py) run on both databases through the ``catalog`` fixture."""
from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

from modellake.ui.cli import main


def cli(capsys, *args: str) -> dict | list:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def ingest_all(capsys, where: list[str], paths: dict[str, Path]) -> None:
    for name, path in paths.items():
        cli(capsys, *where, "ingest", str(path), "--name", name, "--json")


AGENT_QUERIES = ("llama chat model", "sentiment classifier", "bert fill-mask", "quantized gguf")


def answers(capsys, where: list[str], queries=AGENT_QUERIES, board=("imdb", "reported")) -> dict[str, object]:
    """What people read from a lake: the list, the version graph, search top-10s, a board."""
    listed = cli(capsys, *where, "list", "--json")["models"]
    graph = cli(capsys, *where, "lineage", "--json")
    out: dict[str, object] = {
        "list": sorted((m["name"], m["version"], m["format"], m.get("num_parameters")) for m in listed),
        "edges": sorted((e["parent"], e["child"], e["relation"]) for e in graph["edges"]),
        "runs": sorted((r["model"], r["task"], r["trust"]) for r in cli(capsys, *where, "runs", "--json")["runs"]),
        "board": [(e["model"], e["value"]) for e in cli(capsys, *where, "leaderboard", "--task", board[0],
                                                         "--trust", board[1], "--json")["entries"]],
    }
    for q in queries:
        hits = cli(capsys, *where, "search", q, "--wait", "--json")["hits"]
        out[f"search {q}"] = [h["name"] for h in hits[:10]]
    return out


def test_the_same_lake_answers_the_same_on_sqlite_and_postgresql(capsys, tmp_path, pg_url, agent_model_paths):
    embedded = ["--lake", str(tmp_path / "embedded")]
    team = ["--lake", str(tmp_path / "team"), "--catalog", pg_url]
    ingest_all(capsys, embedded, agent_model_paths)
    ingest_all(capsys, team, agent_model_paths)
    assert not (tmp_path / "team" / "catalog.db").exists()  # the catalog is the server's
    a, b = answers(capsys, embedded), answers(capsys, team)
    assert len(a["list"]) == len(agent_model_paths) and a["edges"] and a["runs"]
    for key in a:
        assert a[key] == b[key], (key, a[key], b[key])


def test_the_environment_names_the_catalog_too(capsys, tmp_path, pg_url, agent_model_paths, monkeypatch):
    monkeypatch.setenv("MODELLAKE_CATALOG", pg_url)
    cli(capsys, "--lake", str(tmp_path / "l"), "ingest", str(agent_model_paths["tiny-bert"]), "--json")
    monkeypatch.delenv("MODELLAKE_CATALOG")
    assert cli(capsys, "--lake", str(tmp_path / "l"), "list", "--json")["models"] == []  # own SQLite
    names = [m["name"] for m in cli(capsys, "--lake", str(tmp_path / "l"), "--catalog", pg_url,
                                     "list", "--json")["models"]]
    assert names == ["tiny-bert"]


def _ingest_many(url: str, root: str, paths: list[tuple[str, str]], out: mp.Queue) -> None:
    from modellake.store.lake import Lake
    from modellake.tools.ingest import ingest

    errors = []
    with Lake.open(root, catalog=url).catalog() as cat:
        for name, path in paths:
            errors += [str(e) for e in ingest(cat, [Path(path)], name=name, index=False).errors]
    out.put(errors)


def _search_while(url: str, root: str, rounds: int, out: mp.Queue) -> None:
    from modellake.store.lake import Lake

    seen = 0
    with Lake.open(root, catalog=url).catalog() as cat:
        for _ in range(rounds):
            seen = max(seen, len(cat.list_models()))
            cat.text.lexical('"bert" OR "llama"', 10)
    out.put(seen)


def test_many_writers_one_postgresql_catalog(tmp_path, pg_url, agent_model_paths):
    """Three processes ingest at once, two of them the same names (each ingest of a changed
    name is a new version): every version is there once, numbered 1..n with no gap, while a
    fourth process reads."""
    import shutil

    names = ["tiny-bert", "tiny-llama", "gpt2-mini", "sentiment-bert"]
    copies = []
    for i in range(3):  # three writers; each gets its own copy of the files (distinct sources)
        d = tmp_path / f"w{i}"
        copies.append([(n, str(shutil.copytree(agent_model_paths[n], d / n))) for n in names])
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    procs = [ctx.Process(target=_ingest_many, args=(pg_url, str(tmp_path / f"lake{i}"), c, q))
             for i, c in enumerate(copies)]
    procs.append(ctx.Process(target=_search_while, args=(pg_url, str(tmp_path / "reader"), 30, q)))
    for p in procs:
        p.start()
    results = [q.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert [r for r in results if isinstance(r, list) and r] == []  # no writer saw an error

    from modellake.store.catalog import Catalog

    with Catalog(pg_url, root=tmp_path / "check") as cat:
        for n in names:
            versions = [m.version for m in cat.versions(n)]
            assert len(versions) == len(set(versions)), (n, versions)  # none doubled
            # identical files from another folder may be recognised as the same model; every
            # version that exists is numbered without a gap and exactly one is current
            assert versions == list(range(1, len(versions) + 1)), (n, versions)
        assert sorted(cat.model_names()) == sorted(names)


def test_an_unreachable_catalog_is_one_line_naming_it(capsys, tmp_path):
    code = main(["--lake", str(tmp_path / "l"), "--catalog",
                 "postgresql://someone:secret@127.0.0.1:1/lake", "list"])
    _, err = capsys.readouterr()
    assert code != 0 and len(err.strip().splitlines()) == 1, err
    assert "127.0.0.1:1/lake" in err and "secret" not in err and "Traceback" not in err
    code = main(["--lake", str(tmp_path / "l"), "--catalog", "mysql://x@y/z", "list"])
    _, err = capsys.readouterr()
    assert code != 0 and "postgresql://" in err and len(err.strip().splitlines()) == 1, err


def test_conversations_live_in_the_shared_catalog(tmp_path, pg_url, agent_model_paths):
    """Two machines serving one lake (same PostgreSQL catalog, different lake folders)
    continue the same conversation."""
    from modellake.agent import Agent
    from modellake.store.lake import Lake
    from modellake.tools.ingest import ingest

    first = Lake.open(tmp_path / "host-a", catalog=pg_url)
    with first.catalog() as cat:
        assert not ingest(cat, [agent_model_paths["tiny-bert"]], name="tiny-bert", index=False).errors
    a = Agent(first, llm="builtin")
    try:
        said = a.ask("How many parameters does tiny-bert have?", "thread-1")
        assert "23.5K" in said.answer or "23,520" in said.answer, said.answer
    finally:
        a.close()
    assert not (tmp_path / "host-a" / "agent.sqlite").exists()
    b = Agent(Lake.open(tmp_path / "host-b", catalog=pg_url), llm="builtin")
    try:
        turns = b.history("thread-1")
    finally:
        b.close()
    assert any("tiny-bert" in str(t.get("content", "")) for t in turns), turns
