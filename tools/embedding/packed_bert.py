"""A padding-free float32 forward of BERT encoders, for mean-pooled embeddings.

Used by ``bench`` (encoders on similarity, classification and probe tasks) and by the search
index's MiniLM (:mod:`modellake.tools.embedding.embedder`). Texts in a batch vary in length. A padded
batch spends its matrix products on pad rows and runs a masked attention kernel. Here every
real token of a chunk is one row of one matrix: each linear layer runs once over all of them
(through oneDNN with the weights reordered once and the GELU or the residual add fused, where
this torch has it), and attention runs per group of equal-length sequences, which needs no
mask. The arithmetic is transformers' ``BertModel`` in float32, summed in another order:
embeddings agree to ~1e-6.

It is used only where it computes the same function: a transformers ``BertModel`` (absolute
positions, GELU, no cross-attention) on CPU, and only after its embeddings of a few inputs
match the transformers forward (:func:`check_against`); anything else runs through
transformers (or sentence-transformers) as before.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CHUNK_TOKENS = 1024      # real tokens per forward chunk (GEMMs of 1,024 rows run near peak)
CHECK_INPUTS = 8         # inputs compared with the transformers forward before first use
CHECK_TOLERANCE = 1e-4   # max |difference| of pooled embeddings, relative to their scale
GELU_ALGORITHM = {"gelu": "none", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh"}


# -- the padded transformers forward (the reference, and the path for other models) ------------
def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int, device: str = "cpu") -> tuple[Any, Any]:
    """(input ids, attention mask) of token sequences, right-padded to the longest."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(list(s), dtype=torch.long)
        mask[i, :len(s)] = 1
    return ids.to(device), mask.to(device)


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Mean of the hidden states over the tokens the attention mask keeps."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def padded_mean_pool(model: Any, seqs: Sequence[Sequence[int]], pad_id: int,
                     device: str = "cpu") -> np.ndarray:
    """Mean-pooled last hidden states of one padded batch through the transformers forward."""
    input_ids, mask = pad_batch(seqs, pad_id, device)
    hidden = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
    return mean_pool(hidden.float(), mask).cpu().numpy()


def why_not(model: Any, device: str) -> str | None:
    """Why the packed forward cannot stand in for ``model`` (None: it can)."""
    cfg = model.config
    if device != "cpu":
        return f"device {device} (the packed forward is for CPU)"
    if type(model).__name__ != "BertModel" or getattr(cfg, "model_type", "") != "bert":
        return f"{type(model).__name__} is not a transformers BertModel"
    if (getattr(cfg, "position_embedding_type", None) or "absolute") != "absolute":
        return f"{cfg.position_embedding_type} position embeddings"
    if cfg.hidden_act not in GELU_ALGORITHM:
        return f"activation {cfg.hidden_act!r}"
    if getattr(cfg, "is_decoder", False) or getattr(cfg, "add_cross_attention", False):
        return "a decoder configuration"
    if cfg.hidden_size % cfg.num_attention_heads:
        return "hidden size not divisible by the number of heads"
    return None


def _fused_ops() -> tuple[Any, Any] | None:
    """oneDNN's fused linear (+ activation) and linear + add, where this torch build has them."""
    import torch

    try:
        if not torch.backends.mkldnn.is_available():
            return None
        op = torch.ops.mkldnn._linear_pointwise
        return op.default, op.binary
    except (AttributeError, RuntimeError):
        return None


@dataclass
class _Layer:
    qkv: tuple[Any, Any]
    attn_out: tuple[Any, Any]
    ln1: tuple[Any, Any, float]
    inter: tuple[Any, Any]
    out: tuple[Any, Any]
    ln2: tuple[Any, Any, float]


def _ln(mod: Any) -> tuple[Any, Any, float]:
    return mod.weight.detach(), mod.bias.detach(), float(mod.eps)


def _wb(lin: Any) -> tuple[Any, Any]:
    return lin.weight.detach(), lin.bias.detach()


