"""The house rules of DESIGN.md that a refactor could silently break: kg/ is a library that never imports
bot/, and the Slack and Discord adapters never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(folder: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_kg_never_imports_bot() -> None:
    offenders = {
        f: n for f, n in _imports("kg").items() if any(m == "bot" or m.startswith("bot.") for m in n)
    }
    assert offenders == {}


def test_chat_adapters_do_not_import_each_other() -> None:
    for mine, other in (("bot/slack", "bot.discord"), ("bot/discord", "bot.slack")):
        offenders = {f for f, n in _imports(mine).items() if any(m.startswith(other) for m in n)}
        assert offenders == set(), f"{mine} imports {other}"


def test_provider_packages_only_in_kg_llm() -> None:
    offenders = {
        f
        for f, n in _imports("kg").items()
        if f != "kg/llm.py" and any(m.split(".")[0] in {"openai", "langchain_openai"} for m in n)
    }
    assert offenders == set()


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycles_in_bot() -> None:
    """Every import counts, at module level, inside functions and under TYPE_CHECKING alike."""
    modules = {_module_of(path): path for path in (ROOT / "bot").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:  # `from bot.slack import render` imports the module bot.slack.render
                    sub = f"{node.module}.{alias.name}"
                    targets.add(sub if sub in modules else node.module)
        graph[name] = {t for t in targets if t in modules and t != name}

    def cycle_from(start: str, at: str, path: list[str]) -> list[str] | None:
        for nxt in sorted(graph[at]):
            if nxt == start:
                return [*path, nxt]
            if nxt not in path:
                found = cycle_from(start, nxt, [*path, nxt])
                if found:
                    return found
        return None

    cycles = [c for name in sorted(graph) if (c := cycle_from(name, name, [name]))]
    assert cycles == []
