"""GraphRAG-style citation markers: `[Data: Entities (28); Relationships (32, 39, +more)]`.

A model may cite ids that are not in its context, mistype a dataset or break the marker's syntax. We keep
only ids the context really holds, rewrite each marker to its valid part (dropping it when nothing is left),
and count what was dropped, so an answer never points at evidence that does not exist.

Markers are read leniently — singular or lower-case dataset names, `Sources: 1, 2`, a missing parenthesis or
closing bracket, brackets nested inside — but only as far as they look like a marker: prose that follows a
broken marker is kept as written.

This is the one place that knows what a marker looks like: the answer writers, the community reports and both
chat renderers read markers through `MARKER` and `cited_groups` (on checked text, where every marker is well
formed) and write them with `format_marker`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from dataclasses import dataclass, field

DATASETS = ("Entities", "Relationships", "Reports", "Sources")
MAX_IDS = 5

_ALIASES = {
    "entities": "Entities",
    "entity": "Entities",
    "relationships": "Relationships",
    "relationship": "Relationships",
    "relations": "Relationships",
    "relation": "Relationships",
    "reports": "Reports",
    "report": "Reports",
    "sources": "Sources",
    "source": "Sources",
    "text units": "Sources",
    "text unit": "Sources",
}

_OPEN = re.compile(r"\[\s*Data\s*:", re.IGNORECASE)
# One `Dataset (ids)` group of a marker, also `Dataset: ids`, an unclosed `Dataset (ids`, or a nested
# `[Data: Dataset (ids)` opening inside the marker. The dataset is one or two words, so a broken marker
# never swallows the sentence after it.
_GROUP = re.compile(  # possessive quantifiers: linear time on any input, however malformed
    r"""\s*+(?:[;,]\s*+)?
    (?P<open>(?:\[\s*+|Data\s*+:\s*+){0,4})
    (?!Data\s*:)(?P<name>[A-Za-z]++(?:[ _][A-Za-z]++)?)\s*+[(:]
    (?P<ids>(?:[^()\[\];\n]|\[[^\[\]\n]*+\])*+)
    (?:\)|(?=[\];\n])|\Z)""",
    re.IGNORECASE | re.VERBOSE,
)
_TOKEN = re.compile(r"\+\s*more|[^,\s]+", re.IGNORECASE)
# What may sit between a marker's last group and its closing bracket ("..., and others]"): short, no
# sentence end, so a marker left open never takes the prose after it.
_TAIL = re.compile(r"[^\[\]\n.!?]{0,30}\]")
# A "[Data: ...]" with no readable group at all: dropped whole, its numbers counted as dropped ids.
_GARBLED = re.compile(r"[^\[\]\n]{0,200}\]")
_ID = re.compile(r"[0-9]{1,9}")  # ASCII digits only: "²".isdigit() is true but int("²") fails
# A marker of checked text, with the blanks before it (`lead`) so that a renderer can replace or remove it
# whole. A match starts only where a run of blanks starts (the lookbehind): a long run is scanned once, not
# once per blank.
MARKER = re.compile(r"(?P<lead>(?<![ \t])[ \t]*)\[\s*Data\s*:(?P<body>[^\[\]]*)\]")
_CITED = re.compile(r"(Entities|Relationships|Reports|Sources)\s*\(([^()]*)\)")


@dataclass(frozen=True)
class Citation:
    dataset: str
    id: int


@dataclass
class CheckedAnswer:
    text: str
    citations: list[Citation] = field(default_factory=list)  # distinct, in order of first appearance
    dropped: int = 0  # ids cited that the context did not hold (or could not be read)


def _format(groups: Mapping[str, list[int]], more: Set[str]) -> str:
    parts = []
    for name in DATASETS:
        ids = groups.get(name)
        if not ids:
            continue
        shown = [str(i) for i in ids[:MAX_IDS]]
        if len(ids) > MAX_IDS or name in more:
            shown.append("+more")
        parts.append(f"{name} ({', '.join(shown)})")
    return f"[Data: {'; '.join(parts)}]" if parts else ""


@dataclass
class _Marker:
    end: int  # index just past the marker in the text
    groups: dict[str, list[int]] = field(default_factory=dict)
    more: set[str] = field(default_factory=set)
    dropped: int = 0


def _read_marker(text: str, start: int, available: Mapping[str, Set[int]]) -> _Marker:
    """The marker opening at `start` (at "[Data:"), read as far as it looks like one."""
    opening = _OPEN.match(text, start)
    assert opening is not None
    pos = opening.end()
    marker = _Marker(end=pos)
    depth = 1  # open brackets: nested "[Data:" openings add one each
    groups = 0
    while (g := _GROUP.match(text, pos)) is not None and g.end() > pos:
        pos, groups = g.end(), groups + 1
        depth += g.group("open").count("[")
        name = _ALIASES.get(" ".join(g.group("name").lower().replace("_", " ").split()))
        for token in _TOKEN.findall(g.group("ids")):
            token = token.strip("[]#")
            if not token:
                continue
            if token.lower().replace(" ", "").lstrip("+") == "more":
                if name:
                    marker.more.add(name)
                continue
            if name is None or not _ID.fullmatch(token) or int(token) not in available.get(name, ()):
                marker.dropped += 1
                continue
            ids = marker.groups.setdefault(name, [])
            if int(token) not in ids:
                ids.append(int(token))
        while depth > 1 and text.startswith("]", pos):  # "(2)]]": a nested marker closes
            pos, depth = pos + 1, depth - 1
    tail = (_TAIL if groups else _GARBLED).match(text, pos)
    if tail is not None:
        if not groups:
            marker.dropped += len(re.findall(r"[0-9]+", tail.group()))
        pos, depth = tail.end(), depth - 1
    while depth > 0 and text.startswith("]", pos):
        pos, depth = pos + 1, depth - 1
    marker.end = pos
    return marker


def check_citations(text: str, available: Mapping[str, Set[int]]) -> CheckedAnswer:
    """Keep cited ids present in `available` (dataset -> ids of the context); rewrite markers accordingly.

    After this, every "[Data:" in the text is a well-formed marker citing only available ids.
    """
    citations: dict[Citation, None] = {}
    dropped = 0
    out: list[str] = []
    pos = 0
    while (opening := _OPEN.search(text, pos)) is not None:
        marker = _read_marker(text, opening.start(), available)
        dropped += marker.dropped
        kept = {name: ids for name, ids in marker.groups.items() if ids}
        for name in DATASETS:  # only the ids the marker shows count as cited
            for i in kept.get(name, [])[:MAX_IDS]:
                citations[Citation(name, i)] = None
        replacement = _format(kept, marker.more & kept.keys())
        start, end = opening.start(), marker.end
        if not replacement:  # a removed marker takes the space before it (after it, at a line start)
            while start > pos and text[start - 1] in " \t":
                start -= 1
            if start == 0 or text[start - 1] == "\n":
                while end < len(text) and text[end] in " \t":
                    end += 1
        out += [text[pos:start], replacement]
        pos = end
    out.append(text[pos:])
    return CheckedAnswer(text="".join(out), citations=list(citations), dropped=dropped)


def format_marker(groups: Mapping[str, list[int]], limit: int = MAX_IDS) -> str:
    """A marker for the given ids: at most `limit` (<= 5) per dataset, then +more."""
    shown = {k: list(v)[:limit] for k, v in groups.items()}
    return _format(shown, {k for k, v in groups.items() if len(v) > limit})


def cited_groups(marker: re.Match[str]) -> list[tuple[str, list[str]]]:
    """The groups of a `MARKER` match, in order: (dataset, its tokens as written: ids and "+more")."""
    return [(g.group(1), [t.strip() for t in g.group(2).split(",")]) for g in _CITED.finditer(marker["body"])]


def cited_ids(marker: re.Match[str]) -> list[tuple[str, int]]:
    """(dataset, id) of every id a `MARKER` match cites, in order; "+more" and anything not an id left out."""
    return [
        (dataset, int(token))
        for dataset, tokens in cited_groups(marker)
        for token in tokens
        if token.isascii() and token.isdigit()
    ]


def strip_markers(text: str) -> str:
    """`text` without its citation markers, however they are written (for titles and report inputs)."""
    return check_citations(text, {}).text


def defuse_markers(text: str) -> str:
    """`text` with every "[Data:" opening turned into "(Data:": a document quoting a marker must not read as
    one of ours once its sentences are quoted in an answer."""
    return _OPEN.sub(lambda m: "(" + m.group()[1:], text)
