"""Lineage for search: who derives from what, declared, stated, inferred or implied by a name.

Edges come from (strongest first):

* ``card yaml``: a card's ``base_model`` (relation from ``base_model_relation``, else the
  Hub's rules on strong evidence: several bases + merge tags -> merge, PEFT/LoRA ->
  adapter, quantized files -> quantized, else finetune);
* ``adapter config``: a PEFT adapter's ``base_model_name_or_path``;
* ``card text``: "a fine-tuned version of [X](https://huggingface.co/org/x)" and alike;
* ``inferred``: edges from ``modellake.tools.lineage.graph`` when that module is present and
  has edges at hand (it is never asked to compute them here);
* ``name``: a lake model whose name extends the target's ("Llama-2-Ko" under "Llama 2").

A query's target ("Meta Llama 3 8B", "mistralai/Mistral-7B-v0.1", "DeepSeek") is resolved
to every known identifier that contains all its words; descendants are then walked
breadth-first, so "derived from" is recursive and each hit keeps its path.
"""
from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# family names people abbreviate: a target naming one also names the other
FAMILY_ALIASES = {"sdxl": "stable diffusion xl", "sd15": "stable diffusion v1 5",
                  "sd2": "stable diffusion 2", "sd3": "stable diffusion 3", "mixtral": "mixtral",
                  "codellama": "codellama", "gptj": "gpt j", "neox": "gpt neox"}
SOURCE_RANK = {"card yaml": 0, "adapter config": 0, "inferred": 1, "card text": 2, "name": 3}
_STOP = {"the", "a", "an", "of", "model", "models", "weights", "checkpoint", "checkpoints", "base",
         "family", "series", "version", "original", "official", "hf", "any", "all"}


def tokens(text: str) -> list[str]:
    """Lower-case name tokens: words, and numbers with their unit ("8b") or dots ("3.1")."""
    return re.findall(r"[a-z]+|\d+(?:\.\d+)*[a-z]*", text.lower())


def _core(toks: list[str]) -> list[str]:
    """Tokens without a dotted version suffix ("v0.1") and filler words."""
    out = []
    skip_next = False
    for i, t in enumerate(toks):
        if skip_next:
            skip_next = False
            continue
        if t == "v" and i + 1 < len(toks) and re.fullmatch(r"\d+\.\d+(\.\d+)*", toks[i + 1]):
            skip_next = True
            continue
        out.append(t)
    return out


def core_of(text: str) -> list[str]:
    """The identifying tokens of a name: its last path part, without filler words ("the",
    "base model") and a dotted version suffix; words inside an id ("distilbert-base-uncased")
    all count."""
    pieces = [p for p in _tail(text).split() if p.lower().strip("()") not in _STOP]
    return _core([t for p in pieces for t in tokens(p)])


def _tail(ident: str) -> str:
    return ident.strip().rstrip("/").rsplit("/", 1)[-1]


def _keys(ident: str) -> set[str]:
    ident = ident.strip().lower().rstrip("/")
    keys = {ident}
    if "/" in ident:
        keys.add(ident.rsplit("/", 1)[1])
    return keys


@dataclass
class Edge:
    parent: str
    child: int
    relation: str
    source: str
    confidence: float = 1.0


@dataclass
class Step:
    """One hop of a lineage path: ``parent -> child`` (child is a lake model id)."""

    parent: str
    child: int
    relation: str
    source: str


@dataclass
class Descent:
    """A lake model below the target: its depth and the last step of its path."""

    model_id: int
    depth: int
    step: Step
    prev: Descent | None = None
    rank: int = 0  # SOURCE_RANK of the weakest step on the path

    @property
    def path(self) -> list[Step]:
        out: list[Step] = []
        d: Descent | None = self
        while d is not None:
            out.append(d.step)
            d = d.prev
        return out[::-1]

    @property
    def weakest_source(self) -> str:
        return max((s.source for s in self.path), key=lambda s: SOURCE_RANK.get(s, 9))


@dataclass
class Resolution:
    target: str
    keys: set[str]  # identifiers (lower case) that name the target or a member of its family
    exact: set[int]  # lake models that are the target itself
    matched: list[str]  # display names of what matched (for explanations)


