"""The answerer used when no language model is configured.

It quotes the context's own sentences that best answer the question (kg/search/question.py reads what the
question asks for), the answering one first, and cites each sentence with every context row it came from. A
person judges kgbot by this answer when no model is configured, so it is kept to a chat reply: only documents
the question concerns, and it stops once answered. It says plainly that it is extractive: nothing is
paraphrased or invented.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kg.citations import defuse_markers, format_marker
from kg.search.context import Context
from kg.search.question import Asked, names_in, read_question, signs_of
from kg.text.sentences import Unit, sentences, units
from kg.text.words import stems

NOTICE = (
    "_Extractive answer: no language model is configured, so these are the most relevant sentences of the "
    "indexed documents, quoted as written._"
)
UNKNOWN = "I don't know: nothing in the indexed documents matches this question."

MAX_SENTENCES = 5
NAMED_ENTITIES = 3  # entities a sentence cites for naming them, at most
WORD_BUDGET = 100  # a chat reply, not a page
SUPPORT_FLOOR = 0.6  # once answered, a sentence must score this share of the best to be added
FOLLOW_FLOOR = 0.35  # while not yet answered
BRIDGE_STEPS = 2
BRIDGE_FLOOR = 0.05  # a closing sentence from a document the answer led to, as a share of the best score
RESIDUAL_SHARE = 0.2  # ... and of the weight of the question's words the answer has not yet said
TITLE_GAIN = 1.4  # a sentence from the page of something the question names
SECOND_HOP_SHARE = 0.7  # share of what the best sentence left unsaid that the answering one must say
LEAD_UNSAID = 0.1  # a step leads a two-hop answer when this share of the question was still unsaid
UNSAID_SHARE = 0.05  # a step is taken only while this share of the question's weight is still unsaid


@dataclass
class _Candidate:
    text: str
    terms: set[str]  # stems of its words
    frame: set[str] = field(default_factory=set)  # stems of its section heading and document title
    origins: dict[str, list[int]] = field(default_factory=dict)
    documents: set[str] = field(default_factory=set)  # ids of the documents of the Sources it is in
    order: int = 0
    lead: set[str] = field(default_factory=set)  # terms of its first words: what the sentence is about
    heading: str = ""  # of the section it stands under, in the first place it was found
    titles: list[set[str]] = field(default_factory=list)  # stems of the titles of its documents


# "Engelbert Humperdinck (singer)": a title's qualifier tells the page apart; a sentence names only the rest.
_QUALIFIER = re.compile(r"\s*\([^()]*\)\s*$")


def _page_title(title: str) -> set[str]:
    return stems(_QUALIFIER.sub("", title))


def quoted_sentences(text: str) -> list[str]:
    """The sentences of `text` as an answer may quote them: a marker the document itself quotes is defused."""
    return [defuse_markers(s) for s in sentences(text)]


# "X is ...", "X, sometimes called Y", "X can be described as ...": a sentence that says what its subject is.
_DEFINING = re.compile(
    r"\b(?:(?:is|are) (?:a|an|the|one|any|not)|means|refers? to|described as|defined as|called|consists? of)\b"
)

# A note's labelled line ("Cause: an expired certificate ...") and the kinds of question each label answers.
_LABEL = re.compile(r"([A-Za-z][A-Za-z ]{1,20}):\s")
_LABELS = {
    "person": {"owner", "owners", "lead", "contact", "maintainer", "author", "assignee", "on-call"},
    "time": {"date", "when", "time", "started", "ended", "deadline"},
    "number": {"impact", "count", "total", "duration"},
    "cause": {"cause", "root cause", "reason", "why"},
    "manner": {"fix", "resolution", "solution", "workaround", "steps", "how"},
    "place": {"location", "where", "region", "site"},
}


# "Nick Hexum: Nicholas Lofton Hexum is ...": a description leads a sentence with the heading it stood under.
_HEADED = re.compile(r"([^:.!?]{2,80}):\s+(?=[A-Z0-9\"'(\u201c])")


def _unheaded(unit: Unit) -> Unit:
    """A description's "Heading: sentence" as the sentence under its heading, so that it reads, and is found,
    as the document has it; a note's label ("Cause: ...") stays."""
    m = _HEADED.match(unit.text)
    if (
        m is None
        or m[1].count("(") != m[1].count(")")
        or any(m[1].lower() in lab for lab in _LABELS.values())
    ):
        return unit
    return Unit(unit.text[m.end() :], m[1].strip())


