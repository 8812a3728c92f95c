"""Global search: dynamic report selection, the extractive and map-reduce answers, routing between local and
global search, on a small hand-written hierarchy of community reports in a real SQLite store."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage

from bot.cli import main
from kg.citations import check_citations
from kg.model import Community, CommunityReport, Document, Entity, Finding, GraphIndex, TextUnit
from kg.search import global_context
from kg.search.answer import ask, classify, route
from kg.search.global_answer import NOTICE, UNKNOWN, extractive_global_answer
from kg.search.global_context import build_global_context, select_reports, subject_terms
from kg.search.progress import Progress, Stage, differs_from_streamed
from kg.store.base import ChildReport
from kg.store.sqlite.store import SqliteStore
from tests import fake_openai
from tests.scripted_model import ScriptedChatModel, text_reply

DOC = "d-harbor"
UNITS = {
    "u0": (0, "Harbor Lights builds the Lantern Engine, which forecasts coastal weather."),
    "u1": (1, "Wave ensemble averaging runs many small simulations and averages their outputs."),
    "u2": (2, "NOAA buoy readings arrive every ten minutes and the data pipeline cleans them."),
    "u3": (3, "The Beacon API serves forecasts to fishing fleets and to the Port Authority."),
    "u4": (4, "The Port Authority of Saltmere became the first customer of the Beacon API in 2020."),
    "u5": (5, "Fishing fleets plan their trips with the forecasts of the Beacon API."),
    "u6": (6, "Harbor Lights was founded by Maria Okafor after years of manual charts."),
}
# id -> (level, parent, title, summary, rank, text units, findings)
COMMUNITIES: dict[int, tuple[int, int, str, str, float, list[str], list[tuple[str, str]]]] = {
    0: (
        0,
        -1,
        "Forecasting with the Lantern Engine",
        "The Lantern Engine forecasts coastal weather from simulations and buoy data.",
        8.0,
        ["u0", "u1", "u2"],
        [("Simulations", "The engine averages many small wave simulations into one forecast.")],
    ),
    1: (
        0,
        -1,
        "Customers of the Beacon API",
        "The Beacon API delivers forecasts to customers such as fishing fleets and ports.",
        7.0,
        ["u3", "u4", "u5"],
        [("Ports", "The Port Authority of Saltmere was the first customer of the Beacon API.")],
    ),
    2: (
        0,
        -1,
        "Company history",
        "Harbor Lights grew from manual charts into a forecasting company led by Maria Okafor.",
        9.0,
        ["u6"],
        [("Founding", "Maria Okafor founded Harbor Lights after years of drawing manual charts.")],
    ),
    10: (
        1,
        0,
        "Wave ensemble averaging",
        "Wave ensemble averaging runs many small simulations and averages their outputs.",
        6.0,
        ["u1"],
        [],
    ),
    11: (
        1,
        0,
        "Buoy data pipeline",
        "NOAA buoy readings are cleaned by the data pipeline before the engine uses them.",
        5.0,
        ["u2"],
        [("Cleaning", "The data pipeline cleans buoy readings that arrive every ten minutes.")],
    ),
    12: (1, 1, "Port Authority", "The Port Authority of Saltmere buys forecasts.", 4.0, ["u4"], []),
    13: (1, 1, "Fishing fleets", "Fishing fleets plan their trips with the forecasts.", 3.0, ["u5"], []),
}
ENTITIES = {
    "Lantern Engine": (0, "The forecasting engine of Harbor Lights.", ["u0", "u1"]),
    "Beacon API": (1, "The API that serves forecasts.", ["u3", "u4", "u5"]),
    "Maria Okafor": (2, "The founder of Harbor Lights.", ["u6"]),
    "data pipeline": (3, "Cleans the buoy readings.", ["u2"]),
    "Tidewatch": (4, "The nightly job that checks every sea sensor.", ["u2"]),  # named by no report
}
MEMBERS = {  # community -> its entities
    0: ["Lantern Engine", "data pipeline", "Tidewatch"],
    1: ["Beacon API"],
    2: ["Maria Okafor"],
    10: ["Lantern Engine"],
    11: ["data pipeline", "Tidewatch"],
    12: ["Beacon API"],
    13: [],
}
THEMES = "What are the main themes of these documents?"


def harbor_index() -> GraphIndex:
    offset, units = 0, []
    for uid, (short, text) in UNITS.items():
        units.append(TextUnit(uid, short, DOC, text, len(text.split()), offset, offset + len(text)))
        offset += len(text) + 1
    entities = [
        Entity(f"e{short}", short, title, "concept", description, ids, degree=1)
        for title, (short, description, ids) in ENTITIES.items()
    ]
    communities, reports = [], []
    for cid, (level, parent, title, summary, rank, unit_ids, findings) in COMMUNITIES.items():
        members = [f"e{ENTITIES[t][0]}" for t in MEMBERS[cid]]
        communities.append(Community(cid, level, parent, title, members, [], list(unit_ids)))
        reports.append(
            CommunityReport(
                cid,
                level,
                title,
                summary,
                f"# {title}\n\n{summary}",
                rank,
                [Finding(a, b) for a, b in findings],
            )
        )
    document = Document(DOC, "harbor", "docs/harbor.md", " ".join(t for _, t in UNITS.values()), list(UNITS))
    return GraphIndex(
        documents=[document], text_units=units, entities=entities, communities=communities, reports=reports
    )


class CountingStore(SqliteStore):
    """The real store, recording which parents global search asks the children of."""

    asked: list[list[int]]

    async def child_reports(self, namespace: str, parents: Sequence[int]) -> list[ChildReport]:
        self.asked.append(sorted(parents))
        return await super().child_reports(namespace, parents)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[CountingStore]:
    store = CountingStore(tmp_path / "kg.db")
    store.asked = []
    await store.publish("default", harbor_index())
    yield store
    await store.close()


def cited(text: str, dataset: str) -> set[int]:
    ids: set[int] = set()
    for marker in re.findall(r"\[Data: [^\]]*\]", text):
        for name, numbers in re.findall(r"(\w+) \(([^)]*)\)", marker):
            if name == dataset:
                ids |= {int(n) for n in numbers.split(", ") if n.isdigit()}
    return ids


# ------------------------------------------------------------------------------------------- selection


def test_subject_terms_leave_out_words_about_the_corpus_as_a_whole() -> None:
    assert subject_terms(THEMES) == set()
    assert subject_terms("Summarise what the documents say about buoy readings") == {"buoy", "reading"}


async def test_an_overview_question_takes_the_most_important_root_reports(store: CountingStore) -> None:
    selection = await select_reports(store, "default", THEMES)
    assert selection.overview and selection.levels == 1 and selection.rated == 3
    assert [r.community for r in selection.reports] == [2, 0, 1]  # by rank
    assert store.asked == [[-1]]


async def test_selection_descends_only_through_relevant_reports(store: CountingStore) -> None:
    selection = await select_reports(store, "default", "How are the buoy readings cleaned?")
    assert [r.community for r in selection.reports] == [11]  # the child replaced its parent
    # Roots, then the children of the one relevant root, then those of the relevant child (none):
    # the customers' and history subtrees are never read.
    assert store.asked == [[-1], [0], [11]]
    assert selection.levels == 2 and selection.rated == 3 + 2


async def test_entities_the_question_names_lead_to_reports_that_do_not_use_its_words(
    store: CountingStore,
) -> None:
    assert "tidewatch" not in " ".join(global_context.report_text(r) for r in harbor_index().reports).lower()
    selection = await select_reports(store, "default", "What does Tidewatch check?")
    assert [r.community for r in selection.reports] == [11]
    assert store.asked == [[-1], [0], [11]]


async def test_an_aggregate_question_no_report_words_takes_the_overview(store: CountingStore) -> None:
    selection = await select_reports(store, "default", "Who are the main characters in these documents?")
    assert selection.overview and [r.community for r in selection.reports] == [2, 0, 1]


async def test_a_question_no_report_matches_selects_nothing(store: CountingStore) -> None:
    found = await build_global_context(store, "default", "zebra quantum marmalade")
    assert found.context.reports == [] and found.context.tokens == 0
    assert extractive_global_answer(found) == UNKNOWN
    assert store.asked == [[-1]]


async def test_batches_fit_the_budget_and_bound_the_map_calls(
    store: CountingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = await build_global_context(store, "default", THEMES, budget=60)
    assert len(found.batches) >= 2
    assert all(len(b.split()) <= 60 for b in found.batches)
    shown = {int(line.split("|")[0]) for b in found.batches for line in b.splitlines()[2:]}
    assert shown == {r.community for r in found.context.reports}
    monkeypatch.setattr(global_context, "MAX_BATCHES", 1)
    assert len((await build_global_context(store, "default", THEMES, budget=60)).batches) == 1


async def test_each_report_brings_its_own_best_matching_sources(store: CountingStore) -> None:
    found = await build_global_context(store, "default", "Who were the customers of the Beacon API?")
    units = {u.short_id: u for u in found.context.sources}
    for report in found.context.reports:
        own = set(COMMUNITIES[report.community][5])
        assert found.sources_of[report.community]
        assert {units[s].id for s in found.sources_of[report.community]} <= own
    assert found.context.documents == {DOC: ("harbor", "docs/harbor.md")}


# ---------------------------------------------------------------------------------- extractive answers


async def test_extractive_global_answer_cites_reports_that_exist_and_their_sources(
    store: CountingStore,
) -> None:
    answer = await ask(store, THEMES, search="global")
    assert answer.search == "global" and answer.mode == "extractive"
    assert answer.text.startswith(NOTICE) and "extractive" in answer.text.lower()
    assert cited(answer.text, "Reports") == {0, 1, 2}
    assert "**Company history**" in answer.text
    assert (
        "Maria Okafor founded Harbor Lights after years of drawing manual charts [Data: Reports (2)"
        in answer.text
    )
    assert answer.dropped_citations == 0
    assert check_citations(answer.text, answer.context.available()).dropped == 0
    reports = [c for c in answer.citations if c.dataset == "Reports"]
    sources = [c for c in answer.citations if c.dataset == "Sources"]
    assert {c.id for c in reports} == {0, 1, 2} and all(c.title for c in reports)
    assert sources and all(c.document == "docs/harbor.md" and c.excerpt for c in sources)
    assert answer.usage.llm_calls == 0 and answer.usage.context_tokens > 0
    assert answer.to_json()["search"] == "global"


async def test_extractive_global_answer_quotes_what_matches_the_question(store: CountingStore) -> None:
    answer = await ask(store, "Summarise what is said about buoy readings", search="global")
    assert cited(answer.text, "Reports") == {11}
    assert "The data pipeline cleans buoy readings that arrive every ten minutes" in answer.text


# ------------------------------------------------------------------------------------ with a chat model

MAP_SYSTEM_START = "You help answer a question about a whole collection"


def report_ids(messages: list[BaseMessage]) -> list[int]:
    return [int(m) for m in re.findall(r"^(\d+)\|", str(messages[0].content), re.MULTILINE)]


def scripted(messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
    """Map: one point per report of the batch, scored by rank order; reduce: cite what the points cite."""
    system = str(messages[0].content)
    if system.startswith(MAP_SYSTEM_START):
        points = [
            {"description": f"Report {i} matters [Data: Reports ({i})]", "score": 100 - i}
            for i in report_ids(messages)
        ]
        return text_reply(json.dumps({"points": points}), prompt_tokens=50, completion_tokens=10)
    if "Several analysts" in system:
        ids = sorted({int(i) for i in re.findall(r"Reports \((\d+)\)", system)})
        return text_reply(
            f"The collection covers forecasting and its customers [Data: Reports ({', '.join(map(str, ids))}, 99)].",
            prompt_tokens=70,
            completion_tokens=15,
        )
    raise AssertionError(f"unexpected prompt: {system[:80]}")


async def test_map_reduce_cites_reports_and_through_them_sources(store: CountingStore) -> None:
    model = ScriptedChatModel(replies=[scripted], delay=0.01)
    answer = await ask(store, THEMES, search="global", model=model, budget=60, concurrency=1)
    batches = len((await build_global_context(store, "default", THEMES, budget=60)).batches)
    assert batches >= 2
    assert answer.mode == "llm" and answer.search == "global"
    assert answer.usage.llm_calls == len(model.calls) == batches + 1  # map calls, then one reduce
    assert answer.usage.prompt_tokens == 50 * batches + 70
    assert answer.usage.completion_tokens == 10 * batches + 15
    assert model.max_in_flight == 1  # concurrency bound
    assert answer.dropped_citations == 1  # Reports (99) is no report of the context
    # At a 60-token budget the reduce call reads only the best point (report 0, scored 100).
    assert "Report 0 matters" in str(model.calls[-1][0][0].content)
    assert "Report 1 matters" not in str(model.calls[-1][0][0].content)
    assert cited(answer.text, "Reports") == {0}
    sources = cited(answer.text, "Sources")
    assert sources and all(c.document for c in answer.citations if c.dataset == "Sources")
    assert {c.id for c in answer.citations if c.dataset == "Sources"} == sources


async def test_map_calls_run_concurrently_up_to_the_bound(store: CountingStore) -> None:
    model = ScriptedChatModel(replies=[scripted], delay=0.05)
    await ask(store, THEMES, search="global", model=model, budget=60, concurrency=2)
    assert model.max_in_flight == 2


async def test_reduce_reads_the_best_points_first_and_never_zero_scores(store: CountingStore) -> None:
    def reply(messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        if str(messages[0].content).startswith(MAP_SYSTEM_START):
            return text_reply(
                '{"points": [{"description": "Minor [Data: Reports (1)]", "score": 10}, '
                '{"description": "Key [Data: Reports (2)]", "score": 90}, '
                '{"description": "No relevant information", "score": 0}]}'
            )
        return text_reply("Answer [Data: Reports (2)].")

    model = ScriptedChatModel(replies=[reply])
    answer = await ask(store, THEMES, search="global", model=model)
    reduce_prompt = str(model.calls[-1][0][0].content)
    assert reduce_prompt.index("Key [Data") < reduce_prompt.index("Minor [Data")
    assert "No relevant information" not in reduce_prompt
    assert cited(answer.text, "Reports") == {2}


async def test_a_failing_model_falls_back_to_the_extractive_global_answer(store: CountingStore) -> None:
    model = ScriptedChatModel(replies=[RuntimeError("502 bad gateway")])
    answer = await ask(store, THEMES, search="global", model=model)
    assert answer.mode == "extractive" and answer.search == "global"
    assert answer.text.startswith("_The language model failed") and NOTICE in answer.text
    assert cited(answer.text, "Reports") == {0, 1, 2}


async def test_a_model_rates_only_the_best_full_text_candidates(store: CountingStore) -> None:
    def reply(messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        system = str(messages[0].content)
        if system.startswith("You judge whether"):
            return text_reply("4" if "buoy" in str(messages[1].content).lower() else "1")
        if system.startswith(MAP_SYSTEM_START):
            ids = report_ids(messages)
            return text_reply(
                json.dumps({"points": [{"description": f"[Data: Reports ({ids[0]})]", "score": 5}]})
            )
        return text_reply("Buoys are cleaned [Data: Reports (11)].")

    model = ScriptedChatModel(replies=[reply])
    answer = await ask(store, "How are the buoy readings cleaned?", search="global", model=model)
    rated = [c for c in model.calls if str(c[0][0].content).startswith("You judge whether")]
    # Only reports matching the question in full text were rated: the root about forecasting, then
    # its buoy child; never the customers or history reports.
    assert len(rated) == 2
    assert [r.community for r in answer.context.reports] == [11]
    assert answer.usage.llm_calls == 2 + 1 + 1  # two ratings, one map, one reduce


# ----------------------------------------------------------------------------------------------- routing


@pytest.mark.parametrize(
    ("question", "search", "sure"),
    [
        ("What are the main themes of these documents?", "global", True),
        ("Give me an overview of the collection", "global", True),
        ("Who designed the Lantern Engine?", "local", True),
        ("What does the Beacon API serve?", "local", True),
        ("Summarise what Maria Okafor did", "global", False),
        ("zebra quantum marmalade", "global", False),
    ],
)
async def test_the_offline_classifier(store: CountingStore, question: str, search: str, sure: bool) -> None:
    decision = await classify(store, "default", question)
    assert (decision.search, decision.sure) == (search, sure), decision.reason


async def test_a_model_is_asked_only_when_the_classifier_is_unsure(store: CountingStore) -> None:
    from kg.model import Usage

    model = ScriptedChatModel(replies=[text_reply("local")])
    usage = Usage()
    assert (
        await route(store, "Who designed the Lantern Engine?", model=model, usage=usage)
    ).search == "local"
    assert model.calls == [] and usage.llm_calls == 0
    decision = await route(store, "Summarise what Maria Okafor did", model=model, usage=usage)
    assert decision.search == "local" and "model" in decision.reason
    assert len(model.calls) == 1 and usage.llm_calls == 1 and usage.prompt_tokens == 100
    confused = ScriptedChatModel(replies=[text_reply("I am not sure")])
    assert (await route(store, "Summarise what Maria Okafor did", model=confused)).search == "global"


async def test_auto_routes_each_question(store: CountingStore) -> None:
    themes = await ask(store, THEMES, search="auto")
    assert themes.search == "global" and cited(themes.text, "Reports")
    thing = await ask(store, "What does the Beacon API serve?", search="auto")
    assert thing.search == "local" and thing.context.entities


async def test_auto_routes_each_question_with_a_model_too(store: CountingStore) -> None:
    def reply(messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        system = str(messages[0].content)
        if system.startswith(MAP_SYSTEM_START) or "Several analysts" in system:
            return scripted(messages, kwargs)
        assert "Data tables" in system  # local search's answer prompt
        return text_reply("The Beacon API serves forecasts [Data: Sources (3)].")

    model = ScriptedChatModel(replies=[reply])
    themes = await ask(store, THEMES, search="auto", model=model)
    assert themes.search == "global" and themes.mode == "llm" and cited(themes.text, "Reports")
    calls = len(model.calls)
    thing = await ask(store, "What does the Beacon API serve?", search="auto", model=model)
    assert thing.search == "local" and thing.mode == "llm"
    assert len(model.calls) == calls + 1  # sure of its route: no routing call, one answer call
    assert cited(thing.text, "Sources") == {3}


async def test_auto_falls_back_to_local_when_no_report_matches(store: CountingStore) -> None:
    question = "When are trips planned?"  # names no entity: routed to global search
    assert (await classify(store, "default", question)).search == "global"
    answer = await ask(store, question, search="auto")
    assert answer.search == "local"  # no root report mentions trips; a passage does
    assert "Fishing fleets plan their trips" in answer.text
    assert (await ask(store, question, search="global")).text == UNKNOWN


async def test_unknown_search_is_refused(store: CountingStore) -> None:
    with pytest.raises(ValueError, match="unknown search"):
        await ask(store, THEMES, search="everywhere")


# ------------------------------------------------------------------- the CLI with a real OpenAI client


def global_responder(request: dict[str, Any]) -> dict[str, Any]:
    """A fake OpenAI endpoint doing global search's map and reduce calls."""
    system = fake_openai.message_text(request["messages"][0])
    if system.startswith(MAP_SYSTEM_START):
        ids = re.findall(r"^(\d+)\|", system, re.MULTILINE)
        points = [{"description": f"Theme [Data: Reports ({i})]", "score": 60} for i in ids]
        return {"content": json.dumps({"points": points})}
    if "Several analysts" in system:
        ids = sorted(set(re.findall(r"Reports \((\d+)\)", system)))[:2]
        return {"content": f"The documents cover forecasting [Data: Reports ({', '.join(ids)})]."}
    return {"content": "I don't know from the indexed documents."}


