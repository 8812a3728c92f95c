"""A small knowledge graph written by hand for the local-search and answer tests.

Every record is known, so a test can say exactly which entities a question selects, which relationships are
in- or out-of-network, which reports and sources rank first. Short ids are chosen to differ from list
positions, so a test confusing the two fails.

    Transformer ── Multi-Head Attention      (in the same community; both named in many questions)
      │  ╲                 │   ╲
      │   Encoder ─────────┘    Decoder ── Beam Search
      ├── Dropout   ├── GPU
    Hydra ── Greek Myth   Many Heads        (distractors: "heads" without attention)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kg.model import (
    Community,
    CommunityReport,
    Document,
    Entity,
    Finding,
    GraphIndex,
    Relationship,
    TextUnit,
)
from kg.store.sqlite.store import SqliteStore

DOC = "doc-transformers"
DOC_TITLE = "Transformer notes"
DOC_SOURCE = "notes/transformers.md"

UNITS = {  # id -> (short id, text)
    "u-heads": (
        11,
        "Multi-Head Attention runs eight attention heads in parallel. Each head attends to a different "
        "representation subspace, and the outputs of the heads are concatenated.",
    ),
    "u-layers": (
        12,
        "Multi-Head Attention appears in every layer of the Encoder and the Decoder of the Transformer. "
        "The Encoder and the Decoder are stacks of six identical layers.",
    ),
    "u-training": (13, "The Transformer was trained on eight GPU cards for twelve hours."),
    "u-dropout": (
        14,
        "Dropout regularises the Transformer by zeroing activations at random during training. "
        "The base model uses a dropout rate of 0.1 on every sub-layer.",
    ),
    "u-hydra": (
        15,
        "The Hydra of Greek Myth has many heads. Whenever one of its heads is cut off, two heads grow back.",
    ),
    "u-beam": (16, "Beam Search keeps the four best hypotheses while the Decoder writes the output."),
}

# title -> (short id, type, description, text unit ids, degree)
ENTITIES = {
    "Transformer": (
        21,
        "MODEL",
        "A sequence transduction model built on attention, regularised with dropout.",
        ["u-layers", "u-training", "u-dropout"],
        6,
    ),
    "Multi-Head Attention": (
        22,
        "CONCEPT",
        "Attention computed several times in parallel with different learned projections.",
        ["u-heads", "u-layers"],
        3,
    ),
    "Encoder": (23, "COMPONENT", "The stack of layers that reads the input sequence.", ["u-layers"], 2),
    "Decoder": (
        24,
        "COMPONENT",
        "The stack of layers that writes the output sequence.",
        ["u-layers", "u-beam"],
        3,
    ),
    "Dropout": (
        25,
        "TECHNIQUE",
        "A regularisation technique that zeroes activations at random.",
        ["u-dropout"],
        1,
    ),
    "GPU": (26, "HARDWARE", "Graphics processors used to train the model.", ["u-training"], 1),
    "Hydra": (
        27,
        "CREATURE",
        "A serpent of legend that grows two heads for each one cut off.",
        ["u-hydra"],
        1,
    ),
    "Greek Myth": (28, "CONCEPT", "The body of legends told in ancient Greece.", ["u-hydra"], 1),
    "Beam Search": (29, "METHOD", "A decoding method that keeps the best hypotheses.", ["u-beam"], 1),
    "Many Heads": (30, "ORGANIZATION", "A folk band whose name says how many heads it has.", [], 0),
}

# (short id, source, target, weight, description, text unit ids)
RELATIONSHIPS = [
    (
        40,
        "Multi-Head Attention",
        "Transformer",
        5.0,
        "The Transformer uses Multi-Head Attention.",
        ["u-layers"],
    ),
    (
        41,
        "Multi-Head Attention",
        "Encoder",
        3.0,
        "Every Encoder layer has Multi-Head Attention.",
        ["u-layers"],
    ),
    (
        42,
        "Multi-Head Attention",
        "Decoder",
        2.0,
        "Every Decoder layer has Multi-Head Attention.",
        ["u-layers"],
    ),
    (43, "Transformer", "Encoder", 4.0, "The Transformer has an Encoder of six layers.", ["u-layers"]),
    (44, "Transformer", "Decoder", 3.5, "The Transformer has a Decoder of six layers.", ["u-layers"]),
    (45, "Transformer", "Dropout", 6.0, "Dropout regularises the Transformer.", ["u-dropout"]),
    (46, "Transformer", "GPU", 1.0, "The Transformer was trained on GPU cards.", ["u-training"]),
    (47, "Hydra", "Greek Myth", 9.0, "The Hydra is a creature of Greek Myth.", ["u-hydra"]),
    (48, "Decoder", "Beam Search", 7.0, "Beam Search drives the Decoder at inference.", ["u-beam"]),
]

# id -> (level, parent, member titles, report title, report rank)
COMMUNITIES = {
    0: (
        0,
        -1,
        ["Transformer", "Multi-Head Attention", "Encoder", "Decoder", "Dropout", "GPU"],
        "Transformer",
        2.0,
    ),
    1: (1, 0, ["Multi-Head Attention", "Encoder", "Decoder"], "Attention layers", 9.0),
    2: (1, 0, ["Transformer", "Dropout", "GPU"], "Training the Transformer", 7.0),
    3: (0, -1, ["Hydra", "Greek Myth"], "Greek legends", 10.0),
    4: (0, -1, ["Beam Search"], "Decoding", 8.0),
}

# Vectors for the vector-search tests: axis 0 attention, 1 regularisation, 2 hardware, 3 legend, 4 other.
EMBEDDINGS = {
    "Transformer": [0.7, 0.3, 0.2, 0.0, 0.0],
    "Multi-Head Attention": [1.0, 0.0, 0.0, 0.0, 0.0],
    "Encoder": [0.6, 0.0, 0.0, 0.0, 0.4],
    "Decoder": [0.6, 0.0, 0.0, 0.0, 0.4],
    "Dropout": [0.0, 1.0, 0.0, 0.0, 0.0],
    "GPU": [0.0, 0.0, 1.0, 0.0, 0.0],
    "Hydra": [0.0, 0.0, 0.0, 1.0, 0.0],
    "Greek Myth": [0.0, 0.0, 0.0, 1.0, 0.2],
    "Beam Search": [0.2, 0.0, 0.0, 0.0, 1.0],
    "Many Heads": [0.0, 0.0, 0.0, 0.3, 1.0],
}
TOPICS = (
    ("attention", "heads"),
    ("overfit", "regular", "generalis"),
    ("hardware", "gpu"),
    ("legend", "myth"),
)


async def keyword_embed(text: str) -> Sequence[float]:
    """A deterministic query embedding on the axes of EMBEDDINGS: which topic words the text contains."""
    low = text.lower()
    vector = [1.0 if any(word in low for word in topic) else 0.0 for topic in TOPICS]
    return [*vector, 0.0 if any(vector) else 1.0]


def entity_id(title: str) -> str:
    return "e-" + title.lower().replace(" ", "-")


def small_index(*, variant: str = "", embeddings: bool = False) -> GraphIndex:
    """The graph above as one build; `variant` is appended to every text, to tell namespaces apart."""
    tail = f" {variant}" if variant else ""
    offsets, units = 0, []
    for uid, (short, text) in UNITS.items():
        units.append(TextUnit(uid, short, DOC, text + tail, len(text.split()), offsets, offsets + len(text)))
        offsets += len(text) + 1
    entities = [
        Entity(
            entity_id(title),
            short,
            title,
            kind,
            description + tail,
            list(unit_ids),
            degree,
            embedding=list(EMBEDDINGS[title]) if embeddings else None,
        )
        for title, (short, kind, description, unit_ids, degree) in ENTITIES.items()
    ]
    relationships = [
        Relationship(
            f"r-{short}",
            short,
            source,
            target,
            description + tail,
            weight,
            list(unit_ids),
            rank=ENTITIES[source][4] + ENTITIES[target][4],
        )
        for short, source, target, weight, description, unit_ids in RELATIONSHIPS
    ]
    communities, reports = [], []
    for cid, (level, parent, members, title, rank) in COMMUNITIES.items():
        communities.append(Community(cid, level, parent, title, [entity_id(t) for t in members]))
        summary = f"The {title} community: {', '.join(members)}.{tail}"
        reports.append(
            CommunityReport(
                cid,
                level,
                title,
                summary,
                f"# {title}\n\n{summary}",
                rank,
                [Finding(f"About {members[0]}", f"{members[0]} belongs to the {title} community.{tail}")],
            )
        )
    document = Document(DOC, DOC_TITLE, DOC_SOURCE, " ".join(t for _, t in UNITS.values()), list(UNITS))
    return GraphIndex(
        documents=[document],
        text_units=units,
        entities=entities,
        relationships=relationships,
        communities=communities,
        reports=reports,
        built_at="2026-01-01T00:00:00Z",
        extractor="hand-written",
    )


async def small_store(path: Path, *, embeddings: bool = False, namespace: str = "default") -> SqliteStore:
    """A real SQLite store holding the small graph in `namespace`."""
    store = SqliteStore(path)
    await store.publish(namespace, small_index(embeddings=embeddings))
    return store
