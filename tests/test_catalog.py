"""The catalog: migrations, WAL, versions, rename and remove, events."""
from __future__ import annotations

import pytest

from modellake.store.catalog import Catalog, split_spec
from modellake.store.errors import NameConflictError, NotFoundError
from modellake.store.migrations import MIGRATIONS
from modellake.store.records import CardInfo, FileRecord, ModelRecord


def _model(name="m", chash="h1"):
    return ModelRecord(name=name, format="card", source=f"/src/{name}", content_hash=chash,
                       files=[FileRecord("README.md", 3, "ab" * 32)],
                       card=CardInfo(text="hi", license="mit", base_model=["x/y"]))


def test_schema_migrated_once_and_wal(tmp_path):
    path = tmp_path / "c.db"
    Catalog(path).close()
    cat = Catalog(path)  # reopening applies nothing twice
    assert cat._conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert cat._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cat.close()


def test_round_trip_versions_and_card(catalog):
    catalog.add_model(_model(chash="h1"))
    catalog.add_model(_model(chash="h2"))
    m = catalog.get_model("m")
    assert m.version == 2 and m.card.license == "mit" and m.card.base_model == ["x/y"]
    assert catalog.get_model("m@1").content_hash == "h1"
    with pytest.raises(NotFoundError, match="no version 7"):
        catalog.get_model("m@7")
    assert [r.name for r in catalog.list_models()] == ["m"]
    assert len(catalog.list_models(all_versions=True)) == 2


def test_rename_and_remove(catalog):
    catalog.add_model(_model("a"))
    catalog.add_model(_model("b"))
    with pytest.raises(NameConflictError):
        catalog.rename("a", "b")
    catalog.rename("a", "c")
    assert catalog.model_names() == ["b", "c"]
    with pytest.raises(NotFoundError):
        catalog.rename("a", "z")
    assert catalog.remove("c") == 1
    with pytest.raises(NotFoundError):
        catalog.remove("c")
    kinds = [e["kind"] for e in catalog.events()]
    assert kinds == ["ingest", "ingest", "rename", "rm"]
    assert catalog._conn.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == 1  # cascaded


def test_remove_latest_version_makes_previous_current(catalog):
    catalog.add_model(_model(chash="h1"))
    catalog.add_model(_model(chash="h2"))
    catalog.remove("m@2")
    assert catalog.get_model("m").version == 1


def test_split_spec():
    assert split_spec("org/model@3") == ("org/model", 3)
    assert split_spec("name") == ("name", None)
    assert split_spec("weird@name") == ("weird@name", None)


def test_lookup_is_forgiving_about_case_and_suggests(catalog):
    catalog.add_model(_model("SmolLM2-135M"))
    assert catalog.get_model("smollm2-135m").name == "SmolLM2-135M"
    with pytest.raises(NotFoundError, match="did you mean SmolLM2-135M"):
        catalog.get_model("smollm2-13m")
