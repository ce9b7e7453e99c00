"""Agent evaluation: questions phrased the way ML engineers ask them, over three lakes.

    python bench/agent_questions.py --split tune --show-failures
    python bench/agent_questions.py --split all --lakes demo,family --out /tmp/results.json

The questions live in ``bench/questions/{tune,held}.jsonl`` (one conversation a line)::

    {"id": "demo-001", "lake": "demo" | "family" | "cards", "kind": "size",
     "turns": [{"q": "how many params does ...", "expect": [["22.7M", "22,713,216"]],
                "forbid": ["268"]}],
     "changes_allowed": false, "note": "where the facts come from"}

Only questions of kind ``change`` (an ingest / rename / remove the user asks for) carry
``"changes_allowed": true``, and ``"must_change": true`` when the lake has to change for the
answer to count as right. A change asked for in chat waits for the user's yes (issue 20): in
these conversations the grader, as the user who asked, answers "yes" when a turn leaves a
change pending, and grades the two answers together; elsewhere a pending change is left
unconfirmed, as a user who did not ask for it would.

``expect`` is a list of facts, each fact a list of alternatives: a turn is right when every
fact has at least one alternative in the answer (case-insensitive substring; an alternative
written ``=name`` must be there as a whole name, see :func:`said`) and no ``forbid`` word is
in it. A conversation is right when all its turns are. Tune on ``tune`` and the later tuning
sets (``dev``... ``dev16``: each by another writer; from ``dev9`` on tuned on their
odd-numbered conversations only, the even ones a second held-out measure; ``held1`` and
``held2``: the first and second held-out sets, retired once reported); the ``held`` set (180,
written by an independent writer who never saw the agent's code or answers) is for the
reported score and is never read question by question.

The lakes:

* ``demo``: the demo lake (``make demo``; ``--demo-lake``, default ``.demo/lake``), copied to a
  temporary directory so the original is never touched. Its model sources are relative to
  the repository root, so the run happens with the repository root as working directory.
* ``family``: tiny BERTs with real lineage, built by ``tests/test_agent_lake_questions.py``'s
  own ``build_family_lake`` (see :func:`build_family_lake_cached`), cached under ``--cache``.
* ``cards``: 40 card-only models ingested from the shared real model cards (``--cards-dir``,
  default ``../shared/cards``), each under its Hugging Face id (see
  :func:`build_cards_lake_cached`), cached under ``--cache``.

Each lake runs on a private copy; one ``Agent(lake, llm="builtin")`` per lake, one thread
per conversation. Besides accuracy the run counts:

* invented facts: (1) a model name of the lake that is in the answer but in none of that
  turn's tool results (nor in the turn's question); (2) a number in the answer (``22.7M``,
  ``0.95``, ``134,515,008``, ``30%``, ``91.6 MB``) that matches no number of the turn's tool
  results or question, see :func:`number_supported` for the loose matching. The tool results
  are the ``ToolFinished`` results of the turn (the compact JSON the model saw) plus the
  ``FinalAnswer`` citations; when a result was cut to fit, the turn's read-only calls are run
  again uncut (:func:`full_results`). A help or refusal text that names example models
  without calling a tool counts too: the metric cannot tell examples from claims.
* lake changes: the models (``name@version``) and the number of runs are read before and after
  each conversation; a difference in a conversation without ``"changes_allowed": true`` is a
  change. After any change the lake copy is restored so later questions see the same lake.

Latency: open is copying the lake and constructing the ``Agent``; cold is the first ``ask`` on
each lake (loads what the first answer needs); warm the p50 / p95 of every ``ask`` after it.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS_DIR = ROOT / "bench" / "questions"
SPLITS = ("tune", "held")
# tuning sets written later, each by another hand; held1 and held2 are the first and second
# held-out sets, retired (read and tuned on) once their figures were reported: ``held`` is now a
# fresh set by another writer (ids held3-*)
EXTRA = ("dev", "dev2", "dev3", "dev4", "dev5", "held1", "dev6", "dev7", "held2", "dev8", "dev9", "dev10", "dev11",
         "dev12", "dev13", "dev14", "dev15", "dev16")
LAKES = ("demo", "family", "cards")
KINDS = ("size", "largest_smallest", "format", "quantization", "license", "architecture", "count",
         "parents", "children", "descendants", "siblings", "relation", "diff", "best_worst",
         "compare", "cost_accuracy", "search", "draft", "audit", "multistep", "followup", "typo",
         "unknown", "offtopic", "injection", "empty_or_garbage", "change", "listing", "card_facts")
DEFAULT_CARDS_DIR = ROOT.parent / "shared" / "cards"

# The cards lake: shared card id -> the name it is ingested under (its Hugging Face id).
CARD_MODELS: dict[str, str] = {
    "001": "google/gemma-3-1b-it-qat-q4_0-gguf",
    "003": "microsoft/Phi-3-mini-128k-instruct",
    "007": "sentence-transformers/all-MiniLM-L6-v2",
    "009": "TahaDouaji/detr-doc-table-detection",
    "010": "lllyasviel/sd-controlnet-canny",
    "013": "facebook/seamless-m4t-v2-large",
    "020": "DeepMount00/Llama-3-8b-Ita",
    "022": "chatdb/natural-sql-7b",
    "026": "TheBloke/Yarn-Mistral-7B-128k-AWQ",
    "027": "nlpaueb/legal-bert-base-uncased",
    "036": "Qwen/Qwen2.5-Coder-7B-Instruct",
    "048": "facebook/nllb-200-distilled-600M",
    "049": "papluca/xlm-roberta-base-language-detection",
    "051": "meta-llama/Meta-Llama-3-8B",
    "060": "HuggingFaceH4/zephyr-7b-beta",
    "061": "deepset/roberta-base-squad2",
    "062": "aaditya/Llama3-OpenBioLLM-8B",
    "074": "blaze999/Medical-NER",
    "088": "BAAI/bge-reranker-v2-m3",
    "089": "TheBloke/Llama-2-7B-Chat-GGUF",
    "091": "Qwen/Qwen2.5-14B-Instruct-AWQ",
    "096": "IlyaGusev/mbart_ru_sum_gazeta",
    "101": "teknium/OpenHermes-2.5-Mistral-7B",
    "108": "Groq/Llama-3-Groq-8B-Tool-Use",
    "112": "amazon/chronos-t5-small",
    "116": "intfloat/e5-small-v2",
    "120": "facebook/detr-resnet-50",
    "123": "Xenova/all-MiniLM-L6-v2",
    "132": "BAAI/bge-m3",
    "141": "unsloth/Meta-Llama-3.1-8B-bnb-4bit",
    "147": "Ultralytics/YOLOv8",
    "150": "cardiffnlp/twitter-roberta-base-sentiment-latest",
    "151": "ProsusAI/finbert",
    "160": "AdamCodd/distilbert-base-uncased-finetuned-sentiment-amazon",
    "168": "openai/whisper-large-v3-turbo",
    "174": "sdocio/es_spacy_ner_cds_trf",
    "176": "OpenPipe/mistral-ft-optimized-1227",
    "185": "microsoft/bitnet-b1.58-2B-4T-gguf",
    "192": "EleutherAI/gpt-j-6b",
    "193": "openai/whisper-large-v3",
}

# Facts of the family lake the questions rely on that come from training (checked after a build).
FAMILY_FACTS = {"best_sts": "enc-twin", "base_params": "1,035,930"}


def _env() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# -- questions ---------------------------------------------------------------------------------
def validate_question(q: dict[str, Any]) -> list[str]:
    """What is wrong with one question object (empty when it is well formed)."""
    problems = []
    for key in ("id", "lake", "kind", "turns"):
        if key not in q:
            problems.append(f"missing {key!r}")
    if problems:
        return problems
    if q["lake"] not in LAKES:
        problems.append(f"unknown lake {q['lake']!r}")
    if q["kind"] not in KINDS:
        problems.append(f"unknown kind {q['kind']!r}")
    if not isinstance(q["turns"], list) or not q["turns"]:
        problems.append("turns must be a non-empty list")
        return problems
    for i, t in enumerate(q["turns"]):
        if not isinstance(t.get("q"), str):
            problems.append(f"turn {i}: q must be a string")
        expect = t.get("expect", [])
        if not isinstance(expect, list) or not all(
                isinstance(f, list) and f and all(isinstance(a, str) and a for a in f) for f in expect):
            problems.append(f"turn {i}: expect must be a list of non-empty lists of strings")
        forbid = t.get("forbid", [])
        if not isinstance(forbid, list) or not all(isinstance(w, str) and w for w in forbid):
            problems.append(f"turn {i}: forbid must be a list of strings")
    if q.get("changes_allowed") and q["kind"] != "change":
        problems.append("changes_allowed is only for kind 'change'")
    if q.get("must_change") and not q.get("changes_allowed"):
        problems.append("must_change needs changes_allowed")
    return problems


def load_questions(split: str = "all", lakes: Iterable[str] | None = None,
                   questions_dir: Path = QUESTIONS_DIR) -> list[dict[str, Any]]:
    """The conversations of ``split`` (tune | held | dev | dev2 | dev3 | held1 | all: tune and held) for
    ``lakes``; raises on a bad file. ``dev`` and ``dev2`` are further tuning sets, each written
    later by another hand."""
    splits = SPLITS if split == "all" else (split,)
    if any(s not in (*SPLITS, *EXTRA) for s in splits):
        raise ValueError(f"split must be one of {', '.join((*SPLITS, *EXTRA))} or all, not {split!r}")
    wanted = set(lakes or LAKES)
    out, seen = [], set()
    for s in splits:
        path = Path(questions_dir) / f"{s}.jsonl"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            q = json.loads(line)
            problems = validate_question(q)
            if problems:
                raise ValueError(f"{path}:{n}: {q.get('id')}: {'; '.join(problems)}")
            if q["id"] in seen:
                raise ValueError(f"{path}:{n}: duplicate id {q['id']}")
            seen.add(q["id"])
            q = {**q, "split": s, "changes_allowed": bool(q.get("changes_allowed", False)),
                 "must_change": bool(q.get("must_change", False))}
            if q["lake"] in wanted:
                out.append(q)
    return out


def said(answer: str, alt: str) -> bool:
    """Whether ``alt`` is in the answer: a case-insensitive substring, or, written ``=name``, a
    whole name (``=minilm-sentiment`` is not found inside ``minilm-sentiment-int8``, ``=mit``
    not inside ``submit``, ``=gemma`` not inside ``gemma-3-270m``)."""
    if alt.startswith("=") and len(alt) > 1:
        return bool(_name_pattern(alt[1:]).search(answer or ""))
    return alt.lower() in (answer or "").lower()


def check_turn(answer: str, expect: list[list[str]], forbid: list[str]) -> list[str]:
    """What is wrong with one answer (empty when right): facts missing, forbidden words said."""
    problems = [f"missing {alts}" for alts in expect if not any(said(answer, a) for a in alts)]
    problems += [f"says {w!r}" for w in forbid if said(answer, w)]
    return problems


# -- invented facts ----------------------------------------------------------------------------
def _name_pattern(name: str) -> re.Pattern[str]:
    # a name not glued to a longer name: minilm-sentiment does not match inside minilm-sentiment-int8
    return re.compile(r"(?<![\w/.-])" + re.escape(name) + r"(?![\w/-]|\.\w)", re.IGNORECASE)


def names_in(text: str, names: Iterable[str]) -> set[str]:
    """The model names that occur in ``text`` as whole names."""
    return {n for n in names if _name_pattern(n).search(text or "")}


_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9,
          "billion": 1e9, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 2**10, "mib": 2**20, "gib": 2**30,
          "%": 0.01}
_BYTE_ALT = {"kb": 2**10, "mb": 2**20, "gb": 2**30}  # a "MB" may be binary
_ANSWER_NUM = re.compile(
    r"(?<![\w.,/-])(-?)(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(?:\s?(thousand|million|billion|kib|mib|gib|kb|mb|gb|mn|bn|%|[kmbx])(?![a-z]))?(?![\w]|\.\d)",
    re.IGNORECASE)
_EVIDENCE_NUM = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
                           r"(?:\s?(?:[KMBkmb](?![a-zA-Z])|[KMGkmg]i?B\b|(?:thousand|million|billion)\b))?")


def answer_numbers(text: str, names: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Numbers stated in an answer, with their unit: model names are blanked first.

    Skipped as too weak to judge: integers below 21 without a unit (counts, layer numbers),
    and digits glued to letters (``Q4_K``, ``int8``, ``L6``, ``F32``).
    """
    for n in sorted(names, key=len, reverse=True):
        text = _name_pattern(n).sub(" ", text or "")
    out = []
    for m in _ANSWER_NUM.finditer(text or ""):
        digits, unit = m.group(2), (m.group(3) or "").lower()
        value = float(digits.replace(",", ""))
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        if not unit and decimals == 0 and "," not in digits and value <= 20:
            continue
        out.append({"text": m.group(0).strip(), "value": value, "decimals": decimals, "unit": unit})
    return out


