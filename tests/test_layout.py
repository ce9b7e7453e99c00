"""Import boundaries: ui -> agent -> tools -> store, heavy imports stay lazy."""
from __future__ import annotations

import ast
import re
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


PACKAGES = {"store": "modellake.store", "tools": "modellake.tools", "agent": "modellake.agent",
            "ui": "modellake.ui"}


def _module_name(py: Path) -> str:
    parts = list(py.relative_to(ROOT).with_suffix("").parts)
    parts[0] = PACKAGES[parts[0]]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_modules() -> dict[str, Path]:
    return {_module_name(py): py for layer in ORDER for py in (ROOT / layer).rglob("*.py")}


def _targets(module: str, is_pkg: bool, node: ast.AST, modules: dict[str, Path]) -> set[str]:
    """The project modules one import statement names (anywhere in the file, lazy ones too)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in modules}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level:
        base = module.split(".") if is_pkg else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    named = {f"{source}.{a.name}" for a in node.names} & set(modules)
    return named or ({source} & set(modules))


def _runtime_imports(tree: ast.AST) -> list[ast.AST]:
    """Every import statement that runs (those under ``if TYPE_CHECKING:`` only annotate)."""
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", None) == "TYPE_CHECKING"
                   for stmt in block.body for n in ast.walk(stmt)}
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
            and id(n) not in typing_only]


def import_graph() -> dict[str, set[str]]:
    modules = _project_modules()
    graph: dict[str, set[str]] = {}
    for name, py in modules.items():
        edges: set[str] = set()
        for node in _runtime_imports(ast.parse(py.read_text())):
            edges |= _targets(name, py.name == "__init__.py", node, modules)
        graph[name] = edges - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_among_the_projects_modules():
    graph = import_graph()
    assert len(graph) > 50 and graph["modellake.ui.cli"]  # the graph really was read
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


SQL = re.compile(r"\b(SELECT\s.+?\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
                 r"|CREATE\s+(VIRTUAL\s+)?(TABLE|INDEX|TRIGGER)|DROP\s+TABLE|PRAGMA\s+\w+)\b", re.S)


def _sql_strings(py: Path) -> list[str]:
    tree = ast.parse(py.read_text())
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and SQL.search(n.value)]


def test_no_sql_outside_the_store():
    offenders = {str(py.relative_to(ROOT)): found
                 for layer in ("tools", "agent", "ui") for py in (ROOT / layer).rglob("*.py")
                 if (found := _sql_strings(py))}
    assert offenders == {}
    assert _sql_strings(ROOT / "store" / "catalog.py")  # the check does see SQL where it is


def test_every_package_folder_is_in_the_wheel():
    """A package folder missing from pyproject's list works in an editable install and is
    silently left out of the wheel."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"modellake." + ".".join(p.parent.relative_to(ROOT).parts)
             for layer in ORDER for p in (ROOT / layer).rglob("__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
