"""Hostile outside text for the property tests (tests/test_properties.py) and the fuzz campaign
(bench/fuzz_campaign.py): hypothesis strategies, and the checks every output must pass.

A check returns the list of what is wrong with one output (empty when nothing is): the tests assert it is
empty, the campaign counts.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

from bot.core import Reply
from kg.citations import DATASETS
from kg.search.answer import SourceRef

# Pieces of syntax that mean something to one of the parsers between a user and an answer.
FTS5 = ['"', '""', "*", "^", "NEAR(", ")", "AND", "OR", "NOT", "title:", ":", "-", "+", "{title}", "'"]
LUCENE_CYPHER = [
    "`",
    "\\",
    "~",
    "[",
    "]",
    "{",
    "}",
    "&&",
    "||",
    "/",
    "?",
    "!",
    "$param",
    "//",
    "/*",
    "*/",
    "';",
]
CONTROL = ["\x00", "\x07", "\x1b[31m", "\r", "\n", "\t", "\u200b", "\u202e", "\ufeff", "\x7f", "\x85"]
SURROGATES = ["\ud800", "\udfff", "\udcff"]
MENTIONS = [
    "<@U123ABC>",
    "<@W9>",
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S1>",
    "<#C0123|general>",
    "@everyone",
    "@here",
    "@channel",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&42>",
    "<#99>",
]
MARKDOWN = ["**", "_", "~~", "`", "```", "\n```python\n", "# ", "> ", "- ", "1. ", "[a](https://x.y)", "|"]
CITATIONS = [
    "[Data: Sources (1, 2); Entities (3)]",
    "[Data: Entities (1, 2, 3, 4, 5, 6, +more)]",
    "[Data: Relationships (",
    "[Data:",
    "[Data: Reports (999999999999)]",
    "[Data: Sources (²)]",
    "]",
]
WORDS = ["Lantern", "Engine", "Maria", "Okafor", "the", "what", "is", "Beacon", "API", "who"]

FRAGMENTS = FTS5 + LUCENE_CYPHER + CONTROL + SURROGATES + MENTIONS + MARKDOWN + CITATIONS + WORDS


def hostile_text(max_pieces: int = 40, surrogates: bool = True, huge: bool = True) -> st.SearchStrategy[str]:
    """Text mixing the syntax above with arbitrary characters, and now and then 20-110 KB of it.

    Lone surrogates reach kgbot only from the command line (undecodable bytes in an argument); chat
    platforms and document loading deliver valid Unicode, so `surrogates=False` leaves them out."""
    fragments = FRAGMENTS if surrogates else [f for f in FRAGMENTS if f not in SURROGATES]
    characters = st.characters(codec=None if surrogates else "utf-8")
    pieces = st.lists(
        st.one_of(st.sampled_from(fragments), st.text(characters, max_size=20)), max_size=max_pieces
    ).map("".join)
    if not huge:
        return pieces
    long = st.tuples(st.sampled_from([*fragments, " word", "x"]), st.integers(20_000, 110_000)).map(
        lambda t: (t[0] * (t[1] // len(t[0]) + 1))[: t[1]]
    )
    return st.one_of(pieces, pieces, pieces, long)


def sources() -> st.SearchStrategy[list[SourceRef]]:
    ref = st.builds(
        SourceRef,
        dataset=st.sampled_from(DATASETS),
        id=st.integers(0, 10**9),
        title=hostile_text(10, surrogates=False, huge=False),
        document=hostile_text(6, surrogates=False, huge=False),
        location=hostile_text(3, surrogates=False, huge=False),
        excerpt=hostile_text(20, surrogates=False, huge=False),
    )
    return st.lists(ref, max_size=60)


def replies() -> st.SearchStrategy[Reply]:
    """Replies as the assistant core hands them to a renderer (mentions are neutralised there first)."""
    from bot.core import neutralise_mentions

    def reply(text: str, refs: list[SourceRef], mode: str, total: float, kind: str) -> Reply:
        refs = [
            SourceRef(
                r.dataset,
                r.id,
                *(neutralise_mentions(v) for v in (r.title, r.document, r.location, r.excerpt)),
            )
            for r in refs
        ]
        if (
            kind == "notice"
        ):  # kgbot writes notices (usage, slow down, a refused question): short, never empty
            text = text[:500] if text[:500].strip() else "Please ask a question."
        return Reply(
            neutralise_mentions(text), kind=kind, sources=refs, mode=mode, timings_ms={"total": total}
        )

    return st.builds(
        reply,
        hostile_text(surrogates=False),
        sources(),
        st.sampled_from(["llm", "extractive", ""]),
        st.floats(0, 1e7, allow_nan=False),
        st.sampled_from(["answer", "answer", "notice"]),
    )


# --- files ---------------------------------------------------------------------------------------------


def _cut_pdf(truncate_at: float) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=72, height=72)
    writer.add_metadata({"/Title": "Broken\nTitle"})
    buffer = io.BytesIO()
    writer.write(buffer)
    data = buffer.getvalue()
    return data[: max(8, int(len(data) * truncate_at))]


# Files as (suffix, bytes): the kinds of broken or unusual file a folder given to `kgbot index` may hold.
FILES = st.one_of(
    st.tuples(st.just(".txt"), st.binary(min_size=1, max_size=2000)),  # binary renamed .txt, invalid UTF-8
    st.tuples(st.just(".txt"), hostile_text(surrogates=False).map(lambda t: t.encode("utf-16"))),  # BOM
    st.tuples(st.just(".md"), st.integers(1, 400_000).map(lambda n: b"word " * n)),  # one huge line
    st.tuples(st.just(".html"), st.integers(1, 20_000).map(lambda n: b"<div>" * n + b"deep" + b"</div>" * n)),
    st.tuples(st.just(".html"), hostile_text(surrogates=False).map(lambda t: f"<p>{t}</b></i>".encode())),
    st.tuples(st.just(".pdf"), st.floats(0.0, 1.0).map(_cut_pdf)),  # a PDF cut short anywhere
    st.tuples(st.just(".pdf"), st.binary(max_size=500).map(lambda b: b"%PDF-1.7\n" + b)),
    st.tuples(st.just(".txt"), hostile_text(surrogates=False).map(lambda t: t.encode("utf-8"))),
)
FILE_NAMES = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=12),
    st.sampled_from(["new\nline", "tab\tbed", "bell\x07", "\u202eevil", " spaced "]),
)


# --- checks -------------------------------------------------------------------------------------------

SLACK_LIVE = re.compile(r"<[@!#]")  # <@U1>, <!channel>, <!here>, <#C1>: Slack's only mention syntax
DISCORD_LIVE = re.compile(r"<@[!&]?\d+>|<#\d+>|@everyone|@here")
SLACK_SECTION_TEXT = 3000
SLACK_BLOCKS = 50
SLACK_CONTAINER_CHILDREN = 10
SLACK_BUTTON_TEXT = 75
SLACK_BUTTON_VALUE = 2000
SLACK_BLOCK_ID = 255
SLACK_MESSAGE_TEXT = 40_000
DISCORD_MESSAGE = 2000
DISCORD_EMBED = {"title": 256, "description": 4096, "fields": 25, "name": 256, "value": 1024, "total": 6000}


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def slack_problems(payloads: list[dict[str, Any]]) -> list[str]:
    """What in these Slack message payloads Slack would refuse, or would turn into a notification."""
    problems: list[str] = []
    for payload in payloads:
        blocks = payload.get("blocks", [])
        if not blocks and not payload.get("text", "").strip():
            problems.append("empty message")
        if len(blocks) > SLACK_BLOCKS:
            problems.append(f"{len(blocks)} blocks")
        if len(payload.get("text", "")) > SLACK_MESSAGE_TEXT:
            problems.append(f"message text of {len(payload['text'])} chars")
        for block in _walk_blocks(blocks):
            problems += _slack_block_problems(block)
        for text in _strings(payload):
            if SLACK_LIVE.search(text):
                problems.append(f"live mention in {text[:80]!r}")
            if not _encodable(text):
                problems.append(f"text that cannot be sent as UTF-8: {text[:80]!r}")
    return problems


def _walk_blocks(blocks: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for block in blocks:
        yield block
        yield from _walk_blocks(block.get("child_blocks", []))


def _slack_block_problems(block: dict[str, Any]) -> list[str]:
    problems = []
    if len(block.get("block_id", "")) > SLACK_BLOCK_ID:
        problems.append("block_id too long")
    text = block.get("text")
    if isinstance(text, dict) and len(text.get("text", "")) > SLACK_SECTION_TEXT:
        problems.append(f"{block.get('type')} text of {len(text['text'])} chars")
    if isinstance(text, dict) and not text.get("text", "").strip() and block.get("type") == "section":
        problems.append("empty section text")
    for element in block.get("elements", []):
        if not isinstance(element, dict):
            continue
        if element.get("type") == "button":
            if len(element.get("text", {}).get("text", "")) > SLACK_BUTTON_TEXT:
                problems.append("button text too long")
            if len(element.get("value", "")) > SLACK_BUTTON_VALUE:
                problems.append("button value too long")
        elif (
            len(element.get("text", "") if isinstance(element.get("text"), str) else "") > SLACK_SECTION_TEXT
        ):
            problems.append("context element too long")
    if block.get("type") == "context" and len(block.get("elements", [])) > 10:
        problems.append("context block with over 10 elements")
    if len(block.get("child_blocks", [])) > SLACK_CONTAINER_CHILDREN:
        problems.append("container with too many children")
    return problems


def discord_message_problems(messages: list[str]) -> list[str]:
    problems: list[str] = []
    if not messages:
        problems.append("no message")
    for message in messages:
        if len(message) > DISCORD_MESSAGE:
            problems.append(f"message of {len(message)} chars")
        if not message.strip():
            problems.append("empty message")
        if DISCORD_LIVE.search(message):
            problems.append(f"live mention in {message[:80]!r}")
        if not _encodable(message):
            problems.append("message that cannot be sent as UTF-8")
    return problems


def discord_embed_problems(embed: Any) -> list[str]:
    data = embed.to_dict()
    limits = DISCORD_EMBED
    problems: list[str] = []
    total = len(data.get("title", "")) + len(data.get("description", ""))
    if len(data.get("title", "")) > limits["title"]:
        problems.append("embed title too long")
    if len(data.get("description", "")) > limits["description"]:
        problems.append("embed description too long")
    fields = data.get("fields", [])
    if len(fields) > limits["fields"]:
        problems.append(f"{len(fields)} embed fields")
    for field in fields:
        name, value = field.get("name", ""), field.get("value", "")
        total += len(name) + len(value)
        if not name.strip() or not value.strip():
            problems.append("empty embed field")
        if len(name) > limits["name"]:
            problems.append("embed field name too long")
        if len(value) > limits["value"]:
            problems.append("embed field value too long")
    footer = data.get("footer", {}).get("text", "")
    total += len(footer)
    if total > limits["total"]:
        problems.append(f"embed of {total} chars")
    for text in _strings(data):
        if DISCORD_LIVE.search(text):
            problems.append(f"live mention in {text[:80]!r}")
        if not _encodable(text):
            problems.append("embed text that cannot be sent as UTF-8")
    return problems


def one_line_problems(lines: Iterable[str]) -> list[str]:
    """User-facing lines: one line each, printable, encodable."""
    problems = []
    for line in lines:
        if "\n" in line or "\r" in line:
            problems.append(f"message over several lines: {line[:80]!r}")
        if not _encodable(line):
            problems.append(f"message that cannot be printed: {line[:80]!r}")
        if "Traceback" in line:
            problems.append("traceback")
    return problems
