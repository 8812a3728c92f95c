"""Block Kit for kgbot's Slack messages. Pure: a Reply in, message payloads out; no network, no state.

An answer is Slack mrkdwn (markdown headings, bold, lists, links and code converted; `&`, `<`, `>` escaped,
so nothing in it can notify anyone), its `[Data: ...]` markers turned into reference numbers of the sources
list, split into sections of at most 3,000 characters and messages of at most 50 blocks. Under it comes a
collapsible "Sources (n)" container (or, where Slack does not accept containers, a "Show sources" button),
a "Show graph" button, then a footer with the mode and the time taken. Every block is built with slack_sdk's
block models, which check Slack's limits as they serialise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContainerBlock,
    ContextActionsBlock,
    ContextBlock,
    FeedbackButtonsElement,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core import Reply, SourceRef, neutralise_mentions
from kg.citations import MARKER, cited_ids

SECTION_CHARS = 3000  # Slack's limit for a section's text
MAX_BLOCKS = 50  # Slack's limit for blocks in one message
CONTAINER_CHILDREN = 10  # Slack's limit for a container's child blocks
SOURCE_SECTIONS = CONTAINER_CHILDREN  # the sources list never takes more sections than a container holds
# What the last message of an answer keeps free: the sources expanded (the fallback's "Show sources"
# puts them in the message) plus their button, "Show graph", the footer and the feedback buttons. The same for
# both forms, so an answer re-rendered in the fallback form splits exactly as before.
_TAIL_RESERVE = SOURCE_SECTIONS + 4

SHOW_SOURCES = "kgbot_show_sources"
HIDE_SOURCES = "kgbot_hide_sources"
SOURCES_BLOCK = "kgbot_sources"  # prefix of every block id that belongs to the sources part
FOOTER_BLOCK = "kgbot_footer"
SHOW_GRAPH = "kgbot_show_graph"  # the action id of the "Show graph" button and the block id of its block
FEEDBACK = "kgbot_feedback"  # the action id of the 👍/👎 buttons and the block id of their block
WRITING_MORE = "_…_"  # under text still being written, where it is shown by message edits

WORKING_EMOJI = "hourglass_flowing_sand"
WORKING_STATUS = "is searching the knowledge graph…"
WORKING_TEXT = "_Looking that up in the knowledge graph…_"
ASK_USAGE = (
    "Ask a question about the team's documents, for example `/ask What is our release process?` "
    "The question and its answer are posted in this channel; follow-ups go in the answer's thread "
    "by mentioning me."
)
SOURCES_EXPIRED = "The sources of this answer have expired; ask the question again to see them."
GRAPH_COMMENT = "The graph of this answer's evidence."
GRAPH_ALREADY = "The graph of this answer is already in the thread (or on its way)."
GRAPH_FAILED = "Could not post the graph just now; please try again in a minute."

_DATASET_ORDER = ("Sources", "Entities", "Relationships", "Reports")
_NAMED_LABELS = {"Entities": "Entities", "Relationships": "Relationships", "Reports": "Reports"}


@dataclass
class Message:
    """One chat message: notification text plus blocks (none for a plain one-line message)."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks} if self.blocks else {"text": self.text}


# --- mrkdwn -------------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters, escaped as Slack requires everywhere in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe(text: str) -> str:
    """Text that renders literally and cannot notify anyone."""
    return escape(neutralise_mentions(text))


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# A label holds no "[": each "[" is then scanned past once, so a text of 100k "[" takes milliseconds, not a minute.
_IMAGE = re.compile(r"!\[([^\[\]]*)\]\(([^()\s]+)\)")
_LINK = re.compile(r"\[([^\[\]]+)\]\(([^()\s]+)\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_ORDERED = re.compile(r"^(\s*)(\d{1,9})[.)]\s+(.*)$")
_BOLD_MARK = "\x01"


def _link(url: str, label: str) -> str:
    if not re.match(r"(https?|mailto):", url):
        return f"{label} ({url})"
    return f"<{url}|{label.replace('|', '¦')}>"


def _inline(text: str) -> str:
    """One line of markdown prose as mrkdwn: code spans kept as they are, the rest converted."""
    out = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):
        out.append(_inline_prose(text[pos : m.start()]))
        out.append("`" + escape(m.group(2).replace("`", "'")) + "`")
        pos = m.end()
    out.append(_inline_prose(text[pos:]))
    return "".join(out)


