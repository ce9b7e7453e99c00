"""The lineage cache in the catalog (tables of migration 4).

* ``lineage_pairs``: one JSON blob per compared pair of model ids and kind of
  comparison (full-weight statistics, merge fits). Keyed by id, so a rename keeps
  them and removing a model drops them (foreign keys cascade).
* ``lineage_edges``: the inferred edges of each solved group of models.
* ``lineage_state``: per group, the fingerprint of what it was solved from;
  a group whose fingerprint changed is solved again, the others are reused.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from modellake.store.records import LineageEdge

if TYPE_CHECKING:
    from modellake.store.catalog import Catalog

PairKey = tuple[int, int, str]


class LineageCache:
    """Compared pairs, solved groups and their edges: ``catalog.lineage``."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def pairs(self, keys: Iterable[PairKey]) -> dict[PairKey, dict[str, Any]]:
        """Cached comparisons for the given ``(a, b, kind)`` keys (missing keys are absent)."""
        keys = list(dict.fromkeys(keys))
        out: dict[PairKey, dict[str, Any]] = {}
        for i in range(0, len(keys), 300):
            part = keys[i:i + 300]
            where = " OR ".join("(a = ? AND b = ? AND kind = ?)" for _ in part)
            args = [v for k in part for v in k]
            for a, b, kind, data in self._catalog._conn.execute(
                    f"SELECT a, b, kind, data FROM lineage_pairs WHERE {where}", args):
                out[(a, b, kind)] = json.loads(data)
        return out


    def put_pairs(self, rows: dict[PairKey, dict[str, Any]]) -> None:
        """Store comparisons (replacing earlier ones with the same key)."""
        if not rows:
            return
        with self._catalog.transaction() as c:
            c.executemany("INSERT INTO lineage_pairs (a, b, kind, data) VALUES (?,?,?,?) "
                          "ON CONFLICT (a, b, kind) DO UPDATE SET data = excluded.data",
                          [(a, b, kind, json.dumps(d)) for (a, b, kind), d in rows.items()])


    def group_fingerprints(self) -> dict[str, str]:
        """Fingerprint of every solved group."""
        return dict(self._catalog._conn.execute("SELECT grp, fingerprint FROM lineage_state"))


    def group_detail(self, grp: str) -> dict[str, Any]:
        row = self._catalog._conn.execute("SELECT detail FROM lineage_state WHERE grp = ?", (grp,)).fetchone()
        return json.loads(row[0]) if row else {}


    def save_group(self, grp: str, fingerprint: str, edges: list[LineageEdge],
                   ids: dict[str, int], detail: dict[str, Any] | None = None) -> None:
        """Replace the edges of one group; ``ids`` maps the edges' model names to model ids."""
        with self._catalog.transaction() as c:
            c.execute("DELETE FROM lineage_edges WHERE grp = ?", (grp,))
            c.executemany(
                "INSERT INTO lineage_edges (grp, parent_id, child_id, relation, confidence, evidence) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (grp, parent_id, child_id) DO UPDATE SET "
                "relation = excluded.relation, confidence = excluded.confidence, "
                "evidence = excluded.evidence",
                [(grp, ids[e.parent], ids[e.child], e.relation, e.confidence,
                  json.dumps(e.evidence, default=float)) for e in edges])
            c.execute("INSERT INTO lineage_state (grp, fingerprint, detail) VALUES (?,?,?) "
                      "ON CONFLICT (grp) DO UPDATE SET fingerprint = excluded.fingerprint, "
                      "detail = excluded.detail", (grp, fingerprint, json.dumps(detail or {})))


    def drop_groups(self, groups: Iterable[str]) -> None:
        """Forget groups that no longer exist."""
        groups = list(groups)
        with self._catalog.transaction() as c:
            c.executemany("DELETE FROM lineage_edges WHERE grp = ?", [(g,) for g in groups])
            c.executemany("DELETE FROM lineage_state WHERE grp = ?", [(g,) for g in groups])


    def edges(self) -> list[tuple[str, LineageEdge]]:
        """Every cached edge with its group, named by the models' current names."""
        rows = self._catalog._conn.execute(
            "SELECT e.grp, p.name, c.name, e.relation, e.confidence, e.evidence "
            "FROM lineage_edges e JOIN models p ON p.id = e.parent_id "
            "JOIN models c ON c.id = e.child_id ORDER BY e.grp, p.name, c.name").fetchall()
        return [(g, LineageEdge(p, c, rel, conf, json.loads(ev))) for g, p, c, rel, conf, ev in rows]
