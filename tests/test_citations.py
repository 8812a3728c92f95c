"""Citation markers: parsing, keeping only ids the context holds, `+more`, and markers models get wrong."""

from __future__ import annotations

import re

import pytest

from kg.citations import Citation, check_citations, format_marker

AVAILABLE = {
    "Entities": {1, 2, 3, 4, 5, 6, 7, 28},
    "Relationships": {24, 32, 39},
    "Reports": {0, 15},
    "Sources": {9, 10, 23},
}
WELL_FORMED = re.compile(
    r"\[Data: (?:(?:Entities|Relationships|Reports|Sources) \([0-9, +more]+\)(?:; )?)+\]"
)


def cited(text: str) -> list[tuple[str, int]]:
    return [(c.dataset, c.id) for c in check_citations(text, AVAILABLE).citations]


def assert_clean(text: str) -> None:
    """Every marker left is well-formed and cites only available ids."""
    assert text.count("[Data:") == len(WELL_FORMED.findall(text)), text
    for marker in WELL_FORMED.findall(text):
        for dataset, ids in re.findall(r"(\w+) \(([^)]*)\)", marker):
            for i in ids.split(", "):
                assert i == "+more" or int(i) in AVAILABLE[dataset], (dataset, i)


def test_graphrag_marker_is_parsed_and_kept() -> None:
    text = "Self-attention relates positions [Data: Entities (28); Relationships (32, 39, +more)]."
    checked = check_citations(text, AVAILABLE)
    assert checked.text == text
    assert checked.citations == [
        Citation("Entities", 28),
        Citation("Relationships", 32),
        Citation("Relationships", 39),
    ]
    assert checked.dropped == 0


def test_citations_are_distinct_and_in_order_of_appearance() -> None:
    text = "A [Data: Sources (23, 9)]. B [Data: Reports (15); Sources (9)]. C [Data: Sources (23)]."
    assert cited(text) == [("Sources", 23), ("Sources", 9), ("Reports", 15)]


def test_invented_ids_are_removed_and_counted() -> None:
    checked = check_citations("Claim [Data: Entities (28, 999); Sources (10, 11, 12)].", AVAILABLE)
    assert checked.text == "Claim [Data: Entities (28); Sources (10)]."
    assert checked.dropped == 3
    assert checked.citations == [Citation("Entities", 28), Citation("Sources", 10)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The model is fast [Data: Sources (77, 78)].", "The model is fast."),
        ("The model is fast [Data: Sources (77)], and small.", "The model is fast, and small."),
        ("The model is fast [Data: Sources (77)] and small.", "The model is fast and small."),
        ("Fast [Data: Sources (77)]; small [Data: Sources (9)].", "Fast; small [Data: Sources (9)]."),
        ("[Data: Reports (5)] Next line.\nMore.", "Next line.\nMore."),
        ("One.\n  [Data: Reports (5)] Two.", "One.\nTwo."),
        ("Fast [Data: Sources (9)] [Data: Sources (77)].", "Fast [Data: Sources (9)]."),
        ("Fast (see [Data: Sources (77)]).", "Fast (see)."),
    ],
)
def test_marker_with_only_invented_ids_goes_without_a_trace(text: str, expected: str) -> None:
    checked = check_citations(text, AVAILABLE)
    assert checked.text == expected
    assert "  " not in checked.text and " ." not in checked.text and " ," not in checked.text
    assert checked.dropped >= 1


def test_text_outside_markers_is_never_rewritten() -> None:
    text = "Ratio 3 : 1 ; see `a , b` and  two spaces . Also [brackets] and (Data: 5)."
    assert check_citations(text, AVAILABLE).text == text


def test_plus_more_is_kept_only_where_valid_ids_remain() -> None:
    checked = check_citations(
        "A [Data: Entities (1, 900, +more); Relationships (901, +more); Sources (+more)].", AVAILABLE
    )
    assert checked.text == "A [Data: Entities (1, +more)]."
    assert checked.dropped == 2


def test_more_than_five_ids_are_truncated_to_five_and_more() -> None:
    checked = check_citations("A [Data: Entities (1, 2, 3, 4, 5, 6, 7)].", AVAILABLE)
    assert checked.text == "A [Data: Entities (1, 2, 3, 4, 5, +more)]."
    assert [c.id for c in checked.citations] == [1, 2, 3, 4, 5]  # only what the marker shows is cited
    assert checked.dropped == 0


