"""What a question asks for, read without a model: the kinds of answer it wants (a person, a time, a number, a
cause, a way...), the things it names, and the words of the relationship it asks about.

The extractive answerer scores sentences with it: a sentence answers "who owns X?" when it names X, says
"owns" (or "owned", "owner") and holds a name that is not X.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kg.text.words import stems

_KINDS = [
    ("person", re.compile(r"\b(?:who|whom|whose)\b")),
    ("time", re.compile(r"\bwhen\b|\bwhat (?:year|date|time|day|month)\b|\bwhich (?:year|date|day|month)\b")),
    (
        "number",
        re.compile(r"\bhow (?:many|much|long|old|often|far|big|large)\b|\bwhat (?:number|percentage)\b"),
    ),
    ("cause", re.compile(r"\bwhy\b|\bwhat (?:caused|causes|cause)\b|\breason\b")),
    ("manner", re.compile(r"\bhow (?!many|much|long|old|often|far|big|large)\w+")),
    (
        "place",
        re.compile(r"\bwhere\b|\bwhat (?:city|country|place|state)\b|\bwhich (?:city|country|state)\b"),
    ),
]
# Words that open a question or a sentence in capitals without naming anything.
_OPENERS = frozenset(
    "who whom whose what when where why which how is are was were do does did can could should would will "
    "the a an in on at of and or but if for to by with from as it its they their this that these those i".split()
)
_NAME_WORD = re.compile(r"[A-Z0-9][\w'’.&-]*|\"[^\"]+\"")
_CONNECTORS = frozenset("of the de la von van for".split())

_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday"
)
_SIGNS = {
    "person": re.compile(r"\b[A-Z][a-z'’-]+(?: [A-Z]\.)? [A-Z][a-z'’-]+"),
    "time": re.compile(
        rf"\b(?:1[0-9]{{3}}|20[0-9]{{2}}|\d{{1,2}}:\d{{2}}|(?:{'|'.join(_MONTHS.split())})\b|century|ago"
        r"|daily|nightly|weekly|yesterday|today)",
        re.IGNORECASE,
    ),
    "number": re.compile(
        r"\b(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
        r"forty|fifty|hundred|thousand|million|billion|dozen)\b",
        re.IGNORECASE,
    ),
    "cause": re.compile(
        r"\b(?:because|due to|caus\w*|led to|result\w*|reason|since|so that|fail\w*|expired|broke\w*)\b",
        re.IGNORECASE,
    ),
    "manner": re.compile(
        r"\b(?:by|through|using|via|with|fix\w*|renew\w*|restart\w*|add\w*|run\w*|step|connect\w*)\b",
        re.IGNORECASE,
    ),
    "place": re.compile(r"\b(?:in|at|near|from) (?:the )?[A-Z]\w+"),
}


@dataclass
class Asked:
    """A question as the extractive answerer reads it."""

    text: str
    kinds: list[str] = field(default_factory=list)  # in the order the question asks them
    names: list[set[str]] = field(default_factory=list)  # the stems of each thing it names
    terms: set[str] = field(default_factory=set)  # the stems of all its content words

    @property
    def core(self) -> set[str]:
        """Its stems without the parts of hyphenated words ("inc-102", not "inc" and "102")."""
        return self.terms - {p for t in self.terms if "-" in t for p in t.split("-")}

    @property
    def relation(self) -> set[str]:
        """The stems that are not part of a name: what the question asks about the things it names."""
        return self.terms - set().union(*self.names) if self.names else set(self.terms)


def read_question(text: str) -> Asked:
    """The kinds of answer, the names and the terms of `text`."""
    lower = text.lower()
    found = sorted((m.start(), kind) for kind, pattern in _KINDS for m in [pattern.search(lower)] if m)
    kinds = list(dict.fromkeys(kind for _, kind in found))
    names = [s for s in (_name_stems(n) for n in names_in(text)) if s]
    return Asked(text=text, kinds=kinds, names=names, terms=stems(text))


def _name_stems(name: str) -> set[str]:
    """A name's stems without the parts of its hyphenated words: "INC-102" is {"inc-102"}, not also "inc"."""
    found = stems(name)
    parts = {p for t in found if "-" in t for p in t.split("-")}
    return found - parts


def names_in(text: str) -> list[str]:
    """Capitalised phrases and quoted titles: "Billing API", "INC-101", "Arthur's Magazine"."""
    names: list[str] = []
    current: list[str] = []
    tokens = re.findall(r"\"[^\"]+\"|[\w'’&-]+(?:\.\w+)*|[^\w\s]", text)
    for i, token in enumerate(tokens):
        is_name = bool(_NAME_WORD.fullmatch(token)) and not (
            token.lower() in _OPENERS and (i == 0 or not current)
        )
        if is_name or (current and token.lower() in _CONNECTORS):
            current.append(token)
            continue
        _close(current, names)
        current = []
    _close(current, names)
    return names


def _close(current: list[str], names: list[str]) -> None:
    while current and current[-1].lower() in _CONNECTORS:
        current.pop()
    if current:
        names.append(" ".join(current).strip('"'))


def signs_of(sentence: str, kinds: list[str], asked_names: set[str]) -> set[str]:
    """The kinds of answer `sentence` holds something of, besides what the question itself names."""
    present = set()
    for kind in kinds:
        pattern = _SIGNS.get(kind)
        if pattern is None:
            continue
        for m in pattern.finditer(sentence):
            if not stems(m.group()) <= asked_names or kind in ("cause", "manner"):
                present.add(kind)
                break
    return present
