"""A model's facets: the facts search filters and ranks on, read from its record and card.

Task, license, size, context length, languages, libraries, architectures, formats,
quantization, declared and stated base models, chat, reported results; each value with where it
came from (metadata, the card's YAML, its text, the model's name).
"""
from __future__ import annotations

import itertools
import re
from typing import Any

from modellake.store.records import CardInfo, ModelRecord
from modellake.tools.cards.naming import declared_repo_id
from modellake.tools.search import vocab as V
from modellake.tools.search.families import makers
from modellake.tools.search.glossary import about
from modellake.tools.search.sections import sections

# -- names ------------------------------------------------------------------------------
_GENERIC_TITLE = re.compile(
    r"^(model( card| summary| details| information| description| overview| architecture)?|"
    r"introduction|overview|description|summary|about|updates?|news|welcome|documentation|usage|"
    r"table of contents|contents|community|quick ?start|getting started|how to use|"
    r"use with \w+|downloading the model|model card for|license|citation|"
    r"intended uses?( & limitations)?|training( procedure| details)?|evaluation|results|"
    r".*\b(updated?|release notes?|changelog|news|announcements?|disclaimer|important|warning|notice|"
    r"deprecated|obsolete)\b.*)$", re.I)


def title_of(card: CardInfo | None, name: str) -> str:
    """A human title: the model-index or YAML name, else the card's opening H1 when it names
    something (not "Model Details"), else the model's name."""
    if card is None:
        return name
    for entry in card.model_index:
        if isinstance(entry, dict) and entry.get("name"):
            return str(entry["name"]).strip()[:200]
    for key in ("model_name", "pretty_name"):
        if isinstance(card.metadata.get(key), str) and card.metadata[key].strip():
            return card.metadata[key].strip()[:200]
    return _first_heading(card) or name


def _first_heading(card: CardInfo) -> str | None:
    """The card's opening H1, when it names something (not "Model Details")."""
    for path, _ in sections(card.text)[:6]:
        if len(path) == 1:
            h = path[0].strip(" :.-")
            if len(h) > 2 and not _GENERIC_TITLE.match(h):
                return h[:200]
    return None


def aliases_of(card: CardInfo | None, name: str, title: str) -> list[str]:
    """Names this model goes by: its lake name, title, model-index and YAML names, opening H1."""
    out = [name, title]
    if card is not None:
        for entry in card.model_index:
            if isinstance(entry, dict) and entry.get("name"):
                out.append(str(entry["name"]))
        for key in ("model_name", "model_id", "pretty_name"):
            if isinstance(card.metadata.get(key), str):
                out.append(card.metadata[key])
        h1 = _first_heading(card)
        if h1:
            out.append(h1)
        own = declared_repo_id(card, [b for b, _ in text_bases(card.text)])
        if own and _agrees(own, out[1:]):
            out.append(own)
    seen: list[str] = []
    for a in out:
        a = a.strip()
        if a and a not in seen:
            seen.append(a)
    return seen


def _agrees(repo_id: str, names: list[str]) -> bool:
    """A repo id found in a card's code or links is taken as the model's own name when the
    card gives no other, or when it shares a word with them (not just a loaded base model)."""
    words = {t for n in names for t in re.findall(r"[a-z]{3,}", n.lower())} - {"model", "card", "for", "the"}
    if not words:
        return True
    return bool(words & set(re.findall(r"[a-z]{3,}", repo_id.rsplit("/", 1)[-1].lower())))


# -- facets -----------------------------------------------------------------------------
_SIZE = re.compile(r"(?<![\w.])(?:(\d+)\s*x\s*)?(\d+(?:\.\d+)?)\s*([bm])(?![a-z0-9])", re.I)
_TEXT_SIZE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(billion|million|b|m)\b[\s-]*(?:total\s+)?param", re.I)
_CTX_NAME = re.compile(r"(?<![\w.])(\d+)k(?![a-z0-9])", re.I)
_CTX_TEXT = re.compile(
    r"(?:context(?:[- ]length| window| size| of)?|sequence length)\D{0,25}?(\d+(?:,\d{3})*|\d+)"
    r"\s*(k\b|k tokens|tokens)"
    r"|(\d+)\s*k[\s-]+(?:tokens?\s+)?(?:of\s+)?context", re.I)


