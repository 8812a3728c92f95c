"""Answering: the extractive answerer, the LLM path with a scripted chat model, the LangChain retriever and
the JSON shape tools depend on. All on the small hand-written graph of tests/small_graph.py."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from kg.citations import check_citations
from kg.model import Entity, TextUnit, Turn
from kg.search.answer import QuestionError, ask, clean_question
from kg.search.context import Context
from kg.search.extractive import NOTICE, UNKNOWN, extractive_answer
from kg.search.retriever import GraphRetriever
from kg.store.sqlite.store import SqliteStore
from kg.text.tokens import count_tokens
from tests.scripted_model import ScriptedChatModel, text_reply
from tests.small_graph import DOC_SOURCE, DOC_TITLE, small_store

MHA = "Multi-Head Attention"
HEADS_QUESTION = f"How many heads does {MHA} use?"
_MARKER = re.compile(r"\[Data: [^\]]*\]")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await small_store(tmp_path / "kg.db")
    yield store
    await store.close()


def quoted_sentences(answer_text: str) -> list[tuple[str, str]]:
    """(sentence, its marker) for every sentence of an extractive answer after its notice."""
    body = answer_text.split("\n\n", 1)[1]
    pieces = [p for p in re.split(r"(?<=\]\.)\s+", body.replace("\n\n", " ")) if p]
    out = []
    for piece in pieces:
        markers = _MARKER.findall(piece)
        assert len(markers) == 1 and piece.endswith(markers[0] + "."), piece
        out.append((piece[: -len(markers[0]) - 1].strip(), markers[0]))
    return out


def row_texts(context: Context, marker: str) -> list[str]:
    """The texts of the rows a marker cites."""
    by_dataset = {
        "Entities": {e.short_id: e.description for e in context.entities},
        "Relationships": {r.short_id: r.description for r in context.relationships},
        "Reports": {r.community: " ".join(f.explanation for f in r.findings) for r in context.reports},
        "Sources": {u.short_id: u.text for u in context.sources},
    }
    texts = []
    for dataset, ids in re.findall(r"(\w+) \(([^)]*)\)", marker):
        texts += [by_dataset[dataset][int(i)] for i in ids.split(", ") if i != "+more"]
    return texts


# ---------------------------------------------------------------------------------------- extractive answers


async def test_extractive_answer_quotes_relevant_sentences_each_cited(store: SqliteStore) -> None:
    answer = await ask(store, HEADS_QUESTION)
    assert answer.mode == "extractive"
    assert answer.text.startswith(NOTICE) and "extractive" in answer.text.lower()
    sentences = quoted_sentences(answer.text)
    assert 1 <= len(sentences) <= 6
    assert sentences[0][0] == "Multi-Head Attention runs eight attention heads in parallel"
    for sentence, marker in sentences:
        cited_texts = row_texts(answer.context, marker)  # raises KeyError for an id not in the context
        assert any(sentence in " ".join(t.split()) for t in cited_texts), (sentence, marker)
    assert len({s for s, _ in sentences}) == len(sentences), "no sentence twice"
    assert answer.dropped_citations == 0
    assert check_citations(answer.text, answer.context.available()).dropped == 0
    assert answer.usage.llm_calls == 0 and answer.usage.prompt_tokens == 0


async def test_extractive_answer_sticks_to_the_question(store: SqliteStore) -> None:
    answer = await ask(store, "What dropout rate does the base model use?")
    sentences = [s for s, _ in quoted_sentences(answer.text)]
    assert sentences[0] == "The base model uses a dropout rate of 0.1 on every sub-layer"
    assert not any("Hydra" in s or "Beam Search" in s for s in sentences)


async def test_extractive_answer_says_i_dont_know_when_nothing_matches(store: SqliteStore) -> None:
    answer = await ask(store, "zebra quantum marmalade")
    assert answer.text == UNKNOWN and "I don't know" in answer.text
    assert answer.citations == [] and answer.context.empty and answer.mode == "extractive"


async def test_extractive_follow_up_answers_about_what_was_asked_before(store: SqliteStore) -> None:
    follow_up = "and how many heads does it use?"
    alone = await ask(store, follow_up)
    first, marker = quoted_sentences(alone.text)[0]
    assert "heads" in first and any("Hydra" in t for t in row_texts(alone.context, marker))  # the Hydra

    history = [Turn("user", f"What is {MHA}?"), Turn("assistant", "It computes attention in parallel.")]
    answer = await ask(store, follow_up, history=history)
    assert (
        quoted_sentences(answer.text)[0][0] == "Multi-Head Attention runs eight attention heads in parallel"
    )

    answer = await ask(store, "and why?", history=history)  # nothing of its own to match: the thread's topic
    assert MHA in quoted_sentences(answer.text)[0][0]


def _context(
    question: str, units: list[tuple[int, int, str]], entities: list[tuple[int, str, str]] = ()
) -> Context:
    return Context(
        question=question,
        sources=[TextUnit(f"u{i}", i, "d", text, 10, start, start + len(text)) for i, start, text in units],
        entities=[Entity(f"e{i}", i, title, "CONCEPT", description) for i, title, description in entities],
    )


def test_extractive_answer_skips_near_repeats() -> None:
    context = _context(
        "How does the beacon ranking work?",
        [
            (1, 0, "The beacon ranking sorts harbour lights by their brightness at night."),
            (2, 0, "The beacon ranking sorts the harbour lights by their brightness each night."),
            (3, 0, "Beacon ranking was written by the coastal team in the spring."),
        ],
    )
    sentences = [s for s, _ in quoted_sentences(extractive_answer(context))]
    assert sum("sorts" in s for s in sentences) == 1
    assert any("coastal team" in s for s in sentences)


def test_extractive_answer_does_not_quote_fragments_cut_by_chunking() -> None:
    context = _context(
        "How are beacon lights ranked?",
        [
            # a chunk starting mid-sentence (offset > 0) and one ending mid-sentence
            (
                1,
                500,
                "and beacon lights are ranked by the harbour team. Beacon lights are ranked by brightness.",
            ),
            (
                2,
                900,
                ", beacon lights ranked twice. Every beacon light is checked at dusk. The lights are ranked by",
            ),
        ],
        [(7, "Beacon Light", "A beacon light is ranked by a long procedure that the summary cut short…")],
    )
    sentences = [s for s, _ in quoted_sentences(extractive_answer(context))]
    assert "Beacon lights are ranked by brightness" in sentences
    assert not any(s[0].islower() or s.startswith(",") for s in sentences), sentences
    assert not any(s.endswith(("ranked by", "…")) for s in sentences), sentences


def test_extractive_answer_prefers_a_sentence_saying_what_the_thing_is() -> None:
    context = _context(
        "Explain the concept of a lantern index",
        [
            (1, 0, "We tuned the lantern index twice during the storm season of that year."),
            (2, 0, "A lantern index is a number from zero to ten describing how far a light can be seen."),
            (3, 0, "The lantern index was printed on every chart the harbour sold."),
        ],
    )
    sentences = [s for s, _ in quoted_sentences(extractive_answer(context))]
    assert sentences[0].startswith("A lantern index is a number")


def test_extractive_answer_neutralises_markers_quoted_from_documents() -> None:
    context = _context(
        "What does the style guide say about markers?",
        [(4, 0, "The style guide says markers look like [Data: Sources (99)] in every answer we write.")],
    )
    text = extractive_answer(context)
    checked = check_citations(text, context.available())
    assert checked.dropped == 0 and "(Data: Sources (99)]" in text


# ---------------------------------------------------------------------------------------------- the LLM path

LLM_ANSWER = (
    f"{MHA} runs eight heads in parallel [Data: Sources (11); Entities (22, 999)]. "
    "It was invented by Martians [Data: Reports (77)].\n\n"
    "It appears in every Encoder layer [Data: Relationships (41, 40, 500, +more)]."
)


async def test_llm_prompt_holds_rules_context_question_and_history(store: SqliteStore) -> None:
    model = ScriptedChatModel(replies=[text_reply(LLM_ANSWER, prompt_tokens=321, completion_tokens=45)])
    history = [Turn("user", "What does the Encoder do?"), Turn("assistant", "It reads the input sequence.")]
    answer = await ask(store, HEADS_QUESTION, history=history, model=model)

    assert len(model.calls) == 1
    messages = model.calls[0][0]
    system, human = messages[0].content, messages[-1].content
    assert messages[0].type == "system" and messages[-1].type == "human"
    assert "[Data: <dataset> (<id>, <id>); <dataset> (<id>)]" in system
    assert "Entities, Relationships,\n  Reports or Sources" in system or "Reports or Sources" in system
    assert "at most 5 ids" in system and '"+more"' in system
    assert "don't know" in system and "Never cite an id that is not in the tables" in system
    assert answer.context.text in system  # every table, as built
    for table in ("Entities", "Relationships", "Reports", "Sources", "Conversation"):
        assert f"-----{table}-----" in system
    assert "11|Multi-Head Attention runs eight attention heads in parallel." in system
    assert human.endswith(f"Question: {HEADS_QUESTION}")
    assert "user: What does the Encoder do?" in human and "assistant: It reads the input sequence." in human
    assert "{" not in system.replace(answer.context.text, "")  # no template variable left unfilled


async def test_llm_answer_keeps_valid_citations_and_drops_invented_ones(store: SqliteStore) -> None:
    model = ScriptedChatModel(replies=[text_reply(LLM_ANSWER, prompt_tokens=321, completion_tokens=45)])
    answer = await ask(store, HEADS_QUESTION, model=model)
    assert answer.mode == "llm"
    assert answer.text == (
        f"{MHA} runs eight heads in parallel [Data: Entities (22); Sources (11)]. "
        "It was invented by Martians.\n\n"
        "It appears in every Encoder layer [Data: Relationships (41, 40, +more)]."
    )
    assert answer.dropped_citations == 3  # Entities 999, Reports 77, Relationships 500
    assert [(c.dataset, c.id) for c in answer.citations] == [
        ("Entities", 22),
        ("Sources", 11),
        ("Relationships", 41),
        ("Relationships", 40),
    ]
    source = answer.citations[1]
    assert (source.title, source.document) == (DOC_TITLE, DOC_SOURCE)
    assert "eight attention heads" in source.excerpt
    assert answer.citations[0].title == MHA
    assert answer.citations[2].title == f"{MHA} → Encoder"
    assert answer.usage.llm_calls == 1
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (321, 45)
    assert answer.usage.context_tokens == answer.context.tokens > 0


async def test_llm_usage_is_counted_when_the_model_reports_none(store: SqliteStore) -> None:
    text = f"{MHA} runs eight heads [Data: Sources (11)]."
    model = ScriptedChatModel(replies=[AIMessage(content=[{"type": "text", "text": text}])])
    answer = await ask(store, HEADS_QUESTION, model=model)
    assert answer.text == text
    assert answer.usage.llm_calls == 1
    assert answer.usage.completion_tokens == count_tokens(text)
    assert answer.usage.prompt_tokens > answer.usage.context_tokens  # the rules and the question too


async def test_llm_is_not_called_when_the_context_is_empty(store: SqliteStore) -> None:
    model = ScriptedChatModel(replies=[text_reply("Zebras [Data: Sources (1)].")])
    answer = await ask(store, "zebra quantum marmalade", model=model)
    assert model.calls == [] and answer.text == UNKNOWN and answer.usage.llm_calls == 0


async def test_failing_model_falls_back_to_an_extractive_answer(store: SqliteStore) -> None:
    model = ScriptedChatModel(replies=[RuntimeError("502 bad gateway")])
    answer = await ask(store, HEADS_QUESTION, model=model)
    assert answer.mode == "extractive"
    assert "language model failed" in answer.text and NOTICE in answer.text
    assert answer.citations and answer.dropped_citations == 0


# ---------------------------------------------------------------------------------------------- the retriever


async def test_retriever_returns_one_document_per_context_row(store: SqliteStore) -> None:
    retriever = GraphRetriever(store=store)
    docs = await retriever.ainvoke(HEADS_QUESTION)
    context = await retriever.aget_context(HEADS_QUESTION)
    assert all(isinstance(d, Document) for d in docs)
    rows = {
        "Sources": [u.short_id for u in context.sources],
        "Entities": [e.short_id for e in context.entities],
        "Relationships": [r.short_id for r in context.relationships],
        "Reports": [r.community for r in context.reports],
    }
    got = [(d.metadata["dataset"], d.metadata["id"]) for d in docs]
    assert sorted(got) == sorted((dataset, i) for dataset, ids in rows.items() for i in ids)  # every row once
    for dataset, ids in rows.items():  # each dataset's rows in the order local search ranked them
        assert [i for d, i in got if d == dataset] == ids
    assert [d for d, _ in got[:4]] == ["Sources", "Entities", "Relationships", "Reports"]  # taking turns
    assert got[0] == ("Sources", 11)  # the passage that answers the question comes first
    heads = next(d for d in docs if d.metadata["dataset"] == "Sources" and d.metadata["id"] == 11)
    assert heads.page_content.startswith("Multi-Head Attention runs eight attention heads")
    assert heads.metadata["document"] == DOC_TITLE
    mha = next(d for d in docs if d.metadata["dataset"] == "Entities" and d.metadata["id"] == 22)
    assert mha.metadata["title"] == MHA


async def test_retriever_takes_history_for_follow_ups(store: SqliteStore) -> None:
    retriever = GraphRetriever(store=store, top_k=3)
    follow_up = "and how many heads does it use?"

    def first_entity(docs: list[Document]) -> str:
        return next(d.metadata["title"] for d in docs if d.metadata["dataset"] == "Entities")

    assert first_entity(await retriever.ainvoke(follow_up)) != MHA
    history = [Turn("user", f"What is {MHA}?"), Turn("assistant", "It runs attention in parallel.")]
    assert first_entity(await retriever.ainvoke(follow_up, history=history)) == MHA


async def test_retriever_k_is_the_number_of_documents_best_first(store: SqliteStore) -> None:
    everything = await GraphRetriever(store=store).ainvoke(HEADS_QUESTION)
    assert len(everything) > 10
    for k in (1, 3, 7):
        docs = await GraphRetriever(store=store, k=k).ainvoke(HEADS_QUESTION)
        assert docs == everything[:k]
        assert await GraphRetriever(store=store).ainvoke(HEADS_QUESTION, k=k) == everything[:k]
    assert GraphRetriever(store=store, k=5).invoke(HEADS_QUESTION, k=2) == everything[:2]  # invoke's k wins


async def test_retriever_composes_into_a_langchain_chain(store: SqliteStore) -> None:
    chain = GraphRetriever(store=store) | RunnableLambda(
        lambda docs: sorted({d.metadata["dataset"] for d in docs})
    )
    assert await chain.ainvoke(HEADS_QUESTION) == ["Entities", "Relationships", "Reports", "Sources"]


def test_retriever_works_synchronously(tmp_path: Path) -> None:
    store = asyncio.run(small_store(tmp_path / "kg.db"))
    try:
        docs = GraphRetriever(store=store).invoke(HEADS_QUESTION)
        assert ("Sources", 11) in {(d.metadata["dataset"], d.metadata["id"]) for d in docs}
    finally:
        asyncio.run(store.close())


async def test_sync_retriever_inside_a_running_loop(store: SqliteStore) -> None:
    docs = GraphRetriever(store=store).invoke(HEADS_QUESTION)  # e.g. a sync chain called from async code
    assert ("Sources", 11) in {(d.metadata["dataset"], d.metadata["id"]) for d in docs}


# ---------------------------------------------------------------------------------------------- JSON shape


async def test_answer_json_has_exactly_the_documented_shape(store: SqliteStore) -> None:
    model = ScriptedChatModel(replies=[text_reply(LLM_ANSWER, prompt_tokens=321, completion_tokens=45)])
    for answer in (await ask(store, HEADS_QUESTION), await ask(store, HEADS_QUESTION, model=model)):
        data = json.loads(json.dumps(answer.to_json()))
        assert list(data) == [
            "question",
            "resolved_question",
            "answer",
            "mode",
            "search",
            "citations",
            "context",
            "usage",
            "timings_ms",
        ]
        assert data["question"] == HEADS_QUESTION and data["answer"] == answer.text
        assert data["mode"] in ("llm", "extractive") and data["search"] == "local"
        assert data["citations"]
        for c in data["citations"]:
            assert set(c) == {"dataset", "id", "title", "document", "excerpt"}
            assert c["dataset"] in ("Entities", "Relationships", "Reports", "Sources")
            assert isinstance(c["id"], int) and isinstance(c["title"], str) and c["excerpt"]
        assert set(data["context"]) == {"entities", "relationships", "reports", "sources"}
        for dataset, records in data["context"].items():
            assert records, dataset
            for record in records:
                assert isinstance(record["id"], int) and isinstance(record["text"], str) and record["text"]
        ids = {k: {r["id"] for r in v} for k, v in data["context"].items()}
        for c in data["citations"]:
            assert c["id"] in ids[c["dataset"].lower()]
        assert {r["id"] for r in data["context"]["sources"]} >= {11}
        assert set(data["usage"]) == {"context_tokens", "llm_calls", "prompt_tokens", "completion_tokens"}
        assert all(isinstance(v, int) for v in data["usage"].values())
        assert set(data["timings_ms"]) == {"retrieve", "answer", "total"}
        timings = data["timings_ms"]
        assert 0 <= timings["retrieve"] <= timings["total"] and 0 <= timings["answer"] <= timings["total"]


# ---------------------------------------------------------------------------------------------- questions


@pytest.mark.parametrize("question", ["", "   \n\t ", "\x00\x1b[0m", "x" * 20_000])
async def test_unusable_questions_are_refused_with_a_message(store: SqliteStore, question: str) -> None:
    with pytest.raises(QuestionError) as raised:
        await ask(store, question)
    message = str(raised.value)
    assert message and "\n" not in message
    assert ("question" in message.lower()) or ("characters" in message)


def test_questions_are_cleaned() -> None:
    assert clean_question("\x00\x1b[31mWho designed the\tengine?\x1b[0m\n") == "Who designed the engine?"
    assert clean_question("\x1b]0;window title\x07What is X?") == "What is X?"
    assert clean_question("trans\u00adformer\u200b model") == "transformer model"
    assert clean_question("Qu'est-ce que l'Éclairage ?") == "Qu'est-ce que l'Éclairage ?"


async def test_asking_a_namespace_never_built_says_what_to_do(store: SqliteStore) -> None:
    with pytest.raises(QuestionError, match="kgbot index"):
        await ask(store, HEADS_QUESTION, namespace="nowhere")
