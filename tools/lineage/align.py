"""Tensor alignment across layouts: which tensor of one model is which tensor of another.

The derivations people make most often change the layout: a task head adds a
prefix (``bert.``, ``model.``, ``transformer.``) and a classifier, added tokens
append rows to the embeddings, structured pruning drops whole layers, a GGUF
export renames everything (``blk.N.attn_q``) and may transpose or permute. Here
both models are read under *canonical* names (task prefix stripped, GGUF names
mapped back through the ``gguf`` package's tables), then lined up:

* equal shapes are compared whole; shapes that differ only in their rows
  (a resized vocabulary) are compared on the rows both have; a transposed 2-D
  tensor (GPT-2's Conv1D in GGUF) is compared transposed;
* when the layer counts differ, each layer of the smaller stack is matched to
  one layer of the larger by their weights (an order-keeping assignment), so a
  copy of layers 0, 2, 3, 5 lines up with those layers;
* whatever has no counterpart is reported: new heads, dropped layers, the
  pooler that appeared or went.

``AlignedPair`` then exposes both models under the child's names, trimmed to
the common rows, as the ``compare`` machinery expects.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

LAYER = re.compile(r"(?:^|\.)(?:layer|layers|h|blk|block|blocks)\.(\d+)\.")
TASK_HEAD = re.compile(r"(?:^|\.)(classifier|score|qa_outputs|pre_classifier|seq_relationship|"
                       r"cls\.seq_relationship|lm_head_classifier)(?:\.|$)")
WORD_EMBED = re.compile(r"(?:word_embeddings|embed_tokens|wte|token_embd|tok_embeddings|"
                        r"embed_in)\.weight$")
_PREFIX_SHARE = 0.25   # a first name component on this share of the tensors may be a task prefix
_STEM = {"embeddings", "encoder", "layers", "layer", "h", "blk", "decoder", "norm", "wte", "wpe",
         "embed_tokens", "pooler", "ln_f", "lm_head", "cls", "classifier", "score", "output",
         "token_embd", "output_norm"}  # first components that are part of a model's own body


_BODY = {"embeddings", "encoder", "decoder", "model", "transformer", "bert", "roberta", "cls"}


class ShapedReader(Protocol):
    def names(self) -> list[str]: ...
    def shape(self, name: str) -> list[int]: ...
    def get(self, name: str) -> np.ndarray: ...


# ----------------------------------------------------------------- canonical names

def prefixes(names: list[str]) -> list[str]:
    """Task prefixes a model's tensor names may carry ('' always)."""
    firsts = Counter(n.split(".", 1)[0] for n in names if n.count(".") >= 2)
    return [""] + [f for f, c in firsts.most_common(3)
                   if c >= _PREFIX_SHARE * len(names) and f not in _STEM]


def strip(name: str, prefix: str) -> str:
    return name[len(prefix) + 1:] if prefix and name.startswith(prefix + ".") else name


class Canonical:
    """A reader under canonical names (its task prefix stripped)."""

    def __init__(self, reader: Any, prefix: str = "", shapes: dict[str, list[int]] | None = None):
        self.reader, self.prefix = reader, prefix
        real = reader.names()
        self.real = {strip(n, prefix): n for n in real}
        self._shapes = shapes

    def names(self) -> list[str]:
        return list(self.real)

    def shape(self, name: str) -> list[int]:
        real = self.real[name]
        if self._shapes is not None and real in self._shapes:
            return list(self._shapes[real])
        return list(self.reader.shape(real))

    def get(self, name: str) -> np.ndarray:
        return self.reader.get(self.real[name])


def best_prefixes(a_names: list[str], b_names: list[str]) -> tuple[str, str]:
    """The pair of task prefixes under which the most tensor names agree."""
    best = ("", "", -1)
    for pa in prefixes(a_names):
        sa = {strip(n, pa) for n in a_names}
        for pb in prefixes(b_names):
            hits = sum(strip(n, pb) in sa for n in b_names)
            if hits >= best[2]:  # on a tie the prefixes are stripped: the names read shorter
                best = (pa, pb, hits)
    return best[0], best[1]