def test_cli_global_answer_through_the_openai_client(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "corpus", "-q", "--extractor", "nlp"]) == 0
    capsys.readouterr()
    with fake_openai.ServerThread(fake_openai.FakeOpenAI(global_responder)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        assert main(["ask", "--json", THEMES]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["search"] == "global" and data["mode"] == "llm"
        assert data["usage"]["llm_calls"] == len(server.requests) >= 2
        assert data["usage"]["prompt_tokens"] > 0 and data["usage"]["completion_tokens"] > 0
        reports = {c["id"] for c in data["citations"] if c["dataset"] == "Reports"}
        assert reports and reports <= {r["id"] for r in data["context"]["reports"]}
        assert any(c["dataset"] == "Sources" and c["document"] for c in data["citations"])
        assert main(["ask", THEMES]) == 0
        flat = " ".join(capsys.readouterr().out.split())
        assert re.search(
            r"global search · llm answer · \d+ context tokens · \d+ model calls, [\d,]+ prompt", flat
        )


async def test_the_reduce_call_streams_and_the_map_calls_do_not(store: CountingStore) -> None:
    stages: list[str] = []
    chunks: list[str] = []

    async def on_stage(stage: Stage) -> None:
        stages.append(stage.text)

    async def on_text(text: str) -> None:
        chunks.append(text)

    model = ScriptedChatModel(replies=[scripted])
    answer = await ask(
        store, THEMES, search="global", model=model, budget=60, progress=Progress(on_stage, on_text)
    )
    reduce_reply = "The collection covers forecasting and its customers [Data: Reports (0, 99)]."
    assert "".join(chunks) == reduce_reply and len(chunks) > 3  # the map calls' JSON never shows
    assert stages[0] == "Searching the graph…" and stages[1].startswith("Reading ")
    assert stages[1].endswith("community reports…") and stages[2:] == ["Writing the answer…"]
    assert answer.mode == "llm" and cited(answer.text, "Sources")  # checked, the reports' sources added
    assert differs_from_streamed("".join(chunks), answer.text)


async def test_an_offline_global_answer_streams_sentence_by_sentence(store: CountingStore) -> None:
    chunks: list[str] = []

    async def on_text(text: str) -> None:
        chunks.append(text)

    answer = await ask(store, THEMES, search="global", progress=Progress(on_text=on_text))
    assert answer.mode == "extractive" and len(chunks) > 2 and "".join(chunks) == answer.text
