"""One model, seen whole or on the aspects a question is about (the ``show_model`` tool's result).

``ASPECTS`` declares what the view can focus on and the words people use for each; the
offline planner reads those words, and :meth:`ModelView.text` writes one sentence per aspect
asked, or the model's one-paragraph summary when none is.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modellake.store.records import Record
from modellake.tools import model_facts
from modellake.tools.inspection import Inspection, human_bytes, human_count
from modellake.tools.rendering import join, plural, round_score

ASPECTS: dict[str, tuple[str, ...]] = {
    "parameters": ("parameters", "params", "param", "how big", "how large", "number of weights",
                   "parameter count", "param count", "its size", "model size"),
    "layers": ("layers", "layer", "layer count", "depth", "how deep", "transformer blocks",
               "num layers", "n_layer", "number of layers"),
    "dtypes": ("dtype", "dtypes", "precision", "fp16", "fp32", "bf16", "float", "data type"),
    "quantization": ("quantized", "quantization", "quantised", "quantisation", "quant", "quant method",
                     "int8", "int4", "q4", "q8", "bits", "bit width"),
    "tied": ("tied", "tie", "lm-head", "lm head", "output embedding", "output embeddings", "shared weights",
             "weights shared", "weight sharing", "shared embeddings", "weight tying", "share its input and output"),
    "sparsity": ("sparse", "sparsity", "zeros", "zero", "zeroes", "zeroed", "pruned", "pruned away"),
    "outliers": ("outliers", "outlier", "kurtosis", "heavy tailed", "heavy-tailed"),
    "config": ("hidden size", "hidden dim", "attention heads", "heads", "vocab", "vocabulary", "activation",
               "context length", "context window", "max position", "sequence length", "how long can",
               "how long a", "how long of a", "how long an", "how long may",
               "input length", "max length", "max input", "max tokens", "how many tokens",
               "embedding size", "intermediate size", "kv heads", "ctx", "ctx len", "context",
               "hidden dim", "model dim", "ffn", "intermediate width", "vocab size"),
    "files": ("which files", "what files", "file list", "list its files", "files",
              "how many tensors", "tensor count", "number of tensors"),
    "modules": ("module", "modules", "module group", "largest tensor", "biggest tensor", "tensor shapes",
                "largest tensors", "biggest tensors", "largest matrix", "biggest matrix", "by module",
                "where do the params",
                "where the parameters", "attention", "mlp", "embeddings share", "breakdown",
                "share of the parameters", "share of the params", "share of its parameters", "share of its params",
                "percentage of its params", "percentage of the params", "percentage of its parameters",
                "percent of the parameters", "fraction of the parameters", "embedding table", "are embeddings",
                "params live", "parameters live", "most of its params", "most of the params",
                "most of its parameters", "most of the parameters"),
    "disk": ("disk", "bytes", "storage", "file size", "megabytes", "gigabytes", "on disk", "mb", "memory", "ram",
             "gb", "mib", "gib", "disk space"),
    "format": ("format", "stored as", "file type", "saved as"),
    "architecture": ("architecture", "arch", "model type", "kind of model", "type of model",
                     "backbone"),
    "card": ("missing", "lacks", "lacking", "gaps", "incomplete", "undocumented", "documented",
             "have a card", "has a card", "have a model card", "has a model card", "got a card", "any card",
             "a readme", "completeness", "what's wrong with", "improve"),
    "maker": ("who made", "who makes", "maker", "makers", "developed by", "developer", "developers",
              "who developed", "creator", "created by", "who created", "who built", "who trained",
              "who released", "who published", "publisher", "which company", "what company",
              "which organization", "what organization", "which organisation", "which org", "who's the author",
              "which lab", "what lab", "which vendor", "who is behind", "who's behind", "who owns"),
    "license": ("license", "licence", "licensed", "lic", "commercial", "commercially"),
    "base_model": ("base model", "declared base", "based on", "fine-tuned from", "built on",
                   "declare as its base", "declares as its base", "declare as base"),
    "datasets": ("dataset", "datasets", "trained on", "training data", "corpus", "tuned on", "fine-tuned on",
                 "finetuned on"),
    "task": ("task", "pipeline", "used for", "purpose", "meant for", "intended for",
             "designed for", "what is it for", "good for", "what does x do",
             "what does it do", "what is x for"),
    "language": ("language", "languages", "multilingual", "langs", "lang"),
    "labels": ("labels", "label set", "classes", "class names", "categories", "classifier head", "what does it predict",
               "what can it predict", "which classes", "output classes"),
    "tags": ("tags", "tagged"),
    "library": ("library", "framework"),
    "results": ("reported", "results", "accuracy", "scores", "metrics", "benchmarks"),
    "versions": ("versions", "history", "ingested", "source", "path", "where is it stored",
                 "when was it added"),
}

# what a card-only model's name and tags say about it (its weights cannot be read)
_NAME_QUANT = [(r"b1\.58|1\.58[-_]?bits?", "1.58-bit (ternary weights)"), (r"gguf", "GGUF"),
               (r"awq", "AWQ"), (r"gptq", "GPTQ"), (r"exl2", "EXL2"),
               (r"bnb[-_]?4bit|4[-_]?bit", "4-bit (bitsandbytes)" ), (r"bnb[-_]?8bit|8[-_]?bit", "8-bit"),
               (r"int8", "int8"), (r"int4", "int4"), (r"q\d(?:_k)?(?:_[a-z0-9]+)?", None), (r"qat", "QAT")]
_NAME_ARCH = ("detr", "bert", "roberta", "xlm-roberta", "distilbert", "deberta", "llama", "mistral",
              "mixtral", "gemma", "qwen", "phi", "t5", "mbart", "bart", "whisper", "yolo", "gpt-j",
              "gpt2", "falcon", "bloom", "opt", "e5", "bge", "minilm", "nllb", "chronos", "controlnet",
              "bitnet", "resnet", "vit", "clip", "seamless")


def name_facts(name: str, tags: list[str] | None = None) -> dict[str, str]:
    """What a model's name (and tags) state: size, quantization, format, architecture words."""
    import re

    low = name.lower().split("/")[-1]
    out: dict[str, str] = {}
    size = re.search(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)\s*([bm])(?![a-z0-9])", low)
    if size:
        out["parameters"] = f"{size.group(1)}{size.group(2).upper()}"
    quants = []
    for rx, label in _NAME_QUANT:
        m = re.search(rf"(?<![a-z0-9]){rx}(?![a-z0-9])", low)
        if m:
            quants.append(label or m.group(0).upper())
    if quants:
        out["quantization"] = ", ".join(dict.fromkeys(quants))
    if re.search(r"(?<![a-z0-9])gguf(?![a-z0-9])", low):
        out["format"] = "gguf"
    words = set(re.split(r"[^a-z0-9-]+", low)) | set(re.split(r"[-_]", low)) | {t.lower() for t in tags or []}
    arch = [a for a in _NAME_ARCH if a in words or low.startswith(a + "-")]
    if arch:
        out["architecture"] = ", ".join(arch[:3])
    return out