def _inline_prose(text: str) -> str:
    text = escape(text)
    text = _IMAGE.sub(lambda m: _link(m.group(2), m.group(1) or "image"), text)
    text = _LINK.sub(lambda m: _link(m.group(2), m.group(1)), text)
    text = _BOLD.sub(lambda m: _BOLD_MARK + (m.group(1) or m.group(2)) + _BOLD_MARK, text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    return text.replace(_BOLD_MARK, "*")


def to_mrkdwn(markdown: str) -> str:
    """Markdown (as models and the extractive answerer write it) as Slack mrkdwn."""
    out: list[str] = []
    in_code = False
    for line in markdown.replace("\r\n", "\n").split("\n"):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            out.append("```")  # Slack shows a language hint as code: drop it
            continue
        if in_code:
            out.append(escape(line))
            continue
        if m := _HEADING.match(line):
            title = _inline(m.group(1).replace("**", "").replace("__", "")).replace("*", "")
            out.append(f"*{title}*" if title.strip() else "")
        elif _RULE.match(line):
            out.append("")
        elif m := _QUOTE.match(line):
            out.append("> " + _inline(m.group(1)))  # a real ">" at the line start: Slack's quote
        elif m := _BULLET.match(line):
            level = len(m.group(1).expandtabs(4)) // 2
            out.append("    " * level + ("•" if level == 0 else "◦") + " " + _inline(m.group(2)))
        elif m := _ORDERED.match(line):
            level = len(m.group(1).expandtabs(4)) // 2
            out.append("    " * level + f"{m.group(2)}. " + _inline(m.group(3)))
        else:
            out.append(_inline(line))
    if in_code:
        out.append("```")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


# --- citations ----------------------------------------------------------------------------------------


def numbered_sources(sources: Sequence[SourceRef]) -> list[tuple[int, SourceRef]]:
    """Reference numbers: cited documents first, then entities, relationships and reports, each in the
    order the answer first cites them."""
    ordered = sorted(
        sources,
        key=lambda s: _DATASET_ORDER.index(s.dataset) if s.dataset in _DATASET_ORDER else len(_DATASET_ORDER),
    )
    return [(n, s) for n, s in enumerate(ordered, start=1)]


def _ranges(numbers: list[int]) -> str:
    numbers = sorted(set(numbers))
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(
            str(start) if start == prev else f"{start}–{prev}" if prev > start + 1 else f"{start}, {prev}"
        )
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def number_citations(text: str, numbered: Sequence[tuple[int, SourceRef]]) -> str:
    """Each `[Data: ...]` marker becomes the reference numbers of what it cites, e.g. `[1, 4]`: its
    documents when it cites any, otherwise its entities, relationships and reports."""
    index = {(s.dataset, s.id): n for n, s in numbered}

    def replace(match: re.Match[str]) -> str:
        documents: list[int] = []
        named: list[int] = []
        for dataset, cited in cited_ids(match):
            n = index.get((dataset, cited))
            if n is not None:
                (documents if dataset == "Sources" else named).append(n)
        numbers = documents or named
        return f" [{_ranges(numbers)}]" if numbers else ""

    return MARKER.sub(replace, text)


# --- splitting ----------------------------------------------------------------------------------------


def _hard_cut(text: str, limit: int) -> list[str]:
    """Slices of at most `limit`, never cutting an escape like `&amp;` or a `<link|label>` in two."""
    parts = []
    while len(text) > limit:
        cut = limit
        amp = text.rfind("&", cut - 5, cut)
        if amp > 0 and ";" not in text[amp:cut]:
            cut = amp
        lt = text.rfind("<", 0, cut)
        if lt > 0 and ">" not in text[lt:cut] and len(text) > cut and lt > limit // 2:
            cut = lt
        parts.append(text[:cut])
        text = text[cut:]
    return [*parts, text] if text else parts


def _pack(items: list[str], limit: int, sep: str) -> list[str]:
    chunks: list[str] = []
    current = ""
    for item in items:
        candidate = f"{current}{sep}{item}" if current else item
        if len(candidate) <= limit:
            current = candidate
        else:
            if current:
                chunks.append(current)
            current = item
    if current:
        chunks.append(current)
    return chunks


def _fit_line(line: str, limit: int) -> list[str]:
    if len(line) <= limit:
        return [line]
    words: list[str] = []
    for word in line.split(" "):
        words += _hard_cut(word, limit) if len(word) > limit else [word]
    return _pack(words, limit, " ")


def _fit(unit: str, limit: int) -> list[str]:
    """A paragraph or code block as pieces of at most `limit` characters; code stays fenced."""
    if len(unit) <= limit:
        return [unit]
    if unit.startswith("```") and unit.endswith("```"):
        inner = unit[3:-3].strip("\n").split("\n")
        room = limit - len("```\n\n```")
        lines = [piece for line in inner for piece in _hard_cut(line, room) or [""]]
        return [f"```\n{chunk}\n```" for chunk in _pack(lines, room, "\n")]
    lines = [piece for line in unit.split("\n") for piece in _fit_line(line, limit)]
    return _pack(lines, limit, "\n")


def _units(text: str) -> list[str]:
    """Paragraphs, with each fenced code block kept whole (blank lines included)."""
    units: list[str] = []
    current: list[str] = []
    in_code = False
    for line in text.split("\n"):
        if line.startswith("```"):
            if not in_code and current:
                units.append("\n".join(current))
                current = []
            current.append(line)
            if in_code:
                units.append("\n".join(current))
                current = []
            in_code = not in_code
        elif not in_code and not line.strip():
            if current:
                units.append("\n".join(current))
                current = []
        else:
            current.append(line)
    if current:
        units.append("\n".join(current))
    return units


def split_mrkdwn(text: str, limit: int = SECTION_CHARS) -> list[str]:
    """mrkdwn in pieces of at most `limit` characters, cut between paragraphs, then lines, then words."""
    pieces = [piece for unit in _units(text) for piece in _fit(unit, limit)]
    return _pack(pieces, limit, "\n\n") or [""]


# --- blocks -------------------------------------------------------------------------------------------


def _section(text: str, block_id: str | None = None) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=text), block_id=block_id).to_dict()


