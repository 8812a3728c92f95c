"""How the offline extractor reads one sentence without a part-of-speech tagger: tokens, the chunk's use of
each word (to judge capitals), runs of capitalised words that are names, and runs of content words that are
candidate noun phrases. Everything here is local to one chunk (see kg/index/extract/nlp.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kg.index.extract.nlp_words import (
    COMMON_ADJECTIVES,
    CONNECTORS,
    DETERMINERS,
    EVENT_WORDS,
    FIRST_NAMES,
    GEO_WORDS,
    LY_NOUNS,
    ORG_WORDS,
    PREPOSITIONS,
    SPEECH_VERBS,
    STRUCTURE_WORDS,
    VERB_CUES,
)
from kg.text.sentences import is_abbreviation
from kg.text.stopwords import HONORIFICS, PHRASE_STOP_WORDS

# --- tokens ------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"(?P<word>[^\W\d_](?:[^\W_]|['’](?=[^\W\d_])|[-‐‑](?=[^\W_]))*)"
    r"|(?P<number>\d+(?:[.,]\d+)*)"
    r"|(?P<punct>[^\w\s])"
)
_OPENING_QUOTES = frozenset("\"'“‘(")
_ACRONYM = re.compile(r"(?:[A-Z][A-Z0-9&]*[A-Z][A-Z0-9]*|[A-Z]+[0-9]+[A-Z0-9]*)s?")
_ROMAN = re.compile(r"[IVXLCDM]+")
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
_MATH = frozenset("=×∈√·+<>^_{}|∑∏−")
_PROSE_PUNCTUATION = frozenset(".,;:!?'\"“”‘’()[]-–—…•*/&")
_CAMEL = re.compile(r"[A-Za-z]*[a-z][A-Z][\w-]*|[A-Za-z]+[0-9][\w-]*")


@dataclass
class Token:
    text: str  # as written, without a possessive 's
    start: int
    end: int
    kind: str  # "word" | "number" | "punct"
    initial: bool = False  # first word of a sentence or of a quotation: its capital says nothing
    possessive: bool = False

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def capitalised(self) -> bool:
        return self.kind == "word" and self.text[0].isupper()


def tokenize(sentence: str) -> list[Token]:
    tokens: list[Token] = []
    expect_initial = True
    for m in _TOKEN.finditer(sentence):
        kind, text, start = m.lastgroup or "punct", m.group(), m.start()
        if kind == "punct":
            opening = (
                text in _OPENING_QUOTES
                and (start == 0 or not sentence[start - 1].isalnum())
                and sentence[m.end() : m.end() + 1].isalpha()
            )
            expect_initial = expect_initial or opening or text == ":"
            tokens.append(Token(text, start, m.end(), kind))
            continue
        if kind == "number":
            tokens.append(Token(text, start, m.end(), kind))
            continue
        possessive = bool(re.search(r"['’]s$", text))
        if possessive:
            text = text[:-2]
        tokens.append(Token(text, start, start + len(text), kind, expect_initial, possessive))
        expect_initial = False
    return tokens


def is_stop(word: str) -> bool:
    low = word.lower()
    return (
        low in PHRASE_STOP_WORDS or low in STRUCTURE_WORDS or ("'" in low or "’" in low)
    )  # contractions: "don't", "I'll"


def _is_acronym(word: str) -> bool:
    return len(word) <= 7 and bool(_ACRONYM.fullmatch(word)) and not _ROMAN.fullmatch(word)


def _is_content_word(word: str) -> bool:
    """A lower-case word that can be part of a key phrase."""
    if len(word) < 3 or is_stop(word) or word in HONORIFICS:
        return False
    if word.endswith("ly") and len(word) > 4 and word not in LY_NOUNS:
        return False  # adverbs
    if any(c.isdigit() for c in word):
        return len(word) >= 6 and not word[-1].isdigit()  # "tensor2tensor", not "head1" or "x2"
    return True


def is_shouting_or_formula(tokens: list[Token]) -> bool:
    """Headings in capitals, formulas and table rows: no sentence to learn from."""
    words = [t for t in tokens if t.kind == "word" and len(t.text) >= 2]
    shouted = sum(t.text.isupper() for t in words)
    if (len(words) >= 2 and shouted == len(words)) or (len(words) >= 3 and shouted >= 0.6 * len(words)):
        return True
    symbols = [
        t for t in tokens if t.kind == "number" or len(t.text) == 1 and t.text not in _PROSE_PUNCTUATION
    ]
    return len(words) < len(symbols)


def _in_formula(sentence: str, t: Token) -> bool:
    """ "Attention(Q, K, V)", "= Pdk": letters in mathematics are variables, not names."""
    before, after = sentence[: t.start].rstrip()[-1:], sentence[t.end :].lstrip()[:1]
    return sentence[t.end : t.end + 1] == "(" or before in _MATH or after in _MATH


# --- names and phrases ------------------------------------------------------------------------------------


@dataclass
class ChunkWords:
    """What the chunk as a whole says about words, to judge each sentence's capitals and phrases."""

    lower: set[str] = field(default_factory=set)  # words written in lower case somewhere
    capital_inside: set[str] = field(default_factory=set)  # capitalised not at the start of a sentence
    persons: set[str] = field(default_factory=set)  # next to "said", after "Mr.", before "who"


