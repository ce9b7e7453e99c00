"""The search's vector index on a Chroma server (``--index http://HOST:PORT``), end to end:
the same lake answers the same with its embedded index and on a server
(tests/chroma_server.py starts a throwaway ``chroma run``), a lake that moves between its
embedded index and a server (or machines sharing a PostgreSQL catalog, each with its own
index folder) never trusts vectors it did not index, and a server that cannot be reached,
or a URL that is no server's, is one line naming it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from chroma_server import ChromaServer, chroma_server  # noqa: F401

from modellake.ui.cli import main

QUERIES = ("llama chat model", "sentiment classifier", "bert fill-mask", "quantized gguf")
SIMILAR = ("tiny-bert", "acme/mega-7b")  # by weights; by card (no weights): the chunk vectors


def cli(capsys, *args: str) -> dict:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def one_line_error(capsys, *args: str) -> str:
    """The stderr of a command that must fail with one line and no traceback."""
    code = main(list(args))
    _, err = capsys.readouterr()
    assert code != 0 and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def model_paths(tmp_path_factory) -> dict[str, Path]:
    from agent_lake import build_models

    return build_models(tmp_path_factory.mktemp("chroma-models"))


def ingest_all(capsys, where: list[str], paths: dict[str, Path]) -> None:
    for name, path in paths.items():
        cli(capsys, *where, "ingest", str(path), "--name", name, "--json")


def top10(capsys, where: list[str], *args: str) -> list[str]:
    res = cli(capsys, *where, *args, "--json")
    assert not res.get("note"), res.get("note")
    return [h["name"] for h in res["hits"][:10]]


def answers(capsys, where: list[str]) -> dict[str, list[str]]:
    """What the vectors decide: search top-10s (card text) and nearest models."""
    out = {f"search {q}": top10(capsys, where, "search", q, "--wait") for q in QUERIES}
    out.update({f"similar {n}": top10(capsys, where, "similar", n, "--wait") for n in SIMILAR})
    return out


@pytest.fixture(scope="module")
def embedded_lake(tmp_path_factory, model_paths) -> Path:
    """A lake ingested with its own index folder (ingest indexes the cards)."""
    lake = tmp_path_factory.mktemp("embedded") / "lake"
    for name, path in model_paths.items():
        assert main(["--lake", str(lake), "ingest", str(path), "--name", name, "--json"]) == 0, name
    return lake


def test_the_same_answers_on_the_embedded_index_and_on_a_server(capsys, tmp_path, embedded_lake,
                                                                  model_paths, chroma_server):  # noqa: F811
    on_server = ["--lake", str(tmp_path / "team"), "--index", chroma_server.url]
    ingest_all(capsys, on_server, model_paths)  # ingest writes the vectors to the server
    assert not (tmp_path / "team" / "index").exists()
    first = cli(capsys, *on_server, "search", QUERIES[0], "--json")
    assert not first.get("note") and first["hits"]  # indexed by ingest: nothing left out
    a, b = answers(capsys, ["--lake", str(embedded_lake)]), answers(capsys, on_server)
    assert all(a.values())
    for key in a:
        assert a[key] == b[key], (key, a[key], b[key])


def test_a_lake_moved_to_an_empty_server_reindexes_its_cards_there(capsys, tmp_path, embedded_lake,
                                                                   model_paths):
    import shutil

    lake = tmp_path / "lake"
    shutil.copytree(embedded_lake, lake)
    own = ["--lake", str(lake)]
    want = {q: top10(capsys, own, "search", q) for q in QUERIES}
    with ChromaServer() as server:
        there = ["--lake", str(lake), "--index", server.url]
        # the catalog says every card is indexed; the server holds no vector of them
        behind = cli(capsys, *there, "search", QUERIES[0], "--json")
        assert behind["index_behind"] > 0 and "not in the search index" in behind["note"]
        assert {q: top10(capsys, there, "search", q, "--wait") for q in QUERIES} == want
        rep = cli(capsys, *there, "reindex", "--json")
        assert rep["rebuilt"] and rep["models"] == len(model_paths)
        assert {q: top10(capsys, there, "search", q) for q in QUERIES} == want
    # back on its own folder: as many vectors as the chunk table lists, but the catalog was
    # last indexed on the server: those are treated as missing until a sync rebuilds them
    again = cli(capsys, *own, "search", QUERIES[0], "--json")
    assert again["index_behind"] > 0
    assert {q: top10(capsys, own, "search", q, "--wait") for q in QUERIES} == want


def test_a_shared_postgresql_catalog_with_an_index_folder_per_machine(capsys, tmp_path, pg_url, model_paths):
    """Two machines share the catalog, each with its own index folder: each one's vectors
    count as missing after the other indexed, until a sync rebuilds them in its folder."""
    one, two = (["--lake", str(tmp_path / m), "--catalog", pg_url] for m in ("one", "two"))
    ingest_all(capsys, one, {n: model_paths[n] for n in ("tiny-bert", "tiny-llama-chat", "acme/mega-7b")})
    want = top10(capsys, one, "search", QUERIES[0])
    assert want
    assert cli(capsys, *two, "search", QUERIES[0], "--json")["index_behind"] == 3
    assert top10(capsys, two, "search", QUERIES[0], "--wait") == want
    # one's folder holds as many vectors as the chunk table lists: not enough to trust them
    assert cli(capsys, *one, "search", QUERIES[0], "--json")["index_behind"] == 3
    assert top10(capsys, one, "search", QUERIES[0], "--wait") == want


def test_an_unreachable_server_is_one_line_naming_it(capsys, embedded_lake):
    own = ["--lake", str(embedded_lake)]
    for args in (["search", "bert", "--wait"], ["similar", "acme/mega-7b"], ["reindex"]):
        err = one_line_error(capsys, *own, "--index", "http://127.0.0.1:1", *args)
        assert "http://127.0.0.1:1" in err and "chroma run" in err and "MODELLAKE_INDEX" in err
    assert top10(capsys, own, "search", QUERIES[0])  # the lake is untouched


def test_a_server_that_stops_mid_run_is_one_line_naming_it(tmp_path):
    from modellake.store.errors import LakeError
    from modellake.store.index import VectorIndex

    with ChromaServer() as server:
        vi = VectorIndex(url=server.url, text_dim=8)
        assert vi.chunk_count() == 0
    with pytest.raises(LakeError, match=r"cannot reach the Chroma server at http://127\.0\.0\.1:\d+ "):
        vi.chunk_count(fresh=True)


@pytest.mark.parametrize("url", ["ftp://x", "http://", "http://host:99999", "http://host:8000/api/v2",
                                 "https://user:secret@host"])
def test_a_url_that_is_no_servers_is_one_line(capsys, embedded_lake, url):
    from modellake.store.errors import LakeError
    from modellake.store.index import server_address

    err = one_line_error(capsys, "--lake", str(embedded_lake), "--index", url, "search", "bert")
    assert "secret" not in err
    if url.startswith("ftp"):
        assert "ftp" in err
    with pytest.raises(LakeError) as exc:
        server_address(url)
    assert "\n" not in str(exc.value) and "secret" not in str(exc.value)


def test_server_addresses():
    from modellake.store.index import server_address

    assert server_address("http://127.0.0.1:8123") == ("127.0.0.1", 8123, False)
    assert server_address("http://chroma.local/") == ("chroma.local", 8000, False)
    assert server_address("https://chroma.example.org") == ("chroma.example.org", 443, True)