def _short_path(document: str, width: int = 80) -> str:
    return document if len(document) <= width else "…" + document[-(width - 1) :]


def _source_entry(n: int, s: SourceRef) -> str:
    title = s.title or (s.document.rsplit("/", 1)[-1] if s.document else "") or "untitled"
    if re.match(r"https?://", s.document):
        head = f"*[{n}]* <{escape(s.document)}|{safe(title).replace('|', '¦')}>"
    else:
        head = f"*[{n}]* *{safe(title)}*"
        if s.document:
            head += f" — `{safe(_short_path(s.document))}`"
    if s.location:
        head += f", {safe(s.location)}"
    excerpt = " ".join(s.excerpt.split())
    return f"{head}\n> {safe(excerpt)}" if excerpt else head


def sources_texts(sources: Sequence[SourceRef]) -> list[str]:
    """The sources list as mrkdwn texts for at most SOURCE_SECTIONS sections: each cited document with
    its title, location and excerpt, then the cited entities, relationships and reports by name."""
    numbered = numbered_sources(sources)
    entries = [_source_entry(n, s) for n, s in numbered if s.dataset == "Sources"]
    for dataset, label in _NAMED_LABELS.items():
        names = [f"[{n}] {safe(s.title)}" for n, s in numbered if s.dataset == dataset]
        if names:
            entries.append(f"*{label}:* " + " · ".join(names))
    pieces = [piece for entry in entries for piece in _fit(entry, SECTION_CHARS)]
    texts = _pack(pieces, SECTION_CHARS, "\n\n")
    if len(texts) > SOURCE_SECTIONS:
        more = len(texts) - SOURCE_SECTIONS + 1
        note = f"\n\n_…and {more} more section(s) of sources not shown._"
        last = texts[SOURCE_SECTIONS - 1]
        texts = [*texts[: SOURCE_SECTIONS - 1], last[: SECTION_CHARS - len(note)] + note]
    return texts


def _sources_title(count: int) -> str:
    return f"Sources ({count})"


def sources_container(sources: Sequence[SourceRef]) -> dict[str, Any]:
    children = [_section(t) for t in sources_texts(sources)]
    return ContainerBlock(
        title=_sources_title(len(sources)),
        child_blocks=children,
        is_collapsible=True,
        default_collapsed=True,
        block_id=f"{SOURCES_BLOCK}:container",
    ).to_dict()


def _toggle_button(key: str, count: int, show: bool) -> dict[str, Any]:
    label = f"Show sources ({count})" if show else "Hide sources"
    return ActionsBlock(
        block_id=f"{SOURCES_BLOCK}:toggle:{'hidden' if show else 'shown'}",
        elements=[
            ButtonElement(
                text=label,
                action_id=SHOW_SOURCES if show else HIDE_SOURCES,
                value=f"{key}:{count}",
            )
        ],
    ).to_dict()


