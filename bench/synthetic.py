"""A deterministic synthetic GraphIndex of any size, for benchmarks (ours and Microsoft GraphRAG's).

`generate(n_entities, seed)` returns the same GraphIndex for the same arguments (same Python, any machine):

- entities of five types with multiword names drawn from a generated vocabulary ("Valdora Kestine Institute",
  "Mira Thalen", "Port Brenick", "Adaptive Sorvane Protocol"); descriptions of 1-3 sentences that mention
  neighbours, plus topic words from a real-English vocabulary and a rarer jargon word, so questions can name an
  entity or describe it;
- relationships by preferential attachment (each new entity links to a varying number of earlier ones, chosen
  in proportion to their degree, with some uniform picks): a power-law degree distribution with hubs, about
  `relationships_per_entity` relationships per entity (relationships / entities); descriptions are sentences;
- text units of ~300 tokens (about n/5 of them), each about five neighbouring entities: their descriptions'
  first sentences, the sentences of the relationships they start, and filler prose; documents of 4-24 units;
- communities in 2-3 levels (leaves of ~10 entities, ~100, ~1000) over a depth-first order of the graph, so
  members are mostly connected, each with a report (title, summary, full content, rank, findings);
- optionally random float32 embeddings (clustered by community) of `embedding_dim` dimensions.

Short ids follow kgbot's builds: entities, relationships and text units from 1, communities from 0 with
parents before children. `question_material` and `make_questions` derive benchmark questions from an index.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kg.model import (
    Community,
    CommunityReport,
    Document,
    Entity,
    Finding,
    GraphIndex,
    Relationship,
    TextUnit,
    content_id,
)
from kg.text.tokens import count_tokens

GENERATOR_VERSION = 1  # bump when the output for a given (n, seed) changes

# ---------------------------------------------------------------------------------------------- vocabulary

_ONSETS = "b br c ch d dr f g gr h k kr l m n p pr r s sh st t th tr v w z".split()
_VOWELS = "a e i o u a e i o ae ia ou ei".split()
_CODAS = ["", "", "", "n", "r", "s", "l", "th", "x", "nd", "rk", "m", "v", "ck"]
_GIVEN_ENDINGS = ["a", "o", "en", "is", "el", "ia", "an", "ey"]

_ADJECTIVES = """adaptive ancient annual applied autonomous bilateral coastal collaborative commercial
    competitive critical cultural digital distributed domestic early economic efficient electric emerging
    environmental experimental federal financial flexible global green historic independent industrial
    integrated international legal local long marine medical mobile modern municipal national natural
    northern open organic political portable private public regional remote renewable rural scientific secure
    seasonal small southern strategic sustainable technical temporary thermal urban vertical western wireless
    agricultural architectural automated clinical""".split()
_NOUNS = """agriculture aircraft archive battery bridge budget cable canal cargo carbon census charity climate
    clinic coal coastline compiler copper corridor cotton courier credit crop dam data dataset delta demand
    drought education election electricity energy engine export factory farming ferry fishery flood forest
    freight fuel funding grain grid harbour health highway housing hydrogen irrigation journalism labour
    library literacy logistics lumber manufacturing maritime medicine migration mining monitoring network
    nutrition observatory orchard packaging pension pipeline policy pollution port printing railway rainfall
    recycling refinery reservoir rice robotics salt sanitation satellite school sensor shipping software
    solar steel storage supply surveying telescope textile timber tourism trade traffic transit tunnel turbine
    vaccine water weather wheat wildlife wind""".split()
_YEARS = [str(y) for y in range(1952, 2025)]

_ROLES = """engineer researcher director analyst historian economist architect journalist physician negotiator
    curator surveyor chemist pilot mayor professor founder trader inspector librarian""".split()
_ORG_SUFFIXES = """Institute Labs Group Council Foundation Systems Partners Holdings Agency Collective University
    Bank Press Union Company Trust Authority Society Works Cooperative""".split()
_ORG_KINDS = [
    "research institute",
    "manufacturer",
    "nonprofit",
    "consultancy",
    "trade association",
    "shipping company",
    "software vendor",
    "regulator",
    "university",
    "bank",
    "cooperative",
    "newspaper",
]
_GEO_PATTERNS = ["Port {}", "{} Valley", "{} Bay", "North {}", "{} Heights", "{} Island", "Lake {}", "{}"]
_GEO_KINDS = [
    "port city",
    "river valley",
    "mountain district",
    "coastal province",
    "island",
    "industrial town",
    "farming region",
]
_EVENT_NOUNS = """Summit Accord Fair Strike Conference Flood Election Expedition Festival Crisis Treaty
    Congress Exhibition Inquiry Blackout""".split()
_EVENT_KINDS = ["summit", "trade fair", "strike", "conference", "flood", "election", "expedition", "inquiry"]
_TECH_NOUNS = """Protocol Platform Engine Process Standard Reactor Compiler Array Method Format Turbine
    Scanner""".split()
_TECH_KINDS = [
    "protocol",
    "sensor platform",
    "battery chemistry",
    "compiler",
    "turbine design",
    "database engine",
    "vaccine platform",
    "survey method",
]
_JARGON_SUFFIXES = ["ite", "ase", "ium", "ics", "ometry", "ene", "olysis", "ator"]

_TYPES = ["PERSON", "ORGANIZATION", "GEO", "EVENT", "TECHNOLOGY"]
_TYPE_WEIGHTS = [0.30, 0.25, 0.15, 0.10, 0.20]

_VERBS_BY_TARGET = {
    "PERSON": ["employs", "collaborates with", "was advised by", "hired", "interviewed", "succeeded"],
    "ORGANIZATION": [
        "partners with",
        "is funded by",
        "supplies {noun} equipment to",
        "competes with",
        "advises",
        "acquired a stake in",
    ],
    "GEO": ["operates in", "is based in", "expanded into", "surveyed", "represents"],
    "EVENT": ["took part in", "organised", "was affected by", "reported on", "sponsored"],
    "TECHNOLOGY": ["developed", "uses", "licensed", "evaluated", "improved"],
}
_REL_CONTEXTS = [
    "",
    " on {adj} {noun} projects",
    " since {year}",
    " during the {jargon} {noun} programme",
    " to expand {noun} capacity",
    " after the {year} {noun} review",
]
_FILLER = [
    "The {adj} {noun} sector grew steadily through {year}.",
    "Observers noted that {noun} and {noun2} costs rose together.",
    "Several reports describe the {adj} {noun} market as fragile.",
    "Local officials reviewed the {noun} budget in {year}.",
    "One survey of {adj} {noun} use followed the {noun2} debate.",
    "Records from {year} mention {adj} {noun} shortages.",
    "Critics argued that {noun} policy favoured {adj} interests.",
    "The {noun2} figures were published alongside the {adj} {noun} audit.",
]


def _capitalised_roots(
    rng: random.Random, count: int, syllables: Sequence[int], taken: set[str]
) -> list[str]:
    """`count` distinct pronounceable words (a coda only on the last syllable), capitalised."""
    roots: list[str] = []
    while len(roots) < count:
        n = rng.choice(syllables)
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(n)) + rng.choice(_CODAS)
        if 4 <= len(word) <= 11 and word not in taken:
            taken.add(word)
            roots.append(word.capitalize())
    return roots


@dataclass
class _Vocabulary:
    roots: list[str]
    given: list[str]
    jargon: list[str]


def _vocabulary(rng: random.Random, n_entities: int) -> _Vocabulary:
    taken: set[str] = set(_NOUNS) | set(_ADJECTIVES)
    roots = _capitalised_roots(rng, max(400, n_entities // 4), (2, 2, 2, 3), taken)
    given = [
        root[: rng.randint(3, 5)] + rng.choice(_GIVEN_ENDINGS)
        for root in _capitalised_roots(rng, 200 + n_entities // 200, (1, 2, 2), taken)
    ]
    jargon = [
        root.lower() + rng.choice(_JARGON_SUFFIXES)
        for root in _capitalised_roots(rng, max(200, n_entities // 10), (1, 2, 2), taken)
    ]
    return _Vocabulary(roots, list(dict.fromkeys(given)), list(dict.fromkeys(jargon)))


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


# ------------------------------------------------------------------------------------------------ graph


def _preferential_attachment(
    rng: random.Random, n: int, per_entity: float, uniform_share: float = 0.25
) -> list[tuple[int, int]]:
    """Edges (new, older): entity v links to m_v earlier entities (m_v >= 1, mean `per_entity`), each chosen
    in proportion to its degree (or, with probability `uniform_share`, uniformly)."""
    p = 1.0 / max(per_entity, 1.0)  # geometric on {1, 2, ...} with mean per_entity
    log_q = math.log(1.0 - p) if p < 1.0 else 0.0
    ends: list[int] = []  # every edge end once: picking from it is picking by degree
    edges: list[tuple[int, int]] = []
    for v in range(1, n):
        m = 1 if log_q == 0.0 else 1 + int(math.log(1.0 - rng.random()) / log_q)
        m = min(m, v, 50)
        chosen: dict[int, None] = {}
        while len(chosen) < m:
            if not ends or rng.random() < uniform_share:
                u = rng.randrange(v)
            else:
                u = ends[rng.randrange(len(ends))]
            chosen[u] = None
        for u in chosen:
            edges.append((v, u))
            ends.append(v)
            ends.append(u)
    return edges


def _depth_first_order(n: int, adjacency: list[list[int]]) -> list[int]:
    """Preorder from entity 0 (the graph is connected): consecutive entities are mostly linked."""
    seen = bytearray(n)
    order: list[int] = []
    stack = [0]
    while stack:
        v = stack.pop()
        if seen[v]:
            continue
        seen[v] = 1
        order.append(v)
        stack.extend(u for u in reversed(adjacency[v]) if not seen[u])
    order.extend(v for v in range(n) if not seen[v])
    return order


def _blocks(rng: random.Random, items: Sequence[int], low: int, high: int) -> list[list[int]]:
    blocks: list[list[int]] = []
    i = 0
    while i < len(items):
        size = rng.randint(low, high)
        blocks.append(list(items[i : i + size]))
        i += size
    return blocks


# ----------------------------------------------------------------------------------------------- generate


def generate(
    n_entities: int,
    seed: int = 0,
    *,
    relationships_per_entity: float = 3.0,
    embedding_dim: int = 0,
) -> GraphIndex:
    """A synthetic index of `n_entities` entities; deterministic in (n_entities, seed, other arguments)."""
    if n_entities < 2:
        raise ValueError("a synthetic graph needs at least 2 entities")
    n = n_entities
    rng = random.Random(f"kgbot-synthetic-{seed}")
    vocab = _vocabulary(rng, n)

    # Entities: type, unique title, topic.
    types = rng.choices(_TYPES, weights=_TYPE_WEIGHTS, k=n)
    titles: list[str] = []
    seen_titles: set[str] = set()
    for t in types:
        for attempt in range(20):
            title = _title(rng, vocab, t)
            if attempt >= 10:
                title = f"{title} {rng.choice(vocab.roots)}"
            if title.lower() not in seen_titles:
                break
        else:  # pragma: no cover - practically unreachable
            title = f"{title} {len(titles)}"
        seen_titles.add(title.lower())
        titles.append(title)
    topics = [
        (rng.choice(_ADJECTIVES), rng.choice(_NOUNS), rng.choice(_NOUNS), rng.choice(vocab.jargon))
        for _ in range(n)
    ]

    # Relationships.
    edges = _preferential_attachment(rng, n, relationships_per_entity)
    adjacency: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        adjacency[a].append(b)
        adjacency[b].append(a)
    degree = [len(adj) for adj in adjacency]
    rel_texts = [_relationship_sentence(rng, vocab, titles, types, a, b) for a, b in edges]

    # Text units over a depth-first order, ~5 primary entities each; a relationship lives in its source's unit.
    order = _depth_first_order(n, adjacency)
    unit_members = [order[i : i + 5] for i in range(0, n, 5)]
    rels_from: list[list[int]] = [[] for _ in range(n)]
    for r, (a, _) in enumerate(edges):
        rels_from[a].append(r)
    descriptions = [
        _description(rng, titles[v], types[v], topics[v], [titles[u] for u in adjacency[v][:3]])
        for v in range(n)
    ]

    documents: list[Document] = []
    text_units: list[TextUnit] = []
    units_of_entity: list[list[str]] = [[] for _ in range(n)]
    unit_of_rel: list[str] = [""] * len(edges)
    doc_sizes = _blocks(rng, range(len(unit_members)), 4, 24)
    for d, unit_indexes in enumerate(doc_sizes):
        doc_id = content_id("synthetic-document", str(seed), str(n), str(d))
        parts: list[str] = []
        offset = 0
        doc_units: list[TextUnit] = []
        for ui in unit_indexes:
            members = unit_members[ui]
            text, n_tokens = _unit_text(rng, vocab, members, descriptions, rels_from, rel_texts)
            start, end = offset, offset + len(text)
            unit = TextUnit(
                id=content_id(doc_id, str(start), str(end)),
                short_id=len(text_units) + 1,
                document_id=doc_id,
                text=text,
                n_tokens=n_tokens,
                start=start,
                end=end,
            )
            text_units.append(unit)
            doc_units.append(unit)
            parts.append(text)
            offset = end + 2
            mentioned: dict[int, None] = dict.fromkeys(members)
            for v in members:
                for r in rels_from[v]:
                    unit_of_rel[r] = unit.id
                    mentioned[edges[r][1]] = None
            for v in mentioned:
                units_of_entity[v].append(unit.id)
        root = rng.choice(vocab.roots)
        kind = rng.choice(
            ["Quarterly Review", "Field Notes", "Annual Report", "Dispatch", "Briefing", "Almanac"]
        )
        documents.append(
            Document(
                id=doc_id,
                title=f"{root} {kind} {d + 1}",
                source=f"synthetic/documents/doc-{d + 1:06d}.md",
                text="\n\n".join(parts),
                text_unit_ids=[u.id for u in doc_units],
            )
        )

    entity_ids = [content_id("entity", title.lower()) for title in titles]
    entities = [
        Entity(
            id=entity_ids[v],
            short_id=v + 1,
            title=titles[v],
            type=types[v],
            description=descriptions[v],
            text_unit_ids=units_of_entity[v],
            degree=degree[v],
        )
        for v in range(n)
    ]
    relationships = [
        Relationship(
            id=content_id("relationship", entity_ids[a], entity_ids[b]),
            short_id=r + 1,
            source=titles[a],
            target=titles[b],
            description=rel_texts[r],
            weight=float(rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 16))),
            text_unit_ids=[unit_of_rel[r]],
            rank=degree[a] + degree[b],
        )
        for r, (a, b) in enumerate(edges)
    ]

    communities, reports, leaf_of = _communities(rng, order, edges, entities, relationships)
    if embedding_dim > 0:
        _add_embeddings(seed, entities, leaf_of, embedding_dim)
    return GraphIndex(
        documents=documents,
        text_units=text_units,
        entities=entities,
        relationships=relationships,
        communities=communities,
        reports=reports,
        built_at="2024-01-01T00:00:00+00:00",
        seconds=0.0,
        extractor=f"synthetic-v{GENERATOR_VERSION}",
    )


def _title(rng: random.Random, vocab: _Vocabulary, entity_type: str) -> str:
    root = rng.choice(vocab.roots)
    if entity_type == "PERSON":
        return f"{rng.choice(vocab.given)} {root}"
    if entity_type == "ORGANIZATION":
        if rng.random() < 0.5:
            return f"{root} {rng.choice(vocab.roots)} {rng.choice(_ORG_SUFFIXES)}"
        return f"{root} {rng.choice(_ORG_SUFFIXES)}"
    if entity_type == "GEO":
        return rng.choice(_GEO_PATTERNS).format(root)
    if entity_type == "EVENT":
        return f"{root} {rng.choice(_EVENT_NOUNS)} {rng.choice(_YEARS)}"
    return f"{rng.choice(_ADJECTIVES).capitalize()} {root} {rng.choice(_TECH_NOUNS)}"


def _kind(rng: random.Random, entity_type: str) -> str:
    return rng.choice(
        {
            "PERSON": _ROLES,
            "ORGANIZATION": _ORG_KINDS,
            "GEO": _GEO_KINDS,
            "EVENT": _EVENT_KINDS,
            "TECHNOLOGY": _TECH_KINDS,
        }[entity_type]
    )


def _description(
    rng: random.Random,
    title: str,
    entity_type: str,
    topic: tuple[str, str, str, str],
    neighbours: Sequence[str],
) -> str:
    adj, noun, noun2, jargon = topic
    kind = _kind(rng, entity_type)
    person = entity_type == "PERSON"
    focus = rng.choice(
        [
            f"focused on {jargon} {noun}",
            f"known for {'their' if person else 'its'} work on {adj} {noun} and {noun2}",
            f"involved in {noun} and {jargon} {noun2}",
        ]
    )
    sentences = [f"{title} is {_article(adj)} {adj} {kind} {focus}."]
    if neighbours:
        linked = " and ".join(neighbours[:2])
        verb = rng.choice(["works closely with", "is often linked to", "has ties to", "is associated with"])
        if person:
            verb = verb.replace("works", "work").replace("is ", "are ").replace("has ", "have ")
        sentences.append(f"{'They' if person else 'It'} {verb} {linked}.")
    if rng.random() < 0.5:
        sentences.append(f"Since {rng.choice(_YEARS)}, {title} has shaped {adj} {noun2} practice.")
    return " ".join(sentences)


def _relationship_sentence(
    rng: random.Random, vocab: _Vocabulary, titles: list[str], types: list[str], a: int, b: int
) -> str:
    verb = rng.choice(_VERBS_BY_TARGET[types[b]]).format(noun=rng.choice(_NOUNS))
    context = rng.choice(_REL_CONTEXTS).format(
        adj=rng.choice(_ADJECTIVES),
        noun=rng.choice(_NOUNS),
        year=rng.choice(_YEARS),
        jargon=rng.choice(vocab.jargon),
    )
    return f"{titles[a]} {verb} {titles[b]}{context}."


def _unit_text(
    rng: random.Random,
    vocab: _Vocabulary,
    members: Sequence[int],
    descriptions: Sequence[str],
    rels_from: Sequence[list[int]],
    rel_texts: Sequence[str],
) -> tuple[str, int]:
    target = rng.randint(250, 350)
    sentences: list[str] = []
    tokens = 0
    for v in members:
        first = descriptions[v].split(". ", 1)[0].rstrip(".") + "."
        for sentence in [first, *(rel_texts[r] for r in rels_from[v])]:
            sentences.append(sentence)
            tokens += count_tokens(sentence)
        if tokens < target and rng.random() < 0.7:
            sentence = _filler(rng)
            sentences.append(sentence)
            tokens += count_tokens(sentence)
    while tokens < target:
        sentence = _filler(rng)
        sentences.append(sentence)
        tokens += count_tokens(sentence)
    return " ".join(sentences), tokens  # spaces are not tokens: the sum is the text's count


def _filler(rng: random.Random) -> str:
    return rng.choice(_FILLER).format(
        adj=rng.choice(_ADJECTIVES),
        noun=rng.choice(_NOUNS),
        noun2=rng.choice(_NOUNS),
        year=rng.choice(_YEARS),
    )


def _communities(
    rng: random.Random,
    order: list[int],
    edges: list[tuple[int, int]],
    entities: list[Entity],
    relationships: list[Relationship],
) -> tuple[list[Community], list[CommunityReport], list[int]]:
    """Leaves of 4-16 consecutive entities of `order`; each higher level groups 5-15 of the level below,
    while a level has more than 15 communities, up to 3 levels. Ids: top level first, parents before children."""
    leaf_groups = _blocks(rng, order, 4, 16)
    levels: list[list[list[int]]] = [leaf_groups]  # each level: groups of indexes into the level below
    while len(levels[-1]) > 15 and len(levels) < 3:
        levels.append(_blocks(rng, range(len(levels[-1])), 5, 15))
    levels.reverse()  # levels[0] is now the top
    # Members of each community at each level, as entity indexes.
    members: list[list[list[int]]] = [[] for _ in levels]
    members[-1] = leaf_groups
    for depth in range(len(levels) - 2, -1, -1):
        below = members[depth + 1]
        members[depth] = [[v for child in group for v in below[child]] for group in levels[depth]]

    # Ids level by level; parent of a child group = the group of the level above holding it.
    ids: list[list[int]] = []
    next_id = 0
    for depth in range(len(levels)):
        ids.append(list(range(next_id, next_id + len(members[depth]))))
        next_id += len(members[depth])
    parents: list[list[int]] = [[-1] * len(members[0])]
    for depth in range(1, len(levels)):
        parent_of = [0] * len(members[depth])
        for g, group in enumerate(levels[depth - 1]):
            for child in group:
                parent_of[child] = ids[depth - 1][g]
        parents.append(parent_of)

    n = len(entities)
    community_of = []  # per level, entity index -> community position at that level
    for depth in range(len(levels)):
        position = [0] * n
        for c, group in enumerate(members[depth]):
            for v in group:
                position[v] = c
        community_of.append(position)
    rels_in: list[list[list[int]]] = [[[] for _ in members[d]] for d in range(len(levels))]
    for r, (a, b) in enumerate(edges):
        for depth in range(len(levels)):
            ca = community_of[depth][a]
            if ca == community_of[depth][b]:
                rels_in[depth][ca].append(r)

    communities: list[Community] = []
    reports: list[CommunityReport] = []
    for depth in range(len(levels)):
        for c, group in enumerate(members[depth]):
            rel_ix = rels_in[depth][c]
            report = _report(rng, ids[depth][c], depth, group, rel_ix, entities, relationships)
            communities.append(
                Community(
                    id=ids[depth][c],
                    level=depth,
                    parent=parents[depth][c],
                    title=report.title,
                    entity_ids=[entities[v].id for v in group],
                    relationship_ids=[relationships[r].id for r in rel_ix],
                    text_unit_ids=list(
                        dict.fromkeys(u for r in rel_ix for u in relationships[r].text_unit_ids)
                    ),
                )
            )
            reports.append(report)
    return communities, reports, community_of[-1]


def _report(
    rng: random.Random,
    community: int,
    level: int,
    group: list[int],
    rel_ix: list[int],
    entities: list[Entity],
    relationships: list[Relationship],
) -> CommunityReport:
    ranked = sorted(group, key=lambda v: -entities[v].degree)[:3]
    names = [entities[v].title for v in ranked]
    noun = rng.choice(_NOUNS)
    if len(names) >= 2 and rng.random() < 0.5:
        title = f"{names[0]} and {names[1]}"
    else:
        title = f"{names[0]} and the {rng.choice(_ADJECTIVES)} {noun} network"
    lead = f"This community centres on {names[0]}"
    others = len(group) - 1
    lead += f" and {others} related entit{'y' if others == 1 else 'ies'}." if others else "."
    summary = " ".join(
        [lead, *(entities[v].description.split(". ", 1)[0].rstrip(".") + "." for v in ranked[:2])]
    )
    strongest = sorted(rel_ix, key=lambda r: (-relationships[r].weight, -relationships[r].rank, r))[:5]
    findings = [
        Finding(
            summary=f"{relationships[r].source} and {relationships[r].target}",
            explanation=f"{relationships[r].description} {_filler(rng)}",
        )
        for r in strongest
    ]
    if not findings:
        v = ranked[0]
        findings = [Finding(summary=f"The role of {entities[v].title}", explanation=entities[v].description)]
    rank = round(min(10.0, rng.uniform(1.0, 4.0) + math.log1p(len(group)) + 0.5 * math.log1p(len(rel_ix))), 1)
    lines = [f"# {title}", "", summary, ""]
    for f in findings:
        lines += [f"## {f.summary}", "", f.explanation, ""]
    return CommunityReport(
        community=community,
        level=level,
        title=title,
        summary=summary,
        full_content="\n".join(lines).strip(),
        rank=rank,
        findings=findings,
    )


def _add_embeddings(seed: int, entities: list[Entity], leaf_of: list[int], dim: int) -> None:
    """Unit-norm float32 vectors, each near its leaf community's centroid (so neighbours are similar)."""
    generator = np.random.default_rng(seed)
    centroids = generator.standard_normal((max(leaf_of) + 1, dim), dtype=np.float32)
    vectors = centroids[np.asarray(leaf_of)] + 0.7 * generator.standard_normal(
        (len(entities), dim), dtype=np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for entity, vector in zip(entities, vectors, strict=True):
        entity.embedding = vector.tolist()


# ---------------------------------------------------------------------------------------------- questions


@dataclass
class Question:
    kind: str  # "name" | "description" | "follow-up" | "no-match"
    text: str
    history: list[tuple[str, str]] = field(default_factory=list)  # (role, text), oldest first


_WORD_STOP = frozenset(
    """a an and the is of on in to for its it with by at as has have since from that this they their
    known focused involved work works closely often linked ties associated shaped practice""".split()
)


def question_material(index: GraphIndex, seed: int = 0, sample: int = 2000) -> dict[str, list]:
    """A small JSON-able sample of the index to make questions from: half uniform, half by degree (people
    ask about central entities more), each with its type, description and a few neighbours."""
    rng = random.Random(f"kgbot-questions-{seed}")
    entities = index.entities
    picks = rng.sample(range(len(entities)), min(sample // 2, len(entities)))
    picks += rng.choices(range(len(entities)), weights=[e.degree + 1 for e in entities], k=sample // 2)
    picks = list(dict.fromkeys(picks))
    chosen = {entities[i].title for i in picks}
    neighbours: dict[str, list[str]] = defaultdict(list)
    for r in index.relationships:
        if r.source in chosen and len(neighbours[r.source]) < 5:
            neighbours[r.source].append(r.target)
        if r.target in chosen and len(neighbours[r.target]) < 5:
            neighbours[r.target].append(r.source)
    return {
        "entities": [
            [entities[i].title, entities[i].type, entities[i].description, neighbours[entities[i].title]]
            for i in picks
        ]
    }


_NAME_TEMPLATES = [
    "What is {a}?",
    "Tell me about {a}.",
    "How is {a} connected to {b}?",
    "What does {a} do?",
    "Who works with {a}?",
    "What is the relationship between {a} and {b}?",
    "Summarise what the documents say about {a}.",
]
_DESCRIPTION_TEMPLATES = [
    "Which {kind} works on {words}?",
    "What is known about {words}?",
    "Who is involved in {words}?",
    "Find anything related to {words}.",
]
_FOLLOW_UPS = [
    "And who are its main partners?",
    "What about {b}?",
    "How did that change over time?",
    "Why does it matter?",
]
_KIND_WORDS = {
    "PERSON": "person",
    "ORGANIZATION": "organisation",
    "GEO": "place",
    "EVENT": "event",
    "TECHNOLOGY": "technology",
}


def make_questions(material: dict[str, list], count: int, seed: int = 0) -> list[Question]:
    """`count` questions: ~40% name an entity, ~30% describe one by words of its description, ~20% are
    follow-ups with a conversation history, ~10% match nothing (made-up words, and stopwords only)."""
    rng = random.Random(f"kgbot-questions-{seed}-{count}")
    pool = material["entities"]
    questions: list[Question] = []
    for i in range(count):
        roll = (i * 7919) % 10  # a fixed mix whatever the count, shuffled below
        title, etype, description, neighbours = rng.choice(pool)
        other = rng.choice(neighbours) if neighbours else rng.choice(pool)[0]
        if roll < 4:
            text = rng.choice(_NAME_TEMPLATES).format(a=title, b=other)
            questions.append(Question("name", text))
        elif roll < 7:
            title_words = set(title.lower().split()) | {w.lower() for n in neighbours for w in n.split()}
            words = [
                w
                for w in dict.fromkeys(description.lower().replace(".", " ").replace(",", " ").split())
                if w not in _WORD_STOP and w not in title_words and not w.isdigit()
            ]
            picked = rng.sample(words, min(len(words), rng.randint(2, 4))) if words else ["records"]
            text = rng.choice(_DESCRIPTION_TEMPLATES).format(kind=_KIND_WORDS[etype], words=" ".join(picked))
            questions.append(Question("description", text))
        elif roll < 9:
            first = rng.choice(_NAME_TEMPLATES).format(a=title, b=other)
            history = [("user", first), ("assistant", description)]
            questions.append(Question("follow-up", rng.choice(_FOLLOW_UPS).format(b=other), history))
        else:
            if rng.random() < 0.2:
                text = rng.choice(["What is it?", "Why?", "And then what?"])
            else:
                made_up = [
                    "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3)) + "qx"
                    for _ in range(rng.randint(1, 3))
                ]
                text = f"What is the {' '.join(made_up)}?"
            questions.append(Question("no-match", text))
    rng.shuffle(questions)
    return questions
