"""Offline entity linking: the keys an entity can be named by, and the keys a question names.

A question names an entity when one of its word spans has the same key as the entity's title or an alias of
it. Keys fold case, possessives, leading articles and honorifics, and the plural of the last word
("transformers" -> "transformer"), as the merge step does (kg.text.words.normalize_title). Aliases are
derived from the title alone, so linking needs no model and no network:
- a title with a parenthetical qualifier is also named without it: "Kiss and Tell (1945 film)" -> "kiss and tell";
- a title of two or more capitalised words is also named by its initials, written in capitals in the question:
  "Attention Deficit Hyperactivity Disorder" -> "ADHD". Acronym keys stay upper case so that an ordinary word
  ("who") never links to an acronym ("WHO" from "World Health Organization").
The store keeps every entity's keys (`GraphStore.link_entities`), so linking is one set-at-a-time lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.text.stopwords import NAME_BOUNDARY_WORDS
from kg.text.words import normalize_title

MAX_SPAN_WORDS = 6  # longer titles are named by their shorter aliases or found by full text
_QUALIFIER = re.compile(r"\s*\([^()]*\)\s*")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_ACRONYM = re.compile(r"[A-Z][A-Z0-9&]*[A-Z0-9]s?")


def title_key(text: str) -> str:
    """The key of a name: case, possessives, articles and the last word's plural folded."""
    return normalize_title(text.lower())


def entity_keys(title: str) -> list[str]:
    """Every key `title` can be linked by: its own, without a parenthetical qualifier, and its acronym."""
    keys = [title_key(title)]
    bare = _QUALIFIER.sub(" ", title).strip()
    if bare and bare != title:
        keys.append(title_key(bare))
    words = _WORD.findall(bare or title)
    initials = [w[0] for w in words if w.lower() not in NAME_BOUNDARY_WORDS]
    if len(initials) >= 2 and all(w[0].isupper() for w in words if w.lower() not in NAME_BOUNDARY_WORDS):
        keys.append("".join(initials).upper())
    return [k for k in dict.fromkeys(keys) if k]


@dataclass(frozen=True)
class Mention:
    """A span of the question that may name an entity: its key and how many words it covers."""

    key: str
    start: int
    words: int


def question_mentions(question: str) -> list[Mention]:
    """Every span of up to MAX_SPAN_WORDS words that does not start or end with a function word (a single
    word only when it looks like a name), and every word written in capitals (a possible acronym, "RNNs"
    folded to "RNN")."""
    words = _WORD.findall(question)
    mentions: dict[str, Mention] = {}
    for start in range(len(words)):
        if words[start].lower() in NAME_BOUNDARY_WORDS:
            continue
        for n in range(1, min(MAX_SPAN_WORDS, len(words) - start) + 1):
            last = words[start + n - 1]
            if last.lower() in NAME_BOUNDARY_WORDS:
                continue
            if n == 1 and not _name_like(last, start):
                continue
            key = title_key(" ".join(words[start : start + n]))
            if key and (key not in mentions or mentions[key].words < n):
                mentions[key] = Mention(key, start, n)
        word = words[start]
        if _ACRONYM.fullmatch(word) and len(word.rstrip("s")) >= 2:
            acronym = word[:-1] if word.endswith("s") and word[:-1].isupper() else word
            mentions.setdefault(acronym, Mention(acronym, start, 1))
    return list(mentions.values())


def _name_like(word: str, position: int) -> bool:
    """A single word worth linking alone: capitalised where a sentence does not force it, or with a digit or
    an inner capital ("f(x)", "iPhone", "GPT4"). A lone lower-case word ("film") is left to full text."""
    if any(ch.isdigit() for ch in word) or any(ch.isupper() for ch in word[1:]):
        return True
    return word[:1].isupper() and position > 0


def longest_mentions(found: list[Mention]) -> list[Mention]:
    """The mentions not inside a longer one that also names an entity ("Kiss and Tell" wins over "Tell")."""
    kept: list[Mention] = []
    for m in sorted(found, key=lambda m: (-m.words, m.start)):
        inside = any(k.start <= m.start and m.start + m.words <= k.start + k.words for k in kept)
        if not inside:
            kept.append(m)
    return kept
