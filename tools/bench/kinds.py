"""What a model does for each kind of task, and how per-sample outputs become metrics.

Every runner batches its inputs (sorted by length, so padding stays small), runs under
``torch.inference_mode``, reports progress in examples, and returns per-sample outputs.
Metrics are always computed from those per-sample outputs by :func:`metrics_from_outputs`,
so a stored run's numbers can be recomputed, and bootstrapped, from what it kept.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modellake.store.errors import TaskError
from modellake.tools.bench import stats as st
from modellake.tools.bench.models import ModelHandle
from modellake.tools.bench.tasks import TaskData, label_order
from modellake.tools.embedding.packed_bert import (
    PackedBert,
    check_against,
    pad_batch,
    padded_mean_pool,
    why_not,
)

Tick = Callable[[int], None]
LOGIT_BUDGET = 48_000_000  # floats of (batch x length x vocab) logits held at once


@dataclass
class KindResult:
    metrics: dict[str, float]
    outputs: list[dict[str, Any]]
    config: dict[str, Any] = field(default_factory=dict)
    fingerprint: np.ndarray | None = None


def work_units(data: TaskData) -> int:
    """How many progress units a task takes (examples; masked copies for pseudo-perplexity)."""
    kind = data.spec.kind
    if kind == "similarity":
        return len({r["text1"] for r in data.test} | {r["text2"] for r in data.test})
    if kind == "classification":
        return len(data.train) + len(data.test)
    return len(data.test)


# --------------------------------------------------------------------------- metrics
def metric_stat(kind: str, outputs: list[dict[str, Any]],
                codes: dict[str, int] | None = None) -> st.Stat:
    """A function from example indices to the kind's metrics over those per-sample outputs.

    ``codes`` maps class labels to integers; pass the same mapping for two models that are
    bootstrapped together.
    """
    if kind == "similarity":
        pred = np.array([o["pred"] for o in outputs], dtype=np.float64)
        gold = np.array([o["gold"] for o in outputs], dtype=np.float64)
        return lambda idx: {"spearman": st.spearman(pred[idx], gold[idx]),
                            "pearson": st.pearson(pred[idx], gold[idx])}
    if kind == "classification":
        if codes is None:
            codes = {lab: i for i, lab in enumerate(sorted(
                {str(o["gold"]) for o in outputs} | {str(o["pred"]) for o in outputs}))}
        g = np.array([codes[str(o["gold"])] for o in outputs], dtype=np.int64)
        p = np.array([codes[str(o["pred"])] for o in outputs], dtype=np.int64)
        k = max(codes.values(), default=0) + 1
        return lambda idx: {"accuracy": float(np.mean(g[idx] == p[idx])) if len(idx) else float("nan"),
                            "macro_f1": st.macro_f1_codes(g[idx], p[idx], k)}
    if kind in ("perplexity", "pseudo_perplexity"):
        nll = np.array([o["nll"] for o in outputs], dtype=np.float64)
        tok = np.array([o["tokens"] for o in outputs], dtype=np.float64)

        def ppl(idx: np.ndarray) -> dict[str, float]:
            n = tok[idx].sum()
            return {kind: math.exp(nll[idx].sum() / n) if n else float("nan")}
        return ppl
    return lambda idx: {}


def label_codes(*outputs: list[dict[str, Any]]) -> dict[str, int]:
    labels = {str(o[k]) for out in outputs for o in out for k in ("gold", "pred") if k in o}
    return {lab: i for i, lab in enumerate(sorted(labels))}


def metrics_from_outputs(kind: str, outputs: list[dict[str, Any]],
                         metrics: list[str] | None = None) -> dict[str, float]:
    """A task kind's metrics, computed from per-sample outputs (the same code bootstraps use)."""
    out = metric_stat(kind, outputs)(np.arange(len(outputs)))
    if metrics is not None:
        out = {k: v for k, v in out.items() if k in metrics}
    return out


