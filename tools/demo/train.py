"""Fine-tuning the demo encoders on a CPU: a sentence classifier (mean pooling + linear head)
and a sentence-pair similarity model, both through one reproducible training-step loop.

Runs are bit-reproducible: a fixed intra-op thread count, a private RNG stream seeded per
run, and batches drawn from a seeded generator.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from modellake.tools.demo.files import HEAD_FILE, WEIGHTS, copy_side_files, write_like
from modellake.tools.embedding.packed_bert import mean_pool

LEARNING_RATE = 5e-5
WEIGHT_DECAY = 0.01
BATCH_SIZE = 16
MAX_LENGTH = 64
WARMUP_FRACTION = 0.1
# One intra-op thread, always: the thread count must be fixed for the build to be
# bit-reproducible (1 and 2 threads give weights differing by ~1e-6 after a few steps), and
# with batches this small a second thread gains little on an idle 2-core machine (~1.25x)
# but runs 3-5x slower when the cores are shared (OpenMP threads spin-waiting on each other).
NUM_THREADS = 1
EVAL_BATCH = 64

Progress = Callable[[str], None]


@contextlib.contextmanager
def _torch_settings(seed: int) -> Iterator[None]:
    """A fixed thread count and a private RNG stream; restores the caller's settings after."""
    import torch

    old_threads = torch.get_num_threads()
    torch.set_num_threads(NUM_THREADS)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(old_threads)


def _batches(n: int, steps: int, batch_size: int, generator: Any) -> Iterator[list[int]]:
    """``steps`` batches of indices, reshuffling each epoch."""
    import torch

    order: list[int] = []
    for _ in range(steps):
        if len(order) < batch_size:
            order += torch.randperm(n, generator=generator).tolist()
        yield order[:batch_size]
        order = order[batch_size:]


