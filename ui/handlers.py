"""What the web app does when a person clicks: one class of handlers per tab.

Every handler opens its own catalog connection (SQLite connections are per thread), so
several browser sessions work at once and changes made from the CLI meanwhile are seen.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gradio as gr

from modellake.store.errors import ModelLakeError
from modellake.store.lake import Lake
from modellake.tools.model_facts import bytes_text
from modellake.tools.rendering import plural
from modellake.tools.toolspec import Policy

LINEAGE_UNAVAILABLE = ("Lineage is unavailable in this installation (modellake.tools.lineage could "
                       "not be loaded).")


def new_thread() -> str:
    return "web-" + uuid.uuid4().hex[:12]


_CODE_OR_LINK = re.compile(r"(`[^`]*`|\[[^\]]*\]\([^)]*\))")
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n.*?^(---|\.\.\.)[ \t]*(\r?\n|\Z)", re.S | re.M)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+!|~$])")


def esc(text: Any) -> str:
    """``text`` safe inside Markdown: HTML escaped, Markdown punctuation backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def link(name: str) -> str:
    """A Markdown link that opens ``name``'s page (``?model=NAME``)."""
    return f"[{esc(name)}](?model={quote(name, safe='')})"


def card_body(text: str | None) -> str:
    """The card's Markdown without its YAML front matter."""
    return _FRONT_MATTER.sub("", text or "", count=1).strip()


def card_preview(text: str) -> str:
    """A card as it reads on a model page: Markdown without its YAML front matter."""
    return card_body(text) or "_(empty)_"


def link_models(text: str, names: Sequence[str]) -> str:
    """Model names in an answer as links to their page (``?model=NAME``), outside code spans
    and existing links; longer names first, so ``x-int8`` is not linked as ``x``."""
    if not names or not text:
        return text
    alts = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    name_re = re.compile(rf"(?<![\w./@-])({alts})(?![\w/@-]|\.\w)")
    parts = _CODE_OR_LINK.split(text)
    for i in range(0, len(parts), 2):  # even parts lie outside code spans and links
        parts[i] = name_re.sub(lambda m: link(m[1]), parts[i])
    return "".join(parts)


def clicked_row(evt: gr.SelectData, rows: Any = None) -> list[Any] | None:
    """The clicked table row as shown (sorted or filtered in the browser); from ``rows`` (the
    table's value) by index when the event carries no row."""
    row = getattr(evt, "row_value", None)
    if row:
        return list(row)
    try:
        data = rows.values.tolist() if hasattr(rows, "values") else rows
        i = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return list(data[i]) if data and 0 <= i < len(data) else None
    except (TypeError, IndexError, KeyError):
        return None


def _short(text: str, n: int = 600) -> str:
    text = text.strip()
    return text if len(text) <= n else text[:n] + f" … ({len(text) - n} more characters)"


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def lineage_api():
    """(lineage module, draw_graph) or None when lineage is not available."""
    try:
        from modellake.tools import lineage as lin
        from modellake.tools.lineage import draw_graph
    except Exception:  # noqa: BLE001 - any import failure means "unavailable"
        return None
    if not hasattr(lin, "lineage"):
        return None
    return lin, draw_graph


def inside_roots(path: str | os.PathLike[str], roots: Sequence[str | os.PathLike[str]]) -> Path:
    """``path`` resolved (symlinks and ``..`` followed); ``PolicyError`` unless inside one of
    ``roots`` (the web policy's own check)."""
    return Policy.web(roots, logged_in=False).check_path(path)


def inspection_markdown(insp: Any) -> str:
    """An ``Inspection`` as Markdown: the model's facts, its modules and notes."""
    from modellake.tools.model_facts import count_text, markdown

    out = [markdown(insp)]
    if insp.groups:
        out += ["", "**Modules**", "", "| group | parameters | tensors |", "|---|---|---|"]
        out += [f"| {g.group} | {count_text(g.parameters)} | {g.tensors} |" for g in insp.groups[:12]]
    if insp.tie_notes:
        out += ["", "**Notes**", ""] + [f"- {n}" for n in insp.tie_notes]
    return "\n".join(out)