_CONFIG = {"hidden_size": "hidden size", "n_embd": "hidden size",
           "embedding_length": "embedding size", "num_attention_heads": "attention heads",
           "n_head": "attention heads", "num_key_value_heads": "key/value heads",
           "intermediate_size": "intermediate size", "vocab_size": "vocabulary size",
           "max_position_embeddings": "maximum positions", "n_positions": "maximum positions",
           "context_length": "context length"}
_ACTIVATION = ("hidden_act", "activation_function", "hidden_activation")  # "silu", "gelu_new"


@dataclass
class ModelView(Record):
    """``show_model``: the model's facts (``data``) and the aspects the question is about."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)
    about: list[str] = field(default_factory=list)
    inspection: Inspection | None = None
    versions: list[int] = field(default_factory=list)
    card_claims: dict[str, str] = field(default_factory=dict)  # what the card states, in its words

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def summary(self) -> str:
        return self.data.get("summary", self.name).split(". ")[0] + "."

    def text(self) -> str:
        i = self.inspection
        if i is None:
            return self.data.get("summary", self.name)
        if not self.about:
            return model_facts.summary(i) + _made_from(self)
        said = [_SENTENCES[a](i, self) for a in self.about if a in _SENTENCES]
        return " ".join(dict.fromkeys(s for s in said if s)) or model_facts.summary(i)


def _made_from(v: ModelView) -> str:
    """" By its weights, it was pruned from enc-base.": how the model was made, when the lake knows."""
    from modellake.tools.lineage.words import VERBS

    made = v.data.get("derived_from") or []
    if not made:
        return ""
    parents = join([m["parent"] for m in made])
    verb = VERBS.get(made[0]["relation"], "derived from")
    return f" By its weights, it was {verb} {parents}." if not verb.startswith("a") else \
        f" By its weights, it is {verb} {parents}."


def _card_or(i: Inspection, text: Callable[[], str]) -> str:
    return text() if i.card.present else f"{i.name} has no model card, so it declares nothing."


def _params(i: Inspection, v: ModelView) -> str:
    if i.num_parameters is None:
        stated = v.card_claims.get("parameters") if v.card_claims else None
        named = _named(v, "parameters")
        if stated and named:  # "7B" in its name, "70 billion" in a sentence about the family
            return (f"{i.name}'s weights are not in the lake; its name says {named}, and its card states "
                    f"{stated} (the lake cannot check either without the weights).")
        if stated:
            return (f"{i.name}'s weights are not in the lake; its card states {stated} "
                    "(the lake cannot check it without the weights).")
        if _named(v, "parameters"):
            return (f"{i.name}'s weights are not in the lake and its card states no parameter count; "
                    f"its name says {_named(v, 'parameters')} (not checked).")
        return f"{i.name} has no parameter count in the lake (only its card is stored)."
    tied = ""
    if i.unique_parameters is not None and i.unique_parameters != i.num_parameters:
        tied = f"; {human_count(i.unique_parameters)} once tied copies are counted once"
    return f"{i.name} has {human_count(i.num_parameters)} parameters ({i.num_parameters:,}{tied})."


def _layers(i: Inspection, v: ModelView) -> str:
    n = i.num_layers or i.config_layers
    if n:
        return f"{i.name} has {n} layers."
    stated = (v.card_claims or {}).get("layers")
    if stated:
        return (f"{i.name}'s weights are not in the lake; its card states {stated} layers (not checked "
                "against weights).")
    return _said(v, "layers", i.name) or f"The lake does not know how many layers {i.name} has."


def _said(v: ModelView, key: str, name: str) -> str | None:
    """What a card-only model's card says where its weights would tell (quoted, not checked)."""
    quote = (v.card_claims or {}).get(f"said_{key}")
    return (f"{name}'s weights are not in the lake; its card says: \u201c{quote}\u201d (not checked "
            "against weights).") if quote else None


