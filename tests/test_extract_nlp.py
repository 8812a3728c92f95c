"""The offline extractor on small texts written for these tests."""

from __future__ import annotations

import pytest

from kg.index.extract.base import ChunkExtraction
from kg.index.extract.nlp import NlpExtractor, extract_chunk, pick_type
from kg.model import TextUnit
from kg.text.words import normalize_title

NETWORKING = """Routing at Northwind Labs

The Lattice Router is a packet router designed by Northwind Labs for small offices.
In practice, the Lattice Router relies on multi-path routing and weighted fair queuing.
Multi-path routing spreads traffic over several uplinks [4], while weighted fair queuing gives each flow a
share of every uplink. However, multi-path routing needs careful tuning (see Figure 3 and Table 2).
Weighted fair queuing was first shown at NANOG 2019 by Priya Raman.
The router speaks BGP to the upstream providers, and BGP sessions are monitored every 30 seconds.
Meanwhile, engineers measured the latency of self-attention models on the same hardware.
"""

STORY = """'Humbug!' said Mr. Thornbury, and he shut the ledger.

Thornbury's clerk, Alfred Pim, did not look up. 'Good evening, Mr. Thornbury,' said the clerk.
Nobody answered. Old Thornbury walked home through the fog, and the fog followed Thornbury to his door.
"""


def titles(extraction: ChunkExtraction) -> dict[str, str]:
    """Normalised title -> type."""
    return {normalize_title(e.title): e.type for e in extraction.entities}


def test_finds_names_acronyms_and_key_phrases() -> None:
    found = titles(extract_chunk(NETWORKING))
    for title in [
        "Lattice Router",
        "Northwind Labs",
        "multi-path routing",
        "weighted fair queuing",
        "BGP",
        "NANOG 2019",
        "Priya Raman",
        "self-attention models",
    ]:
        assert normalize_title(title) in found, title
    assert found[normalize_title("Northwind Labs")] == "ORGANIZATION"
    assert found[normalize_title("BGP")] == "TECHNOLOGY"
    assert found[normalize_title("multi-path routing")] == "CONCEPT"


def test_a_hyphenated_compound_is_an_entity_inside_a_longer_phrase() -> None:
    text = (
        "Our encoder uses self-attention throughout. Each layer applies self-attention to its input. "
        "The self-attention layers are cheap, and the self-attention weights are easy to inspect."
    )
    found = titles(extract_chunk(text))
    assert "self attention" in found
    assert "self attention layer" in found


def test_sentence_initial_capitals_and_document_furniture_are_not_entities() -> None:
    found = titles(extract_chunk(NETWORKING))
    for word in [
        "the",
        "in",
        "however",
        "meanwhile",
        "multi",
        "figure",
        "table",
        "4",
        "2",
        "30",
        "routing at",
    ]:
        assert word not in found, word
    assert not any(key.startswith(("the ", "in ", "however ", "meanwhile ")) for key in found)


def test_a_capitalised_word_that_is_only_ever_sentence_initial_is_not_a_name() -> None:
    text = "Packets arrive in bursts. Bursts fill the queue of the router. Queues drain slowly under load."
    extraction = extract_chunk(text)
    assert extraction.entities
    assert all(e.type == "CONCEPT" for e in extraction.entities)  # "Packets", "Bursts", "Queues" are no names


def test_an_acronym_spelt_like_a_name_connector_is_still_an_entity() -> None:
    extraction = extract_chunk("Direct action (DA) is a short raid. The DA team left at dawn.")
    assert "da" in titles(extraction)


def test_honorifics_and_possessives_merge_into_one_person() -> None:
    extraction = extract_chunk(STORY)
    people = [e for e in extraction.entities if normalize_title(e.title) == "thornbury"]
    assert len(people) == 1  # "Mr. Thornbury", "Thornbury's", "Old Thornbury" and "Thornbury" are one
    assert people[0].type == "PERSON"
    assert "alfred pim" in titles(extraction)
    assert {"humbug", "nobody", "good evening", "old", "old thornbury", "walked home"}.isdisjoint(
        titles(extraction)
    )


