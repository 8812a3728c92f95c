"""`kgbot serve` run for real: a subprocess serving Slack (HTTP mode, on the same port as the health
endpoints) and Discord (over a gateway websocket) against the local fakes, with a real redis-server.

Every wait is bounded; every port is on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.logs import new_request_id, secrets_of, setup_logging
from bot.serve import NOTHING_TO_SERVE, ServeConfigError, serve
from bot.slack.adapter import SlackConfigError
from kg.config import Settings
from kg.index.pipeline import build_index
from kg.store import open_store
from tests.conftest import RedisServer, _free_port
from tests.discord_fake import FakeDiscord
from tests.fake_openai import FakeOpenAI
from tests.slack_fake import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack, event_body, mention, sign

DISCORD_TOKEN = "fake-discord-token-0123456789"
OPENAI_KEY = "sk-fake-openai-key-0123456789"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, DISCORD_TOKEN, OPENAI_KEY)
START_WITHIN = 60.0  # seconds for the subprocess to import everything and connect
SLOW_ANSWER = 3.0  # seconds the slow model takes to answer


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus exposition `text` (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        sample, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', sample))
        if sample.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, f"timed out after {within} s waiting for {what}"
        await asyncio.sleep(0.05)


class Served:
    """A running `kgbot serve` subprocess and an HTTP client for its port."""

    def __init__(
        self, process: asyncio.subprocess.Process, port: int, log: Path, session: aiohttp.ClientSession
    ):
        self.process, self.port, self.log, self.session = process, port, log, session

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.url + path, timeout=aiohttp.ClientTimeout(total=10)) as resp:
            return resp.status, await resp.text()

    async def ready(self) -> tuple[int, dict[str, Any]]:
        status, body = await self.get("/readyz")
        return status, json.loads(body)

    async def wait_ready(self, expected: int = 200, within: float = 20.0) -> dict[str, Any]:
        last: dict[str, Any] = {}

        async def check() -> bool:
            nonlocal last
            status, last = await self.ready()
            return status == expected

        try:
            await eventually(check, within, f"/readyz {expected}")
        except AssertionError:
            raise AssertionError(f"/readyz stayed {last}; logs:\n{self.logs()}") from None
        return last

    async def mention(self, text: str, ts: str, event_id: str) -> None:
        """Post a signed app_mention to /slack/events, as Slack does in HTTP mode."""
        body = json.dumps(event_body(mention(text, ts=ts), event_id))
        headers = {"Content-Type": "application/json", **sign(body)}
        async with self.session.post(f"{self.url}/slack/events", data=body, headers=headers) as resp:
            assert resp.status == 200, await resp.text()

    async def metrics(self) -> str:
        status, text = await self.get("/metrics")
        assert status == 200
        return text

    def exited(self) -> bool:
        return self.process.returncode is not None


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def discord_api() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.stop()
    assert server.unknown == [], "kgbot called Discord routes the fake does not know"


@pytest.fixture
async def indexed(corpus: Path, settings: Settings) -> Settings:
    store = open_store(settings.store_url)
    await build_index([corpus], store, settings)
    await store.close()
    return settings


@pytest.fixture
async def kgbot_serve(
    tmp_path: Path, indexed: Settings, slack: FakeSlack, discord_api: FakeDiscord
) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """Starts `kgbot serve` in a subprocess (Slack in HTTP mode, Discord) and waits until /healthz answers."""
    started: list[Served] = []
    session = aiohttp.ClientSession()

    async def start(**env: str | None) -> Served:
        """`env` adds settings; a None value removes one of the defaults below."""
        port = _free_port()
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KG_", "SLACK_", "DISCORD_", "OPENAI_", "REDIS_", "NEO4J_"))
        }
        clean.update(
            KG_HOME=str(indexed.kg_home),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.api_url,
            DISCORD_TOKEN=DISCORD_TOKEN,
            DISCORD_API_URL=discord_api.url + "/api/v10",
            KG_DISCORD_GUILDS=str(FakeDiscord.GUILD_ID),
            KG_SHUTDOWN_GRACE="15",
            PYTHONUNBUFFERED="1",
        )
        for name, value in env.items():
            if value is None:
                clean.pop(name, None)
            else:
                clean[name] = value
        log = tmp_path / f"serve-{port}.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                cwd=tmp_path,  # no .env here
                env=clean,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        served = Served(process, port, log, session)
        started.append(served)

        async def healthy() -> bool:
            assert not served.exited(), f"kgbot serve exited ({process.returncode}):\n{served.logs()}"
            try:
                return (await served.get("/healthz"))[0] == 200
            except aiohttp.ClientError:
                return False

        await eventually(healthy, START_WITHIN, "/healthz")
        return served

    yield start
    for served in started:
        if not served.exited():
            served.process.send_signal(signal.SIGKILL)
        await served.process.wait()
    await session.close()


async def test_health_readiness_and_metrics_of_both_adapters_over_one_assistant(
    kgbot_serve: Callable[..., Awaitable[Served]],
    redis_server: RedisServer,
    redis_url: str,
    slack: FakeSlack,
    discord_api: FakeDiscord,
) -> None:
    served = await kgbot_serve(REDIS_URL=redis_url)
    status, body = await served.get("/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    ready = await served.wait_ready(200)
    assert ready == {
        "ready": True,
        "checks": {"store": "ok", "redis": "ok", "slack": "ok", "discord": "ok", "accepting": "ok"},
    }
    assert [i["token"] for i in discord_api.identified] == [DISCORD_TOKEN]

    # Readiness follows Redis: false while it is down, true again once it is back.
    redis_server.stop()
    try:
        down = await served.wait_ready(503)
        assert down["checks"]["redis"] != "ok" and down["checks"]["store"] == "ok"
    finally:
        redis_server.start()
    await served.wait_ready(200)

    # A signed Slack mention posted to /slack/events on the same port is answered in its thread.
    before = await served.metrics()
    assert metric(before, "kgbot_questions_answered_total", platform="slack") == 0
    await served.mention("Who maintains the data pipeline?", ts="1700000100.000100", event_id="EvServe1")

    async def slack_answered() -> bool:
        return "kgbot_footer" in json.dumps(slack.in_thread("1700000100.000100"))

    await eventually(slack_answered, 20, "the Slack answer")
    [answer] = slack.in_thread("1700000100.000100")
    assert "Tomas Lindqvist" in json.dumps(answer["blocks"])

    # A Discord mention over the gateway goes through the same assistant and is answered in a thread.
    person = discord_api.user(1600000000000000001, "maria")
    message = discord_api.user_message(
        FakeDiscord.CHANNEL_ID, f"<@{FakeDiscord.BOT_ID}> Who designed the Lantern Engine?", person
    )
    await discord_api.dispatch("MESSAGE_CREATE", message)

    def discord_answer() -> list[dict[str, Any]]:  # the answer once edited to its final form, with buttons
        in_thread = discord_api.messages.values()
        return [m for m in in_thread if m["channel_id"] == message["id"] and m["components"]]

    async def discord_answered() -> bool:
        return bool(discord_answer())

    await eventually(discord_answered, 20, "the Discord answer")
    assert "Maria Okafor" in discord_answer()[0]["content"]

    after = await served.metrics()
    assert metric(after, "kgbot_questions_answered_total", platform="slack", mode="extractive") == 1
    assert metric(after, "kgbot_questions_answered_total", platform="discord", mode="extractive") == 1
    assert metric(after, "kgbot_answer_seconds_count", stage="total") == 2

    # The logs are JSON lines; each question has a request id, its platform, mode and latency.
    served.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(served.process.wait(), 30) == 0
    logs = served.logs()
    entries = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    answered = [
        e for e in entries if e.get("message", "").endswith(" ms") and "question answered" in e["message"]
    ]
    assert {e["platform"] for e in answered} == {"slack", "discord"}
    assert all(e["mode"] == "extractive" and e["latency_ms"] >= 0 for e in answered)
    assert len({e["request_id"] for e in answered}) == 2
    for secret in SECRETS:
        assert secret not in logs


class SlowModel(FakeOpenAI):
    """An OpenAI-compatible endpoint that takes SLOW_ANSWER seconds to answer."""

    def __init__(self) -> None:
        super().__init__(
            lambda request: {"content": "Tomas Lindqvist maintains the data pipeline [Data: Sources (1)]."}
        )
        self.arrived = asyncio.Event()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.arrived.set()
        await asyncio.sleep(SLOW_ANSWER)
        return await super()._chat(request)


async def test_sigterm_answers_the_question_in_flight_then_exits(
    kgbot_serve: Callable[..., Awaitable[Served]], slack: FakeSlack
) -> None:
    model = SlowModel()
    await model.start()
    try:
        served = await kgbot_serve(OPENAI_BASE_URL=model.url, OPENAI_API_KEY=OPENAI_KEY, KG_CHAT_MODEL="fake")
        await served.wait_ready(200)
        await served.mention("Who maintains the data pipeline?", ts="1700000200.000100", event_id="EvSlow")
        await asyncio.wait_for(model.arrived.wait(), 20)  # the question is in flight

        loop = asyncio.get_running_loop()
        signalled = loop.time()
        served.process.send_signal(signal.SIGTERM)
        ready = await served.wait_ready(503, within=SLOW_ANSWER)  # not ready while draining
        assert ready["checks"]["accepting"] == "shutting down"

        # A question arriving now is told to ask again, not dropped.
        await served.mention(
            "And who designed the Lantern Engine?", ts="1700000201.000100", event_id="EvLate"
        )

        code = await asyncio.wait_for(served.process.wait(), 15 + 10)
        assert code == 0, served.logs()
        assert loop.time() - signalled < 15  # within KG_SHUTDOWN_GRACE
    finally:
        await model.stop()
    assert "Tomas Lindqvist" in json.dumps(slack.in_thread("1700000200.000100")[-1]["blocks"])
    assert "restarting" in json.dumps(slack.in_thread("1700000201.000100"))
    assert "every question in flight was answered" in served.logs()
    for secret in SECRETS:
        assert secret not in served.logs()


async def test_slack_in_socket_mode_alone(
    kgbot_serve: Callable[..., Awaitable[Served]], slack: FakeSlack
) -> None:
    served = await kgbot_serve(
        SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET=None, DISCORD_TOKEN=None, KG_DISCORD_GUILDS=None
    )
    ready = await served.wait_ready(200)
    assert ready["checks"] == {"store": "ok", "slack": "ok", "accepting": "ok"}  # no Redis, no Discord
    async with served.session.post(f"{served.url}/slack/events", data="{}") as resp:
        assert resp.status in (404, 405)  # Socket Mode: no HTTP endpoint for Slack
    ack = await slack.send_envelope(
        "events_api",
        event_body(mention("Who maintains the data pipeline?", ts="1700000300.000100"), "EvSock"),
    )
    assert ack["envelope_id"]

    async def answered() -> bool:
        return "kgbot_footer" in json.dumps(slack.in_thread("1700000300.000100"))

    await eventually(answered, 20, "the Socket Mode answer")
    served.process.send_signal(signal.SIGINT)  # Ctrl-C shuts down the same way
    assert await asyncio.wait_for(served.process.wait(), 30) == 0
    assert APP_TOKEN not in served.logs()


# --- start-up validation, in-process ------------------------------------------------------------------


@pytest.fixture
def workdir(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KG_HOME", str(clean_env / "home"))
    return clean_env


def test_serve_with_nothing_configured_says_what_to_set(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    assert main(["serve"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"kgbot: {NOTHING_TO_SERVE}\n"
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN"):
        assert name in captured.err


def test_serve_names_every_settings_problem_in_one_line_each(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # neither an app token nor a signing secret
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_TOKEN)
    monkeypatch.setenv("KG_DISCORD_GUILDS", "123, general")
    monkeypatch.setenv("REDIS_URL", "localhost:6379")
    monkeypatch.setenv("KG_STORE_URL", "neo4j://db:7687")
    assert main(["serve"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4, lines
    assert all(line.startswith("kgbot: ") for line in lines)
    for name in ("SLACK_APP_TOKEN", "KG_DISCORD_GUILDS", "REDIS_URL", "NEO4J_PASSWORD"):
        assert sum(name in line for line in lines) == 1, name
    assert not any(secret in "\n".join(lines) for secret in SECRETS)


def test_serve_port_defaults_to_kg_http_port(workdir: Path) -> None:
    from kg.config import load_settings

    assert load_settings().kg_http_port == 8080
    assert load_settings().kg_shutdown_grace == 20


# --- logs -----------------------------------------------------------------------------------------------


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Puts the root logger back as it was (setup_logging replaces its handlers)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_logs_redact_every_secret_and_carry_the_request_id(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        discord_token=DISCORD_TOKEN,
        openai_api_key=OPENAI_KEY,
        redis_url="redis://:redis-password-42@cache:6379/0",
    )
    setup_logging(secrets_of(settings), json_lines=True)
    log = logging.getLogger("tests.logs")  # not under "kgbot": Bolt sets that logger's level on every request
    rid = new_request_id()
    log.info("connecting with %s and %s", BOT_TOKEN, settings.redis_url, extra={"platform": "slack"})
    try:
        raise RuntimeError(f"refused: {DISCORD_TOKEN} / {OPENAI_KEY}")
    except RuntimeError:
        log.exception("login failed")
    err = capsys.readouterr().err
    for secret in (*SECRETS[:1], DISCORD_TOKEN, OPENAI_KEY, "redis-password-42"):
        assert secret not in err
    first, second = (json.loads(line) for line in err.splitlines())
    assert first["message"] == "connecting with *** and redis://:***@cache:6379/0"
    assert first["request_id"] == rid and first["platform"] == "slack"
    assert second["level"] == "error" and "refused: *** / ***" in second["error"]


async def test_serve_stops_with_one_line_when_slack_refuses_the_token_or_the_port_is_taken(
    indexed: Settings, slack: FakeSlack
) -> None:
    configured = indexed.model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-revoked-0123456789"),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_api_url": slack.api_url,
        }
    )
    with pytest.raises(SlackConfigError, match=r"^Slack rejected SLACK_BOT_TOKEN \(invalid_auth\)"):
        await serve(configured, host="127.0.0.1", port=_free_port())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServeConfigError, match=rf"^cannot listen on 127.0.0.1:{port} .*KG_HTTP_PORT"):
            await serve(configured, host="127.0.0.1", port=port)
