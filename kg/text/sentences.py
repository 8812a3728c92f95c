"""Sentences: where text is cut into sentences, for the answer writers, the reports and the extractor.

One cut (`_cut`): a sentence ends at . ! or ? before a capital or a digit, but not after an abbreviation or
an initial ("Mr. Scrooge", "J. B. Smith"); a blank line always ends one. Two ways in, for two kinds of text:
- `sentences` reads prose shown to people (chunks, descriptions): headings, tables and code are left out;
- `chunk_sentences` reads raw document text for the offline extractor: layout undone (PDF line breaks and
  hyphenation), noise removed (URLs, e-mail addresses, numeric citations), short unpunctuated lines kept as
  headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.text.stopwords import FUNCTION_WORDS, HONORIFICS, words

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Unit:
    """A sentence of prose and the heading of the section it stands under ("" when none)."""

    text: str
    heading: str = ""


def units(text: str) -> list[Unit]:
    """Sentences of prose, each with its section heading: markdown read as structure, not as text.

    Headings and code are left out of the prose; a list item is a unit of its own; a table row is read as
    "column: cell" pairs; emphasis, inline code and link targets go, so no `**` or `- ` reaches an answer.
    """
    out: list[Unit] = []
    in_code = False
    heading = ""
    for block in _PARAGRAPH_BREAK.split(text):
        prose: list[str] = []
        header: list[str] = []
        lines = block.splitlines()
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith(("```", "~~~")):
                in_code = not in_code
                continue
            if in_code or not stripped:
                continue
            if stripped.startswith("#"):
                out += _prose_units(prose, heading)
                heading = plain_inline(stripped.lstrip("#").strip())
                continue
            if stripped.startswith("|"):
                cells = [plain_inline(c.strip()) for c in stripped.strip("|").split("|")]
                if all(set(c) <= set(":- ") for c in cells):
                    continue  # the rule under a table's header
                if not header:
                    header = cells
                    continue
                out += _prose_units(prose, heading)
                pairs = [f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=False) if c]
                if pairs:
                    out.append(Unit("; ".join(pairs) + ".", heading))
                continue
            if set(stripped) <= set("-=*_ "):
                continue  # a rule, or a setext heading's underline
            if _title_line(stripped, prose, lines[i + 1].strip() if i + 1 < len(lines) else ""):
                out += _prose_units(prose, heading)
                heading = f"{heading} {stripped}" if _numbering(heading) else stripped
                continue
            item = _LIST_MARKER.match(stripped)
            if item:
                out += _prose_units(prose, heading)  # a list item starts a unit of its own
                stripped = stripped[item.end() :]
            prose.append(plain_inline(stripped.lstrip("> ").strip()))
        out += _prose_units(prose, heading)
    return out


def _title_line(line: str, prose: list[str], following: str) -> bool:
    """A plain-text heading ("3.2", "Attention" above a paragraph of a paper): a short line without end
    punctuation or a label's colon, between a finished sentence (or nothing) and a line that starts one."""
    return (
        len(line) < 50
        and not line.endswith(_TERMINAL)
        and ":" not in line
        and not line.startswith(("|", ">"))
        and _LIST_MARKER.match(line) is None
        and bool(following[:1])
        and (following[0].isupper() or following[0].isdigit())
        and (not prose or prose[-1].endswith(_TERMINAL))
    )


def _numbering(heading: str) -> bool:
    """A section number alone ("3.2"), which the next title line completes."""
    return bool(re.fullmatch(r"[\d.]+", heading))


def _prose_units(prose: list[str], heading: str) -> list[Unit]:
    """The sentences of the lines gathered so far, which are then cleared."""
    found = [Unit(sentence, heading) for sentence in _cut(" ".join(" ".join(prose).split()))]
    prose.clear()
    return found


def sentences(text: str) -> list[str]:
    """Sentences of prose: paragraphs split first, headings and code fenced off, so nothing gets glued."""
    return [u.text for u in units(text)]