def _dtypes(i: Inspection, v: ModelView) -> str:
    if not i.dtypes:
        named = _named(v, "quantization")
        if named and not i.weights_in_lake:  # "is bitnet-b1.58 a normal fp16 model?"
            return (f"{i.name}'s weights are not in the lake; its name says {named}, not plain "
                    "fp16 (not checked against weights).")
        return f"The lake has no dtype for {i.name}."
    return f"{i.name}'s weights are stored in {join(i.dtypes)}."


def _named(v: ModelView, key: str) -> str | None:
    return (v.card_claims or {}).get(f"name_{key}")


def _quant(i: Inspection, v: ModelView) -> str:
    if not i.weights_in_lake and _named(v, "quantization"):
        bits = (v.card_claims or {}).get("bits")
        said = f"; its card says {bits}" if bits else ""
        return (f"{i.name}'s weights are not in the lake; its name says it is quantized "
                f"({_named(v, 'quantization')}){said}, which the lake cannot check.")
    if i.quantization:
        how = {"gguf": "its GGUF tensor types", "config": "its quantization config",
               "dtype": "its dtypes", "detected": "the values of its weights"}.get(
            i.quantization_source or "", "its files")
        looks = re.match(r"looks (\S+)-quantized", i.quantization)
        if looks:  # float files holding values on a grid
            return (f"Yes: {i.name} is quantized to {looks.group(1)}, though not on disk: its files "
                    f"store {join(i.dtypes) or 'float'} values (stored as float), which sit on an "
                    f"{looks.group(1)} grid (read from {how}).")
        return f"Yes: {i.name} is quantized ({i.quantization}, read from {how})."
    if not i.weights_in_lake:
        return f"{i.name}'s weights are not in the lake, so its quantization is unknown."
    if i.quantization_evidence:
        return (f"{i.name} is stored as {join(i.dtypes) or 'float'}, but its values say more: "
                f"{i.quantization_evidence}.")
    copy_of = model_facts.quantized_from(v.data.get("derived_from"))
    if copy_of:
        return (f"{i.name}'s files store {join(i.dtypes) or 'float'} values, but its weights show a quantized "
                f"copy of {join(copy_of)} (stored as float).")
    return (f"{i.name}'s files store {join(i.dtypes) or 'float'} values: it is not quantized in "
            "storage.")


