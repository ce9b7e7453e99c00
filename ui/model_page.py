"""The lake as pages people know: a Hub-style page per model, and a search page.

    with gr.Tabs() as tabs:
        page = model_tab(h, names)          # the "Model" tab (id "model")
        search_tab(h, page, tabs)           # the "Search" tab (id "search")
    page.wire(app, tabs)                    # ?model=NAME opens that model's page

Every model name on a page links to ``?model=NAME``; names are escaped wherever they are
shown, so no name can add markup. What each part says comes from the tools: inspection,
lineage, benchmark runs, the card audit and the library search.
"""
from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import gradio as gr

from modellake.tools.inspection import human_bytes
from modellake.tools.search.query import parse_size
from modellake.ui.handlers import (
    LINEAGE_UNAVAILABLE,
    card_body,
    clicked_row,
    esc,
    inspection_markdown,
    lineage_api,
    link,
)

NO_CARD = "This model has no card."
RESULT_COLUMNS = ["task", "metric", "value", "trust", "when"]
FILE_COLUMNS = ["path", "size", "format"]
SEARCH_COLUMNS = ["name", "why it matched", "task", "license", "parameters", "format"]
FORMATS = ["", "safetensors", "gguf", "pytorch", "adapter", "card"]
MAX_FINDINGS = 4
# what a parent became, in words: "quantized to Y"
CHILD_WORDS = {"finetune": "fine-tuned into", "adapter": "has an adapter", "quantized": "quantized to",
               "pruned": "pruned to", "merge": "merged into", "duplicate": "copied as",
               "converted": "converted to", "declared": "named as its base by"}
_SUFFIX_FORMATS = {".safetensors": "safetensors", ".gguf": "gguf", ".bin": "pytorch", ".pt": "pytorch",
                   ".pth": "pytorch", ".onnx": "onnx", ".md": "card", ".json": "config (JSON)",
                   ".txt": "text", ".model": "tokenizer"}


# -- words -------------------------------------------------------------------------------
def size_text(n: int | None) -> str:
    """1536 -> '1.5 KiB' (binary units, labelled as such); '-' when unknown."""
    return "-" if n is None else human_bytes(n, "bytes")


def file_format(path: str) -> str:
    p = PurePosixPath(path)
    if p.name.startswith("adapter_"):
        return "adapter"
    return _SUFFIX_FORMATS.get(p.suffix.lower(), p.suffix.lstrip(".").lower() or "other")


def _error(exc: Any) -> str:
    return "⚠️ " + " ".join(str(exc).split())


# -- one model's page ----------------------------------------------------------------------
@dataclass
class ModelView:
    """What a model's page shows, each part ready for its component."""

    facts: str
    card: str = ""
    picture: str | None = None
    lineage: str = ""
    results: list[list[Any]] = dataclasses.field(default_factory=list)
    files: list[list[Any]] = dataclasses.field(default_factory=list)
    audit: str = ""

    def values(self) -> tuple[Any, ...]:
        return (self.facts, self.card, self.picture, self.lineage, self.results, self.files, self.audit)


def model_view(h: Any, name: str | None) -> ModelView:
    """The page of ``name`` (a one-line "⚠️ ..." in ``facts`` when it cannot be shown)."""
    from modellake.tools.inspection import inspect_model

    name = (name or "").strip()
    if not name:
        return ModelView("Pick a model.")
    try:
        with h.catalog() as cat:
            model = cat.get_model(name)
            insp = inspect_model(cat, name)
    except Exception as exc:  # noqa: BLE001 - any failure is one line on the page
        return ModelView(_error(exc))
    picture, words = lineage_part(h, model.name)
    return ModelView(facts_markdown(insp), card_body(model.card.text if model.card else "") or NO_CARD,
                     picture, words, results_rows(h, model.name), files_rows(model), audit_part(h, model.name))


def facts_markdown(insp: Any) -> str:
    """The inspection's facts with names escaped and sizes in binary units, labelled as such."""
    safe = {f: esc(getattr(insp, f)) for f in ("name", "source", "adapter_base") if getattr(insp, f, None)}
    return inspection_markdown(dataclasses.replace(insp, **safe))


def files_rows(model: Any) -> list[list[Any]]:
    return [[f.path, size_text(f.size), file_format(f.path)]
            for f in sorted(model.files, key=lambda f: f.path)]


def results_rows(h: Any, name: str) -> list[list[Any]]:
    """One row per metric of every stored run of ``name``, newest first."""
    from modellake.tools.bench import list_runs
    from modellake.tools.rendering import round_score

    try:
        with h.catalog() as cat:
            runs = list_runs(cat, model=name).runs
    except Exception:  # noqa: BLE001 - a page without results still shows the rest
        return []
    trust = {"measured": "measured here", "reported": "reported"}
    return [[r.task, metric, round_score(float(v)) if isinstance(v, (int, float)) else str(v),
             trust.get(r.trust, r.trust), (r.created_at or "")[:10]]
            for r in runs for metric, v in (r.metrics or {}).items()]


