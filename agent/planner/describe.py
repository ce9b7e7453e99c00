"""A model pointed at by what it is rather than by its name: "the 8-bit copy", "whats the 8bit
minilm called", "the smollm gguf", "minilm-sentiment vs its topic fine-tune".

A phrase after "the / its / my / our / that" whose words all describe lake models (the words
of :mod:`modellake.tools.query.describe`: name parts, format, architecture, quantization,
derivation) and that fits exactly one model is that model: the question is read with its name
in place of the phrase. A phrase that fits several models, or none, is left as it was (the
reading then asks which one, or says the lake has none).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from modellake.tools.query.describe import DERIVED, norm

# a head noun: the phrase names a model by it, and says nothing itself ("the 8-bit copy")
HEADS = frozenset({"copy", "one", "model", "version", "variant", "checkpoint", "ckpt", "build", "port",
                   "conversion", "weights", "file", "thing"})
# head nouns that also say how it was derived
HEAD_MEANS = {"quant": "quant", "finetune": "finetune", "ft": "finetune", "merge": "merge"}
# words that describe by relation, rank or position, never by what a model is
NOT_DESCRIPTIVE = frozenset(
    "base parent parents root child children original source teacher student other others previous last "
    "first second third same new newer old older best worst biggest smallest largest top main whole "
    "entire current lake following above below latter former card cards readme license config name size "
    "files it its they them their this that these those was is are be been from on in of to a an and or with "
    "for by as at i we you me my our your which what who how do does did has have can".split())
# nouns a describing phrase qualifies ("the llama3 license"): the phrase is then no model
MODIFIED = frozenset("license licence licensed family families series line architecture arch format tokenizer "
                     "template style type kind team org organization company paper dataset datasets task "
                     "benchmark leaderboard".split())
_DETERMINER = re.compile(r"\b(the|its|their|my|our|that|this)\s+", re.I)
_TOKEN = re.compile(r"[A-Za-z0-9][\w.-]*[A-Za-z0-9]|[A-Za-z0-9]")
MAX_WORDS = 4


_ROOT_OF = re.compile(r"\b(?:the\s+)?(?:base|original|root|parent|plain|vanilla)\s+([a-z][a-z0-9]{2,})\b"
                      r"(?!\s+(?:model|models|of)\b[^?]*\bof\b)", re.I)


def owners_and_roots(word: str, names: list[str], derived: Callable[[], frozenset[str]]) -> tuple[list[str], list[str]]:
    """The models whose names carry ``word`` ("minilm"), and of those the ones the version graph
    derives from no other (the family's roots; read only when several carry it)."""
    owners = [n for n in names if word.lower() in re.split(r"[^a-z0-9]+", n.lower())]
    if len(owners) < 2:
        return owners, owners
    made = derived()
    return owners, [n for n in owners if n not in made]


def _root(text: str, names: list[str], derived: Callable[[], frozenset[str]]) -> str:
    """"base minilm vs the pruned one": of the models whose names carry the word, the one derived
    from no other (the family's root), when exactly one is."""
    def swap(m: re.Match[str]) -> str:
        owners, roots = owners_and_roots(m.group(1), names, derived)
        return roots[0] if len(owners) >= 2 and len(roots) == 1 else m.group(0)
    return _ROOT_OF.sub(swap, text)


_GROUP = re.compile(r"\b(?:the|all(?: the)?|our|my)\s+([a-z][a-z0-9]{2,})\s+(?:models|ones|checkpoints|variants)\b",
                    re.I)


def _group(text: str, names: list[str], words_of: Callable[[bool], Mapping[str, frozenset[str]]]) -> str:
    """"the minilm models compared with gemma": every model whose name carries the word, named;
    not when the word also describes other models ("the llama models": an architecture)."""
    def swap(m: re.Match[str]) -> str:
        word = m.group(1).lower()
        owners = [n for n in names if word in re.split(r"[^a-z0-9]+", n.lower())]  # no roots: all of them
        described = words_of(False)
        if not 2 <= len(owners) <= 12 or any(word in described.get(n, frozenset()) for n in names if n not in owners):
            return m.group(0)
        return ", ".join(owners[:-1]) + " and " + owners[-1]
    return _GROUP.sub(swap, text)


def resolve(text: str, names: list[str], words_of: Callable[[bool], Mapping[str, frozenset[str]]],
            derived: Callable[[], frozenset[str]] = frozenset) -> str:
    """``text`` with each phrase that describes exactly one lake model replaced by its name.
    ``words_of(with_lineage)``: model -> its describing words (the lineage's derivations are
    read only when a phrase uses one: "copy", "fine-tune", "pruned"); ``derived()``: the models
    the version graph derives from another ("base minilm": the one that is not)."""
    if not names:
        return text
    text = _group(_root(text, names, derived), names, words_of)
    said = {n.lower() for n in names if n.lower() in text.lower()}
    out, at = [], 0
    for m in _DETERMINER.finditer(text):
        if m.start() < at:
            continue
        hit = _phrase(text, m.end(), names, words_of, said)
        if hit is None:
            continue
        end, name = hit
        out.append(text[at:m.start()] + name)
        at = end
    return "".join(out) + text[at:] if out else text


def _phrase(text: str, start: int, names: list[str], words_of: Callable[[bool], Mapping[str, frozenset[str]]],
            said: set[str]) -> tuple[int, str] | None:
    """(where the phrase starting at ``start`` ends, the one model it describes), or None."""
    tokens: list[re.Match[str]] = []
    pos = start
    while len(tokens) < MAX_WORDS:
        t = _TOKEN.match(text, pos)
        if t is None:
            break
        tokens.append(t)
        gap = re.match(r"[ \t]+", text[t.end():])
        if gap is None:
            break
        pos = t.end() + gap.end()
    head = next((i for i, t in enumerate(tokens) if norm(t.group(0)) in HEADS or _plural(norm(t.group(0)))), None)
    tokens = tokens if head is None else tokens[:head + 1]  # "the int8 copy quantized from": the copy
    if any(re.match(r"\s+of\b", text[t.end():]) for t in tokens):
        return None  # "the 8-bit copy of X": a relation the question asks
    for n in range(len(tokens), 0, -1):
        words = [norm(t.group(0)) for t in tokens[:n]]
        if _plural(words[-1]):
            continue  # "the gguf models": several
        after = re.match(r"\s+([A-Za-z]+)", text[tokens[n - 1].end():])
        if after and after.group(1).lower() in MODIFIED:
            continue  # "the llama3 license", "the gemma family": what the words qualify, not a model
        name = _one(words, names, words_of)
        if name is not None and name.lower() not in said:
            return tokens[n - 1].end(), name
    return None


def _plural(word: str) -> bool:
    return word in ("copies", "ones", "models", "versions", "variants", "checkpoints", "ckpts", "quants",
                    "finetunes", "merges", "builds", "ports")


def _one(words: list[str], names: list[str], words_of: Callable[[bool], Mapping[str, frozenset[str]]]) -> str | None:
    """The one model every describing word fits, when the words describe (one at least is not a
    head noun, none ranks or relates)."""
    if any(w in NOT_DESCRIPTIVE or not w for w in words):
        return None
    wanted = [HEAD_MEANS.get(w, w) for w in words if w not in HEADS]
    if not wanted:
        return None
    described = words_of(any(w in DERIVED or w in HEAD_MEANS.values() or w == "copy" for w in words))
    fits = [n for n in names if all(_fits(w, described.get(n, frozenset())) for w in wanted)]
    return fits[0] if len(fits) == 1 else None


def _fits(word: str, described: frozenset[str]) -> bool:
    return word in described or (len(word) >= 4 and any(d.startswith(word) for d in described))
