"""A local OpenAI-compatible HTTP server for tests and benchmarks: /v1/chat/completions and /v1/embeddings.

The real langchain-openai client talks to it (OPENAI_BASE_URL = `server.url`). Replies come from a script
(a queue of reply specs, used first) or from a responder function; every request is recorded. Usage numbers
are counted with kg.text.tokens, over the messages and tool schemas sent and the content or arguments returned.

A request with `"stream": true` gets its content as server-sent events, one chunk per word (or the spec's
`chunks`), `chunk_delay` seconds apart; the usage chunk follows when `stream_options.include_usage` asks for
it. A spec's `break_after: n` drops the connection after n chunks, like a server dying mid-answer.

`graph_responder` plays a model that does the indexing work plausibly and deterministically: extraction from
the passage's own names and sentences (the offline extractor does the reading), summaries that join the
descriptions given, and reports that cite the rows given.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from aiohttp import web

from kg import prompts
from kg.text.tokens import count_tokens

Spec = dict[str, Any]
Responder = Callable[[dict[str, Any]], Spec]


def tool_call(name: str, arguments: dict[str, Any] | str) -> Spec:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    calls = "".join(c["function"]["arguments"] for c in message.get("tool_calls") or [])
    return str(content) + calls


def tool_name(request: dict[str, Any]) -> str:
    """The tool a request forces ("" for a plain JSON request)."""
    choice = request.get("tool_choice")
    if isinstance(choice, dict):
        return str(choice.get("function", {}).get("name", ""))
    tools = request.get("tools") or []
    return str(tools[0]["function"]["name"]) if tools else ""


def phase_of(request: dict[str, Any]) -> str:
    """extract | glean | summarize | report | answer, from the tool forced or the system prompt."""
    name = tool_name(request)
    system = message_text(request["messages"][0]) if request.get("messages") else ""
    last = message_text(request["messages"][-1]) if request.get("messages") else ""
    if name == "record_graph" or "record_graph tool" in system:
        return "glean" if last.strip() == prompts.EXTRACT_GLEANING.strip() else "extract"
    if name == "record_summaries" or "record_summaries tool" in system:
        return "summarize"
    if name == "record_report" or "record_report tool" in system:
        return "report"
    return "answer"


def bag_of_words_vector(text: str, dims: int = 64) -> list[float]:
    """Deterministic: each word adds 1 to a hashed dimension; L2-normalised."""
    v = np.zeros(dims, dtype=np.float64)
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        v[int(hashlib.md5(word.encode()).hexdigest(), 16) % dims] += 1.0
    norm = np.linalg.norm(v)
    return (v / norm if norm else v).tolist()


class FakeOpenAI:
    def __init__(
        self,
        responder: Responder | None = None,
        embed: Callable[[str], list[float]] = bag_of_words_vector,
    ) -> None:
        self.script: list[Spec] = []
        self.responder = responder
        self.embed = embed
        self.requests: list[dict[str, Any]] = []  # chat requests, in arrival order
        self.embedding_requests: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def phases(self) -> list[str]:
        return [phase_of(r) for r in self.requests]

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if self.script:
            spec = self.script.pop(0)
        elif self.responder is not None:
            spec = self.responder(body)
        else:
            spec = {"content": "No script left."}
        if "status" in spec:
            return web.json_response(
                {"error": {"message": spec.get("error", "scripted error"), "type": "scripted", "code": None}},
                status=spec["status"],
                headers=spec.get("headers"),
            )
        if body.get("stream"):
            return await self._stream(request, body, spec)
        if spec.get("chunk_delay"):  # a model takes as long to write an answer it does not stream
            await asyncio.sleep(spec["chunk_delay"] * len(re.findall(r"\S+", spec.get("content") or "")))
        message: dict[str, Any] = {"role": "assistant", "content": spec.get("content")}
        completion = count_tokens(spec.get("content") or "")
        if spec.get("tool_calls"):
            message["tool_calls"] = []
            for i, call in enumerate(spec["tool_calls"]):
                args = call["arguments"]
                args = args if isinstance(args, str) else json.dumps(args)
                completion += count_tokens(args)
                message["tool_calls"].append(
                    {
                        "id": f"call_{len(self.requests)}_{i}",
                        "type": "function",
                        "function": {"name": call["name"], "arguments": args},
                    }
                )
        usage = _usage(body, spec, completion)
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if spec.get("tool_calls") else "stop",
                    }
                ],
                "usage": usage,
            }
        )

    async def _stream(self, request: web.Request, body: dict[str, Any], spec: Spec) -> web.StreamResponse:
        """The spec's content as server-sent chat.completion.chunk events."""
        content = spec.get("content") or ""
        chunks = spec.get("chunks") or re.findall(r"\s*\S+\s*", content) or [content]
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        ident = f"chatcmpl-{len(self.requests)}"

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            event = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": choices,
                **extra,
            }
            await response.write(f"data: {json.dumps(event)}\n\n".encode())

        await send([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for i, chunk in enumerate(chunks):
            if spec.get("break_after") == i:
                assert request.transport is not None
                request.transport.close()  # the server dies mid-answer
                return response
            await asyncio.sleep(spec.get("chunk_delay", 0.0))
            await send([{"index": 0, "delta": {"content": chunk}, "finish_reason": None}])
        await send([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if (body.get("stream_options") or {}).get("include_usage"):
            await send([], usage=_usage(body, spec, count_tokens("".join(chunks))))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.embedding_requests.append(body)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = []
        for i, text in enumerate(texts):
            vector = self.embed(str(text))
            if body.get("encoding_format") == "base64":
                encoded: Any = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
            else:
                encoded = vector
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        tokens = sum(count_tokens(str(t)) for t in texts)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body.get("model", "fake-embed"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


def _usage(body: dict[str, Any], spec: Spec, completion: int) -> dict[str, int]:
    prompt = sum(count_tokens(message_text(m)) for m in body["messages"])
    prompt += count_tokens(json.dumps(body["tools"])) if body.get("tools") else 0
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    usage.update(spec.get("usage", {}))
    return usage


class ServerThread:
    """Runs a FakeOpenAI on its own event loop in a thread, for code that runs its own loop (the CLI)."""

    def __init__(self, server: FakeOpenAI) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


# --- a model that does the indexing work -----------------------------------------------------------------


def _passage(request: dict[str, Any]) -> str:
    for m in request["messages"]:
        text = message_text(m)
        if m.get("role") == "user" and text.startswith("Passage:\n"):
            return text[len("Passage:\n") :]
    return ""


def _words(text: str, limit: int = 30) -> str:
    words = text.split()
    return " ".join(words[:limit]) + (" …" if len(words) > limit else "")


def _extraction(passage: str) -> dict[str, Any]:
    """What a model would record, about as much as one writes: at most 30 entities and 30 relationships (the
    strongest), descriptions of at most 30 words."""
    from kg.index.extract.nlp import extract_chunk

    ext = extract_chunk(passage)
    strongest = sorted(ext.relationships, key=lambda r: -r.weight)[:30]
    return {
        "entities": [
            {"title": e.title, "type": e.type, "description": _words(e.description)}
            for e in ext.entities[:30]
        ],
        "relationships": [
            {
                "source": r.source,
                "target": r.target,
                "description": _words(r.description),
                "strength": min(10, 2 + 2 * int(r.weight)),
            }
            for r in strongest
        ],
    }


_ITEM = re.compile(r"Item (\d+): (.*)\nDescriptions:\n((?:- .*\n?)+)")


def _summaries(text: str) -> dict[str, Any]:
    out = []
    for m in _ITEM.finditer(text):
        descriptions = [line[2:] for line in m.group(3).splitlines() if line.startswith("- ")]
        words = " ".join(descriptions).split()
        out.append({"id": int(m.group(1)), "description": " ".join(words[:60])})
    return {"summaries": out}


def _rows(text: str, table: str) -> list[list[str]]:
    m = re.search(rf"-----{table}-----\n[^\n]*\n((?:\d+\|[^\n]*\n?)*)", text)
    return [line.split("|") for line in m.group(1).splitlines()] if m else []


def _report(text: str) -> dict[str, Any]:
    entities = _rows(text, "Entities")
    relationships = _rows(text, "Relationships")
    reports = _rows(text, "Reports")
    names = [e[1] for e in entities[:2]] or [r[1] for r in reports[:2]] or ["Community"]
    findings = [
        {
            "summary": f"{r[1]} and {r[2]}",
            "explanation": f"{r[3]} [Data: Relationships ({r[0]})]",
        }
        for r in relationships[:5]
    ] + [{"summary": rep[1], "explanation": f"{rep[2]} [Data: Reports ({rep[0]})]"} for rep in reports[:3]]
    ids = ", ".join(e[0] for e in entities[:5])
    summary = f"This community centres on {' and '.join(names)}."
    if ids:
        summary += f" [Data: Entities ({ids})]"
    return {
        "title": " and ".join(names),
        "summary": summary,
        "rating": min(10.0, 2.0 + len(entities) / 2),
        "rating_explanation": "Rated by the number of entities involved.",
        "findings": findings,
    }


def graph_responder(request: dict[str, Any]) -> Spec:
    phase = phase_of(request)
    last = message_text(request["messages"][-1])
    if phase == "extract":
        payload: dict[str, Any] = _extraction(_passage(request))
    elif phase == "glean":
        payload = {"entities": [], "relationships": []}
    elif phase == "summarize":
        payload = _summaries(last)
    elif phase == "report":
        payload = _report(last)
    else:
        return {"content": "I don't know from the indexed documents."}
    name = {"extract": "record_graph", "glean": "record_graph", "summarize": "record_summaries"}.get(
        phase, "record_report"
    )
    if tool_name(request):
        return tool_call(name, payload)
    return {"content": json.dumps(payload)}
