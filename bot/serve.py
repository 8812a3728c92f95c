"""`kgbot serve`: every configured chat adapter over one Assistant, in one asyncio process, plus the HTTP
endpoints a deployment watches.

- `/healthz`: liveness; 200 while the process answers HTTP at all.
- `/readyz`: 200 when the store answers, Redis answers (when REDIS_URL is set) and every adapter is connected,
  503 otherwise and from the moment shutdown begins; the body is the JSON of each check.
- `/metrics`: Prometheus exposition of `bot.metrics`.
- `/slack/events`: Slack's requests, when Slack runs in HTTP mode (only SLACK_SIGNING_SECRET, no app token).

SIGTERM or Ctrl-C: readiness turns false, new questions get a "restarting" notice, those in flight are
answered and posted (up to KG_SHUTDOWN_GRACE seconds; a second signal stops waiting), then the adapters
disconnect and the store and memory close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.adapter import Adapter
from bot.core import Assistant
from bot.metrics import exposition
from kg.config import Settings, settings_problems

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0  # seconds one readiness check may take
NOTHING_TO_SERVE = (
    "nothing to serve: set SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET "
    "(HTTP mode), and/or DISCORD_TOKEN (see .env.example)"
)


class ServeConfigError(ValueError):
    """Settings `serve` cannot start with: one line per problem."""


def startup_problems(settings: Settings) -> list[str]:
    """Every problem with the settings, one line each; `serve` refuses to start with any."""
    problems = settings_problems(settings)
    slack = settings.slack_bot_token.get_secret_value()
    discord = settings.discord_token.get_secret_value().strip()
    if not slack and not discord:
        problems.append(NOTHING_TO_SERVE)
    return problems


def check(settings: Settings) -> None:
    if problems := startup_problems(settings):
        raise ServeConfigError("\n".join(problems))


def build_adapters(settings: Settings, assistant: Assistant) -> list[Adapter]:
    """The adapters the settings configure, each over the same assistant."""
    adapters: list[Adapter] = []
    if settings.slack_bot_token.get_secret_value():
        from bot.slack.adapter import SlackAdapter, build_app

        adapters.append(SlackAdapter(build_app(assistant), settings.slack_app_token.get_secret_value()))
    if settings.discord_token.get_secret_value().strip():
        from bot.discord.adapter import DiscordAdapter

        adapters.append(DiscordAdapter(assistant, settings))
    return adapters


class Service:
    """The adapters, the HTTP endpoints and the shutdown sequence around one assistant."""

    def __init__(self, settings: Settings, assistant: Assistant, adapters: list[Adapter]) -> None:
        self.settings = settings
        self.assistant = assistant
        self.adapters = adapters
        self.stopping = False

    # --- HTTP ---------------------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        for adapter in self.adapters:
            app.router.add_routes(adapter.http_routes())
        return app

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        checks = await self.checks()
        ready = all(result == "ok" for result in checks.values())
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        body, content_type = exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def checks(self) -> dict[str, str]:
        """Each readiness check by name: "ok", or what is wrong."""
        probes: dict[str, Callable[[], Awaitable[object]]] = {"store": self.assistant.store.namespaces}
        if self.settings.redis_url:
            probes["redis"] = self.assistant.memory.healthy
        for adapter in self.adapters:
            probes[adapter.name] = adapter.ready
        results = await asyncio.gather(*(_probe(p) for p in probes.values()))
        checks = dict(zip(probes, results, strict=True))
        checks["accepting"] = "shutting down" if self.stopping else "ok"
        return checks

    # --- running ------------------------------------------------------------------------------------

    async def run(self, host: str, port: int) -> None:
        """Serve until SIGTERM or SIGINT, then shut down gracefully."""
        loop = asyncio.get_running_loop()
        stop, hurry = asyncio.Event(), asyncio.Event()

        def on_signal() -> None:
            if stop.is_set():
                log.warning("second stop signal: not waiting for questions in flight any longer")
                hurry.set()
            stop.set()

        handled = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals off the main thread
                loop.add_signal_handler(sig, on_signal)
                handled.append(sig)
        runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=5)
        await runner.setup()
        try:
            try:
                await web.TCPSite(runner, host, port).start()
            except OSError as exc:
                raise ServeConfigError(
                    f"cannot listen on {host}:{port} ({exc.strerror}): set KG_HTTP_PORT or --port"
                ) from None
            if not await _until(self._start_adapters(), stop):
                log.info("stopped while starting")
                return
            log.info(
                "kgbot serving on http://%s:%d (/healthz, /readyz, /metrics): %s",
                host,
                port,
                ", ".join(f"{a.name} ({a.mode})" for a in self.adapters),
            )
            await stop.wait()
            await self.shutdown(hurry)
        finally:
            for adapter in reversed(self.adapters):
                try:
                    await adapter.stop()
                except Exception:  # noqa: BLE001 - keep closing the others
                    log.exception("stopping %s failed", adapter.name)
            await runner.cleanup()
            for sig in handled:
                loop.remove_signal_handler(sig)

    async def _start_adapters(self) -> None:
        for adapter in self.adapters:
            await adapter.start()

    async def shutdown(self, hurry: asyncio.Event) -> None:
        """Readiness false, no new questions, those in flight answered and posted within the grace."""
        self.stopping = True
        grace = self.settings.kg_shutdown_grace
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        log.info(
            "shutting down: finishing %d question(s) in flight (up to %.0f s)",
            self.assistant.in_flight,
            grace,
        )
        drained = await _until(self.assistant.drain(grace), hurry)
        left = max(0.0, deadline - loop.time())
        posted = drained and await _until(
            asyncio.wait_for(asyncio.gather(*(a.drain() for a in self.adapters)), left), hurry
        )
        if drained and posted:
            log.info("every question in flight was answered")
        elif drained:
            log.warning("stopping before every answer was posted")
        else:
            log.warning("stopping with %d question(s) unanswered", self.assistant.in_flight)


async def _probe(probe: Callable[[], Awaitable[object]]) -> str:
    try:
        result = await asyncio.wait_for(probe(), CHECK_TIMEOUT)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT:.0f} s"
    except Exception as exc:  # noqa: BLE001 - the check's answer, never a 500
        return f"failed ({type(exc).__name__})"
    return "down" if result is False else "ok"


async def _until(work: Awaitable[object], interrupt: asyncio.Event) -> bool:
    """Run `work` unless `interrupt` comes first (then cancel it); True when the work finished first and
    did not time out or return False."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(interrupt.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return False
    if not task.cancelled() and isinstance(task.exception(), TimeoutError):
        return False
    return task.result() is not False


async def serve(settings: Settings, host: str = "0.0.0.0", port: int | None = None) -> None:
    """Run every configured adapter until stopped. Raises ServeConfigError for unusable settings."""
    check(settings)
    assistant = Assistant.from_settings(settings)
    try:
        service = Service(settings, assistant, build_adapters(settings, assistant))
        await service.run(host, settings.kg_http_port if port is None else port)
    finally:
        await assistant.close()