def _name_size(text: str) -> int | None:
    """Largest parameter count written in a name ("Llama-2-7b-chat", "8x7B", "OLMoE-1B-7B")."""
    best = None
    text = re.sub(r"(\d)([bm])(\d+(?:\.\d+)?t)\b", r"\1\2 \3", text.replace("_", "-"), flags=re.I)
    for m in _SIZE.finditer(text):
        n = float(m.group(2)) * (1e9 if m.group(3).lower() == "b" else 1e6)
        if m.group(1):
            n *= int(m.group(1))
        if n >= 1e6 and (best is None or n > best):
            best = int(n)
    return best


def _context(names: list[str], text: str) -> tuple[int | None, str | None]:
    for n in names:
        m = _CTX_NAME.search(n)
        if m and int(m.group(1)) >= 2:
            return int(m.group(1)) * 1024, "card name"
    best = None
    for m in _CTX_TEXT.finditer(text[:30000]):
        if m.group(1):
            v = int(m.group(1).replace(",", ""))
            v = v * 1024 if m.group(2).lower().startswith("k") else v
        else:
            v = int(m.group(3)) * 1024
        if 1024 <= v <= 10_000_000 and (best is None or v > best):
            best = v
    return (best, "card text") if best else (None, None)


_CUE = (
    r"(fine[- ]?tuned(?: version)?(?: of| from| on top of)|fine[- ]?tun(?:e|es|ing)(?= )|"
    r"finetuned from(?: model| weights)?|fine[- ]tuned from(?: models?| weights)?|based on|trained from|"
    r"built (?:up)?on(?: top of)?|built from|initiali[sz]ed (?:from|with)(?: the weights of)?|"
    r"derived from|continued pre-?training (?:of|from|on)|further (?:pre-?)?trained (?:from|on)|"
    r"merge of|quanti[sz]ed (?:version )?of|quanti[sz]ations of|(?:gguf|gptq|awq|exl2) (?:format )?"
    r"(?:model )?files for|distilled from|original model|student|parent model|base model|"
    r"(?:lora |peft |qlora )?adapters? (?:weights )?(?:for|on|trained on)|lora (?:weights )?for)"
    r"[^\w\[`]{0,4}(?:(?:the|a|an|meta's|original|weights of|pre-?trained)\s+){0,3}")
_LINK_CUE = re.compile(
    "(?i:" + _CUE + r")(?:\[([^\]]{1,120})\]\(([^)\s]{1,300})\)|`([^`\n]{2,100})`|"
    r"(?i:(?:https?://)?huggingface\.co/)([\w.-]+/[\w.-]+)|([\w.-]*[A-Za-z][\w.-]*/[\w.-]+)|"
    r"([A-Za-z][\w.]*(?:-[\w.]+){1,6})|((?:[A-Z][\w.]*[ -]){1,4}[A-Z0-9][\w.]*))")
_LINK_THEN_CUE = re.compile(r"\[[^\]]{1,120}\]\(((?:https?://)?huggingface\.co/[^)\s]{1,200})\)\s+"
                            r"(?:model\s+)?(?:fine[- ]?tuned|further trained|trained) (?:on|for|with)\b", re.I)
_HF_URL = re.compile(r"^(?:https?://)?(?:www\.)?huggingface\.co/([\w.-]+/[\w.-]+|[\w.-]+)/?$", re.I)
_HF_SKIP = {"datasets", "spaces", "docs", "blog", "papers", "transformers", "learn", "models",
            "collections", "join", "settings", "tasks"}
_NOT_MODEL = re.compile(r"model card|paper|github|arxiv|dataset|license|documentation|blog|"
                        r"^(?:the|a|an|this|our|its|their)\b", re.I)


def _cue_relation(cue: str) -> str:
    cue = cue.lower()
    if "merge" in cue:
        return "merge"
    if "quanti" in cue or "files for" in cue:
        return "quantized"
    if "adapter" in cue or "lora" in cue:
        return "adapter"
    if "original model" in cue:
        return "derived"
    return "finetune"


_ENGLISH_HYPHEN = {"of", "the", "and", "to", "a", "in", "on", "for", "art", "based", "level", "scale",
                   "channel", "trained", "tuned", "tuning", "time", "shot", "end", "domain", "task"}
