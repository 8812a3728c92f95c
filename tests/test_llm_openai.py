"""The real langchain-openai client against a local fake OpenAI-compatible server: tool calls, JSON fallback,
retries, usage, embeddings, the CLI, and the cache across rebuilds (unchanged, edited, deleted documents)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import main
from kg.config import Settings
from kg.index.extract.llm import LlmExtractor
from kg.index.pipeline import build_index
from kg.llm.client import ModelClient
from kg.llm.models import chat_model, embedding_model, query_embedder
from kg.model import GraphIndex
from kg.store import open_store
from kg.text.tokens import count_tokens
from tests.fake_openai import FakeOpenAI, ServerThread, graph_responder, message_text, phase_of, tool_call


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    fake = await FakeOpenAI(graph_responder).start()
    yield fake
    await fake.stop()


@pytest.fixture
def llm_settings(settings: Settings, server: FakeOpenAI) -> Settings:
    return settings.model_copy(update={"openai_base_url": server.url, "kg_embedding_model": "fake-embed"})


def test_configured_models_build_on_the_installed_sdk_with_their_timeout(llm_settings: Settings) -> None:
    """The SDK's HTTP library can change under us (openai 3 moved to httpx2): building a model with the
    installed versions must work, and the client must carry our timeout, not the SDK's default of minutes."""
    settings = llm_settings.model_copy(update={"kg_chat_model": "fake-chat", "kg_llm_timeout": 7.5})
    chat, embed = chat_model(settings), embedding_model(settings)
    assert chat is not None and embed is not None
    for client in (chat.async_client, chat.client, embed.async_client, embed.client):
        assert client._client.timeout.read == 7.5  # the HTTP client the SDK itself sends with


EXTRACTION = {
    "entities": [
        {"title": "Maria Okafor", "type": "PERSON", "description": "Leads forecasting at Harbor Lights."},
        {"title": "Harbor Lights", "type": "ORGANIZATION", "description": "A forecasting company."},
    ],
    "relationships": [
        {
            "source": "Maria Okafor",
            "target": "Harbor Lights",
            "description": "She works there.",
            "strength": 8,
        }
    ],
}


async def test_tool_calls_through_the_real_client_with_a_retried_rate_limit(
    server: FakeOpenAI, llm_settings: Settings
) -> None:
    server.script = [
        {"status": 429, "headers": {"retry-after": "0"}, "error": "Rate limit reached"},
        {**tool_call("record_graph", EXTRACTION), "usage": {"prompt_tokens": 1234, "completion_tokens": 56}},
    ]
    client = ModelClient.from_settings(llm_settings)
    assert client is not None
    result = await LlmExtractor(client, llm_settings.entity_types).extract_text(
        "Maria Okafor works at Harbor Lights."
    )

    assert [(e.title, e.type) for e in result.entities] == [
        ("Maria Okafor", "PERSON"),
        ("Harbor Lights", "ORGANIZATION"),
    ]
    assert [(r.source, r.target, r.weight) for r in result.relationships] == [
        ("Maria Okafor", "Harbor Lights", 8.0)
    ]
    assert len(server.requests) == 2  # the rate-limited request was retried
    request = server.requests[-1]
    assert request["model"] == llm_settings.kg_chat_model
    assert request["tool_choice"] == {"type": "function", "function": {"name": "record_graph"}}
    assert request["tools"][0]["function"]["name"] == "record_graph"
    assert request["messages"][1] == {
        "role": "user",
        "content": "Passage:\nMaria Okafor works at Harbor Lights.",
    }
    assert client.meter.snapshot() == {
        "extract": {"calls": 1, "prompt_tokens": 1234, "completion_tokens": 56}
    }


async def test_an_endpoint_without_tool_calling_gets_plain_json(
    server: FakeOpenAI, llm_settings: Settings
) -> None:
    server.script = [
        {"status": 400, "error": "tools are not supported for this model"},
        {"content": "```json\n" + json.dumps(EXTRACTION) + "\n```"},
        {
            "content": '{"entities": [{"title": "NOAA", "type": "ORGANIZATION", "description": "An agency."}], "rel'
        },
    ]
    client = ModelClient.from_settings(llm_settings)
    assert client is not None
    extractor = LlmExtractor(client)
    first = await extractor.extract_text("Maria Okafor works at Harbor Lights.")
    second = await extractor.extract_text("NOAA publishes data.")  # cut off mid-way: repaired

    assert [e.title for e in first.entities] == ["Maria Okafor", "Harbor Lights"]
    assert [e.title for e in second.entities] == ["NOAA"] and not second.problem
    assert client.tool_calling is False
    assert (
        "tools" in server.requests[0]
        and "tools" not in server.requests[1]
        and "tools" not in server.requests[2]
    )
    assert "Do not call any tool" in server.requests[1]["messages"][0]["content"]


async def test_malformed_output_through_the_real_client_skips_the_chunk(
    server: FakeOpenAI, llm_settings: Settings
) -> None:
    server.script = [{"tool_calls": [{"name": "record_graph", "arguments": "entities: Maria, Harbor"}]}]
    client = ModelClient.from_settings(llm_settings)
    assert client is not None
    result = await LlmExtractor(client).extract_text("Maria Okafor works at Harbor Lights.")
    assert result.entities == [] and "unreadable model output, chunk skipped" in result.problem