_LIST_MARKER = re.compile(r"(?:[-*+•·▪‣]|\d{1,3}[.)]|[a-z][.)])\s+")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~|`+)(?=\S)(.+?)(?<=\S)\1(?!\w)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")


def plain_inline(line: str) -> str:
    """A line of markdown as plain text: emphasis and code marks, HTML tags and link targets removed."""
    line = _LINK.sub(r"\1", line)
    line = _TAG.sub("", line)
    previous = None
    while previous != line:
        previous, line = line, _EMPHASIS.sub(lambda m: m.group(2) if _emphasis(m) else m.group(0), line)
    return line


def _emphasis(m: re.Match[str]) -> bool:
    """Marks around words, not inside one ("snake_case_name", "2*3*4" stay)."""
    start = m.start()
    before = m.string[start - 1] if start else " "
    return not (m.group(1) in ("_", "*") and before.isalnum())


def first_sentence(text: str, limit: int = 240) -> str:
    """The text up to its first sentence end, shortened at a word to at most `limit` characters."""
    sentence = next(iter(_cut(" ".join(text.split()))), "")
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rsplit(" ", 1)[0] + "…"


_NOISE = re.compile(
    r"(?:https?://|www\.)\S+"  # urls
    r"|\S+@\S+\.\w+"  # e-mail addresses
    r"|\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]"  # citations: [12], [3, 7], [4-6]
)
_LINE_BREAK_HYPHEN = re.compile(r"([^\W\d_]+)-\n[ \t]*([^\W\d_]+)(-?)")
_TERMINAL = tuple(".,;:!?-—'\")”’]")
_ABBREVIATIONS = HONORIFICS | words("st sr jr vs etc eg ie fig figs eq no vol al cf approx inc ltd co ed")
_BEFORE_A_YEAR = words("c ca b d fl")  # circa, born, died, flourished
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]”’]*\s+(?=[^\w\s]*[A-Z0-9])")


def chunk_sentences(text: str) -> tuple[list[str], set[int]]:
    """The chunk's sentences with layout undone (PDF line breaks, hyphenation), and which are headings."""
    text = _NOISE.sub(" ", text)
    vocabulary = set(re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", text.lower()))

    def unhyphenate(m: re.Match[str]) -> str:
        left, right, more = m.group(1), m.group(2), m.group(3)
        joined = left + right
        keep = f"{left}-{right}".lower() in vocabulary and joined.lower() not in vocabulary
        keep = keep or bool(more) or left[0].isupper()  # "sequence-\nto-sequence", "English-\nto-German"
        return f"{left}-{right}{more}" if keep else joined + more

    text = _LINE_BREAK_HYPHEN.sub(unhyphenate, text)
    found: list[str] = []
    headings: set[int] = set()
    for segment, heading in _segments(text):
        if heading:
            headings.add(len(found))
            found.append(segment)
            continue
        found += _cut(segment)
    return found, headings


_PIECE_END = re.compile(_SENTENCE_END.pattern + r"|\s*\n\s*")


def sentence_pieces(text: str) -> list[str]:
    """`text` cut after each sentence end and line break into pieces that join back into exactly `text`, to
    stream a finished answer the way a model streams one."""
    pieces, start = [], 0
    for end in _PIECE_END.finditer(text):
        if end.end() > start and text[start : end.end()].strip():
            pieces.append(text[start : end.end()])
            start = end.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _cut(segment: str) -> list[str]:
    """The sentences of one paragraph-free line of text."""
    found: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(segment):
        before = re.search(r"(\S*?)\s*([^\W\d_]+)[.!?]*$", segment[start : m.start() + 1])
        following = re.match(r"[^\w\s]*(\w+)", segment[m.end() :])
        if (
            m.group().startswith(".")
            and before
            and is_abbreviation(before.group(2), before.group(1), following.group(1) if following else "")
        ):
            continue
        found.append(segment[start : m.end()].strip())
        start = m.end()
    if segment[start:].strip():
        found.append(segment[start:].strip())
    return found


def is_abbreviation(word: str, previous: str = "", following: str = "") -> bool:
    """ "Mr." or an initial ("Aidan N. Gomez", "J. B. Smith", "songwriter M. Ward"); "matrix Q. The" ends a
    sentence: an initial stands before a name, and a name does not start with a function word."""
    if word.lower() in _ABBREVIATIONS:
        return True
    if word in _BEFORE_A_YEAR and following[:1].isdigit():
        return True  # "(c. 1711–16)", "(b. 1960)", "(d. 1158)"
    if len(word) != 1 or not word.isupper():
        return False
    if not previous or previous[:1].isupper():
        return True
    return following[:1].isupper() and following.lower() not in FUNCTION_WORDS


def _segments(text: str) -> list[tuple[str, bool]]:
    """Paragraphs joined into single lines; a short unpunctuated line (a heading, a table cell) stands alone.

    Each segment comes with whether it is such a line.
    """
    segments: list[tuple[str, bool]] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        lines = [line.strip() for line in paragraph.splitlines()]
        lines = [line for line in lines if line and not line.startswith(("```", "~~~"))]
        current: list[str] = []
        for i, line in enumerate(lines):
            item = _LIST_MARKER.match(line)
            if item or line.startswith("#"):  # a markdown heading or list item: a segment of its own
                if current:
                    segments.append((" ".join(" ".join(current).split()), False))
                    current = []
                heading = item is None
                line = plain_inline(line[item.end() :] if item else line.lstrip("#"))
                if line.strip():
                    segments.append((" ".join(line.split()), heading))
                continue
            line = plain_inline(line)
            if not line.strip():
                continue
            following = lines[i + 1] if i + 1 < len(lines) else ""
            starts_new = (
                not following or following[0].isupper() or following[0].isdigit() or following[0] in "•*·"
            )
            if current and (
                line[0] in "•·*" or (len(line) < 50 and not line.endswith(_TERMINAL) and starts_new)
            ):
                segments.append((" ".join(" ".join(current).split()), False))
                current = []
            if len(line) < 50 and not line.endswith(_TERMINAL) and starts_new:
                segments.append((" ".join(line.split()), True))
            else:
                current.append(line)
        if current:
            segments.append((" ".join(" ".join(current).split()), False))
    return segments
