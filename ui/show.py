"""Rich rendering of an ``Inspection`` (``modellake show NAME``), laid out for ~100 columns."""
from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from modellake.tools.inspect import NO_STATS_NOTE, NO_WEIGHTS_NOTE, Inspection, TensorNote
from modellake.ui.format import human_bytes, human_count

MAX_FILES = 8
MAX_LIST = 6  # datasets / tags shown before "+N more"


def _pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def _num(x: float | None, fmt: str = ".3g") -> str:
    if x is None:
        return "-"
    s = format(x, fmt)
    return s.lstrip("-") if float(s) == 0 else s  # no "-0.0"


def _shape(shape: list[int]) -> str:
    return "×".join(str(s) for s in shape) if shape else "scalar"


def _params(n: int | None) -> str:
    return "-" if n is None else f"{human_count(n)} ({n:,})" if n >= 1000 else str(n)


def _listing(items: list[str]) -> str:
    if not items:
        return "-"
    shown = ", ".join(items[:MAX_LIST])
    return shown + (f" (+{len(items) - MAX_LIST} more)" if len(items) > MAX_LIST else "")


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


def _overview(i: Inspection) -> Panel:
    kv = _kv()
    kv.add_row("model", Text(f"{i.name}  (version {i.version})", style="bold"))
    adapter = f"  ·  adapter on {i.adapter_base}" if i.adapter_base else ""
    kv.add_row("format", i.format + adapter)
    arch = i.architecture or "-"
    if i.model_type and i.model_type != i.architecture:
        arch += f"  (model_type {i.model_type})"
    kv.add_row("architecture", arch)
    if i.weights_in_lake:
        params = _params(i.num_parameters)
        if i.unique_parameters is not None and i.unique_parameters != i.num_parameters:
            params += f"  ·  {human_count(i.unique_parameters)} unique (tied copies counted once)"
        kv.add_row("parameters", params)
        layers = "-" if i.num_layers is None else str(i.num_layers)
        if i.config_layers is not None and i.config_layers != i.num_layers:
            layers += f"  (config says {i.config_layers})"
        kv.add_row("layers", layers)
        kv.add_row("tensors", f"{i.num_tensors}  ·  {human_bytes(i.weights_nbytes)} of weights")
        kv.add_row("dtypes", ", ".join(i.dtypes) or "-")
    else:
        kv.add_row("weights", Text(NO_WEIGHTS_NOTE if i.format == "card" else NO_STATS_NOTE,
                                   style="yellow"))
    if i.weights_in_lake or i.quantization:
        quant = i.quantization or "none"
        if i.quantization_source:
            quant += f"  [{i.quantization_source}]"
        kv.add_row("quantization", Text(quant, style="magenta" if i.quantization else ""))
    if i.quantization_evidence:
        kv.add_row("", Text(i.quantization_evidence, style="dim"))
    files = sorted(i.files, key=lambda f: -f.size)
    shown = ", ".join(f"{f.path} ({human_bytes(f.size)})" for f in files[:MAX_FILES])
    if len(files) > MAX_FILES:
        shown += f", +{len(files) - MAX_FILES} more"
    plural = "s" if len(files) != 1 else ""
    kv.add_row("files", f"{len(files)} file{plural}, {human_bytes(i.total_size)}: {shown}"
               if files else "-")
    kv.add_row("source", i.source)
    kv.add_row("ingested", i.ingested_at or "-")
    kv.add_row("content hash", i.content_hash[:16] + "…" if i.content_hash else "-")
    for note in i.notes:
        if note in (NO_WEIGHTS_NOTE, NO_STATS_NOTE):
            continue  # already the "weights" row
        kv.add_row("note", Text(note, style="yellow"))
    return Panel(kv, title="[bold]overview[/]", title_align="left", border_style="cyan")


def _bar(fraction: float, width: int = 20) -> Text:
    n = round(fraction * width)
    return Text("█" * n + "·" * (width - n), style="green")