# ----------------------------------------------------------------- layers

def layer_of(name: str) -> tuple[str, int] | None:
    """(template with ``{}`` for the index, layer index) of a per-layer tensor."""
    m = LAYER.search(name)
    if m is None:
        return None
    s, e = m.span(1)
    return name[:s] + "{}" + name[e:], int(m.group(1))


def expand_layers(names: list[str], n: int) -> list[str]:
    """``names`` with every per-layer template repeated for layers 0..n-1 (a GGUF read under
    a reference layout may hold more layers than the reference)."""
    out = dict.fromkeys(names)
    for name in names:
        lay = layer_of(name)
        if lay is not None:
            out.update(dict.fromkeys(lay[0].format(i) for i in range(n)))
    return list(out)


def layer_count(names: list[str]) -> int:
    idx = {x[1] for n in names if (x := layer_of(n)) is not None}
    return max(idx) + 1 if idx else 0


def monotone_match(cost: np.ndarray) -> list[int]:
    """For each row (layer of the smaller stack) a distinct column, in increasing order,
    minimizing the total cost (rows <= columns)."""
    r, c = cost.shape
    inf = math.inf
    best = np.full((r + 1, c + 1), inf)
    best[0, :] = 0.0
    for i in range(1, r + 1):
        for j in range(i, c + 1):
            take = best[i - 1, j - 1] + cost[i - 1, j - 1]
            best[i, j] = min(best[i, j - 1], take)
    out, j = [], c
    for i in range(r, 0, -1):
        while j > i and best[i, j] == best[i, j - 1]:
            j -= 1
        out.append(j - 1)
        j -= 1
    return out[::-1]


# ----------------------------------------------------------------- alignment

@dataclass
class Match:
    b: str            # the child's canonical name (the name the pair is read under)
    a: str            # the parent's canonical name
    how: str          # same | rows | transposed
    rows: int = 0     # rows compared ("rows": the smaller count)


@dataclass
class Alignment:
    """How the tensors of ``b`` (would-be child) line up with those of ``a``."""

    matches: list[Match] = field(default_factory=list)
    a_only: list[str] = field(default_factory=list)
    b_only: list[str] = field(default_factory=list)
    resized: dict[str, tuple[int, int]] = field(default_factory=dict)  # b name -> (a rows, b rows)
    layers_a: int = 0
    layers_b: int = 0
    layer_map: dict[int, int] = field(default_factory=dict)  # smaller stack's layer -> larger's
    numel_a: int = 0
    numel_b: int = 0
    matched_a: int = 0
    matched_b: int = 0
    prefix_a: str = ""
    prefix_b: str = ""

    @property
    def coverage_a(self) -> float:
        """Share of a's elements that have a counterpart in b."""
        return self.matched_a / self.numel_a if self.numel_a else 0.0

    @property
    def coverage_b(self) -> float:
        return self.matched_b / self.numel_b if self.numel_b else 0.0

    @property
    def same_layout(self) -> bool:
        return not (self.a_only or self.b_only or self.resized or self.layers_a != self.layers_b)

    def kept_layers(self) -> list[int] | None:
        """The layers of the larger stack the smaller one keeps (None: equal stacks)."""
        if self.layers_a == self.layers_b or not self.layer_map:
            return None
        return sorted(self.layer_map.values())

    def head_side(self) -> str | None:
        """'a' or 'b': the model that alone has a task head (classifier, score...)."""
        ha = any(TASK_HEAD.search(n) for n in self.a_only)
        hb = any(TASK_HEAD.search(n) for n in self.b_only)
        return "a" if ha and not hb else "b" if hb and not ha else None

    def appended_rows(self) -> int:
        """Rows b's word embedding has beyond a's (negative: fewer)."""
        for b, (ra, rb) in self.resized.items():
            if WORD_EMBED.search(b):
                return rb - ra
        return 0

    def direction(self) -> int:
        """+1 when the layouts say a is the parent, -1 when b is, 0 when they do not say.

        A derivation adds a task head and appends vocabulary rows; structured pruning
        drops layers. Cues that disagree cancel out.
        """
        vote = 0
        side = self.head_side()
        vote += 1 if side == "b" else -1 if side == "a" else 0
        rows = self.appended_rows()
        vote += 1 if rows > 0 else -1 if rows < 0 else 0
        vote += 1 if self.layers_a > self.layers_b else -1 if self.layers_a < self.layers_b else 0
        return (vote > 0) - (vote < 0)

    def to_dict(self) -> dict[str, Any]:
        """The layout facts an edge reports as evidence."""
        out: dict[str, Any] = {"coverage_parent": round(self.coverage_a, 4),
                               "coverage_child": round(self.coverage_b, 4)}
        if self.prefix_a != self.prefix_b:
            out["prefix"] = {"parent": self.prefix_a or None, "child": self.prefix_b or None}
        if self.resized:
            out["resized_rows"] = {b: list(r) for b, r in self.resized.items()}
        if (rows := self.appended_rows()) > 0:
            out["appended_vocab_rows"] = rows
        if (kept := self.kept_layers()) is not None:
            out["kept_layers"] = kept
            out["of_layers"] = max(self.layers_a, self.layers_b)
        if self.b_only:
            out["new_tensors"] = groups(self.b_only)
        if self.a_only:
            out["dropped_tensors"] = groups(self.a_only)
        return out


