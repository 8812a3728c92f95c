"""The offline extractor: entities and relationships from plain heuristics, no model and no network.

Entities are capitalised names ("Bob Cratchit", "Mr. Scrooge"), acronyms ("BLEU", "WMT 2014") and key phrases,
the lower-case noun phrases that carry a technical text ("multi-head attention", "self-attention").
Relationships are sentence co-occurrences: the sentence is the evidence, the number of sentences the weight.

There is no part-of-speech tagger, so noun phrases are found the way RAKE finds keywords: runs of words
between stop words and punctuation. Word lists below stand in for the grammar; they are deliberately small
and generic (nothing in them is about a particular corpus). Every decision is local to one chunk, because
results are cached per chunk: the same text must always give the same extraction.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kg.extract.base import ChunkExtraction, ExtractedEntity, ExtractedRelationship, ProgressFn
from kg.model import TextUnit
from kg.tokens import count_tokens


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words, pronouns, auxiliaries, very common verbs and adverbs, number words and interjections: they
# end a noun phrase and are never entities, capitalised or not.
_STOP = _words("""
    a about above across after afterwards again against ago ah al all almost alone along already also although
    always am among amongst an and another any anyone anything anywhere are around as at away aye
    be became because become becomes been before beforehand behind being below beside besides between beyond
    both but by can cannot could did do does doing done down due during
    each eg e.g either else elsewhere enough especially et etc even ever every everyone everything everywhere
    except few for former formerly from further furthermore had hallo halloa has have having he hello hence
    her here hereby herein hers herself him himself his how however i ie i.e if in indeed instead into is it its
    itself just last latter latterly least less like likewise ll lot lots may me meanwhile might mine more
    moreover most mostly much must my myself namely nay neither never nevertheless next no nobody none noone
    nor not nothing now nowhere o of off oft often oh on once one ones only onto or other others otherwise
    ought our ours ourselves out over own per perhaps quite rather re same sha shall she should since so some
    somebody someone something sometime sometimes somewhat somewhere still such than that the their theirs
    them themselves then thence there thereafter thereby therefore therein thereupon these they this those
    though through throughout thus till to together too toward towards under unless unlike until up upon us
    very via vs was we well were what whatever when whence whenever where whereas whereby wherein whether
    which while whilst whither who whoever whole whom whose why will with within without would yes yet you
    your yours yourself yourselves
    two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred hundreds
    thousand thousands million millions billion first second third fourth fifth many several various
    different similar certain specific particular respective corresponding given entire main
    certainly sure surely really simply merely twice thrice ha hey hem alas bah pooh
    say says said saying tell tells told ask asks asked make makes made making use uses used using get gets
    got getting go goes going gone went come comes came coming take takes took taken give gives gave given
    see sees saw seen know knows knew known think thinks thought look looks looked looking find finds found
    want wants wanted seem seems seemed feel feels felt try tries tried leave leaves left call calls called
    keep keeps kept let lets put puts mean means meant become becoming began begin begins begun show shows
    showed shown allow allows allowed require requires required propose proposes proposed achieve achieves
    achieved perform performs performed apply applies applied consider considers considered include includes
    included including contain contains contained consist consists consisted describe describes described
    follow follows followed following obtain obtains obtained yield yields yielded reach reaches reached
    remain remains remained provide provides provided compute computes computed produce produces produced
    represent represents represented cried replied returned exclaimed answered whispered muttered growled
    grew stood sat ran fell held brought bought caught taught spoke wrote rose drew threw lay laid led met paid
    sent spent struck stuck swept wore won woke broke chose drove ate fought hung heard hid lost rode sang
    shook shone shot shut slept slid sprang stole swore swung tore understood wept
    observed added continued rejoined hath doth thou thee thy art
    january february march april june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday tonight to-day to-morrow
    to-night need needs needed round back forth
""")

# Words about the document rather than its subject ("Figure 2", "Table 1", "Chapter IV"): never entities.
_STRUCTURE = _words("""
    figure figures fig table tables section sections chapter chapters page pages appendix equation equations eq
    footnote footnotes illustration illustrations contents preface abstract introduction conclusion conclusions
    references reference acknowledgements acknowledgments bibliography note notes row rows column columns
    line lines paragraph volume vol pp ibid cf
