"""Ray for ingest: one task per model on a local Ray cluster (two worker processes), each
writing the shared catalog in its own transaction. Run against a throwaway PostgreSQL
(tests/pg_server.py) with other processes writing and reading at once; a worker killed
(SIGKILL) in the middle of a model's transaction is run again and the catalog stays whole."""
from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from test_pg_catalog import _ingest_many, _search_while  # noqa: E402

from modellake.store.catalog import Catalog  # noqa: E402
from modellake.store.lake import Lake  # noqa: E402
from modellake.tools.ingest import ingest  # noqa: E402
from modellake.tools.ingest.pipeline import Ingestor  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    """A Ray cluster of this machine with two worker slots, for the module."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # hooks defined here run in workers
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def copies(agent_model_paths, root: Path, names: list[str]) -> list[Path]:
    return [shutil.copytree(agent_model_paths[n], root / n) for n in names]


def test_ray_ingest_with_two_more_writers_and_a_reader(local_ray, tmp_path, pg_url, agent_model_paths):
    names = ["tiny-bert", "tiny-llama", "gpt2-mini", "sentiment-bert", "tiny-llama-chat", "tiny-bert-ft"]
    on_ray = copies(agent_model_paths, tmp_path / "ray", names)
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    others = [ctx.Process(target=_ingest_many, args=(pg_url, str(tmp_path / f"p{i}"),
                                                     [(n, str(p)) for n, p in zip(names, copies(
                                                         agent_model_paths, tmp_path / f"w{i}", names))], q))
              for i in range(2)]
    others.append(ctx.Process(target=_search_while, args=(pg_url, str(tmp_path / "reader"), 30, q)))
    for p in others:
        p.start()
    lake = Lake.open(tmp_path / "team", catalog=pg_url)
    with lake.catalog() as cat:
        report = ingest(cat, on_ray, ray="auto", index=False)  # the running (local) cluster
    results = [q.get(timeout=300) for _ in others]
    for p in others:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert report.errors == [] and len(report.models) + len(report.unchanged) == len(names)
    assert [r for r in results if isinstance(r, list) and r] == []
    with Catalog(pg_url, root=tmp_path / "check") as cat:
        assert sorted(cat.model_names()) == sorted(names)  # none lost
        for n in names:  # each writer's copy is its own source: versions 1..k, none doubled
            versions = [m.version for m in cat.versions(n)]
            assert versions == list(range(1, len(versions) + 1)), (n, versions)
            assert len({m.content_hash for m in cat.versions(n)}) == 1
        ingests = [e for e in cat.events() if e["kind"] == "ingest"]
        assert len(ingests) == sum(len(cat.versions(n)) for n in names)  # one event per version
        runs = [(r.model, r.task) for r in cat.runs.find(limit=100)]  # cards' reported results
        assert runs and len(runs) == len(set(runs)), runs  # stored once, not once per writer


def die_once(marker: str):
    """A hook that kills its worker process (SIGKILL) the first time, inside the transaction."""
    def hook(record) -> None:
        if not os.path.exists(marker):
            Path(marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
    return hook


def test_a_worker_killed_mid_ingest_is_retried_and_the_catalog_stays_whole(local_ray, tmp_path, pg_url,
                                                                           agent_model_paths):
    from modellake.store.records import IngestReport
    from modellake.tools.ingest.discover import discover
    from modellake.tools.ingest.on_ray import ingest_units_on_ray

    units = [u for p in copies(agent_model_paths, tmp_path / "m", ["tiny-bert", "gpt2-mini"]) for u in discover(p)[0]]
    marker = tmp_path / "killed"
    report = IngestReport()
    with Catalog(pg_url, root=tmp_path / "lake") as cat:
        ingest_units_on_ray(cat, units, None, "auto", report, before_commit=die_once(str(marker)),
                            ingestor=Ingestor)
        assert marker.exists()  # a worker did die with a transaction open
        assert report.errors == [] and sorted(m.name for m in report.models) == ["gpt2-mini", "tiny-bert"]
        assert [(m.name, m.version) for m in cat.list_models()] == [("gpt2-mini", 1), ("tiny-bert", 1)]
        for m in cat.list_models():
            assert cat.tensors(m.id) and cat.sketch(m.id) is not None  # whole, not half-written
        again = IngestReport()
        ingest_units_on_ray(cat, units, None, "auto", again, ingestor=Ingestor)
        assert again.models == [] and len(again.unchanged) == 2  # a second ingest changes nothing


def test_sqlite_serves_a_local_cluster_only(tmp_path, agent_model_paths):
    from modellake.store.errors import UsageError
    from modellake.store.records import IngestReport
    from modellake.tools.ingest.on_ray import ingest_units_on_ray

    with Catalog(tmp_path / "catalog.db") as cat, pytest.raises(UsageError, match="--catalog postgresql"):
        ingest_units_on_ray(cat, [], None, "10.0.0.5:6379", IngestReport(), ingestor=Ingestor)


def test_bench_on_ray_stores_the_same_runs_as_one_process(local_ray, tmp_path, pg_url):
    """Every (model, task) pair a Ray task: the runs equal those of an in-process bench (same
    seed), each stored once with its provenance; a model that cannot run is reported."""
    import torch
    from test_bench import _bert_config, _save
    from transformers import BertModel

    from modellake.tools.bench import bench, bench_on_ray

    paths = {}
    for i, name in enumerate(["enc-a", "enc-b"]):
        torch.manual_seed(i)
        paths[name] = _save(BertModel(_bert_config()), tmp_path / name)
    (tmp_path / "card-only").mkdir()
    (tmp_path / "card-only" / "README.md").write_text("---\nlicense: mit\n---\n# Only a card\n")
    paths["card-only"] = tmp_path / "card-only"
    with Catalog(pg_url, root=tmp_path / "team") as team, Catalog(tmp_path / "solo.db") as solo:
        for name, path in paths.items():
            assert not ingest(team, [path], name=name, index=False).errors
            assert not ingest(solo, [path], name=name, index=False).errors
        spread = bench_on_ray(team, list(paths), ["sts-smoke"], "auto", seed=3)
        alone = bench(solo, list(paths), ["sts-smoke"], seed=3, threads=1)
        stored = team.runs.find(limit=100)
    assert sorted((r.model, round(r.metrics["spearman"], 6)) for r in spread.runs) == \
        sorted((r.model, round(r.metrics["spearman"], 6)) for r in alone.runs)
    assert len(spread.runs) == 2 and [e.model for e in spread.errors] == ["card-only"]
    assert sorted(r.model for r in stored if r.trust == "measured") == ["enc-a", "enc-b"]
    assert all(r.environment and r.model_hash for r in stored)


def test_lineage_on_ray_finds_the_same_graph(local_ray, tmp_path, pg_url, agent_model_paths, monkeypatch):
    """Weight comparisons as Ray tasks (one per model and its candidate parents) give the
    graph a single process gives, and land in the shared catalog's comparison cache."""
    import modellake.tools.cluster as cluster
    import modellake.tools.lineage.source as source
    from modellake.tools.lineage import lineage

    monkeypatch.setattr(source, "RAY_MIN_BYTES", 0)  # tiny models: to Ray all the same
    calls = []
    real = cluster.run_tasks
    monkeypatch.setattr(cluster, "run_tasks", lambda fn, items, **kw: calls.append(len(items)) or
                        real(fn, items, **kw))
    with Catalog(pg_url, root=tmp_path / "team") as team, Catalog(tmp_path / "solo.db") as solo:
        for name, path in agent_model_paths.items():
            assert not ingest(team, [path], name=name, index=False).errors
            assert not ingest(solo, [path], name=name, index=False).errors
        spread = lineage(team, ray="auto")
        alone = lineage(solo)
        cached = team._conn.execute("SELECT COUNT(*) FROM lineage_pairs").fetchone()[0]
    assert calls and sum(calls) >= 1, calls  # comparisons did run as Ray tasks
    assert cached >= sum(calls)
    edges = sorted((e.parent, e.child, e.relation) for e in spread.edges)
    assert edges == sorted((e.parent, e.child, e.relation) for e in alone.edges)
    assert ("tiny-bert", "tiny-bert-ft", "finetune") in edges


