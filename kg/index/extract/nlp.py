"""The offline extractor: entities and relationships from plain heuristics, no model and no network.

Entities are capitalised names ("Bob Cratchit", "Mr. Scrooge"), acronyms ("BLEU", "WMT 2014") and key phrases,
the lower-case noun phrases that carry a technical text ("multi-head attention", "self-attention").
Relationships are sentence co-occurrences: the sentence is the evidence, the number of sentences the weight.

There is no part-of-speech tagger, so noun phrases are found the way RAKE finds keywords: runs of words
between stop words and punctuation; how a sentence is read is in nlp_reading.py, the word lists that stand in
for the grammar in nlp_words.py. Every decision is local to one chunk, because results are cached per chunk:
the same text must always give the same extraction.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kg.index.extract.base import ChunkExtraction, ExtractedEntity, ExtractedRelationship, ProgressFn
from kg.index.extract.nlp_reading import (
    Run,
    chunk_words,
    head_noun,
    is_shouting_or_formula,
    looks_like_participle,
    name_type,
    phrase_runs,
    split_names_and_words,
    tokenize,
)
from kg.index.extract.nlp_words import COMMON_ADJECTIVES, STRUCTURE_WORDS, VAGUE_WORDS
from kg.model import TextUnit
from kg.text.sentences import chunk_sentences
from kg.text.stopwords import PHRASE_STOP_WORDS
from kg.text.tokens import count_tokens
from kg.text.words import normalize_title

# Entity types, most specific first; `pick_type` uses this order to settle ties.
TYPE_PRIORITY = ("PERSON", "ORGANIZATION", "GEO", "EVENT", "TECHNOLOGY", "NAME", "CONCEPT")
_GENERIC_TYPES = frozenset({"NAME", "CONCEPT"})

_MAX_PHRASE_WORDS = 4
_TOKENS_PER_CONCEPT = 40  # a chunk keeps one key phrase per this many tokens (30 for 1,200), the most used
_MIN_CONCEPTS_PER_CHUNK = 10
_NEIGHBOURS = 4  # a mention is paired with this many following entities of its sentence, not all of them
_MAX_EVIDENCE_CHARS = 400
_BATCH = 8  # chunks per worker-thread hop; progress is reported per batch


def pick_type(types: Iterable[str]) -> str:
    """The type of a merged entity: the most frequent specific type, else the most frequent generic one.

    A name typed PERSON in one chunk (where an honorific gave it away) and NAME in ten others is a PERSON.
    """
    counts = Counter(types)
    specific = {t: n for t, n in counts.items() if t not in _GENERIC_TYPES}
    pool = specific or counts
    if not pool:
        return "CONCEPT"
    rank = {t: i for i, t in enumerate(TYPE_PRIORITY)}
    return min(pool, key=lambda t: (-pool[t], rank.get(t, len(rank)), t))


class NlpExtractor:
    """The `Extractor` that needs nothing but the text: fast enough for a whole book in seconds."""

    @property
    def cache_key(self) -> str:
        return "nlp:v2"  # bump whenever the output changes: cached extractions are then redone

    async def extract(
        self, units: Sequence[TextUnit], progress: ProgressFn | None = None
    ) -> list[ChunkExtraction]:
        results: list[ChunkExtraction] = []
        for start in range(0, len(units), _BATCH):
            texts = [u.text for u in units[start : start + _BATCH]]
            results.extend(await asyncio.to_thread(_extract_all, texts))
            if progress is not None:
                progress(len(texts))
        return results


def _extract_all(texts: list[str]) -> list[ChunkExtraction]:
    return [extract_chunk(t) for t in texts]


# --- mentions ----------------------------------------------------------------------------------------------


@dataclass
class _Mention:
    sentence: int
    start: int  # character span in the sentence
    end: int
    title: str
    type: str


def extract_chunk(text: str) -> ChunkExtraction:
    """Entities and co-occurrence relationships of one chunk of text."""
    text = re.sub(r"(?<!\w)_|_(?!\w)", "", text)  # _italics_ markers of plain-text books
    sentences, headings = chunk_sentences(text)
    tokenized = [tokenize(s) for s in sentences]
    chunk = chunk_words(tokenized)

    mentions: list[_Mention] = []
    runs: list[Run] = []
    for si, tokens in enumerate(tokenized):
        if not tokens or is_shouting_or_formula(tokens):
            continue
        names, words = split_names_and_words(sentences[si], tokens, chunk)
        for run in names:
            title = sentences[si][run[0].start : run[-1].end]
            mentions.append(
                _Mention(si, run[0].start, run[-1].end, " ".join(title.split()), name_type(run, chunk))
            )
        runs.extend(phrase_runs(si, tokens, words))

    mentions.extend(_phrase_mentions(runs))
    mentions = _prune(mentions, max(_MIN_CONCEPTS_PER_CHUNK, count_tokens(text) // _TOKENS_PER_CONCEPT))
    mentions.sort(key=lambda m: (m.sentence, m.start, -m.end))

    by_key: dict[str, list[_Mention]] = defaultdict(list)  # in order of first mention
    in_sentence: dict[int, list[_Mention]] = defaultdict(list)
    for m in mentions:
        by_key[normalize_title(m.title)].append(m)
        in_sentence[m.sentence].append(m)
    title_of = {key: Counter(m.title for m in ms).most_common(1)[0][0] for key, ms in by_key.items()}

    entities = [
        ExtractedEntity(
            title=title_of[key],
            type=pick_type(m.type for m in ms),
            description=_describe(ms, sentences, headings, in_sentence),
        )
        for key, ms in by_key.items()
    ]
    relationships = _relationships(sentences, headings, in_sentence, title_of)
    return ChunkExtraction(entities=entities, relationships=relationships)


def _phrase_mentions(runs: list[Run]) -> list[_Mention]:
    """Key phrases: from each run, the longest phrase the chunk repeats (else the run itself, if short), the
    hyphenated compounds in it, and its head noun.

    Repetition is what separates "scaled dot-product attention" from "extremely small gradients" without a
    grammar; hyphenated compounds are specific enough to count even once. A single word must be used as a
    noun ("the door", "of attention") and end several runs, which keeps out stray adjectives and verbs.
    """
    grams: Counter[tuple[str, ...]] = Counter()
    heads: Counter[str] = Counter()
    nouns: set[str] = set()
    for run in runs:
        for n in range(1, min(_MAX_PHRASE_WORDS, len(run.words)) + 1):
            for s in range(len(run.words) - n + 1):
                grams[run.words[s : s + n]] += 1
        last = run.words[-1]
        if run.headed:
            heads[last] += 1
        if "-" in last:
            heads[head_noun(last)] += 1
        if run.nominal:
            nouns.update((last, head_noun(last)))

    def frequent_noun(word: str) -> bool:
        return (
            heads[word] >= 2 and word in nouns and word not in VAGUE_WORDS and not looks_like_participle(word)
        )

    def is_noun(word: str) -> bool:
        """A single word worth an entity: a noun the chunk keeps using, or a compound used as a noun."""
        if "-" in word:
            return word in nouns or heads[word] >= 2 or frequent_noun(head_noun(word))
        return frequent_noun(word)

    mentions: list[_Mention] = []
    for run in runs:
        last = len(run.words) - 1
        spans: list[tuple[int, int]] = []
        best = _best_phrase(run, grams)
        if best is not None and (best[0] < best[1] or is_noun(run.words[best[0]])):
            spans.append(best)
        if best != (0, last) and 0 < last < 3 and run.headed and any("-" in w for w in run.words):
            spans.append((0, last))  # "scaled dot-product attention" where "dot-product attention" repeats
        spans += [(p, p) for p, word in enumerate(run.words) if "-" in word and is_noun(word)]
        # The head noun, unless it already heads the phrase kept ("base models" is not also "models"): a
        # generic head would otherwise be linked to everything.
        if frequent_noun(run.words[last]) and not (best and best[0] < best[1] == last):
            spans.append((last, last))
        for first, final in dict.fromkeys(spans):
            start, end = run.span(first, final)
            mentions.append(
                _Mention(run.sentence, start, end, " ".join(run.words[first : final + 1]), "CONCEPT")
            )
        tail = head_noun(run.words[last])
        if tail != run.words[last] and frequent_noun(tail):  # "self-attention" is also about attention
            end = run.span(last, last)[1]
            mentions.append(_Mention(run.sentence, end - len(tail), end, tail, "CONCEPT"))
    return mentions


def _best_phrase(run: Run, grams: Counter[tuple[str, ...]]) -> tuple[int, int] | None:
    """(first, last) of the phrase to keep from a run of content words, head-final where possible.

    A phrase the chunk repeats is kept whole; otherwise a headed run is kept if short, without leading
    common adjectives ("good evening") and the leading gerunds of a verb phrase ("by computing hidden
    representations"; but "the training data" stays).
    """
    words = run.words
    for n in range(min(_MAX_PHRASE_WORDS, len(words)), 1, -1):
        for s in range(len(words) - n, -1, -1):
            if grams[words[s : s + n]] >= 2:
                return s, s + n - 1
    if not run.headed:
        return None
    first = 0
    while first < len(words) - 1 and (
        words[first] in COMMON_ADJECTIVES or (not run.determined and words[first].endswith("ing"))
    ):
        first += 1
    return (max(first, len(words) - 3), len(words) - 1) if first < len(words) else None


def _prune(mentions: list[_Mention], max_concepts: int) -> list[_Mention]:
    """Drop junk titles, and the chunk's long tail of key phrases (keeping those mentioned most)."""
    kept = [m for m in mentions if _plausible_title(m.title)]
    scores: Counter[str] = Counter()
    for m in kept:
        if m.type == "CONCEPT":  # repetition first; longer and hyphenated phrases are more specific
            scores[normalize_title(m.title)] += (
                1 + 0.25 * m.title.count(" ") + (0.25 if "-" in m.title else 0)
            )
    keep = {key for key, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:max_concepts]}
    return [m for m in kept if m.type != "CONCEPT" or normalize_title(m.title) in keep]