def _plausible(sentence: str) -> bool:
    words = sentence.split()
    if not 3 <= len(words) <= 80:
        return False
    if not (sentence[0].isalnum() or sentence[0] in "\"'(\u201c\u2018$"):
        return False  # ", and dot-product attention.": the tail of a sentence cut by a chunk boundary
    if sentence.endswith(("…", "...")):
        return False  # shortened by a summary: not what the document says
    letters = sum(c.isalpha() for c in sentence)
    figures = sum(c.isdigit() for c in sentence)
    return letters >= 0.4 * len(sentence) and letters + figures >= 0.6 * len(sentence)  # not a row of numbers


def _candidates(context: Context) -> list[_Candidate]:
    by_text: dict[str, _Candidate] = {}

    def add(
        text: str,
        dataset: str,
        ident: int,
        document: str = "",
        cut_start: bool = False,
        cut_end: bool = False,
    ) -> None:
        found = units(text)
        title = context.documents.get(document, ("", ""))[0] if document else ""
        for i, unit in enumerate(found):
            if dataset != "Sources":
                unit = _unheaded(unit)
            s = defuse_markers(unit.text)
            if not _plausible(s) or (title and _same_words(s, title)):
                continue  # a document's title line is what it is about (its frame), not a sentence to quote
            if cut_start and i == 0 and s[0].islower():
                continue  # a chunk that starts mid-sentence
            if cut_end and i == len(found) - 1 and not s.endswith((".", "!", "?", '"', "'", ")", "\u201d")):
                continue  # a chunk that ends mid-sentence
            key = re.sub(r"\W+", "", s.lower())
            cand = by_text.get(key)
            if cand is None:
                cand = by_text[key] = _Candidate(
                    text=s,
                    terms=stems(s),
                    order=len(by_text),
                    lead=stems(" ".join(s.split()[:4])),
                    heading=defuse_markers(unit.heading),
                )
            cand.frame |= stems(f"{unit.heading} {title}")
            if document and document not in cand.documents:
                cand.documents.add(document)
                cand.titles.append(_page_title(title))
            ids = cand.origins.setdefault(dataset, [])
            if ident not in ids:
                ids.append(ident)

    for i, u in enumerate(context.sources):
        # Chunks end at a sentence end when they can (kg/index/chunk.py), so an unfinished last sentence is
        # the document's own ending; only the last passage may be an excerpt cut to the budget.
        last = i == len(context.sources) - 1
        add(u.text, "Sources", u.short_id, u.document_id, cut_start=u.start > 0, cut_end=last)
    for e in context.entities:
        add(e.description, "Entities", e.short_id)
    for r in context.relationships:
        add(r.description, "Relationships", r.short_id)
    for rep in context.reports:
        for f in rep.findings:
            add(f.explanation, "Reports", rep.community)
    return list(by_text.values())


def _cite_named_entities(candidates: list[_Candidate], context: Context) -> None:
    """A sentence also cites the context's entities it names, so an answer quoted from a passage or a report
    still points at the graph's records it is about (and the picture of its evidence draws them)."""
    patterns = [
        (e.short_id, re.compile(rf"(?<!\w){re.escape(e.title)}(?!\w)", re.IGNORECASE))
        for e in context.entities
        if len(e.title) >= 3
    ]
    for c in candidates:
        ids = c.origins.get("Entities", [])
        named = [i for i, pattern in patterns if i not in ids and pattern.search(c.text)]
        if named:
            c.origins["Entities"] = ids + named[: max(0, NAMED_ENTITIES - len(ids))]