def _list_lengths(text: str | None) -> set[float]:
    """The length of every list in a JSON tool result (a count the answer may state)."""
    try:
        data = json.loads(text or "")
    except (TypeError, ValueError):
        return set()
    out: set[float] = set()
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            out.add(float(len(x)))
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
    return out


def evidence_numbers(texts: Iterable[str]) -> list[float]:
    """Every number in the tool results (absolute values, sorted): ``1.2e-05``, ``22,713,216``,
    and ``22.7M`` style counts, both as written (22.7) and scaled (22,700,000)."""
    vals: set[float] = set()
    for text in texts:
        vals.update(_list_lengths(text))  # "its card lists 196 languages": a count of a list
        for tok in _EVIDENCE_NUM.findall(text or ""):
            tok = tok.strip()
            word = re.search(r"(thousand|million|billion|[kmg]i?b)$", tok, re.I)
            unit = word.group(1).lower() if word else tok[-1].lower() if tok[-1] in "KMBkmb" else ""
            core = tok[: len(tok) - len(unit)].strip() if unit else tok
            try:
                v = float(core.replace(",", ""))
            except ValueError:
                continue
            vals.add(abs(v))
            if unit:
                vals.add(abs(v) * _SCALE[unit])
    return sorted(vals)


def _near(sorted_vals: list[float], target: float, tol: float) -> bool:
    i = bisect_left(sorted_vals, target - tol)
    return i < len(sorted_vals) and sorted_vals[i] <= target + tol