""")

# Nouns too vague, and adjectives too common, to stand alone as an entity. They may still be part of a
# longer phrase ("training time", "old man").
_COMMON_ADJECTIVES = _words(
    "good bad great little old young new small large big long short high low full poor dear"
)
_VAGUE = _COMMON_ADJECTIVES | _words("""
    thing things way ways part parts case cases fact facts number numbers kind kinds sort sorts time times
    place places end side sides use order terms term example examples result results work works form forms
    point points deal sense matter course reason reasons manner lot set sets amount amounts type types
    instance instances aspect aspects effect effects other others rest bit piece pieces hand hands head eyes
    face man woman people person day days night year years moment minute minutes hour hours
    value values position positions level levels size sizes length lengths input inputs output outputs step
    steps stage stages role roles area areas problem problems issue issues change changes model models system
    systems method methods approach approaches technique techniques
""")

# "-ly" words that are nouns, not adverbs.
_LY_NOUNS = _words(
    "family assembly supply reply anomaly monopoly butterfly holly folly ally rally jelly belly"
)

# Prefixes that mark a person; the first group is dropped when normalising ("Mr. Scrooge" is "Scrooge"), the
# second is kept because in one text "Mrs. X" or "Miss X" is usually someone other than "X".
_HONORIFICS_DROPPED = _words("mr mister dr doctor prof professor sir")
_HONORIFICS = _HONORIFICS_DROPPED | _words("mrs ms miss madam madame lady lord master uncle aunt captain rev")

# A small list of common given names: one of them in a capitalised phrase makes it a PERSON.
_FIRST_NAMES = _words("""
    adam alan albert alex alexander alice amy andrew ann anna anne anthony arthur ben benjamin bill bob
    catherine charles charlie charlotte chris christopher daniel david dick donald edward eliza elizabeth emily
    emma eric fanny frank fred frederick george grace hannah harry helen henry jack jacob james jane jennifer
    jim joe john jonathan joseph julia kate laura lucy margaret maria mark martha mary matthew michael nancy
    oliver paul peter philip rachel richard robert rose ruth sam samuel sarah sophie susan thomas tim tom
    victoria walter william
""")

_SPEECH_VERBS = _words("""
    said says cried replied returned asked exclaimed answered whispered muttered growled observed added
    continued rejoined shouted remarked thought
""")

_ORG_WORDS = _words("""
    university universities institute institution company corporation corp inc ltd llc plc bank society
    association council committee department ministry agency foundation laboratory laboratories lab labs
    group school college church club team research press publishers authority
""")
_GEO_WORDS = _words("""
    street road lane avenue square river lake mountain mount island city county kingdom republic ocean sea
    bay valley hill park bridge town village country province state states
""")
_EVENT_WORDS = _words("conference workshop symposium summit war festival olympics eve day")

_CONNECTORS = _words("of de da del della di du van von der den la le")  # inside names: "Bank of England"
_DETERMINERS = _words(
    "the a an this these that those our its their his her my your each every all some any no"
)
# After these a run of words starts with a verb or a participle: "to draw ...", "was carried home".
_VERB_CUES = _words("""
    to we they i you he she it can could will would should must may might shall not is are was were be been
    being has have had
