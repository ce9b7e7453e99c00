"""Model families by their common names: "the original LLaMA", "Google's open models", "SDXL".

The families of ``data/families.json`` (data, not code) say which words name a family in a
query and which identifiers belong to it. A model belongs to a family when one of its
identifiers does: its own names (the lake's, the card's title, the repo id the card
declares), the base models it declares, and theirs up the lineage graph (every generation).
A query names families positively ("built on Qwen") or rules them out ("not Llama 2",
"neither Stable Diffusion nor FLUX").
"""
from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from modellake.tools.search.negation import NEGATOR


@dataclass(frozen=True)
class Family:
    key: str
    label: str
    query: tuple[re.Pattern[str], ...]
    member: tuple[re.Pattern[str], ...]
    not_member: tuple[re.Pattern[str], ...]
    maker: bool = False  # an organization: the models it published, not what others built on them
    made_by: re.Pattern[str] | None = None  # how a card names it as its maker

    def has(self, ident: str) -> bool:
        s = ident.lower()
        return any(p.search(s) for p in self.member) and not any(p.search(s) for p in self.not_member)


@dataclass
class FamilyMention:
    keys: list[str]  # the family, or a group and its families ("Stable Diffusion": 1.x, 2.x, XL, 3)
    text: str  # the words that named it
    negated: bool = False


@dataclass
class Catalogue:
    families: dict[str, Family]
    group_query: list[tuple[str, re.Pattern[str]]]
    groups: dict[str, list[str]] = field(default_factory=dict)


_lock = threading.Lock()
_loaded: Catalogue | None = None
_NEGATORS = re.compile(rf"(?:\b{NEGATOR}|\bnon-?)\s*(?:(?:a|an|the|any|anything|something|from|of|one|by|"
                       r"made by|based on|built on|derived from|(?:made|built|created|merged) (?:out of|from)|"
                       r"out of|[\w.-]+ (?:or|nor)|"
                       r"(?:that|which) (?:(?:just|only|simply|merely) )?[\w'-]+)\s+){0,4}$", re.I)


def catalogue() -> Catalogue:
    global _loaded
    with _lock:
        if _loaded is None:
            raw = json.loads(resources.files("modellake.tools.search").joinpath("data/families.json").read_text())
            fams = {f["key"]: Family(f["key"], f["label"], _compile(f["query"]), _compile(f["member"]),
                                     _compile(f.get("not_member", [])), bool(f.get("maker")),
                                     _made_by(f.get("made_by"))) for f in raw["families"]}
            groups = {g: list(keys) for g, keys in raw.get("groups", {}).items()}
            gq = [(g, p) for g, pats in raw.get("group_query", {}).items() for p in _compile(pats)]
            _loaded = Catalogue(fams, gq, groups)
        return _loaded


def _compile(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.I) for p in patterns)


def _made_by(names: str | None) -> re.Pattern[str] | None:
    """How a card names this maker right after its statement of who made the model."""
    return re.compile(rf"(?:{names})\b", re.I) if names else None


# a card's own statement of who made the model: "Developed by: Microsoft Research",
# "**Model Developers** Meta", "created by Alibaba Cloud" (a name follows, capitalised)
_MADE_BY_CUE = re.compile(r"(?:\b(?:developed|created|released|published|trained|built|made|provided) by|"
                          r"\bmodel (?:developers?|creators?|publishers?|authors?|owners?))[*_:\s]*"
                          r"(?:the\s+)?\[?(?=(?-i:[A-Z]))", re.I)


def stated_maker(text: str) -> str | None:
    """The maker a card names in its first statement of who made the model ("Developed by:
    Microsoft Research" gives "Microsoft Research"), as written; None when it says none."""
    head = text[:30000]
    cue = _MADE_BY_CUE.search(head)
    if cue is None:
        return None
    at = re.sub(r"\[?([^\]\n]*)\]\([^)]*\)", r"\1", head[cue.end():cue.end() + 160])  # links: their text
    who = re.split(r"\n|[.;:,(|<]\s|\s[-\u2013\u2014]\s|\s{2,}|\s(?:and|with|for|in|on|at|from|using)\s", at)[0]
    who = re.sub(r"[*_`\[\]]", "", who).strip(" .,:;-")
    return who if 2 <= len(who) <= 60 and len(who.split()) <= 6 else None


def maker_name(namespace: str) -> str:
    """A Hub namespace as people name its organization ("meta-llama" gives "Meta"), else itself."""
    ident = f"{namespace.lower()}/"
    for f in catalogue().families.values():
        if f.maker and any(p.search(ident) for p in f.member):
            return f.label
    return namespace