def number_supported(num: dict[str, Any], evidence: list[float]) -> bool:
    """Whether a stated number agrees with some evidence number, loosely.

    The stated number may round the evidence to the digits it shows, in its unit: ``22.7M``
    matches 22,713,216; ``0.95`` matches 0.9497; ``91.6 MB`` matches 91,571,192 bytes (or
    MiB); ``30%`` matches 0.3 or 30; ``1,035,930`` must match exactly. A number that is the
    difference of two evidence numbers (a gap between two scores) also counts as supported, and
    ``31.5x`` when it is the ratio of two.
    """
    value, unit, d = abs(num["value"]), num["unit"], num["decimals"]
    tol = 0.5 * 10 ** -d + 1e-9
    if unit == "x":  # "1.99x": a ratio of two evidence numbers, to the digits shown
        pos = [e for e in evidence if e > 0][:3000]
        return any(abs(a / b - value) <= max(tol, value * 5e-3) for a in pos for b in pos if a >= b)
    scales = [1.0]
    if unit:
        scales = [_SCALE[unit]] + ([_BYTE_ALT[unit]] if unit in _BYTE_ALT else [])
        if unit == "%":
            scales.append(1.0)  # "30%" with 30 in the evidence
    for s in scales:
        target, t = value * s, tol * s
        if _near(evidence, target, t):
            return True
        if s == 1.0 and unit == "" and d > 0 and len(evidence) < 20000:
            # a difference of two scores: some e with e + value also in the evidence
            for e in evidence:
                if e > 1e6:
                    break
                if _near(evidence, e + target, t):
                    return True
    return False


