"""Pictures of an answer's evidence (kg/search/picture/): what is drawn, what is left out, and that nothing
a document says is anything but text in the picture."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from kg.model import Entity, Relationship
from kg.search.picture.draw import NOTHING_TO_DRAW, PictureError, draw_evidence, render
from kg.search.picture.evidence import (
    CITED,
    COMMUNITY,
    MEMBER,
    NEIGHBOUR,
    Edge,
    Evidence,
    EvidenceIds,
    Node,
    build_evidence,
    cited_evidence,
)
from kg.search.picture.labels import ELLIPSIS, clean_label, short_description
from kg.search.picture.scene import HEIGHT, LIMIT, WIDTH, compose
from kg.store.sqlite.store import SqliteStore
from tests.store_contract import sample_index

HOSTILE = [
    "\u202eexe.txt\u202c evil",  # right-to-left override
    "\u2066isolated\u2069 name",
    "line\nbreak\r\tand\x00nul\x1b[31m red",
    "zero\u200bwidth\u200djoiner\ufeff",
    "<@U123> <!channel> @everyone <script>alert(1)</script> & ]]>",
    "x" * 100_000,
    "word " * 20_000,
]


def entity(title: str, etype: str = "CONCEPT", degree: int = 1) -> Entity:
    return Entity(id=title, short_id=0, title=title, type=etype, description="", degree=degree)


def chain(n: int, cited: int) -> Evidence:
    """`n` nodes in a ring, the first `cited` of them cited, each joined to the next."""
    nodes = [
        Node(f"n{i}", f"Node {i}", "concept", CITED if i < cited else NEIGHBOUR, degree=i) for i in range(n)
    ]
    edges = [Edge(f"n{i}", f"n{(i + 1) % n}", f"links {i}") for i in range(n)]
    return Evidence(nodes, edges, ["Design notes"], "What links them?")


def png_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes the whole image: a broken PNG fails here
    assert image.format == "PNG"
    return image.size


# --- labels -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_labels_are_one_short_line_of_visible_text(text: str) -> None:
    label = clean_label(text)
    assert len(label) <= 28
    assert "\n" not in label and "\r" not in label and "\t" not in label
    for ch in "\u202e\u202c\u2066\u2069\u200b\u200d\ufeff\x00\x1b":
        assert ch not in label


def test_long_labels_end_with_an_ellipsis_and_short_ones_are_kept() -> None:
    assert clean_label("Multi-Head Attention") == "Multi-Head Attention"
    long = clean_label("The scaled dot-product attention of the Transformer model", 28)
    assert long.endswith(ELLIPSIS) and len(long) <= 28 and long.startswith("The scaled dot-product")
    assert clean_label("  spaced \n\n out  ") == "spaced out"
    assert short_description("Vaswani proposed the model. It uses attention.") == "Vaswani proposed the model"


# --- what is drawn ------------------------------------------------------------------------------------


def test_evidence_is_the_cited_entities_their_links_and_faded_linking_neighbours() -> None:
    ids = EvidenceIds(entities=("Transformer", "BLEU"), relationships=(("Transformer", "Attention"),))
    cited = [entity("Transformer", "MODEL", 4), entity("BLEU", "METRIC"), entity("Attention")]
    relationships = [
        Relationship("r1", 1, "Transformer", "Attention", "It uses attention. More text.", 3.0),
        Relationship("r2", 2, "Transformer", "WMT 2014", "Trained on it", 1.0),
        Relationship("r3", 3, "BLEU", "WMT 2014", "Measured on it", 1.0),
        Relationship("r4", 4, "Transformer", "Google", "Built there", 1.0),  # links one cited entity only
    ]
    evidence = build_evidence(ids, cited, relationships, [entity("WMT 2014", "DATASET")], documents=["Paper"])
    roles = {n.key: n.role for n in evidence.nodes}
    assert roles == {"Transformer": CITED, "BLEU": CITED, "Attention": CITED, "WMT 2014": NEIGHBOUR}
    edges = {(e.source, e.target): e for e in evidence.edges}
    assert set(edges) == {("Transformer", "Attention"), ("Transformer", "WMT 2014"), ("BLEU", "WMT 2014")}
    assert (
        edges[("Transformer", "Attention")].cited
        and edges[("Transformer", "Attention")].label == "It uses attention"
    )
    assert not edges[("BLEU", "WMT 2014")].cited
    assert evidence.documents == ["Paper"]


def test_cited_ids_come_from_the_citations_only() -> None:
    entities = [Entity("e1", 1, "A", "T", ""), Entity("e2", 2, "B", "T", "")]
    relationships = [Relationship("r", 7, "A", "C", "")]
    ids = cited_evidence(
        [("Entities", 2), ("Relationships", 7), ("Reports", 3), ("Sources", 9)],
        entities,
        relationships,
        [(3, "Report three"), (4, "Report four")],
        [("t9", 9), ("t10", 10)],
    )
    assert ids == EvidenceIds(("B",), (("A", "C"),), ((3, "Report three"),), ("t9",))
    assert EvidenceIds.from_json(ids.to_json()) == ids


@pytest.mark.parametrize("n", [10, 30, 80])
def test_above_the_limit_the_most_central_nodes_are_drawn_and_the_rest_counted(n: int) -> None:
    evidence = chain(n, cited=8)
    scene = compose(evidence)
    drawn = {b.node.key for b in scene.boxes}
    assert len(drawn) == min(n, LIMIT)
    assert scene.left_out == max(n - LIMIT, 0)
    assert {f"n{i}" for i in range(8)} <= drawn  # cited evidence is never left out for neighbours
    if n > LIMIT:
        assert scene.note.startswith(f"{n - LIMIT} more nodes left out")
    else:
        assert scene.note == ""
    assert all(e.source in drawn and e.target in drawn for e in scene.edges)
    for box in scene.boxes:  # every box on the canvas
        assert 0 <= box.x - box.width / 2 and box.x + box.width / 2 <= WIDTH
        assert 0 <= box.y - box.height / 2 and box.y + box.height / 2 <= HEIGHT
    assert png_size(render(scene, "png")) == (WIDTH, HEIGHT)


def test_the_same_evidence_gives_the_same_picture() -> None:
    assert render(compose(chain(30, 5)), "png") == render(compose(chain(30, 5)), "png")


def test_hostile_labels_are_inert_in_svg_and_png() -> None:
    nodes = [Node(f"k{i}", clean_label(text), clean_label(text, 16), CITED) for i, text in enumerate(HOSTILE)]
    edges = [Edge("k0", "k4", short_description(HOSTILE[4]))]
    evidence = Evidence(nodes, edges, [HOSTILE[4], HOSTILE[0]], HOSTILE[4])
    scene = compose(evidence)
    svg = render(scene, "svg").decode("utf-8")
    root = ET.fromstring(svg)  # well-formed: every label was escaped
    tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
    assert tags <= {"svg", "rect", "title", "text", "line", "g"}  # no <script>, <a> or foreign element
    texts = " ".join(element.text or "" for element in root.iter())
    assert "<@U123>" in texts and "<script>" in texts  # shown as the characters they are
    for ch in "\u202e\u2066\u200b\x00\x1b":
        assert ch not in svg
    assert png_size(render(scene, "png")) == (WIDTH, HEIGHT)


def test_ten_thousand_nodes_still_give_a_picture_of_the_limit() -> None:
    evidence = Evidence(
        [
            Node(f"k{i}", clean_label(HOSTILE[i % len(HOSTILE)] + str(i)), "x", CITED, i)
            for i in range(10_000)
        ],
        [Edge(f"k{i}", f"k{i + 1}", "next") for i in range(9_999)],
    )
    scene = compose(evidence)
    assert len(scene.boxes) == LIMIT and scene.left_out == 10_000 - LIMIT
    assert png_size(render(scene, "png")) == (WIDTH, HEIGHT)


def test_an_unknown_format_is_refused_in_one_line() -> None:
    with pytest.raises(PictureError, match="PNG or SVG"):
        render(compose(chain(3, 1)), "gif")


# --- read from a real store ---------------------------------------------------------------------------


@pytest.fixture
async def store(tmp_path):  # type: ignore[no-untyped-def]
    store = SqliteStore(tmp_path / "kg.sqlite")
    await store.publish("ns", sample_index())
    yield store
    await store.close()


async def test_a_local_answer_draws_its_cited_entities_from_the_store(store: SqliteStore) -> None:
    ids = EvidenceIds(entities=("Ashish Vaswani", "BLEU"))
    picture = await draw_evidence(store, "ns", ids, "Who evaluated it?")
    roles = {n["name"]: n["role"] for n in picture.nodes}
    # Transformer links both cited entities: a faded neighbour (Google Brain links Vaswani only)
    assert roles == {
        "Ashish Vaswani": CITED,
        "BLEU": CITED,
        "Transformer": NEIGHBOUR,
    }
    assert png_size(picture.data) == (WIDTH, HEIGHT) and picture.left_out == 0
    assert {(e["source"], e["target"]) for e in picture.edges} >= {("Ashish Vaswani", "Transformer")}


async def test_a_global_answer_draws_its_communities_and_their_top_entities(store: SqliteStore) -> None:
    ids = EvidenceIds(reports=((0, "Transformer architecture"),))
    picture = await draw_evidence(store, "ns", ids, fmt="svg")
    roles = {n["name"]: n["role"] for n in picture.nodes}
    assert roles == {
        "Transformer architecture": COMMUNITY,
        "Transformer": MEMBER,
        "Multi-Head Attention": MEMBER,
        "BLEU": MEMBER,
    }
    svg = picture.data.decode("utf-8")
    assert "Sources: Attention Is All You Need" in svg


async def test_an_answer_citing_nothing_drawable_gets_a_one_line_refusal(store: SqliteStore) -> None:
    with pytest.raises(PictureError, match=NOTHING_TO_DRAW):
        await draw_evidence(store, "ns", EvidenceIds(entities=("No such entity",)))


async def test_a_local_answer_citing_entities_and_a_report_draws_the_entities_as_cited(
    store: SqliteStore,
) -> None:
    """Cited entities are drawn as cited whatever else is cited; a cited report only adds its community."""
    ids = EvidenceIds(entities=("Ashish Vaswani",), reports=((0, "Transformer architecture"),))
    picture = await draw_evidence(store, "ns", ids, "Who wrote it?")
    roles = {n["name"]: n["role"] for n in picture.nodes}
    assert roles["Ashish Vaswani"] == CITED and roles["Transformer architecture"] == COMMUNITY
    assert [name for name, role in roles.items() if role == CITED] == ["Ashish Vaswani"]
    assert {"Transformer", "Multi-Head Attention", "BLEU"} <= set(roles)
