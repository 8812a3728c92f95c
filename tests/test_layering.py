"""The house rules of DESIGN.md that a refactor could silently break: kg/ is a library that never imports
bot/, the Slack and Discord adapters never import each other, no module takes part in an import cycle, and kg/
is layered (LAYERS below).

Every import counts: at module level, inside functions (the lazy imports that keep startup fast) and under
TYPE_CHECKING, because each is a dependency a reader must follow. The graph is between modules: `from a.b
import c` depends on module a.b.c when c is a module, else on a.b. Importing a submodule also runs its
packages' __init__.py files, but that is not counted as a dependency on them: a package __init__ may import
its own submodules (kg/store/__init__.py opens either store) without every submodule depending on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The layers of kg/, bottom first. A module may import its own unit (a package, or a module on its own) and the
# units of lower layers; units of one layer never import each other. So the search and the index pipeline
# share only what lies below them (text, records, models, stores), and models and stores stay independent.
LAYERS: list[set[str]] = [
    {"kg.text"},  # words, stop words, sentences, tokens, names: nothing of kgbot below it
    {"kg.model", "kg.config", "kg.prompts", "kg.citations"},  # shared records, settings, prompts, markers
    {"kg.llm", "kg.store"},  # models and calls; the graph stores
    {"kg.index", "kg.search", "kg.interop"},  # build an index; answer a question; GraphRAG tables in and out
]
PROVIDER_PACKAGES = {"openai", "langchain_openai"}  # imported only by kg/llm/


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_files(*folders: str) -> dict[str, Path]:
    return {_module_name(p): p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))}


def _imports(path: Path, modules: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """Every module named by an import statement of the file, wherever the statement is. `from a import b`
    names a.b when that is one of `modules`, else a."""
    names: set[str] = set()
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return names


def _graph(*folders: str) -> dict[str, set[str]]:
    """Module -> the modules of `folders` it imports."""
    modules = _module_files(*folders)
    return {
        name: {m for m in _imports(path, set(modules)) if m in modules and m != name}
        for name, path in modules.items()
    }


def _unit(module: str) -> str | None:
    """The unit of LAYERS that `module` belongs to."""
    for layer in LAYERS:
        for unit in layer:
            if module == unit or module.startswith(unit + "."):
                return unit
    return None


def _layer(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_graph("kg", "bot")) == []


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_every_kg_module_has_a_layer() -> None:
    assert [m for m in _module_files("kg") if m != "kg" and _unit(m) is None] == []


def test_kg_layers() -> None:
    offenders = []
    for module, imported in _graph("kg").items():
        unit = _unit(module)
        if unit is None:
            continue
        for other in imported:
            target = _unit(other)
            if target is None or target == unit:
                continue
            if _layer(target) >= _layer(unit):
                offenders.append(f"{module} imports {other}")
    assert offenders == []


def test_kg_never_imports_bot() -> None:
    offenders = {
        str(p): n
        for p in _module_files("kg").values()
        if (n := {m for m in _imports(p) if m == "bot" or m.startswith("bot.")})
    }
    assert offenders == {}


def test_chat_adapters_do_not_import_each_other() -> None:
    for mine, other in (("bot/slack", "bot.discord"), ("bot/discord", "bot.slack")):
        offenders = {
            str(p) for p in _module_files(mine).values() if any(m.startswith(other) for m in _imports(p))
        }
        assert offenders == set(), f"{mine} imports {other}"


def test_provider_packages_only_in_kg_llm() -> None:
    offenders = {
        module
        for module, path in _module_files("kg").items()
        if not module.startswith("kg.llm.")
        and any(m.split(".")[0] in PROVIDER_PACKAGES for m in _imports(path))
    }
    assert offenders == set()


def test_no_module_is_over_600_lines() -> None:
    """A module a newcomer opens fits on a few screens; past 600 lines it holds more than one thing."""
    long = {
        str(path.relative_to(ROOT)): n
        for folder in ("kg", "bot")
        for path in (ROOT / folder).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}