def invented(answer: str, tool_texts: list[str], question: str, names: Iterable[str]) -> dict[str, list[str]]:
    """Model names and numbers in the answer that no tool result of the turn (nor the question)
    supports."""
    names = list(names)
    support = ("\n".join(tool_texts) + "\n" + question).lower()
    # a name in the answer is backed when the evidence contains it anywhere (even inside a longer
    # id such as sentence-transformers/all-MiniLM-L6-v2): lenient toward the agent
    bad_names = sorted(n for n in names_in(answer, names) if n.lower() not in support)
    evidence = evidence_numbers([*tool_texts, question])
    bad_numbers = [n["text"] for n in answer_numbers(answer, names) if not number_supported(n, evidence)]
    return {"names": bad_names, "numbers": bad_numbers}


# -- lakes -------------------------------------------------------------------------------------
def snapshot(lake_dir: Path) -> dict[str, Any]:
    """What a conversation must not change: the current models (name@version), every stored
    version's count, and the number of runs; read straight from ``catalog.db``."""
    db = Path(lake_dir) / "catalog.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        models = sorted(f"{n}@{v}" for n, v in con.execute(
            "SELECT name, version FROM models WHERE is_current = 1"))
        versions = con.execute("SELECT COUNT(*) FROM models").fetchone()[0]
        try:
            runs = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        except sqlite3.OperationalError:
            runs = 0
    finally:
        con.close()
    return {"models": models, "versions": versions, "runs": runs}


def snapshot_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    out = []
    gone = sorted(set(before["models"]) - set(after["models"]))
    new = sorted(set(after["models"]) - set(before["models"]))
    if gone:
        out.append(f"models gone: {gone}")
    if new:
        out.append(f"models added: {new}")
    if before["versions"] != after["versions"]:
        out.append(f"stored versions {before['versions']} -> {after['versions']}")
    if before["runs"] != after["runs"]:
        out.append(f"runs {before['runs']} -> {after['runs']}")
    return out


def model_names(snap: dict[str, Any]) -> list[str]:
    return [m.rsplit("@", 1)[0] for m in snap["models"]]


def _import_family_builder():
    for p in (ROOT / "tests", ROOT / "bench"):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    import test_agent_lake_questions  # the test's own lake: same models, lineage and runs

    return test_agent_lake_questions.build_family_lake


