"""Models selected by their lineage relation to another model (inferred from the weights).

Where the weights say nothing (a card-only model), a parent the card declares is used and
marked as declared.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from modellake.store.catalog import Catalog
from modellake.store.records import LineageEdge, ModelRecord
from modellake.tools.lineage.words import NOUNS, VERBS  # noqa: F401 - re-exported
from modellake.tools.model_view import name_facts
from modellake.tools.query.filters import declared_bases

RELATIONS = ("parents", "ancestors", "children", "descendants", "siblings", "family", "roots")


@dataclass
class Link:
    """How one selected model relates to the model the selection is about."""

    name: str
    depth: int               # 1: direct parent / child; 2: grandparent / grandchild ...
    relation: str            # the derivation of the edge that reaches it
    via: str                 # the model at the other end of that edge
    confidence: float | None = None
    source: str = "inferred"  # inferred (weights) | card (declared) | card text (named in its prose)
    also_via: list[str] = field(default_factory=list)  # a merge's other parents
    detail: str | None = None  # what the step did, in words ("set 50% of the weights ... to zero")

    @property
    def from_card(self) -> bool:
        return from_card(self.source)

    def edge_words(self, up: bool) -> str:
        """"minilm-sentiment was fine-tuned from all-MiniLM-L6-v2"-style phrase."""
        child, parent = (self.via, self.name) if up else (self.name, self.via)
        return f"{child} was {VERBS.get(self.relation, 'derived from')} {parent}"


def from_card(source: str | None) -> bool:
    """Whether a relation's ``source`` is a card (its metadata or its text), not the weights."""
    return str(source or "").startswith("card")


def related(catalog: Catalog, relation: str, of: str | None) -> list[Link]:
    """The models in ``relation`` to ``of`` (nearest first)."""
    from modellake.tools.lineage import infer_lineage

    graph = infer_lineage(catalog)
    if relation == "roots":
        return [Link(r, 0, "root", r) for r in graph.roots]
    assert of is not None
    if relation in ("parents", "ancestors"):
        links = _walk(graph.edges, of, up=True, max_depth=1 if relation == "parents" else 99)
        return links or _declared(catalog, of)
    if relation in ("children", "descendants"):
        found = _walk(graph.edges, of, up=False, max_depth=1 if relation == "children" else 99)
        placed = {e.child for e in graph.edges} | {f.name for f in found}
        return found + [x for x in _declared_children(catalog, of) if x.name not in placed]
    if relation == "siblings":
        out: dict[str, Link] = {}
        for e in (e for e in graph.edges if e.child == of):
            for c in (c for c in graph.edges if c.parent == e.parent):
                if c.child != of and c.child not in out:
                    out[c.child] = Link(c.child, 1, c.relation, e.parent, c.confidence)
        if not out:  # no parent in the weights: the models whose card names the same base
            for p in _declared(catalog, of):
                for x in _declared_children(catalog, p.name):
                    if x.name != of and x.name not in out:
                        out[x.name] = Link(x.name, 1, x.relation, p.name, None, "card")
        return list(out.values())
    if relation == "family":
        family = next((f for f in graph.families if of in f), [of])
        ups = {x.name: dataclasses.replace(x, relation="ancestor", via=of)  # "the parent of X", not "a fine-tune"
               for x in _walk(graph.edges, of, up=True, max_depth=99)}
        downs = {x.name: x for x in _walk(graph.edges, of, up=False, max_depth=99)}
        return [ups.get(n) or downs.get(n) or Link(n, 0, "family", of) for n in family if n != of]
    raise ValueError(f"unknown relation {relation!r}: one of {', '.join(RELATIONS)}")