def extractive_answer(context: Context) -> str:
    """Markdown: the sentence that answers first, on its own line, then the few that complete it; each cited.

    Sentences are scored by how well they answer this question: its names (a section heading or document
    title naming them counts), the relationship it asks about, and whether the sentence holds the kind of
    answer asked for (a person for "who", a date for "when"...). Sentences from documents the question does
    not concern are left out, and the answer stops once the question is answered or the word budget is spent.
    """
    asked = read_question(context.question)
    if not asked.terms:  # "and why?": the earlier questions are all there is to go on
        earlier = " ".join(t.text for t in context.history if t.role == "user")
        asked = read_question(f"{earlier} {context.question}")
    candidates = _candidates(context)
    if not candidates or not asked.terms:
        return UNKNOWN
    df = Counter(t for c in candidates for t in c.terms | c.frame)
    n = len(candidates)

    def weight(t: str) -> float:
        return math.log(1 + n / max(1, df[t]))

    def relevance(c: _Candidate, extra: set[str]) -> float:
        said = c.terms & asked.terms
        signs = signs_of(c.text, asked.kinds, asked.terms)
        if not said and not (c.frame & asked.core and (c.terms & extra or signs)):
            return 0.0  # neither it nor its heading says anything the question asks about
        score = sum(weight(t) for t in said)
        score += 0.5 * sum(weight(t) for t in (c.frame - c.terms) & asked.terms)
        score += 0.5 * sum(weight(t) for t in (c.terms & extra) - asked.terms)
        score += 0.5 * sum(weight(t) for t in (c.frame & extra) - asked.terms - c.terms)
        if asked.names:
            covered = sum(
                1.0 if name <= c.terms | c.frame else len(name & c.terms) / len(name) for name in asked.names
            )  # "Heinkel HD 38" only half names "Heinkel HD 23"
            if (c.frame | c.lead) & extra:
                covered = min(len(asked.names), covered + 1)  # about what the answer so far brought in
            score *= 0.4 + 0.6 * covered / len(asked.names)
        relation = asked.relation
        if relation and c.terms & relation:
            score *= 1.0 + 0.5 * len(c.terms & relation) / len(relation)
        if signs:
            score *= 1.8
        label = _LABEL.match(c.text)
        if label and (
            stems(label[1]) & asked.terms
            or any(label[1].lower() in _LABELS[k] for k in asked.kinds if k != "manner")
        ):
            score *= 1.5  # "Cause: ..." for a why-question, "Owner: ..." for a who-question
        if c.lead & asked.terms and _DEFINING.search(c.text.lower()):
            score *= 1.3  # says what the asked-about thing is
        if _named_page(c, asked):
            score *= TITLE_GAIN  # from the page of something the question names
        if not c.terms - asked.terms:
            score *= 0.3  # repeats the question, adds nothing
        return score / math.sqrt(max(len(c.terms), 10) / 10)

    scores = {id(c): relevance(c, set()) for c in candidates}
    ranked = sorted((c for c in candidates if scores[id(c)] > 0), key=lambda c: (-scores[id(c)], c.order))
    if not ranked:
        return UNKNOWN
    first = ranked[0]
    best = scores[id(first)]
    concerned = first.documents | _titled_documents(ranked, scores, best, asked)
    chosen = [first]
    words = len(first.text.split())
    wanted = set(asked.kinds) - signs_of(first.text, asked.kinds, asked.terms)
    hops = _hops(asked)
    answered = hops == 1 and not wanted and _names_covered(first, asked)
    extra = _new_names(first, asked)  # a second hop: what the answering sentence brings in
    brought = _names_of(first)
    while len(chosen) < MAX_SENTENCES:
        rest = [
            c
            for c in candidates
            if c not in chosen
            and (c.documents & concerned or _bridged(c, brought, asked) or _names_it(c, asked, extra))
        ]  # the documents the question concerns, and those about what the answer so far brought in
        rescored = sorted(((relevance(c, extra), c) for c in rest), key=lambda x: (-x[0], x[1].order))
        rescored = [(s, c) for s, c in rescored if not _repeats(c, chosen)]
        if not rescored:
            break
        score, cand = rescored[0]
        needed = wanted & signs_of(cand.text, list(wanted), asked.terms)
        floor = SUPPORT_FLOOR if answered else FOLLOW_FLOOR
        if score < floor * best and not needed:
            break
        if words + len(cand.text.split()) > WORD_BUDGET and len(chosen) > 1:
            break
        chosen.append(cand)
        words += len(cand.text.split())
        wanted -= needed
        extra |= _new_names(cand, asked)
        brought |= _names_of(cand)
        answered = answered or (hops == 1 and not wanted)
        if answered and len(chosen) >= 2:
            break
    bridged: list[_Candidate] = []
    titles = {d: _page_title(title) for d, (title, _) in context.documents.items()}
    for _ in range(BRIDGE_STEPS):  # what the question still asks, said in a document the answer led to
        linked = _linked(candidates, chosen, asked, brought, titles)
        step = _bridge(candidates, chosen, asked, linked, weight)
        if step is None or step[0] < BRIDGE_FLOOR * best:
            break
        chosen.append(step[1])
        if step[2] >= LEAD_UNSAID:
            bridged.append(step[1])  # it said much of what was left: the answer, likely
        brought |= _names_of(step[1])
    leading = (bridged[0] if bridged else _second_hop(chosen, asked, weight)) if hops == 2 else None
    leading = _compared(chosen, asked) or leading or _leading(chosen, asked, hops)
    chosen.remove(leading)
    chosen.insert(0, leading)
    _cite_named_entities(chosen, context)  # only the quoted few: matching every candidate is the slow part
    lines = [_cited(c) for c in chosen]
    paragraphs = [lines[0]]
    if len(lines) > 1:
        paragraphs.append(" ".join(lines[1:]))
    return "\n\n".join([NOTICE, *paragraphs])