_FAMILY_WORDS = set(V.ARCHITECTURES) | {"stable", "diffusion", "xl", "llama", "codellama", "vicuna",
                                         "alpaca", "gpt", "whisper", "bert", "sdxl", "mistral", "qwen"}


def _looks_like_model(name: str) -> bool:
    """An unlinked name that is likely a model id ("distilbert-base-uncased", "Llama-2-70b")."""
    parts = [p.lower() for p in re.split(r"[-/]", name)]
    if "/" in name:
        return True
    if any(p in _ENGLISH_HYPHEN for p in parts):
        return False
    return bool(re.search(r"\d", name)) or len(parts) >= 3


def text_bases(text: str) -> list[tuple[str, str]]:
    """Base models stated in prose: ``(model id or name, relation)``.

    "a fine-tuned version of [X](https://huggingface.co/org/x)" -> ("org/x", "finetune");
    "Student: `distilbert-base-uncased`" -> ("distilbert-base-uncased", "finetune");
    "Built on Stable Diffusion XL" -> ("Stable Diffusion XL", "finetune"): a family name,
    resolved later against known identifiers. "derived" (an "Original model:" line) is
    refined by the caller from the card's own evidence.
    """
    out: list[tuple[str, str]] = []
    for m in _LINK_CUE.finditer(text[:60000]):
        cue = m.group(1)
        label, url, code, hf, bare, hyph, phrase = (g.strip() if g else None for g in m.groups()[1:])
        target = None
        if url is not None:
            if _NOT_MODEL.search(label or ""):
                continue
            u = _HF_URL.match(url.split("#")[0].split("?")[0].rstrip("/"))
            if u:
                path = u.group(1)
                if path.split("/")[0].lower() not in _HF_SKIP:
                    target = path
            elif not re.match(r"https?://", url) and re.fullmatch(r"[\w.-]+/[\w.-]+", url):
                target = url  # a bare repo id used as link target
            elif label and re.fullmatch(r"[\w.-]+/[\w.-]+", label):
                target = label
        elif code is not None:
            if re.fullmatch(r"[\w.-]+(/[\w.-]+)?", code) and _looks_like_model(code):
                target = code
        elif hf is not None:
            target = hf if hf.split("/")[0].lower() not in _HF_SKIP else None
        elif bare is not None:
            target = bare if not re.match(r"https?:", bare) and bare.count("/") == 1 else None
        elif hyph is not None:
            target = hyph.rstrip(".") if _looks_like_model(hyph) else None
        elif phrase is not None and len(phrase.split()) >= 2 and not _NOT_MODEL.search(phrase) and (
                re.search(r"\d", phrase) or {w.lower() for w in re.split(r"[ -]", phrase)} & _FAMILY_WORDS):
            target = phrase.rstrip(".")
        if target and re.match(r"fine[- ]?tun(e|es|ing)$", cue, re.I) and phrase is not None:
            continue
        if target and (target, _cue_relation(cue)) not in out:
            out.append((target, _cue_relation(cue)))
    for m in _LINK_THEN_CUE.finditer(text[:60000]):  # "the [RoBERTa large model](.../roberta-large) fine-tuned on"
        u = _HF_URL.match(m.group(1).rstrip("/"))
        if u and u.group(1).split("/")[0].lower() not in _HF_SKIP and (u.group(1), "finetune") not in out:
            out.append((u.group(1), "finetune"))
    adapted = _adapter_base(text[:60000])
    if adapted and (adapted, "adapter") not in out:
        out.append((adapted, "adapter"))
    out += [(m, "merge") for m in merged_models(text[:60000]) if (m, "merge") not in out]
    return out[:8]


_BASE_COLUMN = re.compile(r"base[ _-]?model|base|backbone|parent(?: model)?|(?:based|built) on|"
                          r"(?:fine-?tuned|initiali[sz]ed) from")


