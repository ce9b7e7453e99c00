"""From a model record to what search indexes: facets, lexical fields and card chunks.

Facets are the structured values that constraints test (task, license,
parameters, formats, quantization, languages, libraries, architectures, declared
base models, results). Each records where it came from (weights, config, card
YAML, card name, card text), because card-only models rarely state everything.

Chunks are section-aware: the card is cleaned (HTML, images, badges, link
targets dropped; code blocks shortened), split on Markdown headings (never
inside code), and each section is cut into passages of about ``CHUNK_WORDS``
words, prefixed with the card's title and the section's heading path. The
first chunk is a header: the title plus the key facts plus the lead paragraph.
"""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from typing import Any

from modellake.store.fts import IndexedDoc
from modellake.store.records import ModelRecord
from modellake.tools.model_facts import count_text
from modellake.tools.search.facets import facets
from modellake.tools.search.sections import sections

CHUNK_WORDS = 120
MAX_CHUNKS = 24
PASSAGE_WORDS = 400  # words of card passages embedded per model (the dense index's budget)
KEY_SECTION = re.compile(r"descri|summary|overview|introduc|about|intended|\buses?\b|purpose|capabilit|"
                         r"limitation|bias|risk|out[- ]of[- ]scope|eval|result|benchmark|perform|"
                         r"train|dataset|data\b|fine-?tun|task|language", re.I)
SKIP_SECTION = re.compile(r"citation|bibtex|cite|reference|acknowledg|thank|contact|author|licen[cs]e|"
                          r"framework versions|table of contents|changelog|news|updates?\b|"
                          r"disclaimer|contribut|provided files|download|join|discord|sponsor", re.I)
LEAD_WORDS = 25
DOC_VERSION = 16  # bump when facets or chunks change: the index is rebuilt


def _split_words(body: str, limit: int) -> list[str]:
    """Cut a section body into passages of at most ``limit`` words, on line boundaries when possible."""
    pieces: list[str] = []
    cur: list[str] = []
    for line in body.split("\n"):
        words = line.split()
        while words:
            room = limit - len(cur)
            if len(words) <= room:
                cur.extend(words)
                words = []
            elif cur and len(words) <= limit:
                pieces.append(" ".join(cur))
                cur = []
            else:
                cur.extend(words[:room])
                words = words[room:]
                pieces.append(" ".join(cur))
                cur = []
    if cur:
        pieces.append(" ".join(cur))
    return pieces


# -- chunks and lexical fields ------------------------------------------------------------
def _fact_line(f: dict[str, Any]) -> str:
    bits = []
    if f["tasks"]:
        bits.append("Task: " + ", ".join(f["tasks"][:3]))
    if f["architectures"]:
        bits.append("Architecture: " + ", ".join(f["architectures"][:3]))
    if f["params"]:
        p = f["params"]
        bits.append(f"Parameters: {count_text(p)}")  # 22.7M, 1.2B, 26.8K
    if f["bases"]:
        bits.append("Base model: " + ", ".join(b["parent"] for b in f["bases"][:3]))
    langs = [x for x in f["languages"] if x != "multilingual"]
    if len(langs) > 8:
        bits.append(f"Languages: multilingual ({len(langs)} languages)")
    elif langs:
        bits.append("Languages: " + ", ".join(langs))
    if f["datasets"]:
        bits.append("Datasets: " + ", ".join(f["datasets"][:5]))
    if f["data_about"]:
        bits.append("About its data: " + "; ".join(f["data_about"]))
    if f["libraries"]:
        bits.append("Library: " + ", ".join(f["libraries"][:4]))
    if f["quant_methods"]:
        bits.append("Quantization: " + ", ".join(
            f["quant_methods"] + [f"{b:g}-bit" for b in f["quant_bits"][:3]]))
    tags = [t for t in f["tags"] if t.lower() not in {"transformers", "pytorch", "safetensors"}][:10]
    if tags:
        bits.append("Tags: " + ", ".join(tags))
    if f["licenses"]:
        bits.append("License: " + ", ".join(f["licenses"]))
    return ". ".join(bits)


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:20]