def _audit_markdown(audit: Any) -> str:
    """Errors and warnings one per line; notes of one kind folded into one line (seventeen
    empty sections are one finding to a reader, not seventeen)."""
    counts = ", ".join(plural(n, {"info": "note"}.get(str(s), str(s))) for s, n in (audit.counts or {}).items() if n)
    out = [f"**{audit.model}**: overall completeness {audit.overall:.0%}" + (f"; {counts}" if counts else "")]
    if not audit.findings:
        out.append("\nNo findings: the card agrees with what the lake knows.")
    folded: dict[tuple[str, str], list[Any]] = {}
    for f in audit.findings:
        if f.severity == "info" and f.where:
            folded.setdefault((f.severity, f.kind), []).append(f)
            continue
        where = f" ({f.where})" if f.where else ""
        out.append(f"- **{f.severity}** `{f.kind}`{where}: {f.message}")
    for (sev, kind), fs in folded.items():
        if len(fs) == 1:
            out.append(f"- **{sev}** `{kind}` ({fs[0].where}): {fs[0].message}")
        else:
            out.append(f"- **{sev}** `{kind}` in {len(fs)} places: " + ", ".join(f.where for f in fs))
    return "\n".join(out)


class _Base:
    """The callbacks, bound to one lake and one agent."""

    def __init__(self, lake: Lake, agent: Any, policy: Policy, staging: Path,
                 max_upload: int) -> None:
        self.lake, self.agent = lake, agent
        self.policy = policy
        self.staging, self.max_upload = staging, max_upload
        self.out_dir = Path(tempfile.mkdtemp(prefix="modellake-ui-"))

    def catalog(self):
        return self.lake.catalog()

    def example_questions(self) -> list[str]:
        """Questions this lake can answer, naming its own models and tasks."""
        from modellake.tools.query.examples import lake_examples

        with self.catalog() as cat:
            return lake_examples(cat)

    def model_names(self) -> list[str]:
        with self.catalog() as cat:
            return cat.model_names()


class ChatHandlers(_Base):
    """The Chat tab: the agent's events as chat messages, and the ``/chat`` API."""

    def respond(self, message: str, history: list | None, thread_id: str | None
                ) -> Iterator[tuple[list, str, str]]:
        from modellake.agent.events import AgentError, FinalAnswer, TextDelta, ToolFinished, ToolStarted

        thread_id = thread_id or new_thread()
        history = list(history or [])
        message = (message or "").strip()
        if not message:
            yield history, thread_id, ""
            return
        history.append({"role": "user", "content": message})
        working = {"role": "assistant", "content": "",  # a sign of work until the first event
                   "metadata": {"title": "Working…", "status": "pending", "id": "working"}}
        yield [*history, working], thread_id, ""
        steps: dict[str, int] = {}
        calls: dict[str, tuple[str, dict]] = {}
        answer_at: int | None = None
        for ev in self.agent.stream(message, thread_id):
            if isinstance(ev, ToolStarted):
                calls[ev.call_id] = (ev.tool, dict(ev.args or {}))
                args = json.dumps(ev.args, default=str)
                history.append({"role": "assistant", "content": f"arguments: `{args}`",
                                "metadata": {"title": f"Tool: {ev.tool}", "id": ev.call_id,
                                             "status": "pending"}})
                steps[ev.call_id] = len(history) - 1
            elif isinstance(ev, ToolFinished):
                i = steps.get(ev.call_id)
                body = (f"error: {ev.error}" if not ev.ok else _short(ev.result))
                if i is None:
                    history.append({"role": "assistant", "content": body,
                                    "metadata": {"title": f"Tool: {ev.tool}", "status": "done"}})
                else:
                    msg = dict(history[i])
                    msg["content"] = f"{msg['content']}\n\nresult:\n```\n{body}\n```"
                    msg["metadata"] = {**msg["metadata"], "status": "done"}
                    history[i] = msg
            elif isinstance(ev, TextDelta):
                if answer_at is None:
                    history.append({"role": "assistant", "content": ""})
                    answer_at = len(history) - 1
                history[answer_at] = {"role": "assistant",
                                      "content": history[answer_at]["content"] + ev.text}
            elif isinstance(ev, FinalAnswer):
                final = {"role": "assistant", "content": link_models(ev.answer, self._names())}
                if answer_at is None:
                    history.append(final)
                else:
                    history[answer_at] = final
                history += self._pictures([calls[c] for c in steps if c in calls])
            elif isinstance(ev, AgentError):
                history.append({"role": "assistant", "content": f"⚠️ {ev.message}"})
            yield list(history), thread_id, ""

    def _names(self) -> list[str]:
        try:
            return self.model_names()
        except Exception:  # noqa: BLE001 - links are a nicety; the answer stands without them
            return []

    def _pictures(self, calls: list[tuple[str, dict]]) -> list[dict]:
        """The lineage drawing and the leaderboard plot of the turn's last such tool calls, as
        chat images (the pictures the tabs draw)."""
        out = []
        lineage = next((a for t, a in reversed(calls) if t == "lineage"), None)
        if lineage is not None:
            path, _, note = self.draw_lineage(lineage.get("name") or None)
            if path:
                out.append({"role": "assistant", "content": {"path": path, "alt_text": note}})
        board = next((a for t, a in reversed(calls) if t == "leaderboard"), None)
        if board is not None and board.get("task"):
            _, path, note = self.leaderboard(board["task"], board.get("trust") or "measured")
            if path:
                out.append({"role": "assistant", "content": {"path": path, "alt_text": note}})
        return out

    def chat_api(self, message: str, conversation_id: str = "") -> str:
        """Ask the lake's agent one question; same ``conversation_id`` = same conversation."""
        from modellake.agent.events import AgentError, FinalAnswer

        for ev in self.agent.stream(message, conversation_id or new_thread()):
            if isinstance(ev, FinalAnswer):
                return ev.answer
            if isinstance(ev, AgentError):
                return f"error ({ev.kind}): {ev.message}"
        return "error: the agent ended without an answer"