def _plausible_title(title: str) -> bool:
    key = normalize_title(title)
    if not key or len(key) < 2 or not re.search(r"[^\W\d_]", key):
        return False
    words = key.split()
    return not (
        len(words) == 1
        and (words[0] in PHRASE_STOP_WORDS or words[0] in STRUCTURE_WORDS or words[0] in VAGUE_WORDS)
    )


# --- descriptions and relationships ------------------------------------------------------------------------

_DEFINITION_AFTER = re.compile(  # "X is ...", "X (Y) consists of ...", "X, a ..."
    r"\s*(?:\([^)]*\)\s*)?(?:(?:is|are|was|were|consists?|refers?|means|denotes|describes|represents|"
    r"allows|computes|has|have)\b|,\s*(?:a|an|the)\b)",
    re.IGNORECASE,
)
_DEFINITION_BEFORE = re.compile(
    r"\b(?:called|named|known as|termed|namely|call our|we call)\s*[\"'“‘]?\s*$", re.I
)


def _describe(
    mentions: list[_Mention], sentences: list[str], headings: set[int], in_sentence: dict[int, list[_Mention]]
) -> str:
    """Up to two sentences about the entity: definitions first, then sentences that connect it to others.

    A heading chosen before a sentence leads it as "Heading: sentence", as a relationship's evidence does, so
    that the heading is never read as the start of the sentence ("Lilu (mythology) A lilu is ...")."""

    def score(m: _Mention) -> float:
        sentence = sentences[m.sentence]
        n_words = len(sentence.split())
        s = 0.0
        if _DEFINITION_AFTER.match(sentence, m.end) or _DEFINITION_BEFORE.search(sentence[: m.start]):
            s += 3.0
        s += 0.5 * min(4, len({x.title for x in in_sentence[m.sentence]}) - 1)
        s += 1.0 if 6 <= n_words <= 45 else (-2.0 if n_words > 70 else -1.0 if n_words < 5 else 0.0)
        return s

    first_per_sentence = {m.sentence: m for m in reversed(mentions)}
    best = sorted(first_per_sentence.values(), key=lambda m: (-score(m), m.sentence))[:2]
    best.sort(key=lambda m: m.sentence)
    parts = [_excerpt(sentences[m.sentence], m.start, m.end) for m in best]
    if len(best) == 2 and best[0].sentence in headings:
        return f"{parts[0]}: {parts[1]}"
    return " ".join(parts)


