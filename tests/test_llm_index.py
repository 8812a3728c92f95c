"""The language-model path with scripted LangChain models: extraction, gleaning, malformed output, retries,
concurrency, summaries, reports, embeddings and cost accounting."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from langchain_core.exceptions import ModelRateLimitError
from langchain_core.messages import AIMessage, HumanMessage

from kg import prompts
from kg.config import Settings
from kg.index.cache import Cache
from kg.index.extract.base import ChunkExtraction, ExtractedEntity, ExtractedRelationship
from kg.index.extract.llm import LlmExtractor
from kg.index.merge import extractive_summary, merge_graph
from kg.index.pipeline import ExtractionFailed, build_index, make_extractor
from kg.index.reports import write_reports
from kg.index.summarize import summarize_descriptions
from kg.llm.client import ModelClient
from kg.model import Community, Entity, Relationship, TextUnit
from kg.search.local import build_context
from kg.store import open_store
from tests.scripted_model import KeywordEmbeddings, ScriptedChatModel, graph_reply, text_reply, tool_reply


def graph(entities: list[tuple[str, str, str]], relationships: list[tuple[str, str, str, object]]) -> dict:
    return {
        "entities": [{"title": t, "type": k, "description": d} for t, k, d in entities],
        "relationships": [
            {"source": s, "target": t, "description": d, "strength": w} for s, t, d, w in relationships
        ],
    }


# --- extraction ----------------------------------------------------------------------------------------------


async def test_extraction_reads_a_tool_call_leniently() -> None:
    payload = graph(
        [("Maria Okafor", "person", "Leads the forecasting group."), ("", "PERSON", "nameless")],
        [
            ("Maria Okafor", "Harbor Lights", "She works there.", 42),
            ("Maria Okafor", "maria okafor", "herself", 3),
            ("Harbor Lights", "NOAA", "Uses its buoy data.", "high"),
        ],
    )
    payload["entities"] += [
        {"name": "Harbor Lights", "entity_type": "organization", "description": "A company."},
        "junk",
    ]
    model = ScriptedChatModel(replies=[tool_reply("record_graph", payload, 120, 30)])
    client = ModelClient(model)
    result = await LlmExtractor(client, ["person", "organization"]).extract_text("Maria Okafor works at ...")

    assert [(e.title, e.type) for e in result.entities] == [
        ("Maria Okafor", "PERSON"),
        ("Harbor Lights", "ORGANIZATION"),
    ]
    assert [(r.source, r.target, r.weight) for r in result.relationships] == [
        ("Maria Okafor", "Harbor Lights", 10.0),  # strength clamped to 1..10
        ("Harbor Lights", "NOAA", 1.0),  # unreadable strength
    ]
    assert not result.problem
    messages, kwargs = model.calls[0]
    assert kwargs["tool_choice"] == "record_graph" and kwargs["tools"] == [prompts.EXTRACT_TOOL]
    assert "Entity types: PERSON, ORGANIZATION" in messages[0].content
    assert messages[1].content == "Passage:\nMaria Okafor works at ..."
    assert client.tool_calling is True
    assert client.meter.snapshot() == {"extract": {"calls": 1, "prompt_tokens": 120, "completion_tokens": 30}}


async def test_models_without_tool_calling_get_plain_json_and_it_is_repaired() -> None:
    fenced = (
        'Here is the graph:\n```json\n{"entities": [{"title": "NOAA", "type": "organization", '
        '"description": "Publishes buoy data.",},], "relationships": [],}\n```\nHope it helps.'
    )
    model = ScriptedChatModel(replies=[text_reply(fenced)], tools=False)
    client = ModelClient(model)
    result = await LlmExtractor(client).extract_text("NOAA publishes buoy data.")

    assert [(e.title, e.type, e.description) for e in result.entities] == [
        ("NOAA", "ORGANIZATION", "Publishes buoy data.")
    ]
    assert client.tool_calling is False
    messages, kwargs = model.calls[0]
    assert "tools" not in kwargs
    assert "Do not call any tool" in messages[0].content and '"relationships"' in messages[0].content


async def test_a_model_answering_tool_requests_in_prose_is_asked_for_json() -> None:
    prose = text_reply("Sure! Maria Okafor is a person who works at Harbor Lights.")
    as_json = text_reply(
        '{"entities": [{"title": "Maria Okafor", "type": "PERSON", "description": "Works."}]}'
    )
    model = ScriptedChatModel(replies=[prose, as_json])
    client = ModelClient(model)
    result = await LlmExtractor(client).extract_text("Maria Okafor works at Harbor Lights.")
    assert [e.title for e in result.entities] == ["Maria Okafor"] and not result.problem
    assert client.tool_calling is False
    assert model.calls[0][1]["tool_choice"] == "record_graph" and "tools" not in model.calls[1][1]
    assert client.meter.snapshot()["extract"]["calls"] == 2


async def test_truncated_tool_arguments_are_repaired() -> None:
    cut = (
        '{"entities": [{"title": "Beacon API", "type": "PRODUCT", "description": "Serves forecasts."}], '
        '"relationships": [{"source": "Beacon API", "tar'
    )
    reply = AIMessage(
        content="",
        invalid_tool_calls=[
            {
                "name": "record_graph",
                "args": cut,
                "id": "c1",
                "error": "bad json",
                "type": "invalid_tool_call",
            }
        ],
    )
    result = await LlmExtractor(ModelClient(ScriptedChatModel(replies=[reply]))).extract_text("text")
    assert [e.title for e in result.entities] == ["Beacon API"]
    assert result.relationships == []  # the cut-off record has no target
    assert not result.problem


async def test_gleaning_continues_the_conversation_and_adds_what_was_missed() -> None:
    maria = ("Maria Okafor", "PERSON", "Leads the forecasting group.")
    first = tool_reply("record_graph", graph([maria], []))
    second = tool_reply(
        "record_graph",
        graph(
            [maria, ("NOAA", "ORGANIZATION", "Publishes buoy data.")],
            [("Maria Okafor", "NOAA", "Uses its data.", 6)],
        ),
    )
    model = ScriptedChatModel(replies=[first, second])
    client = ModelClient(model)
    assert LlmExtractor(client, gleaning=1).cache_key != LlmExtractor(client, gleaning=0).cache_key

    result = await LlmExtractor(client, gleaning=1).extract_text("Maria Okafor uses NOAA data.")
    assert [e.title for e in result.entities] == ["Maria Okafor", "NOAA"]  # a repeated record is not doubled
    assert [(r.source, r.target) for r in result.relationships] == [("Maria Okafor", "NOAA")]
    messages, kwargs = model.calls[1]
    assert [m.type for m in messages] == ["system", "human", "ai", "tool", "human"]
    assert messages[2].tool_calls[0]["args"]["entities"][0]["title"] == "Maria Okafor"
    assert messages[3].tool_call_id == messages[2].tool_calls[0]["id"]
    assert messages[4].content == prompts.EXTRACT_GLEANING
    assert kwargs["tool_choice"] == "record_graph"
    assert client.meter.snapshot()["extract"]["calls"] == 2


def _history_chunk(messages: list, kwargs: dict) -> AIMessage:
    if "Coastal Computing Conference" in messages[-1].content and "Passage:" in messages[-1].content:
        return text_reply("Sorry, I cannot help with that.")
    return graph_reply(messages, kwargs)


async def test_unreadable_output_skips_its_chunk_with_a_warning_and_is_retried_next_build(
    corpus: Path, settings: Settings
) -> None:
    store = open_store(settings.store_url)
    summary = await build_index(
        [corpus], store, settings, models=ModelClient(ScriptedChatModel(replies=[_history_chunk]))
    )
    assert summary.documents == 3 and summary.entities > 5
    assert [p for p in summary.problems if "unreadable model output, chunk skipped" in p] and len(
        summary.problems
    ) == 1
    export = await store.export("default")
    assert export is not None and "Coastal Computing Conference" not in {e.title for e in export.entities}

    model = ScriptedChatModel(replies=[graph_reply])
    again = await build_index([corpus], store, settings, models=ModelClient(model))
    extract_calls = [kw for _, kw in model.calls if kw.get("tool_choice") == "record_graph"]
    assert (
        len(extract_calls) == 1 and again.chunks_extracted == 1
    )  # only the skipped chunk: it was not cached
    assert not again.problems
    export = await store.export("default")
    assert export is not None and "Coastal Computing Conference" in {e.title for e in export.entities}
    await store.close()


async def test_a_model_failing_on_most_chunks_publishes_nothing(corpus: Path, settings: Settings) -> None:
    store = open_store(settings.store_url)
    await build_index([corpus], store, settings)  # offline
    before = await store.stats("default")
    model = ScriptedChatModel(replies=[RuntimeError("401 invalid api key")])
    with pytest.raises(ExtractionFailed, match=r"3 of 3 chunks .*401 invalid api key"):
        await build_index([corpus], store, settings, models=ModelClient(model, max_retries=3, backoff=0.001))
    assert len(model.calls) == 3  # not a transient error: no retries
    assert await store.stats("default") == before
    await store.close()


def test_make_extractor_picks_llm_only_with_a_model(settings: Settings) -> None:
    assert make_extractor(settings).cache_key.startswith("nlp")
    with pytest.raises(ValueError, match="needs a model"):
        make_extractor(settings, kind="llm")
    client = ModelClient(ScriptedChatModel(replies=[graph_reply]), chat_name="scripted-1")
    chosen = make_extractor(settings, client)
    assert isinstance(chosen, LlmExtractor) and chosen.cache_key.startswith("llm:scripted-1:extract:v1")
    assert make_extractor(settings, client, "nlp").cache_key.startswith("nlp")
    typed = settings.model_copy(update={"kg_entity_types": "person, ship"})
    assert make_extractor(typed, client).cache_key != chosen.cache_key  # types change the cached output


# --- the client: retries, timeouts, concurrency ----------------------------------------------------------------


async def test_rate_limits_are_retried_with_backoff_and_the_call_counted_once() -> None:
    model = ScriptedChatModel(
        replies=[ModelRateLimitError("slow down"), ModelRateLimitError("slow down"), text_reply("ok")]
    )
    client = ModelClient(model, max_retries=3, backoff=0.001)
    reply = await client.chat("summarize", [HumanMessage("hi")])
    assert reply.content == "ok" and len(model.calls) == 3
    assert client.meter.snapshot() == {
        "summarize": {"calls": 1, "prompt_tokens": 100, "completion_tokens": 20}
    }

    bounded = ScriptedChatModel(replies=[ModelRateLimitError("slow down")])
    with pytest.raises(ModelRateLimitError):
        await ModelClient(bounded, max_retries=2, backoff=0.001).chat("extract", [HumanMessage("hi")])
    assert len(bounded.calls) == 3


async def test_a_call_that_hangs_times_out_and_is_retried() -> None:
    model = ScriptedChatModel(replies=[text_reply("late")], delay=5.0)
    client = ModelClient(model, timeout=0.05, max_retries=1, backoff=0.001)
    with pytest.raises(TimeoutError):
        await client.chat("extract", [HumanMessage("hi")])
    assert len(model.calls) == 2
    assert client.meter.snapshot() == {}


async def test_concurrency_is_bounded() -> None:
    model = ScriptedChatModel(replies=[graph_reply], delay=0.02)
    extractor = LlmExtractor(ModelClient(model, concurrency=2))
    units = [TextUnit(f"u{i}", i, "d", f"Alpha Works met Beta Group on day {i}.", 9) for i in range(8)]
    done: list[int] = []
    results = await extractor.extract(units, done.append)
    assert len(results) == 8 and sum(done) == 8
    assert model.max_in_flight == 2


# --- summaries ---------------------------------------------------------------------------------------------------


def _two_chunks() -> tuple[list[TextUnit], list[ChunkExtraction]]:
    units = [TextUnit("t1", 1, "d", "", 1), TextUnit("t2", 2, "d", "", 1)]
    noaa = ExtractedEntity("NOAA", "ORGANIZATION", "Publishes buoy data.")
    first = ChunkExtraction(
        [ExtractedEntity("Maria Okafor", "PERSON", "Leads the forecasting group."), noaa],
        [ExtractedRelationship("Maria Okafor", "NOAA", "She uses NOAA buoy data.", 3)],
    )
    second = ChunkExtraction(
        [ExtractedEntity("Maria Okafor", "PERSON", "Designed the Lantern Engine."), noaa],
        [ExtractedRelationship("Maria Okafor", "NOAA", "She reads NOAA forecasts.", 2)],
    )
    return units, [first, second]


async def test_summaries_are_batched_cached_and_fall_back_to_extractive(tmp_path: Path) -> None:
    units, extractions = _two_chunks()
    cache = Cache(tmp_path / "cache.db")
    merged = merge_graph(units, extractions, False)
    model = ScriptedChatModel(
        replies=[
            tool_reply(
                "record_summaries",
                {"summaries": [{"id": 1, "description": "Maria Okafor leads and designs."}]},
            )
        ]
    )
    problems = await summarize_descriptions(merged, ModelClient(model), cache, batch_size=8)

    assert len(model.calls) == 1  # both items in one call; NOAA has one distinct description: no call
    prompt = model.calls[0][0][-1].content
    assert "Item 1: Maria Okafor\n" in prompt and "Item 2: Maria Okafor -> NOAA\n" in prompt
    assert "- Designed the Lantern Engine.\n- Leads the forecasting group." in prompt  # sorted, distinct
    by_title = {e.title: e.description for e in merged.entities}
    assert by_title == {"Maria Okafor": "Maria Okafor leads and designs.", "NOAA": "Publishes buoy data."}
    expected = extractive_summary(
        "Maria Okafor -> NOAA", ["She reads NOAA forecasts.", "She uses NOAA buoy data."]
    )
    assert merged.relationships[0].description == expected  # not answered: extractive
    assert len(problems) == 1 and "fell back to extractive" in problems[0]

    # Again: the answered item comes from the cache, the unanswered one is asked again, alone.
    merged = merge_graph(units, extractions, False)
    model = ScriptedChatModel(
        replies=[
            tool_reply("record_summaries", {"summaries": [{"id": 1, "description": "She relies on NOAA."}]})
        ]
    )
    assert await summarize_descriptions(merged, ModelClient(model), cache) == []
    assert len(model.calls) == 1
    prompt = model.calls[0][0][-1].content
    assert prompt.startswith("Item 1: Maria Okafor -> NOAA\n") and "Item 2" not in prompt
    assert merged.entities[0].description == "Maria Okafor leads and designs."
    assert merged.relationships[0].description == "She relies on NOAA."

    # Batch size 1 is GraphRAG's pattern: one call per item.
    model = ScriptedChatModel(
        replies=[tool_reply("record_summaries", {"summaries": [{"id": 1, "description": "x"}]})]
    )
    await summarize_descriptions(
        merge_graph(units, extractions, False), ModelClient(model), Cache(tmp_path / "c2.db"), 1
    )
    assert len(model.calls) == 2
    cache.close()


# --- reports -------------------------------------------------------------------------------------------------------


def _communities() -> tuple[list[Community], list[Entity], list[Relationship]]:
    names = ["Ada", "Bo", "Cy", "Dee", "Eve", "Fay"]
    entities = [
        Entity(
            f"e{i}",
            10 + i,
            n,
            "PERSON",
            f"{n} is a member of the {'north' if i < 3 else 'south'} team.",
            degree=3 - i % 3,
        )
        for i, n in enumerate(names)
    ]
    pairs = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]
    relationships = [
        Relationship(
            f"r{k}", 20 + k, names[a], names[b], f"{names[a]} works with {names[b]}.", 1.0, rank=4 - k % 2
        )
        for k, (a, b) in enumerate(pairs)
    ]
    communities = [
        Community(
            0, 0, -1, entity_ids=[e.id for e in entities], relationship_ids=[r.id for r in relationships]
        ),
        Community(1, 1, 0, entity_ids=["e0", "e1", "e2"], relationship_ids=["r0", "r1", "r2"]),
        Community(2, 1, 0, entity_ids=["e3", "e4", "e5"], relationship_ids=["r3", "r4", "r5"]),
    ]
    return communities, entities, relationships


def _report_reply(messages: list, kwargs: dict) -> AIMessage:
    context = messages[-1].content
    cited = (
        "[Data: Reports (1, 2)]"
        if "-----Reports-----" in context
        else "[Data: Entities (1, 2, 99); Relationships (1)]"
    )
    return tool_reply(
        "record_report",
        {
            "title": "Team of " + re.findall(r"^1\|([^|]*)\|", context, re.MULTILINE)[-1],
            "summary": f"A small team ({len(context)} characters in). {cited}",
            "rating": 12,
            "rating_explanation": "Central.",
            "findings": [
                {"summary": "They collaborate [Data: Entities (1)]", "explanation": f"Closely. {cited}"}
            ],
        },
    )


async def test_reports_go_deepest_first_use_child_reports_and_cite_build_ids(tmp_path: Path) -> None:
    communities, entities, relationships = _communities()
    cache = Cache(tmp_path / "cache.db")
    model = ScriptedChatModel(replies=[_report_reply])
    reports, problems = await write_reports(
        communities, entities, relationships, ModelClient(model), cache, max_tokens=80
    )

    assert problems == [] and [r.community for r in reports] == [0, 1, 2]
    contexts = [messages[-1].content for messages, _ in model.calls]
    assert all("-----Reports-----" not in c for c in contexts[:2])  # the two leaves first
    parent = contexts[2]
    assert "-----Reports-----" in parent and "Team of" in parent and "[Data:" not in parent
    # Rows are numbered within the report's input; the report cites the build's ids.
    north = reports[1]
    assert north.title == communities[1].title and north.rank == 10.0
    assert re.fullmatch(
        r"A small team \(\d+ characters in\)\. \[Data: Entities \(10, 11\); Relationships \(20\)\]",
        north.summary,
    )
    assert north.findings[0].summary == "They collaborate"
    assert "## They collaborate" in north.full_content
    assert reports[0].summary.endswith(". [Data: Reports (1, 2)]")

    # Unchanged inputs cost nothing; a changed description redoes its community and the parent only.
    model = ScriptedChatModel(replies=[_report_reply])
    await write_reports(communities, entities, relationships, ModelClient(model), cache, max_tokens=80)
    assert model.calls == []
    entities[4].description = "Eve left the south team."
    model = ScriptedChatModel(replies=[_report_reply])
    await write_reports(communities, entities, relationships, ModelClient(model), cache, max_tokens=80)
    assert len(model.calls) == 2 and "Eve left" in model.calls[0][0][-1].content
    cache.close()


async def test_an_unusable_report_falls_back_to_the_extractive_one(tmp_path: Path) -> None:
    communities, entities, relationships = _communities()
    model = ScriptedChatModel(replies=[tool_reply("record_report", {"title": "", "findings": "none"})])
    reports, problems = await write_reports(
        communities[1:2], entities, relationships, ModelClient(model), Cache(tmp_path / "c.db")
    )
    assert len(problems) == 1 and "fell back to extractive" in problems[0]
    assert reports[0].title == "Ada, Bo and Cy"


# --- whole builds: embeddings, cost --------------------------------------------------------------------------------


async def test_embeddings_are_stored_and_used_by_local_search(corpus: Path, settings: Settings) -> None:
    embeddings = KeywordEmbeddings([["maria okafor:", "meteorologist"]])
    client = ModelClient(ScriptedChatModel(replies=[graph_reply]), embeddings, embedding_name="keywords")
    store = open_store(settings.store_url)
    summary = await build_index([corpus], store, settings, models=client)
    export = await store.export("default")
    assert export is not None and all(e.embedding is not None for e in export.entities)
    assert all(u.embedding is not None for u in export.text_units)
    assert summary.usage["embed"]["calls"] == 2  # the entities, then the chunks
    assert [len(texts) for texts in embeddings.calls] == [summary.entities, summary.text_units]

    async def embed(text: str) -> list[float]:
        return embeddings.embed_query(text)

    question = "Who is the meteorologist?"  # no word of it is in the corpus: only the vector can match
    assert "Maria Okafor" not in {e.title for e in (await build_context(store, question, top_k=3)).entities}
    found = await build_context(store, question, top_k=3, embed=embed)
    assert "Maria Okafor" in {e.title for e in found.entities}

    again = await build_index([corpus], store, settings, models=client)
    assert again.usage == {} and len(embeddings.calls) == 2  # vectors come from the cache
    await store.close()


async def test_chunks_are_embedded_and_a_rebuild_embeds_only_the_changed_ones(
    corpus: Path, settings: Settings
) -> None:
    embeddings = KeywordEmbeddings([["saltmere"], ["lantern"]])
    client = ModelClient(
        None, embeddings, embedding_name="keywords"
    )  # an embedding model, offline extraction
    store = open_store(settings.store_url)
    await build_index([corpus], store, settings, models=client)
    built = await store.export("default")
    assert built is not None
    by_text = {u.text: u.embedding for u in built.text_units}
    assert by_text == {text: embeddings.embed_query(text) for text in by_text}
    assert all(texts for texts in embeddings.calls)

    edited = (corpus / "sub" / "history.txt").read_text() + "A lighthouse keeper joined in 2021.\n"
    (corpus / "sub" / "history.txt").write_text(edited)
    embeddings.calls.clear()
    await build_index([corpus], store, settings, models=client)
    rebuilt = await store.export("default")
    assert rebuilt is not None
    new_chunks = [u.text for u in rebuilt.text_units if u.text not in by_text]
    assert len(new_chunks) == 1 and "lighthouse keeper" in new_chunks[0]
    embedded = [text for texts in embeddings.calls for text in texts]
    assert [t for t in embedded if t in {u.text for u in rebuilt.text_units}] == new_chunks
    assert all(u.embedding == embeddings.embed_query(u.text) for u in rebuilt.text_units)
    await store.close()


class ChunkRefusingEmbeddings(KeywordEmbeddings):
    """Embeds entities, refuses every request holding a chunk of team.md."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if any(t.startswith("# The Harbor Lights team") for t in texts):
            raise RuntimeError("the embedding service is down")
        return super().embed_documents(texts)