def table_base(text: str, name: str) -> list[tuple[str, str]]:
    """The base a card's table of models gives this model: the "Base model" cell of the row that
    names it (a family card listing each variant with its base)."""
    own = name.split("/")[-1].lower()
    head: list[str] | None = None
    for line in text[:60000].splitlines():
        s = line.strip()
        if not s.startswith("|"):
            head = None
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if head is None:
            head = [c.lower() for c in cells]
            continue
        col = next((i for i, h in enumerate(head) if _BASE_COLUMN.fullmatch(h)), None)
        if col is None or col >= len(cells) or not cells[0] or own not in cells[0].lower():
            continue
        cell = cells[col]
        link = re.search(r"\]\((https?://huggingface\.co/[^)\s]+)\)", cell)
        u = _HF_URL.match(link.group(1).rstrip("/")) if link else None
        target = u.group(1) if u else re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell).strip(" `*")
        if target and target not in ("-", "—") and len(target) <= 100:
            return [(target, "finetune")]
    return []


_MERGE_LIST = re.compile(r"(?:models? (?:were |was )?(?:included|used) in the merge|merged models?)\s*:?\s*\n", re.I)
_HUB_CACHE_PATH = re.compile(r"models--([\w.-]+)--([\w.-]+)")


def merged_models(text: str) -> list[str]:
    """The models a mergekit card lists under "The following models were included in the merge:"
    (links, repo ids, or local paths, a Hub cache path read as its repo id)."""
    m = _MERGE_LIST.search(text)
    if not m:
        return []
    out: list[str] = []
    for line in text[m.end():m.end() + 2000].splitlines():
        item = re.match(r"\s*[-*+]\s+(.+)", line)
        if not item:
            if line.strip() and out:
                break
            continue
        body = item.group(1).strip()
        link = re.match(r"\[([^\]]+)\]\(([^)]*)\)", body)
        cache = _HUB_CACHE_PATH.search(body)
        if cache:
            name = f"{cache.group(1)}/{cache.group(2)}"
        elif link:
            name = link.group(1).strip()
        else:
            name = body.strip("`* ")
        name = name if re.fullmatch(r"[\w.-]+/[\w.-]+", name) else re.split(r"[\\/]", name.rstrip("/\\"))[-1]
        if name and name not in out:
            out.append(name)
    return out[:6]


_PEFT_LOAD = re.compile(r"\bPeftModel\.from_pretrained\(")
_MODEL_LOAD = re.compile(r"\b\w*(?:For\w+|AutoModel\w*|Model)\.from_pretrained\(\s*[\"']([\w.-]+/[\w.-]+)[\"']")


def _adapter_base(text: str) -> str | None:
    """The base an adapter's usage code loads before attaching it: ``X.from_pretrained("org/base")``
    then ``PeftModel.from_pretrained(model, "org/adapter")``."""
    peft = _PEFT_LOAD.search(text)
    if not peft:
        return None
    loads = [m.group(1) for m in _MODEL_LOAD.finditer(text, max(0, peft.start() - 3000), peft.start())
             if not m.group(0).startswith("PeftModel")]
    return loads[-1] if loads else None


def _strong(text: str, pattern: str) -> bool:
    return re.search(pattern, text, re.I) is not None


def _in_text(body: str, pattern: str, times: int = 3) -> bool:
    """Whether the card text states it repeatedly (one passing mention is not evidence)."""
    found = re.finditer(pattern, body[:20000], re.I)
    return sum(1 for _ in itertools.islice(found, times)) >= times


def _quantization(model: ModelRecord, card: CardInfo | None, strong: str, body: str) -> dict[str, Any]:
    methods: set[str] = set()
    bits: set[float] = set()
    text_methods: set[str] = set()
    src = None
    if model.quantization:
        q = model.quantization.lower()
        methods.add("gguf" if model.format == "gguf" else q)
        for m in V.GGUF_QTYPE.finditer(q):
            bits.add(float(m.group(1)))
        src = "weights"
    if model.format == "gguf":
        methods.add("gguf")
        src = "weights"
    for meth, pat in V.QUANT_METHODS.items():
        if _strong(strong, pat):
            methods.add(meth)
            src = src or "card name/tags"
        elif card is not None and _in_text(body, pat):
            text_methods.add(meth)
    named_quant = _strong(strong, V.QUANT_NAME)
    scan = strong if methods or named_quant else ""
    if methods or text_methods:
        scan += " " + body[:20000]
    for m in V.GGUF_QTYPE.finditer(scan):
        bits.add(float(m.group(1)))
    for m in V.BITS.finditer(scan):
        bits.add(float(next(g for g in m.groups() if g)))
    if methods & {"awq", "gptq"} and not bits:
        bits.add(4.0)
    if "bitnet" in methods:
        bits.add(1.58)
    full = {"F32", "F16", "BF16", "F64", "I64", "I32", "BOOL", "U8"}
    quantized: bool | None
    gguf_quantized = (model.format == "gguf" and model.quantization
                      and not model.quantization.upper().startswith(("F16", "F32", "BF16")))
    if (methods - {"gguf"}) or gguf_quantized or ("gguf" in methods and bits) or named_quant:
        quantized = True
    elif model.has_weights and model.dtypes and set(model.dtypes) <= full:
        quantized = False
    else:
        quantized = None
    return {"quant_methods": sorted(methods), "quant_text": sorted(text_methods - methods),
            "quant_bits": sorted(bits), "quantized": quantized, "quant_src": src}