def _step_detail(e: LineageEdge) -> str | None:
    """What a pruning or quantizing step did, from the edge's evidence: "50% of the weights of
    its 13 changed tensors set to zero"."""
    ev = e.evidence or {}
    coef = ev.get("coefficients")
    if e.relation == "merge" and isinstance(coef, dict) and coef:
        return "weights " + " + ".join(f"{w:g} × {p}" for p, w in sorted(coef.items()))
    gain, n = ev.get("zero_fraction_gain"), ev.get("changed_tensors")
    where = f" of its {n} changed tensors" if isinstance(n, int) and n > 0 else ""
    if e.relation == "quantized" and isinstance(ev.get("grid_rows"), (int, float)) and ev["grid_rows"] > 0:
        return f"the weights{where} rounded to a grid of at most 8 bits per row (int8-style)"
    if e.relation == "quantized" and ev.get("cast_tensors"):
        return f"the weights{where} cast to 16 bits"
    if e.relation != "pruned" or not isinstance(gain, (int, float)) or gain <= 0:
        return None
    return f"{gain:.0%} of the weights{where} set to zero"


def _walk(edges: list[LineageEdge], name: str, up: bool, max_depth: int) -> list[Link]:
    out: dict[str, Link] = {}
    frontier, depth = [name], 0
    while frontier and depth < max_depth:
        depth += 1
        nxt = []
        for n in frontier:
            for e in edges:
                if (e.child if up else e.parent) != n:
                    continue
                other = e.parent if up else e.child
                if other in out and not up and e.relation == "merge" and n != out[other].via:
                    out[other].also_via.append(n)
                if other not in out and other != name:
                    out[other] = Link(other, depth, e.relation, n, e.confidence,
                                      "card" if e.source == "declared" else "inferred",
                                      detail=_step_detail(e))
                    nxt.append(other)
        frontier = nxt
    return list(out.values())


def declared_relation(m: ModelRecord) -> str:
    """How a card says a model came from its declared base: ``base_model_relation`` when the
    card gives it, else as the Hub reads a card: an adapter, a merge when it names several
    bases, a quantized copy when its name or format says so, else only "declared"."""
    if m.card is not None and m.card.base_model_relation:
        return m.card.base_model_relation
    said = _tagged_relation(m.card.tags if m.card is not None else []) or _said_relation(
        m.card.text if m.card is not None else "")
    if m.adapter_base:
        return "adapter"
    if len(declared_bases(m)) > 1:
        return "merge"
    if m.quantization or "quantization" in name_facts(m.name, m.card.tags if m.card else None):
        return "quantized"
    return said or "declared"


def _tagged_relation(tags: list[str]) -> str | None:
    """What a card's tags say: "merge" / "mergekit", "finetune", "quantized"."""
    words = {str(t).lower() for t in tags or []}
    for rel, names in (("merge", {"merge", "mergekit"}), ("quantized", {"quantized", "4-bit", "8-bit"}),
                       ("finetune", {"finetune", "fine-tune", "fine-tuned", "finetuned"})):
        if words & names:
            return rel
    return None


def _said_relation(text: str) -> str | None:
    """How a card's own words say the model was made from its base ("a fine-tuned version of"):
    the first such phrase in the text."""
    low = (text or "")[:20000].lower()
    found = []
    for rel, rx in (("merge", r"\b(?:a|is the) (?:\w+ ){0,3}merge of\b|\bmerged (?:from|with)\b"),
                    ("quantized", r"\bquantized (?:version|copy) of\b"),
                    ("converted", r"\bonnx (?:weights|version|export)\b|\bconverted (?:to|from)\b|"
                                  r"\bport of\b"),
                    ("finetune", r"\bfine[- ]?tuned (?:version |checkpoint )?(?:of|from|on top of)\b|"
                                 r"\bfinetuned (?:version )?(?:of|from)\b|\btrained\b[^.]{0,160}\bbased "
                                 r"on\b|\bbased on\b[^.]{0,80}\b(?:fine[- ]?tun|train)")):
        m = re.search(rx, low)
        if m:
            found.append((m.start(), rel))
    return min(found)[1] if found else None


