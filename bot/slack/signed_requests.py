"""HTTP mode's front door: a request reaches Bolt only once its signature verifies and only once per signature.

Bolt checks signatures itself, but it parses the body first and lets a malformed header raise (HTTP 500 and a
"failed middleware" traceback), and it accepts a byte-identical replay for the five minutes a timestamp is
valid. Slash commands and button clicks carry no event id for dedupe to catch, so such a replay would ask (or
reindex) again. Here every malformed or unsigned request gets 401 and one log line, a signed but unreadable one
400, and a replayed signature is acknowledged and dropped (recorded through `Assistant.first_delivery`, so in
Redis and in-process alike).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.slack.app import SlackBot

log = logging.getLogger(__name__)

MAX_AGE = 5 * 60  # seconds a signed request stays valid (Slack's rule)
_TIMESTAMP_DIGITS = 12  # Unix seconds stay under 12 digits until the year 33658
_SIGNATURE_PREFIX = "v0="


def signature_problem(
    verifier: SignatureVerifier, body: bytes, timestamp: str, signature: str, now: float
) -> str:
    """Why a request is not a fresh one signed by Slack ("" when it is), in words fit for one log line."""
    if not timestamp or not signature:
        return "unsigned (no X-Slack-Request-Timestamp or X-Slack-Signature)"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _TIMESTAMP_DIGITS):
        return "malformed X-Slack-Request-Timestamp"
    if not (signature.isascii() and signature.startswith(_SIGNATURE_PREFIX)):
        return "malformed X-Slack-Signature"
    if abs(now - int(timestamp)) > MAX_AGE:
        return "timestamp more than 5 minutes off (a replay, or this machine's clock is wrong)"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if not verifier.is_valid(text, timestamp, signature):
        return "signature does not match (wrong SLACK_SIGNING_SECRET, or a forged request)"
    return ""


@dataclass
class SignedRequests:
    """The aiohttp handler for Slack's requests (events, commands, buttons) in HTTP mode."""

    bot: SlackBot
    verifier: SignatureVerifier

    @classmethod
    def for_bot(cls, bot: SlackBot) -> SignedRequests:
        secret = bot.assistant.settings.slack_signing_secret.get_secret_value()
        return cls(bot, SignatureVerifier(secret))

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        problem = signature_problem(self.verifier, body, timestamp, signature, time.time())
        if problem:
            log.warning("refused a request from %s: %s", request.remote, problem)
            return web.json_response({"error": "invalid request"}, status=401)
        if not await self.bot.assistant.first_delivery("slack", f"request:{signature}"):
            log.info("ignored a replayed request from %s (its signature was seen before)", request.remote)
            return web.Response(status=200)  # acknowledged, so a genuine retry stops too
        try:
            bolt_request = AsyncBoltRequest(
                body=body.decode("utf-8"),
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except Exception as exc:  # noqa: BLE001 - whatever Bolt's parser trips on; one line, no traceback
            log.warning("refused a signed request Slack's format does not fit (%s)", type(exc).__name__)
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(await self.bot.app.async_dispatch(bolt_request))
