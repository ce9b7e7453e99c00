"""What a card calls its own model: the repo id it declares, its model-index or YAML name, its title.

    declared_repo_id(card)  # "microsoft/Phi-3-mini-128k-instruct": from a license link on the
                            # Hub, from_pretrained("...") in its usage code, links to its own page
    card_name(card)         # that, else the model-index name or the YAML model_name

A card names many repos: its base models, datasets, siblings, competitors. Its own id is the
one its code loads and its links point at most; ids the card declares as base models or
datasets are never its own.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from modellake.store.records import CardInfo

_ID = r"([A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95})"
_HUB_LINK = re.compile(rf"(?<![\w.-])huggingface\.co/(?!datasets/|spaces/|docs/|blog/|papers/|collections/){_ID}")
_CODE_LOAD = re.compile(
    rf"(?:from_pretrained|pipeline|hf_hub_download|snapshot_download|AutoModel\w*|Llama|SentenceTransformer|"
    rf"load_model|model_id|model_name|repo_id|model)\s*(?:\(|=)\s*(?:[\w.]+\s*,\s*)?(?:model\s*=\s*)?"
    rf"[\"']{_ID}[\"']")
_NOT_OWN = re.compile(r"^(?:huggingface|spaces|datasets|docs|blog|papers|settings|join|login|new)/", re.I)
MAX_TEXT = 200_000
MIN_VOTES = 3  # a license link or a code load (3 each) names its own id; links alone (1 each) do not


def declared_repo_id(card: CardInfo | None, stated_bases: Iterable[str] = ()) -> str | None:
    """The Hugging Face repo id the card declares for its own model, or None. ``stated_bases``:
    the base models its prose names (never its own id)."""
    if card is None:
        return None
    text = card.text[:MAX_TEXT]
    excluded = {b.lower() for b in card.base_model} | {d.lower() for d in card.datasets}
    votes: Counter[str] = Counter()
    link = card.metadata.get("license_link")
    if isinstance(link, str):
        for m in _HUB_LINK.finditer(link):
            votes[_clean(m.group(1))] += 3
    for m in _CODE_LOAD.finditer(text):
        line = text[text.rfind("\n", 0, m.start()) + 1: text.find("\n", m.end())]
        if not re.search(r"tokeni[sz]er|base_model|peft|lora|adapter", line, re.I):
            votes[_clean(m.group(1))] += 3
    for m in _HUB_LINK.finditer(text):
        votes[_clean(m.group(1))] += 1
    excluded |= {b.lower() for b in stated_bases}
    title = _title(text)
    ranked = [(n, rid) for rid, n in votes.most_common()
              if rid.lower() not in excluded and not _NOT_OWN.match(rid) and _agrees(rid, title)]
    if not ranked or ranked[0][0] < MIN_VOTES:
        return None  # links alone name siblings and competitors as often as the model itself
    if len(ranked) > 1 and ranked[1][0] == ranked[0][0]:
        return None  # two ids as likely: not sure which is its own
    return ranked[0][1]


# words many models' names share: agreeing on one of them says nothing about which model
_COMMON = {"model", "models", "base", "chat", "instruct", "llama", "mistral", "gemma", "qwen", "bert", "gpt",
           "lora", "gguf", "gptq", "awq", "fine", "tuned", "the", "and", "for", "with", "meta", "google",
           "microsoft", "large", "small", "tiny", "mini", "medium", "uncased", "cased", "v1", "v2"}


def _title(text: str) -> str | None:
    m = re.search(r"^#\s+(.+)$", text[:20000], re.M)
    return m.group(1) if m else None


def _agrees(repo_id: str, title: str | None) -> bool:
    """A repo id named in a card's code or links is its own when the card's title (if it has
    one) shares a distinctive word with it: loading a base model in an example is common."""
    if not title:
        return True
    words = lambda t: {w for w in re.findall(r"[a-z][a-z0-9]{2,}", t.lower())} - _COMMON  # noqa: E731
    own = repo_id.rsplit("/", 1)[-1]
    named = title_name(title)
    if named:
        from modellake.tools.search.families import families_of

        ours, theirs = families_of([named]), families_of([own])
        if ours and theirs and not ours & theirs:
            return False  # the title names a model of another family ("bge-m3-zeroshot" by a deberta id)
    return bool(words(own) & words(title))


def _clean(repo_id: str) -> str:
    rid = re.sub(r"(?:/(?:resolve|blob|tree|raw)/.*|\.git)$", "", repo_id.strip())
    return rid.rstrip(".,)")


def card_name(card: CardInfo | None, stated_bases: Iterable[str] = (), titles: bool = True) -> str | None:
    """A readable name for a card's model: the repo id it declares, else its model-index or
    YAML name, else (``titles``) the name its first heading gives; None when the card names none."""
    if card is None:
        return None
    rid = declared_repo_id(card, stated_bases)
    if rid:
        return rid
    names = [e.get("name") for e in card.model_index if isinstance(e, dict)]
    names += [card.metadata.get(k) for k in ("model_name", "pretty_name")]
    for v in names:
        if isinstance(v, str) and _names_something(v.strip()):
            return v.strip()[:120]
    return title_name(_title(card.text[:MAX_TEXT])) if titles else None


def readable_stem(stem: str) -> bool:
    """Whether a file or folder name already names a model for people ("mini-embed", not
    "001", "a3f9c2e1" or "README")."""
    return bool(re.search(r"[a-z]{3}", stem, re.I)) and not re.fullmatch(
        r"(?:readme|model[-_ ]?card|card|index|model|modelcard|[0-9a-f]{8,})", stem, re.I)


# a title that opens like this is a section or an instruction, not the model's name
_NOT_A_NAME = re.compile(
    r"^(?:model|models|introduction|intro|about|overview|summary|details|information|description|usage|"
    r"updates?|news|load|loading|simple|place|produces|how|use|using|run|running|to|the|a|an|finetune|"
    r"fine-tune|obsolete|deprecated|table|contents|license|citation|example|examples|quick|quickstart|"
    r"getting|installation|install|requirements|training|evaluation|results|note|warning|important)\b",
    re.I)
_CARD_WORDS = re.compile(r"^(?:model\s+card\s+(?:for|of)|model\s+description\s*:|model\s*:|card\s+for|"
                         r"introducing)\s+|\s+model\s+card$|\s+card$", re.I)


def title_name(title: str | None) -> str | None:
    """The model's name from a card's first heading, when the heading is one: "BGE-M3 ([paper](..))"
    gives "BGE-M3", "Model Card for MADLAD-400-3B-MT" gives "MADLAD-400-3B-MT", "OpenChat: Advancing
    Open-source..." gives "OpenChat"; "Model Details", "Load a model" or a bare word such as
    "Whisper" (a family, not this model) give None."""
    if not title:
        return None
    t = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # links: their text
    t = re.sub(r"\((?:\s*,?\s*(?:paper|code|github|demo|blog|arxiv|website))+\s*\)", " ", t, flags=re.I)
    t = re.sub(r"[*_`]{2,}|[^\w\s.,:;()/+&'-]", " ", t)  # emphasis, emoji, flags
    for _ in range(2):
        t = _CARD_WORDS.sub("", t.strip()).strip(" .:-")
    t = re.split(r"\s*:\s+|\s+[-\u2013\u2014|]\s+|,\s+", t.strip())[0]  # "OpenChat: Advancing..."
    if not t or len(t) > 60 or len(t.split()) > 6 or _NOT_A_NAME.match(t) or re.search(r"[{}=]|https?:", t):
        return None
    t = re.sub(r"\s*\([^()]*\)", "", t) or t  # "TinyTimeMixer (TTM)": the name before its gloss
    t = re.sub(r"\s+\+\s+", "+", re.sub(r"\s+", " ", t)).strip()
    if not t:
        return None
    if " " not in t and not re.search(r"[a-z][A-Z]|[\d_./-]|[^\x00-\x7f]|^[A-Z]{2,}", t):
        return None  # one plain word ("Whisper", "Reranker"): a family or a kind, not this model
    return t if _names_something(t) else None


def _names_something(name: str) -> bool:
    """Not a bare algorithm or a placeholder ("PPO", "DQN", "model")."""
    if not name or re.fullmatch(r"[A-Z0-9]{1,5}", name):
        return False
    return bool(re.search(r"[-_/.\d ]", name)) or len(name) >= 8
