"""Words: how text is cut into words and folded, for full-text search, relevance scoring and entity names.

Three cuts, one per need, each kept as it was measured:
- `words_of` splits like SQLite FTS5's `unicode61` tokenizer; the Neo4j store indexes the same words, so both
  stores' full-text terms match each other exactly (`query_words` and `word_forms` build the queries);
- `content_terms` folds the words that carry meaning (lower case, singular, British -ise spelt -ize): what the
  extractive answerer, routing and global search score relevance on;
- `normalize_title` is the key under which spellings of one entity merge, and that entity linking matches.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

from kg.text.stopwords import CONTENT_STOP_WORDS, HONORIFICS_DROPPED, QUERY_STOP_WORDS

MAX_QUERY_WORDS = 64
_FTS_WORD = re.compile(r"[^\W_]+")
_CONTENT_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_BRITISH = re.compile(r"is(ation|ations|e|ed|es|ing)$")


def words_of(text: str) -> list[str]:
    """Lower-cased words without diacritics, split like the FTS5 `unicode61` tokenizer splits them."""
    text = text.lower()
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return _FTS_WORD.findall(text)


def query_words(text: str) -> list[str]:
    """The distinct words of a user query worth searching for: stopwords go unless nothing else is left."""
    words = list(dict.fromkeys(words_of(text)))
    meaningful = [w for w in words if w not in QUERY_STOP_WORDS]
    return (meaningful or words)[:MAX_QUERY_WORDS]


def word_forms(word: str) -> list[str]:
    """The word and its singular or plural (the index does not stem): "transformers" also finds "transformer"."""
    if len(word) < 3 or not word.isalpha():
        return [word]
    if word.endswith("ies") and len(word) > 4:
        return [word, word[:-3] + "y"]
    if word.endswith("es"):
        return [word, word[:-1], word[:-2]]
    if word.endswith("s") and not word.endswith("ss"):
        return [word, word[:-1]]
    if word.endswith("y") and word[-2] not in "aeiou":
        return [word, word[:-1] + "ies"]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return [word, word + "es"]
    return [word, word + "s"]


def content_terms(text: str) -> set[str]:
    """The words of `text` that carry meaning, lower-cased and singular: what relevance is scored on.

    The plural fold is a crude one on purpose ("matches" -> "matche"): it is applied to both sides of every
    comparison, so it only has to be consistent, and it is cheap on every sentence of a context.
    """
    words = set()
    for w in _CONTENT_WORD.findall(text.lower()):
        if w in CONTENT_STOP_WORDS or len(w) < 2:
            continue
        w = _BRITISH.sub(r"iz\1", w) if len(w) > 5 else w  # factorisation = factorization
        words.add(w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w)
        if "-" in w:
            words.update(p for p in w.split("-") if p not in CONTENT_STOP_WORDS and len(p) > 1)
    return words


def term_counts(text: str) -> Counter[str]:
    """Occurrences of each content term of `text` (normalised as `content_terms` does)."""
    return Counter(term for word in _ASCII_WORD.findall(text) for term in _word_terms(word))


@lru_cache(maxsize=1 << 16)
def _word_terms(word: str) -> tuple[str, ...]:
    """A word's content terms, remembered: global search counts the terms of every report of each level it
    reads, most of them the same few thousand words (at 100k entities 150,000 words a question, 170 ms, when
    each was normalised again)."""
    return tuple(content_terms(word))


def normalize_title(title: str) -> str:
    """The key under which spellings of one entity merge, within a chunk and across the corpus.

    "Mr. Scrooge's" and "Scrooge", "Multi-Head Attention" and "multi head attentions" get the same key. Only
    the last word is singularised, and only when it was written in lower case (or is an acronym plural such
    as "RNNs"), so that names like "Jones" survive.
    """
    text = unicodedata.normalize("NFKC", title).replace("’", "'")
    text = re.sub(r"(?<=\w)'s\b|(?<=s)'(?=\s|$)", "", text)
    words = re.findall(r"[^\W_]+", re.sub(r"[-‐‑‒–—−_/]+", " ", text))
    while len(words) > 1 and words[0].lower() in HONORIFICS_DROPPED | {"the", "a", "an"}:
        words = words[1:]
    if not words:
        return ""
    last = words[-1]
    if re.fullmatch(r"[A-Z]{2,}s", last):
        words[-1] = last[:-1]
    elif last.islower():
        words[-1] = singular(last)
    return " ".join(w.lower() for w in words)


def singular(word: str) -> str:
    """The singular of an English noun written in lower case, leaving words that only look plural alone."""
    if len(word) < 4 or word.endswith(("ss", "us", "is", "ous", "ics", "as", "news", "series", "species")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")) or (word.endswith("oes") and len(word) > 5):
        return word[:-2]  # "matches", "boxes", "potatoes"
    return word[:-1] if word.endswith("s") else word


def stem(word: str) -> str:
    """A crude stem of a lower-cased word, so that "owns", "owned" and "owner" meet, as do "cause" and
    "caused": enough for matching a question's verbs to a sentence's, never shown."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    for suffix in ("ing", "ed", "er", "e"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def stems(text: str) -> set[str]:
    """The stems of the content terms of `text`."""
    return {stem(t) for t in content_terms(text)}
