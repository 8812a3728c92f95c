"""Follow-up questions read against their thread, offline: "What incidents involved it?" after "Who owns the
Ledger Service?" is searched as "What incidents involved the Ledger Service?", and "And in May?" after "Who is
on call in April?" as "Who is on call in May?".

Retrieval and the extractive answerer see only one question; without this, a pronoun or an elided subject
leaves them matching "incidents" or "May" alone. The rules are small on purpose: a question that names what it
asks about is left as it is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from kg.citations import MARKER
from kg.model import Turn
from kg.search.question import names_in
from kg.text.sentences import sentences

# "and in May?", "what about the Auth Gateway?", "how about Lena?": the rest of the question is elided.
_ELLIPSIS = re.compile(
    r"^(?:and|but|or|what about|how about|and what about|and how about)\s+(?P<rest>.+?)\s*\??$", re.I
)
_WH = re.compile(r"\b(?:who|whom|whose|what|when|where|why|which|how)\b", re.I)
_PREPOSITION = re.compile(r"^(?P<prep>in|on|at|for|during|by|from|after|before|since|until|with)\s+", re.I)
_THING = re.compile(r"\b(?:it|its)\b|\b(?:this|that)(?=\s*\?)", re.I)
_PERSON = re.compile(r"\b(?:he|she|him|his|they|them|their)\b", re.I)
_POSSESSIVE = {"its", "his", "their"}
_MAX_ELIDED_WORDS = 6
log = logging.getLogger(__name__)


def resolve_follow_up(question: str, history: Sequence[Turn]) -> str:
    """`question` with what it leaves out taken from the thread's last question and answer; unchanged when it
    has no earlier question or needs nothing from one. A question read differently is logged."""
    resolved = _resolve(question, history)
    if resolved != question:
        log.info("follow-up %r read as %r", question, resolved)
    return resolved


def _resolve(question: str, history: Sequence[Turn]) -> str:
    asked = [t.text for t in history if t.role == "user" and t.text.strip()]
    if not asked:
        return question
    previous = asked[-1]
    answered = [t.text for t in history if t.role == "assistant"]
    elided = _ELLIPSIS.match(question.strip())
    if elided and not _WH.search(elided["rest"]) and len(elided["rest"].split()) <= _MAX_ELIDED_WORDS:
        return _complete(previous, elided["rest"])
    subject = _subject(previous)
    person = subject  # "Who is Tomas Lindqvist?" ... "what does he do?"
    if not subject or subject.lower().startswith("the "):  # "Who owns the Ledger Service?": its answer
        person = _first_person(answered[-1] if answered else "", previous) or subject
    resolved = question
    if subject and not names_in(question):
        resolved = _THING.sub(lambda m: _refer(m.group(), subject), resolved)
    if person and not names_in(resolved):
        resolved = _PERSON.sub(lambda m: _refer(m.group(), person), resolved)
    return resolved


def _complete(previous: str, rest: str) -> str:
    """The previous question with its matching part replaced by the elided question's words."""
    base = previous.strip().rstrip("?").strip()
    rest = rest.strip().rstrip("?").strip()
    prep = _PREPOSITION.match(rest)
    if prep:
        slot = re.compile(rf"\b(?i:{prep['prep']})\s+(?:the\s+)?[\w'’-]+(?:\s+[A-Z0-9][\w'’-]*)*")
        if slot.search(base):
            return slot.sub(lambda _: rest, base, count=1) + "?"
    new_names = names_in(rest)
    old_names = names_in(base)
    if new_names and old_names:
        bare = re.sub(r"^(?:the|a|an)\s+", "", rest, flags=re.I)
        return base.replace(old_names[-1], bare, 1) + "?"
    return f"{base} {rest}?"


def _subject(question: str) -> str:
    """What a question is about: its longest name, with the article it was written with."""
    names = names_in(question)
    if not names:
        return ""
    name = max(names, key=len)
    article = re.search(rf"\b(the|a|an)\s+{re.escape(name)}", question, re.I)
    return f"the {name}" if article and article.group(1).lower() == "the" else name


def _first_person(answer: str, previous: str) -> str:
    """The first two-word name the answer's first sentence gives that the question did not: "Tomas Berg"."""
    prose = "\n".join(line for line in answer.splitlines() if line.strip() and not line.startswith("_"))
    first = next(iter(sentences(MARKER.sub("", prose))), "")
    for name in names_in(first):
        if len(name.split()) >= 2 and name not in previous and all(w[:1].isupper() for w in name.split()):
            return name
    return ""


def _refer(pronoun: str, antecedent: str) -> str:
    """The antecedent in the pronoun's place: possessives get "'s"; a sentence's first word keeps its capital."""
    text = f"{antecedent}'s" if pronoun.lower() in _POSSESSIVE else antecedent
    return text[0].upper() + text[1:] if pronoun[0].isupper() else text