def module_of(name: str) -> str:
    """A tensor's module: 'layer 4', 'classifier', 'pooler', 'embeddings.token_type_embeddings'."""
    lay = layer_of(name)
    if lay is not None:
        return f"layer {lay[1]}"
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] in _BODY and len(parts) > 2 else parts[0]


def groups(names: list[str]) -> list[str]:
    """Tensor names folded to their modules, each once, in order of first appearance."""
    return list(dict.fromkeys(module_of(n) for n in names))


def _shape_match(sa: list[int], sb: list[int]) -> tuple[str, int] | None:
    if sa == sb:
        return "same", sa[0] if sa else 0
    if len(sa) == 2 and sa[::-1] == sb:
        return "transposed", 0
    if len(sa) == len(sb) >= 2 and sa[1:] == sb[1:]:  # resized rows (a vocabulary)
        return "rows", min(sa[0], sb[0])
    if len(sa) == len(sb) == 1 and abs(sa[0] - sb[0]) <= max(8, sa[0] // 50):
        # a vocabulary-sized bias with a few appended entries (not a norm of another width)
        return "rows", min(sa[0], sb[0])
    return None


def structural(a: ShapedReader, b: ShapedReader, layer_map: dict[int, int] | None = None,
               b_smaller: bool = True) -> Alignment:
    """Line up canonical names and shapes; ``layer_map`` maps the smaller stack's layer
    indices to the larger's (``b_smaller``: b is the smaller stack)."""
    al = Alignment(layers_a=layer_count(a.names()), layers_b=layer_count(b.names()),
                   layer_map=dict(layer_map or {}))
    a_names = set(a.names())
    used: set[str] = set()
    for n in b.names():
        target = _mapped(n, al.layer_map, to_a=b_smaller) if al.layer_map else n
        sb = b.shape(n)
        al.numel_b += math.prod(sb)
        hit = _shape_match(a.shape(target), sb) if target in a_names else None
        if hit is not None and hit[0] == "same" and _stored_transposed(a, target, b, n):
            hit = ("transposed", 0)  # a square Conv1D weight in a GGUF file
        if hit is None:
            al.b_only.append(n)
            continue
        how, rows = hit
        al.matches.append(Match(n, target, how, rows))
        used.add(target)
        if how == "rows":
            al.resized[n] = (a.shape(target)[0], sb[0])
            al.matched_b += rows * math.prod(sb[1:])
        else:
            al.matched_b += math.prod(sb)
    for n in a.names():
        sa = a.shape(n)
        al.numel_a += math.prod(sa)
        if n not in used:
            al.a_only.append(n)
        else:
            m = next(x for x in al.matches if x.a == n)
            al.matched_a += m.rows * math.prod(sa[1:]) if m.how == "rows" else math.prod(sa)
    return al


def _stored_transposed(a: ShapedReader, na: str, b: ShapedReader, nb: str) -> bool:
    """One side stores this 2-D weight transposed (a reader that knows says so)."""
    flag_a = getattr(a, "transposed", None)
    flag_b = getattr(b, "transposed", None)
    return len(b.shape(nb)) == 2 and (bool(flag_a and flag_a(na)) != bool(flag_b and flag_b(nb)))


def _mapped(name: str, layer_map: dict[int, int], to_a: bool) -> str:
    lay = layer_of(name)
    if lay is None:
        return name
    template, i = lay
    if to_a:
        j = layer_map.get(i)
    else:
        j = next((k for k, v in layer_map.items() if v == i), None)
    return template.format(j) if j is not None else name + "#unmatched"


def align(a: ShapedReader, b: ShapedReader) -> Alignment:
    """The alignment of ``b`` onto ``a`` (both under canonical names), matching layers by
    their weights when the stacks differ in depth."""
    la, lb = layer_count(a.names()), layer_count(b.names())
    if la == lb or not la or not lb:
        return structural(a, b)
    small, big = (b, a) if lb < la else (a, b)
    cost = _layer_costs(small, big)
    if cost is None:
        return structural(a, b)
    pick = monotone_match(cost)
    return structural(a, b, dict(enumerate(pick)), b_smaller=lb < la)


def _layer_costs(small: ShapedReader, big: ShapedReader) -> np.ndarray | None:
    """Relative distance of every layer of ``small`` to every layer of ``big`` over the
    matrices both layers have (the first two of each layer: enough to tell)."""
    ls, lbig = layer_count(small.names()), layer_count(big.names())
    templates = [t for t, i in (layer_of(n) or ("", -1) for n in small.names()) if i == 0]
    big_names = set(big.names())
    usable = [t for t in templates if t.format(0) in big_names and len(small.shape(t.format(0))) == 2
              and small.shape(t.format(0)) == big.shape(t.format(0))][:2]
    if not usable:
        return None
    cost = np.zeros((ls, lbig))
    for t in usable:
        xs = [np.asarray(small.get(t.format(i)), np.float32).ravel() for i in range(ls)]
        ys = [np.asarray(big.get(t.format(j)), np.float32).ravel() for j in range(lbig)
              if t.format(j) in big_names]
        if len(ys) != lbig:
            return None
        for i, x in enumerate(xs):
            for j, y in enumerate(ys):
                d = x - y
                den = float(x @ x + y @ y) or 1.0
                cost[i, j] += float(d @ d) / den
    return cost


# ----------------------------------------------------------------- reading a pair

class AlignedView:
    """One side of an aligned pair, read under the child's names and the common rows."""

    def __init__(self, reader: ShapedReader, al: Alignment, side: str) -> None:
        self.reader, self.side = reader, side
        self.by_name = {m.b: m for m in al.matches}

    def names(self) -> list[str]:
        return list(self.by_name)

    def total(self) -> int:
        """Elements compared over all aligned tensors (what the comparison's quantiles need)."""
        n = 0
        for m in self.by_name.values():
            shape = self.reader.shape(m.a if self.side == "a" else m.b)
            n += m.rows * math.prod(shape[1:]) if m.how == "rows" else math.prod(shape)
        return n

    def get(self, name: str) -> np.ndarray:
        m = self.by_name[name]
        x = np.asarray(self.reader.get(m.a if self.side == "a" else m.b))
        if m.how == "transposed" and self.side == "a":
            x = x.T
        if m.how == "rows":
            x = x[:m.rows]
        return np.ascontiguousarray(x)


def aligned_readers(a: ShapedReader, b: ShapedReader, al: Alignment) -> tuple[AlignedView, AlignedView]:
    """(parent view, child view) for ``compare(child_view, [parent_view], names=...)``."""
    return AlignedView(a, al, "a"), AlignedView(b, al, "b")
