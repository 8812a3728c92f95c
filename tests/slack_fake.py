"""A local fake of Slack for the Slack app's tests: the Web API, response URLs, file uploads (the three
steps of files_upload_v2) and a Socket Mode websocket.

It records every call and answers like Slack does: `ok`/`error` bodies, message timestamps, users.info with
admin flags, `invalid_blocks` for blocks over Slack's limits, a 429 with Retry-After on request. Nothing
here touches the internet.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

BOT_TOKEN = "xoxb-test-bot-token-0123456789"
APP_TOKEN = "xapp-test-app-token-0123456789"
SIGNING_SECRET = "test-signing-secret-0123456789"
TEAM = "T0TEAM"
BOT_USER = "UKGBOT"
BOT_ID = "BKGBOT"


@dataclass
class Upload:
    """A file shared by files.completeUploadExternal, with the bytes posted to its upload URL."""

    file_id: str
    filename: str
    data: bytes
    channel: str = ""
    thread_ts: str = ""
    title: str = ""
    initial_comment: str = ""


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)


def sign(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request signature headers for `body` (v0 HMAC-SHA256 of "v0:timestamp:body")."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[dict[str, Any]] = []  # what was posted to response_url
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> current message
        self.users: dict[str, dict[str, Any]] = {
            "UADMIN": {"is_admin": True},
            "UOWNER": {"is_owner": True},
            "UMEMBER": {},
        }
        self.reject_containers = False  # answer invalid_blocks for container blocks, as older Slack would
        self.status_channel_kinds = {"D"}  # assistant.threads.setStatus works in DMs only
        self.reactions_error = ""  # e.g. "missing_scope"
        self.rate_limit_once: set[str] = set()  # methods answered once with 429 + Retry-After: 0
        self.not_in_channel: set[str] = set()
        self.streaming_error = ""  # e.g. "unknown_method" (an older workspace): chat.startStream refused
        self.streams: dict[tuple[str, str], list[str]] = {}  # (channel, ts) -> markdown pieces, in order
        self.stopped: set[tuple[str, str]] = set()
        self.uploads: list[Upload] = []  # files shared in channels, in order
        self.upload_error = ""  # e.g. "missing_scope": files.getUploadURLExternal refused
        self._pending: dict[str, Upload] = {}  # file id -> a file given an upload URL, not yet shared
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.socket: web.WebSocketResponse | None = None
        self.socket_connected = asyncio.Event()
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    # --- server ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{id}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    # --- what tests read ------------------------------------------------------------------------------

    def of(self, method: str, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.response.get("ok") or not ok_only)]

    def posted(self) -> list[Call]:
        return self.of("chat.postMessage")

    def in_thread(self, thread_ts: str) -> list[dict[str, Any]]:
        """The messages of a thread as they are now (streamed, edited or posted), oldest first."""
        found = [m for m in self.messages.values() if m.get("thread_ts") == thread_ts]
        return sorted(found, key=lambda m: float(m["ts"]))

    def everything_said(self) -> str:
        """All text and blocks the app sent to be shown, as one JSON string."""
        shown = [
            c.args
            for c in self.calls
            if c.method
            in (
                "chat.postMessage",
                "chat.update",
                "chat.postEphemeral",
                "chat.startStream",
                "chat.appendStream",
                "chat.stopStream",
                "assistant.threads.setStatus",
                "assistant.threads.setSuggestedPrompts",
                "files.completeUploadExternal",
            )
        ]
        return json.dumps([*shown, *self.responses], ensure_ascii=False)

    # --- the Web API ----------------------------------------------------------------------------------

    def _ts_next(self) -> str:
        n = next(self._ts)
        return f"{1_700_000_000 + n}.{n:06d}"

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        elif request.can_read_body:
            args.update(dict(await request.post()))
        for key in ("blocks",):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "")
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        call = Call(method, args)
        self.calls.append(call)
        if method in self.rate_limit_once:
            self.rate_limit_once.discard(method)
            call.status, call.response = 429, {"ok": False, "error": "ratelimited"}
            return web.json_response(call.response, status=429, headers={"Retry-After": "0"})
        if auth != f"Bearer {expected}":
            call.response = {"ok": False, "error": "invalid_auth"}
        else:
            call.response = self._answer(method, args)
        return web.json_response(call.response)

    def _blocks_error(self, blocks: Any) -> str:
        if blocks is None:
            return ""
        if not isinstance(blocks, list) or len(blocks) > 50:
            return "invalid_blocks"
        for block in blocks:
            if self.reject_containers and block.get("type") == "container":
                return "invalid_blocks"
            try:
                parsed = Block.parse(block)
                if parsed is None:
                    return "invalid_blocks"
                parsed.to_dict()  # slack_sdk's validators: section text <= 3000, container children <= 10...
            except (SlackObjectFormationError, TypeError):
                return "invalid_blocks"
        return ""

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or args.get("channel_id") or "")
        if method == "auth.test":
            return {
                "ok": True,
                "team_id": TEAM,
                "team": "Test",
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
                "user": "kgbot",
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": args["user"], "is_admin": False, "is_owner": False, **user}}
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            if channel in self.not_in_channel:
                return {"ok": False, "error": "not_in_channel"}
            if error := self._blocks_error(args.get("blocks")):
                return {"ok": False, "error": error}
            if method == "chat.update":
                key = (channel, str(args.get("ts")))
                if key not in self.messages:
                    return {"ok": False, "error": "message_not_found"}
                self.messages[key].update({k: v for k, v in args.items() if k in ("text", "blocks")})
                return {"ok": True, "channel": channel, "ts": args["ts"], "text": args.get("text", "")}
            ts = self._ts_next()
            message = {"ts": ts, "text": args.get("text", ""), "blocks": args.get("blocks") or []}
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            if method == "chat.postEphemeral":
                if not args.get("user"):
                    return {"ok": False, "error": "user_not_in_channel"}
                return {"ok": True, "message_ts": ts}
            self.messages[(channel, ts)] = message
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
            return self._stream(method, channel, args)
        if method in ("files.getUploadURLExternal", "files.completeUploadExternal"):
            return self._files(method, channel, args)
        if method == "assistant.threads.setSuggestedPrompts":
            prompts = args.get("prompts")
            valid = isinstance(prompts, list) and 0 < len(prompts) <= 4
            if not valid or not all(
                isinstance(p, dict) and p.get("title") and p.get("message") for p in prompts
            ):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True}
        if method == "chat.delete":
            self.messages.pop((channel, str(args.get("ts"))), None)
            return {"ok": True, "channel": channel, "ts": args.get("ts")}
        if method in ("reactions.add", "reactions.remove"):
            return {"ok": False, "error": self.reactions_error} if self.reactions_error else {"ok": True}
        if method == "assistant.threads.setStatus":
            return (
                {"ok": True}
                if channel[:1] in self.status_channel_kinds
                else {"ok": False, "error": "invalid_thread"}
            )
        return {"ok": False, "error": "unknown_method"}

    def _stream(self, method: str, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        """Slack's streaming methods: a stream starts in a thread (in channels for a named recipient), is
        appended to in order and stopped once, with optional final blocks; its text is markdown."""
        text = str(args.get("markdown_text") or "") + "".join(
            str(c.get("text", "")) for c in args.get("chunks") or [] if c.get("type") == "markdown_text"
        )
        if method == "chat.startStream":
            if self.streaming_error:
                return {"ok": False, "error": self.streaming_error}
            if channel in self.not_in_channel:
                return {"ok": False, "error": "not_in_channel"}
            if not args.get("thread_ts"):
                return {"ok": False, "error": "invalid_arguments"}
            if channel[:1] != "D" and not (args.get("recipient_team_id") and args.get("recipient_user_id")):
                return {"ok": False, "error": "invalid_arguments"}
            ts = self._ts_next()
            self.streams[(channel, ts)] = [text] if text else []
            self.messages[(channel, ts)] = {
                "ts": ts,
                "text": text,
                "blocks": [],
                "thread_ts": args["thread_ts"],
            }
            return {"ok": True, "channel": channel, "ts": ts}
        key = (channel, str(args.get("ts")))
        if key not in self.streams:
            return {"ok": False, "error": "message_not_found"}
        if key in self.stopped:
            return {"ok": False, "error": "message_not_in_streaming_state"}
        if method == "chat.appendStream" and not text:
            return {"ok": False, "error": "invalid_arguments"}
        if error := self._blocks_error(args.get("blocks")):
            return {"ok": False, "error": error}
        if text:
            self.streams[key].append(text)
            self.messages[key]["text"] += text
        if method == "chat.stopStream":
            self.stopped.add(key)
            if args.get("blocks"):
                self.messages[key]["blocks"] = args["blocks"]
        return {"ok": True, "channel": channel, "ts": key[1]}

    def _files(self, method: str, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        """Steps one and three of an upload: an upload URL for a named file of a given length, then the
        uploaded files shared in a channel (a thread with thread_ts) with an optional comment."""
        if method == "files.getUploadURLExternal":
            if self.upload_error:
                return {"ok": False, "error": self.upload_error}
            if not args.get("filename") or not str(args.get("length", "")).isdigit():
                return {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{next(self._ts):08d}"
            self._pending[file_id] = Upload(file_id, str(args["filename"]), b"")
            return {
                "ok": True,
                "file_id": file_id,
                "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
            }
        files = json.loads(str(args.get("files") or "[]"))
        found = [self._pending.get(str(f.get("id"))) for f in files]
        if not files or any(u is None or not u.data for u in found):
            return {"ok": False, "error": "file_not_found"}
        shared = []
        for upload, spec in zip(found, files, strict=True):
            assert upload is not None
            del self._pending[upload.file_id]
            upload.channel, upload.thread_ts = channel, str(args.get("thread_ts") or "")
            upload.title, upload.initial_comment = (
                str(spec.get("title") or ""),
                str(args.get("initial_comment") or ""),
            )
            self.uploads.append(upload)
            shared.append({"id": upload.file_id, "name": upload.filename, "title": upload.title})
        return {"ok": True, "files": shared}

    async def _upload(self, request: web.Request) -> web.Response:
        """Step two: the file's bytes posted to its upload URL (no token: the URL is the credential)."""
        upload = self._pending.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        upload.data = await request.read()
        return web.Response(text=f"OK - {len(upload.data)}")

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    # --- Socket Mode ----------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.socket = ws
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        self.socket_connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                future = self._acks.get(data.get("envelope_id", ""))
                if future is not None and not future.done():
                    future.set_result(data)
        return ws

    async def send_envelope(
        self, kind: str, payload: dict[str, Any], retry_attempt: int = 0
    ) -> dict[str, Any]:
        """Deliver one Socket Mode envelope and wait for the app's acknowledgement."""
        await asyncio.wait_for(self.socket_connected.wait(), 10)
        assert self.socket is not None
        envelope_id = f"env-{next(self._ts)}"
        self._acks[envelope_id] = asyncio.get_running_loop().create_future()
        await self.socket.send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return await asyncio.wait_for(self._acks[envelope_id], 10)