# "the film that was shot in...", "a German musician whose godfather is whom": a question asked through
# something it only describes, which one sentence rarely answers.
_RELATIVE = re.compile(r"\w \w+ (?:that|which|who|whose|where|whom) ")


def _hops(asked: Asked) -> int:
    """How many sentences the question probably needs: 2 when it describes what it asks about."""
    described = _RELATIVE.search(asked.text) or len(asked.names) > 1 or len(asked.text.split()) > 14
    return 2 if described else 1


def _cited(c: _Candidate) -> str:
    """The sentence and its marker; a labelled note ("Cause: ...") is led by its section's heading, which says
    what it is about ("INC-101: payments stuck — Cause: ...")."""
    text = _ensure_period(c.text)[:-1].rstrip()
    if c.heading and _LABEL.match(text) and not stems(c.heading) <= c.terms:
        text = f"{c.heading} — {text}"
    return f"{text} {format_marker(c.origins, limit=3)}."


def _leading(chosen: list[_Candidate], asked: Asked, hops: int) -> _Candidate:
    """The sentence that answers, to put first: the best one, unless it lacks the kind of answer asked for
    and a later one holds it; in a two-hop answer, the one about what the first brought in, if it holds it."""
    first = chosen[0]
    answering = [c for c in chosen[1:] if signs_of(c.text, asked.kinds, asked.terms)]
    if hops == 2:
        bridged = [c for c in answering if _bridged(c, _names_of(first), asked)]
        if bridged:
            return bridged[0]
    if answering and not signs_of(first.text, asked.kinds, asked.terms):
        return answering[0]
    return first


# "Which band was formed first, A or B?", "Who is the oldest, A or B?": the choice the dates say.
_EARLIER = re.compile(r"\b(?:first|oldest|older|earlier|earliest|before)\b")
_LATER = re.compile(r"\b(?:youngest|younger|later|latest|last|newer|newest|most recent)\b")
_YEAR = re.compile(r"(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)")


def _compared(chosen: list[_Candidate], asked: Asked) -> _Candidate | None:
    """For a question choosing between named things by time, the quoted sentence about the one whose first
    stated year is the earliest (or latest): the evidence decides, nothing is computed beyond reading it."""
    text = asked.text.lower()
    if " or " not in text or len(asked.names) < 2:
        return None
    earlier, later = _EARLIER.search(text), _LATER.search(text)
    if bool(earlier) != bool(later):
        dated: dict[int, tuple[int, _Candidate]] = {}  # per choice: its first sentence stating a year
        for c in chosen:
            years = _YEAR.findall(c.text)
            for i, name in enumerate(asked.names):
                if years and name <= c.terms | c.frame and i not in dated:
                    dated[i] = (int(years[0]), c)
        if len(dated) >= 2:
            pick = min if earlier else max
            return pick(dated.values(), key=lambda x: x[0])[1]
    return None


def _second_hop(chosen: list[_Candidate], asked: Asked, weight: Callable[[str], float]) -> _Candidate | None:
    """In a two-hop answer, the sentence that says most of what the best-matching one left unsaid: the
    first finds what the question describes, this one says what it asks about it (the answer)."""
    first = chosen[0]
    unsaid = asked.terms - first.terms - first.frame

    def score(c: _Candidate) -> float:
        said = sum(weight(t) for t in c.terms & unsaid)
        return said * (1.8 if signs_of(c.text, asked.kinds, asked.terms) else 1.0)

    scored = [(score(c), c) for c in chosen[1:]]
    best = max(scored, key=lambda x: x[0], default=(0.0, None))
    return best[1] if best[0] >= SECOND_HOP_SHARE * sum(weight(t) for t in unsaid) > 0 else None


