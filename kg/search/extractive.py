"""The answerer used when no language model is configured.

It quotes the context's own sentences that best answer the question — scored by question-term overlap
weighted by rarity, then picked greedily while penalising near-repeats — and cites each sentence with every
context row it came from. It says plainly that it is extractive: nothing is paraphrased or invented.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from kg.citations import defuse_markers, format_marker
from kg.search.context import Context
from kg.text.sentences import sentences
from kg.text.words import content_terms

NOTICE = (
    "_Extractive answer: no language model is configured, so these are the most relevant sentences of the "
    "indexed documents, quoted as written._"
)
UNKNOWN = "I don't know: nothing in the indexed documents matches this question."

MAX_SENTENCES = 6
PARAGRAPH = 3


@dataclass
class _Candidate:
    text: str
    terms: set[str]
    origins: dict[str, list[int]] = field(default_factory=dict)
    order: int = 0
    lead: set[str] = field(default_factory=set)  # terms of its first words: what the sentence is about


def quoted_sentences(text: str) -> list[str]:
    """The sentences of `text` as an answer may quote them: a marker the document itself quotes is defused."""
    return [defuse_markers(s) for s in sentences(text)]


# "X is ...", "X, sometimes called Y", "X can be described as ...": a sentence that says what its subject is.
_DEFINING = re.compile(
    r"\b(?:(?:is|are) (?:a|an|the|one|any|not)|means|refers? to|described as|defined as|called|consists? of)\b"
)


def _plausible(sentence: str) -> bool:
    words = sentence.split()
    if not 5 <= len(words) <= 80:
        return False
    if not (sentence[0].isalnum() or sentence[0] in "\"'(\u201c\u2018$"):
        return False  # ", and dot-product attention.": the tail of a sentence cut by a chunk boundary
    if sentence.endswith(("…", "...")):
        return False  # shortened by a summary: not what the document says
    letters = sum(c.isalpha() for c in sentence)
    return letters >= 0.6 * len(sentence)


def _candidates(context: Context) -> list[_Candidate]:
    by_text: dict[str, _Candidate] = {}

    def add(text: str, dataset: str, ident: int, cut_start: bool = False, cut_end: bool = False) -> None:
        found = quoted_sentences(text)
        for i, s in enumerate(found):
            if not _plausible(s):
                continue
            if cut_start and i == 0 and s[0].islower():
                continue  # a chunk that starts mid-sentence
            if cut_end and i == len(found) - 1 and not s.endswith((".", "!", "?", '"', "'", ")", "\u201d")):
                continue  # a chunk that ends mid-sentence
            key = re.sub(r"\W+", "", s.lower())
            cand = by_text.get(key)
            if cand is None:
                lead = content_terms(" ".join(s.split()[:4]))
                cand = by_text[key] = _Candidate(
                    text=s, terms=content_terms(s), order=len(by_text), lead=lead
                )
            ids = cand.origins.setdefault(dataset, [])
            if ident not in ids:
                ids.append(ident)

    for u in context.sources:
        add(u.text, "Sources", u.short_id, cut_start=u.start > 0, cut_end=True)
    for e in context.entities:
        add(e.description, "Entities", e.short_id)
    for r in context.relationships:
        add(r.description, "Relationships", r.short_id)
    for rep in context.reports:
        for f in rep.findings:
            add(f.explanation, "Reports", rep.community)
    return list(by_text.values())


def extractive_answer(context: Context) -> str:
    """Markdown with one citation per quoted sentence, or an honest "I don't know"."""
    question_terms = content_terms(context.question)
    # A follow-up ("and how many heads does it use?") is about what the earlier questions named: their terms
    # count half, and only in sentences that also answer the follow-up itself.
    earlier = (
        set().union(*(content_terms(t.text) for t in context.history if t.role == "user")) - question_terms
    )
    if not question_terms:  # "and why?": the earlier questions are all there is to go on
        question_terms, earlier = earlier, set()
    candidates = _candidates(context)
    if not candidates or not question_terms:
        return UNKNOWN
    df = Counter(t for c in candidates for t in c.terms)
    n = len(candidates)

    def relevance(c: _Candidate) -> float:
        overlap = c.terms & question_terms
        if not overlap:
            return 0.0
        score = sum(math.log(1 + n / df[t]) for t in overlap)
        score += 0.5 * sum(math.log(1 + n / df[t]) for t in c.terms & earlier)
        score *= 1.0 + 0.15 * (len(c.origins) - 1)  # corroborated by several tables
        if c.lead & overlap and _DEFINING.search(c.text.lower()):
            score *= 1.5  # says what the asked-about thing is
        return score / math.sqrt(max(len(c.terms), 8) / 8)

    scored = sorted(((relevance(c), c) for c in candidates), key=lambda x: (-x[0], x[1].order))
    scored = [(s, c) for s, c in scored if s > 0]
    if not scored:
        return UNKNOWN
    best = scored[0][0]
    chosen: list[_Candidate] = []
    for score, cand in scored:
        if score < 0.25 * best or len(chosen) == MAX_SENTENCES:
            break
        if any(len(cand.terms & c.terms) / max(1, len(cand.terms | c.terms)) > 0.5 for c in chosen):
            continue  # near-repeat of a sentence already quoted
        chosen.append(cand)

    paragraphs = []
    for start in range(0, len(chosen), PARAGRAPH):
        group = chosen[start : start + PARAGRAPH]
        paragraphs.append(
            " ".join(
                f"{_ensure_period(c.text)[:-1].rstrip()} {format_marker(c.origins, limit=3)}." for c in group
            )
        )
    return "\n\n".join([NOTICE, *paragraphs])


def _ensure_period(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."
