"""Rich rendering of an ``Inspection`` (``modellake show NAME``), laid out for ~100 columns."""
from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from modellake.tools.inspection import Inspection, TensorNote
from modellake.tools.model_facts import Fact, card_facts, overview_facts
from modellake.tools.model_facts import bytes_text as human_bytes
from modellake.tools.model_facts import count_text as human_count
from modellake.ui.common import plain, visible


def _pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def _num(x: float | None, fmt: str = ".3g") -> str:
    if x is None:
        return "-"
    s = format(x, fmt)
    return s.lstrip("-") if float(s) == 0 else s  # no "-0.0"


def _shape(shape: list[int]) -> str:
    return "×".join(str(s) for s in shape) if shape else "scalar"


def _kv() -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column(overflow="fold")
    return t


def _table(*cols: tuple[str, dict[str, Any]]) -> Table:
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False, show_edge=False)
    for name, opts in cols:
        t.add_column(name, **opts)
    return t


R = {"justify": "right", "no_wrap": True}
NAME = {"overflow": "fold", "ratio": None, "max_width": 52}


STYLES = {"strong": "bold", "warn": "yellow", "accent": "magenta", "dim": "dim", "error": "red"}


def _rows(facts: list[Fact]) -> Table:
    kv = _kv()
    for f in facts:
        kv.add_row(plain(f.label), plain(f.text, STYLES.get(f.tone, "") if f.tone else ""))
    return kv


def _overview(i: Inspection, made: list[dict] | None = None) -> Panel:
    return Panel(_rows(overview_facts(i, made)), title="[bold]overview[/]", title_align="left",
                 border_style="cyan")


def _bar(fraction: float, width: int = 20) -> Text:
    n = round(fraction * width)
    return Text("█" * n + "·" * (width - n), style="green")


def _modules(i: Inspection) -> Panel:
    t = _table(("group", {"no_wrap": True}), ("tensors", R), ("parameters", R), ("share", R),
               ("", {"no_wrap": True}), ("mean std", R))
    for g in i.groups or []:
        t.add_row(plain(g.group), str(g.tensors), human_count(g.parameters), _pct(g.fraction),
                  _bar(g.fraction), _num(g.mean_std))
    t.add_section()
    t.add_row(Text("total", style="bold"), str(sum(g.tensors for g in i.groups or [])),
              human_count(sum(g.parameters for g in i.groups or [])), "100%", "", "")
    return Panel(t, title="[bold]parameters by module[/]", title_align="left", border_style="cyan")


def _dtypes(i: Inspection) -> Panel:
    t = _table(("dtype", {"no_wrap": True}), ("tensors", R), ("elements", R), ("bytes", R),
               ("kind", {"no_wrap": True}))
    for d in i.dtype_breakdown or []:
        t.add_row(plain(d.dtype), str(d.tensors), human_count(d.parameters), human_bytes(d.nbytes),
                  "parameters" if d.is_parameter else Text("buffers", style="dim"))
    return Panel(t, title="[bold]dtypes[/]", title_align="left", border_style="cyan")


def _tensor_rows(t: Table, notes: list[TensorNote], *cols: str) -> None:
    for n in notes:
        cells: list[RenderableType] = [plain(n.name, "red" if n.outlier else "")]
        for c in cols:
            if c == "shape":
                cells.append(_shape(n.shape))
            elif c == "group":
                cells.append(plain(n.group))
            elif c == "dtype":
                cells.append(plain(n.dtype))
            elif c == "numel":
                cells.append(human_count(n.numel))
            elif c == "zeros":
                cells.append(_pct(n.zero_fraction))
            elif c == "ratio":
                cells.append(_num(n.absmax_ratio, ".1f"))
            elif c == "kurtosis":
                cells.append(_num(n.kurtosis, ".1f"))
            elif c == "std":
                cells.append(_num(n.std))
        t.add_row(*cells)


