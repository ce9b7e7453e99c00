"""How a tool is declared: a plain typed function, its schema, its injected context.

Every tool is an ordinary function with type hints and a docstring. Its first
paragraph is what the agent reads, the ``Args:`` section describes the
arguments, and the JSON schema of the arguments is built from the signature.
Parameters that give a tool the lake are *injected*, never shown to the model:
a parameter annotated ``ToolContext`` (or named ``ctx``), ``Catalog`` (or named
``catalog``), ``Lake`` (or named ``lake``), or named ``lake_root``. So a tool
written as ``def f(catalog: Catalog, name: str) -> Record`` elsewhere in
``tools/`` joins the registry with one line, ``tool(f)``.

Tools never read globals: everything comes through the context. Tools that
change the lake are flagged ``mutating=True``.
"""
from __future__ import annotations

import inspect
import os
import re
import threading
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from modellake.store.catalog import Catalog
from modellake.store.errors import ModelLakeError
from modellake.store.lake import Lake


# -- what a caller may touch ------------------------------------------------------------
class PolicyError(ModelLakeError):
    """The caller may not do this here: a path outside the allowed folders, a change to the
    lake from a web app nobody logged in to."""


MAX_MESSAGE_CHARS = 8000  # a chat message (web or terminal); longer ones are refused at once


@dataclass(frozen=True)
class Policy:
    """What the caller of the tools may read and change; every tool call is checked.

    The CLI user owns the machine: any path, any change (``Policy()``). The web app and
    its chat (``Policy.web``): server paths only inside ``roots``, changes to the lake only
    for a logged-in user. ``confirm``: a change asked for in chat runs only once the user
    confirms it in their next message (the agent keeps it pending until then).
    """

    roots: tuple[Path, ...] | None = None  # folders whose files tools may read; None: any
    may_change: bool = True
    confirm: bool = False
    why_read_only: str = "this lake is open read-only here"
    max_message_chars: int = MAX_MESSAGE_CHARS

    @classmethod
    def web(cls, roots: Sequence[str | os.PathLike[str]], *, logged_in: bool,
            confirm: bool = True) -> Policy:
        """The web app's policy: ``roots`` only; changes only when users log in."""
        resolved = tuple(Path(r).expanduser().resolve() for r in roots)
        return cls(resolved, may_change=logged_in, confirm=confirm,
                   why_read_only="this web app changes the lake only for logged-in users (start "
                   "it with `modellake ui --auth USER:PASS`)")

    def check_path(self, value: str | os.PathLike[str]) -> Path:
        """``value`` as a resolved path (symlinks and ``..`` followed), if a tool may read it."""
        text = str(value).strip()
        if not text or "\0" in text:
            raise PolicyError("give a path to a model file or folder")
        p = Path(os.path.expanduser(text)).resolve()
        if self.roots is None or any(p == r or p.is_relative_to(r) for r in self.roots):
            return p
        allowed = ", ".join(str(r) for r in self.roots) or "(none)"
        raise PolicyError(f"{p} is outside the folders this app may read ({allowed}); start it "
                          "with `modellake ui --ingest-root DIR` to allow another folder")

    def check_call(self, tool: Tool, args: dict[str, Any]) -> None:
        """Raise ``PolicyError`` unless ``tool`` may run with ``args`` under this policy."""
        if tool.mutating and not self.may_change:
            raise PolicyError(f"{tool.name} changes the lake, and {self.why_read_only}")
        for name in tool.paths:
            value = args.get(name)
            for v in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(v, (str, os.PathLike)) and _names_a_path(v):
                    self.check_path(v)


def _names_a_path(value: str | os.PathLike[str]) -> bool:
    """Whether a value that may be a name or a path (a task) is a path on this machine."""
    text = str(value)
    return (isinstance(value, os.PathLike) or any(c in text for c in "/\\~")
            or text.startswith(".") or Path(text).exists())