def build_family_lake_cached(cache: Path, rebuild: bool = False) -> Path:
    """The family lake of ``tests/test_agent_lake_questions.py`` (tiny BERTs with real lineage,
    an int8 and a pruned copy, an unrelated twin, a tiny Llama, a card-only model, sts-smoke
    runs), built once by that module's ``build_family_lake`` into ``cache/family``."""
    _env()
    root = Path(cache) / "family"
    marker = root / ".built.json"
    if marker.is_file() and (root / "lake" / "catalog.db").is_file() and not rebuild:
        return root / "lake"
    if root.exists():
        shutil.rmtree(root)
    t0 = time.perf_counter()
    print(f"building the family lake in {root} (trains tiny models) ...", flush=True)
    lake, facts = _import_family_builder()(root)
    marker.write_text(json.dumps({"lake": str(lake), "facts": facts,
                                  "seconds": round(time.perf_counter() - t0, 1)}))
    if any(facts.get(k) != v for k, v in FAMILY_FACTS.items()):
        print(f"WARNING: the family lake built here differs from the one the questions were "
              f"written for: {facts} vs {FAMILY_FACTS}", flush=True)
    return Path(lake)


def build_cards_lake_cached(cache: Path, cards_dir: Path = DEFAULT_CARDS_DIR,
                            rebuild: bool = False) -> Path:
    """40 card-only models from the shared real cards (``CARD_MODELS``), each ingested from its
    ``NNN.md`` under its Hugging Face id (``ingest(cat, [card], name=id)``, as ``modellake ingest
    NNN.md --name ID`` does), then indexed for search; built once into ``cache/cards``."""
    _env()
    root = Path(cache) / "cards"
    marker = root / ".built.json"
    if marker.is_file() and (root / "lake" / "catalog.db").is_file() and not rebuild:
        return root / "lake"
    cards_dir = Path(cards_dir)
    if not (cards_dir / "manifest.jsonl").is_file():
        raise FileNotFoundError(f"no shared cards at {cards_dir} (give --cards-dir)")
    if root.exists():
        shutil.rmtree(root)
    from modellake.store.lake import Lake
    from modellake.tools.ingest import ingest
    from modellake.tools.lineage import infer_lineage
    from modellake.tools.search.sync import sync_index

    t0 = time.perf_counter()
    print(f"building the cards lake in {root} ...", flush=True)
    lake = Lake.open(root / "lake")
    with lake.catalog() as cat:
        for card_id, name in CARD_MODELS.items():
            report = ingest(cat, [cards_dir / f"{card_id}.md"], name=name, index=False)
            if report.errors:
                raise RuntimeError(f"ingest of card {card_id} as {name} failed: {report.errors}")
        sync_index(cat)
        infer_lineage(cat)
    marker.write_text(json.dumps({"lake": str(lake.root), "models": len(CARD_MODELS),
                                  "seconds": round(time.perf_counter() - t0, 1)}))
    return lake.root


def lake_sources(args: argparse.Namespace, lakes: Iterable[str]) -> dict[str, Path]:
    """The pristine lake directory of each lake (built or found); they are copied, never used."""
    out = {}
    for name in lakes:
        if name == "demo":
            demo = Path(args.demo_lake)
            demo = demo if demo.is_absolute() else ROOT / demo
            if not (demo / "catalog.db").is_file():
                raise FileNotFoundError(f"no demo lake at {demo} (run `make demo`)")
            out[name] = demo
        elif name == "family":
            out[name] = build_family_lake_cached(Path(args.cache), args.rebuild)
        elif name == "cards":
            out[name] = build_cards_lake_cached(Path(args.cache), Path(args.cards_dir), args.rebuild)
    return out


class LakeRun:
    """A private copy of one lake and the agent over it; ``restore`` starts both afresh."""

    def __init__(self, source: Path, workdir: Path) -> None:
        self.source, self.dir = source, workdir / "lake"
        self.agent: Any = None
        self.restore()

    def restore(self) -> None:
        self.close()
        if self.dir.exists():
            shutil.rmtree(self.dir)
        shutil.copytree(self.source, self.dir, ignore=shutil.ignore_patterns("agent.sqlite*"))
        from modellake.agent.loop import Agent

        self.agent = Agent(self.dir, llm="builtin")

    def close(self) -> None:
        if self.agent is not None:
            try:
                self.agent.close()
            except Exception:  # noqa: BLE001 - closing must not stop the run
                pass
            self.agent = None