def chunk_words(sentences: list[list[Token]]) -> ChunkWords:
    words = ChunkWords()
    for tokens in sentences:
        for i, t in enumerate(tokens):
            if t.kind != "word":
                continue
            if t.text.islower():
                words.lower.add(t.lower)
            elif t.capitalised and not t.initial:
                words.capital_inside.add(t.lower)
            if not t.capitalised or is_stop(t.text):
                continue
            if i and tokens[i - 1].lower in FIRST_NAMES and tokens[i - 1].capitalised:
                words.persons.add(t.lower)  # "Jacob Marley": Marley is a person
            before = tokens[i - 1].lower if i else ""
            before2 = tokens[i - 2].lower if i > 1 else ""
            after = [u.lower for u in tokens[i + 1 : i + 3]]
            if (
                before in SPEECH_VERBS
                or (before == "." and before2 in HONORIFICS)
                or before in HONORIFICS
                or (after and after[0] in SPEECH_VERBS)
                or "who" in after
            ):
                words.persons.add(t.lower)
    return words


def _name_runs(sentence: str, tokens: list[Token]) -> list[list[int]]:
    """Maximal runs of capitalised words, as token indices: "Mr. Scrooge", "Bank of England", "WMT 2014"."""

    def is_name_word(k: int) -> bool:
        t = tokens[k] if k < len(tokens) else None
        if t is None or not t.capitalised or is_stop(t.text) or _in_formula(sentence, t):
            return False
        initial = k + 2 < len(tokens) and tokens[k + 1].text == "." and tokens[k + 2].capitalised
        return len(t.text) > 1 or initial  # single letters only as initials: "J. B. Smith"

    runs: list[list[int]] = []
    i = 0
    while i < len(tokens):
        if not is_name_word(i):
            i += 1
            continue
        run = [i]
        j = i + 1
        while j < len(tokens) and not tokens[run[-1]].possessive:  # "Marley's Ghost" is two names
            t = tokens[j]
            if is_name_word(j):
                run.append(j)
            elif t.text == "." and is_abbreviation(tokens[run[-1]].text) and is_name_word(j + 1):
                pass  # the dot of "Mr. Scrooge", "N. Gomez"
            elif t.lower in CONNECTORS and is_name_word(j + 1) and not tokens[j + 1].initial:
                run.append(j)
            elif t.kind == "number" and _YEAR.fullmatch(t.text) and _is_acronym(tokens[run[-1]].text):
                run.append(j)  # "WMT 2014", "NIPS 2017"
                j += 1
                break
            else:
                break
            j += 1
        runs.append(run)
        i = j
    return runs


def _is_name_like(t: Token, chunk: ChunkWords) -> bool:
    """Whether a sentence-initial capitalised word is a name even though its capital proves nothing."""
    low = t.lower
    return (
        low in chunk.capital_inside
        or low in chunk.persons
        or low in FIRST_NAMES
        or low in HONORIFICS
        or _is_acronym(t.text)
        or bool(_CAMEL.fullmatch(t.text))
    )


def _is_demotable(t: Token, chunk: ChunkWords) -> bool:
    """Whether the first word of a capitalised run at the start of a sentence is an ordinary word after all."""
    low = t.lower
    return (
        low in chunk.lower
        or low in COMMON_ADJECTIVES
        or low.endswith(("ly", "ing"))
        or looks_like_participle(low)
    )


def name_type(run: list[Token], chunk: ChunkWords) -> str:
    words = [t for t in run if t.kind == "word" and t.lower not in CONNECTORS]
    words = words or [t for t in run if t.kind == "word"] or run  # "DA", an acronym spelt like a connector
    lows = {t.lower for t in words}
    if words[0].lower in HONORIFICS and len(words) > 1:
        return "PERSON"
    if lows & ORG_WORDS:
        return "ORGANIZATION"
    if lows & GEO_WORDS:
        return "GEO"
    if lows & EVENT_WORDS or run[-1].kind == "number":
        return "EVENT"
    if lows & FIRST_NAMES or words[-1].lower in chunk.persons:
        return "PERSON"
    if len(words) == 1 and (_is_acronym(words[0].text) or _CAMEL.fullmatch(words[0].text)):
        return "TECHNOLOGY"
    return "NAME"