def _tied(i: Inspection, v: ModelView) -> str:
    heads = [g for g in i.tied or [] if "head" in g.kind]
    reuse = [n for n in i.tie_notes if "reuses" in n or "tied embeddings" in n]
    if reuse and not heads:
        return f"Yes: {i.name} ties its output layer to its input embeddings ({reuse[0]})."
    if heads:
        return f"Yes: {i.name} ties its input embeddings to its output head ({join(heads[0].names)})."
    if i.tied:
        return f"{i.name} stores {len(i.tied)} group(s) of identical tensors, but no embedding tied to its head."
    return " ".join([f"No, {i.name} does not tie its embeddings: it has no tied weights."]
                    + i.tie_notes[:1])


def _sparsity(i: Inspection, v: ModelView) -> str:
    if i.zero_fraction is None:
        return f"The lake has no weight statistics for {i.name}."
    return (f"{i.zero_fraction:.1%} of {i.name}'s weights are exactly zero; "
            f"{i.sparse_tensor_count or 0} tensor(s) are more than 10% zeros.")


def _outliers(i: Inspection, v: ModelView) -> str:
    if i.outlier_count is None:
        return f"The lake has no weight statistics for {i.name}."
    top = (i.top_kurtosis or [])[:1]
    worst = f" The heaviest-tailed is {top[0].name}." if top and i.outlier_count else ""
    return (f"{i.name} has {i.outlier_count} tensor(s) with outliers (excess kurtosis above "
            f"{i.outlier_kurtosis:g}).{worst}")


def _config(i: Inspection, v: ModelView) -> str:
    cfg = v.data.get("config") or {}
    bits = [f"{label} {cfg[k]}" for k, label in _CONFIG.items() if isinstance(cfg.get(k), int)]
    bits += [f"activation {cfg[k]}" for k in _ACTIVATION if isinstance(cfg.get(k), str)][:1]
    if not bits:
        return _said(v, "config", i.name) or f"The lake has no configuration values for {i.name}."
    return f"{i.name}'s configuration: {', '.join(dict.fromkeys(bits))}."


def _files(i: Inspection, v: ModelView) -> str:
    files = sorted(i.files, key=lambda f: -f.size)
    shown = join([f"{f.path} ({human_bytes(f.size)})" for f in files[:8]])
    more = f" and {len(files) - 8} more" if len(files) > 8 else ""
    tensors = f" Its weights are {plural(i.num_tensors, 'tensor')}." if i.num_tensors else ""
    return f"{i.name} has {len(files)} file(s), {human_bytes(i.total_size)} in all: {shown}{more}.{tensors}"


def _modules(i: Inspection, v: ModelView) -> str:
    groups = sorted(i.groups or [], key=lambda g: -g.parameters)
    if not groups:
        return f"The lake has no per-module breakdown of {i.name}'s parameters (its weights are not in it)."
    parts = [f"{g.group} {human_count(g.parameters)} ({g.fraction:.0%}, {plural(g.tensors, 'tensor')})"
             for g in groups]
    return (f"Most of {i.name}'s parameters sit in its {groups[0].group} ({groups[0].fraction:.0%}); "
            f"by module: {join(parts)}.")