def inferred_edges(catalog: Any) -> list[Any]:
    """Edges the lineage tool has already inferred and cached (never computed here).

    Read from the catalog's lineage cache, which ``modellake lineage`` refreshes.
    """
    try:
        return [edge for _, edge in catalog.lineage.edges()]
    except Exception:  # noqa: BLE001 - an optional source must not break search
        log.debug("cached lineage edges unavailable", exc_info=True)
        return []


def _intersect(postings: dict[Any, set], need: set) -> set:
    """The entries listed under every one of ``need`` in an inverted index (smallest first)."""
    lists = sorted((postings.get(t, set()) for t in need), key=len)
    if not lists:
        return set()
    out = set(lists[0])
    for lst in lists[1:]:
        out &= lst
    return out


class LineageGraph:
    """Edges between identifiers and the lake's models (by id)."""

    def __init__(self, docs: Iterable[tuple[int, str, dict[str, Any]]],
                 extra: Iterable[Any] = ()) -> None:
        self.names: dict[int, str] = {}
        self.relation: dict[int, str] = {}
        self.model_keys: dict[int, set[str]] = {}
        self.alias_cores: dict[int, list[list[str]]] = {}
        self.children: dict[str, list[Edge]] = {}
        self._child_ids: dict[str, set[int]] = {}
        self.parents: dict[int, list[Edge]] = {}
        self.node_tokens: dict[str, set[str]] = {}
        self.phrases: set[str] = set()  # parents named in prose without an id ("Stable Diffusion XL")
        self.postings: dict[str, set[str]] = {}  # token -> identifiers containing it
        self.core_postings: dict[str, set[int]] = {}  # alias core token -> lake models
        self.key_models: dict[str, set[int]] = {}  # identifier (lower case) -> lake models it names
        by_name: dict[str, int] = {}
        for mid, name, f in docs:
            self.names[mid] = name
            by_name[name] = mid
            self.relation[mid] = f.get("relation") or "finetune"
            keys: set[str] = set()
            cores = []
            for a in f.get("aliases") or [name]:
                keys |= _keys(a)
                cores.append(core_of(a))
            self.model_keys[mid] = keys
            for k in keys:
                self.key_models.setdefault(k, set()).add(mid)
            self.alias_cores[mid] = cores
            for c in cores:
                for tok in c:
                    self.core_postings.setdefault(tok, set()).add(mid)
            for k in keys:
                self._node(k)
            for b in f.get("bases") or []:
                self._add(Edge(b["parent"], mid, b.get("relation") or "finetune",
                               b.get("source") or "card yaml"))
        for e in extra:
            child = by_name.get(getattr(e, "child", None))
            parent = getattr(e, "parent", None)
            if child is None or not parent:
                continue
            conf = float(getattr(e, "confidence", 0.5) or 0.5)
            src = getattr(e, "source", "inferred") or "inferred"
            rel = getattr(e, "relation", "finetune") or "finetune"
            self._add(Edge(parent, child, rel, "inferred" if src == "inferred" else "card yaml", conf))
            if self.relation.get(child) == "finetune" and rel in ("pruned", "merge", "quantized", "adapter"):
                self.relation[child] = rel  # the weights say how it was made; "finetune" was the default

    def _node(self, key: str) -> None:
        if key not in self.node_tokens:
            t = set(tokens(key))
            self.node_tokens[key] = t
            for tok in t:
                self.postings.setdefault(tok, set()).add(key)

    def models_named(self, ident: str) -> set[int]:
        """The lake models an identifier names (by any of their names)."""
        return set().union(*(self.key_models.get(k, set()) for k in _keys(ident)))

    @property
    def vocab(self) -> set[str]:
        return set(self.postings)

    def _covering(self, need: set[str]) -> set[str]:
        """Identifiers whose tokens include all of ``need``."""
        return _intersect(self.postings, need)

    def _add(self, e: Edge) -> None:
        if e.source == "card text" and "/" not in e.parent and " " in e.parent.strip():
            self.phrases.add(e.parent.strip().lower())
        for k in _keys(e.parent):
            self._node(k)
            seen = self._child_ids.setdefault(k, set())
            if e.child not in seen:
                seen.add(e.child)
                lst = self.children.setdefault(k, [])
                lst.append(e)
                if len(lst) > 1 and SOURCE_RANK.get(lst[-2].source, 9) > SOURCE_RANK.get(e.source, 9):
                    lst.sort(key=lambda x: SOURCE_RANK.get(x.source, 9))
        self.parents.setdefault(e.child, []).append(e)

    # -- resolution -----------------------------------------------------------------
    def resolve(self, target: str) -> Resolution:
        want = [t for piece in target.split() if piece.lower().strip("()") not in _STOP
                for t in tokens(piece)]
        known = [t for t in want if t in self.postings]
        expanded = [t for w in want for t in tokens(FAMILY_ALIASES.get(w, w))]
        alt = [t for t in expanded if t in self.postings] if expanded != want else []
        if not known and not alt:
            return Resolution(target, set(), set(), [])
        keys = self._covering(set(known)) if known else set()
        if alt:
            keys |= self._covering(set(alt))
        want_all = set(want)
        keys |= {p for p in self.phrases if len(self.node_tokens[p]) >= 2 and self.node_tokens[p] <= want_all}
        core = core_of(target)
        exact = set()
        for mid in self._models_with(set(core)):
            if core in self.alias_cores[mid] or target.strip().lower() in self.model_keys[mid]:
                exact.add(mid)
        matched = sorted({k for k in keys if "/" in k} or keys)[:8]
        return Resolution(target, keys, exact, matched)

    def _models_with(self, core: set[str]) -> set[int]:
        """Lake models whose name cores include all of ``core``."""
        return _intersect(self.core_postings, core)

    def name_implied(self, target: str) -> list[int]:
        """Lake models whose own name extends the target's ("Llama-2-Ko" for "Llama 2").

        A one-word target ("DeepSeek") names a family, not a model: then only models that
        say in their metadata how they derive (quantized, adapter, merge) count.
        """
        core = set(core_of(target))
        if not core:
            return []
        specific = len(core) >= 3 or (len(core) == 2 and any(re.search(r"\d", t) for t in core))
        out = []
        for mid in sorted(self._models_with(core)):
            if any(core < set(a) for a in self.alias_cores[mid]):
                if specific or self.relation.get(mid) in ("quantized", "adapter", "merge"):
                    out.append(mid)
        return out

    # -- walking ----------------------------------------------------------------------
    def descendants(self, res: Resolution, relations: list[str] | None = None,
                    exclude: Iterable[str] = (), max_depth: int = 8) -> dict[int, Descent]:
        """Every lake model below the target, with its shortest (then strongest) path."""
        allowed = set(relations) if relations else None
        banned = set(exclude)

        def ok(rel: str) -> bool:
            return (allowed is None or rel in allowed) and rel not in banned

        found: dict[int, Descent] = {}
        queue: deque[tuple[str, int, Descent | None]] = deque((k, 0, None) for k in sorted(res.keys))
        seen_keys = set(res.keys)
        while queue:
            key, depth, prev = queue.popleft()
            if depth >= max_depth:
                continue
            for e in self.children.get(key, ()):  # strongest sources first
                if not ok(e.relation):
                    continue
                rank = max(prev.rank if prev else 0, SOURCE_RANK.get(e.source, 9))
                d = Descent(e.child, depth + 1, Step(e.parent, e.child, e.relation, e.source),
                            prev, rank)
                old = found.get(e.child)
                if old is None or (d.depth, d.rank) < (old.depth, old.rank):
                    found[e.child] = d
                for k in self.model_keys.get(e.child, ()):
                    if k not in seen_keys:
                        seen_keys.add(k)
                        queue.append((k, depth + 1, d))
        for mid in self.name_implied(res.target):
            rel = self.relation.get(mid, "finetune")
            if mid not in found and ok(rel):
                found[mid] = Descent(mid, 1, Step(res.target, mid, rel, "name"), None,
                                     SOURCE_RANK["name"])
        for mid in res.exact:
            d = found.get(mid)
            if d is not None and d.rank == SOURCE_RANK["name"] and d.depth == 1:
                del found[mid]  # the target itself, not a descendant
        return found

    def ancestors(self, model_id: int, max_depth: int = 8) -> list[Step]:
        """The declared chain above a model (first parent at each level)."""
        out: list[Step] = []
        seen = {model_id}
        cur = model_id
        for _ in range(max_depth):
            edges = sorted(self.parents.get(cur, []), key=lambda e: SOURCE_RANK.get(e.source, 9))
            if not edges:
                break
            e = edges[0]
            out.append(Step(e.parent, cur, e.relation, e.source))
            nxt = next((m for m, keys in self.model_keys.items() if _keys(e.parent) & keys), None)
            if nxt is None or nxt in seen:
                break
            seen.add(nxt)
            cur = nxt
        return out