def link_namespace(text: str, skip: Iterable[str] = ()) -> str | None:
    """The Hub namespace most of a card's links point under (its base models' aside), when most
    of them do: often the card's own publisher (counted whatever the case, spelled as linked)."""
    low = {b.lower() for b in skip}
    spelled = [m.group(1) for m in _HUB_REPO.finditer(text[:30000])
               if f"{m.group(1)}/{m.group(2)}".lower() not in low]
    spaces = [x.lower() for x in spelled]
    if not spaces:
        return None
    top = max(set(spaces), key=spaces.count)
    if spaces.count(top) < 2 or spaces.count(top) * 2 < len(spaces):
        return None
    return next(x for x in spelled if x.lower() == top)


_HUB_REPO = re.compile(r"huggingface\.co/(?!(?:datasets|spaces|docs|blog|papers|production|front|api|settings|"
                       r"join|login|new|models|organizations|collections|tasks)/)([\w.-]+)/([\w.-]+)")


def makers(text: str, bases: list[str] = (), names: list[str] = ()) -> list[str]:
    """Who a card says made its model, as identifiers that makers' member patterns read:
    "maker:microsoft" for "Developed by: Microsoft Research"; for a card that does not say, of a
    model whose ``names`` carry no namespace of their own, "facebook/" when most of its Hub links
    (its base models' aside) point under one namespace."""
    head = text[:30000]
    cue = _MADE_BY_CUE.search(head)  # the first statement only: a card quoting its base's card
    at = head[cue.end():cue.end() + 60] if cue else ""  # says "Model Developers Meta" later
    out = [f"maker:{f.key[4:] if f.key.startswith('org-') else f.key}" for f in catalogue().families.values()
           if f.made_by is not None and at and f.made_by.match(at)]
    if cue or any("/" in n for n in names):  # the card, or the model's own repo id, says who made it:
        return out  # links (often to the models it is built on or compared with) say less
    space = link_namespace(head, bases)
    return out + ([f"{space.lower()}/"] if space else [])


def is_maker(mention: FamilyMention) -> bool:
    """Whether the mention names an organization (its models), not a model family."""
    return _makers_only(mention.keys, catalogue())


def _makers_only(keys: list[str], cat: Catalogue) -> bool:
    """Whether every key is a maker's (an organization), none a model family's or a group's."""
    return all(k in cat.families and cat.families[k].maker for k in keys)


def maker_label(mention: FamilyMention) -> str:
    """The maker's name as people write it ("Microsoft")."""
    fams = catalogue().families
    return " / ".join(fams[k].label for k in mention.keys if k in fams) or mention.text


def models_in(mention: FamilyMention, members_by_key: dict[str, set[int]]) -> set[int]:
    """The lake models of the families a mention names (``members_by_key``: :func:`members`)."""
    return set().union(*(members_by_key.get(k, set()) for k in mention.keys))


def unversioned(mention: FamilyMention, members_by_key: dict[str, set[int]]) -> set[int]:
    """Models of the group a named family belongs to that say no family of it: for "Stable
    Diffusion 1.x", a DreamBooth tagged only "stable-diffusion"; for "the original LLaMA", a
    model tagged "llama". They may be of it: search keeps them, below the known members."""
    cat = catalogue()
    out: set[int] = set()
    for g, keys in cat.groups.items():
        if g in mention.keys or not set(keys) & set(mention.keys):
            continue
        out |= members_by_key.get(g, set()) - set().union(*(members_by_key.get(k, set()) for k in keys))
    return out


def families_of(identifiers: list[str], tags: list[str] = ()) -> set[str]:
    """The families these identifiers (a model's names and its ancestors') belong to; a group
    too ("stable-diffusion") when one names the group without saying which of its families.
    A tag counts only when it is the family's name itself ("stable-diffusion", not "llama-cpp")."""
    cat = catalogue()
    out = {f.key for f in cat.families.values() for ident in identifiers if f.has(ident)}
    out |= {g for g, p in cat.group_query if any(p.search(ident) for ident in identifiers)}
    out |= {g for g, p in cat.group_query for t in tags if p.fullmatch(t.lower())}
    out |= {f.key for f in cat.families.values() for t in tags  # a maker's tag ("meta") is kept by
            if not f.maker and any(q.fullmatch(t.lower()) for q in f.query)}  # fine-tunes: not a maker
    return out


def _one_edit(a: str, b: str) -> bool:
    """``a`` is ``b`` with one letter dropped, added, changed or two swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


@functools.lru_cache(maxsize=1)
def _family_words() -> frozenset[str]:
    """The words of the families' names long enough to correct a misspelling towards."""
    cat = catalogue()
    fams = [f for f in cat.families.values() if not f.maker]
    queries = [p for f in fams for p in f.query] + [p for _, p in cat.group_query]
    return frozenset(w for f in fams for w in re.findall(r"[a-z]+", f.label.lower())
                     if len(w) >= 5 and any(p.search(w) for p in queries))