# -- the context ------------------------------------------------------------------------
class ToolContext:
    """What a tool may use: the lake, its catalog opened once on first use, and the policy
    every call is checked against.

    Calls are serialized through ``lock`` (one SQLite connection, tools may be
    called from worker threads).
    """

    def __init__(self, lake: Lake, policy: Policy | None = None) -> None:
        self.lake = lake
        self.policy = policy or Policy()
        self.lock = threading.RLock()
        self._catalog: Catalog | None = None

    @classmethod
    def open(cls, lake_dir: str | Path | None = None, policy: Policy | None = None) -> ToolContext:
        return cls(Lake.open(lake_dir), policy)

    @property
    def catalog(self) -> Catalog:
        with self.lock:
            if self._catalog is None:
                self._catalog = self.lake.catalog()
            return self._catalog

    def close(self) -> None:
        with self.lock:
            if self._catalog is not None:
                self._catalog.close()
                self._catalog = None

    def __enter__(self) -> ToolContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ToolArgumentError(ModelLakeError):
    """The arguments of a tool call do not fit the tool's signature."""


# -- tool specs -------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One argument the model fills in."""

    name: str
    schema: dict[str, Any]
    required: bool
    description: str = ""


@dataclass(frozen=True)
class Tool:
    """A registered tool: the function, its agent-facing name and description, its schema."""

    fn: Callable[..., Any]
    name: str
    description: str
    params: tuple[Param, ...]
    injected: tuple[tuple[str, str], ...]  # (parameter, what: ctx | catalog | lake | lake_root)
    mutating: bool = False
    words: tuple[str, ...] = ()     # words that route a question here (the offline planner)
    examples: tuple[str, ...] = ()  # questions it answers; X and Y stand for model names
    needs: int = 0                  # models a question must name for it
    values: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = ()  # see tool()
    paths: tuple[str, ...] = ()     # parameters that name files on this machine (see Policy)
    targets: tuple[str, ...] = ()   # parameters that name the lake models a change acts on
    change: str | Callable[[dict[str, Any]], str] = ""  # a change in words: "{param}" filled
    # in ("remove {name} from the lake"), or a function of the arguments
    weights: bool = False           # it reads the models' weights: no use on card-only models

    def routing(self) -> dict[str, Any]:
        """What the offline planner reads besides the schema (sent as tool metadata)."""
        return {"mutating": self.mutating, "words": list(self.words),
                "examples": list(self.examples), "needs": self.needs, "weights": self.weights,
                "values": {p: {v: list(w) for v, w in vals} for p, vals in self.values}}

    def schema(self) -> dict[str, Any]:
        """JSON schema of the arguments (the injected ones left out)."""
        props = {}
        for p in self.params:
            s = dict(p.schema)
            if p.description:
                s["description"] = p.description
            props[p.name] = s
        return {"type": "object", "properties": props,
                "required": [p.name for p in self.params if p.required]}

    def __call__(self, ctx: ToolContext, **args: Any) -> Any:
        self.check(ctx, args)
        for what_param, what in self.injected:
            args[what_param] = _inject(ctx, what)
        with ctx.lock:
            return self.fn(**args)

    def check(self, ctx: ToolContext, args: dict[str, Any]) -> None:
        """Raise unless this call may run: arguments that fit, allowed by ``ctx.policy``."""
        self.check_args(args)
        ctx.policy.check_call(self, args)

    def check_args(self, args: dict[str, Any]) -> None:
        """Raise ``ToolArgumentError`` unless ``args`` fit the signature."""
        known = {p.name for p in self.params}
        unknown = sorted(set(args) - known)
        if unknown:
            raise ToolArgumentError(f"{self.name} takes no argument(s) {', '.join(unknown)}; "
                                    f"it takes {', '.join(sorted(known)) or 'none'}")
        missing = [p.name for p in self.params if p.required and args.get(p.name) is None]
        if missing:
            raise ToolArgumentError(f"{self.name} needs {', '.join(missing)}")


def _inject(ctx: ToolContext, what: str) -> Any:
    if what == "catalog":
        return ctx.catalog
    if what == "lake":
        return ctx.lake
    if what == "lake_root":
        return ctx.lake.root
    return ctx


_INJECT_TYPES = {ToolContext: "ctx", Catalog: "catalog", Lake: "lake"}
_INJECT_NAMES = {"ctx": "ctx", "catalog": "catalog", "lake": "lake", "lake_root": "lake_root"}


