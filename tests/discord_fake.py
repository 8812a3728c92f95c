"""A local fake of the Discord HTTP API (v10) for driving the real discord.py client offline.

It records every request and answers with payloads shaped like Discord's (users, applications, commands,
interaction callbacks, webhook follow-ups, messages, threads), so discord.py parses them as it would in
production. It also builds the gateway payloads (GUILD_CREATE, MESSAGE_CREATE, THREAD_CREATE,
INTERACTION_CREATE) that tests feed to discord.py's own parsers, and serves a minimal gateway websocket
(HELLO, heartbeat ACKs, READY and GUILD_CREATE after IDENTIFY, then whatever `dispatch` sends) for a bot
running in another process (`kgbot serve` with DISCORD_API_URL pointing here).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

API = "/api/v10"
TIMESTAMP = "2024-05-01T12:00:00.000000+00:00"
EPHEMERAL = 1 << 6
PNG = b"\x89PNG\r\n\x1a\n"  # the first bytes of every PNG file


@dataclass
class Upload:
    """An attached file as discord.py sends it: the `files[n]` part of a multipart/form-data request."""

    name: str  # "files[0]"
    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)  # when the request arrived
    files: list[Upload] = field(default_factory=list)  # the attachments of a multipart request

    def __repr__(self) -> str:
        return f"{self.method} {self.path} {json.dumps(self.body)[:300] if self.body is not None else ''}"


def _json(payload: Any, status: int = 200) -> web.Response:
    # Discord answers "Content-Type: application/json" exactly; discord.py parses JSON only then.
    return web.Response(
        status=status, body=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )


class FakeDiscord:
    APP_ID = 1100000000000000001
    BOT_ID = 1100000000000000001  # a bot user shares its application's id
    GUILD_ID = 1200000000000000001
    CHANNEL_ID = 1300000000000000001
    OWNER_ID = 1400000000000000001

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.unknown: list[Call] = []  # requests no route of this fake answers: a test failure
        self.messages: dict[int, dict[str, Any]] = {}
        self.channels: dict[int, dict[str, Any]] = {self.CHANNEL_ID: self.text_channel()}
        self.interactions: dict[str, dict[str, Any]] = {}  # token -> {"channel_id", "original", "deferred"}
        self.refuse_files = 0  # how many of the next requests with files to refuse (413), as an oversized one
        self._ids = itertools.count(1500000000000000001)
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.gateways: list[web.WebSocketResponse] = []  # open gateway connections
        self.identified: list[dict[str, Any]] = []  # IDENTIFY payloads received
        self._sequence = itertools.count(1)

    # --- server -------------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", API + "/{tail:.*}", self._handle)
        app.router.add_get("/gateway", self._gateway)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url + API

    async def stop(self) -> None:
        for ws in list(self.gateways):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        files: list[Upload] = []
        if request.content_type == "multipart/form-data":  # a message with files, as discord.py sends it
            body = await self._multipart(request, files)
        else:
            body = await request.json() if request.body_exists else None
        path = "/" + request.match_info["tail"]
        call = Call(request.method, path, dict(request.query), body, files=files)
        self.calls.append(call)
        if files and self.refuse_files:
            self.refuse_files -= 1
            return _json({"message": "Request entity too large", "code": 40005}, 413)
        for method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and method == request.method:
                return handler(call, *match.groups())
        self.unknown.append(call)
        return _json({"message": "404: Not Found", "code": 0}, 404)

    @staticmethod
    async def _multipart(request: web.Request, files: list[Upload]) -> Any:
        """The JSON of `payload_json`, with every `files[n]` part kept in `files`. Like Discord, anything else
        is refused: a part with another name, a file without a name, or no payload_json at all."""
        body: Any = None
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader), "nested multipart"
            if part.name == "payload_json":
                body = json.loads(await part.text())
            elif part.name and re.fullmatch(r"files\[\d+\]", part.name) and part.filename:
                data = bytes(await part.read())
                files.append(Upload(part.name, part.filename, part.headers.get("Content-Type", ""), data))
            else:
                raise web.HTTPBadRequest(text=f"unexpected multipart part {part.name!r}")
        if body is None:
            raise web.HTTPBadRequest(text="multipart request without payload_json")
        return body

    def _attachments(self, call: Call) -> list[dict[str, Any]]:
        """Attachment objects for the files of a request, as Discord returns them in the message."""
        return [
            {
                "id": str(self.snowflake()),
                "filename": upload.filename,
                "size": len(upload.data),
                "url": f"{self.url}/attachments/{upload.filename}",
                "proxy_url": f"{self.url}/attachments/{upload.filename}",
                "content_type": "image/png" if upload.data.startswith(PNG) else upload.content_type,
            }
            for upload in call.files
        ]

    def uploads(self) -> list[tuple[Call, Upload]]:
        """Every file attached to a request so far, with its request."""
        return [(call, upload) for call in self.calls for upload in call.files]

    def _routes(self) -> list[tuple[str, str, Callable[..., web.Response]]]:
        return [
            ("GET", r"/users/@me", lambda c: _json(self.bot_user())),
            ("GET", r"/gateway/bot", self._gateway_bot),
            ("GET", r"/oauth2/applications/@me", lambda c: _json(self.application())),
            ("PUT", r"/applications/(\d+)/commands", self._put_commands),
            ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", self._put_commands),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._callback),
            ("POST", r"/webhooks/(\d+)/([^/]+)", self._followup),
            ("GET", r"/webhooks/(\d+)/([^/]+)/messages/@original", self._get_original),
            ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/@original", self._edit_original),
            ("POST", r"/channels/(\d+)/typing", lambda c, ch: web.Response(status=204)),
            ("POST", r"/channels/(\d+)/messages", self._post_message),
            ("PATCH", r"/channels/(\d+)/messages/(\d+)", self._edit_message),
            ("POST", r"/channels/(\d+)/messages/(\d+)/threads", self._start_thread),
            ("GET", r"/channels/(\d+)", self._get_channel),
        ]

    def _put_commands(self, call: Call, app_id: str, guild_id: str | None = None) -> web.Response:
        commands = []
        for command in call.body:
            payload = {
                "id": str(next(self._ids)),
                "application_id": app_id,
                "version": str(next(self._ids)),
                "type": 1,
                "options": [],
                "default_member_permissions": None,
                **command,
            }
            if guild_id:
                payload["guild_id"] = guild_id
            commands.append(payload)
        return _json(commands)

    def _callback(self, call: Call, interaction_id: str, token: str) -> web.Response:
        kind = call.body["type"]
        data = call.body.get("data") or {}
        interaction = self.interactions[token]
        if interaction.get("acknowledged"):  # an interaction takes one initial response, as on Discord
            return _json({"message": "Interaction has already been acknowledged.", "code": 40060}, 400)
        interaction["acknowledged"] = True
        ephemeral = bool(data.get("flags", 0) & EPHEMERAL)
        answer: dict[str, Any] = {
            "interaction": {
                "id": interaction_id,
                "type": interaction["type"],
                "response_message_loading": kind == 5,
                "response_message_ephemeral": ephemeral,
            }
        }
        if kind in (4, 5):  # a message (or the "thinking" placeholder of a deferred one)
            message = self.message(
                interaction["channel_id"],
                data.get("content", ""),
                interaction=True,
                flags=data.get("flags", 0),
            )
            if kind == 4:
                message.update({k: v for k, v in data.items() if k in ("embeds", "components")})
            interaction["original"] = int(message["id"])
            interaction["deferred"] = kind == 5
            answer["interaction"]["response_message_id"] = message["id"]
            answer["resource"] = {"type": kind, "message": message}
        return _json(answer)

    def _followup(self, call: Call, app_id: str, token: str) -> web.Response:
        interaction = self.interactions[token]
        if interaction.get("deferred"):  # the first follow-up replaces the "thinking" message
            interaction["deferred"] = False
            message = self.messages[interaction["original"]]
        else:
            message = self.message(interaction["channel_id"], "", interaction=True)
        message.update(self._message_fields(call.body))
        message["attachments"] = self._attachments(call)
        return _json(message)

    def _get_original(self, call: Call, app_id: str, token: str) -> web.Response:
        return _json(self.messages[self.interactions[token]["original"]])

    def _edit_original(self, call: Call, app_id: str, token: str) -> web.Response:
        message = self.messages[self.interactions[token]["original"]]
        message.update(self._message_fields(call.body))
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        return _json(message)

    def _post_message(self, call: Call, channel_id: str) -> web.Response:
        if int(channel_id) not in self.channels:
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        message = self.message(int(channel_id), "")
        message.update(self._message_fields(call.body))
        message["attachments"] = self._attachments(call)
        return _json(message)

    def _edit_message(self, call: Call, channel_id: str, message_id: str) -> web.Response:
        message = self.messages.get(int(message_id))
        if message is None or message["channel_id"] != channel_id:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        message.update(self._message_fields(call.body))
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        return _json(message)

    def _start_thread(self, call: Call, channel_id: str, message_id: str) -> web.Response:
        if int(message_id) in self.channels:
            return _json(
                {"message": "A thread has already been created for this message", "code": 160004}, 400
            )
        thread = self.thread(int(message_id), int(channel_id), call.body["name"])
        self.channels[int(message_id)] = thread
        return _json(thread, 201)

    def _get_channel(self, call: Call, channel_id: str) -> web.Response:
        channel = self.channels.get(int(channel_id))
        if channel is None:
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        return _json(channel)

    # --- the gateway ----------------------------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/gateway"

    def _gateway_bot(self, call: Call) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.gateways.append(ws)
        try:
            await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                if payload["op"] == 1:  # heartbeat
                    await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
                elif payload["op"] == 2:  # identify
                    self.identified.append(payload["d"])
                    ready = {
                        "v": 10,
                        "user": self.bot_user(),
                        "guilds": [{"id": str(self.GUILD_ID), "unavailable": True}],
                        "session_id": "fake-session",
                        "resume_gateway_url": self.gateway_url,
                        "application": {"id": str(self.APP_ID), "flags": 0},
                        "shard": [0, 1],
                    }
                    await self._send_dispatch(ws, "READY", ready)
                    await self._send_dispatch(ws, "GUILD_CREATE", self.guild())
        finally:
            self.gateways.remove(ws)
        return ws

    async def _send_dispatch(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        await ws.send_json({"op": 0, "t": event, "s": next(self._sequence), "d": data})

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway event (e.g. MESSAGE_CREATE) to every connected bot."""
        for ws in list(self.gateways):
            await self._send_dispatch(ws, event, data)

    @staticmethod
    def _message_fields(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k in ("content", "embeds", "components", "flags")}

    # --- payloads -----------------------------------------------------------------------------------

    def snowflake(self) -> int:
        return next(self._ids)

    def user(self, user_id: int, name: str, bot: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": name,
            "avatar": None,
            "public_flags": 0,
        }
        if bot:
            payload["bot"] = True
        return payload

    def bot_user(self) -> dict[str, Any]:
        return {
            **self.user(self.BOT_ID, "kgbot", bot=True),
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
        }

    def application(self) -> dict[str, Any]:
        return {
            "id": str(self.APP_ID),
            "name": "kgbot",
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": self.user(self.OWNER_ID, "owner"),
            "team": None,
            "interactions_endpoint_url": None,
            "bot": self.bot_user(),
        }

    def member(self, user: dict[str, Any], permissions: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "user": user,
            "roles": [],
            "joined_at": TIMESTAMP,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "premium_since": None,
        }
        if permissions is not None:
            payload["permissions"] = str(permissions)
        return payload

    def text_channel(self) -> dict[str, Any]:
        return {
            "id": str(self.CHANNEL_ID),
            "type": 0,
            "guild_id": str(self.GUILD_ID),
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "default_auto_archive_duration": 1440,
            "flags": 0,
        }

    def thread(self, thread_id: int, parent_id: int, name: str) -> dict[str, Any]:
        return {
            "id": str(thread_id),
            "type": 11,
            "guild_id": str(self.GUILD_ID),
            "parent_id": str(parent_id),
            "owner_id": str(self.BOT_ID),
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": TIMESTAMP,
                "locked": False,
                "create_timestamp": TIMESTAMP,
            },
            "member": {
                "id": str(thread_id),
                "user_id": str(self.BOT_ID),
                "join_timestamp": TIMESTAMP,
                "flags": 0,
            },
        }

    def guild(self) -> dict[str, Any]:
        """A GUILD_CREATE payload: one text channel, the bot as a member."""
        return {
            "id": str(self.GUILD_ID),
            "name": "Harbor Lights",
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.OWNER_ID),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "preferred_locale": "en-US",
            "application_id": None,
            "features": [],
            "roles": [
                {
                    "id": str(self.GUILD_ID),
                    "name": "@everyone",
                    "permissions": str((1 << 10) | (1 << 11) | (1 << 16) | (1 << 38)),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "emojis": [],
            "stickers": [],
            "channels": [self.text_channel()],
            "threads": [],
            "members": [self.member(self.bot_user())],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "member_count": 3,
            "large": False,
            "unavailable": False,
            "joined_at": TIMESTAMP,
        }

    def message(
        self,
        channel_id: int,
        content: str,
        *,
        author: dict[str, Any] | None = None,
        mentions: list[dict[str, Any]] | None = None,
        interaction: bool = False,
        flags: int = 0,
        store: bool = True,
    ) -> dict[str, Any]:
        message_id = self.snowflake()
        payload: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "guild_id": str(self.GUILD_ID),
            "author": author or self.bot_user(),
            "content": content,
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentions or [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 20 if interaction else 0,
            "flags": flags,
        }
        if interaction:
            payload["application_id"] = str(self.APP_ID)
            payload["webhook_id"] = str(self.APP_ID)
        if store:
            self.messages[message_id] = payload
        return payload

    def user_message(
        self, channel_id: int, content: str, user: dict[str, Any], mention_bot: bool = True
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload from a person."""
        payload = self.message(
            channel_id,
            content,
            author=user,
            mentions=[{**self.bot_user(), "member": self.member(self.bot_user())}] if mention_bot else [],
            store=False,
        )
        payload["member"] = {k: v for k, v in self.member(user).items() if k != "user"}
        return payload

    def _interaction(
        self, kind: int, channel_id: int, user: dict[str, Any], permissions: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        token = f"token-{self.snowflake()}"
        self.interactions[token] = {"channel_id": channel_id, "type": kind}
        channel = self.channels[channel_id]
        return {
            "id": str(self.snowflake()),
            "application_id": str(self.APP_ID),
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": str(self.GUILD_ID),
            "guild": {"id": str(self.GUILD_ID), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": {k: v for k, v in channel.items() if k != "member"},
            "member": self.member(user, permissions),
            "data": data,
            "app_permissions": str((1 << 53) - 1),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.GUILD_ID)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }

    def command(
        self,
        name: str,
        user: dict[str, Any],
        permissions: int = 0,
        channel_id: int | None = None,
        **options: str,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for the slash command `name`."""
        data = {
            "id": str(self.snowflake()),
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()],
        }
        return self._interaction(2, channel_id or self.CHANNEL_ID, user, permissions, data)

    def button_click(self, message: dict[str, Any], custom_id: str, user: dict[str, Any]) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for a click on the button `custom_id` of `message`."""
        payload = self._interaction(
            3, int(message["channel_id"]), user, 0, {"custom_id": custom_id, "component_type": 2}
        )
        payload["message"] = message
        return payload

    # --- assertions -----------------------------------------------------------------------------------

    def find(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.fullmatch(pattern, c.path)]

    async def wait_for(self, method: str, pattern: str, count: int = 1, within: float = 20.0) -> list[Call]:
        """The calls matching once there are at least `count` of them; fails after `within` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(found := self.find(method, pattern)) < count:
            if loop.time() > deadline:
                raise AssertionError(
                    f"no {count} x {method} {pattern} within {within} s; calls: {self.calls}"
                )
            await asyncio.sleep(0.01)
        return found
