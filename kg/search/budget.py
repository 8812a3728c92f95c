"""How local search spends its token budget: the shares of the graph tables, and filling the Sources table.

bench/evidence_recall.py measured two losses of fixed shares: at small budgets (400-1,000 tokens) the entity
table took room that one more passage would have used better (-8 points of evidence recall against BM25 at
400 tokens), and at large budgets a quarter of the budget stayed unused while evidence was missed (the
candidate passages ran out). So:
- the tables' shares grow with the budget (nothing below SMALL_BUDGET, full shares from LARGE_BUDGET on) and
  with how much the graph helps this question (`graph_signal`): a question whose passages the graph ranked
  gets its entities and relationships shown, one the full text answers alone gives that room to passages;
- Sources take everything else and are filled to the end: with the next candidates while they fit, and with
  an excerpt of the best passage that did not fit (`fill_sources`); local search reads more candidates when
  these run out (`more_candidates_needed`), and when the full text itself has run out, the passages next to
  the best ones (`neighbour_short_ids`: bench/evidence_recall.py's Attention multi-hop set, 40 passages, used
  21-61% of budgets from 2k up while evidence was missed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from kg.model import TextUnit
from kg.search.passages import RankedPassage
from kg.text.tables import cell
from kg.text.tokens import count_tokens, truncate

SMALL_BUDGET = 1000  # below it every token goes to passages (the tables are dropped)
# From LARGE_BUDGET on the tables take their full shares (from 4,000 they cost medical's 4k context a passage).
LARGE_BUDGET = 8000
# The tables' full shares for a question the graph helps as much as it can (signal 1); half of them at signal 0.
REPORT_SHARE = 0.04
ENTITY_SHARE = 0.06
RELATIONSHIP_SHARE = 0.03
SIGNAL_PASSAGES = 10  # the top passages whose scores say how much the graph ranked them
MIN_EXCERPT_TOKENS = 30  # a shorter excerpt rarely holds a whole sentence: the room is left unused
SIZE_SAMPLE = 20  # the last passages added, whose sizes estimate how many more the room holds
TOKENS_PER_CANDIDATE = 100  # the size a passage is assumed to have when none was added yet
MAX_NEIGHBOURS = 240  # neighbour passages read at most (neighbour_short_ids)


@dataclass(frozen=True)
class Shares:
    """Fractions of the budget (after the conversation) the graph tables may take at most."""

    reports: float
    entities: float
    relationships: float
    first_entity: bool  # whether the entity the question is about keeps its row beyond the entities' share


def graph_signal(ranked: Sequence[RankedPassage], linked: int) -> float:
    """How much the graph helps this question, 0 to 1: the share of the top passages' scores that came
    through the graph (activation) rather than the full text, raised when the question names entities (its
    tables then describe what it asks about) and lowered when it names none."""
    top = ranked[:SIGNAL_PASSAGES]
    total = sum(p.score for p in top)
    if total <= 0:
        return 0.0
    share = sum(p.graph for p in top) / total
    return min(1.0, share * (1.5 if linked else 0.5) + (0.25 if linked else 0.0))


def shares(budget: int, signal: float) -> Shares:
    """The tables' shares at `budget` tokens for a question of graph signal `signal`."""
    ramp = min(1.0, max(0.0, (budget - SMALL_BUDGET) / (LARGE_BUDGET - SMALL_BUDGET)))
    scale = ramp * (0.5 + 0.5 * min(1.0, max(0.0, signal)))
    return Shares(
        REPORT_SHARE * scale, ENTITY_SHARE * scale, RELATIONSHIP_SHARE * scale, budget >= SMALL_BUDGET
    )


class Table:
    """Rows added while they fit the table's budget."""

    def __init__(self, title: str, header: str, budget: int) -> None:
        self.lines = [f"-----{title}-----", header]
        self.budget = budget
        self.used = count_tokens("\n".join(self.lines))

    def add(self, row: str, cost: int | None = None) -> bool:
        """Add `row` if it fits; `cost` is its count_tokens when the caller knows it already."""
        room = self.budget - self.used
        if cost is None:
            # A token is one character or more, so a row no longer than the room fits; a longer one is first
            # checked against its words (each word is one token or more) before its tokens are counted.
            if len(row) > room and len(row.split()) > room:
                return False
            cost = count_tokens(row)
        if cost > room:
            return False
        self.lines.append(row)
        self.used += cost
        return True

    @property
    def room(self) -> int:
        return self.budget - self.used

    @property
    def rows(self) -> int:
        return len(self.lines) - 2

    @property
    def cost(self) -> int:
        """Tokens the table takes in the context: none when it has no rows (it is not rendered)."""
        return self.used if self.rows else 0

    def render(self) -> str:
        return "\n".join(self.lines) if self.rows else ""