""")
_PREPOSITIONS = _words(
    "of in on at with for from by into through over under about between among within without via"
)

# Entity types, most specific first; `pick_type` uses this order to settle ties.
TYPE_PRIORITY = ("PERSON", "ORGANIZATION", "GEO", "EVENT", "TECHNOLOGY", "NAME", "CONCEPT")
_GENERIC_TYPES = frozenset({"NAME", "CONCEPT"})

_MAX_PHRASE_WORDS = 4
_TOKENS_PER_CONCEPT = 40  # a chunk keeps one key phrase per this many tokens (30 for 1,200), the most used
_MIN_CONCEPTS_PER_CHUNK = 10
_NEIGHBOURS = 4  # a mention is paired with this many following entities of its sentence, not all of them
_MAX_EVIDENCE_CHARS = 400
_BATCH = 8  # chunks per worker-thread hop; progress is reported per batch


def normalize_title(title: str) -> str:
    """The key under which spellings of one entity merge, within a chunk and across the corpus.

    "Mr. Scrooge's" and "Scrooge", "Multi-Head Attention" and "multi head attentions" get the same key. Only
    the last word is singularised, and only when it was written in lower case (or is an acronym plural such
    as "RNNs"), so that names like "Jones" survive.
    """
    text = unicodedata.normalize("NFKC", title).replace("’", "'")
    text = re.sub(r"(?<=\w)'s\b|(?<=s)'(?=\s|$)", "", text)
    words = re.findall(r"[^\W_]+", re.sub(r"[-‐‑‒–—−_/]+", " ", text))
    while len(words) > 1 and words[0].lower() in _HONORIFICS_DROPPED | {"the", "a", "an"}:
        words = words[1:]
    if not words:
        return ""
    last = words[-1]
    if re.fullmatch(r"[A-Z]{2,}s", last):
        words[-1] = last[:-1]
    elif last.islower():
        words[-1] = _singular(last)
    return " ".join(w.lower() for w in words)


def _singular(word: str) -> str:
    if len(word) < 4 or word.endswith(("ss", "us", "is", "ous", "ics", "as", "news", "series", "species")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")) or (word.endswith("oes") and len(word) > 5):
        return word[:-2]  # "matches", "boxes", "potatoes"
    return word[:-1] if word.endswith("s") else word


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


# --- sentences ---------------------------------------------------------------------------------------------

_NOISE = re.compile(
    r"(?:https?://|www\.)\S+"  # urls
    r"|\S+@\S+\.\w+"  # e-mail addresses
    r"|\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]"  # citations: [12], [3, 7], [4-6]
)
_LINE_BREAK_HYPHEN = re.compile(r"([^\W\d_]+)-\n[ \t]*([^\W\d_]+)(-?)")
_TERMINAL = tuple(".,;:!?-—'\")”’]")
_ABBREVIATIONS = _HONORIFICS | _words("st sr jr vs etc eg ie fig figs eq no vol al cf approx inc ltd co ed")
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]”’]*\s+(?=[^\w\s]*[A-Z0-9])")


def _sentences(text: str) -> tuple[list[str], set[int]]:
    """The chunk's sentences with layout undone (PDF line breaks, hyphenation), and which are headings."""
    text = _NOISE.sub(" ", text)
    vocabulary = set(re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", text.lower()))

    def unhyphenate(m: re.Match[str]) -> str:
        left, right, more = m.group(1), m.group(2), m.group(3)
        joined = left + right
        keep = f"{left}-{right}".lower() in vocabulary and joined.lower() not in vocabulary
        keep = keep or bool(more) or left[0].isupper()  # "sequence-\nto-sequence", "English-\nto-German"
        return f"{left}-{right}{more}" if keep else joined + more

    text = _LINE_BREAK_HYPHEN.sub(unhyphenate, text)
    sentences: list[str] = []
    headings: set[int] = set()
    for segment, heading in _segments(text):
        if heading:
            headings.add(len(sentences))
            sentences.append(segment)
            continue
        start = 0
        for m in _SENTENCE_END.finditer(segment):
            before = re.search(r"(\S*?)\s*([^\W\d_]+)[.!?]*$", segment[start : m.start() + 1])
            if m.group().startswith(".") and before and _is_abbreviation(before.group(2), before.group(1)):
                continue
            sentences.append(segment[start : m.end()].strip())
            start = m.end()
        if segment[start:].strip():
            sentences.append(segment[start:].strip())
    return sentences, headings


def _is_abbreviation(word: str, previous: str = "") -> bool:
    """ "Mr." or an initial ("Aidan N. Gomez", "J. B. Smith"); "matrix Q." ends a sentence."""
    if word.lower() in _ABBREVIATIONS:
        return True
    return len(word) == 1 and word.isupper() and (not previous or previous[:1].isupper())


def _segments(text: str) -> list[tuple[str, bool]]:
    """Paragraphs joined into single lines; a short unpunctuated line (a heading, a table cell) stands alone.

    Each segment comes with whether it is such a line.
    """
    segments: list[tuple[str, bool]] = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.splitlines()]
        lines = [line for line in lines if line]
        current: list[str] = []
        for i, line in enumerate(lines):
            following = lines[i + 1] if i + 1 < len(lines) else ""
            starts_new = (
                not following or following[0].isupper() or following[0].isdigit() or following[0] in "•*·"
            )
            if current and (
                line[0] in "•·*" or (len(line) < 50 and not line.endswith(_TERMINAL) and starts_new)
            ):
                segments.append((" ".join(" ".join(current).split()), False))
                current = []
            if len(line) < 50 and not line.endswith(_TERMINAL) and starts_new:
                segments.append((" ".join(line.split()), True))
            else:
                current.append(line)
        if current:
            segments.append((" ".join(" ".join(current).split()), False))
    return segments


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
class _Token:
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