def split_names_and_words(
    sentence: str, tokens: list[Token], chunk: ChunkWords
) -> tuple[list[list[Token]], list[tuple[int, str]]]:
    """The sentence's names, and its other words lower-cased as (token index, word) for key phrases.

    Capitals at the start of a sentence are discounted; a capitalised run whose words all appear in lower
    case in the chunk is a title-cased key phrase ("Multi-Head Attention"), not a name.
    """
    names: list[list[int]] = []
    demoted: set[int] = set()
    for run in _name_runs(sentence, tokens):
        words = [k for k in run if tokens[k].kind == "word"]
        if all(tokens[k].lower in chunk.lower and tokens[k].lower not in chunk.persons for k in words):
            demoted.update(words)
            continue
        first = tokens[run[0]]
        if (
            first.initial
            and not _is_name_like(first, chunk)
            and (len(run) == 1 or _is_demotable(first, chunk))
        ):
            demoted.add(run[0])
            run = run[1:]
            while run and (tokens[run[0]].kind != "word" or tokens[run[0]].lower in CONNECTORS):
                run = run[1:]
        if run:
            names.append(run)
    in_names = {k for run in names for k in run}
    words = [
        (k, t.lower)
        for k, t in enumerate(tokens)
        if t.kind == "word" and k not in in_names and (not t.capitalised or k in demoted)
    ]
    return [[tokens[k] for k in run] for run in names], words


@dataclass
class Run:
    """Consecutive content words of a sentence: a candidate noun phrase."""

    sentence: int
    tokens: list[Token]  # the sentence's tokens
    positions: list[int]  # indices of the run's words in `tokens`
    words: tuple[str, ...]  # lower-cased
    determined: bool  # follows a determiner or a possessive ("the training cost", "Scrooge's clerk")
    nominal: bool  # ... or a preposition ("of attention"), and ends the phrase: its last word is a noun
    headed: bool  # its last word is a head, not a modifier of the name that follows ("merry Christmas")

    def span(self, first: int, last: int) -> tuple[int, int]:
        return self.tokens[self.positions[first]].start, self.tokens[self.positions[last]].end


def phrase_runs(sentence: int, tokens: list[Token], words: list[tuple[int, str]]) -> list[Run]:
    """Runs of consecutive content words, trimmed of the verbs that a run found without grammar picks up."""
    groups: list[list[tuple[int, str]]] = [[]]
    for k, word in words:
        contiguous = groups[-1] and groups[-1][-1][0] == k - 1 and not tokens[k - 1].possessive
        if groups[-1] and not contiguous:
            groups.append([])
        if _is_content_word(word):
            groups[-1].append((k, word))
        elif groups[-1]:
            groups.append([])

    def token(k: int) -> Token | None:
        return tokens[k] if 0 <= k < len(tokens) else None

    runs: list[Run] = []
    for group in filter(None, groups):
        # A word followed by a determiner is a verb with its object ("the encoder maps an input"), and so
        # is an -ing word followed by a preposition ("a dataset consisting of").
        after = token(group[-1][0] + 1)
        verb_last = after is not None and (
            after.lower in DETERMINERS or (after.lower in PREPOSITIONS and group[-1][1].endswith("ing"))
        )
        if verb_last and len(group) > 1:
            group, verb_last = group[:-1], False
        while len(group) > 1 and looks_like_participle(group[-1][1]):
            group = group[:-1]  # "the door opened"
        # After "to", a pronoun, a modal or an auxiliary a run starts with a verb ("to draw global
        # dependencies", "was carried home"), and so does an -s or -ed word after a name ("NOAA publishes
        # forecasts", "Thornbury walked home").
        before = token(group[0][0] - 1)
        verb_first = before is not None and (
            before.lower in VERB_CUES
            or (before.capitalised and not is_stop(before.text) and group[0][1].endswith(("s", "ed")))
        )
        if verb_first and len(group) > 1:
            group, before = group[1:], None
        after = token(group[-1][0] + 1)
        headed = not verb_last and not (after is not None and after.capitalised and not is_stop(after.text))
        determined = before is not None and (before.lower in DETERMINERS or before.possessive)
        nominal = headed and (determined or (before is not None and before.lower in PREPOSITIONS))
        positions, run_words = [k for k, _ in group], tuple(w for _, w in group)
        runs.append(Run(sentence, tokens, positions, run_words, determined, nominal, headed))
    return runs


def looks_like_participle(word: str) -> bool:
    return word.endswith("ed") and len(word) > 4 and not word.endswith(("eed", "ead"))


def head_noun(word: str) -> str:
    """The head noun of a (possibly hyphenated) word: "self-attention" -> "attention"."""
    return word.rsplit("-", 1)[-1]