def test_models_on_one_nodes_disk_are_placed_on_that_node():
    """Placement from what each node sees: files on every node (a shared file system) go
    anywhere; files on some nodes' disks go to those nodes in turn; files nowhere go
    anywhere (the task then fails with the file's own error)."""
    from modellake.tools.cluster import placement

    seen = {"n1": {"/shared/a", "/disk1/b", "/disk1/c", "/both/d"},
            "n2": {"/shared/a", "/disk2/e", "/both/d"},
            "n3": {"/shared/a", "/both/d"}}
    items = [["/shared/a"], ["/disk1/b", "/disk1/c"], ["/disk2/e"], ["/both/d"], ["/nowhere/f"],
             ["/disk1/b", "/disk2/e"]]
    assert placement(items, seen) == [None, "n1", "n2", None, None, None]
    assert placement([["/both/d"]] * 2, {"n1": {"/both/d"}, "n2": {"/both/d"}, "n3": set()}) == ["n1", "n2"]


def test_a_path_no_node_sees_is_one_failed_path(local_ray, tmp_path, agent_model_paths):
    with Catalog(tmp_path / "catalog.db") as cat:
        report = ingest(cat, [tmp_path / "not-here", agent_model_paths["tiny-bert"]], ray="auto", index=False)
    assert [m.name for m in report.models] == ["tiny-bert"]
    assert len(report.errors) == 1 and "not-here" in report.errors[0].error


def test_a_name_for_several_models_is_refused_on_ray_too(local_ray, tmp_path, agent_model_paths):
    with Catalog(tmp_path / "catalog.db") as cat:
        report = ingest(cat, [agent_model_paths["tiny-bert"], agent_model_paths["gpt2-mini"]],
                        name="one-name", ray="auto", index=False)
        assert cat.list_models() == []
    assert report.models == [] and len(report.errors) == 1
    assert "--name 'one-name' applies to one model, but 2 were found" in report.errors[0].error