def _tokenize(sentence: str) -> list[_Token]:
    tokens: list[_Token] = []
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
            tokens.append(_Token(text, start, m.end(), kind))
            continue
        if kind == "number":
            tokens.append(_Token(text, start, m.end(), kind))
            continue
        possessive = bool(re.search(r"['’]s$", text))
        if possessive:
            text = text[:-2]
        tokens.append(_Token(text, start, start + len(text), kind, expect_initial, possessive))
        expect_initial = False
    return tokens


def _is_stop(word: str) -> bool:
    low = word.lower()
    return low in _STOP or low in _STRUCTURE or ("'" in low or "’" in low)  # contractions: "don't", "I'll"


def _is_acronym(word: str) -> bool:
    return len(word) <= 7 and bool(_ACRONYM.fullmatch(word)) and not _ROMAN.fullmatch(word)


def _is_content_word(word: str) -> bool:
    """A lower-case word that can be part of a key phrase."""
    if len(word) < 3 or _is_stop(word) or word in _HONORIFICS:
        return False
    if word.endswith("ly") and len(word) > 4 and word not in _LY_NOUNS:
        return False  # adverbs
    if any(c.isdigit() for c in word):
        return len(word) >= 6 and not word[-1].isdigit()  # "tensor2tensor", not "head1" or "x2"
    return True


def _is_shouting_or_formula(tokens: list[_Token]) -> bool:
    """Headings in capitals, formulas and table rows: no sentence to learn from."""
    words = [t for t in tokens if t.kind == "word" and len(t.text) >= 2]
    shouted = sum(t.text.isupper() for t in words)
    if (len(words) >= 2 and shouted == len(words)) or (len(words) >= 3 and shouted >= 0.6 * len(words)):
        return True
    symbols = [
        t for t in tokens if t.kind == "number" or len(t.text) == 1 and t.text not in _PROSE_PUNCTUATION
    ]
    return len(words) < len(symbols)


def _in_formula(sentence: str, t: _Token) -> bool:
    """ "Attention(Q, K, V)", "= Pdk": letters in mathematics are variables, not names."""
    before, after = sentence[: t.start].rstrip()[-1:], sentence[t.end :].lstrip()[:1]
    return sentence[t.end : t.end + 1] == "(" or before in _MATH or after in _MATH


# --- mentions ----------------------------------------------------------------------------------------------


@dataclass
class _Mention:
    sentence: int
    start: int  # character span in the sentence
    end: int
    title: str
    type: str


@dataclass
class _ChunkWords:
    """What the chunk as a whole says about words, to judge each sentence's capitals and phrases."""

    lower: set[str] = field(default_factory=set)  # words written in lower case somewhere
    capital_inside: set[str] = field(default_factory=set)  # capitalised not at the start of a sentence
    persons: set[str] = field(default_factory=set)  # next to "said", after "Mr.", before "who"


def _chunk_words(sentences: list[list[_Token]]) -> _ChunkWords:
    words = _ChunkWords()
    for tokens in sentences:
        for i, t in enumerate(tokens):
            if t.kind != "word":
                continue
            if t.text.islower():
                words.lower.add(t.lower)
            elif t.capitalised and not t.initial:
                words.capital_inside.add(t.lower)
            if not t.capitalised or _is_stop(t.text):
                continue
            if i and tokens[i - 1].lower in _FIRST_NAMES and tokens[i - 1].capitalised:
                words.persons.add(t.lower)  # "Jacob Marley": Marley is a person
            before = tokens[i - 1].lower if i else ""
            before2 = tokens[i - 2].lower if i > 1 else ""
            after = [u.lower for u in tokens[i + 1 : i + 3]]
            if (
                before in _SPEECH_VERBS
                or (before == "." and before2 in _HONORIFICS)
                or before in _HONORIFICS
                or (after and after[0] in _SPEECH_VERBS)
                or "who" in after
            ):
                words.persons.add(t.lower)
    return words


