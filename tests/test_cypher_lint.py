"""Every Cypher statement of kg/store/neo4j/statements.py (and the README's examples) passes Neo4j's own
Cypher linter.

The linter is the npm package @neo4j-cypher/language-support (`lintCypherQuery`), pinned in
tests/cypher_lint/package.json and installed by `make test` (npm ci in tests/cypher_lint). It runs on the
Node.js that uv.lock installs into the venv (tests/node.py). Labels, relationship types and parameters are
declared from kg.store.neo4j.statements' allow-lists, so a misspelt label, type, parameter, procedure or function is
reported too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kg.store.neo4j import search_statements, vocabulary
from kg.store.neo4j import statements as cypher
from tests.node import node_binary

LINT_DIR = Path(__file__).parent / "cypher_lint"
README = Path(__file__).parent.parent / "README.md"
PACKAGE = "@neo4j-cypher/language-support"

# Statements the linter must flag, so that a linter that reports nothing cannot pass the suite.
BROKEN = {
    "broken syntax": ("MATCH (e:Entity RETURN e", "error"),
    "undeclared parameter": ("MATCH (e:Entity {namespace: $namespce}) RETURN e", "error"),
    "misspelt procedure": (
        "CALL db.index.fulltext.queryNode('kg_entity_text', $query) YIELD node RETURN node",
        "error",
    ),
    "unknown variable": ("MATCH (e:Entity) RETURN x", "error"),
    "label outside the allow-list": ("MATCH (e:Entty) RETURN e", "warning"),
    "type outside the allow-list": ("MATCH (:Entity)-[r:RELATES]->(:Entity) RETURN r", "warning"),
}


def module_statements() -> dict[str, str]:
    """Every statement of kg.store.neo4j.statements and search_statements by name: public UPPER_CASE strings and
    `*_BY_LABEL` dict values."""
    statements: dict[str, str] = {}
    for name, value in [*vars(cypher).items(), *vars(search_statements).items()]:
        if not name.isupper() or name.startswith("_"):
            continue
        if isinstance(value, str):
            statements[name] = value
        elif name.endswith("_BY_LABEL"):
            statements.update({f"{name}[{key}]": text for key, text in value.items()})
    return statements


def readme_statements() -> dict[str, str]:
    """The ```cypher examples of the README, which readers paste into Neo4j Browser."""
    blocks = re.findall(r"```cypher\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {f"README.md cypher example {i}": block for i, block in enumerate(blocks, start=1)}


def run_linter(statements: dict[str, str]) -> dict[str, Any]:
    """Lint `statements`, split across up to four node processes (the linter takes ~0.3 s a statement)."""
    node = node_binary()
    if not (LINT_DIR / "node_modules" / PACKAGE).is_dir():
        pytest.fail(
            f"{PACKAGE} is not installed: run `make test` (it installs it), or "
            "`cd tests/cypher_lint && npm ci --no-audit --no-fund`"
        )
    names = list(statements)
    workers = max(1, min(4, os.cpu_count() or 1, len(names)))
    processes = []
    for part in range(workers):
        payload = {
            "statements": {name: statements[name] for name in names[part::workers]},
            "labels": [*vocabulary.NODE_LABELS, *vocabulary.ENTITY_LABELS],
            "relationshipTypes": list(vocabulary.RELATIONSHIP_TYPES),
            "parameters": vocabulary.PARAMETERS,
        }
        process = subprocess.Popen(
            [node, str(LINT_DIR / "lint.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append((process, json.dumps(payload)))
    merged: dict[str, Any] = {"results": {}}
    for process, payload in processes:
        stdout, stderr = process.communicate(payload, timeout=300)
        assert process.returncode == 0, stderr
        output = json.loads(stdout)
        merged["linter"] = output["linter"]
        merged["results"].update(output["results"])
    return merged


@pytest.fixture(scope="module")
def linted() -> dict[str, Any]:
    """One linter run over every statement of the module plus the deliberately broken ones."""
    statements = {**module_statements(), **readme_statements()}
    assert not set(statements) & set(BROKEN)
    return run_linter({**statements, **{name: text for name, (text, _) in BROKEN.items()}})


def test_there_are_statements_to_lint() -> None:
    statements = module_statements()
    assert len(statements) >= 40
    for name in ("START_BUILD", "PUBLISH_BUILD", "SEARCH_ENTITIES", "CREATE_ENTITIES_BY_LABEL[Person]"):
        assert name in statements
    assert len(readme_statements()) >= 2


def test_every_statement_has_no_errors(linted: dict[str, Any]) -> None:
    errors = {
        name: [f"{d['line']}:{d['column']} {d['message']}" for d in diagnostics if d["severity"] == "error"]
        for name, diagnostics in linted["results"].items()
        if name not in BROKEN
    }
    assert {name: found for name, found in errors.items() if found} == {}
    assert len(errors) == len(module_statements()) + len(readme_statements())


def test_every_statement_has_no_warnings(linted: dict[str, Any]) -> None:
    """No deprecations, and no label or relationship type outside the allow-lists."""
    warnings = {
        name: [d["message"] for d in diagnostics if d["severity"] != "error"]
        for name, diagnostics in linted["results"].items()
        if name not in BROKEN
    }
    assert {name: found for name, found in warnings.items() if found} == {}


@pytest.mark.parametrize("name", list(BROKEN))
def test_linter_reports_broken_statements(linted: dict[str, Any], name: str) -> None:
    expected = BROKEN[name][1]
    assert [d for d in linted["results"][name] if d["severity"] == expected], linted["results"][name]


def test_linter_version_is_pinned(linted: dict[str, Any]) -> None:
    manifest = json.loads((LINT_DIR / "package.json").read_text(encoding="utf-8"))
    pinned = manifest["dependencies"][PACKAGE]
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?", pinned), f"pin an exact version, not {pinned!r}"
    lock = json.loads((LINT_DIR / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][f"node_modules/{PACKAGE}"]["version"] == pinned
    assert linted["linter"] == f"{PACKAGE}@{pinned}"