async def test_embeddings_through_the_real_client(server: FakeOpenAI, llm_settings: Settings) -> None:
    client = ModelClient.from_settings(llm_settings)
    assert client is not None
    vectors = await client.embed(["Maria Okafor: leads forecasting", "NOAA: an agency"])
    assert len(vectors) == 2 and len(vectors[0]) == 64
    assert server.embedding_requests[0]["model"] == "fake-embed"
    assert server.embedding_requests[0]["input"] == ["Maria Okafor: leads forecasting", "NOAA: an agency"]
    assert client.meter.snapshot()["embed"]["calls"] == 1

    embed = query_embedder(llm_settings)
    assert embed is not None and len(await embed("who forecasts?")) == 64
    await server.stop()  # unreachable: the question keeps its full-text search
    assert list(await embed("who forecasts?")) == []


# --- the command line, end to end ----------------------------------------------------------------------------


@pytest.fixture
def workdir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KG_CHUNK_SIZE", "120")
    return workdir


def test_cli_indexes_with_the_model_prints_its_cost_and_answers_with_usage(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with ServerThread(FakeOpenAI(graph_responder)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("KG_EMBEDDING_MODEL", "fake-embed")

        assert main(["index", "corpus", "-q"]) == 0  # a model is configured: llm by default
        out = capsys.readouterr().out
        calls = len(server.requests) + len(server.embedding_requests)
        assert re.search(
            rf"Model cost: {calls} model calls, [\d,]+ prompt \+ [\d,]+ completion tokens \(extract 3", out
        )
        assert "embed 2 calls" in out  # the entities, then the chunks
        assert main(["stats", "--json"]) == 0
        usage = json.loads(capsys.readouterr().out)["usage"]  # the cost of the build, kept with it
        assert usage["extract"]["calls"] == 3 and usage["embed"]["calls"] == 2
        assert sum(p["calls"] for p in usage.values()) == calls

        assert main(["index", "corpus", "-q"]) == 0
        assert "Model cost: no model calls." in capsys.readouterr().out
        assert len(server.requests) + len(server.embedding_requests) == calls
        assert main(["stats", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["usage"] == {}

        assert main(["ask", "--json", "Who designed the Lantern Engine?"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["mode"] == "llm"
        answer_request = server.requests[-1]
        assert phase_of(answer_request) == "answer"
        assert data["usage"]["llm_calls"] == 1
        assert data["usage"]["prompt_tokens"] == sum(
            count_tokens(message_text(m)) for m in answer_request["messages"]
        )
        assert data["usage"]["completion_tokens"] == count_tokens(data["answer"])
        assert len(server.embedding_requests) == 3  # the index's two, then the question for vector search

        n = len(server.requests)
        assert main(["index", "corpus", "-q", "--extractor", "nlp"]) == 0
        assert len(server.requests) == n  # offline extraction, summaries and reports


def test_cli_refuses_the_llm_extractor_without_a_model(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "corpus", "-q", "--extractor", "llm"]) == 1
    assert capsys.readouterr().err.strip() == (
        "kgbot: the llm extractor needs a model: set OPENAI_API_KEY or OPENAI_BASE_URL"
    )


# --- the cache across rebuilds -------------------------------------------------------------------------------

TOPICS = {
    "harbor.txt": """Harbor Lights builds the Lantern Engine for coastal forecasts. Maria Okafor leads the forecasting
group at Harbor Lights. Maria Okafor designed the Lantern Engine in 2019. Tomas Lindqvist maintains the data pipeline
of Harbor Lights. Tomas Lindqvist and Maria Okafor review the Lantern Engine every Monday.

The Lantern Engine publishes forecasts through the Beacon API. The Beacon API serves the Port Authority of Saltmere.
Maria Okafor presented the Beacon API at the Coastal Computing Conference. The Port Authority of Saltmere pays
Harbor Lights for the Beacon API.""",
    "orchard.txt": """Greenfield Orchard grows the Honeycrisp apples sold at the Riverside Market. Elena Vasquez runs
Greenfield Orchard with her brother Pablo Vasquez. Elena Vasquez drives the Honeycrisp apples to the Riverside Market
every Saturday. Pablo Vasquez repairs the cider press of Greenfield Orchard.

The Riverside Market is managed by Oliver Grant. Oliver Grant buys cider from Greenfield Orchard. Elena Vasquez and
Oliver Grant founded the Harvest Festival at the Riverside Market.""",
    "observatory.txt": """The Kestrel Observatory studies the Andromeda Galaxy with the Falcon Telescope. Priya Raman
directs the Kestrel Observatory. Priya Raman built the Falcon Telescope with Jonas Weber. Jonas Weber calibrates the
Falcon Telescope each night.

The Kestrel Observatory shares its data with the Stellar Archive. The Stellar Archive is run by Amara Nwosu. Amara
Nwosu and Priya Raman published the Andromeda Survey from the Kestrel Observatory.""",
}


def _citations(index: GraphIndex) -> dict[str, set[int]]:
    cited: dict[str, set[int]] = {"Entities": set(), "Relationships": set(), "Reports": set()}
    for report in index.reports:
        texts = [report.summary, report.full_content] + [f.explanation for f in report.findings]
        for marker in re.findall(r"\[Data: ([^\]]*)\]", " ".join(texts)):
            for name, ids in re.findall(r"(\w+) \(([^)]*)\)", marker):
                cited[name].update(int(i) for i in re.findall(r"\d+", ids))
    return cited


async def test_rebuilds_pay_only_for_what_changed(
    tmp_path: Path, server: FakeOpenAI, llm_settings: Settings
) -> None:
    corpus = tmp_path / "topics"
    corpus.mkdir()
    for name, text in TOPICS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    llm_settings = llm_settings.model_copy(update={"kg_chunk_size": 60, "kg_chunk_overlap": 10})
    store = open_store(llm_settings.store_url)
    models = ModelClient.from_settings(llm_settings)

    first = await build_index([corpus], store, llm_settings, models=models)
    assert first.text_units >= 6 and first.communities >= 3
    assert first.usage["extract"]["calls"] == first.text_units
    assert first.usage["report"]["calls"] == first.communities
    old = await store.export("default")
    assert old is not None

    # Unchanged: no model call at all.
    n_chat, n_embed = len(server.requests), len(server.embedding_requests)
    same = await build_index([corpus], store, llm_settings, models=models)
    assert (same.llm_calls, same.usage, same.chunks_extracted) == (0, {}, 0)
    assert (len(server.requests), len(server.embedding_requests)) == (n_chat, n_embed)
    assert (same.entities, same.relationships, same.communities) == (
        first.entities,
        first.relationships,
        first.communities,
    )

    # One document edited: its changed chunks, and only summaries and reports about its entities.
    edited = TOPICS["orchard.txt"].replace("every Saturday", "every Saturday with Lucia Moreno")
    (corpus / "orchard.txt").write_text(edited, encoding="utf-8")
    third = await build_index([corpus], store, llm_settings, models=models)
    new = await store.export("default")
    assert new is not None
    requests = server.requests[n_chat:]
    orchard_doc = {d.id for d in new.documents if d.source.endswith("orchard.txt")} | {
        d.id for d in old.documents if d.source.endswith("orchard.txt")
    }
    old_texts = {u.text for u in old.text_units}
    changed = {u.text for u in new.text_units if u.text not in old_texts}
    assert changed and all(u.document_id in orchard_doc for u in new.text_units if u.text in changed)
    extract_passages = {
        message_text(r["messages"][1])[len("Passage:\n") :] for r in requests if phase_of(r) == "extract"
    }
    assert extract_passages == changed and third.chunks_extracted == len(changed)
    orchard_units = {u.id for u in [*old.text_units, *new.text_units] if u.document_id in orchard_doc}
    orchard_titles = {e.title for e in [*old.entities, *new.entities] if orchard_units & set(e.text_unit_ids)}
    assert "Lucia Moreno" in orchard_titles
    summarised = re.findall(
        r"Item \d+: (.*)\n",
        " ".join(message_text(r["messages"][-1]) for r in requests if phase_of(r) == "summarize"),
    )
    assert summarised and all(any(t in name for t in orchard_titles) for name in summarised)
    report_inputs = [message_text(r["messages"][-1]) for r in requests if phase_of(r) == "report"]
    assert 0 < len(report_inputs) < third.communities
    assert all(any(t in text for t in orchard_titles) for text in report_inputs)
    assert third.usage["report"]["calls"] == len(report_inputs)

    # One document deleted: no model call, and nothing of it is left, nor cited.
    (corpus / "observatory.txt").unlink()
    n_chat = len(server.requests)
    fourth = await build_index([corpus], store, llm_settings, models=models)
    assert fourth.documents == 2 and fourth.chunks_extracted == 0
    assert all(phase_of(r) != "extract" for r in server.requests[n_chat:])
    final = await store.export("default")
    assert final is not None
    unit_ids = {u.id for u in final.text_units}
    assert not [u for u in final.text_units if "Kestrel" in u.text]
    assert {e.title for e in final.entities}.isdisjoint(
        {"Kestrel Observatory", "Priya Raman", "Falcon Telescope", "Stellar Archive"}
    )
    assert not [r for r in final.relationships if "Priya Raman" in (r.source, r.target)]
    assert all(set(e.text_unit_ids) <= unit_ids for e in final.entities)
    assert all(set(r.text_unit_ids) <= unit_ids for r in final.relationships)
    entity_ids = {e.id for e in final.entities}
    assert all(set(c.entity_ids) <= entity_ids for c in final.communities)
    cited = _citations(final)
    assert cited["Entities"] <= {e.short_id for e in final.entities}
    assert cited["Relationships"] <= {r.short_id for r in final.relationships}
    assert cited["Reports"] <= {c.id for c in final.communities}
    assert not [r for r in final.reports if "Kestrel" in r.full_content or "Priya" in r.full_content]
    await store.close()
