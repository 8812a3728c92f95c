"""The deterministic embedding both sides of a kgbot-vs-GraphRAG benchmark use: hashed bag of words.

Imported by kgbot's side and, by path, by GraphRAG's side (bench/graphrag_side.py, in GraphRAG's own virtual
environment), so the very same code embeds entities and questions in both interpreters. Needs only numpy.

Each lower-cased word (stopwords dropped) adds +1 or -1 (by a second hash) to one of DIM buckets chosen by
its BLAKE2b hash; the vector is L2-normalised. Texts sharing words are similar, as with a weak real model.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

DIM = 256
_WORD = re.compile(r"[^\W_]+")
_STOPWORDS = frozenset(
    """a about after all also an and any are as at be been but by can did do does for from had has have he
    her his how i if in into is it its me my no not of on or our she so some than that the their them then
    there these they this those to was we were what when where which who whom why will with would you your
    tell explain describe""".split()
)


def _bucket(word: str) -> tuple[int, float]:
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % DIM, 1.0 if (value >> 32) & 1 else -1.0


def embed_text(text: str) -> list[float]:
    """A unit vector of DIM floats (all zeros for a text without words)."""
    vector = np.zeros(DIM, dtype=np.float64)
    for word in _WORD.findall(text.lower()):
        if word not in _STOPWORDS:
            index, sign = _bucket(word)
            vector[index] += sign
    norm = float(np.linalg.norm(vector))
    return (vector / norm).tolist() if norm else vector.tolist()


def entity_text(title: str, description: str) -> str:
    """What is embedded for an entity: GraphRAG embeds `title:description`."""
    return f"{title}:{description}"
