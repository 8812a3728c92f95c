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

from kg.citations import format_marker
from kg.search.local import Context

NOTICE = (
    "_Extractive answer: no language model is configured, so these are the most relevant sentences of the "
    "indexed documents, quoted as written._"
)
UNKNOWN = "I don't know: nothing in the indexed documents matches this question."

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_STOP = frozenset(
    """a an and are as at be by can could did do does for from had has have how i if in into is it its me my of
    on or our so than that the their them then there these they this to was we were what when where which who
    why will with would you your about explain describe tell give does do work works used use using mean""".split()
)
MAX_SENTENCES = 6
PARAGRAPH = 3


@dataclass
class _Candidate:
    text: str
    terms: set[str]
    origins: dict[str, list[int]] = field(default_factory=dict)
    order: int = 0


def _terms(text: str) -> set[str]:
    words = set()
    for w in _WORD.findall(text.lower()):
        if w in _STOP or len(w) < 2:
            continue
        words.add(w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w)
        if "-" in w:
            words.update(p for p in w.split("-") if p not in _STOP and len(p) > 1)
    return words


def sentences(text: str) -> list[str]:
    """Sentences of prose: paragraphs split first, headings and code fenced off, so nothing gets glued."""
    out: list[str] = []
    in_code = False
    for block in re.split(r"\n\s*\n", text):
        prose = []
        for line in block.splitlines():
            stripped = line.strip()
            if stripped.startswith("```"):
                in_code = not in_code
                continue
            if in_code or stripped.startswith(("#", "|")) or set(stripped) <= set("-=*_ "):
                continue
            prose.append(stripped.lstrip("-*> ").strip())
        flat = " ".join(" ".join(prose).split())
        out += [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()]
    # A document that quotes a citation marker must not read as one of ours.
    return [s.replace("[Data:", "(Data:") for s in out]


def _plausible(sentence: str) -> bool:
    words = sentence.split()
    if not 5 <= len(words) <= 80:
        return False
    letters = sum(c.isalpha() for c in sentence)
    return letters >= 0.6 * len(sentence)


def _candidates(context: Context) -> list[_Candidate]:
    by_text: dict[str, _Candidate] = {}

    def add(text: str, dataset: str, ident: int) -> None:
        for s in sentences(text):
            if not _plausible(s):
                continue
            key = re.sub(r"\W+", "", s.lower())
            cand = by_text.get(key)
            if cand is None:
                cand = by_text[key] = _Candidate(text=s, terms=_terms(s), order=len(by_text))
            ids = cand.origins.setdefault(dataset, [])
            if ident not in ids:
                ids.append(ident)

    for u in context.sources:
        add(u.text, "Sources", u.short_id)
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
    question_terms = _terms(context.question)
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
        score *= 1.0 + 0.15 * (len(c.origins) - 1)  # corroborated by several tables
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
            " ".join(f"{_ensure_period(c.text)[:-1]} {format_marker(c.origins, limit=3)}." for c in group)
        )
    return "\n\n".join([NOTICE, *paragraphs])


def _ensure_period(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."