def graph_button(key: str) -> dict[str, Any]:
    """The "Show graph" button under an answer with sources; its value is the key its evidence is kept under."""
    return ActionsBlock(
        block_id=SHOW_GRAPH, elements=[ButtonElement(text="Show graph", action_id=SHOW_GRAPH, value=key)]
    ).to_dict()


def parse_toggle_value(value: str) -> tuple[str, int]:
    """The sources key and count a "Show/Hide sources" button carries."""
    key, _, count = value.rpartition(":")
    return (key, int(count)) if count.isascii() and count.isdigit() and key else (value, 0)


def _footer(reply: Reply) -> dict[str, Any]:
    label = {"llm": "Answered by the language model", "extractive": "Extractive answer (no language model)"}
    total = reply.timings_ms.get("total")
    parts = [label.get(reply.mode, safe(reply.mode) or "Answer")]
    if reply.search:  # which search found the context: local (a thing) or global (the whole corpus)
        parts.insert(0, "Global search" if reply.search == "global" else "Local search")
    if total is not None:
        parts.append(f"{total / 1000:.1f} s" if total >= 1000 else f"{total:.0f} ms")
    return ContextBlock(
        block_id=FOOTER_BLOCK, elements=[MarkdownTextObject(text=" · ".join(parts))]
    ).to_dict()


def _preview(text: str) -> str:
    """Plain notification text for the first message of an answer."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    # Skip a leading note in italics (e.g. "_Extractive answer: ..._"): the notification shows the answer.
    body = next((p for p in paragraphs if not (p.startswith("_") and p.endswith("_"))), text)
    plain = MARKER.sub("", body)
    plain = re.sub(r"[*_`#>~]+", "", plain)
    plain = " ".join(plain.split())
    return safe(plain if len(plain) <= 150 else plain[:149].rsplit(" ", 1)[0] + "…") or "Answer"


def feedback_block(answer_id: str) -> dict[str, Any]:
    """The 👍/👎 buttons under an answer; each button's value carries the vote and the answer's id."""
    return ContextActionsBlock(
        block_id=FEEDBACK,
        elements=[
            FeedbackButtonsElement(
                action_id=FEEDBACK,
                positive_button={
                    "text": {"type": "plain_text", "text": "👍"},
                    "accessibility_label": "Good answer",
                    "value": f"up:{answer_id}",
                },
                negative_button={
                    "text": {"type": "plain_text", "text": "👎"},
                    "accessibility_label": "Bad answer",
                    "value": f"down:{answer_id}",
                },
            )
        ],
    ).to_dict()


def parse_feedback_value(value: str) -> tuple[str, str]:
    """The vote ("up" | "down") and answer id a feedback button carries; ("", "") for anything else."""
    vote, _, answer_id = value.partition(":")
    return (vote, answer_id) if vote in ("up", "down") and answer_id else ("", "")


_OPEN_MARKER = re.compile(r"\[(?:D(?:a(?:t(?:a(?::[^\]]*)?)?)?)?)?$")


def streamed_markdown(raw: str) -> str:
    """The part of an answer's raw text that can be shown while it is written: `[Data: ...]` markers
    removed (the final message numbers them), a marker still being written held back, mentions neutralised.
    Trailing whitespace waits for the text after it, since a marker coming next takes the space before it: what
    this returns for more text starts with what it returned before, as a stream that only grows needs."""
    text = MARKER.sub("", raw)
    text = _OPEN_MARKER.sub("", text)
    return neutralise_mentions(text).rstrip()


def live_message(markdown: str) -> Message:
    """Text still being written, as a message edited while it grows (where Slack cannot stream)."""
    sections = [_section(t) for t in split_mrkdwn(to_mrkdwn(markdown) or "…")][: MAX_BLOCKS - 1]
    more = ContextBlock(elements=[MarkdownTextObject(text=WRITING_MORE)]).to_dict()
    return Message(text=_preview(markdown), blocks=[*sections, more])


def answer_messages(reply: Reply, collapsible: bool = True) -> list[Message]:
    """The messages of an answer (usually one), each within Slack's limits. The sources and footer go
    on the last one; `collapsible=False` gives the "Show sources" button instead of a container."""
    if reply.kind != "answer":
        return [notice(reply.text)]
    numbered = numbered_sources(reply.sources)
    body = to_mrkdwn(number_citations(neutralise_mentions(reply.text), numbered)) or "_(empty answer)_"
    sections = [_section(t) for t in split_mrkdwn(body)]
    tail: list[dict[str, Any]] = []
    if reply.sources:
        if collapsible:
            tail.append(sources_container(reply.sources))
        else:
            tail.append(_toggle_button(reply.sources_key, len(reply.sources), show=True))
        tail.append(graph_button(reply.sources_key))
    if reply.answer_id:
        tail.append(feedback_block(reply.answer_id))
    tail.append(_footer(reply))

    groups: list[list[dict[str, Any]]] = []
    last_room = MAX_BLOCKS - _TAIL_RESERVE
    while len(sections) > last_room:
        take = min(MAX_BLOCKS, len(sections) - 1)
        groups.append(sections[:take])
        sections = sections[take:]
    groups.append(sections + tail)
    preview = _preview(reply.text)
    return [
        Message(text=preview if i == 0 else f"{preview} (continued, part {i + 1})", blocks=blocks)
        for i, blocks in enumerate(groups)
    ]


def toggle_sources(
    blocks: Sequence[dict[str, Any]], sources: Sequence[SourceRef] | None, key: str, count: int, show: bool
) -> list[dict[str, Any]]:
    """An answer message's blocks with its sources shown (listed, with a "Hide sources" button) or
    hidden again (a "Show sources" button). Blocks are the message's own, as Slack sends them back."""
    kept = [b for b in blocks if not str(b.get("block_id", "")).startswith(SOURCES_BLOCK)]
    ends = (SHOW_GRAPH, FEEDBACK, FOOTER_BLOCK)  # the sources stay just above the "Show graph" button
    at = next((i for i, b in enumerate(kept) if b.get("block_id") in ends), len(kept))
    if show and sources:
        part = [_section(t, f"{SOURCES_BLOCK}:list:{i}") for i, t in enumerate(sources_texts(sources))]
        part.append(_toggle_button(key, len(sources), show=False))
    else:
        part = [_toggle_button(key, count, show=True)]
    return [*kept[:at], *part, *kept[at:]]