# --------------------------------------------------------------------------- batching
def _batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def _tokenize(handle: ModelHandle, texts: list[str], max_length: int) -> list[list[int]]:
    tok = handle.tokenizer()
    enc = tok(texts, truncation=True, max_length=max_length, add_special_tokens=True)
    ids = [list(x) for x in enc["input_ids"]]
    if any(len(x) == 0 for x in ids):
        raise TaskError(f"model {handle.record.name}: its tokenizer produced an empty sequence")
    return ids


def _packed_for(handle: ModelHandle, ids: list[list[int]]) -> PackedBert | None:
    """The model's packed forward when it may stand in for transformers' (decided once per
    opened model, on the first task's inputs); ``handle.packed_note`` says what was decided."""
    import torch

    def decide() -> PackedBert | None:
        model = handle.encoder()
        reason = ("engine=transformers requested" if handle.engine == "transformers"
                  else why_not(model, handle.device))
        if reason is None:
            packed = PackedBert(model)
            pad_id = handle.tokenizer().pad_token_id
            with torch.inference_mode():
                diff = check_against(packed, lambda s: padded_mean_pool(model, s, pad_id, handle.device), ids)
            if diff is not None:
                handle.packed_note = f"{packed.description}; matched transformers to {diff:.1e}"
                return packed
            reason = "its embeddings differed from transformers' beyond 1e-4"
        handle.packed_note = f"transformers (packed forward not used: {reason})"
        return None

    return handle.cached("packed", decide)


def embed(handle: ModelHandle, texts: list[str], batch_size: int, max_length: int,
          tick: Tick, use_lm: bool = False) -> np.ndarray:
    """Mean-pooled last hidden states, one row per text (duplicates encoded once).

    Encoders go through :class:`PackedBert` where it computes the same function, else (and
    causal LMs always) through transformers in length-sorted padded batches.
    """
    from collections import Counter

    import torch

    counts = Counter(texts)
    uniq = list(counts)
    ids = _tokenize(handle, uniq, max_length)
    packed = None if use_lm else _packed_for(handle, ids)
    handle.forward = None if use_lm else handle.packed_note
    index = {t: i for i, t in enumerate(uniq)}
    if packed is not None:
        pooled = packed.embed(ids, lambda chunk: tick(sum(counts[uniq[i]] for i in chunk)))
        return pooled[[index[t] for t in texts]]
    # a causal LM's backbone (no LM head: its logits are not needed here)
    model = handle.causal_lm().base_model if use_lm else handle.encoder()
    pad_id = handle.tokenizer().pad_token_id
    rows: list[Any] = [None] * len(uniq)
    with torch.inference_mode():
        for batch in _batches([len(x) for x in ids], batch_size):
            pooled = padded_mean_pool(model, [ids[i] for i in batch], pad_id, handle.device)
            for j, i in enumerate(batch):
                rows[i] = pooled[j]
            tick(sum(counts[uniq[i]] for i in batch))
    return np.stack([rows[index[t]] for t in texts]).astype(np.float32)


# --------------------------------------------------------------------------- kinds
def run_similarity(handle: ModelHandle, data: TaskData, bs: int, ml: int, tick: Tick) -> KindResult:
    rows = data.test
    emb = embed(handle, [r["text1"] for r in rows] + [r["text2"] for r in rows], bs, ml, tick)
    u, v = emb[:len(rows)].astype(np.float64), emb[len(rows):].astype(np.float64)
    cos = (u * v).sum(1) / np.maximum(np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1), 1e-12)
    outputs = [{"id": r["id"], "pred": float(c), "gold": r["score"]} for r, c in zip(rows, cos)]
    return KindResult(metrics_from_outputs("similarity", outputs, data.spec.metrics), outputs,
                      {"pooling": "mean", "score": "cosine"})


