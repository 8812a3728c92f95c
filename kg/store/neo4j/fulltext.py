"""Full-text search in the Neo4j store, made to match the SQLite store's: the indexes hold words split and
folded exactly as FTS5 splits them (kg.text.words.words_of), and queries search the same words and plural
forms; user text reaches Lucene only escaped, so it is only ever words."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from kg.text.words import query_words, word_forms, words_of

# The searchable fields of the full-text indexes (see `search_text`) and the weight of a hit in each: a title hit
# weighs like ten description hits, as in the SQLite store.
ENTITY_SEARCH_FIELDS = {"title_terms": 10, "description_terms": 1}
CHUNK_SEARCH_FIELDS = {"terms": 1}
# The postings budgets of an entity search, as the SQLite store's (kg.store.sqlite.fulltext.split_by_cost).
MAX_POSTINGS = 2000
MAX_TITLE_POSTINGS = 10_000
MAX_TERM_CHARS = 255  # Lucene's standard tokenizer splits longer tokens: such a word can never match whole

_LUCENE_SPECIAL = frozenset('+-=&|><!(){}[]^"~*?:\\/')
_LUCENE_OPERATORS = re.compile(r"\b(AND|OR|NOT|TO)\b")


def search_text(text: str) -> str:
    """What the full-text indexes hold for `text`: its words as the SQLite store's FTS5 tokenizer splits and
    folds them, space-separated. The indexes use Lucene's whitespace analyzer on these, so both stores match
    the same words ("Scrooge's" is "scrooge s" in both, where Lucene's standard tokenizer keeps "scrooge's")."""
    return " ".join(words_of(text))


def escape_lucene(text: str) -> str:
    """`text` with every Lucene query-syntax character escaped, so that user text is only ever words.

    Boolean operators are operators only in upper case; they are lower-cased (the index's analyzer lower-cases
    everything anyway), so "AND" is searched as the word "and".
    """
    escaped = "".join("\\" + ch if ch in _LUCENE_SPECIAL else ch for ch in text)
    return _LUCENE_OPERATORS.sub(lambda m: m.group().lower(), escaped)


def search_terms(text: str) -> list[str]:
    """The words of a user query to search for, with their singular/plural forms (as the SQLite store does)."""
    words = [w for w in query_words(text) if len(w) <= MAX_TERM_CHARS]
    return list(dict.fromkeys(form for word in words for form in word_forms(word)))


def fulltext_query(text: str, fields: Mapping[str, int]) -> str | None:
    """A Lucene query OR-ing the words of `text` in each of `fields`, a hit in a field weighing its weight.

    None when the text has nothing to search for. Every word is escaped (`escape_lucene`).
    """
    terms = [escape_lucene(term) for term in search_terms(text)]
    if not terms:
        return None
    anywhere = " OR ".join(terms)
    return " OR ".join(
        f"{field}:({anywhere})" + (f"^{weight}" if weight != 1 else "") for field, weight in fields.items()
    )


def link_query(keys: Sequence[str]) -> str:
    """A Lucene query for entities holding any of `keys` whole (the link index's keyword analyzer keeps each
    key one term): each key a quoted phrase, in which only a quote and a backslash need escaping."""
    return " OR ".join('"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"' for key in keys)
