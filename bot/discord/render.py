"""Discord payloads for a `Reply`, pure: message texts, the sources embed, thread names and progress lines.

Nothing here talks to Discord. `client.py` sends what these functions return.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.core import Reply, SourceRef
from kg.citations import MARKER, cited_ids

MESSAGE_LIMIT = 2000  # characters of content per message
THREAD_NAME_LIMIT = 100
# Embed limits (discord.com/developers/docs/resources/message#embed-object-embed-limits)
EMBED_TITLE = 256
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_TOTAL = 6000

SOURCES_EXPIRED = (
    "The sources of this answer are no longer available: stored sources expire after a while. "
    "Ask the question again to get fresh ones."
)
NOT_ADMIN = (
    "Only members with the Manage Server or Administrator permission (or users listed in KG_ADMINS) "
    "can rebuild the knowledge graph."
)
FAILED = "Sorry, something went wrong while answering; please try again in a minute."
COMMAND_OUTDATED = "This command changed since Discord last loaded it; please reload Discord and try again."

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_DATASET_LABELS = {"Entities": "Entities", "Relationships": "Relationships", "Reports": "Reports"}


# --- answer text ----------------------------------------------------------------------------------


def reference_numbers(text: str, sources: Sequence[SourceRef]) -> str:
    """`[Data: Entities (3); Sources (7, +more)]` -> `[1][2]`: the numbers of the cited rows in `sources`.

    A marker citing nothing in `sources` disappears, with the space before it.
    """
    numbers = {(s.dataset, s.id): n for n, s in enumerate(sources, 1)}

    def replace(marker: re.Match[str]) -> str:
        found: list[int] = []
        for dataset, cited in cited_ids(marker):
            n = numbers.get((dataset, cited))
            if n is not None and n not in found:
                found.append(n)
        return "".join(f"[{n}]" for n in found)

    return MARKER.sub(replace, text)


def answer_messages(reply: Reply, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The reply as message contents of at most `limit` characters each, in order."""
    text = reply.text
    if reply.kind == "answer":
        text = reference_numbers(text, reply.sources)
        footer = _footer(reply)
        if footer:
            text = f"{text.rstrip()}\n\n{footer}"
    return split_message(text, limit)


_OPEN_MARKER = re.compile(r"\[(?:D(?:a(?:t(?:a(?::[^\]]*)?)?)?)?)?$")
WRITING_MORE = " …"  # after text still being written


def streamed_text(raw: str, limit: int = MESSAGE_LIMIT) -> str:
    """What to show of an answer while it is written: `[Data: ...]` markers removed (the final edit numbers
    them), a marker still being written held back, at most `limit` characters with the "still writing" mark."""
    text = _OPEN_MARKER.sub("", MARKER.sub("", raw)).strip()
    room = limit - len(WRITING_MORE)
    if len(text) > room:
        text = text[:room].rsplit(" ", 1)[0]
    return text + WRITING_MORE if text else ""


VOTE_THANKS = "Thanks for the feedback."
VOTE_REPEATED = "Your vote on this answer is already counted."
REASON_QUESTION = "Thanks — what was wrong with this answer?"
REASON_THANKS = "Thanks, noted. It helps us improve the answers."


def _footer(reply: Reply) -> str:
    parts = [f"{reply.search} search"] if reply.search else []
    if reply.mode:
        parts.append("language-model answer" if reply.mode == "llm" else f"{reply.mode} answer")
    total = reply.timings_ms.get("total")
    if total is not None:
        parts.append(f"{total / 1000:.1f} s" if total >= 1000 else f"{total:.0f} ms")
    return "-# " + " · ".join(parts) if parts else ""


@dataclass
class _Block:
    text: str
    fence: str = ""  # the opening fence ("```", "~~~~") of a code block; empty for a paragraph
    opening: str = ""  # the whole opening line of a code block ("```python")
    closed: bool = True


def _blocks(text: str) -> list[_Block]:
    """Paragraphs (separated by blank lines) and fenced code blocks (kept whole, blank lines included)."""
    blocks: list[_Block] = []
    paragraph: list[str] = []
    code: list[str] | None = None
    fence = ""

    def flush() -> None:
        if paragraph:
            blocks.append(_Block("\n".join(paragraph)))
            paragraph.clear()

    for line in text.split("\n"):
        match = _FENCE.match(line)
        if code is not None:
            code.append(line)
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                if not match.group(2).strip():
                    blocks.append(_Block("\n".join(code), fence, code[0]))
                    code = None
            continue
        if match:
            flush()
            code, fence = [line], match.group(1)
        elif line.strip():
            paragraph.append(line)
        else:
            flush()
    flush()
    if code is not None:  # an unclosed fence runs to the end of the text, as Discord shows it
        blocks.append(_Block("\n".join(code), fence, code[0], closed=False))
    return blocks