def _name_runs(sentence: str, tokens: list[_Token]) -> list[list[int]]:
    """Maximal runs of capitalised words, as token indices: "Mr. Scrooge", "Bank of England", "WMT 2014"."""

    def is_name_word(k: int) -> bool:
        t = tokens[k] if k < len(tokens) else None
        if t is None or not t.capitalised or _is_stop(t.text) or _in_formula(sentence, t):
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
            elif t.text == "." and _is_abbreviation(tokens[run[-1]].text) and is_name_word(j + 1):
                pass  # the dot of "Mr. Scrooge", "N. Gomez"
            elif t.lower in _CONNECTORS and is_name_word(j + 1) and not tokens[j + 1].initial:
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


def _is_name_like(t: _Token, chunk: _ChunkWords) -> bool:
    """Whether a sentence-initial capitalised word is a name even though its capital proves nothing."""
    low = t.lower
    return (
        low in chunk.capital_inside
        or low in chunk.persons
        or low in _FIRST_NAMES
        or low in _HONORIFICS
        or _is_acronym(t.text)
        or bool(_CAMEL.fullmatch(t.text))
    )


def _is_demotable(t: _Token, chunk: _ChunkWords) -> bool:
    """Whether the first word of a capitalised run at the start of a sentence is an ordinary word after all."""
    low = t.lower
    return (
        low in chunk.lower
        or low in _COMMON_ADJECTIVES
        or low.endswith(("ly", "ing"))
        or _looks_like_participle(low)
    )


def _name_type(run: list[_Token], chunk: _ChunkWords) -> str:
    words = [t for t in run if t.kind == "word" and t.lower not in _CONNECTORS]
    words = words or [t for t in run if t.kind == "word"] or run  # "DA", an acronym spelt like a connector
    lows = {t.lower for t in words}
    if words[0].lower in _HONORIFICS and len(words) > 1:
        return "PERSON"
    if lows & _ORG_WORDS:
        return "ORGANIZATION"
    if lows & _GEO_WORDS:
        return "GEO"
    if lows & _EVENT_WORDS or run[-1].kind == "number":
        return "EVENT"
    if lows & _FIRST_NAMES or words[-1].lower in chunk.persons:
        return "PERSON"
    if len(words) == 1 and (_is_acronym(words[0].text) or _CAMEL.fullmatch(words[0].text)):
        return "TECHNOLOGY"
    return "NAME"


def _split_names_and_words(
    sentence: str, tokens: list[_Token], chunk: _ChunkWords
) -> tuple[list[list[_Token]], list[tuple[int, str]]]:
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
            while run and (tokens[run[0]].kind != "word" or tokens[run[0]].lower in _CONNECTORS):
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
class _Run:
    """Consecutive content words of a sentence: a candidate noun phrase."""

    sentence: int
    tokens: list[_Token]  # the sentence's tokens
    positions: list[int]  # indices of the run's words in `tokens`
    words: tuple[str, ...]  # lower-cased
    determined: bool  # follows a determiner or a possessive ("the training cost", "Scrooge's clerk")
    nominal: bool  # ... or a preposition ("of attention"), and ends the phrase: its last word is a noun
    headed: bool  # its last word is a head, not a modifier of the name that follows ("merry Christmas")

    def span(self, first: int, last: int) -> tuple[int, int]:
        return self.tokens[self.positions[first]].start, self.tokens[self.positions[last]].end


def _runs(sentence: int, tokens: list[_Token], words: list[tuple[int, str]]) -> list[_Run]:
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

    def token(k: int) -> _Token | None:
        return tokens[k] if 0 <= k < len(tokens) else None

    runs: list[_Run] = []
    for group in filter(None, groups):
        # A word followed by a determiner is a verb with its object ("the encoder maps an input"), and so
        # is an -ing word followed by a preposition ("a dataset consisting of").
        after = token(group[-1][0] + 1)
        verb_last = after is not None and (
            after.lower in _DETERMINERS or (after.lower in _PREPOSITIONS and group[-1][1].endswith("ing"))
        )
        if verb_last and len(group) > 1:
            group, verb_last = group[:-1], False
        while len(group) > 1 and _looks_like_participle(group[-1][1]):
            group = group[:-1]  # "the door opened"
        # After "to", a pronoun, a modal or an auxiliary a run starts with a verb ("to draw global
        # dependencies", "was carried home"), and so does an -s or -ed word after a name ("NOAA publishes
        # forecasts", "Thornbury walked home").
        before = token(group[0][0] - 1)
        verb_first = before is not None and (
            before.lower in _VERB_CUES
            or (before.capitalised and not _is_stop(before.text) and group[0][1].endswith(("s", "ed")))
        )
        if verb_first and len(group) > 1:
            group, before = group[1:], None
        after = token(group[-1][0] + 1)
        headed = not verb_last and not (after is not None and after.capitalised and not _is_stop(after.text))
        determined = before is not None and (before.lower in _DETERMINERS or before.possessive)
        nominal = headed and (determined or (before is not None and before.lower in _PREPOSITIONS))
        positions, run_words = [k for k, _ in group], tuple(w for _, w in group)
        runs.append(_Run(sentence, tokens, positions, run_words, determined, nominal, headed))
    return runs