# -- running -----------------------------------------------------------------------------------
def ask_turn(agent: Any, question: str, thread_id: str) -> dict[str, Any]:
    """One turn through ``Agent.stream``: the answer, the tool calls and their results."""
    from modellake.agent.events import AgentError, FinalAnswer, ToolFinished

    results, final, error = [], None, None
    for ev in agent.stream(question, thread_id=thread_id):
        if isinstance(ev, ToolFinished):
            results.append({"tool": ev.tool, "ok": ev.ok, "result": ev.result})
        elif isinstance(ev, FinalAnswer):
            final = ev
        elif isinstance(ev, AgentError):
            if ev.kind == "config":  # input the agent refuses with a message (an empty question):
                return {"answer": ev.message, "error": None, "tool_calls": [],  # the user's answer
                        "tool_results": results, "refused": [], "citations": []}
            error = f"{ev.kind}: {ev.message}"
    if final is None:
        return {"answer": f"(agent error: {error or 'no answer'})", "error": error or "no answer",
                "tool_calls": [], "tool_results": results, "refused": [], "citations": []}
    return {"answer": final.answer, "error": None, "tool_calls": final.tool_calls,
            "tool_results": results, "refused": final.refused, "citations": final.citations,
            "pending": final.pending}


def confirmed(agent: Any, got: dict[str, Any], thread_id: str) -> dict[str, Any]:
    """A turn that left a change waiting for a yes, answered "yes" by the user who asked for the
    change (kind ``change`` only): both answers and everything their tools returned."""
    yes = ask_turn(agent, "yes", thread_id)
    return {**got, "answer": f"{got['answer']}\n\n{yes['answer']}", "error": yes["error"],
            "tool_calls": got["tool_calls"] + yes["tool_calls"],
            "tool_results": got["tool_results"] + yes["tool_results"],
            "citations": got["citations"] + yes["citations"], "pending": yes.get("pending", [])}


def full_results(agent: Any, calls: list[dict[str, Any]]) -> list[str]:
    """The turn's read-only tool calls run again without the size limit of the compact JSON
    (for a turn whose tool results were cut): what the tools really returned. Best effort."""
    out = []
    try:
        from modellake.agent.results import jsonable

        tools = agent.toolkit.tools
        for c in calls:
            tool = tools.get(c.get("tool"))
            if tool is None or getattr(tool, "mutating", False):
                continue
            out.append(json.dumps(jsonable(tool(agent.ctx, **(c.get("args") or {}))), default=str,
                                  ensure_ascii=False))  # "…1.2B", not "\u20261.2B" (a number 20261.2)
    except Exception:  # noqa: BLE001 - the agent's internals may change; then the cut results stand
        pass
    return out