def _split_plain(text: str, limit: int) -> list[str]:
    """A paragraph longer than `limit`: cut at line ends, then sentence ends, then spaces, then anywhere."""
    for separator in ("\n", ". ", " "):
        if separator not in text:
            continue
        pieces: list[str] = []
        current = ""
        for part in text.split(separator):
            candidate = f"{current}{separator}{part}" if current else part
            if len(candidate) <= limit:
                current = candidate
                continue
            if current:
                pieces.append(current + (separator.rstrip() if separator != "\n" else ""))
            current = part
        if current:
            pieces.append(current)
        if all(len(p) <= limit for p in pieces):
            return pieces
        return [q for p in pieces for q in (_split_plain(p, limit) if len(p) > limit else [p])]
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def _split_code(block: _Block, limit: int) -> list[str]:
    """A code block longer than `limit` as several complete code blocks, each closed and reopened."""
    lines = block.text.split("\n")[1:]
    if block.closed:
        lines = lines[:-1]
    room = limit - len(block.opening) - len(block.fence) - 2  # two line breaks around the body
    if room < 1:  # a fence line longer than a message ("~~~~…" of 20,000 chars) fences nothing Discord shows
        return _split_plain(block.text, limit)
    pieces: list[str] = []
    body: list[str] = []
    size = 0
    # A line longer than a message is cut by characters: code is kept exactly, only wrapped.
    cut = [line[i : i + room] for line in lines for i in range(0, max(len(line), 1), room)]
    for line in cut:
        if body and size + 1 + len(line) > room:
            pieces.append("\n".join([block.opening, *body, block.fence]))
            body, size = [], 0
        size += len(line) + (1 if body else 0)
        body.append(line)
    pieces.append("\n".join([block.opening, *body, block.fence]))
    return pieces


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut between paragraphs and never inside a code block
    (a code block longer than a message becomes several complete code blocks)."""
    text = text.strip("\n")
    if len(text) <= limit:
        return [text] if text.strip() else []
    messages: list[str] = []
    current = ""
    for block in _blocks(text):
        if len(block.text) <= limit:
            pieces = [block.text]
        elif block.fence:
            pieces = _split_code(block, limit)
        else:
            pieces = _split_plain(block.text, limit)
        for piece in pieces:
            if current and len(current) + 2 + len(piece) <= limit:
                current = f"{current}\n\n{piece}"
            else:
                if current:
                    messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages


def thread_name(question: str) -> str:
    """A thread title from the question: one line, at most 100 characters."""
    name = " ".join(question.split())
    if len(name) > THREAD_NAME_LIMIT:
        name = name[: THREAD_NAME_LIMIT - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return name or "Question"


# --- sources ----------------------------------------------------------------------------------------


def sources_label(count: int) -> str:
    return f"Sources ({count})"


# The "Show graph" button, next to the sources button: the picture of an answer's evidence, once per answer.
GRAPH_LABEL = "Show graph"
GRAPH_COMMENT = "The graph of this answer's evidence."
GRAPH_ALREADY = "The graph of this answer is already here (or on its way)."
GRAPH_FAILED = "Could not post the graph just now; please try again in a minute."


def _fit(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def _plain(text: str) -> str:
    """Document text shown literally: markdown characters escaped, whitespace collapsed."""
    return discord.utils.escape_markdown(" ".join(text.split()))


def _source_field(n: int, source: SourceRef) -> tuple[str, str]:
    name = _fit(f"[{n}] {source.title or source.document or 'Untitled'}", EMBED_FIELD_NAME)
    where = _fit(" · ".join(_plain(part) for part in (source.document, source.location) if part), 300)
    excerpt = _fit(_plain(source.excerpt), EMBED_FIELD_VALUE - len(where) - 3)
    value = "\n".join(part for part in (where, f"> {excerpt}" if excerpt else "") if part)
    return name, value or "—"


def _list_field(dataset: str, rows: Sequence[tuple[int, SourceRef]]) -> tuple[str, str]:
    lines: list[str] = []
    for shown, (n, source) in enumerate(rows):
        line = _fit(f"[{n}] {_plain(source.title)}", 200)
        rest = len(rows) - shown - 1
        tail = f"\n… and {rest} more" if rest else ""
        if len("\n".join([*lines, line])) + len(tail) > EMBED_FIELD_VALUE:
            lines.append(f"… and {len(rows) - shown} more")
            break
        lines.append(line)
    return f"{dataset} ({len(rows)})", "\n".join(lines)


def sources_embed(sources: Sequence[SourceRef]) -> discord.Embed:
    """The cited sources of an answer, numbered as in the answer text, within Discord's embed limits:
    each text source with its document, location and excerpt, then the cited entities, relationships and
    reports by name."""
    numbered = list(enumerate(sources, 1))
    texts = [(n, s) for n, s in numbered if s.dataset == "Sources"]
    lists = [
        _list_field(label, rows)
        for dataset, label in _DATASET_LABELS.items()
        if (rows := [(n, s) for n, s in numbered if s.dataset == dataset])
    ]
    embed = discord.Embed(
        title=_fit(sources_label(len(sources)), EMBED_TITLE), colour=discord.Colour.blurple()
    )
    if not sources:
        embed.description = "This answer cites no sources."
        return embed
    used = len(embed.title or "")
    budget_fields = EMBED_FIELDS - len(lists)
    reserve = sum(len(name) + len(value) for name, value in lists) + 60  # room for "… and n more"
    for shown, (n, source) in enumerate(texts):
        name, value = _source_field(n, source)
        rest = len(texts) - shown
        last_slot = len(embed.fields) == budget_fields - 1 and rest > 1
        if last_slot or used + len(name) + len(value) + reserve > EMBED_TOTAL:
            note = f"… and {rest} more source{'s' if rest > 1 else ''}"
            embed.add_field(name="More", value=note, inline=False)
            used += len("More") + len(note)
            break
        embed.add_field(name=name, value=value, inline=False)
        used += len(name) + len(value)
    for name, value in lists:
        if used + len(name) + len(value) > EMBED_TOTAL or len(embed.fields) >= EMBED_FIELDS:
            break
        embed.add_field(name=name, value=value, inline=False)
        used += len(name) + len(value)
    return embed


# --- reindex ------------------------------------------------------------------------------------------


def reindex_started(namespace: str) -> str:
    return _fit(f"Reindexing '{namespace}' — starting…", MESSAGE_LIMIT)


def progress_text(line: str) -> str:
    """A progress line (see `bot.core.progress_line`) as the content of the one message being edited."""
    return _fit(line, MESSAGE_LIMIT)


def reindex_summary(summary: str) -> str:
    return _fit(summary, MESSAGE_LIMIT)