def _disk(i: Inspection, v: ModelView) -> str:
    if not i.weights_in_lake:
        return (f"Only {i.name}'s card is in the lake (its weights are not): the card takes "
                f"{human_bytes(i.total_size)} ({i.total_size:,} bytes).")
    return f"{i.name} takes {human_bytes(i.total_size)} on disk ({i.total_size:,} bytes)."


def _format(i: Inspection, v: ModelView) -> str:
    if not i.weights_in_lake and _named(v, "format"):
        return (f"Only {i.name}'s card is in the lake; its name says the weights are "
                f"{_named(v, 'format')} files.")
    if not i.weights_in_lake:
        return f"Only {i.name}'s card is in the lake (a card-only entry): no weight files are stored."
    return f"{i.name} is stored as {i.format}" + (f" ({i.quantization})." if i.quantization else ".")


def _arch(i: Inspection, v: ModelView) -> str:
    if not i.architecture and not i.weights_in_lake:
        task = f" Its card gives the task {i.card.pipeline_tag}." if i.card.pipeline_tag else ""
        named = _named(v, "architecture")
        said = (v.card_claims or {}).get("said_architecture")
        said = f" Its card says: \u201c{said}\u201d." if said else ""
        if named:
            return (f"Only {i.name}'s card is in the lake, not its weights; its name and tags point "
                    f"to {named} (not checked against weights).{said}{task}")
        if said:
            return f"{i.name}'s weights are not in the lake.{said}{task}"
        return f"{i.name}'s architecture is unknown: only its card is in the lake.{task}"
    arch = i.architecture or "unknown"
    classes = [c for c in (v.data.get("config") or {}).get("architectures") or [] if isinstance(c, str)]
    extra = [f"model type {i.model_type}"] if i.model_type and i.model_type != arch else []
    extra += [f"class {join(classes)}"] if classes else []
    return f"{i.name} is a {arch} model" + (f" ({', '.join(extra)})" if extra else "") + "."


def _card(i: Inspection, v: ModelView) -> str:
    c = i.card
    if not c.present:
        return f"{i.name} has no model card: it is undocumented."
    has = f"{i.name} has a model card" + (f" (license {c.license})" if c.license else " (it declares no license)")
    if not c.missing:
        return f"{has}, and it covers everything the card guidance asks for."
    overall = f" Overall it is {c.completeness:.0%} complete by the Hub's card guidance." \
        if c.completeness is not None else ""
    return f"{has}; it is missing {join(c.missing)}.{overall}"


_NON_COMMERCIAL = re.compile(r"(?:^|[-_])nc(?:[-_]|$)|non-?commercial|research[-_]only", re.I)


def license_text(value: object) -> str:
    """"cc-by-nc-4.0 (non-commercial use only)", "mit"."""
    return f"{value} (non-commercial use only)" if _NON_COMMERCIAL.search(str(value)) else str(value)


def _license(i: Inspection, v: ModelView) -> str:
    if i.card.present and i.card.license:
        return f"{i.name}'s card declares the license {license_text(i.card.license)}."
    said = [f"{i.name}'s card declares no license" if i.card.present else f"{i.name} has no model card"]
    header = v.data.get("header_license")
    if header:
        said.append(f"its GGUF header declares the license {license_text(header)}")
    parents = v.data.get("parent_licenses") or []
    if parents:
        said.append("it derives from " + join([f"{p['parent']}, whose card declares {license_text(p['license'])}"
                                               for p in parents]) + " (a derivative is bound by its parent's terms)")
    if len(said) == 1:
        return f"{said[0]}, so it declares nothing." if not i.card.present else f"{said[0]}."
    return "; ".join(said) + "."


def _maker(i: Inspection, v: ModelView) -> str:
    who = v.data.get("maker")
    if who:
        if who.startswith("not stated; "):  # only whose its base model is
            return (f"{i.name}'s {'card' if i.card.present else 'files'} do{'es' if i.card.present else ''} "
                    f"not say who made it; {who.removeprefix('not stated; ')}.")
        return f"{i.name} was made by {who}."
    return (f"Who made {i.name} is not recorded: it has no card, its name carries no Hub namespace and "
            f"it declares no base model." if not i.card.present else
            f"{i.name}'s card does not say who made it, and it declares no base model from a known publisher.")