class PackedBert:
    """Mean-pooled last hidden states of a ``BertModel``, computed without padding."""

    def __init__(self, model: Any) -> None:
        import torch

        cfg = model.config
        self.heads = cfg.num_attention_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.hidden = cfg.hidden_size
        self.gelu = GELU_ALGORITHM[cfg.hidden_act]
        emb = model.embeddings
        self.word = emb.word_embeddings.weight.detach()
        self.pos = emb.position_embeddings.weight.detach()
        self.type0 = emb.token_type_embeddings.weight.detach()[0]
        self.emb_ln = _ln(emb.LayerNorm)
        self.layers = []
        for layer in model.encoder.layer:
            sa = layer.attention.self
            qkv_w = torch.cat([sa.query.weight, sa.key.weight, sa.value.weight]).detach().contiguous()
            qkv_b = torch.cat([sa.query.bias, sa.key.bias, sa.value.bias]).detach().contiguous()
            self.layers.append(_Layer(
                (qkv_w, qkv_b), _wb(layer.attention.output.dense), _ln(layer.attention.output.LayerNorm),
                _wb(layer.intermediate.dense), _wb(layer.output.dense), _ln(layer.output.LayerNorm)))
        self.fused = _fused_ops()
        if self.fused:
            self._prepack()

    def _prepack(self) -> None:
        """Reorder each weight once into oneDNN's blocked layout (~5% faster products than
        reordering at every call); the plain weights stay where this torch cannot."""
        import dataclasses

        import torch

        def pack(wb: tuple[Any, Any]) -> tuple[Any, Any]:
            return torch.ops.mkldnn._reorder_linear_weight(wb[0], CHUNK_TOKENS), wb[1]

        try:
            self.layers = [dataclasses.replace(lay, qkv=pack(lay.qkv), attn_out=pack(lay.attn_out),
                                               inter=pack(lay.inter), out=pack(lay.out))
                           for lay in self.layers]
        except (AttributeError, RuntimeError):
            pass

    @property
    def description(self) -> str:
        ops = "oneDNN fused linear" if self.fused else "torch linear"
        return f"modellake packed BertModel forward (float32, no padding, {ops})"

    # -- the three kinds of linear layer ------------------------------------------------
    def _linear(self, x: Any, wb: tuple[Any, Any]) -> Any:
        import torch.nn.functional as F

        return self.fused[0](x, wb[0], wb[1], "none", [], "") if self.fused else F.linear(x, *wb)

    def _linear_gelu(self, x: Any, wb: tuple[Any, Any]) -> Any:
        import torch.nn.functional as F

        if self.fused:
            return self.fused[0](x, wb[0], wb[1], "gelu", [], self.gelu)
        return F.gelu(F.linear(x, *wb), approximate=self.gelu)

    def _linear_add(self, x: Any, wb: tuple[Any, Any], residual: Any) -> Any:
        import torch.nn.functional as F

        if self.fused:
            return self.fused[1](x, residual, wb[0], wb[1], "add")
        return F.linear(x, *wb) + residual

    # -- one chunk ----------------------------------------------------------------------
    def _attention(self, qkv: Any, groups: list[tuple[int, int, int]]) -> Any:
        import torch

        ctx = torch.empty(qkv.shape[0], self.hidden, dtype=qkv.dtype)
        scale = self.head_dim ** -0.5
        for start, n, length in groups:
            rows = slice(start, start + n * length)
            q, k, v = qkv[rows].view(n, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
            weights = (torch.matmul(q, k.transpose(-1, -2)) * scale).softmax(-1)
            ctx[rows].view(n, length, self.heads, self.head_dim).copy_(
                torch.matmul(weights, v).transpose(1, 2))
        return ctx

    def pool_chunk(self, seqs: Sequence[Sequence[int]]) -> Any:
        """Mean-pooled embeddings of ``seqs``, which must be sorted by length."""
        import torch
        import torch.nn.functional as F

        lengths = [len(s) for s in seqs]
        groups = _equal_length_groups(lengths)
        tokens = torch.tensor([t for s in seqs for t in s], dtype=torch.long)
        positions = torch.cat([torch.arange(n) for n in lengths])
        x = self.word[tokens] + self.type0 + self.pos[positions]
        x = F.layer_norm(x, (self.hidden,), *self.emb_ln)
        for lay in self.layers:
            ctx = self._attention(self._linear(x, lay.qkv), groups)
            x = F.layer_norm(self._linear_add(ctx, lay.attn_out, x), (self.hidden,), *lay.ln1)
            h = self._linear_gelu(x, lay.inter)
            x = F.layer_norm(self._linear_add(h, lay.out, x), (self.hidden,), *lay.ln2)
        return torch.cat([x[s:s + n * length].view(n, length, -1).mean(1) for s, n, length in groups])

    def embed(self, seqs: Sequence[Sequence[int]], on_chunk: Callable[[list[int]], None] | None = None,
              chunk_tokens: int = CHUNK_TOKENS) -> np.ndarray:
        """One mean-pooled row per sequence, in the order given."""
        import torch

        out = np.zeros((len(seqs), self.hidden), dtype=np.float32)
        with torch.inference_mode():
            for chunk in length_chunks([len(s) for s in seqs], chunk_tokens):
                out[chunk] = self.pool_chunk([seqs[i] for i in chunk]).float().numpy()
                if on_chunk:
                    on_chunk(chunk)
        return out


def _equal_length_groups(lengths: list[int]) -> list[tuple[int, int, int]]:
    """(first row, sequences, length) for each run of equal lengths in sorted ``lengths``."""
    groups: list[tuple[int, int, int]] = []
    row = i = 0
    while i < len(lengths):
        j = i
        while j < len(lengths) and lengths[j] == lengths[i]:
            j += 1
        groups.append((row, j - i, lengths[i]))
        row += (j - i) * lengths[i]
        i = j
    return groups


def length_chunks(lengths: list[int], budget: int) -> list[list[int]]:
    """Indices sorted by length, cut into chunks of at most ``budget`` tokens (one or more
    sequences each)."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    chunks: list[list[int]] = []
    cur: list[int] = []
    used = 0
    for i in order:
        if cur and used + lengths[i] > budget:
            chunks.append(cur)
            cur, used = [], 0
        cur.append(i)
        used += lengths[i]
    if cur:
        chunks.append(cur)
    return chunks


def check_against(packed: PackedBert, reference: Callable[[list[list[int]]], np.ndarray],
                  seqs: Sequence[Sequence[int]]) -> float | None:
    """Largest difference between the packed and the reference embeddings of up to
    :data:`CHECK_INPUTS` of ``seqs`` (spread over their lengths), relative to the embeddings'
    scale; None when it exceeds :data:`CHECK_TOLERANCE`."""
    by_len = sorted(range(len(seqs)), key=lambda i: (len(seqs[i]), i))
    step = max(1, len(by_len) // CHECK_INPUTS)
    sample = [list(seqs[i]) for i in by_len[::step][:CHECK_INPUTS - 1]] + [list(seqs[by_len[-1]])]
    ref = reference(sample)
    got = packed.embed(sample)
    diff = float(np.abs(ref - got).max()) / max(1.0, float(np.abs(ref).max()))
    return diff if diff <= CHECK_TOLERANCE else None