class LakeHandlers(_Base):
    """The Lake tab: the models table, a model's facts and card."""

    def _families(self) -> dict[str, str]:
        api = lineage_api()
        if api is None:
            return {}
        try:
            with self.catalog() as cat:
                graph = api[0].lineage(cat)
            fam: dict[str, str] = {}
            for members in graph.families:
                if len(members) > 1:
                    for m in members:
                        fam[m] = sorted(members)[0]
            return fam
        except Exception:  # noqa: BLE001 - the table works without families
            return {}

    def models_table(self, filter_text: str = "") -> list[list[Any]]:
        from modellake.tools.model_facts import count_text as human_count

        with self.catalog() as cat:
            models = cat.list_models()
        fam = self._families()
        rows = []
        q = (filter_text or "").strip().lower()
        for m in models:
            card = "-"
            if m.card is not None:
                try:
                    from modellake.tools.cards import score_card

                    card = f"{score_card(m.card).overall:.0%}"
                except Exception:  # noqa: BLE001
                    card = "yes"
            row = [m.name, m.version, m.format, m.architecture or "-",
                   human_count(m.num_parameters), fam.get(m.name, "-"), card]
            if q and not any(q in str(v).lower() for v in row):
                continue
            rows.append(row)
        return rows

    def lake_table(self, filter_text: str = ""):
        """The filtered table; the model picker offers (and shows) the first match, so the
        details below never describe a model the filter hid."""
        rows = self.models_table(filter_text)
        names = [r[0] for r in rows]
        return rows, gr.update(choices=names, value=names[0] if names else None)

    def refresh_all(self, filter_text: str = ""):
        """The table and every model picker, re-read from the lake (the CLI may have changed it)."""
        rows = self.models_table(filter_text)
        names = self.model_names()
        pickers = [gr.update(choices=names)] * 4 + [gr.update(choices=["", *names]),
                                                    gr.update(choices=names)]
        return [rows, *pickers]

    def show_model(self, name: str) -> tuple[str, str]:
        from modellake.tools.inspection import inspect_model

        if not name:
            return "Select a model.", ""
        try:
            with self.catalog() as cat:
                insp = inspect_model(cat, name)
                model = cat.get_model(name)
            md = inspection_markdown(insp)
        except Exception as exc:  # noqa: BLE001
            return f"⚠️ {exc}", ""
        api = lineage_api()
        if api is not None:
            try:
                with self.catalog() as cat:
                    fam = api[0].lineage(cat).family(name)
                if len(fam) > 1:
                    md += "\n\n**Family**: " + ", ".join(sorted(fam))
            except Exception:  # noqa: BLE001
                pass
        card = model.card.text if model.card is not None else "_This model has no card._"
        return md, card

    def select_row(self, evt: gr.SelectData, rows: Any):
        row = clicked_row(evt, rows)
        name = str(row[0]) if row else evt.value
        md, card = self.show_model(name)
        return name, md, card