async def test_chunks_left_without_vectors_are_a_warning_and_still_found_by_full_text(
    corpus: Path, settings: Settings
) -> None:
    client = ModelClient(None, ChunkRefusingEmbeddings([["lantern"]]), embedding_name="refusing")
    store = open_store(settings.store_url)
    summary = await build_index([corpus], store, settings, models=client)
    assert any("chunks not embedded" in p and "the embedding service is down" in p for p in summary.problems)
    export = await store.export("default")
    assert export is not None and all(e.embedding is not None for e in export.entities)
    assert all(u.embedding is None for u in export.text_units)  # one request held them all

    async def embed(text: str) -> list[float]:
        return [1.0, 0.0]

    found = await build_context(store, "Who maintains the data pipeline?", embed=embed)
    assert any("Tomas Lindqvist maintains the data pipeline" in u.text for u in found.sources)
    await store.close()


async def test_cost_is_counted_per_phase_and_kept_with_the_index(corpus: Path, settings: Settings) -> None:
    model = ScriptedChatModel(
        replies=[graph_reply]
    )  # every reply reports 100 prompt and 20 completion tokens
    store = open_store(settings.store_url)
    summary = await build_index([corpus], store, settings, models=ModelClient(model))

    phases = [kw.get("tool_choice") for _, kw in model.calls]
    assert phases.count("record_graph") == summary.text_units == 3
    assert phases.count("record_report") == summary.communities > 0
    n_summaries = phases.count("record_summaries")
    assert n_summaries > 0
    assert summary.usage == {
        "extract": {"calls": 3, "prompt_tokens": 300, "completion_tokens": 60},
        "summarize": {
            "calls": n_summaries,
            "prompt_tokens": 100 * n_summaries,
            "completion_tokens": 20 * n_summaries,
        },
        "report": {
            "calls": summary.communities,
            "prompt_tokens": 100 * summary.communities,
            "completion_tokens": 20 * summary.communities,
        },
    }
    assert (summary.llm_calls, summary.prompt_tokens, summary.completion_tokens) == (
        len(model.calls),
        100 * len(model.calls),
        20 * len(model.calls),
    )
    stats = await store.stats("default")
    export = await store.export("default")
    assert stats is not None and export is not None
    assert stats.usage == export.usage == summary.usage
    assert re.match(r"llm:.*:extract:v1:types-\w+:glean-0$", stats.extractor)
    await store.close()


async def test_a_store_of_schema_1_gains_the_usage_column(
    tmp_path: Path, corpus: Path, settings: Settings
) -> None:
    path = tmp_path / "old.db"
    store = open_store(f"sqlite:///{path}")
    await build_index([corpus], store, settings)
    await store.close()
    with sqlite3.connect(path) as conn:  # what schema 1 looked like
        conn.execute("ALTER TABLE namespaces DROP COLUMN usage")
        conn.execute("PRAGMA user_version = 1")
    store = open_store(f"sqlite:///{path}")
    stats = await store.stats("default")
    assert stats is not None and stats.usage == {}
    summary = await build_index(
        [corpus], store, settings, models=ModelClient(ScriptedChatModel(replies=[graph_reply]))
    )
    assert (await store.stats("default")).usage == summary.usage != {}  # type: ignore[union-attr]
    await store.close()