def _looks_like_participle(word: str) -> bool:
    return word.endswith("ed") and len(word) > 4 and not word.endswith(("eed", "ead"))


def _head(word: str) -> str:
    """The head noun of a (possibly hyphenated) word: "self-attention" -> "attention"."""
    return word.rsplit("-", 1)[-1]


def extract_chunk(text: str) -> ChunkExtraction:
    """Entities and co-occurrence relationships of one chunk of text."""
    text = re.sub(r"(?<!\w)_|_(?!\w)", "", text)  # _italics_ markers of plain-text books
    sentences, headings = _sentences(text)
    tokenized = [_tokenize(s) for s in sentences]
    chunk = _chunk_words(tokenized)

    mentions: list[_Mention] = []
    runs: list[_Run] = []
    for si, tokens in enumerate(tokenized):
        if not tokens or _is_shouting_or_formula(tokens):
            continue
        names, words = _split_names_and_words(sentences[si], tokens, chunk)
        for run in names:
            title = sentences[si][run[0].start : run[-1].end]
            mentions.append(
                _Mention(si, run[0].start, run[-1].end, " ".join(title.split()), _name_type(run, chunk))
            )
        runs.extend(_runs(si, tokens, words))

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
            description=_describe(ms, sentences, in_sentence),
        )
        for key, ms in by_key.items()
    ]
    relationships = _relationships(sentences, headings, in_sentence, title_of)
    return ChunkExtraction(entities=entities, relationships=relationships)


def _phrase_mentions(runs: list[_Run]) -> list[_Mention]:
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
            heads[_head(last)] += 1
        if run.nominal:
            nouns.update((last, _head(last)))

    def frequent_noun(word: str) -> bool:
        return heads[word] >= 2 and word in nouns and word not in _VAGUE and not _looks_like_participle(word)

    def is_noun(word: str) -> bool:
        """A single word worth an entity: a noun the chunk keeps using, or a compound used as a noun."""
        if "-" in word:
            return word in nouns or heads[word] >= 2 or frequent_noun(_head(word))
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
        tail = _head(run.words[last])
        if tail != run.words[last] and frequent_noun(tail):  # "self-attention" is also about attention
            end = run.span(last, last)[1]
            mentions.append(_Mention(run.sentence, end - len(tail), end, tail, "CONCEPT"))
    return mentions


def _best_phrase(run: _Run, grams: Counter[tuple[str, ...]]) -> tuple[int, int] | None:
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
        words[first] in _COMMON_ADJECTIVES or (not run.determined and words[first].endswith("ing"))
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
    return not (len(words) == 1 and (words[0] in _STOP or words[0] in _STRUCTURE or words[0] in _VAGUE))


# --- descriptions and relationships ------------------------------------------------------------------------

_DEFINITION_AFTER = re.compile(  # "X is ...", "X (Y) consists of ...", "X, a ..."
    r"\s*(?:\([^)]*\)\s*)?(?:(?:is|are|was|were|consists?|refers?|means|denotes|describes|represents|"
    r"allows|computes|has|have)\b|,\s*(?:a|an|the)\b)",
    re.IGNORECASE,
)
_DEFINITION_BEFORE = re.compile(
    r"\b(?:called|named|known as|termed|namely|call our|we call)\s*[\"'“‘]?\s*$", re.I
)


def _describe(mentions: list[_Mention], sentences: list[str], in_sentence: dict[int, list[_Mention]]) -> str:
    """Up to two sentences about the entity: definitions first, then sentences that connect it to others."""

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
    return " ".join(_excerpt(sentences[m.sentence], m.start, m.end) for m in best)


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