def _base(i: Inspection, v: ModelView) -> str:
    def said() -> str:
        bases = i.card.base_model + ([i.adapter_base] if i.adapter_base else [])
        if not bases:
            return f"{i.name}'s card declares no base model."
        rel = f" ({i.card.base_model_relation})" if i.card.base_model_relation else ""
        return f"{i.name}'s card declares {join(list(dict.fromkeys(bases)))} as its base model{rel}."
    return _card_or(i, said)


def _labels(i: Inspection, v: ModelView) -> str:
    """"Its classifier head outputs 3 labels: sports, weather and cooking." (config id2label or the
    head stored beside the encoder)."""
    labels, where = v.data.get("labels") or [], v.data.get("labels_from")
    if not labels:
        return f"{i.name} has no label names stored: no id2label in its configuration and no classifier head beside it."
    return f"{i.name}'s {where} outputs {plural(len(labels), 'label')}: {join(labels)}."


LISTED = 12  # list items named before "and N more"


def _listed(field_name: str, label: str) -> Callable[[Inspection, ModelView], str]:
    def sentence(i: Inspection, v: ModelView) -> str:
        values = getattr(i.card, field_name)
        values = [values] if isinstance(values, str) else values or []
        if field_name == "language":  # "multilingual" is how many, not one more language
            values = [x for x in values if str(x).lower() != "multilingual"] or values
        shown = join(values) if len(values) <= LISTED else ", ".join(values[:LISTED]) + ", …"
        return _card_or(i, lambda: f"{i.name}'s card lists {plural(len(values), label[:-1], label)}: "
                                   f"{shown}." if values else f"{i.name}'s card lists no {label}.")
    return sentence


def _task(i: Inspection, v: ModelView) -> str:
    summary = (v.card_claims or {}).get("said_task")
    return _card_or(i, lambda: f"{i.name}'s card gives the task {i.card.pipeline_tag}." if
                    i.card.pipeline_tag else f"{i.name}'s card gives no task; it opens: "
                    f"\u201c{summary}\u201d" if summary else f"{i.name}'s card gives no task.")


def _results(i: Inspection, v: ModelView) -> str:
    results = (v.data.get("card") or {}).get("reported_results") or []
    if not results:
        return (f"{i.name}'s card reports no evaluation results in its metadata (model-index)."
                if i.card.present else f"{i.name} has no model card, so no reported results.")
    bits = []
    for r in results[:6]:
        value = r.get("value")
        shown = round_score(value) if isinstance(value, float) else value
        where = r.get("dataset") or r.get("task") or ""
        bits.append(f"{r.get('metric', 'score')} {shown}" + (f" on {where}" if where else ""))
    return f"{i.name}'s card reports {join(bits)}."


def _versions(i: Inspection, v: ModelView) -> str:
    vs = v.versions or [i.version]
    return (f"{i.name} has {len(vs)} version(s) in the lake ({join([str(x) for x in vs])}); "
            f"version {i.version} was ingested {i.ingested_at[:19].replace('T', ' ')} from {i.source}.")


_SENTENCES: dict[str, Callable[[Inspection, ModelView], str]] = {
    "parameters": _params, "layers": _layers, "dtypes": _dtypes, "quantization": _quant,
    "tied": _tied, "sparsity": _sparsity, "outliers": _outliers, "config": _config,
    "files": _files, "modules": _modules, "disk": _disk, "format": _format, "architecture": _arch, "card": _card,
    "license": _license, "maker": _maker, "base_model": _base, "datasets": _listed("datasets", "datasets"),
    "task": _task, "language": _listed("language", "languages"), "labels": _labels,
    "tags": _listed("tags", "tags"), "library": lambda i, v: _card_or(
        i, lambda: f"{i.name}'s card names the library {i.card.library_name}." if
        i.card.library_name else f"{i.name}'s card names no library."),
    "results": _results, "versions": _versions,
}
