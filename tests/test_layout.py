"""Import boundaries: ui -> agent -> tools -> store, heavy imports stay lazy."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["store", "tools", "agent", "ui"]
FORBIDDEN_BELOW_UI = {"gradio"}
FORBIDDEN_BELOW_AGENT = {"langchain", "langchain_core", "langchain_openai", "langgraph"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_layers_import_only_downwards():
    for layer in ORDER:
        allowed = set(ORDER[: ORDER.index(layer) + 1])
        for py in (ROOT / layer).rglob("*.py"):
            for name in _imports(py):
                parts = name.split(".")
                if parts[0] == "modellake" and len(parts) > 1:
                    assert parts[1] in allowed, f"{py.relative_to(ROOT)} imports {name}"
                top = parts[0]
                if layer != "ui":
                    assert top not in FORBIDDEN_BELOW_UI, f"{py.relative_to(ROOT)} imports {name}"
                if layer in ("store", "tools"):
                    assert top not in FORBIDDEN_BELOW_AGENT, f"{py.relative_to(ROOT)} imports {name}"