def audit_part(h: Any, name: str) -> str:
    """The card audit in a few lines: completeness, counts, the first findings."""
    from modellake.tools.cards import check_card

    try:
        with h.catalog() as cat:
            audit = check_card(cat, name)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    counts = ", ".join(f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in (audit.counts or {}).items() if n)
    out = [f"**Card audit**: completeness {audit.overall:.0%}" + (f"; {counts}." if counts else ".")]
    out += [f"- {esc(f.severity)}: {esc(f.message)}" for f in audit.findings[:MAX_FINDINGS]]
    if len(audit.findings) > MAX_FINDINGS:
        out.append(f"- and {len(audit.findings) - MAX_FINDINGS} more (see the Card tab)")
    if not audit.findings:
        out.append("The card agrees with what the lake knows.")
    return "\n".join(out)


def lineage_part(h: Any, name: str) -> tuple[str | None, str]:
    """A picture of ``name``'s parents, children and siblings, and the same in words."""
    api = lineage_api()
    if api is None:
        return None, LINEAGE_UNAVAILABLE
    lin, draw_graph = api
    try:
        with h.catalog() as cat:
            graph = lin.lineage(cat)
        lines, near = relatives(graph, name)
        picture = None
        if len(near) > 1:
            path = h.out_dir / f"model-{uuid.uuid4().hex[:8]}.png"
            picture = str(draw_graph(graph.subgraph(near), path))
    except Exception as exc:  # noqa: BLE001
        return None, _error(exc)
    return picture, "\n".join(lines) or "No parents, children or siblings known in the lake."


def relatives(graph: Any, name: str) -> tuple[list[str], list[str]]:
    """Lines in words ("- fine-tuned from X (confidence 0.90)") and the names they mention."""
    from modellake.tools.lineage.declared import derivation

    parents, children = graph.parents(name), graph.children(name)
    lines = [f"- {derivation(e.relation)} {link(e.parent)}{_how(e)}" for e in parents]
    lines += [f"- {CHILD_WORDS.get(e.relation, 'derived into')} {link(e.child)}{_how(e)}" for e in children]
    sibs = sorted({c.child for p in parents for c in graph.children(p.parent)} - {name})
    if sibs:
        lines.append("- siblings (same parent): " + ", ".join(link(s) for s in sibs))
    lines += [f"- ⚠️ {esc(c.message)}" for c in graph.conflicts if c.model == name]
    near = [name, *(e.parent for e in parents), *(e.child for e in children), *sibs]
    return lines, list(dict.fromkeys(near))


def _how(edge: Any) -> str:
    declared = ", declared in its card" if edge.source != "inferred" else ""
    return f" (confidence {float(edge.confidence):.2f}{declared})"


@dataclass
class ModelPage:
    """The Model tab: ``pick`` (the model dropdown) and what fills the page."""

    h: Any
    pick: gr.Dropdown
    outputs: list[Any]

    def show(self, name: str | None) -> tuple[Any, ...]:
        facts, card, picture, *rest = model_view(self.h, name).values()
        return (facts, card, gr.update(value=picture, visible=picture is not None), *rest)

    def open(self, name: str | None) -> tuple[Any, Any]:
        """Open ``name``'s page: pick it, select the Model tab (the pick's change fills the page)."""
        if not name:
            return gr.skip(), gr.skip()
        return gr.update(value=name), gr.Tabs(selected="model")

    def on_load(self, request: gr.Request | None = None) -> tuple[Any, Any]:
        """On page load: fresh model choices; with ``?model=NAME``, that model's page."""
        params = getattr(request, "query_params", None) or {}
        name = (params.get("model") or "").strip()
        names = self.h.model_names()
        if not name:
            return gr.update(choices=names), gr.skip()
        return gr.update(choices=names, value=name), gr.Tabs(selected="model")

    def wire(self, app: gr.Blocks, tabs: gr.Tabs) -> None:
        """Register the ``?model=NAME`` deep link (call inside ``with app:``)."""
        app.load(self.on_load, None, [self.pick, tabs], api_visibility="private")


def model_tab(h: Any, names: list[str]) -> ModelPage:
    """The "Model" tab: a Hub-style page for the picked model."""
    with gr.Tab("Model", id="model", elem_id="model-tab"):
        pick = gr.Dropdown(names, label="Model", allow_custom_value=True, elem_id="model-pick")
        with gr.Row():
            with gr.Column(scale=3):
                card = gr.Markdown(elem_id="model-card")
            with gr.Column(scale=2):
                facts = gr.Markdown("Pick a model.", elem_id="model-facts")
                audit = gr.Markdown(elem_id="model-audit")
        gr.Markdown("### Lineage")
        with gr.Row():
            picture = gr.Image(label="Parents, children and siblings", type="filepath", scale=3,
                               height=440, elem_id="model-lineage-picture")
            words = gr.Markdown(elem_id="model-lineage")
        gr.Markdown("### Results")
        results = gr.Dataframe(headers=RESULT_COLUMNS, interactive=False, elem_id="model-results")
        gr.Markdown("### Files")
        files = gr.Dataframe(headers=FILE_COLUMNS, interactive=False, elem_id="model-files")
    page = ModelPage(h, pick, [facts, card, picture, words, results, files, audit])
    pick.change(page.show, pick, page.outputs, api_name="model_page")
    return page