def run_classification(handle: ModelHandle, data: TaskData, bs: int, ml: int, tick: Tick,
                       head: str = "auto", seed: int = 0) -> KindResult:
    import torch

    labels = label_order(data)
    found, why_not = handle.classifier_head(labels) if head != "probe" else (None, "probe requested")
    if head == "head" and found is None:
        raise TaskError(f"model {handle.record.name} cannot use its own head for task "
                        f"{data.spec.name}: {why_not}; drop --head to use a linear probe")
    test_texts = [r["text"] for r in data.test]
    config: dict[str, Any] = {"labels": labels}
    if found is not None:
        tick(len(data.train))  # no training needed
        if found.source == "transformers":
            model = handle.sequence_classifier()
            ids = _tokenize(handle, test_texts, ml)
            pad_id = handle.tokenizer().pad_token_id
            logits = np.zeros((len(ids), len(found.labels)), dtype=np.float64)
            with torch.inference_mode():
                for batch in _batches([len(x) for x in ids], bs):
                    input_ids, mask = pad_batch([ids[i] for i in batch], pad_id, handle.device)
                    out = model(input_ids=input_ids, attention_mask=mask).logits.float().cpu().numpy()
                    logits[batch] = out
                    tick(len(batch))
        else:
            w, b = handle.sidecar_head()  # type: ignore[misc]
            emb = torch.tensor(embed(handle, test_texts, bs, ml, tick)).to(w.device)
            logits = (emb @ w.T + b).cpu().numpy().astype(np.float64)
        z = logits - logits.max(1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        by_name = {n.strip().lower(): n for n in labels}
        head_labels = [by_name[x.strip().lower()] for x in found.labels]
        config.update(method=f"head:{found.source}", head_labels=found.labels)
    else:
        emb = embed(handle, [r["text"] for r in data.train] + test_texts, bs, ml, tick)
        index = {lab: i for i, lab in enumerate(labels)}
        predict = st.train_linear_probe(emb[:len(data.train)],
                                        [index[r["label"]] for r in data.train],
                                        len(labels), seed=seed)
        probs = predict(emb[len(data.train):])
        head_labels = labels
        config.update(method="linear_probe", probe="logistic regression (L2 1e-2, L-BFGS, "
                      "standardized features)", train_examples=len(data.train),
                      head_not_used=why_not)
    outputs = []
    for r, p in zip(data.test, probs):
        k = int(np.argmax(p))
        outputs.append({"id": r["id"], "pred": head_labels[k], "gold": r["label"],
                        "p": round(float(p[k]), 6)})
    return KindResult(metrics_from_outputs("classification", outputs, data.spec.metrics),
                      outputs, config)


def _lm_batch(bs: int, length: int, vocab: int) -> int:
    return max(1, min(bs, LOGIT_BUDGET // max(1, length * vocab)))


def run_perplexity(handle: ModelHandle, data: TaskData, bs: int, ml: int, tick: Tick) -> KindResult:
    import torch

    model = handle.causal_lm()
    tok = handle.tokenizer()
    ids = _tokenize(handle, [r["text"] for r in data.test], ml)
    bos = tok.bos_token_id
    added_bos = False
    if bos is not None and any(x[0] != bos for x in ids):
        ids = [[bos] + x[: ml - 1] if x[0] != bos else x for x in ids]
        added_bos = True
    vocab = int(model.get_output_embeddings().weight.shape[0])
    width = max(len(x) for x in ids)
    nll = [0.0] * len(ids)
    ntok = [0] * len(ids)
    with torch.inference_mode():
        for batch in _batches([len(x) for x in ids], _lm_batch(bs, width, vocab)):
            input_ids, mask = pad_batch([ids[i] for i in batch], tok.pad_token_id, handle.device)
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
            lp = torch.log_softmax(logits[:, :-1], dim=-1)
            target = input_ids[:, 1:]
            tok_lp = lp.gather(-1, target.unsqueeze(-1)).squeeze(-1) * mask[:, 1:]
            for j, i in enumerate(batch):
                nll[i] = float(-tok_lp[j].sum())
                ntok[i] = int(mask[j, 1:].sum())
            tick(len(batch))
    outputs = [{"id": r["id"], "nll": round(n, 6), "tokens": t}
               for r, n, t in zip(data.test, nll, ntok) if t > 0]
    if not outputs:
        raise TaskError(f"task {data.spec.name}: every line is a single token; nothing to predict")
    return KindResult(metrics_from_outputs("perplexity", outputs, data.spec.metrics), outputs,
                      {"max_length": ml, "bos_prepended": added_bos,
                       "tokens": sum(o["tokens"] for o in outputs)})


def run_pseudo_perplexity(handle: ModelHandle, data: TaskData, bs: int, ml: int, tick: Tick) -> KindResult:
    import torch

    model = handle.masked_lm()
    tok = handle.tokenizer()
    if tok.mask_token_id is None:
        raise TaskError(f"model {handle.record.name}: its tokenizer has no mask token")
    enc = tok([r["text"] for r in data.test], truncation=True, max_length=ml,
              return_special_tokens_mask=True)
    copies: list[tuple[int, int]] = []  # (sample, position)
    for i, special in enumerate(enc["special_tokens_mask"]):
        copies += [(i, p) for p, s in enumerate(special) if not s]
    vocab = int(model.get_output_embeddings().weight.shape[0])
    width = max(len(x) for x in enc["input_ids"])
    nll = [0.0] * len(data.test)
    ntok = [0] * len(data.test)
    lengths = [len(enc["input_ids"][i]) for i, _ in copies]
    expected = [0] * len(data.test)
    for i, _ in copies:
        expected[i] += 1
    with torch.inference_mode():
        for batch in _batches(lengths, _lm_batch(bs, width, vocab)):
            seqs = []
            for c in batch:
                i, p = copies[c]
                s = list(enc["input_ids"][i])
                s[p] = tok.mask_token_id
                seqs.append(s)
            input_ids, mask = pad_batch(seqs, tok.pad_token_id, handle.device)
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
            for j, c in enumerate(batch):
                i, p = copies[c]
                lp = torch.log_softmax(logits[j, p], dim=-1)[enc["input_ids"][i][p]]
                nll[i] -= float(lp)
                ntok[i] += 1
            finished = {copies[c][0] for c in batch if ntok[copies[c][0]] == expected[copies[c][0]]}
            tick(len(finished))
    outputs = [{"id": r["id"], "nll": round(n, 6), "tokens": t}
               for r, n, t in zip(data.test, nll, ntok) if t > 0]
    return KindResult(metrics_from_outputs("pseudo_perplexity", outputs, data.spec.metrics),
                      outputs, {"max_length": ml, "masked_copies": len(copies),
                                "method": "each non-special token masked in turn (Salazar et al. 2020)"})


def run_probe(handle: ModelHandle, data: TaskData, bs: int, ml: int, tick: Tick) -> KindResult:
    use_lm = handle.is_causal_lm
    fp = embed(handle, [r["text"] for r in data.test], bs, ml, tick, use_lm=use_lm)
    return KindResult({}, [], {"fingerprint": {"rows": int(fp.shape[0]), "dim": int(fp.shape[1]),
                                                "what": "mean-pooled last hidden state" +
                                                (" of the causal LM" if use_lm else "")}},
                      fingerprint=fp)


def run_kind(handle: ModelHandle, data: TaskData, *, batch_size: int, max_length: int,
             tick: Tick, head: str = "auto", seed: int = 0) -> KindResult:
    handle.forward = None
    res = _run_kind(handle, data, batch_size, max_length, tick, head, seed)
    if handle.forward:  # what computed the embeddings, for the run's provenance
        res.config["runtime"] = handle.forward
    return res


def _run_kind(handle: ModelHandle, data: TaskData, batch_size: int, max_length: int,
              tick: Tick, head: str, seed: int) -> KindResult:
    kind = data.spec.kind
    if kind == "similarity":
        return run_similarity(handle, data, batch_size, max_length, tick)
    if kind == "classification":
        return run_classification(handle, data, batch_size, max_length, tick, head, seed)
    if kind == "perplexity":
        return run_perplexity(handle, data, batch_size, max_length, tick)
    if kind == "pseudo_perplexity":
        return run_pseudo_perplexity(handle, data, batch_size, max_length, tick)
    if kind == "probe":
        return run_probe(handle, data, batch_size, max_length, tick)
    raise TaskError(f"unknown task kind {kind!r}")