def source_row(unit: TextUnit) -> str:
    return f"{unit.short_id}|{cell(unit.text)}"


def source_cost(unit: TextUnit) -> int:
    """count_tokens(source_row(unit)) from the passage's stored count (kg.model.TextUnit.n_tokens): no token
    spans the '|' after the id, and `cell` keeps every token (a '|' becomes a '/', both one token). Counting
    each candidate's row took a third of a context build's time."""
    return count_tokens(f"{unit.short_id}|") + unit.n_tokens


@dataclass
class Filling:
    """The passages a Sources table holds, and the best-ranked one that did not fit (for an excerpt)."""

    table: Table
    sources: list[TextUnit]
    seen: set[str]
    skipped: TextUnit | None = None


def fill_sources(filling: Filling, units: Iterable[TextUnit]) -> None:
    """Add each passage not seen yet that fits; remember the first that did not. A short passage still fits
    where an excerpt would not (below MIN_EXCERPT_TOKENS): at 400 tokens, stopping there left 7% unused."""
    for u in units:
        if filling.table.room <= 0:
            return
        if u.id in filling.seen:
            continue
        filling.seen.add(u.id)
        cost = source_cost(u)
        if cost <= filling.table.room and filling.table.add(source_row(u), cost):
            filling.sources.append(u)
        elif filling.skipped is None:
            filling.skipped = u


def more_candidates_needed(filling: Filling, read: int, limit: int) -> bool:
    """Whether to read further passages: every candidate fit, the table has room for an excerpt or more, and
    the read that gave the candidates was capped (there may be more). When a candidate did not fit, its
    excerpt fills the room instead (`add_excerpt`)."""
    return filling.skipped is None and filling.table.room >= MIN_EXCERPT_TOKENS and read >= limit


def further_limit(filling: Filling, limit: int) -> int:
    """How many full-text hits the further read asks for: the first `limit` again and twice as many more as
    the room left holds at the passages' average size (up to four times the first read), so a large budget
    short of a few passages does not read hundreds."""
    sizes = [source_cost(u) for u in filling.sources[-SIZE_SAMPLE:]]
    average = max(1, sum(sizes) // len(sizes)) if sizes else TOKENS_PER_CANDIDATE
    return min(4 * limit, limit + 2 * (filling.table.room // average + 1))


def add_excerpt(filling: Filling) -> None:
    """The beginning of the best passage that did not fit, cut to the room left, rather than leaving the
    room unused; its record holds the excerpt's text (what the model reads), not the whole passage."""
    unit, table = filling.skipped, filling.table
    if unit is None or table.room < MIN_EXCERPT_TOKENS:
        return
    prefix = f"{unit.short_id}|"
    text = truncate(cell(unit.text), table.room - count_tokens(prefix))
    while text and not table.add(prefix + text):  # a cut can merge pieces: shorten until it fits
        text = truncate(text, count_tokens(text) - 1)
    if text:
        filling.sources.append(
            replace(unit, text=text, end=unit.start + len(text), n_tokens=count_tokens(text))
        )


def neighbour_short_ids(
    anchors: Sequence[int], taken: Iterable[int], budget: int, sizes: Sequence[int]
) -> list[int]:
    """The short ids of the passages next to the best ones in corpus order (`anchors`, best first), nearest
    first, as many as twice what the budget has room for beyond the passages already found (`sizes`, at
    their average size), at most MAX_NEIGHBOURS: when the question's words and the graph have run out of
    passages, the text around its best passages (the rest of their document, the documents indexed beside
    them) is the next best evidence there is."""
    average = max(1, sum(sizes) // len(sizes)) if sizes else TOKENS_PER_CANDIDATE
    count = min(MAX_NEIGHBOURS, 2 * max(0, budget - sum(sizes)) // average)
    skip, wanted = set(taken), []
    for distance in range(1, count + 1):
        for anchor in anchors:
            for short_id in (anchor - distance, anchor + distance):
                if short_id >= 0 and short_id not in skip:
                    skip.add(short_id)
                    wanted.append(short_id)
                    if len(wanted) >= count:
                        return wanted
    return wanted