def test_relationships_carry_the_sentence_and_count_sentences() -> None:
    extraction = extract_chunk(NETWORKING)
    by_pair = {
        frozenset((normalize_title(r.source), normalize_title(r.target))): r for r in extraction.relationships
    }
    router_and_lab = by_pair[
        frozenset((normalize_title("Lattice Router"), normalize_title("Northwind Labs")))
    ]
    assert router_and_lab.weight == 1.0
    assert router_and_lab.description == (
        "The Lattice Router is a packet router designed by Northwind Labs for small offices."
    )

    both = by_pair[frozenset(("multi path routing", "weighted fair queuing"))]
    assert both.weight == 2.0  # two sentences name both
    assert "relies on multi-path routing and weighted fair queuing" in both.description
    assert "[4]" not in both.description  # citations are noise, not evidence


def test_a_heading_is_linked_to_the_sentence_under_it() -> None:
    text = "Beacon Relay\nThe relay forwards alerts to the harbour office over a VHF link.\n"
    extraction = extract_chunk(text)
    relay_to_vhf = [r for r in extraction.relationships if {r.source, r.target} == {"Beacon Relay", "VHF"}]
    assert relay_to_vhf
    assert relay_to_vhf[0].description.startswith("Beacon Relay: The relay forwards alerts")


def test_long_lists_do_not_pair_every_entity_with_every_other() -> None:
    names = (
        "Alder Point, Birch Cove, Cedar Bay, Dunmore, Elm Harbour, Fernhill, Glenrock, Hazel Ford, Ivybridge"
    )
    names += ", Juniper Sound, Kestrel Point and Larkspur Reach"  # twelve places
    extraction = extract_chunk(f"The survey visited {names} in one week.")
    assert len(titles(extraction)) >= 12
    assert 0 < len(extraction.relationships) < 12 * 11 // 2


def test_an_entity_is_described_by_its_definitional_sentence() -> None:
    extraction = extract_chunk(NETWORKING)
    router = next(e for e in extraction.entities if e.title == "Lattice Router")
    assert router.description.startswith("The Lattice Router is a packet router")
    assert router.description.count(".") <= 2  # at most two sentences


@pytest.mark.parametrize("text", ["", "   \n\t  \n", "12 34 -- [5]", "..."])
def test_empty_or_contentless_chunks_give_nothing(text: str) -> None:
    assert extract_chunk(text) == ChunkExtraction()


@pytest.mark.parametrize(
    ("variants", "key"),
    [
        (["Mr. Scrooge", "Scrooge", "Scrooge's", "Mr Scrooge"], "scrooge"),
        (["Multi-Head Attention", "multi-head attention", "multi head attentions"], "multi head attention"),
        (["RNNs", "RNN"], "rnn"),
        (["queries", "query"], "query"),
        (["The Transformer", "Transformer"], "transformer"),
    ],
)
def test_normalize_title_merges_spelling_variants(variants: list[str], key: str) -> None:
    assert {normalize_title(v) for v in variants} == {key}


def test_normalize_title_keeps_what_is_not_a_variant() -> None:
    assert normalize_title("Llion Jones") == "llion jones"  # a capitalised name is never singularised
    assert normalize_title("Mrs. Cratchit") != normalize_title("Mr. Cratchit")
    assert normalize_title("analysis") == "analysis"
    assert normalize_title("WMT 2014") == "wmt 2014"


def test_pick_type_prefers_the_specific_type() -> None:
    assert pick_type(["NAME", "NAME", "PERSON"]) == "PERSON"
    assert pick_type(["CONCEPT", "NAME", "CONCEPT"]) == "CONCEPT"
    assert pick_type(["ORGANIZATION", "PERSON", "PERSON"]) == "PERSON"


async def test_extractor_reports_progress_and_keeps_order() -> None:
    texts = [NETWORKING, "", STORY] * 7
    units = [
        TextUnit(id=f"u{i}", short_id=i, document_id="d", text=t, n_tokens=0) for i, t in enumerate(texts)
    ]
    done: list[int] = []
    extractor = NlpExtractor()
    results = await extractor.extract(units, progress=done.append)
    assert sum(done) == len(units) and len(done) > 1  # reported as batches finish
    assert results == [extract_chunk(t) for t in texts]
    assert extractor.cache_key.startswith("nlp:")