@dataclass
class Chunk:
    section: str
    text: str


def _header(f: dict[str, Any], secs: list[tuple[list[str], str]]) -> Chunk:
    """The model's title, its facts in one line and the opening words of its card."""
    lead = next((" ".join(body.split()[:LEAD_WORDS]) for _p, body in secs if len(body.split()) >= 8), "")
    return Chunk("(summary)", f"{f['title']}. " + _fact_line(f) + (f". {lead}" if lead else ""))


def _passages(secs: list[tuple[list[str], str]], title: str) -> list[tuple[int, Chunk]]:
    """Every section passage with its priority (0: what the model is for and how it does;
    1: the rest; boilerplate such as citations and licence texts is left out)."""
    out = []
    for path, body in secs:
        heading = " > ".join(path)
        if path and SKIP_SECTION.search(path[-1]):
            continue
        # the section's own headings, not the card's title: the header chunk names the model,
        # and a section shared by many cards (boilerplate) keeps one text, embedded once
        local = " > ".join(path[1:]) if len(path) > 1 else (path[0] if path and path[0] != title else "")
        rank = 0 if not path or len(path) == 1 and path[0] == title or KEY_SECTION.search(heading) else 1
        for piece in _split_words(body, CHUNK_WORDS):
            if len(piece.split()) >= 6:
                out.append((rank, Chunk(heading or "(intro)", f"{local}: {piece}" if local else piece)))
    return out


def chunks(model: ModelRecord, f: dict[str, Any]) -> list[Chunk]:
    """Header chunk, then the passages that matter most, in card order, within
    ``PASSAGE_WORDS`` words and ``MAX_CHUNKS`` chunks (the full text stays in the lexical index)."""
    secs = sections(model.card.text) if model.card else []
    found = _passages(secs, f["title"])
    keep: set[int] = set()
    words = 0
    for i in sorted(range(len(found)), key=lambda i: (found[i][0], i)):
        n = len(found[i][1].text.split())
        if len(keep) + 1 >= MAX_CHUNKS or (keep and words + n > PASSAGE_WORDS):
            break
        keep.add(i)
        words += n
    return [_header(f, secs)] + [c for i, (_, c) in enumerate(found) if i in keep]


_built: dict[tuple[Any, ...], tuple[IndexedDoc, list[Chunk]]] = {}
_built_lock = threading.Lock()


def build(model: ModelRecord) -> tuple[IndexedDoc, list[Chunk]]:
    """The indexed document of one model version, and its chunks (not yet embedded). The
    last few are kept: an ingest builds each new model's document once, to embed its
    passages while the next model is read, and the index takes it from there."""
    assert model.id is not None
    key = (model.id, model.version, model.name, model.content_hash)
    with _built_lock:
        got = _built.get(key)
    if got is None:
        got = _build(model)
        with _built_lock:
            if len(_built) >= 256:
                _built.clear()
            _built[key] = got
    return got


def _build(model: ModelRecord) -> tuple[IndexedDoc, list[Chunk]]:
    f = facets(model)
    cs = chunks(model, f)
    meta = " ".join([
        " ".join(f["aliases"][1:]), " ".join(f["tags"]), " ".join(f["datasets"]),
        " ".join(f["tasks"]), " ".join(f["libraries"]), " ".join(f["architectures"]),
        " ".join(f["languages"]), " ".join(f["licenses"]), " ".join(b["parent"] for b in f["bases"]),
        " ".join(f["formats"]), " ".join(f["quant_methods"]), " ".join(f["libraries_text"]),
        " ".join(f["data_about"]),
    ])
    body = "\n".join(f"{' > '.join(p)}\n{b}" for p, b in sections(model.card.text)) if model.card else ""
    doc = IndexedDoc(model_id=model.id, name=model.name, title=f["title"], meta=meta, body=body,
                     facets=f, chunks=[(f"{model.id}:{i}", c.section, c.text, _hash(c.text))
                                       for i, c in enumerate(cs)])
    return doc, cs