def _bridge(
    candidates: list[_Candidate],
    chosen: list[_Candidate],
    asked: Asked,
    linked: set[str],
    weight: Callable[[str], float],
) -> tuple[float, _Candidate, float] | None:
    """The best sentence of a document the answer so far is linked to but did not quote, by the question's
    words it has not yet said ("Who produced the single ... known for?" goes on from the singer into the
    single)."""
    said = set().union(*(c.terms | c.frame for c in chosen))
    quoted = set().union(*(c.documents for c in chosen))
    residual = asked.terms - said
    found = [
        (
            sum(weight(t) for t in _matching(residual, c.terms))
            * (1.8 if signs_of(c.text, asked.kinds, asked.terms) else 1),
            c,
        )
        for c in candidates
        if _matching(residual, c.terms)
        and c.documents & (linked | quoted)
        and c not in chosen
        and not _repeats(c, chosen)
    ]
    if not found:
        return None
    # on a tie, a step into another page before one more sentence of a quoted page, and into a page the answer
    # names before one that only names it
    score, cand = max(
        found,
        key=lambda x: (
            x[0],
            not x[1].documents & quoted,
            any(t and t <= said for t in x[1].titles),
            -x[1].order,
        ),
    )
    left = sum(weight(t) for t in residual)
    unsaid = left / max(1e-9, sum(weight(t) for t in asked.terms))
    if unsaid < UNSAID_SHARE or score < RESIDUAL_SHARE * left:
        return None  # little is left to say, or it says too little of it: a word in passing, not a step
    return score, cand, unsaid


def _matching(wanted: set[str], terms: set[str]) -> set[str]:
    """The wanted terms that `terms` say, a longer form counting ("produc" is said by "production")."""
    return {w for w in wanted if w in terms or (len(w) >= 5 and any(t.startswith(w) for t in terms))}


def _linked(
    candidates: list[_Candidate],
    chosen: list[_Candidate],
    asked: Asked,
    brought: set[str],
    titles: dict[str, set[str]],
) -> set[str]:
    """The documents the answer so far leads to: titled by a name it gave or the question gave, or linked to
    a page it quoted the way pages link, by one naming the other's title in a sentence ("... features Eddie
    Irvine on the front cover" links the game's page and Irvine's, either way round)."""
    quoted = set().union(*(c.documents for c in chosen))
    quoted_titles = [t for c in chosen for t in c.titles if t and t - asked.terms and c.documents]
    linked: set[str] = set()
    for c in candidates:
        if not c.documents:
            continue
        if _bridged(c, brought, asked) or any(t <= c.terms for t in quoted_titles) or _named_page(c, asked):
            linked |= c.documents
        if c.documents & quoted:  # a quoted page's sentence naming another page
            linked |= {d for d, t in titles.items() if t and t - asked.terms and t <= c.terms}
    return linked - quoted


def _titled_documents(
    ranked: list[_Candidate], scores: dict[int, float], best: float, asked: Asked
) -> set[str]:
    """The documents the question is about besides the answering sentence's: a sentence of theirs scores at
    least half the best one, and their title is something the question names."""
    return {d for c in ranked if scores[id(c)] >= 0.5 * best and _named_page(c, asked) for d in c.documents}


def _named_page(c: _Candidate, asked: Asked) -> bool:
    """From the page of something the question names."""
    return any(t and t <= asked.terms for t in c.titles)


def _names_it(c: _Candidate, asked: Asked, extra: set[str]) -> bool:
    """A row with no document of its own (an entity's or relationship's description) that names what the
    question or the answer so far names."""
    return not c.documents and (any(name <= c.terms for name in asked.names) or bool(c.terms & extra))


def _names_covered(c: _Candidate, asked: Asked) -> bool:
    return all(name <= c.terms | c.frame for name in asked.names)


def _names_of(c: _Candidate) -> set[str]:
    """Stems of the names a sentence gives."""
    return set().union(*(stems(n) for n in names_in(c.text)))


def _new_names(c: _Candidate, asked: Asked) -> set[str]:
    """Stems of the names a sentence brings in that the question did not name."""
    return _names_of(c) - asked.terms


def _bridged(c: _Candidate, brought: set[str], asked: Asked) -> bool:
    """From a document titled by a name the answer so far gave and the question did not ("Toad Hall is in
    the Australian National University" brings in the document "Australian National University")."""
    return any(t and t <= brought and t - asked.terms for t in c.titles)


def _repeats(cand: _Candidate, chosen: list[_Candidate]) -> bool:
    return any(len(cand.terms & c.terms) / max(1, len(cand.terms | c.terms)) > 0.5 for c in chosen)


def _same_words(a: str, b: str) -> bool:
    return re.sub(r"\W+", "", a.lower()) == re.sub(r"\W+", "", b.lower())


def _ensure_period(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."