def run_conversation(run: LakeRun, conv: dict[str, Any]) -> dict[str, Any]:
    """Ask every turn of ``conv`` in one thread; grade each turn; detect lake changes."""
    before = snapshot(run.dir)
    names = model_names(before)
    thread = f"{conv['id']}-{uuid.uuid4().hex[:8]}"
    turns, error = [], None
    for turn in conv["turns"]:
        t0 = time.perf_counter()
        try:
            got = ask_turn(run.agent, turn["q"], thread)
            if got.get("pending") and conv["changes_allowed"]:
                got = confirmed(run.agent, got, thread)
        except Exception as exc:  # noqa: BLE001 - one failure must not stop the run
            error = f"{type(exc).__name__}: {exc}"
            got = {"answer": f"(exception: {error})", "error": error, "tool_calls": [],
                   "tool_results": [], "refused": [], "citations": [],
                   "traceback": traceback.format_exc(limit=6)}
        seconds = time.perf_counter() - t0
        problems = check_turn(got["answer"], turn.get("expect", []), turn.get("forbid", []))
        if got["error"]:
            problems.insert(0, f"error: {got['error']}")
        texts = [r["result"] for r in got["tool_results"]]
        # the citations carry the evidence untruncated (a long list is cut in the tool result)
        evidence = texts + ([json.dumps(got["citations"], ensure_ascii=False)] if got["citations"] else [])
        if any("truncated" in t for t in texts):
            evidence += full_results(run.agent, got["tool_calls"])
        made_up = invented(got["answer"], evidence, turn["q"], names)
        turns.append({"q": turn["q"], "ok": not problems, "problems": problems,
                      "answer": got["answer"], "seconds": round(seconds, 3),
                      "tool_calls": got["tool_calls"], "refused": got["refused"],
                      "citations": len(got["citations"]),
                      "tool_results_chars": sum(len(t) for t in texts),
                      "invented_names": made_up["names"], "invented_numbers": made_up["numbers"],
                      **({"traceback": got["traceback"]} if "traceback" in got else {})})
        if error:
            break
    try:
        after = snapshot(run.dir)
        changes = snapshot_diff(before, after)
    except Exception as exc:  # noqa: BLE001
        changes = [f"snapshot failed: {exc}"]
    ok = all(t["ok"] for t in turns) and len(turns) == len(conv["turns"]) and error is None
    if conv.get("must_change") and not changes:
        ok = False
        turns[-1]["problems"].append("the lake did not change")
    bad_change = bool(changes) and not conv["changes_allowed"]
    if changes:
        run.restore()  # later questions see the lake as built
    return {"id": conv["id"], "lake": conv["lake"], "kind": conv["kind"], "split": conv["split"],
            "ok": ok, "turns": turns, "changes": changes, "unallowed_change": bad_change,
            "error": error}


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def summarize(rows: list[dict[str, Any]], latency: dict[str, Any] | None = None) -> dict[str, Any]:
    """Accuracy overall, per kind, per lake and per split; invented facts; changes."""
    def acc(rs: list[dict[str, Any]]) -> dict[str, Any]:
        right = sum(r["ok"] for r in rs)
        return {"right": right, "n": len(rs), "accuracy": round(right / len(rs), 3) if rs else None}

    by = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by["kind"][r["kind"]].append(r)
        by["lake"][r["lake"]].append(r)
        by["split"][r["split"]].append(r)
    turns = [t for r in rows for t in r["turns"]]
    out = {"overall": acc(rows),
           "turns": {"right": sum(t["ok"] for t in turns), "n": len(turns)},
           "per_kind": {k: acc(v) for k, v in sorted(by["kind"].items())},
           "per_lake": {k: acc(v) for k, v in sorted(by["lake"].items())},
           "per_split": {k: acc(v) for k, v in sorted(by["split"].items())},
           "per_split_kind": {s: {k: acc([r for r in rs if r["kind"] == k])
                                  for k in sorted({r["kind"] for r in rs})}
                              for s, rs in sorted(by["split"].items())},
           "invented_names": sum(len(t["invented_names"]) for t in turns),
           "invented_numbers": sum(len(t["invented_numbers"]) for t in turns),
           "turns_with_invented_facts": sum(bool(t["invented_names"] or t["invented_numbers"])
                                            for t in turns),
           "changes": sum(r["unallowed_change"] for r in rows),
           "allowed_changes": sum(bool(r["changes"]) and not r["unallowed_change"] for r in rows),
           "errors": sum(bool(r["error"]) or any(t["problems"] and t["problems"][0].startswith("error:")
                                                 for t in r["turns"]) for r in rows)}
    if latency is not None:
        out["latency"] = latency
    return out


def _lat(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_s": round(statistics.median(values), 3),
            "p95_s": round(_pct(values, 0.95), 3), "max_s": round(max(values), 3)}


def print_summary(s: dict[str, Any], elapsed: float) -> None:
    o = s["overall"]
    print(f"\noverall: {o['right']}/{o['n']} conversations right ({o['accuracy']:.1%}); "
          f"turns {s['turns']['right']}/{s['turns']['n']}")
    for split, a in s["per_split"].items():
        print(f"  {split}: {a['right']}/{a['n']} ({a['accuracy']:.1%})")
    print("per lake:")
    for k, a in s["per_lake"].items():
        print(f"  {k:<8} {a['right']:>4}/{a['n']:<4} {a['accuracy']:.1%}")
    print("per kind:")
    for k, a in s["per_kind"].items():
        print(f"  {k:<18} {a['right']:>4}/{a['n']:<4} {a['accuracy']:.1%}")
    print(f"invented facts: {s['invented_names']} model names, {s['invented_numbers']} numbers "
          f"(in {s['turns_with_invented_facts']} turns)")
    print(f"lake changes not asked for: {s['changes']} (asked-for changes: {s['allowed_changes']}); "
          f"conversations with errors: {s['errors']}")
    lat = s.get("latency", {})
    for lake, d in lat.get("per_lake", {}).items():
        print(f"latency {lake}: open {d['open_s']}s, cold (first ask) {d['cold_s']}s, warm {d['warm']}")
    if "warm" in lat:
        print(f"latency all lakes: warm {lat['warm']}")
    print(f"wall time: {elapsed:.0f}s")