def notice(text: str) -> Message:
    """A one-line message: usage help, a refusal, "slow down", an error."""
    return Message(text=safe(" ".join(text.split())))


def error_notice(exc: BaseException) -> Message:
    return notice(
        f":warning: Sorry, something went wrong while answering ({type(exc).__name__}); please try again."
    )


def asked_message(user: str, question: str) -> Message:
    """The visible echo of an `/ask`: "<@user> asked: question", under which the answer is threaded."""
    who = f"<@{user}>" if re.fullmatch(r"[A-Z0-9]+", user) else safe(user)
    text = f"{who} asked: {safe(' '.join(question.split()))}"
    if len(text) > SECTION_CHARS:
        text = _hard_cut(text, SECTION_CHARS - 1)[0] + "…"
    return Message(text=text, blocks=[_section(text)])


def reindex_text(line: str) -> str:
    """A /reindex progress line or summary, as the text of the one message that shows it."""
    return safe(line)


def status_line(text: str) -> str:
    """A stage of the answer as the assistant status line shows it."""
    return safe(text)


FEEDBACK_REASON = "kgbot_feedback_reason"  # action id prefix of the "what was wrong?" buttons
REASON_QUESTION = "Thanks — what was wrong with this answer?"
REASON_THANKS = "Thanks, noted. It helps us improve the answers."


def reason_prompt(answer_id: str, reasons: dict[str, str]) -> Message:
    """The private "what was wrong?" question after a 👎: one button per reason."""
    buttons = [
        ButtonElement(text=label, action_id=f"{FEEDBACK_REASON}:{key}", value=f"{key}:{answer_id}")
        for key, label in reasons.items()
    ]
    return Message(
        text=REASON_QUESTION,
        blocks=[
            _section(REASON_QUESTION),
            ActionsBlock(block_id=FEEDBACK_REASON, elements=buttons).to_dict(),
        ],
    )


def parse_reason_value(value: str) -> tuple[str, str]:
    """The reason key and answer id a "what was wrong?" button carries."""
    key, _, answer_id = value.partition(":")
    return key, answer_id


PROMPTS_TITLE = "Ask about your team's documents"
PROMPT_TITLE_CHARS = 75  # what the panel shows of a suggestion; the whole question is sent


def suggested_prompts(questions: Sequence[str]) -> list[dict[str, str]]:
    """Suggested prompts for the assistant panel: a short title each, the full question as its message."""
    prompts = []
    for question in questions:
        title = question if len(question) <= PROMPT_TITLE_CHARS else question[: PROMPT_TITLE_CHARS - 1] + "…"
        prompts.append({"title": title, "message": question})
    return prompts
