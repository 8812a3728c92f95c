"""Offline entity linking keys (kg/text/names.py) and spreading activation (kg/search/passages.py)."""

from __future__ import annotations

from kg.model import Entity, TextUnit
from kg.search.passages import LEAD_PASSAGES, Seed, few_passages_fit, rank_passages, spread
from kg.text.names import Mention, entity_keys, longest_mentions, question_mentions


def keys(question: str) -> set[str]:
    return {m.key for m in question_mentions(question)}


def test_entity_keys_fold_case_plural_qualifier_and_acronym() -> None:
    assert entity_keys("Kiss and Tell (1945 film)") == ["kiss and tell 1945 film", "kiss and tell", "KT"]
    assert entity_keys("Attention Deficit Hyperactivity Disorder")[-1] == "ADHD"
    assert entity_keys("Transformers") == ["transformer"]
    assert entity_keys("multi-head attention") == ["multi head attention"]  # lower case: no acronym
    assert entity_keys("Arthur's Magazine")[0] == "arthur magazine"


def test_question_names_titles_in_any_case_and_number() -> None:
    found = keys("Which came first, arthur's magazine or First for Women? And what do the Transformers use?")
    assert {"arthur magazine", "first for women", "transformer"} <= found
    assert (
        "what" not in found and "use" not in found
    )  # function words and lone lower-case words are not names


def test_acronyms_only_from_capitals() -> None:
    assert "ADHD" in keys("Is ADHD common?")
    assert "RNN" in keys("Why were RNNs replaced?")
    assert "WHO" not in keys("who founded it?")


def test_longest_mention_wins() -> None:
    kept = longest_mentions([Mention("tell", 2, 1), Mention("kiss and tell", 0, 3), Mention("archer", 5, 1)])
    assert [m.key for m in kept] == ["kiss and tell", "archer"]


def entity(eid: str, units: list[str]) -> Entity:
    return Entity(eid, 0, eid, "THING", "", units, 1)


def test_a_specific_entity_carries_more_activation_than_a_common_one() -> None:
    activation = spread(
        [Seed(entity("rare", ["p1", "p2"]), 1.0), Seed(entity("common", ["p3", "p4", "p5", "p6"]), 1.0)]
    )
    assert activation["p1"] == 0.5 and activation["p3"] == 0.25


def test_graph_lifts_a_passage_full_text_ranks_low() -> None:
    text = {"a": 1.0, "b": 0.6, "c": 0.3}
    ranked = rank_passages(text, {"c": 1.0, "d": 0.2}, limit=3)
    assert [p.id for p in ranked] == ["a", "c", "b"]  # c: 0.3 + 0.5 beats b: 0.6; d is past the limit
    assert ranked[1].text == 0.3 and ranked[1].graph == 0.5


def test_at_a_budget_of_a_few_passages_the_full_texts_best_lead() -> None:
    # "x" names every entity of the question (activation 3.0) but is a weak keyword match; "a" and "b" are the
    # full text's best (b within LEAD_SHARE of a), "c" is not
    text = {"a": 1.0, "b": 0.8, "c": 0.5, "x": 0.1}
    activation = {"x": 3.0, "c": 1.2}
    assert [p.id for p in rank_passages(text, activation, limit=4)] == ["x", "c", "a", "b"]
    assert [p.id for p in rank_passages(text, activation, limit=4, lead=True)] == ["a", "b", "x", "c"]


def test_few_passages_fit_compares_the_budget_with_the_top_hits_size() -> None:
    hits = [
        (TextUnit(id=f"u{i}", short_id=i, document_id="d", text="t", n_tokens=100), 1.0) for i in range(5)
    ]
    assert few_passages_fit(hits, 2 * LEAD_PASSAGES * 100)
    assert not few_passages_fit(hits, 2 * LEAD_PASSAGES * 100 + 1)
    assert not few_passages_fit([], 100)