def _declared_children(catalog: Catalog, name: str) -> list[Link]:
    """Models whose card names ``name`` as base model (the caller drops those whose weights
    show another parent)."""
    out = []
    for m in catalog.list_models():
        bases = declared_bases(m)
        if any(b == name or b.split("/")[-1] == name.split("/")[-1] for b in bases) and m.name != name:
            out.append(Link(m.name, 1, declared_relation(m), name, None, "card"))
    return out


def _declared(catalog: Catalog, name: str) -> list[Link]:
    """A card-declared parent, when the weights give none; else the base the card's text names
    ("a fine-tuned version of X", a "Base model" column in its table of models)."""
    m = catalog.get_model(name)
    rel = declared_relation(m)
    bases = declared_bases(m)
    if bases or m.card is None:
        return [Link(b, 1, rel, name, None, "card") for b in bases]
    lake = {x.name.lower(): x.name for x in catalog.list_models()}
    return [Link(_lake_name(b, lake), 1, rel if r == "finetune" else r, name, None, "card text")
            for b, r in stated_bases(m.card.text, m.name)]


def stated_bases(text: str, name: str) -> list[tuple[str, str]]:
    """The base models a card's text names, the model itself left out: (name, relation)."""
    from modellake.tools.search.facets import table_base, text_bases

    own = {name.lower(), name.split("/")[-1].lower()}
    found = [(b, r) for b, r in table_base(text, name) or text_bases(text)
             if len(b) >= 5 and b.lower() not in own and b.split("/")[-1].lower() not in own
             and not _size_variant(b, name) and not set(re.split(r"[/ ]", b.lower())) & _PROSE]
    if not found:
        return []
    words = _name_words(name)  # prose names several: the one that shares most of this model's name
    best = max(found, key=lambda br: (len(words & _name_words(br[0])), -found.index(br)))
    return [br for br in found if br[1] == "merge"] if best[1] == "merge" else [best]


_PROSE = frozenset("and or either the a of".split())  # "and/or" is no repo id
_SIZE = re.compile(r"(?:\d+(?:\.\d+)?[bmk]|x?x?l|large|base|small|tiny|mini|medium|plus|pro|max|lite|v\d+)")


def _size_variant(base: str, name: str) -> bool:
    """Whether ``base`` is this model's family at another size ("gemma-2b" beside gemma-7b, "GPT-2"
    in gpt2-xl's card): another variant, not what it was made from."""
    b, n = (re.findall(r"[a-z]+|\d+(?:\.\d+)?[a-z]?", x.lower().split("/")[-1]) for x in (base, name))
    join_b, join_n = "".join(b), "".join(n)
    if join_n.startswith(join_b):  # its own name grown by size words only
        rest = re.findall(r"[a-z]+|\d+(?:\.\d+)?[a-z]?", join_n[len(join_b):])
        return all(_SIZE.fullmatch(w) for w in rest)
    core_b = [w for w in b if not _SIZE.fullmatch(w)]
    core_n = [w for w in n if not _SIZE.fullmatch(w)]
    return bool(core_b) and core_b == core_n


def _name_words(name: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9.]+", name.lower().split("/")[-1]) if len(w) >= 2}


def _lake_name(base: str, lake: dict[str, str]) -> str:
    """The lake's name for a base a card names ("bge-m3" for BAAI/bge-m3), else the name as said."""
    low = base.lower()
    if low in lake:
        return lake[low]
    tails = [v for k, v in lake.items() if k.split("/")[-1] == low.split("/")[-1]]
    return tails[0] if len(tails) == 1 else base