def _tasks(model: ModelRecord, card: CardInfo | None, libraries: set[str],
           aliases: list[str]) -> tuple[list[str], str | None]:
    if card is not None and card.pipeline_tag:
        return [V.normalize_task(card.pipeline_tag)], "card yaml"
    tasks: list[str] = []
    src = None

    def add(t: str, where: str) -> None:
        nonlocal src
        if t == "tabular":
            for x in ("tabular-classification", "tabular-regression"):
                add(x, where)
            return
        if t not in tasks:
            tasks.append(t)
            src = src or where

    if card is not None:
        for r in card.results:
            if str(r.get("dataset") or "").startswith("MTEB"):
                add("sentence-similarity", "card model-index")
            elif r.get("task"):
                add(V.normalize_task(str(r["task"])), "card model-index")
        for tag in card.tags:
            t = V.TAG_TASKS.get(tag.lower())
            if t:
                add(t, "card tags")
    for arch in (model.config.get("architectures") or []) if isinstance(model.config, dict) else []:
        for suffix, t in V.HEAD_TASKS:
            if str(arch).endswith(suffix):
                add(t, "config")
    for lib in sorted(libraries):
        t = V.LIBRARY_TASKS.get(lib)
        if t:
            add(t, "library")
    if not tasks:
        names = " ".join(aliases).lower()
        for pat, t in V.NAME_TASKS:
            if re.search(pat, names):
                add(t, "name")
                break
    return tasks, src


def _licenses(card: CardInfo | None, body: str) -> tuple[list[str], str | None]:
    if card is not None and card.license:
        return [x.strip().lower() for x in card.license.split(",") if x.strip()], "card yaml"
    if card is None:
        return [], None
    m = re.search(r"(?:^|\n)#+\s*licen[sc]e[^\n]*\n+([^\n#]{0,400})", card.text, re.I)
    windows = [m.group(1)] if m else []
    windows += re.findall(r"licen[sc]e[sd]?\b[^\n]{0,120}", card.text[:30000], re.I)
    for w in windows:
        for pat, lic in V.TEXT_LICENSES:
            if re.search(pat, w, re.I):
                return [lic], "card text"
    return [], None


_CODES = frozenset(V.LANGUAGES.values())


def _language_pairs(names: str) -> list[str]:
    """The two languages of a translation pair in a model's names (``opus-mt-en-ro``,
    ``en-to-ro``)."""
    out: list[str] = []
    for m in re.finditer(r"(?<![a-z])([a-z]{2})[-_](?:to[-_])?([a-z]{2})(?![a-z])", names.lower()):
        if {m.group(1), m.group(2)} <= _CODES and m.group(1) != m.group(2):
            out += [c for c in m.groups() if c not in out]
    return out


def _languages(card: CardInfo | None, aliases: list[str]) -> tuple[list[str], str | None]:
    out: list[str] = []
    if card is None or not card.language:
        names = " ".join(aliases)
        for name, code in V.LANGUAGES.items():
            if re.search(rf"\b{name}\b", names, re.I) and code not in out:
                out.append(code)
        for m in re.finditer(r"(?<=[-_])(en|de|fr|es|it|pt|nl|ru|uk|pl|zh|ja|ko|hi|ar|tr|sv|fi|vi|th|id)"
                             r"(?=$|[-_ ])", names):
            if m.group(1) not in out:
                out.append(m.group(1))
        out += [c for c in _language_pairs(names) if c not in out]
        return out, ("card name" if out else None)
    for lang in card.language:
        code = V.normalize_language(str(lang))
        if code and code not in out:
            out.append(code)
    if any(t.lower() == "multilingual" for t in card.tags) and "multilingual" not in out:
        out.append("multilingual")
    return out, "card yaml"


