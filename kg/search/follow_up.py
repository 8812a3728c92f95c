"""Follow-up questions read against their thread, offline: "What incidents involved it?" after "Who owns the
Ledger Service?" is searched as "What incidents involved the Ledger Service?", and "And in May?" after "Who is
on call in April?" as "Who is on call in May?".

Retrieval and the extractive answerer see only one question; without this, a pronoun or an elided subject
leaves them matching "incidents" or "May" alone. The rules are small on purpose: a question that names what it
asks about is left as it is. With a model configured, the model rewrites the question instead, in one small
call (it reads "the second one" or "the same for staging", which no rule does); when that call fails or its
reply is not a question of sensible length, the rules' reading stands.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kg import prompts
from kg.citations import MARKER
from kg.llm.calls import complete, history_text
from kg.model import Turn, Usage
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
_REFERRING = re.compile(
    r"\b(?:it|its|this|that|these|those|they|them|their|he|she|him|his|her|there|then|same|former|latter|"
    r"above|one|ones|else|other)\b",
    re.I,
)
_MAX_ELIDED_WORDS = 6
_REWRITE_TURNS = 4  # the turns a model rewrite reads: the last two questions and their answers
_MAX_REWRITE_GROWTH = 200  # characters a rewrite may add: it names what is referred to, it does not answer
log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


async def rewrite_follow_up(
    model: BaseChatModel,
    question: str,
    history: Sequence[Turn],
    usage: Usage,
    timeout: float | None,  # noqa: ASYNC109 - bounds the model call
) -> str:
    """`question` as the model rewrites it to stand alone, in one call; the offline reading when the thread has
    no earlier question, the call fails, or the reply is not one line of sensible length."""
    offline = resolve_follow_up(question, history)
    if not any(t.role == "user" and t.text.strip() for t in history) or not refers_back(question):
        return offline
    turns = [Turn(t.role, MARKER.sub("", t.text)) for t in history][-_REWRITE_TURNS:]
    usage.llm_calls += 1
    try:
        reply = await complete(
            model,
            prompts.FOLLOW_UP_SYSTEM,
            prompts.FOLLOW_UP_HUMAN,
            {"history": history_text(turns), "question": question},
            timeout,
        )
    except Exception as exc:  # noqa: BLE001 - the offline reading stands
        log.warning("rewriting a follow-up with the model failed (%s)", type(exc).__name__)
        return offline
    usage.prompt_tokens += reply.prompt_tokens
    usage.completion_tokens += reply.completion_tokens
    lines = [line.strip().strip("\"'`*") for line in reply.text.strip().splitlines() if line.strip()]
    rewritten = " ".join(lines[0].split()) if len(lines) == 1 else ""
    rewritten = re.sub(r"^(?:rewritten question|question)\s*:\s*", "", rewritten, flags=re.I)
    asks = rewritten.endswith("?") or not question.endswith("?")  # an answer is not a rewritten question
    if not rewritten or not asks or len(rewritten) > len(question) + _MAX_REWRITE_GROWTH:
        log.info("the model's rewrite of %r was not one question; read offline as %r", question, offline)
        return offline
    if rewritten != question:
        log.info("follow-up %r rewritten by the model as %r", question, rewritten)
    return rewritten


def refers_back(question: str) -> bool:
    """Whether `question` leans on what was said before (a pronoun, "the same", an elided "and in May?"):
    only then is a model asked to rewrite it, so a question that stands alone costs no call."""
    return bool(_ELLIPSIS.match(question.strip()) or _REFERRING.search(question))


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