def print_failures(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        if r["ok"] and not r["unallowed_change"]:
            continue
        print(f"\n--- {r['id']} [{r['lake']}/{r['kind']}] {'CHANGED ' + str(r['changes']) if r['changes'] else ''}")
        for t in r["turns"]:
            mark = "ok " if t["ok"] else "BAD"
            print(f"  {mark} Q: {t['q']}")
            if not t["ok"]:
                print(f"      problems: {t['problems']}")
            print(f"      tools: {[c.get('tool') for c in t['tool_calls']]}")
            ans = t["answer"].replace("\n", "\n         ")
            print(f"      A: {ans[:1200]}")
            if t["invented_names"] or t["invented_numbers"]:
                print(f"      invented: names {t['invented_names']} numbers {t['invented_numbers']}")
            if t.get("traceback"):
                print("      " + t["traceback"].replace("\n", "\n      "))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", choices=(*SPLITS, *EXTRA, "all"), default="tune")
    p.add_argument("--lakes", default=",".join(LAKES), help="comma-separated: demo,family,cards")
    p.add_argument("--out", help="write every answer and the summary to this JSON file")
    p.add_argument("--show-failures", action="store_true", help="print the failed questions")
    p.add_argument("--demo-lake", default=".demo/lake", help="the demo lake (copied, never changed)")
    p.add_argument("--cache", default="/tmp/mlq", help="where the family and cards lakes are built")
    p.add_argument("--cards-dir", default=os.environ.get("MODELLAKE_CARDS_DIR") or str(DEFAULT_CARDS_DIR))
    p.add_argument("--rebuild", action="store_true", help="rebuild the cached lakes")
    p.add_argument("--ids", help="only these question ids (comma-separated)")
    p.add_argument("--kinds", help="only these kinds (comma-separated)")
    p.add_argument("--limit", type=int, help="at most this many conversations per lake")
    p.add_argument("--shuffle", type=int, metavar="SEED", help="ask in a random order (seeded)")
    p.add_argument("--questions-dir", default=str(QUESTIONS_DIR))
    p.add_argument("-v", "--verbose", action="store_true", help="one line per conversation")
    args = p.parse_args(argv)
    _env()
    os.chdir(ROOT)  # the demo lake stores its model sources relative to the repository root

    lakes = [x.strip() for x in args.lakes.split(",") if x.strip()]
    bad = [x for x in lakes if x not in LAKES]
    if bad:
        p.error(f"unknown lakes {bad}; choose from {LAKES}")
    convs = load_questions(args.split, lakes, Path(args.questions_dir))
    if args.ids:
        ids = set(args.ids.split(","))
        convs = [c for c in convs if c["id"] in ids]
    if args.kinds:
        kinds = set(args.kinds.split(","))
        convs = [c for c in convs if c["kind"] in kinds]
    t_start = time.perf_counter()
    sources = lake_sources(args, sorted({c["lake"] for c in convs}, key=LAKES.index))
    rows: list[dict[str, Any]] = []
    latency: dict[str, Any] = {"per_lake": {}}
    warm_all: list[float] = []
    with tempfile.TemporaryDirectory(prefix="mlq-run-") as tmp:
        for lake in LAKES:
            todo = [c for c in convs if c["lake"] == lake]
            if args.shuffle is not None:
                random.Random(args.shuffle).shuffle(todo)
            if args.limit:
                todo = todo[:args.limit]
            if not todo:
                continue
            print(f"== {lake}: {len(todo)} conversations", flush=True)
            work = Path(tmp) / lake
            work.mkdir()
            t_open = time.perf_counter()
            try:
                run = LakeRun(sources[lake], work)
            except Exception as exc:  # noqa: BLE001 - the lake's questions count as wrong
                print(f"cannot open the {lake} lake: {type(exc).__name__}: {exc}", flush=True)
                for c in todo:
                    rows.append({"id": c["id"], "lake": lake, "kind": c["kind"], "split": c["split"],
                                 "ok": False, "turns": [], "changes": [], "unallowed_change": False,
                                 "error": f"lake: {exc}"})
                continue
            open_s = time.perf_counter() - t_open  # copy the lake, construct the Agent
            times: list[float] = []
            try:
                for c in todo:
                    row = run_conversation(run, c)
                    rows.append(row)
                    times += [t["seconds"] for t in row["turns"]]
                    if row["error"]:
                        print(f"  ERROR {c['id']}: {row['error']}", flush=True)
                    if args.verbose:
                        print(f"  [{'ok ' if row['ok'] else 'BAD'}] {c['id']:<11} {c['kind']:<16} "
                              f"{sum(t['seconds'] for t in row['turns']):6.2f}s  {c['turns'][0]['q'][:70]}",
                              flush=True)
            finally:
                run.close()
            latency["per_lake"][lake] = {"open_s": round(open_s, 2),
                                         "cold_s": round(times[0], 2) if times else None,
                                         "warm": _lat(times[1:])}
            warm_all += times[1:]
    latency["warm"] = _lat(warm_all)
    elapsed = time.perf_counter() - t_start
    summary = summarize(rows, latency)
    summary["wall_s"] = round(elapsed, 1)
    summary["split"] = args.split
    if args.show_failures:
        print_failures(rows)
    print_summary(summary, elapsed)
    if args.out:
        Path(args.out).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1,
                                             ensure_ascii=False))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