def test_format_marker_limits_ids() -> None:
    assert format_marker({"Sources": [1, 2, 3, 4], "Entities": [7]}, limit=3) == (
        "[Data: Entities (7); Sources (1, 2, 3, +more)]"
    )
    assert format_marker({"Reports": [1, 2, 3, 4, 5]}) == "[Data: Reports (1, 2, 3, 4, 5)]"
    assert format_marker({"Reports": []}) == ""


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("[Data: entities (28); relationships (32)]", "[Data: Entities (28); Relationships (32)]"),
        (
            "[Data: Entity (28); Relationship (32); Report (15); Source (9)]",
            "[Data: Entities (28); Relationships (32); Reports (15); Sources (9)]",
        ),
        ("[DATA: SOURCES (9)]", "[Data: Sources (9)]"),
        ("[data:sources(9,10)]", "[Data: Sources (9, 10)]"),
        ("[Data: Text Units (9)]", "[Data: Sources (9)]"),
        ("[Data: Sources: 9, 10]", "[Data: Sources (9, 10)]"),
        ("[Data: Reports (15), Sources (9)]", "[Data: Reports (15); Sources (9)]"),
        ("[Data: Sources (9); Sources (10, 9)]", "[Data: Sources (9, 10)]"),
        ("[Data: Sources ( 9 , 10 )]", "[Data: Sources (9, 10)]"),
        ("[Data: Sources (23); Entities (1)]", "[Data: Entities (1); Sources (23)]"),
    ],
)
def test_dataset_names_are_read_leniently(marker: str, expected: str) -> None:
    checked = check_citations(f"Claim {marker}.", AVAILABLE)
    assert checked.text == f"Claim {expected}."
    assert checked.dropped == 0


@pytest.mark.parametrize(
    ("text", "expected", "dropped"),
    [
        # missing closing parenthesis or bracket: read as far as it goes
        ("A [Data: Sources (9, 10]. B", "A [Data: Sources (9, 10)]. B", 0),
        ("A [Data: Sources (9, 10)", "A [Data: Sources (9, 10)]", 0),
        (
            "A [Data: Sources (9, 10) and then the prose goes on (for a while] B",
            "A [Data: Sources (9, 10)] and then the prose goes on (for a while] B",
            0,
        ),
        ("A [Data: Sources (77)", "A", 1),
        # non-numeric ids
        ("A [Data: Sources (9, ten, #10, 1.5, -3, ², ٣)]. B", "A [Data: Sources (9, 10)]. B", 5),
        # unknown dataset
        ("A [Data: Claims (3); Sources (9)]. B", "A [Data: Sources (9)]. B", 1),
        ("A [Data: Claims (3, 4)]. B", "A. B", 2),
        # nested brackets
        ("A [Data: Sources (9, [10])]. B", "A [Data: Sources (9, 10)]. B", 0),
        ("A [Data: Entities (1); [Data: Sources (9)]]. B", "A [Data: Entities (1); Sources (9)]. B", 0),
        ("A [[Data: Sources (9)]]. B", "A [[Data: Sources (9)]]. B", 0),
        ("A [Data: [Sources (9)]]. B", "A [Data: Sources (9)]. B", 0),
        # garbage
        ("A [Data: Sources (9 (10))]. B", "A. B", 2),
        ("A [Data: see the appendix]. B", "A. B", 0),
        ("A [Data: Sources (9), and others]. B", "A [Data: Sources (9)]. B", 0),
        ("A [Data:", "A", 0),
        ("[Data: ]", "", 0),
    ],
)
def test_malformed_markers_never_raise_and_never_keep_invented_ids(
    text: str, expected: str, dropped: int
) -> None:
    checked = check_citations(text, AVAILABLE)
    assert checked.text == expected
    assert checked.dropped == dropped
    assert_clean(checked.text)


@pytest.mark.parametrize(
    "text",
    [
        "[Data: " * 3000,
        "[Data: Sources (" + " " * 20000 + "x",
        "[Data: Sources (" + "9, " * 10000 + "(",
        ("a [Data: " + " " * 100) * 300,
        "[Data: " + "[ " * 10000 + "Sources (9)",
        ("[Data: Sources (9)] " + "word " * 40) * 500,
        "[Data: Sources (" + "]" * 5000,
        "\x00[Data: Sources (9)\x1b[31m]" * 100,
    ],
)
def test_hostile_text_never_raises_or_backtracks_forever(text: str) -> None:
    checked = check_citations(text, AVAILABLE)  # the patterns are linear: this returns at once
    assert_clean(checked.text)


def test_empty_context_drops_every_citation() -> None:
    checked = check_citations("A [Data: Sources (9)]. B [Data: Entities (1, 2)].", {})
    assert checked.text == "A. B."
    assert checked.citations == [] and checked.dropped == 3