def _optimizer(named_params: list[tuple[str, Any]], steps: int):
    """AdamW (lr 5e-5, weight decay 0.01 except biases/LayerNorm) + linear warmup/decay."""
    import torch

    decay = [p for n, p in named_params if p.ndim >= 2]
    no_decay = [p for n, p in named_params if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": WEIGHT_DECAY},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    try:
        opt = torch.optim.AdamW(groups, lr=LEARNING_RATE, fused=True)
    except (RuntimeError, TypeError):  # older torch without CPU fused AdamW
        opt = torch.optim.AdamW(groups, lr=LEARNING_RATE)
    warmup = max(1, int(WARMUP_FRACTION * steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _load_encoder(init_dir: Path):
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model = AutoModel.from_pretrained(str(init_dir))
    finally:
        hf_logging.set_verbosity(verbosity)
    tok = AutoTokenizer.from_pretrained(str(init_dir))
    return model, tok


def _save_encoder(model: Any, init_dir: Path, out_dir: Path) -> None:
    write_like(init_dir / WEIGHTS, model.state_dict(), out_dir / WEIGHTS)
    model.config.save_pretrained(str(out_dir))
    copy_side_files(init_dir, out_dir)


def _trainable(model: Any, freeze_embeddings: bool) -> list[tuple[str, Any]]:
    # The pooler is not used with mean pooling: freeze it so it is untouched.
    for p in model.pooler.parameters() if model.pooler is not None else []:
        p.requires_grad_(False)
    if freeze_embeddings:
        for p in model.embeddings.parameters():
            p.requires_grad_(False)
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def _embed(model: Any, tok: Any, texts: list[str]) -> Any:
    """Mean-pooled last hidden states of ``texts`` (padded, truncated to MAX_LENGTH)."""
    enc = tok(texts, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
    return mean_pool(model(**enc).last_hidden_state, enc["attention_mask"])


def _train_steps(model: Any, params: list[tuple[str, Any]], n: int, *, steps: int, seed: int,
                 loss_of: Callable[[list[int]], Any]) -> list[float]:
    """``steps`` AdamW steps over shuffled batches of the ``n`` examples (gradients clipped
    to norm 1); ``loss_of(batch indices)`` is the loss of one batch. Returns the losses."""
    import torch

    opt, sched = _optimizer(params, steps)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    losses = []
    for idx in _batches(n, steps, BATCH_SIZE, gen):
        loss = loss_of(idx)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses


def _loss_stats(losses: list[float]) -> dict[str, float]:
    """The first loss and the mean of the last five."""
    return {"first_loss": losses[0], "last_loss": sum(losses[-5:]) / len(losses[-5:])}


# --------------------------------------------------------------------------- classifier


def _label_names(rows: list[dict[str, Any]]) -> dict[int, str]:
    return {int(r["label"]): str(r.get("label_name", r["label"])) for r in rows}


def _train_accuracy(model: Any, tok: Any, head: Any, texts: list[str], y: Any) -> float:
    """Accuracy of the trained classifier on its own training texts."""
    import torch

    model.eval()
    with torch.no_grad():
        preds = []
        for i in range(0, len(texts), EVAL_BATCH):
            preds.append(head(_embed(model, tok, texts[i:i + EVAL_BATCH])).argmax(-1))
        return float((torch.cat(preds) == y).float().mean())


def _save_head(head: Any, labels_by_id: dict[int, str], out_dir: Path) -> None:
    from safetensors.torch import save_file

    save_file(
        {"classifier.weight": head.weight.detach().contiguous(),
         "classifier.bias": head.bias.detach().contiguous()},
        str(out_dir / HEAD_FILE),
        metadata={"format": "pt", "pooling": "mean",
                  "id2label": json.dumps({str(k): v for k, v in sorted(labels_by_id.items())})},
    )


def train_classifier(
    init_dir: Path,
    out_dir: Path,
    rows: list[dict[str, Any]],
    *,
    steps: int,
    seed: int,
    freeze_embeddings: bool = False,
    say: Progress = lambda s: None,
) -> dict[str, float]:
    """Mean-pooled encoder + linear head, cross-entropy; saves encoder and head."""
    import torch
    import torch.nn.functional as F

    labels_by_id = _label_names(rows)
    texts = [r["text"] for r in rows]
    y = torch.tensor([int(r["label"]) for r in rows])
    with _torch_settings(seed):
        model, tok = _load_encoder(init_dir)
        head = torch.nn.Linear(model.config.hidden_size, max(labels_by_id) + 1)
        params = _trainable(model, freeze_embeddings) + [
            ("classifier." + n, p) for n, p in head.named_parameters()
        ]

        def loss_of(idx: list[int]) -> Any:
            return F.cross_entropy(head(_embed(model, tok, [texts[i] for i in idx])), y[idx])

        losses = _train_steps(model, params, len(texts), steps=steps, seed=seed, loss_of=loss_of)
        acc = _train_accuracy(model, tok, head, texts, y)
    _save_encoder(model, init_dir, out_dir)
    _save_head(head, labels_by_id, out_dir)
    stats = {**_loss_stats(losses), "train_accuracy": acc}
    say(f"  loss {stats['first_loss']:.3f} -> {stats['last_loss']:.3f}, "
        f"train accuracy {acc:.2f}")
    return stats


# --------------------------------------------------------------------------- sentence pairs


def train_paraphrase(
    init_dir: Path,
    out_dir: Path,
    rows: list[dict[str, Any]],
    *,
    steps: int,
    seed: int,
    say: Progress = lambda s: None,
) -> dict[str, float]:
    """Sentence-pair similarity: MSE between cosine(mean-pooled u, v) and the 0/1 label."""
    import torch
    import torch.nn.functional as F

    s1 = [r["sentence1"] for r in rows]
    s2 = [r["sentence2"] for r in rows]
    y = torch.tensor([float(r["label"]) for r in rows])
    with _torch_settings(seed):
        model, tok = _load_encoder(init_dir)
        params = _trainable(model, freeze_embeddings=False)

        def loss_of(idx: list[int]) -> Any:
            emb = _embed(model, tok, [s1[i] for i in idx] + [s2[i] for i in idx])
            u, v = emb[: len(idx)], emb[len(idx):]
            return F.mse_loss(F.cosine_similarity(u, v), y[idx])

        losses = _train_steps(model, params, len(rows), steps=steps, seed=seed, loss_of=loss_of)
    _save_encoder(model, init_dir, out_dir)
    stats = _loss_stats(losses)
    say(f"  loss {stats['first_loss']:.4f} -> {stats['last_loss']:.4f}")
    return stats
