"""GraphRAG-style citation markers: `[Data: Entities (28); Relationships (32, 39, +more)]`.

A model may cite ids that are not in its context, mistype a dataset or break the marker's syntax. We keep
only ids the context really holds, rewrite each marker to its valid part (dropping it when nothing is left),
and count what was dropped, so an answer never points at evidence that does not exist.
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
    "reports": "Reports",
    "report": "Reports",
    "sources": "Sources",
    "source": "Sources",
    "text units": "Sources",
}

_MARKER = re.compile(r"\[\s*Data\s*:\s*(?P<body>[^\[\]]*?)\]", re.IGNORECASE)
_GROUP = re.compile(r"(?P<name>[A-Za-z][A-Za-z ]*?)\s*\((?P<ids>[^()]*)\)")


@dataclass(frozen=True)
class Citation:
    dataset: str
    id: int


@dataclass
class CheckedAnswer:
    text: str
    citations: list[Citation] = field(default_factory=list)  # distinct, in order of first appearance
    dropped: int = 0  # ids cited that the context did not hold (or could not be read)


def _format(groups: dict[str, list[int]], more: set[str]) -> str:
    parts = []
    for name in DATASETS:
        ids = groups.get(name)
        if not ids:
            continue
        shown = [str(i) for i in ids[:MAX_IDS]]
        if len(ids) > MAX_IDS or name in more:
            shown.append("+more")
        parts.append(f"{name} ({', '.join(shown)})")
    return f"[Data: {'; '.join(parts)}]"


def check_citations(text: str, available: Mapping[str, Set[int]]) -> CheckedAnswer:
    """Keep cited ids present in `available` (dataset -> ids of the context); rewrite markers accordingly."""
    citations: dict[Citation, None] = {}
    dropped = 0

    def rewrite(match: re.Match[str]) -> str:
        nonlocal dropped
        groups: dict[str, list[int]] = {}
        more: set[str] = set()
        for g in _GROUP.finditer(match.group("body")):
            name = _ALIASES.get(" ".join(g.group("name").lower().split()))
            for raw in g.group("ids").split(","):
                token = raw.strip()
                if not token:
                    continue
                if token.lower().lstrip("+").strip() == "more":
                    if name:
                        more.add(name)
                    continue
                if name is None or not token.isdigit() or int(token) not in available.get(name, ()):
                    dropped += 1
                    continue
                if int(token) not in groups.setdefault(name, []):
                    groups[name].append(int(token))
        if not any(groups.values()):
            return ""
        for name in DATASETS:  # only the ids the marker shows count as cited
            for i in groups.get(name, [])[:MAX_IDS]:
                citations[Citation(name, i)] = None
        return _format(groups, more & {n for n, ids in groups.items() if ids})

    cleaned = _MARKER.sub(rewrite, text)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned)  # a removed marker leaves no stray space
    return CheckedAnswer(text=cleaned, citations=list(citations), dropped=dropped)


def format_marker(groups: Mapping[str, list[int]], limit: int = MAX_IDS) -> str:
    """A marker for the given ids: at most `limit` (<= 5) per dataset, then +more."""
    shown = {k: list(v)[:limit] for k, v in groups.items()}
    return _format(shown, {k for k, v in groups.items() if len(v) > limit})
