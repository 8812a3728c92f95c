"""A scripted Bolt 5.4 server on 127.0.0.1, for driving the real `neo4j` driver without a Neo4j server.

It speaks just enough of the protocol (handshake, HELLO/LOGON, BEGIN/RUN/PULL/COMMIT, RESET, GOODBYE) to
test what a store does with the driver: which statements it sends with which parameters and transaction
settings, and how it turns server failures (wrong password, missing database, syntax errors) into messages.
Query results come from a `respond(query, parameters)` callback.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BOLT_MAGIC = b"\x60\x60\xb0\x17"
BOLT_5_4 = b"\x00\x00\x04\x05"

HELLO, GOODBYE, RESET, RUN, BEGIN, COMMIT, ROLLBACK = 0x01, 0x02, 0x0F, 0x10, 0x11, 0x12, 0x13
DISCARD, PULL, TELEMETRY, LOGON, LOGOFF = 0x2F, 0x3F, 0x54, 0x6A, 0x6B
SUCCESS, RECORD, IGNORED, FAILURE = 0x70, 0x71, 0x7E, 0x7F


@dataclass
class Rows:
    fields: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Failure:
    code: str
    message: str


Reply = Rows | Failure
Respond = Callable[[str, dict[str, Any]], Reply]


# ---------------------------------------------------------------------------------------------- PackStream


def pack(value: Any) -> bytes:
    if value is None:
        return b"\xc0"
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if isinstance(value, int):
        if -16 <= value < 128:
            return struct.pack(">b", value)
        for marker, fmt, low, high in ((0xC8, ">b", -(2**7), 2**7), (0xC9, ">h", -(2**15), 2**15)):
            if low <= value < high:
                return bytes([marker]) + struct.pack(fmt, value)
        if -(2**31) <= value < 2**31:
            return b"\xca" + struct.pack(">i", value)
        return b"\xcb" + struct.pack(">q", value)
    if isinstance(value, float):
        return b"\xc1" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode("utf-8")
        return _header(len(data), 0x80, 0xD0) + data
    if isinstance(value, list | tuple):
        return _header(len(value), 0x90, 0xD4) + b"".join(pack(v) for v in value)
    if isinstance(value, dict):
        return _header(len(value), 0xA0, 0xD8) + b"".join(pack(str(k)) + pack(v) for k, v in value.items())
    raise TypeError(f"cannot pack {type(value).__name__}")


def _header(size: int, tiny: int, sized: int) -> bytes:
    if size < 16:
        return bytes([tiny | size])
    if size < 2**8:
        return bytes([sized]) + struct.pack(">B", size)
    if size < 2**16:
        return bytes([sized + 1]) + struct.pack(">H", size)
    return bytes([sized + 2]) + struct.pack(">I", size)


def unpack(data: bytes, pos: int = 0) -> tuple[Any, int]:
    marker = data[pos]
    pos += 1
    if marker < 0x80:
        return marker, pos
    if marker >= 0xF0:
        return marker - 0x100, pos
    high = marker & 0xF0
    if high == 0x80:
        return data[pos : pos + (marker & 0x0F)].decode("utf-8"), pos + (marker & 0x0F)
    if high == 0x90:
        return _unpack_list(data, pos, marker & 0x0F)
    if high == 0xA0:
        return _unpack_map(data, pos, marker & 0x0F)
    if high == 0xB0:
        tag = data[pos]
        values, pos = _unpack_list(data, pos + 1, marker & 0x0F)
        return ("struct", tag, values), pos
    simple = {0xC0: None, 0xC2: False, 0xC3: True}
    if marker in simple:
        return simple[marker], pos
    if marker == 0xC1:
        return struct.unpack_from(">d", data, pos)[0], pos + 8
    ints = {0xC8: ">b", 0xC9: ">h", 0xCA: ">i", 0xCB: ">q"}
    if marker in ints:
        fmt = ints[marker]
        return struct.unpack_from(fmt, data, pos)[0], pos + struct.calcsize(fmt)
    sizes = {0: ">B", 1: ">H", 2: ">I"}
    for base, kind in ((0xD0, "str"), (0xD4, "list"), (0xD8, "map"), (0xCC, "bytes")):
        if base <= marker <= base + 2:
            fmt = sizes[marker - base]
            size = struct.unpack_from(fmt, data, pos)[0]
            pos += struct.calcsize(fmt)
            if kind == "str":
                return data[pos : pos + size].decode("utf-8"), pos + size
            if kind == "bytes":
                return bytes(data[pos : pos + size]), pos + size
            if kind == "list":
                return _unpack_list(data, pos, size)
            return _unpack_map(data, pos, size)
    raise ValueError(f"unsupported PackStream marker 0x{marker:02X}")


def _unpack_list(data: bytes, pos: int, size: int) -> tuple[list[Any], int]:
    items = []
    for _ in range(size):
        item, pos = unpack(data, pos)
        items.append(item)
    return items, pos


def _unpack_map(data: bytes, pos: int, size: int) -> tuple[dict[str, Any], int]:
    items = {}
    for _ in range(size):
        key, pos = unpack(data, pos)
        items[key], pos = unpack(data, pos)
    return items, pos


def message(tag: int, *fields: Any) -> bytes:
    body = bytes([0xB0 | len(fields), tag]) + b"".join(pack(f) for f in fields)
    chunks = [body[i : i + 0xFFFF] for i in range(0, len(body), 0xFFFF)]
    return b"".join(struct.pack(">H", len(c)) + c for c in chunks) + b"\x00\x00"


# ---------------------------------------------------------------------------------------------- the server


@dataclass
class Run:
    query: str
    parameters: dict[str, Any]


class FakeBolt:
    """`async with FakeBolt(...) as server:` then point a driver at `server.url`."""

    def __init__(
        self,
        *,
        agent: str = "Neo4j/5.26.0",
        login_failure: Failure | None = None,
        databases: tuple[str, ...] = ("neo4j",),
        respond: Respond | None = None,
    ) -> None:
        self.agent = agent
        self.login_failure = login_failure
        self.databases = databases
        self.respond = respond or (lambda query, parameters: Rows())
        self.runs: list[Run] = []
        # What each transaction asked for: a BEGIN's extra, or an auto-commit RUN's (its transaction starts there).
        self.begins: list[dict[str, Any]] = []
        self.logons: list[dict[str, Any]] = []
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"bolt://{host}:{port}"

    def queries(self) -> list[str]:
        return [run.query for run in self.runs]

    async def __aenter__(self) -> FakeBolt:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._conversation(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _conversation(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await reader.readexactly(4) != BOLT_MAGIC:
            return
        await reader.readexactly(16)
        writer.write(BOLT_5_4)
        failed = in_transaction = False
        pending: list[list[Any]] = []
        while True:
            body = await self._read_message(reader)
            if not body:
                continue  # a NOOP chunk
            (_, tag, fields), _ = unpack(body)
            out: list[bytes] = []
            if tag == GOODBYE:
                return
            if tag == RESET:
                failed, pending, in_transaction = False, [], False
                out.append(message(SUCCESS, {}))
            elif failed:
                out.append(message(IGNORED))
            elif tag == HELLO:
                out.append(message(SUCCESS, {"server": self.agent, "connection_id": "bolt-1", "hints": {}}))
            elif tag == LOGON:
                self.logons.append(fields[0])
                if self.login_failure is not None:
                    failed = True
                    out.append(self._failure(self.login_failure))
                else:
                    out.append(message(SUCCESS, {}))
            elif tag == BEGIN:
                in_transaction = True
                failure = self._begin(fields[0] if fields else {})
                failed = failure is not None
                out.append(failure or message(SUCCESS, {}))
            elif tag == RUN:
                query, parameters = fields[0], fields[1]
                self.runs.append(Run(query, parameters))
                if not in_transaction and (failure := self._begin(fields[2] if len(fields) > 2 else {})):
                    failed = True
                    out.append(failure)
                    writer.write(b"".join(out))
                    await writer.drain()
                    continue
                reply = self.respond(query, parameters)
                if isinstance(reply, Failure):
                    failed = True
                    out.append(self._failure(reply))
                else:
                    pending = reply.rows
                    out.append(message(SUCCESS, {"fields": reply.fields, "t_first": 0}))
            elif tag == PULL:
                out += [message(RECORD, row) for row in pending]
                pending = []
                out.append(message(SUCCESS, {}))
            elif tag == COMMIT:
                in_transaction = False
                out.append(message(SUCCESS, {"bookmark": f"fake:{len(self.runs)}"}))
            elif tag in (DISCARD, ROLLBACK, TELEMETRY, LOGOFF):
                pending = []
                in_transaction = in_transaction and tag != ROLLBACK
                out.append(message(SUCCESS, {}))
            else:
                failed = True
                out.append(
                    self._failure(Failure("Neo.ClientError.Request.Invalid", f"unexpected 0x{tag:02X}"))
                )
            writer.write(b"".join(out))
            await writer.drain()

    def _begin(self, extra: dict[str, Any]) -> bytes | None:
        """Start a transaction asking for `extra`; the FAILURE to send when its database does not exist."""
        self.begins.append(extra)
        database = extra.get("db", "neo4j")
        if database in self.databases:
            return None
        return self._failure(
            Failure(
                "Neo.ClientError.Database.DatabaseNotFound",
                f"Database does not exist. Database name: '{database}'.",
            )
        )

    @staticmethod
    def _failure(failure: Failure) -> bytes:
        return message(FAILURE, {"code": failure.code, "message": failure.message})

    @staticmethod
    async def _read_message(reader: asyncio.StreamReader) -> bytes:
        body = b""
        while True:
            (size,) = struct.unpack(">H", await reader.readexactly(2))
            if size == 0:
                return body
            body += await reader.readexactly(size)