# -- the words people use for each relation (read by the offline planner) ----------------
# "up" phrases ask for a model's parents when the model comes before them ("what is X derived
# from") and for its children when it comes right after ("which models were derived from X").
DERIVE_VERBS = (r"(?:(?:derived|derive|derives|fine[- ]?tuned|finetuned|tuned|ft'?d|ft|trained|made|created|"
                r"distilled|quantized|quantised|pruned|merged|converted|come|comes|came|"
                r"descend|descends|descended|stem|stems|stemmed|originate|originates|originated|"
                r"forked|copied|built|build|builds|based)\s+(?:(?:anything|something|any\s+models?|models?|"
                r"a\s+model|stuff)\s+)?(?:(?:directly|straight|right|"
                r"immediately)\s+)?(?:from|off|out of|on top of)|(?:built|build|builds|based)\s+on)")
WORDS: dict[str, tuple[str, ...]] = {  # the most specific first
    "siblings": (r"\bsiblings?\b", r"\bsisters?\b", r"\bsame (?:parent|base(?: model)?)\b",
                 r"\bshares? (?:a|its|the same|their) (?:declared |common )?(?:parent|base)\b"),
    "ancestors": (r"\bancestors?\b", r"\bancestry\b", r"\bgrand-?parents?\b",
                  r"\bback to (?:its|the) root\b", r"\broot of (?:x|it)\b",
                  r"\b(?:x|its)'?s? (?:family'?s? )?root\b", r"\ball the way\b", r"\boriginally\b",
                  r"\bfull (?:lineage|history)\b", r"\b(?:two|2|three|3) (?:levels?|generations?|steps?|hops?) "
                  r"(?:up|back|above|earlier)\b"),
    "descendants": (r"\bdescendants?\b", r"\bgrand-?child(?:ren)?\b", r"\bdirectly or (?:further|indirectly|not)\b",
                    r"\bfurther down\b",
                    r"(?<!of )(?<!\ba )\bderivatives?\b(?! of)", r"\boffspring\b", r"\bdownstream\b",
                    r"\b(?:fine[- ]?tunes|finetunes|variants?|versions|quants|derived models|copies|"
                    r"derivatives) (?:of|from)\b", r"\bsuccessors?\b",
                    r"\b(?:derived|derivative) (?:models?|ones|checkpoints?|versions?)\b.{0,40}\b(?:from|of|off) "
                    r"(?:x|it|that|this|that one|this one)\b",
                    r"\b(?:two|2|three|3) (?:levels?|generations?|steps?|hops?) (?:down|below|later)\b"),
    "children": (r"\bchild(?:ren)?\b", r"\bkids\b", r"\bdirect(?:ly)? (?:derived|descendants?|"
                 r"fine[- ]?tunes?|derivatives?)\b", r"\bimmediate\b", r"\bfirst[- ]generation\b",
                 r"\b(?:name|names|declare|declares|list|lists|cite|cites|give|gives|use|uses|have|has)\s+"
                 r"(?:x|it|this|that)\s+as\s+(?:their|its|the|a)\s+(?:declared\s+)?base\b",
                 r"\b(?:built|based)\s+on\s+top\s+of\s+(?:x|it)\b",
                 r"\b(?:x's|its) (?:own )?(?:fine[- ]?tunes|finetunes|quants|merges|(?:quantized|quantised|pruned) "
                 r"(?:copies|versions))\b",
                 r"\b(?:says?|claims?|declares?|lists?)\s+(?:that\s+)?(?:it'?s|it is|it was|they'?re|they are|to be)\s+"
                 r"(?:built|based|derived|fine[- ]?tuned|trained|made)\s+(?:off|on|from)\s+(?:of\s+)?"
                 r"(?:it|x|that|this)\b"),
    "roots": (r"\broots?\b", r"\broot models?\b", r"\bfoundation models?\b",
              r"\b(?:with|have|has|having) no (?:parents?|base models?|ancestors?)\b",
              r"\bwithout (?:a |any )?(?:parents?|ancestors?)\b",
              r"\bnot derived from any\b", r"\boriginal models\b"),
    "parents": (r"\bparents?\b", r"\bbase models? (?:of|for)\b", r"\bwhat(?:'s| is) the base model\b",
                r"\b(?:who|what)(?:'s| is) the base of\b", r"\bbased on what\b", r"\bthe base of x\b",
                r"\bwhat(?:'s| is) (?:x|its)(?:'s)? base(?: model)?\s*\??$",
                r"\bmix(?:ing)? (?:weights|ratio|coefficients)\b", r"\bcoefficients\b",
                r"\bwhat(?:'s| is) the mix\b", r"\bhow much (?:was|got|were|of it (?:was|got)) (?:pruned|zeroed)\b",
                r"\bwhich base model\b", r"\bwhere does \w+ come from\b", r"\borigin(?:al)? of\b",
                r"\bwhose (?:\w+ ){0,2}(?:copy|version|fine[- ]?tune|finetune|quant|derivative)\b",
                r"\bupstream\b", r"\bpredecessor\b",
                r"\bshould (?:its |the |x's )?card (?:say|declare|list|name|state|give)\b",
                r"\bpoints? (?:at|to) (?:another|a|its|some|an?other) (?:model|base|parent|checkpoint)\b",
                r"\b(?:licen[cs]e|size|params?|parameters|format|arch\w*|task)\s*(?:and|,|&|/|\+)\s*(?:its |the )?"
                r"base(?: model)?\s*[?.!]*$", r"^\W*(?:x\W+)?base(?: model)?\s*(?:and|,|&|/|\+)\s*(?:licen[cs]e|size|"
                r"params?|parameters)\b",
                r"\b(?:correct|right|real|true|actual) (?:base|parent)\b", r"\bfrom (?:what|which)\b",
                r"\bderivation\b",
                r"\b(?:kind|sort|type) of derivative\b", r"\bof (?:what|which) model\b",
                r"\bhow (?:was|is|were) (?:x|it) (?:made|derived|created|produced|obtained|built)\b",
                r"\ba (?:fine[- ]?tune|finetune|quantized (?:copy|version)|quant|merge|pruned "
                r"(?:copy|version)|copy|derivative|distillation) of\b",
                r"\bis \w+ (?:a )?(?:fine[- ]?tune|finetune|merge|quantized|pruned)\b.*\bor\b",
                r"\b(?:does|did) (?:x|it|that merge|this merge|the merge) (?:actually |really )?"
                r"(?:combine|blend|mix)\b",
                r"\b(?:what|which)(?: \w+)?(?: models?)? (?:went|go|goes|were put) into\b",
                r"\bhow (?:was|is|were) (?:that|this|the) (?:model|one|winner)\b.{0,12}\b(?:made|derived|created|"
                r"produced|obtained|built)\b",
                r"\b(?:go|going|step|move|walk) up one\b|\bone (?:level|step|generation|hop) up\b"),
    "family": (r"\bfamily\b", r"\brelatives\b", r"\b(?:same|shared?|common) (?:lineage|ancestry|"
               r"ancestors?|base)\b", r"\brelated\b",
               r"\bpath (?:from|between)\b", r"\blineage (?:path|between|from)\b",
               r"\bconnection\b", r"\blink(?:ed)?\b",
               r"\brelation(?:ship)?\b", r"\bconnected\b", r"\brelative to\b", r"\brelates?\b",
               r"\bto the (?:rest|others)\b", r"\bto the other (?:models|ones|checkpoints)\b"),
}
# the derivation a question names ("is X quantized from Y", "is it a merge")
KIND_WORDS: dict[str, str] = {
    "finetune": r"\bfine[- ]?tun\w*|\bfinetun\w*",
    "quantized": r"\bquanti[sz]\w*|\bquant\b|\b(?:int[48]|[248][- ]?bit|gguf|awq|gptq)(?= (?:copy|version))",
    "pruned": r"\bprun\w*", "merge": r"\bmerg\w*", "adapter": r"\badapter\b|\blora\b",
    "duplicate": r"\bcop(?:y|ies)\b|\bduplicate\b",
}