def _relationships(
    sentences: list[str], headings: set[int], in_sentence: dict[int, list[_Mention]], title_of: dict[str, str]
) -> list[ExtractedRelationship]:
    """Pairs of entities in one sentence, each weighed by its number of sentences in the chunk.

    A heading's entities are also paired with those of the sentence right under it: "Multi-Head Attention"
    is what the next sentence describes. Only a few nearest entities are paired, so a long list in one
    sentence does not make a clique.
    """
    evidence: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(
        list
    )  # (n entities, sentence, text)

    def add(key_a: str, key_b: str, n: int, si: int, text: str) -> None:
        pair = (key_a, key_b) if key_a < key_b else (key_b, key_a)
        evidence[pair].append((n, si, text))

    first_mentions: dict[int, list[tuple[str, _Mention]]] = {}
    for si, ms in in_sentence.items():
        seen: dict[str, _Mention] = {}
        for m in ms:
            seen.setdefault(normalize_title(m.title), m)
        first_mentions[si] = ordered = list(seen.items())
        for i, (key_a, a) in enumerate(ordered):
            for key_b, b in ordered[i + 1 : i + 1 + _NEIGHBOURS]:
                if b.start >= a.end:  # not nested: "attention" inside "multi-head attention" proves nothing
                    add(key_a, key_b, len(ordered), si, _excerpt(sentences[si], a.start, b.end))
    for si in sorted(headings):
        body = si + 1
        if si not in first_mentions or body in headings or body not in first_mentions:
            continue
        in_body = {key for key, _ in first_mentions[body]}
        for key_a in [key for key, _ in first_mentions[si] if key not in in_body]:
            for key_b, b in first_mentions[body][:_NEIGHBOURS]:
                text = f"{sentences[si]}: {_excerpt(sentences[body], b.start, b.end)}"
                add(key_a, key_b, len(first_mentions[body]), body, text)

    order = {key: i for i, key in enumerate(title_of)}  # the entity mentioned first is the source
    relationships: list[ExtractedRelationship] = []
    for (key_a, key_b), found in evidence.items():
        source, target = sorted((key_a, key_b), key=order.__getitem__)
        best = sorted(found)[:2]  # the sentences with fewest entities: the most specific evidence
        relationships.append(
            ExtractedRelationship(
                source=title_of[source],
                target=title_of[target],
                description=" ".join(dict.fromkeys(text for _, _, text in sorted(best, key=lambda f: f[1]))),
                weight=float(len({si for _, si, _ in found})),
            )
        )
    return relationships


def _excerpt(sentence: str, start: int, end: int, limit: int = _MAX_EVIDENCE_CHARS) -> str:
    """The sentence, or for a long one the part around [start, end), cut at word boundaries."""
    if len(sentence) <= limit:
        return sentence
    if end - start >= limit:
        half = limit // 2
        return f"{_excerpt(sentence, start, start, half)} … {_excerpt(sentence, end, end, half)}"
    slack = (limit - (end - start)) // 2
    lo = max(0, min(start - slack, len(sentence) - limit))
    hi = min(len(sentence), lo + limit)
    if lo > 0:
        lo = sentence.find(" ", lo) + 1 or lo
    if hi < len(sentence):
        hi = sentence.rfind(" ", lo, hi) if sentence.rfind(" ", lo, hi) > lo else hi
    return ("…" if lo > 0 else "") + sentence[lo:hi].strip() + ("…" if hi < len(sentence) else "")