def _libraries(model: ModelRecord, card: CardInfo | None, strong: str,
               body: str) -> tuple[list[str], list[str]]:
    libs: set[str] = set()
    text_libs: set[str] = set()
    if card is not None and card.library_name:
        libs.add(card.library_name.lower())
    for lib, pat in V.LIBRARIES.items():
        if _strong(strong, pat):
            libs.add(lib)
        elif card is not None and _in_text(body, pat, 2):
            text_libs.add(lib)
    if model.format == "gguf":
        libs.add("gguf")
    if "gguf" in libs:
        libs.add("llama.cpp")
    if "gguf" in text_libs:
        text_libs.add("llama.cpp")
    if model.format == "adapter":
        libs.add("peft")
    return sorted(libs), sorted(text_libs - libs)


def _architectures(model: ModelRecord, card: CardInfo | None, names: str, body: str = "") -> list[str]:
    archs: set[str] = set()
    for v in (model.architecture, model.model_type):
        if v:
            archs.add(str(v).lower())
    if card is not None:
        mt = card.metadata.get("model_type")
        if isinstance(mt, str):
            archs.add(mt.lower())
        tags = {t.lower() for t in card.tags}
        archs.update(a for a in V.ARCHITECTURES if a in tags)
    low = names.lower()
    for a in V.ARCHITECTURES:
        if len(a) >= 4 and re.search(rf"(?<![a-z]){re.escape(a)}(?![a-z])", low):
            archs.add(a)
    if re.search(r"\d+x\d+(\.\d+)?b\b|\bmoe\b|mixtral", low) or \
            _in_text(body, r"mixture[- ]of[- ]experts|\bmoe\b", 2):
        archs.add("moe")
    if _in_text(body, r"\bmamba\b|state[- ]space model", 2):
        archs.add("mamba")
    return sorted(archs)


_ADAPTER = r"\b(q?lora|adapters?|peft)\b|low[- ]rank adapt"


def _formats(model: ModelRecord, card: CardInfo | None, strong: str, quant: dict[str, Any],
             libraries: list[str], text_libs: list[str], body: str) -> tuple[list[str], list[str]]:
    out: set[str] = set()
    text: set[str] = set()
    if model.has_weights:
        out.add(model.format)
    if "gguf" in quant["quant_methods"] or "gguf" in libraries:
        out.add("gguf")
    if "gguf" in quant["quant_text"]:
        text.add("gguf")
    for lib, fmt in (("onnx", "onnx"), ("transformers.js", "onnx"), ("mlx", "mlx")):
        if lib in libraries:
            out.add(fmt)
        elif lib in text_libs:
            text.add(fmt)
    if card is not None:
        tags = {t.lower() for t in card.tags}
        if "safetensors" in tags:
            out.add("safetensors")
        if ("peft" in libraries or tags & {"lora", "peft", "qlora", "template:sd-lora"}
                or card.base_model_relation == "adapter" or _strong(strong, _ADAPTER)
                or "adapter_config.json" in body):
            out.add("adapter")
        elif _in_text(body[:4000], _ADAPTER, 1) or _in_text(body, _ADAPTER, 3):
            text.add("adapter")
    return sorted(out), sorted(text - out)


def _distinct(bases: list[str]) -> int:
    """How many different models these base names are ("mistralai/Mistral-7B-v0.1" and
    "Mistral-7B" are one, named twice)."""
    return len({re.sub(r"[-_ ]?v?\d+(?:\.\d+)*$", "", b.lower().rsplit("/", 1)[-1]) for b in bases})