def spelled(text: str) -> str:
    """``text`` with a misspelt family name put right ("Lama 3" -> "Llama 3", "Mistal" ->
    "Mistral"): one edit from a family word of five letters or more, in a word of four or more."""
    words = _family_words()

    def fix(m: re.Match[str]) -> str:
        w = m.group(0)
        low = w.lower()
        if low in words or len(low) < 4:
            return w
        near = sorted(x for x in words if _one_edit(low, x))
        return near[0].capitalize() if len(near) == 1 else w
    return re.sub(r"[A-Za-z]+", fix, text)


def mentions(text: str) -> list[FamilyMention]:
    """The families a query names, in order; each says whether the query rules it out."""
    cat = catalogue()
    found: list[tuple[int, int, list[str]]] = []
    for f in cat.families.values():
        for p in f.query:
            for m in p.finditer(text):
                found.append((m.start(), m.end(), [f.key]))
    for g, p in cat.group_query:
        for m in p.finditer(text):
            found.append((m.start(), m.end(), [*cat.groups.get(g, []), g]))
    found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    out: list[FamilyMention] = []
    last_end = -1
    for start, end, keys in found:
        if start < last_end or re.match(r"[- ]?licen[cs]", text[end:end + 9], re.I):
            continue  # inside a longer mention ("Code Llama" is not also "Llama"), or a license's name
        last_end = end
        out.append(FamilyMention(keys, text[start:end], _negated(text, start, out,
                                                                 loose=_makers_only(keys, cat))))
    return [m for i, m in enumerate(out) if not _qualifies_next(text, m, out[i + 1:], cat)]


def _qualifies_next(text: str, m: FamilyMention, rest: list[FamilyMention], cat: Catalogue) -> bool:
    """A maker named just before one of its families only says whose it is ("Microsoft's
    DeBERTa", "Meta Llama 3"): the family is what is asked."""
    if not rest or not _makers_only(m.keys, cat):
        return False
    end = text.find(m.text) + len(m.text)
    return bool(re.fullmatch(r"(?:['’]s)?\s*", text[end:text.find(rest[0].text, end)]))


def _negated(text: str, start: int, before: list[FamilyMention], loose: bool = False) -> bool:
    """A family is ruled out when a negation governs it: "not Llama 2", "neither SD nor FLUX",
    "no Meta originals, no Code Llama"; a list after a negation shares it ("not X or Y")."""
    window = text[max(0, start - 60):start]
    clause = re.split(r"[,;.()]|(?<!anything )(?<!everything )\bbut\b|\band\b(?! not)", window)[-1]
    if re.search(r"\b(?:anything|everything) but\s*$", clause, re.I):
        return True
    if _NEGATORS.search(clause):
        return True
    if loose and re.search(rf"\b{NEGATOR}\b", clause, re.I):  # a maker anywhere in a ruled-out
        return True  # clause: "other than the checkpoints OpenAI itself published"
    if not before or not before[-1].negated:
        return False
    gap = text[text.rfind(before[-1].text, 0, start) + len(before[-1].text):start]
    return bool(re.fullmatch(r"\s*(?:,|or|nor|/)?\s*", gap))


def members(graph: Any, docs: list[tuple[int, str, dict[str, Any]]]) -> dict[str, set[int]]:
    """Family key -> the lake models in it, by their identifiers and their ancestors'."""
    out: dict[str, set[int]] = {}
    cat = catalogue()
    for mid, name, f in docs:
        own = [name, *(f.get("aliases") or []), *(f.get("architectures") or []), *(f.get("makers") or [])]
        keys = families_of(own, f.get("tags") or [])
        keys |= {k for k in families_of(_ancestor_identifiers(graph, mid))
                 if not _makers_only([k], cat)}  # a maker's own models, not others' built on them
        for key in keys:
            out.setdefault(key, set()).add(mid)
    return out


def _ancestor_identifiers(graph: Any, mid: int, max_depth: int = 6) -> list[str]:
    """The identifiers of every declared (or inferred) parent, and theirs, up the graph."""
    out: list[str] = []
    frontier, seen = [mid], {mid}
    for _ in range(max_depth):
        nxt = []
        for m in frontier:
            for e in graph.parents.get(m, []):
                out.append(e.parent)
                for pid in graph.models_named(e.parent):
                    if pid not in seen:
                        seen.add(pid)
                        nxt.append(pid)
                        out.extend(graph.model_keys.get(pid, ()))
        if not nxt:
            break
        frontier = nxt
    return out