class BenchHandlers(_Base):
    """The Benchmarks tab: leaderboards and comparisons."""

    def task_names(self) -> list[str]:
        try:
            from modellake.tools.bench import list_tasks

            with self.catalog() as cat:
                return [t.name for t in list_tasks(cat).tasks]
        except Exception:  # noqa: BLE001
            return []

    def leaderboard(self, task: str, trust: str = "measured"):
        from modellake.tools.bench import leaderboard

        if not task:
            return [], None, "Pick a task."
        plot = self.out_dir / f"leaderboard-{uuid.uuid4().hex[:8]}.png"
        try:
            with self.catalog() as cat:
                board = leaderboard(cat, task, trust=trust or "measured", plot=plot)
        except Exception as exc:  # noqa: BLE001
            return [], None, f"⚠️ {exc}"
        entries = getattr(board, "entries", [])
        rows = [[e.rank, e.model, e.model_version, e.trust, e.value, e.std, e.n_runs]
                for e in entries]
        note = f"{len(rows)} models ranked on **{task}**" + (
            f" by {board.metric}" if getattr(board, "metric", None) else "")
        return rows, (str(plot) if rows and plot.exists() else None), note

    def compare(self, a: str, b: str) -> str:
        from modellake.tools.bench import compare

        if not a or not b:
            return "Pick two models."
        try:
            with self.catalog() as cat:
                cmp = compare(cat, a, b)
        except Exception as exc:  # noqa: BLE001
            return f"⚠️ {exc}"
        out = [f"**{cmp.a}** vs **{cmp.b}**" + (" (same weights)" if cmp.same_weights else "")]
        if cmp.rows:
            out += ["", "| task | metric | trust | A | B | diff | significant |", "|---|---|---|---|---|---|---|"]
            for r in cmp.rows:
                d = r.to_dict() if hasattr(r, "to_dict") else vars(r)
                out.append("| " + " | ".join(_fmt(d.get(k)) for k in (
                    "task", "metric", "trust", "a", "b", "diff", "significant")) + " |")
        else:
            out.append("\nNo runs in common to compare.")
        if cmp.only_a:
            out.append(f"\nOnly {cmp.a}: {', '.join(cmp.only_a)}")
        if cmp.only_b:
            out.append(f"\nOnly {cmp.b}: {', '.join(cmp.only_b)}")
        return "\n".join(out)


class CardHandlers(_Base):
    """The Card tab: draft, audit and download a model card."""

    def draft(self, name: str) -> tuple[str, str]:
        from modellake.tools.cards import draft_card

        if not name:
            return "", "Pick a model."
        try:
            with self.catalog() as cat:
                d = draft_card(cat, name)
        except Exception as exc:  # noqa: BLE001
            return "", f"⚠️ {exc}"
        missing = getattr(d, "missing", []) or []
        note = f"Drafted from the lake's evidence; overall completeness {getattr(d, 'overall', 0):.0%}."
        if missing:
            note += " Missing: " + "; ".join(missing[:10])
        return d.markdown, note

    def audit(self, name: str, text: str) -> str:
        from modellake.tools.cards import check_card

        if not name:
            return "Pick a model."
        try:
            with self.catalog() as cat:
                audit = check_card(cat, name, text=text or None)
        except Exception as exc:  # noqa: BLE001
            return f"⚠️ {exc}"
        return _audit_markdown(audit)

    def audit_editor(self, name: str, text: str) -> tuple[str, str, str]:
        """(findings, editor text, preview): an empty editor is filled with the stored card it
        audits, so what is checked is what is shown."""
        if not (text or "").strip() and name:
            try:
                with self.catalog() as cat:
                    card = cat.get_model(name).card
            except Exception as exc:  # noqa: BLE001
                return f"⚠️ {exc}", text, ""
            if card is None:
                return (f"{name} has no stored card and the editor is empty: press Draft card "
                        "first, or paste a card."), "", ""
            text = card.text
        return self.audit(name, text), text, card_preview(text)

    def download(self, text: str) -> str | None:
        if not text:
            return None
        d = self.out_dir / uuid.uuid4().hex[:8]
        d.mkdir(parents=True)
        p = d / "README.md"
        p.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        return str(p)