def _json_schema(tp: Any) -> tuple[dict[str, Any], bool]:
    """(schema, optional) of a type hint."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        schema, _ = _json_schema(args[0]) if len(args) == 1 else ({}, False)
        return schema, len(args) < len(typing.get_args(tp))
    if origin is Literal:
        values = list(typing.get_args(tp))
        return {"type": "string" if all(isinstance(v, str) for v in values) else "integer",
                "enum": values}, False
    if origin in (list, tuple, Sequence, set, frozenset) or tp in (list, tuple):
        item = typing.get_args(tp)[:1]
        return {"type": "array", "items": _json_schema(item[0])[0] if item else {}}, False
    if origin is dict or tp is dict:
        return {"type": "object"}, False
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "string"}
    if tp in simple:
        return {"type": simple[tp]}, False
    return {}, False


def _doc_parts(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """(first paragraph, {arg: description}) of a Google-style docstring."""
    doc = inspect.getdoc(fn) or ""
    paras = re.split(r"\n\s*\n", doc.strip(), maxsplit=1)
    summary = " ".join(paras[0].split()) if paras and paras[0] else ""
    args: dict[str, str] = {}
    m = re.search(r"^Args:\s*\n(.*?)(?:\n\S|\Z)", doc, re.S | re.M)
    if m:
        current = None
        for line in m.group(1).splitlines():
            hit = re.match(r"^\s{2,8}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
            if hit:
                current = hit.group(1)
                args[current] = hit.group(2).strip()
            elif current and line.strip():
                args[current] += " " + line.strip()
    return summary, args


def tool(fn: Callable[..., Any], *, name: str | None = None, description: str | None = None,
         mutating: bool = False, hide: Sequence[str] = (), words: Sequence[str] = (),
         examples: Sequence[str] = (), needs: int | None = None,
         values: dict[str, dict[str, Sequence[str]]] | None = None,
         args: dict[str, str] | None = None, paths: Sequence[str] = (),
         targets: Sequence[str] = (),
         change: str | Callable[[dict[str, Any]], str] = "", weights: bool = False) -> Tool:
    """Register ``fn`` as an agent tool.

    Args:
        fn: a plain typed function with a docstring.
        name: the name the agent sees (default: the function's name).
        description: overrides the docstring's first paragraph.
        mutating: the tool changes the lake (ingest, rm, rename...): called only on request.
        hide: parameters with defaults that the model should not set.
        words: words or short phrases that route a question to this tool (offline planner);
            a mutating tool is only chosen when one of them is the user's own verb.
        examples: questions this tool answers, X and Y standing for model names.
        needs: how many models a question must name (default: the required model arguments).
        values: for a parameter that takes names from a fixed set, the words that ask for each
            value (``{"about": {"license": ("license", "licence")}}``).
        args: argument descriptions that complete or override the docstring's ``Args:``.
        paths: parameters that name files or folders on this machine (checked against the
            caller's ``Policy``: the web app reads only inside its allowed folders).
        targets: parameters naming the lake models a change acts on (checked before a change
            is put to the user for confirmation).
        change: the change in words, ``{param}`` standing for an argument, as the user is
            asked to confirm it ("remove {name} from the lake"), or a function of the arguments
            that returns it.
        weights: the tool reads the models' weights (a diff, a weight similarity): the planner
            does not choose it for a model of which only the card is in the lake.
    """
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable forward references: fall back to none
        hints = {}
    summary, arg_docs = _doc_parts(fn)
    arg_docs.update(args or {})
    params: list[Param] = []
    injected: list[tuple[str, str]] = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        tp = hints.get(p.name, Any)
        what = _INJECT_TYPES.get(tp) or _INJECT_NAMES.get(p.name)
        if what:
            injected.append((p.name, what))
            continue
        if p.name in hide:
            if p.default is p.empty:
                raise TypeError(f"cannot hide {p.name!r} of {fn.__name__}: it has no default")
            continue
        schema, optional = _json_schema(tp)
        if p.default is not p.empty and p.default is not None and not isinstance(p.default, Path):
            schema = {**schema, "default": p.default}
        params.append(Param(p.name, schema, p.default is p.empty and not optional,
                            arg_docs.get(p.name, "")))
    if needs is None:
        needs = min(2, sum(1 for p in params if p.required and p.name in MODEL_PARAMS))
    return Tool(fn=fn, name=name or fn.__name__, description=description or summary,
                params=tuple(params), injected=tuple(injected), mutating=mutating,
                words=tuple(words), examples=tuple(examples), needs=needs,
                values=tuple((p, tuple((v, tuple(w)) for v, w in vals.items()))
                             for p, vals in (values or {}).items()), paths=tuple(paths),
                targets=tuple(targets), change=change, weights=weights)


MODEL_PARAMS = ("name", "model", "a", "b", "parent", "child", "old", "of", "models", "names")