def _modules(i: Inspection) -> Panel:
    t = _table(("group", {"no_wrap": True}), ("tensors", R), ("parameters", R), ("share", R),
               ("", {"no_wrap": True}), ("mean std", R))
    for g in i.groups or []:
        t.add_row(g.group, str(g.tensors), human_count(g.parameters), _pct(g.fraction),
                  _bar(g.fraction), _num(g.mean_std))
    t.add_section()
    t.add_row(Text("total", style="bold"), str(sum(g.tensors for g in i.groups or [])),
              human_count(sum(g.parameters for g in i.groups or [])), "100%", "", "")
    return Panel(t, title="[bold]parameters by module[/]", title_align="left", border_style="cyan")


def _dtypes(i: Inspection) -> Panel:
    t = _table(("dtype", {"no_wrap": True}), ("tensors", R), ("elements", R), ("bytes", R),
               ("kind", {"no_wrap": True}))
    for d in i.dtype_breakdown or []:
        t.add_row(d.dtype, str(d.tensors), human_count(d.parameters), human_bytes(d.nbytes),
                  "parameters" if d.is_parameter else Text("buffers", style="dim"))
    return Panel(t, title="[bold]dtypes[/]", title_align="left", border_style="cyan")


def _tensor_rows(t: Table, notes: list[TensorNote], *cols: str) -> None:
    for n in notes:
        cells: list[RenderableType] = [Text(n.name, style="red" if n.outlier else "")]
        for c in cols:
            if c == "shape":
                cells.append(_shape(n.shape))
            elif c == "group":
                cells.append(n.group)
            elif c == "dtype":
                cells.append(n.dtype)
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
            t.add_row("\n".join(g.names), _shape(g.shape), human_count(g.numel), g.kind)
        parts.append(t)
    else:
        parts.append(Text("no duplicated tensors stored", style="dim"))
    for note in i.tie_notes:
        parts.append(Text(note, style="yellow"))
    return Panel(Group(*parts), title="[bold]tied weights[/]", title_align="left",
                 border_style="cyan")


def _card(i: Inspection) -> Panel:
    c = i.card
    if not c.present:
        body: RenderableType = Text("no model card", style="yellow")
    else:
        kv = _kv()
        kv.add_row("license", c.license or Text("-", style="red"))
        base = _listing(c.base_model)
        if c.base_model_relation:
            base += f"  ({c.base_model_relation})"
        kv.add_row("base_model", base)
        count = f"  [{len(c.datasets)}]" if c.datasets else ""
        kv.add_row("datasets", _listing(c.datasets) + count)
        kv.add_row("pipeline_tag", c.pipeline_tag or "-")
        kv.add_row("language", _listing(c.language))
        kv.add_row("library_name", c.library_name or "-")
        kv.add_row("tags", _listing(c.tags))
        kv.add_row("eval results", str(c.num_results))
        kv.add_row("sections", _listing(c.sections))
        if c.metadata_error:
            kv.add_row("metadata error", Text(c.metadata_error, style="red"))
        body = kv
    parts: list[RenderableType] = [body]
    if c.missing:
        parts.append(Text("\nmissing (per the Hub's model card guidance):", style="bold"))
        parts.extend(Text(f"  ✗ {m}", style="yellow") for m in c.missing)
    else:
        parts.append(Text("\nnothing missing that the card guidance asks for", style="green"))
    return Panel(Group(*parts), title="[bold]card[/]", title_align="left", border_style="cyan")


def render_inspection(insp: Inspection) -> RenderableType:
    """All sections of an inspection as one rich renderable."""
    parts: list[RenderableType] = [_overview(insp)]
    if insp.weights_in_lake:
        parts += [_modules(insp), _dtypes(insp), _sparsity_outliers(insp), _largest(insp),
                  _tied(insp)]
    parts.append(_card(insp))
    return Group(*parts)