class LineageHandlers(_Base):
    """The Lineage tab: the version graph, drawn, with its edges."""

    def draw_lineage(self, name: str | None):
        api = lineage_api()
        if api is None:
            return None, [], LINEAGE_UNAVAILABLE
        lin, draw_graph = api
        try:
            with self.catalog() as cat:
                graph = lin.lineage(cat, name or None)
            rows = [[e.parent, e.child, e.relation, round(float(e.confidence), 3), e.source]
                    for e in graph.edges]
            if not rows and not graph.families:
                return None, [], "No models in the lineage graph" + (f" for {name}." if name else ".")
            path = draw_graph(graph, self.out_dir / f"lineage-{uuid.uuid4().hex[:8]}.png")
        except Exception as exc:  # noqa: BLE001
            return None, [], f"⚠️ {exc}"
        msg = (f"{len(rows)} edge{'' if len(rows) == 1 else 's'}"
               + (f" in the family of **{name}**" if name else "") + ".")
        conflicts = list(getattr(graph, "conflicts", []) or [])
        if conflicts:
            msg += "\n\n**Conflicts with declared lineage:**\n" + "\n".join(
                f"- ⚠️ **{c.model}** declares `{c.declared}` ({c.kind}): {c.message}" for c in conflicts)
        return str(path), rows, msg


class IngestHandlers(_Base):
    """The Ingest tab: server paths inside the allowed folders, and uploads."""

    def _ingest(self, paths: list[Path], name: str | None, progress: Any) -> str:
        from modellake.tools.ingest import ingest

        def on_progress(label: str, done: int, total: int) -> None:
            if progress is not None:
                progress((done, total or None), desc=label)

        def on_index(stage: str, done: int, total: int) -> None:
            if progress is not None:
                progress((done, total or None), desc=f"search index: {stage}")

        with self.catalog() as cat:
            report = ingest(cat, paths, name=name or None, on_progress=on_progress,
                            on_index_progress=on_index)
        lines = [f"Ingested into {self.lake.root}:"]
        for label, models in (("added", report.models), ("unchanged", report.unchanged)):
            if models:
                lines.append(f"- {label}: " + ", ".join(f"{m.name} (v{m.version})" for m in models))
        lines += [f"- ⚠️ {e.error}" for e in report.errors]
        if len(lines) == 1:
            lines.append("- nothing found to ingest")
        if report.index is not None:
            lines.append(f"- {report.index.describe()}")
        return "\n".join(lines)

    def _may_ingest(self, path: str | os.PathLike[str]) -> Path:
        """The path to ingest, if this app's policy allows it (``PolicyError`` otherwise)."""
        from modellake.tools.registry import get_tool

        self.policy.check_call(get_tool("ingest_models"), {})  # may this app change the lake?
        return self.policy.check_path(path)

    def ingest_path(self, path: str, name: str, progress=gr.Progress()) -> str:
        try:
            p = self._may_ingest(path)
        except ModelLakeError as exc:
            return f"⚠️ {exc}"
        if not p.exists():
            return f"⚠️ {p} does not exist"
        try:
            return self._ingest([p], name, progress)
        except Exception as exc:  # noqa: BLE001
            return f"⚠️ {exc}"

    def ingest_upload(self, file: Any, name: str, progress=gr.Progress()) -> str:
        """Ingest an uploaded model file, or the files of an uploaded model folder (staged
        together in one folder, so a config, its weights and card stay one model)."""
        files = [f for f in (file if isinstance(file, list) else [file]) if f]
        if not files:
            return "Upload a model file or folder first."
        try:
            self._may_ingest(self.staging)
        except ModelLakeError as exc:
            return f"⚠️ {exc}"
        srcs = [Path(f if isinstance(f, str) else getattr(f, "name", str(f))) for f in files]
        size = sum(p.stat().st_size for p in srcs)
        if size > self.max_upload:
            return (f"⚠️ the upload is {bytes_text(size)}; the limit is {bytes_text(self.max_upload)} "
                    "(ingest it from a path on the server instead)")
        dest_dir = self.staging / uuid.uuid4().hex[:8] / (_safe_name(name) or "upload")
        dest_dir.mkdir(parents=True, exist_ok=True)
        for src in srcs:
            shutil.copyfile(src, dest_dir / (_safe_name(src.name) or "upload.bin"))
        target = dest_dir if len(srcs) > 1 else dest_dir / (_safe_name(srcs[0].name) or "upload.bin")
        try:
            return self._ingest([target], name, progress)
        except Exception as exc:  # noqa: BLE001
            return f"⚠️ {exc}"


def _safe_name(name: str | None) -> str:
    """A file or folder name with no path in it."""
    return Path(str(name or "")).name.replace("..", "_").strip()


class Handlers(ChatHandlers, LakeHandlers, BenchHandlers, CardHandlers, LineageHandlers,
               IngestHandlers):
    """Every tab's handlers over one lake and agent (each call opens its own catalog)."""