# --- payloads as Slack sends them ---------------------------------------------------------------------


def event_body(event: dict[str, Any], event_id: str = "Ev001") -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": "A1",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
    }


def mention(
    text: str, ts: str, channel: str = "C0CHAN", user: str = "UMEMBER", thread_ts: str = ""
) -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def command_payload(
    command: str, text: str, response_url: str, user: str = "UMEMBER", channel: str = "C0CHAN"
) -> dict[str, str]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "team_domain": "test",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": "someone",
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "response_url": response_url,
        "trigger_id": _trigger_id(),  # Slack's is unique per invocation: two commands never sign alike
    }


_TRIGGERS = itertools.count(1)


def _trigger_id() -> str:
    n = next(_TRIGGERS)
    return f"{n}.{int(time.time())}.{n:032x}"


def command_body(
    command: str, text: str, response_url: str, user: str = "UMEMBER", channel: str = "C0CHAN"
) -> str:
    return urlencode(command_payload(command, text, response_url, user, channel))


def action_body(
    message: dict[str, Any], action: dict[str, Any], response_url: str, channel: str, user: str = "UMEMBER"
) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A1",
        "team": {"id": TEAM},
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": "1.2.3",
        "channel": {"id": channel, "name": "general"},
        "message": {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, **message},
        "response_url": response_url,
        "actions": [
            {"type": "button", "action_ts": "1700000999.000001", **action}
        ],  # a click may name its own
    }
    return urlencode({"payload": json.dumps(payload)})