# -- search -------------------------------------------------------------------------------
def lake_tasks(h: Any) -> list[str]:
    """The tasks (pipeline tags) the lake's cards name."""
    with h.catalog() as cat:
        return sorted({m.card.pipeline_tag for m in cat.list_models() if m.card and m.card.pipeline_tag})


def search_rows(h: Any, query: str, task: str | None = None, license: str | None = None,  # noqa: A002
                max_params: float | None = None, fmt: str | None = None) -> tuple[list[list[Any]], str]:
    """The library search (as ``modellake search``) with the filters; rows and a one-line note."""
    from modellake.tools.model_facts import count_text
    from modellake.tools.search import search

    query, task, license, fmt = ((v or "").strip() or None for v in (query, task, license, fmt))
    if not (query or task or license or max_params or fmt):
        return [], "Type what you need, or set a filter."
    try:
        with h.catalog() as cat:
            res = search(cat, query or "", 20, task=task, license=license, format=fmt,
                         max_params=float(max_params) if max_params else None)
            models = {m.name: m for m in cat.list_models()}
    except Exception as exc:  # noqa: BLE001
        return [], _error(exc)
    rows = []
    for hit in res.hits:
        m = models.get(hit.name)
        card = m.card if m else None
        rows.append([hit.name, "; ".join(hit.reasons()) or "-", (card and card.pipeline_tag) or "-",
                     (card and card.license) or "-", count_text(m.num_parameters if m else None),
                     m.format if m else "-"])
    note = {0: "No model matches.", 1: "1 model matches."}.get(len(rows), f"{len(rows)} models match.")
    return rows, note + (f" {res.note}." if res.note else "")


def parse_count(text: str | float | None) -> float | None:
    """'50M' -> 5e7, '1.5B' -> 1.5e9, '30,000' -> 3e4; empty -> None (ValueError otherwise)."""
    if text is None or (isinstance(text, float | int)):
        return float(text) if text else None
    t = str(text).strip().lower().replace(",", "").replace("_", "").removesuffix("params").strip()
    if not t:
        return None
    n = parse_size(t)  # the search's own reading of "7B", "350M", "1200000"
    if n is None:
        raise ValueError(text)
    return n


def hit_name(evt: gr.SelectData) -> str | None:
    """The model name of a clicked results row."""
    row = clicked_row(evt)
    return str(row[0]) if row else None


def search_tab(h: Any, page: ModelPage, tabs: gr.Tabs | None = None) -> None:
    """The "Search" tab: a query, filters, and results; a click opens the model's page."""
    with gr.Tab("Search", id="search", elem_id="search-tab"):
        with gr.Row():
            query = gr.Textbox(label="What do you need?", placeholder="a small English sentiment model…",
                               scale=4, elem_id="search-query")
            go = gr.Button("Search", variant="primary", scale=1)
        with gr.Row():
            task = gr.Dropdown(["", *lake_tasks(h)], value="", label="Task", allow_custom_value=True)
            lic = gr.Textbox(label="License", placeholder="mit, apache-2.0…")
            most = gr.Textbox(label="Max parameters", placeholder="any (e.g. 50M, 1.5B, 30000)")
            fmt = gr.Dropdown(FORMATS, value="", label="Format")
        note = gr.Markdown(elem_id="search-note")
        table = gr.Dataframe(headers=SEARCH_COLUMNS, interactive=False, elem_id="search-results", wrap=True,
                             column_widths=["18%", "42%", "14%", "10%", "8%", "8%"],
                             label="Results (click a row to open the model's page)")

    def find(query: str, task: str, lic: str, most: str, fmt: str):
        try:
            limit = parse_count(most)
        except ValueError:
            return [], f"⚠️ max parameters: {esc(most)} is not a count (write e.g. 50M, 1.5B or 30000)"
        return search_rows(h, query, task, lic, limit, fmt)

    def open_hit(evt: gr.SelectData):
        opened = page.open(hit_name(evt))
        return opened if tabs is not None else opened[0]

    inputs = [query, task, lic, most, fmt]
    go.click(find, inputs, [table, note], api_name="search_models")
    query.submit(find, inputs, [table, note], api_visibility="private")
    table.select(open_hit, None, [page.pick, tabs] if tabs is not None else page.pick,
                 api_visibility="private")