def _sparsity_outliers(i: Inspection) -> Panel:
    parts: list[RenderableType] = []
    line = Text.assemble(("exact zeros: ", "bold"), _pct(i.zero_fraction, 2), " of parameters")
    if i.matrix_zero_fraction is not None:
        line.append(f"  ·  {_pct(i.matrix_zero_fraction, 2)} of matrix weights")
    line.append(f"  ·  {i.sparse_tensor_count} tensor(s) with > 10% zeros")
    parts.append(line)
    if i.sparse_tensors:
        t = _table(("sparse tensor", NAME), ("group", {"no_wrap": True}), ("shape", R),
                   ("params", R), ("zeros", R))
        _tensor_rows(t, i.sparse_tensors, "group", "shape", "numel", "zeros")
        if (i.sparse_tensor_count or 0) > len(i.sparse_tensors):
            t.caption = f"{i.sparse_tensor_count - len(i.sparse_tensors)} more not shown"
        parts.append(t)
    parts.append(Text.assemble(
        ("\noutliers: ", "bold"),
        f"{i.outlier_count} tensor(s) with excess kurtosis > {i.outlier_kurtosis:g} ",
        ("(red)", "red"), "; a Gaussian has 0"))
    if i.top_kurtosis:
        t = _table(("highest kurtosis", NAME), ("group", {"no_wrap": True}), ("std", R),
                   ("absmax/std", R), ("kurtosis", R))
        _tensor_rows(t, i.top_kurtosis, "group", "std", "ratio", "kurtosis")
        parts.append(t)
    if i.top_absmax_ratio:
        t = _table(("largest absmax/std", NAME), ("group", {"no_wrap": True}), ("std", R),
                   ("absmax/std", R), ("kurtosis", R))
        _tensor_rows(t, i.top_absmax_ratio, "group", "std", "ratio", "kurtosis")
        parts.append(t)
    return Panel(Group(*parts), title="[bold]sparsity & outliers[/]", title_align="left",
                 border_style="cyan")


def _largest(i: Inspection) -> Panel:
    t = _table(("tensor", NAME), ("group", {"no_wrap": True}), ("shape", R), ("dtype", R),
               ("params", R))
    _tensor_rows(t, i.largest or [], "group", "shape", "dtype", "numel")
    return Panel(t, title="[bold]largest tensors[/]", title_align="left", border_style="cyan")


def _tied(i: Inspection) -> Panel:
    parts: list[RenderableType] = []
    if i.tied:
        t = _table(("tensors with identical contents", {"overflow": "fold"}), ("shape", R),
                   ("params", R), ("kind", {"no_wrap": True}))
        for g in i.tied:
            t.add_row(Text("\n".join(visible(n) for n in g.names)), _shape(g.shape),
                      human_count(g.numel), plain(g.kind))
        parts.append(t)
    else:
        parts.append(Text("no duplicated tensors stored", style="dim"))
    for note in i.tie_notes:
        parts.append(plain(note, "yellow"))
    return Panel(Group(*parts), title="[bold]tied weights[/]", title_align="left",
                 border_style="cyan")


def _card(i: Inspection) -> Panel:
    c = i.card
    body: RenderableType = _rows(card_facts(c)) if c.present else Text("no model card", style="yellow")
    parts: list[RenderableType] = [body]
    if c.missing:
        parts.append(Text("\nmissing (per the Hub's model card guidance):", style="bold"))
        parts.extend(plain(f"  ✗ {m}", "yellow") for m in c.missing)
    else:
        parts.append(Text("\nnothing missing that the card guidance asks for", style="green"))
    return Panel(Group(*parts), title="[bold]card[/]", title_align="left", border_style="cyan")


def render_inspection(insp: Inspection, made: list[dict] | None = None) -> RenderableType:
    """All sections of an inspection as one rich renderable (``made``: the parents the weights
    show, see ``overview_facts``)."""
    parts: list[RenderableType] = [_overview(insp, made)]
    if insp.weights_in_lake:
        parts += [_modules(insp), _dtypes(insp), _sparsity_outliers(insp), _largest(insp),
                  _tied(insp)]
    parts.append(_card(insp))
    return Group(*parts)
