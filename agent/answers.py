"""Writing the offline backend's answer from tool results.

Every sentence states a value that a tool returned, names the model it is about,
and says where it comes from (the weights' statistics, the config, the card). What
the results do not contain is said plainly ("the card does not state a license").
Results of tools without a writer of their own are summarized by their shape:
lineage edges, ranked entries, search hits, drafted text, or plain fields.
"""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from modellake.agent.router import ASPECTS, CARD_ASPECTS, Plan

MAX_LISTED = 25


@dataclass
class Outcome:
    """One tool call of the turn and what came back."""

    tool: str
    args: dict[str, Any]
    data: Any  # parsed JSON result (None when it failed or was cut)
    error: str | None = None


def human(n: int | float | None) -> str:
    from modellake.tools.inspection import human_count

    return "unknown" if n is None else str(human_count(n))


def human_bytes(n: int | None) -> str:
    from modellake.tools.inspection import human_bytes as size

    return size(n, byte_unit="bytes") or "unknown"


def params_text(d: dict[str, Any]) -> str:
    n = d.get("num_parameters")
    return "an unknown number of parameters" if n is None else f"{n:,} parameters ({human(n)})"


def _join(items: list[str], word: str = "and") -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _num(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


# -- entry point -----------------------------------------------------------------------------
def write(plan: Plan, outcomes: list[Outcome], tools: dict[str, Any] | None = None) -> str:
    """The answer to ``plan.question`` from the turn's tool outcomes."""
    errors = [o for o in outcomes if o.error]
    good = [o for o in outcomes if not o.error and o.data is not None]
    parts: list[str] = []
    writer = _WRITERS.get(plan.intent)
    if good:
        try:
            parts.append(writer(plan, good) if writer else generic(plan, good))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            parts.append(generic(plan, good))
    for o in errors:
        parts.append(_error_text(o))
    if not parts:
        parts.append("The tools returned nothing I can answer from.")
    return "\n\n".join(p for p in parts if p).strip()


def _error_text(o: Outcome) -> str:
    msg = o.error or "failed"
    if msg.startswith("refused"):
        return f"I did not run {o.tool}: {msg}"
    if "no model named" in msg:
        return f"I can't answer that: {msg}."
    return f"{o.tool} failed: {msg}."


def reply_without_tools(plan: Plan, tools: dict[str, Any], model_names: list[str]) -> str:
    """Help, clarifications, and questions the tools cannot answer."""
    kind = plan.reply or plan.intent
    names = _join(model_names[:12]) + (f" and {len(model_names) - 12} more"
                                      if len(model_names) > 12 else "")
    if kind == "help":
        return ("I answer questions about the models in this lake with its tools:\n"
                + "\n".join(f"- {n}: {t.description.split('. ')[0]}" for n, t in tools.items())
                + "\nAsk e.g. \"how many parameters does NAME have?\", \"list models under 100M "
                  "parameters\", \"what license does NAME's card declare?\". I change the lake "
                  "(ingest, rename, remove) only when you ask for it.")
    if kind == "clarify":
        return ("Which model do you mean? " + (f"The lake has: {names}." if model_names else
                                               "The lake is empty."))
    if kind == "rm-unsure":
        guess = plan.models[0] if plan.models else None
        return ("I did not remove anything: to remove a model, name it exactly as it is in the "
                "lake" + (f" (did you mean {guess}?)" if guess else "") +
                (f". The lake has: {names}." if model_names else "."))
    if kind == "rename-unsure":
        return ("I did not rename anything: say \"rename OLD to NEW\" with the model's exact name "
                "and the new name.")
    if kind == "ingest-unsure":
        return ("I did not ingest anything: give the path of a model file or directory on this "
                "machine, e.g. \"ingest /path/to/model\".")
    if kind.startswith("missing:"):
        return (f"I can't answer that yet: the tool needs {kind.split(':', 1)[1]}, and the "
                "question does not say it.")
    can = [re.split(r"[:(,;]| from | in the lake", t.description, maxsplit=1)[0]
           .strip().rstrip(".").lower()
           for t in tools.values()]
    return ("I can't answer that from this lake: none of my tools covers it. "
            + (f"My tools can: {'; '.join(can)}." if can else ""))


# -- list ------------------------------------------------------------------------------------
def _list(plan: Plan, outs: list[Outcome]) -> str:
    from modellake.agent.nlu import describe_constraints

    d = outs[0].data
    args = outs[0].args
    rows = d.get("models", [])
    count, total = d.get("count", len(rows)), d.get("total_in_lake", len(rows))
    cond = describe_constraints(args)
    if count == 0:
        return (f"No model in the lake matches ({cond})." if cond else "The lake is empty.") + (
            f" The lake has {total} model{'s' if total != 1 else ''} in all." if total else "")
    sort = args.get("sort")
    if sort in ("largest", "smallest", "newest") and rows:
        top = rows[0]
        word = {"largest": "largest", "smallest": "smallest", "newest": "most recently ingested"}[sort]
        head = (f"The {word} model{f' ({cond})' if cond else ''} is {top['name']} with "
                f"{params_text(top)}")
        head += f", {top.get('architecture') or 'unknown architecture'}, {top.get('format')}."
        rest = [f"{r['name']} ({human(r.get('num_parameters'))})" for r in rows[1:4]]
        return head + (f" Next: {_join(rest)}." if rest else "")
    lines = [f"- {r['name']}: {r.get('architecture') or 'unknown architecture'}, "
             f"{human(r.get('num_parameters'))} parameters, {r.get('format')}"
             + ("" if r.get("has_card") else ", no card") for r in rows[:MAX_LISTED]]
    what = f"model{'s' if count != 1 else ''}"
    if cond:
        head = f"{count} {what} match{'es' if count == 1 else ''} ({cond}), out of {total} in the lake:"
    else:
        head = f"There {'are' if count != 1 else 'is'} {count} {what} in the lake:"
    more = count - min(len(rows), MAX_LISTED)
    return head + "\n" + "\n".join(lines) + (f"\n... and {more} more." if more > 0 else "")


# -- show ------------------------------------------------------------------------------------
def _card(d: dict[str, Any]) -> dict[str, Any]:
    return d.get("card") or {}


def _no_card(d: dict[str, Any]) -> str:
    return f"{d['name']} has no model card in the lake"


def _aspect(d: dict[str, Any], aspect: str, question: str) -> str:
    n = d["name"]
    card = _card(d)
    has_card = card.get("present")
    if aspect == "parameters":
        if d.get("num_parameters") is None:
            return (f"The lake has no parameter count for {n}"
                    + (": its weights are not in the lake (card-only entry)." if
                       not d.get("weights_in_lake") else "."))
        s = f"{n} has {params_text(d)}"
        u = d.get("unique_parameters")
        if u and u != d["num_parameters"]:
            s += f"; {u:,} ({human(u)}) are unique, the rest are tied copies"
        return s + " (counted from the stored tensors)."
    if aspect == "architecture":
        arch = d.get("architecture")
        classes = d.get("config", {}).get("architectures")
        if not arch:
            return f"The architecture of {n} is not recorded (no config or recognizable tensor names)."
        cls = f" ({_join(classes)})" if classes else ""
        text = f"{n} is a {arch} model{cls}" + (f", model type {d['model_type']}" if
                                               d.get("model_type") not in (None, arch) else "") + "."
        asked = re.search(r"^\s*(?:is|are)\b.*?\b(?:an? )?([a-z][a-z0-9_-]+)(?: model)?\s*\??\s*$",
                          question.lower())
        if asked and asked.group(1) not in (n.lower(), "model", "quantized", "documented"):
            word = asked.group(1).replace("-", "")
            yes = word in arch.lower().replace("-", "") or any(word in c.lower() for c in classes or [])
            return f"{'Yes' if yes else 'No'}: {text}"
        return text
    if aspect == "format":
        files = d.get("files") or []
        return (f"{n} is stored as {d.get('format')}" + (f" ({d.get('num_files', len(files))} "
                f"file{'s' if d.get('num_files', len(files)) != 1 else ''}: {_join(files[:5])})"
                if files else "") + ".")
    if aspect == "dtype":
        dts = d.get("dtypes") or []
        return (f"{n}'s tensors are stored as {_join(dts)}." if dts else
                f"No dtypes are recorded for {n}.")
    if aspect == "quantization":
        qz = d.get("quantization")
        if qz:
            ev = d.get("quantization_evidence")
            return f"{n} is quantized: {qz}" + (f" ({ev})" if ev else "") + "."
        return (f"{n} shows no sign of quantization (dtypes: {_join(d.get('dtypes') or ['unknown'])})."
                if d.get("weights_in_lake") else
                f"{n}'s weights are not in the lake, so its quantization is unknown.")
    if aspect == "layers":
        L = d.get("num_layers")
        return f"{n} has {L} layers." if L else f"The number of layers of {n} is not recorded."
    if aspect == "disk":
        b = d.get("total_size_bytes")
        return (f"{n}'s files take {human_bytes(b)} ({b:,} bytes) on disk." if b is not None
                else f"The file size of {n} is not recorded.")
    if aspect == "files":
        files = d.get("files") or []
        return (f"{n} has {d.get('num_files', len(files))} file(s): {_join(files)}." if files
                else f"No files are recorded for {n}.")
    if aspect == "tied":
        tied, notes = d.get("tied") or [], d.get("tie_notes") or []
        if tied:
            return f"{n} has tied weights: " + "; ".join(" = ".join(g) for g in tied[:3]) + "."
        if notes:
            return f"{n}: {notes[0]}."
        return f"{n} has no tied weights (no two stored tensors are identical)."
    if aspect == "sparsity":
        z = d.get("zero_fraction")
        if z is None:
            return f"No sparsity statistics are stored for {n}."
        return (f"{100 * z:.1f}% of {n}'s weights are exactly zero; {d.get('sparse_tensor_count', 0)} "
                f"tensor(s) have more than 10% zeros.")
    if aspect == "outliers":
        c = d.get("outlier_count")
        if c is None:
            return f"No outlier statistics are stored for {n}."
        top = d.get("top_kurtosis") or []
        extra = (f"; the most heavy-tailed tensor is {top[0]['tensor']} (excess kurtosis "
                 f"{_num(top[0]['kurtosis'])})" if top else "")
        return f"{n} has {c} outlier tensor(s) (excess kurtosis above 20){extra}."
    if aspect == "config":
        cfg = {k: v for k, v in (d.get("config") or {}).items() if k != "architectures"}
        if not cfg:
            return f"No configuration values are recorded for {n}."
        low = question.lower()
        wanted = {k: v for k, v in cfg.items() if any(w in low for w in _CFG_WORDS.get(k, ()))}
        shown = wanted or cfg
        return f"{n}'s config: " + ", ".join(f"{k} = {v}" for k, v in shown.items()) + "."
    if aspect in CARD_ASPECTS and not has_card and aspect != "has_card":
        if aspect == "missing":
            return (f"{_no_card(d)}: everything a card should say is missing (license, base "
                    "model, datasets, task, evaluation, uses, limitations, training).")
        return f"{_no_card(d)}, so its {_ASPECT_WORDS[aspect]} is not documented."
    if aspect == "license":
        lic = card.get("license")
        return (f"{n}'s card declares the license {lic}." if lic else
                f"{n}'s card does not state a license.")
    if aspect == "base_model":
        base = card.get("base_model") or []
        s = (f"{n}'s card declares the base model {_join(base)}" + (
            f" (relation: {card['base_model_relation']})" if card.get("base_model_relation") else "")
             + "." if base else f"{n}'s card does not declare a base model.")
        if d.get("adapter_base"):
            s += f" Its adapter config names the base {d['adapter_base']}."
        return s
    if aspect == "datasets":
        ds = card.get("datasets") or []
        return (f"{n}'s card lists the dataset{'s' if len(ds) > 1 else ''} {_join(ds)}." if ds else
                f"{n}'s card does not list any datasets.")
    if aspect == "task":
        t = card.get("pipeline_tag")
        return (f"{n}'s card gives the task (pipeline_tag) {t}." if t else
                f"{n}'s card does not state a task (no pipeline_tag).")
    if aspect == "language":
        lang = card.get("language") or []
        return (f"{n}'s card lists the language{'s' if len(lang) > 1 else ''} {_join(lang)}." if lang
                else f"{n}'s card does not state a language.")
    if aspect == "tags":
        tags = card.get("tags") or []
        return f"{n}'s card tags: {_join(tags)}." if tags else f"{n}'s card has no tags."
    if aspect == "library":
        lib = card.get("library_name")
        return (f"{n}'s card names the library {lib}." if lib else
                f"{n}'s card does not name a library.")
    if aspect == "results":
        res = card.get("reported_results") or []
        if not res:
            return f"{n}'s card reports no evaluation results."
        items = [f"{r.get('metric_name') or r.get('metric')} = {_num(r.get('value'))} on "
                 f"{r.get('dataset') or '?'}" + (f" ({r['task']})" if r.get("task") else "")
                 for r in res[:6]]
        return f"{n}'s card reports (not measured here): {'; '.join(items)}."
    if aspect == "missing":
        miss = card.get("missing") or []
        if not miss:
            return f"{n}'s card has everything the Hub's card guidance asks for."
        return f"{n}'s card is missing: {_join(miss)}."
    if aspect == "has_card":
        if not has_card:
            return f"No, {_no_card(d)}."
        secs = card.get("sections") or []
        return (f"Yes, {n} has a model card" + (f" (it covers: {_join(secs)})" if secs else "")
                + ".")
    if aspect == "versions":
        vs = d.get("versions") or [d.get("version")]
        return (f"{n} is at version {d.get('version')} (version{'s' if len(vs) > 1 else ''} "
                f"{_join([str(v) for v in vs])} in the lake), ingested {d.get('ingested_at')} from "
                f"{d.get('source')}.")
    if aspect == "adapter":
        if d.get("format") == "adapter" or d.get("adapter_base"):
            return f"{n} is an adapter on {d.get('adapter_base') or 'an unnamed base'}."
        return f"{n} is not an adapter (format {d.get('format')})."
    return ""


_ASPECT_WORDS = {"license": "license", "base_model": "base model", "datasets": "training data",
                 "task": "task", "language": "language", "tags": "tags", "library": "library",
                 "results": "evaluation results", "missing": "documentation"}
_CFG_WORDS = {"hidden_size": ("hidden", "width", "embedding"), "n_embd": ("hidden", "embedding"),
              "num_attention_heads": ("head",), "n_head": ("head",),
              "num_key_value_heads": ("kv", "key"), "intermediate_size": ("intermediate", "mlp"),
              "vocab_size": ("vocab",), "max_position_embeddings": ("context", "position", "sequence"),
              "n_positions": ("context", "position", "sequence"),
              "context_length": ("context", "sequence"), "embedding_length": ("hidden", "embedding"),
              "tie_word_embeddings": ("tie", "tied"), "torch_dtype": ("dtype",), "dtype": ("dtype",)}


def summary(d: dict[str, Any]) -> str:
    """The model's paragraph, written once by ``tools.model_facts`` (``show_model`` sends it)."""
    return str(d["summary"])


def _show(plan: Plan, outs: list[Outcome]) -> str:
    aspects = [a for a in plan.aspects if a in ASPECTS] or ["summary"]
    if "format" in aspects and "files" in aspects:
        aspects.remove("files")
    paras = []
    for o in outs:
        d = o.data
        if not isinstance(d, dict) or "name" not in d:
            continue
        if aspects == ["summary"]:
            paras.append(summary(d))
        else:
            sentences = [_aspect(d, a, plan.question) for a in aspects]
            paras.append(" ".join(s for s in dict.fromkeys(sentences) if s))
    return "\n\n".join(paras)


# -- card text -------------------------------------------------------------------------------
def _card_text(plan: Plan, outs: list[Outcome]) -> str:
    paras = []
    for o in outs:
        d = o.data
        n = d.get("name")
        if not d.get("has_card"):
            paras.append(f"{n} has no model card in the lake.")
            continue
        topic = d.get("topic")
        ps = d.get("passages") or []
        found = d.get("topic_found")
        if topic and (found is False or (found is None and not any(_mentions(p, topic) for p in ps))):
            heads = d.get("headings") or []
            paras.append(f"{n}'s card says nothing about {topic}" + (
                f"; its sections are: {_join(heads[:12])}." if heads else "."))
            continue
        quoted = [f"In section \"{p['section']}\": \"{_short(p['text'])}\"" for p in ps[:3]]
        paras.append(f"From {n}'s card (quoted as data, not instructions):\n" + "\n".join(
            f"- {q}" for q in quoted))
    return "\n\n".join(paras)


def _mentions(p: dict[str, Any], topic: str) -> bool:
    words = [w[:5] for w in re.findall(r"[a-z]{3,}", topic.lower())]
    text = (p.get("section", "") + " " + p.get("text", "")).lower()
    return any(w in text for w in words)


def _short(text: str, n: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n].rsplit(" ", 1)[0] + " ..."


# -- compare ---------------------------------------------------------------------------------
_COMPARE_FIELDS = ("architecture", "num_parameters", "format", "dtypes", "num_layers",
                   "quantization")


def _compare(plan: Plan, outs: list[Outcome]) -> str:
    diffs = [o for o in outs if o.tool == "diff"]
    outs = [o for o in outs if o.tool != "diff"]
    text = _compare_shown(plan, outs) if outs else ""
    for o in diffs:
        text = (text + "\n\n" if text else "") + "Weights: " + _diff_text(o.data)
    return text


def _compare_shown(plan: Plan, outs: list[Outcome]) -> str:
    ds = [o.data for o in outs if isinstance(o.data, dict) and "name" in o.data]
    if len(ds) < 2:
        return _show(plan, outs)
    a, b = ds[0], ds[1]
    aspects = [x for x in plan.aspects if x in ASPECTS]
    low = plan.question.lower()
    sentences: list[str] = []
    if not aspects or "parameters" in aspects:
        sentences.append(_compare_params(a, b))
    for asp in aspects:
        if asp == "parameters":
            continue
        if asp == "architecture":
            sentences.append(_same_or_not(a, b, "architecture", "architecture"))
        elif asp == "format":
            sentences.append(_same_or_not(a, b, "format", "format"))
        elif asp == "dtype":
            sentences.append(_same_or_not(a, b, "dtypes", "dtypes"))
        elif asp == "layers":
            sentences.append(_same_or_not(a, b, "num_layers", "number of layers"))
        elif asp == "quantization":
            sentences.append(_same_or_not(a, b, "quantization", "quantization"))
        elif asp == "disk":
            sentences.append(f"On disk, {a['name']} takes {human_bytes(a.get('total_size_bytes'))} "
                             f"and {b['name']} {human_bytes(b.get('total_size_bytes'))}.")
        else:
            sentences.append(_aspect(a, asp, low) + " " + _aspect(b, asp, low))
    if not aspects:
        diffs, same = [], []
        for f in _COMPARE_FIELDS[:1] + _COMPARE_FIELDS[2:]:
            va, vb = a.get(f), b.get(f)
            label = f.replace("num_", "").replace("_", " ")
            if va == vb:
                if va not in (None, [], ""):
                    same.append(f"{label} {_val(va)}")
            else:
                diffs.append(f"{label}: {a['name']} {_val(va)}, {b['name']} {_val(vb)}")
        ca, cb = _card(a), _card(b)
        for f, label in (("license", "license"), ("base_model", "declared base model"),
                         ("pipeline_tag", "task")):
            va, vb = ca.get(f), cb.get(f)
            if va != vb:
                diffs.append(f"{label}: {a['name']} {_val(va)}, {b['name']} {_val(vb)}")
        if ca.get("present") != cb.get("present"):
            diffs.append(f"card: {a['name']} {'has one' if ca.get('present') else 'has none'}, "
                         f"{b['name']} {'has one' if cb.get('present') else 'has none'}")
        if diffs:
            sentences.append("They differ in " + "; ".join(diffs) + ".")
        if same:
            sentences.append("Both have " + _join(same) + ".")
        if not any(c.tool == "diff" for c in plan.calls):
            sentences.append("(Compared from the catalog's inspection; a tensor-by-tensor diff "
                             "needs a diff tool.)" if "diff" not in low else "")
    return " ".join(s for s in sentences if s).strip()


def _val(v: Any) -> str:
    if v in (None, [], ""):
        return "none"
    if isinstance(v, list):
        return _join([str(x) for x in v])
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1000:
        return f"{v:,} ({human(v)})"
    return str(v)


def _same_or_not(a: dict[str, Any], b: dict[str, Any], key: str, label: str) -> str:
    va, vb = a.get(key), b.get(key)
    if va == vb:
        return f"{a['name']} and {b['name']} have the same {label}: {_val(va)}."
    return f"They differ in {label}: {a['name']} has {_val(va)}, {b['name']} has {_val(vb)}."


def _compare_params(a: dict[str, Any], b: dict[str, Any]) -> str:
    na, nb = a.get("num_parameters"), b.get("num_parameters")
    if na is None or nb is None:
        return (f"{a['name']} has {params_text(a)} and {b['name']} has {params_text(b)}; "
                "they cannot be compared by size.")
    if na == nb:
        return f"{a['name']} and {b['name']} have the same number of parameters: {na:,} ({human(na)})."
    big, small = (a, b) if na > nb else (b, a)
    nbig, nsmall = max(na, nb), min(na, nb)
    ratio = f", {nbig / nsmall:.1f}x" if nsmall else ""
    return (f"{big['name']} is larger: {nbig:,} parameters ({human(nbig)}) against {nsmall:,} "
            f"({human(nsmall)}) for {small['name']} ({human(nbig - nsmall)} more{ratio}).")


# -- mutations -------------------------------------------------------------------------------
def _rm(plan: Plan, outs: list[Outcome]) -> str:
    return " ".join(f"Removed {o.data['removed']} from the lake ({o.data['versions']} "
                    f"version{'s' if o.data['versions'] != 1 else ''}); its files on disk were not "
                    "touched." for o in outs)


def _rename(plan: Plan, outs: list[Outcome]) -> str:
    return " ".join(f"Renamed {o.data['renamed']} to {o.data['to']} (all versions)." for o in outs)


def _ingest(plan: Plan, outs: list[Outcome]) -> str:
    d = outs[0].data
    parts = []
    added = d.get("models") or []
    if added:
        parts.append("Ingested " + _join([f"{m['name']} (version {m['version']}, {m['format']}, "
                                          f"{m.get('architecture') or 'unknown architecture'}, "
                                          f"{human(m.get('num_parameters'))} parameters)" for m in added]) + ".")
    if d.get("unchanged"):
        parts.append("Unchanged (already in the lake): " + _join([m["name"] for m in d["unchanged"]]) + ".")
    if d.get("errors"):
        parts.append("Failed: " + "; ".join(e["error"] for e in d["errors"]) + ".")
    return " ".join(parts) or "Nothing was found to ingest at that path."


# -- tools written elsewhere: summarized by the shape of their results ------------------------
def _edges(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        for key in ("edges", "lineage", "items"):
            v = data.get(key)
            if isinstance(v, list) and v and isinstance(v[0], dict) and "parent" in v[0]:
                return v
    if isinstance(data, list) and data and isinstance(data[0], dict) and "parent" in data[0]:
        return data
    return []


def _edge_text(e: dict[str, Any]) -> str:
    bits = [f"{e['parent']} -> {e['child']}"]
    extra = []
    if e.get("relation"):
        extra.append(str(e["relation"]))
    if e.get("confidence") is not None:
        extra.append(f"confidence {_num(e['confidence'])}")
    ev = e.get("evidence")
    if isinstance(ev, dict):
        nums = [f"{k} {_num(v)}" for k, v in list(ev.items())[:3] if isinstance(v, (int, float, str))
                and not isinstance(v, bool)]
        extra += nums
    if e.get("source"):
        extra.append(str(e["source"]))
    return bits[0] + (f" ({', '.join(extra)})" if extra else "")


def _names_list(data: Any) -> list[str]:
    if isinstance(data, dict):
        for key in ("parents", "ancestors", "children", "descendants", "models", "names", "items"):
            v = data.get(key)
            if isinstance(v, list):
                return [x if isinstance(x, str) else x.get("name") or x.get("model") or str(x)
                        for x in v]
    if isinstance(data, list):
        return [x if isinstance(x, str) else (x.get("name") or x.get("model") or str(x))
                for x in data if isinstance(x, (str, dict))]
    return []


def _relatives(data: Any, kind: str) -> list[dict[str, Any]] | None:
    """The models of an ``ancestors`` / ``descendants`` / ``siblings`` result, else None."""
    if isinstance(data, dict) and data.get("kind") == kind and isinstance(data.get("models"), list):
        return [m for m in data["models"] if isinstance(m, dict) and m.get("name")]
    return None


def _relative_text(m: dict[str, Any], up: bool) -> str:
    rel = m.get("relation") or "derived"
    if up:
        return f"{m['name']} ({rel}, {_generation(m.get('depth'), up)})"
    return f"{m['name']} ({rel} of {m.get('via')})"


def _generation(depth: Any, up: bool) -> str:
    names = {1: "parent", 2: "grandparent"} if up else {1: "child", 2: "grandchild"}
    if isinstance(depth, int) and depth in names:
        return names[depth]
    return f"{depth} generations {'up' if up else 'down'}"


def _declared_note(name: str, shown: list[Outcome], inferred: list[str]) -> str:
    """What the card of ``name`` declares as its base, checked against the inferred parents."""
    d = next((o.data for o in shown if isinstance(o.data, dict) and _same(o.data.get("name"), name)), None)
    if d is None:
        return ""
    card = d.get("card") or {}
    declared = list(card.get("base_model") or []) + ([d["adapter_base"]] if d.get("adapter_base") else [])
    if not declared:
        return " Its card declares no base model." if card.get("present") else ""
    short = {x.lower().split("/")[-1] for x in inferred}
    verdicts = []
    for b in dict.fromkeys(declared):
        if b.lower().split("/")[-1] in short:
            verdicts.append(f"{b} (the weights agree)")
        elif inferred:
            verdicts.append(f"{b} (the weights point to {_join(inferred)} instead)")
        else:
            verdicts.append(f"{b} (not confirmed by the weights: no parent of it was found in the lake)")
    return f" Its card declares base model {_join(verdicts)}."


def _walk(edges: list[dict[str, Any]], name: str, up: bool) -> list[dict[str, Any]]:
    """The edges reached from ``name`` breadth first: towards its ancestors (``up``) or its
    descendants, nearest first, each model once."""
    near, far = ("child", "parent") if up else ("parent", "child")
    found, queue, seen = [], deque([name]), {name.lower()}
    while queue:
        cur = queue.popleft()
        for e in edges:
            if _same(e[near], cur) and e[far].lower() not in seen:
                seen.add(e[far].lower())
                found.append(e)
                queue.append(e[far])
    return found


def _parents(plan: Plan, outs: list[Outcome]) -> str:
    paras = []
    shown = [o for o in outs if o.tool == "show_model"]
    if len(shown) == len(outs):
        return _show(plan, outs)
    outs = [o for o in outs if o.tool != "show_model"]
    for o in outs:
        name = _model_arg(o) or (plan.models[0] if plan.models else "?")
        rel = _relatives(o.data, "ancestors")
        edges = _edges(o.data)
        if rel is not None:
            direct = [m["name"] for m in rel if m.get("depth") == 1]
            paras.append((f"{name} descends from " + "; ".join(_relative_text(m, True) for m in rel)
                          + " (inferred from the weights)." if rel else
                          f"No parent of {name} was found in the lake: it looks like a root "
                          "(or its parent is not in the lake).") + _declared_note(name, shown, direct))
        elif edges or o.tool == "lineage":  # a version graph: no edge is an answer too
            chain = _walk(edges, name, up=True)
            mine = [e for e in chain if _same(e["child"], name)]
            note = _declared_note(name, shown, [e["parent"] for e in mine])
            if not mine:
                paras.append(f"No parent of {name} was found in the lake from its weights: it looks "
                             "like a root (or its parent is not in the lake)." + note)
                continue
            text = f"{name} comes from " + "; ".join(_edge_text(e) for e in mine) + "."
            older = [e for e in chain if e not in mine]
            if older:
                text += " Further up: " + "; ".join(_edge_text(e) for e in older) + "."
            paras.append(text + note)
        else:
            names = _names_list(o.data)
            paras.append(f"The parent(s) of {name}: {_join(names)}." if names else generic(plan, [o]))
    return "\n\n".join(paras)


def _descendants(plan: Plan, outs: list[Outcome]) -> str:
    paras = []
    diffs = [o for o in outs if o.tool == "diff"]
    inferred_tools = [o for o in outs if o.tool not in ("diff", "list_models")]
    inferred: set[str] = set()
    for o in inferred_tools:
        inferred |= {e["child"].lower() for e in _edges(o.data)}
        inferred |= {m["name"].lower() for m in _relatives(o.data, "descendants") or []}
    for o in outs:
        if o.tool == "diff":
            continue
        if o.tool == "list_models":
            paras.append(_declared_children(o, inferred if inferred_tools else None))
            continue
        name = _model_arg(o) or (plan.models[0] if plan.models else "?")
        rel = _relatives(o.data, "descendants")
        edges = _edges(o.data)
        if rel is not None:
            paras.append(f"Derived from {name} ({len(rel)} model{'s' if len(rel) != 1 else ''}, "
                         "inferred from the weights): " + "; ".join(_relative_text(m, False)
                                                                    for m in rel) + "."
                         if rel else f"No model in the lake is derived from {name}.")
        elif edges or o.tool == "lineage":  # a version graph: no edge is an answer too
            found = _walk(edges, name, up=False)
            paras.append(f"Derived from {name} ({len(found)} model{'s' if len(found) != 1 else ''}): "
                         + "; ".join(_edge_text(e) for e in found) + "." if found else
                         f"No model in the lake is derived from {name}.")
        else:
            names = _names_list(o.data)
            paras.append(f"Derived from {name}: {_join(names)}." if names else generic(plan, [o]))
    if diffs:
        paras.append("How they differ from " + (plan.models[0] if plan.models else "it") + ":\n"
                     + "\n".join(f"- {o.args.get('b')}: {_diff_text(o.data)}" for o in diffs))
    return "\n\n".join(paras)


def _lineage(plan: Plan, outs: list[Outcome]) -> str:
    d = outs[0].data
    edges = _edges(d)
    if not isinstance(d, dict) or "families" not in d:
        return generic(plan, outs)
    fams = [f for f in d.get("families") or [] if isinstance(f, list)]
    roots = [r for r in d.get("roots") or [] if isinstance(r, str)]
    name = _model_arg(outs[0])
    paras = []
    if name:
        fam = next((f for f in fams if any(_same(x, name) for x in f)), [name])
        paras.append(f"The family of {name} has {len(fam)} model{'s' if len(fam) != 1 else ''}"
                     + (f", root {_join([r for r in roots if r in fam])}" if any(r in fam for r in roots)
                        else "") + ".")
    else:
        big = [f for f in fams if len(f) > 1]
        paras.append(f"{len(fams)} famil{'ies' if len(fams) != 1 else 'y'} in the lake"
                     + (f" ({len(big)} with more than one model)" if big else "")
                     + (f"; roots: {_join(roots[:15])}" if roots else "") + ".")
    if edges:
        paras.append("Edges (inferred from the weights):\n" + "\n".join(
            f"- {_edge_text(e)}" for e in edges[:25]))
    conflicts = [c for c in d.get("conflicts") or [] if isinstance(c, dict)]
    if conflicts:
        paras.append("Conflicts with what cards declare: " + "; ".join(
            str(c.get("message") or c) for c in conflicts[:5]))
    return "\n\n".join(paras)


def _runs(plan: Plan, outs: list[Outcome]) -> str:
    d = outs[0].data
    runs = d.get("runs") if isinstance(d, dict) else None
    if outs[0].tool == "search_runs" or not isinstance(runs, list):
        return _hits(plan, outs) if outs[0].tool == "search_runs" else generic(plan, outs)
    who = " for " + str(outs[0].args["model"]) if outs[0].args.get("model") else ""
    if not runs:
        return f"No benchmark runs are stored{who}."
    lines = []
    for r in runs[:15]:
        metrics = ", ".join(f"{k} {_num(v)}" for k, v in list((r.get("metrics") or {}).items())[:3]
                            if isinstance(v, (int, float)))
        when = f", {str(r.get('created_at'))[:16]}" if r.get("created_at") else ""
        lines.append(f"- run #{r.get('id')}: {r.get('model')} on {r.get('task')}: {metrics} "
                     f"({r.get('trust')}{when})")
    more = f"\n(and {len(runs) - 15} more)" if len(runs) > 15 else ""
    return f"{len(runs)} run{'s' if len(runs) != 1 else ''} stored{who}:\n" + "\n".join(lines) + more


def _compare_runs(plan: Plan, outs: list[Outcome]) -> str:
    d = outs[0].data
    if not isinstance(d, dict) or "rows" not in d:
        return generic(plan, outs)
    a, b = d.get("a"), d.get("b")
    rows = [r for r in d.get("rows") or [] if isinstance(r, dict)]
    if not rows:
        return (f"{a} and {b} have no benchmark task in common yet"
                + (f" ({a} only: {_join(d.get('only_a'))}; {b} only: {_join(d.get('only_b'))})"
                   if d.get("only_a") or d.get("only_b") else "") + ".")
    lines = []
    for r in rows[:12]:
        better = {"a": f"{a} is better", "b": f"{b} is better",
                  "same": "the same within the run-to-run spread"}.get(r.get("better"), "spread unknown")
        spread = f", spread {_num(r['spread'])}" if isinstance(r.get("spread"), (int, float)) else ""
        lines.append(f"- {r.get('task')} {r.get('metric')}: {a} {_num(r.get('a'))}, {b} {_num(r.get('b'))} "
                     f"(difference {_num(r.get('diff'))}{spread}): {better}")
    head = f"{a} against {b}" + (" (identical weights)" if d.get("same_weights") else "") + ":"
    return head + "\n" + "\n".join(lines)


def _siblings(plan: Plan, outs: list[Outcome]) -> str:
    paras = []
    for o in outs:
        name = _model_arg(o) or (plan.models[0] if plan.models else "?")
        rel = _relatives(o.data, "siblings")
        if rel is None:
            paras.append(generic(plan, [o]))
        elif not rel:
            paras.append(f"No model in the lake shares a parent with {name}.")
        else:
            paras.append(f"{name} shares a parent with " + "; ".join(
                f"{m['name']} ({m.get('relation')} of {m.get('via')})" for m in rel) + ".")
    return "\n\n".join(paras)


def _diff_text(d: Any) -> str:
    if not isinstance(d, dict):
        return "no diff came back."
    text = str(d.get("verdict") or "no verdict").rstrip(".") + "."
    counts = [f"{d[k]} {k.replace('_', ' ')}" for k in ("identical", "changed", "only_in_a", "only_in_b")
              if isinstance(d.get(k), int) and d[k]]
    if counts:
        text += " Tensors: " + ", ".join(counts)
        if isinstance(d.get("relative_distance"), (int, float)):
            text += f"; relative distance {_num(d['relative_distance'])}"
        text += "."
    return text


def _diff(plan: Plan, outs: list[Outcome]) -> str:
    if not all(o.tool == "diff" for o in outs):
        return generic(plan, outs)
    paras = []
    for o in outs:
        d = o.data
        text = _diff_text(d)
        changed = [t for t in (d.get("tensors") or []) if isinstance(t, dict)
                   and t.get("status") == "changed"]
        if changed:
            changed.sort(key=lambda t: -(t.get("relative_change") or 0))
            text += " Most changed: " + "; ".join(
                f"{t['name']} ({_num(t.get('relative_change'))}"
                + (f", rank {t['rank']}" if t.get("rank") is not None else "") + ")"
                for t in changed[:4]) + "."
        paras.append(text)
    return "\n\n".join(paras)


def _audit(plan: Plan, outs: list[Outcome]) -> str:
    d = outs[0].data
    if not isinstance(d, dict) or "conflicts" not in d:
        return generic(plan, outs)
    conf, agree, undoc = d.get("conflicts") or [], d.get("agreements") or [], d.get("undocumented") or []
    parts = []
    if conf:
        parts.append(f"{len(conf)} card{'s' if len(conf) != 1 else ''} contradict{'s' if len(conf) == 1 else ''} "
                     "the weights:\n" + "\n".join(
                         f"- {c['model']}: declares {c.get('declared')}, the weights say "
                         f"{_join(c.get('inferred_parents') or ['no parent in the lake'])}. "
                         f"{c.get('message', '')}".rstrip() for c in conf))
    else:
        parts.append("No card contradicts the lineage inferred from the weights.")
    if agree:
        parts.append(f"{len(agree)} declaration{'s agree' if len(agree) != 1 else ' agrees'} with the weights: "
                     + "; ".join(f"{a['model']} -> {a.get('declared')} ({a.get('relation')})"
                                 for a in agree[:10]) + ".")
    if undoc:
        parts.append(f"{len(undoc)} model{'s' if len(undoc) != 1 else ''} with an inferred parent "
                     "that no card declares: " + "; ".join(
                         f"{u['model']} ({u.get('relation')} of {_join(u.get('inferred_parents') or [])})"
                         for u in undoc[:10]) + ".")
    return "\n\n".join(parts)


def _why_text(w: Any) -> str:
    if not isinstance(w, dict):
        return str(w)
    kind = w.get("kind")
    if kind == "passage":
        return f"card ({w.get('section')}): \"{_short(str(w.get('text', '')), 160)}\""
    if kind == "constraint":
        return (f"{w.get('field')} {_val(w.get('value'))} ({w.get('status')} for "
                f"\"{w.get('wanted')}\", from {w.get('source')})")
    if kind == "lineage":
        return "lineage " + " -> ".join(w.get("path") or []) + (
            f" ({_join(w.get('relations') or [])})" if w.get("relations") else "")
    if kind == "weights":
        bits = [f"relative L2 {_num(w.get('relative_l2'))}"] if w.get("relative_l2") is not None else []
        if w.get("family"):
            bits.append("same tensor layout")
        return "weights: " + ", ".join(bits)
    if kind == "result":
        run = f", run #{w['run_id']}" if w.get("run_id") else ""
        when = f", {str(w['when'])[:10]}" if w.get("when") else ""
        return (f"{w.get('metric')} {_num(w.get('value'))} on {w.get('dataset') or w.get('task')}"
                f" ({w.get('source')}{run}{when})")
    if kind == "terms":
        words = sorted({x for k, v in w.items() if k != "kind" and isinstance(v, list) for x in v})
        return "matches " + ", ".join(words)
    return "; ".join(f"{k} {_num(v)}" for k, v in w.items() if k != "kind" and isinstance(v, (str, int, float)))


def _hits(plan: Plan, outs: list[Outcome]) -> str:
    o = outs[0]
    d = o.data
    if not isinstance(d, dict) or not isinstance(d.get("hits"), list):
        return generic(plan, outs)
    hits = [h for h in d["hits"] if isinstance(h, dict)]
    query = d.get("query") if isinstance(d.get("query"), dict) else {}
    if not hits:
        return ("No model in the lake matches" + (f" {o.args.get('name')}" if o.tool == "similar" else
                                                  " that") + ".")
    if o.tool == "similar":
        head = (f"Models nearest to {query.get('similar_to') or o.args.get('name')} by "
                f"{query.get('basis', 'weights')}:")
    elif o.tool == "search_runs":
        since = f" since {str(query['since'])[:10]}" if query.get("since") else ""
        head = f"Results found{since}:"
    else:
        head = f"{len(hits)} model{'s' if len(hits) != 1 else ''} match, best first:"
    lines = []
    for h in hits[:8]:
        why = h.get("why") or []
        shown = [w for w in why if isinstance(w, dict) and w.get("kind") != "terms"][:3] or why[:2]
        lines.append(f"- {h['name']}" + (f" (score {_num(h['score'])})" if isinstance(h.get("score"), (int, float))
                                         and o.tool != "search_runs" else "")
                     + (": " + "; ".join(_why_text(w) for w in shown) if shown else ""))
    return head + "\n" + "\n".join(lines)


def _best(plan: Plan, outs: list[Outcome]) -> str:
    o = outs[0]
    d = o.data
    if o.tool != "leaderboard" or not isinstance(d, dict) or "entries" not in d:
        return _need(plan, outs)
    entries = [e for e in d.get("entries") or [] if isinstance(e, dict)]
    better = "higher" if d.get("higher_is_better", True) else "lower"
    head = f"On {d.get('task')} ({d.get('metric')}, {better} is better"
    head += f"; {_join(d.get('trust') or [])} runs)" if d.get("trust") else ")"
    if not entries:
        return (f"No runs on {d.get('task')} are stored yet, so I cannot rank models on it. "
                f"Run it first, e.g. `modellake bench MODEL --task {d.get('task')}`.")

    def entry(e: dict[str, Any]) -> str:
        sd = f" ± {_num(e['std'])}" if isinstance(e.get("std"), (int, float)) else ""
        runs = ", ".join(f"#{r}" for r in (e.get("run_ids") or [])[:3])
        return f"{e.get('model')} {_num(e.get('value'))}{sd}" + (f" (run {runs})" if runs else "")

    text = f"{head}: best is {entry(entries[0])}"
    if len(entries) > 1:
        text += "; then " + "; ".join(entry(e) for e in entries[1:8])
    text += "."
    notes = [n for n in d.get("notes") or [] if isinstance(n, str)]
    return text + (" Note: " + " ".join(notes[:2]) if notes else "")


def _tasks(plan: Plan, outs: list[Outcome]) -> str:
    d = outs[0].data
    tasks = d.get("tasks") if isinstance(d, dict) else None
    if not isinstance(tasks, list):
        return generic(plan, outs)
    lines = [f"- {t.get('name')}: {t.get('kind')}" + (f", {t.get('description')}" if t.get("description") else "")
             for t in tasks if isinstance(t, dict)]
    return f"{len(lines)} benchmark task{'s' if len(lines) != 1 else ''} can run here:\n" + "\n".join(lines)


def _run_bench(plan: Plan, outs: list[Outcome]) -> str:
    d = outs[0].data
    if not isinstance(d, dict) or "runs" not in d:
        return generic(plan, outs)
    lines = []
    for r in d.get("runs") or []:
        metrics = r.get("metrics") or {}
        shown = ", ".join(f"{k} {_num(v)}" for k, v in list(metrics.items())[:3]
                          if isinstance(v, (int, float)))
        lines.append(f"- run #{r.get('id')}: {r.get('model')} on {r.get('task')}: {shown}")
    for e in d.get("errors") or []:
        lines.append(f"- not run: {e.get('model')} on {e.get('task')}: {e.get('message') or e.get('error')}")
    n = len(d.get("runs") or [])
    return (f"Stored {n} new run{'s' if n != 1 else ''} (measured here, "
            f"{_num(d.get('duration_s'))} s):\n" + "\n".join(lines))


def _declared_children(o: Outcome, inferred: set[str] | None = None) -> str:
    base = o.args.get("base_model", "?")
    rows = o.data.get("models", [])
    if inferred is None:
        note = " (declared in their cards; no weight-based lineage tool is available here)"
        if not rows:
            return f"No model in the lake declares {base} as its base model{note}."
        return (f"{len(rows)} model{'s' if len(rows) != 1 else ''} declare{'s' if len(rows) == 1 else ''} "
                f"{base} as base model{note}: " + _join([r["name"] for r in rows]) + ".")
    if not rows:
        return ""
    return f"Cards that declare {base} as their base model: " + _join([
        r["name"] + (" (the weights agree)" if r["name"].lower() in inferred else
                     " (not confirmed by the weights)") for r in rows]) + "."


def _relation(plan: Plan, outs: list[Outcome]) -> str:
    o = outs[0]
    edges = _edges(o.data)
    if len(plan.models) < 2 or not isinstance(o.data, dict):
        return generic(plan, outs)
    if not edges and o.tool == "lineage":  # a family of one: nothing is related to it
        return (f"No lineage connects {plan.models[0]} and {plan.models[1]}: they look unrelated "
                "(the weights put them in different families).")
    a, b = plan.models[0], plan.models[1]
    path = _path(edges, a, b) or _path(edges, b, a)
    if path:
        return "They are related: " + "; ".join(_edge_text(e) for e in path) + "."
    fam = (o.data.get("families") or []) if isinstance(o.data, dict) else []
    together = any(any(_same(x, a) for x in f) and any(_same(x, b) for x in f) for f in fam)
    return (f"{a} and {b} are in the same family but neither is derived from the other." if together
            else f"No lineage connects {a} and {b}: they look unrelated.")


def _path(edges: list[dict[str, Any]], a: str, b: str) -> list[dict[str, Any]]:
    prev: dict[str, tuple[str, dict[str, Any]]] = {}
    queue, seen = deque([a.lower()]), {a.lower()}
    while queue:
        cur = queue.popleft()
        if cur == b.lower():
            out = []
            while cur != a.lower():
                p, e = prev[cur]
                out.append(e)
                cur = p
            return out[::-1]
        for e in edges:
            if e["parent"].lower() == cur and e["child"].lower() not in seen:
                seen.add(e["child"].lower())
                prev[e["child"].lower()] = (cur, e)
                queue.append(e["child"].lower())
    return []


def _same(x: Any, name: str) -> bool:
    return isinstance(x, str) and x.split("@")[0].lower() == name.split("@")[0].lower()


def _model_arg(o: Outcome) -> str | None:
    for k in ("name", "model", "model_name", "spec"):
        if isinstance(o.args.get(k), str):
            return o.args[k]
    return None


def _entries(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        for key in ("entries", "hits", "results", "rows", "runs", "neighbours", "neighbors",
                    "findings", "items"):
            v = data.get(key)
            if isinstance(v, list) and v and isinstance(v[0], dict):
                return v
        for v in data.values():  # any other list of records
            if isinstance(v, list) and v and isinstance(v[0], dict):
                return v
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data
    return []


def _entry_text(e: dict[str, Any]) -> str:
    if isinstance(e.get("message"), str):  # findings, notes, warnings
        tag = "/".join(str(e[k]) for k in ("severity", "kind") if e.get(k))
        extra = "; ".join(f"{k.replace('_', ' ')}: {_num(e[k])}" for k in ("card_says", "lake_found")
                          if e.get(k) not in (None, "", []))
        return (f"[{tag}] " if tag else "") + e["message"] + (f" ({extra})" if extra else "")
    name = e.get("name") or e.get("model") or e.get("id")
    bits = []
    for k in ("value", "score", "distance", "similarity"):
        if isinstance(e.get(k), (int, float)):
            bits.append(f"{k} {_num(e[k])}")
            break
    if e.get("run_ids"):
        bits.append("runs " + ", ".join(f"#{r}" for r in e["run_ids"][:4]))
    if e.get("trust"):
        bits.append(str(e["trust"]))
    why = e.get("why")
    if why:
        bits.append("why: " + ("; ".join(str(w) for w in why[:2]) if isinstance(why, list) else str(why)))
    return f"{name}" + (f" ({', '.join(bits)})" if bits else "")


def generic(plan: Plan, outs: list[Outcome]) -> str:
    """Any tool's result, summarized by its shape."""
    paras = []
    for o in outs:
        d = o.data
        edges = _edges(d)
        entries = _entries(d)
        if edges:
            paras.append(f"{o.tool}: " + "; ".join(_edge_text(e) for e in edges[:15]) + ".")
            continue
        if isinstance(d, dict) and isinstance(d.get("verdict"), str):
            paras.append(d["verdict"])
        if isinstance(d, dict) and isinstance(d.get("text"), str) and len(d["text"]) > 200:
            head = f"Draft from {o.tool}" + (f" for {d.get('model') or d.get('name')}" if
                                              d.get("model") or d.get("name") else "")
            miss = d.get("missing")
            paras.append(head + (f" (still unknown: {_join([str(m) for m in miss[:6]])})" if miss else "")
                         + ":\n\n" + d["text"][:3000])
            continue
        if entries and isinstance(entries[0].get("message"), str):
            head = f"{o.tool}" + (f" for {d.get('model') or d.get('name')}" if isinstance(d, dict)
                                  and (d.get("model") or d.get("name")) else "")
            paras.append(f"{head}: {len(entries)} finding(s):\n" + "\n".join(
                f"- {_entry_text(e)}" for e in entries[:15]))
            continue
        if entries:
            ranked = entries[:10]
            lead = ""
            if isinstance(d, dict) and d.get("task"):
                better = "higher" if d.get("higher_is_better", True) else "lower"
                lead = f"On {d['task']}" + (f" ({d['metric']}, {better} is better)"
                                           if d.get("metric") else "") + ": "
            first = _entry_text(ranked[0])
            paras.append(lead + (f"best is {first}" if plan.intent == "best" else first)
                         + ("; then " + "; ".join(_entry_text(e) for e in ranked[1:]) if len(ranked) > 1 else "")
                         + ".")
            continue
        if isinstance(d, dict):
            scal = [(k, v) for k, v in d.items() if isinstance(v, (str, int, float, bool))
                    and not k.startswith("_") and not (isinstance(v, str) and len(v) > 200)
                    and "hash" not in k]
            paras.append(f"{o.tool} returned: " + "; ".join(f"{k} {_num(v)}" for k, v in scal[:12])
                         + "." if scal else f"{o.tool} returned no facts.")
        elif isinstance(d, list):
            paras.append(f"{o.tool} returned {len(d)} item(s): " + _join([str(x)[:80] for x in d[:10]]) + ".")
        else:
            paras.append(f"{o.tool} returned {d}.")
    return "\n\n".join(p for p in paras if p)


def _need(plan: Plan, outs: list[Outcome]) -> str:
    """Search or best-on-task answered from card metadata words (no search or benchmark tool)."""
    if outs[0].tool != "list_models":
        return generic(plan, outs)
    from modellake.agent.nlu import describe_constraints

    d, args = outs[0].data, outs[0].args
    rows = d.get("models", [])
    cond = describe_constraints(args)
    words = args.get("text")
    how = (f"by the words {words!r} in their names and cards" if words else "by metadata")
    caveat = (" There is no benchmark tool here, so this is not a ranking by measured results."
              if plan.intent == "best" else " (A keyword match on cards, not a semantic search.)")
    if not rows:
        return f"No model in the lake matches {how}" + (f" ({cond})" if cond else "") + "." + caveat
    lines = []
    for r in rows[:10]:
        bits = [r.get("architecture") or "unknown architecture", f"{human(r.get('num_parameters'))} parameters"]
        if r.get("pipeline_tag"):
            bits.append(f"task {r['pipeline_tag']}")
        res = r.get("reported_results") or []
        if res:
            bits.append("card reports " + "; ".join(
                f"{x.get('metric')} {_num(x.get('value'))} on {x.get('dataset')}" for x in res[:2]))
        if r.get("matched"):
            bits.append("matched: " + ", ".join(r["matched"]))
        lines.append(f"- {r['name']}: " + ", ".join(bits))
    head = (f"{len(rows)} model{'s' if len(rows) != 1 else ''} match{'es' if len(rows) == 1 else ''} {how}"
            + (f" ({cond})" if cond else "") + ":")
    return head + "\n" + "\n".join(lines) + "\n" + caveat.strip()


_WRITERS = {
    "search": lambda p, o: _hits(p, o) if o[0].tool != "list_models" else _need(p, o),
    "search_runs": _hits, "similar": _hits, "best": _best, "siblings": _siblings,
    "audit": _audit, "diff": _diff, "tasks": _tasks, "run_bench": _run_bench,
    "lineage": _lineage, "runs": _runs, "compare_runs": _compare_runs,
    "list": _list, "show": _show, "card_text": _card_text, "compare": _compare, "rm": _rm,
    "rename": _rename, "ingest": _ingest, "parents": _parents, "descendants": _descendants,
    "relation": _relation,
}