def _relation(card: CardInfo, quant: dict[str, Any], formats: list[str], bases: list[str]) -> str:
    """How this card's model derives from its declared bases (the Hub's rules, on strong evidence)."""
    if card.base_model_relation:
        return card.base_model_relation.lower()
    tags = {t.lower() for t in card.tags}
    hub = {t.split(":")[1] for t in tags if re.match(r"base_model:(adapter|quantized|merge|finetune):", t)}
    if len(hub) == 1:  # the Hub's own tag: base_model:adapter:mistralai/Mistral-7B-v0.1
        return hub.pop()
    merge_tags = tags & {"merge", "mergekit", "lazymergekit"}
    if _distinct(bases) > 1 and (merge_tags or "merge" in card.text[:3000].lower()):
        return "merge"
    if "adapter" in formats:
        return "adapter"
    if quant.get("quantized") or set(quant["quant_methods"]) & {"gguf", "gptq", "awq", "exl2",
                                                                  "bitsandbytes", "mlx"}:
        return "quantized"
    if merge_tags:
        return "merge"
    return "finetune"


def _results(card: CardInfo | None) -> list[list[Any]]:
    if card is None:
        return []
    out = []
    for r in card.results[:2000]:
        v = r.get("value")
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        out.append([r.get("task"), r.get("dataset"), r.get("dataset_type"), r.get("metric"),
                    r.get("metric_name"), v, bool(r.get("verified"))])
    return out


def _reported(card: CardInfo | None, aliases: list[str]) -> list[list[Any]]:
    """Numbers the card reports in its tables and sentences (``[dataset, metric, value, where,
    passage]``), beside its model-index."""
    if card is None or not card.text:
        return []
    from modellake.tools.cards.reported import reported_numbers

    return [r.to_row() for r in reported_numbers(card.text, aliases, list(card.datasets))]


def _params(model: ModelRecord, aliases: list[str], body: str) -> tuple[int | None, str | None]:
    if model.num_parameters:
        return int(model.num_parameters), "weights"
    named = next((n for n in map(_name_size, aliases) if n), None)
    sizes = set()
    for m in _TEXT_SIZE.finditer(body[:20000]):
        unit = m.group(2).lower()
        sizes.add(round(float(m.group(1)) * (1e9 if unit.startswith("b") else 1e6)))
    stated = int(next(iter(sizes))) if len(sizes) == 1 else None  # several: a family table
    if named:  # "summarizer-1b" whose card says "1.2B parameters": the card's is the precise one
        return (stated if stated and named / 2 <= stated <= named * 2 else named), "card name"
    if stated:
        return stated, "card text"
    card = model.card
    if card is not None and len(card.base_model) == 1 and card.base_model_relation != "merge":
        n = _name_size(card.base_model[0])  # a quantized copy or fine-tune of "gemma-3-1b-it"
        if n:
            return n, "base model name"
    return None, None


_CODE_BASE = re.compile(r"base_model(?:_name_or_path)?['\"]?\s*[=:]\s*['\"]([\w.-]+/[\w.-]+)['\"]")


def facets(model: ModelRecord) -> dict[str, Any]:
    """The structured values search tests, each with where it came from."""
    card = model.card
    title = title_of(card, model.name)
    aliases = _aliases(model, card, title)
    body = card.text if card else ""
    strong = " ".join(aliases) + (" " + " ".join(card.tags) + " " + (card.library_name or "")
                                  if card else "")
    quant = _quantization(model, card, strong, body)
    libraries, text_libs = _libraries(model, card, strong, body)
    tasks, task_src = _tasks(model, card, set(libraries), aliases)
    licenses, license_src = _licenses(card, body)
    params, params_src = _params(model, aliases, body)
    ctx, ctx_src = _context_length(model, aliases, body)
    formats, text_formats = _formats(model, card, strong, quant, libraries, text_libs, body)
    bases = _bases(model, card, quant, formats, text_formats, aliases, body)
    languages, language_src = _languages(card, aliases)
    chat, chat_src = _chat(card, strong, body)
    datasets = list(card.datasets) if card else []
    return {
        "title": title, "aliases": aliases, "format": model.format, "has_weights": model.has_weights,
        "relation": _model_relation(model, card, quant, formats, bases),
        "tasks": tasks, "task_src": task_src, "licenses": licenses, "license_src": license_src,
        "params": params, "params_src": params_src, "context": ctx, "context_src": ctx_src,
        "formats": formats, "formats_text": text_formats, **quant, "languages": languages,
        "language_src": language_src, "chat": chat, "chat_src": chat_src,
        "libraries": libraries, "libraries_text": text_libs,
        "architectures": _architectures(model, card, " ".join(aliases), body), "bases": bases[:12],
        "tags": list(card.tags) if card else [], "datasets": datasets,
        # what its datasets are about in plain words ("eurosat" says nothing to "satellite imagery")
        "data_about": about(" ".join([*datasets[:8], " ".join(aliases)]), 2),
        "results": _results(card), "reported": _reported(card, aliases), "layout_hash": model.layout_hash,
        "version": model.version, "makers": makers(body, list(card.base_model) if card else [], aliases),
    }


def _aliases(model: ModelRecord, card: CardInfo | None, title: str) -> list[str]:
    """The model's names: the card's, then what the weights call themselves (GGUF general.name...)."""
    aliases = aliases_of(card, model.name, title)
    if isinstance(model.config, dict):
        for key in ("name", "_name_or_path"):
            v = model.config.get(key)
            if isinstance(v, str) and v.strip() and not v.startswith(("/", ".")) and v not in aliases:
                aliases.append(v.strip()[:200])
    return aliases


def _context_length(model: ModelRecord, aliases: list[str], body: str) -> tuple[int | None, str | None]:
    """The context length the config states, else the one the names or card text give."""
    config = model.config if isinstance(model.config, dict) else {}
    ctx = next((config[k] for k in ("max_position_embeddings", "n_positions", "max_seq_len",
                                     "context_length") if isinstance(config.get(k), int)), None)
    if not isinstance(ctx, int):
        return _context(aliases, body)
    return ctx, "config" if ctx else None


def _bases(model: ModelRecord, card: CardInfo | None, quant: dict[str, Any], formats: list[str],
           text_formats: list[str], aliases: list[str], body: str) -> list[dict[str, Any]]:
    """Base models: declared (adapter config, card YAML), then those the card text names."""
    bases: list[dict[str, Any]] = []
    if model.adapter_base:
        bases.append({"parent": model.adapter_base, "relation": "adapter", "source": "adapter config"})
    if card is None:
        return bases
    yaml_bases = [b.strip() for b in card.base_model if b and b.strip()]
    own = _relation(card, quant, formats, yaml_bases)
    for b in dict.fromkeys(yaml_bases):
        bases.append({"parent": b, "relation": own, "source": "card yaml"})
    known = {b["parent"].lower() for b in bases}
    return bases + _stated_bases(body, known, aliases, own, quant, formats + text_formats)


def _stated_bases(body: str, known: set[str], aliases: list[str], own: str, quant: dict[str, Any],
                  all_formats: list[str]) -> list[dict[str, Any]]:
    """Base models the card text (prose, or ``base_model=`` in code) names that are neither
    ``known`` nor the model itself, each with the relation its cue implies."""
    found = text_bases(body) + [(m.group(1), "finetune") for m in _CODE_BASE.finditer(body)]
    names = {a.lower() for a in aliases}
    out = []
    for target, cue_rel in found:
        if target.lower() not in known and target.lower() not in names:
            known.add(target.lower())
            if cue_rel == "derived":
                r = own if own != "finetune" or not quant["quant_text"] else "quantized"
            elif cue_rel == "finetune" and "adapter" in all_formats:
                r = "adapter"
            else:
                r = cue_rel
            out.append({"parent": target, "relation": r, "source": "card text"})
    return out


def _chat(card: CardInfo | None, strong: str, body: str) -> tuple[bool | None, str | None]:
    """Whether it is a chat/instruct model: by its name and tags, else by its card text."""
    if _strong(strong, V.CHAT_NAME) or (card is not None and card.pipeline_tag == "conversational"):
        return True, "card name/tags"
    if body and re.search(V.CHAT_TEXT, body[:30000]):
        return True, "card text"
    return None, None


def _model_relation(model: ModelRecord, card: CardInfo | None, quant: dict[str, Any],
                    formats: list[str], bases: list[dict[str, Any]]) -> str:
    """How the model derives from its bases (without a card: from its weights)."""
    if card is not None:
        return _relation(card, quant, formats, [b["parent"] for b in bases])
    return ("adapter" if model.format == "adapter" else
            "quantized" if quant["quantized"] else "finetune")


