"""`kgbot ask`, `kgbot chat` and `kgbot demo` as a user runs them, on the test corpus, with no model."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from bot.cli import main

ENGINE_QUESTION = "Who designed the Lantern Engine?"


@pytest.fixture
def indexed(workdir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["index", "corpus", "-q"]) == 0
    capsys.readouterr()
    return workdir


def ask_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["ask", "--json", *args]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return json.loads(captured.out)  # exactly one JSON object, nothing else on stdout


def assert_citations_in_context(data: dict) -> None:
    ids = {dataset: {r["id"] for r in records} for dataset, records in data["context"].items()}
    for c in data["citations"]:
        assert c["id"] in ids[c["dataset"].lower()], c
    for dataset, numbers in re.findall(
        r"(\w+) \(([^)]*)\)", " ".join(re.findall(r"\[Data: [^\]]*\]", data["answer"]))
    ):
        for n in numbers.split(", "):
            assert n == "+more" or int(n) in ids[dataset.lower()], (dataset, n)


def test_ask_json_prints_one_object_of_the_documented_shape(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ask_json(capsys, ENGINE_QUESTION)
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
    assert data["question"] == ENGINE_QUESTION and data["mode"] == "extractive"
    assert "Maria Okafor designed the Lantern Engine in 2019" in data["answer"]
    assert data["citations"] and all(
        set(c) == {"dataset", "id", "title", "document", "excerpt"} for c in data["citations"]
    )
    sources = [c for c in data["citations"] if c["dataset"] == "Sources"]
    assert sources and all(c["document"].startswith("corpus") and c["excerpt"] for c in sources)
    assert set(data["context"]) == {"entities", "relationships", "reports", "sources"}
    assert all(isinstance(r["id"], int) and r["text"] for rs in data["context"].values() for r in rs)
    assert_citations_in_context(data)
    assert data["usage"]["llm_calls"] == 0 and data["usage"]["context_tokens"] > 0
    assert set(data["usage"]) == {"context_tokens", "llm_calls", "prompt_tokens", "completion_tokens"}
    assert set(data["timings_ms"]) == {"retrieve", "answer", "total"}


def test_ask_budget_limits_the_context(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = ask_json(capsys, "--budget", "300", ENGINE_QUESTION)
    large = ask_json(capsys, ENGINE_QUESTION)
    assert 0 < small["usage"]["context_tokens"] <= 300 < large["usage"]["context_tokens"]
    assert_citations_in_context(small)


def test_ask_prints_the_answer_and_its_sources(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", ENGINE_QUESTION]) == 0
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    assert "Extractive answer" in flat
    assert "Maria Okafor designed the Lantern Engine in 2019 [Data:" in flat
    assert re.search(r"^Sources \(\d+\)$", out, re.MULTILINE)
    assert re.search(r"\[\d+\] team — corpus/team\.md, characters \d", flat)
    assert "extractive answer ·" in flat


def test_document_text_is_never_read_as_console_markup(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "corpus" / "paths.txt").write_text(
        "The Lantern Engine keeps its charts under [/var/charts] and [bold]never[/bold] deletes them.\n",
        encoding="utf-8",
    )
    assert main(["index", "corpus", "-q"]) == 0
    capsys.readouterr()
    assert main(["ask", "Where does the Lantern Engine keep its charts?"]) == 0
    captured = capsys.readouterr()
    assert "[/var/charts]" in captured.out and "[bold]never[/bold]" in " ".join(captured.out.split())
    assert captured.err == ""


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "Please ask a question"),
        ("   \t  ", "Please ask a question"),
        ("\x00\x1b[0m\x07", "Please ask a question"),
        ("What is " + "the Lantern Engine " * 1200, "characters long"),
    ],
)
def test_unusable_questions_get_one_line_and_exit_1(
    indexed: Path, capsys: pytest.CaptureFixture[str], question: str, message: str
) -> None:
    assert len(question) < 2000 or len(question) > 20_000
    assert main(["ask", question]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("kgbot: ") and message in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_control_characters_are_cleaned_and_the_question_answered(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ask_json(capsys, f"\x00\x1b[31m{ENGINE_QUESTION}\x1b[0m\x07")
    assert data["question"] == ENGINE_QUESTION
    assert "Maria Okafor designed the Lantern Engine" in data["answer"]


def test_question_matching_nothing_gets_an_honest_i_dont_know(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ask_json(capsys, "zebra quantum marmalade")
    assert data["answer"].startswith("I don't know")
    assert data["citations"] == []
    assert main(["ask", "zebra quantum marmalade"]) == 0
    assert "I don't know" in capsys.readouterr().out


def test_ask_before_any_index_says_what_to_do(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["ask", ENGINE_QUESTION], ["ask", "--json", ENGINE_QUESTION]):
        assert main(args) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("kgbot: ") and "kgbot index" in captured.err
        assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_ask_in_a_namespace_never_built(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--namespace", "elsewhere", ENGINE_QUESTION]) == 1
    err = capsys.readouterr().err
    assert "'elsewhere'" in err and "kgbot index" in err


def chat(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *lines: str) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    assert main(["chat"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return captured.out


def test_chat_keeps_history_so_a_follow_up_is_answered(
    indexed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    follow_up = "and what does he do?"
    data = ask_json(capsys, follow_up)
    assert data["answer"].startswith("I don't know")  # on its own, "he" is nobody

    out = chat(monkeypatch, capsys, "Who is Tomas Lindqvist?", follow_up)  # then end of input
    answers = [" ".join(a.split()) for a in out.split("you> ")[1:]]
    assert len(answers) == 3  # two answers, then the prompt that met the end of input
    assert "Tomas Lindqvist maintains the data pipeline" in answers[0]
    assert "I don't know" not in answers[1]
    assert "Tomas Lindqvist maintains the data pipeline" in answers[1]
    assert answers[2] == ""


def test_chat_survives_bad_lines(
    indexed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = chat(
        monkeypatch, capsys, "x" * 20_000, "zebra quantum marmalade", ENGINE_QUESTION, "", "never asked"
    )
    flat = " ".join(out.split())
    assert "characters long" in flat
    assert "I don't know" in flat
    assert "Maria Okafor designed the Lantern Engine in 2019" in flat
    assert "never asked" not in flat  # an empty line ends the chat


def test_demo_indexes_a_folder_and_answers(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["demo", "corpus", "--question", ENGINE_QUESTION, "--question", "What is the Beacon API?"]) == 0
    )
    captured = capsys.readouterr()
    flat = " ".join(captured.out.split())
    assert "Traceback" not in captured.out + captured.err
    assert "Indexed 3 documents" in flat
    assert ENGINE_QUESTION in flat and "What is the Beacon API?" in flat
    assert "Maria Okafor designed the Lantern Engine in 2019" in flat
    assert "The Beacon API serves forecasts" in flat
    assert len(re.findall(r"^Sources \(\d+\)$", captured.out, re.MULTILINE)) == 2


def test_demo_without_questions_asks_about_the_graph(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "corpus"]) == 0
    out = capsys.readouterr().out
    assert "What is Lantern Engine?" in out
    assert len(re.findall(r"^Sources \(\d+\)$", out, re.MULTILINE)) >= 2
    assert "[Data:" in out


def test_demo_on_a_missing_folder_fails_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "no-such-folder"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.strip().startswith("kgbot: ") and "\n" not in captured.err.strip()


THEMES_QUESTION = "What are the main themes of these documents?"


def test_a_whole_corpus_question_goes_to_global_search(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ask_json(capsys, THEMES_QUESTION)
    assert data["search"] == "global" and data["mode"] == "extractive"
    assert data["answer"].startswith("_Extractive global answer")
    reports = [c for c in data["citations"] if c["dataset"] == "Reports"]
    assert reports and {c["id"] for c in reports} <= {r["id"] for r in data["context"]["reports"]}
    assert all(c["title"] for c in reports)
    assert_citations_in_context(data)
    assert main(["ask", THEMES_QUESTION]) == 0
    flat = " ".join(capsys.readouterr().out.split())
    assert "global search · extractive answer ·" in flat and "Reports:" in flat


def test_a_question_about_one_thing_stays_local(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ask_json(capsys, ENGINE_QUESTION)
    assert data["search"] == "local" and data["context"]["entities"]
    assert main(["ask", ENGINE_QUESTION]) == 0
    assert "local search · extractive answer ·" in " ".join(capsys.readouterr().out.split())


def test_mode_forces_the_search(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ask_json(capsys, "--mode", "local", THEMES_QUESTION)["search"] == "local"
    forced = ask_json(capsys, "--mode", "global", ENGINE_QUESTION)
    assert forced["search"] == "global" and forced["context"]["entities"] == []
    with pytest.raises(SystemExit) as exited:  # argparse: usage and one error line
        main(["ask", "--mode", "sideways", ENGINE_QUESTION])
    assert exited.value.code == 2 and "invalid choice: 'sideways'" in capsys.readouterr().err


def test_kg_search_setting_is_the_default_mode(
    indexed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KG_SEARCH", "local")
    assert ask_json(capsys, THEMES_QUESTION)["search"] == "local"
    monkeypatch.setenv("KG_SEARCH", "everywhere")
    assert main(["ask", THEMES_QUESTION]) == 1
    assert "kg_search" in capsys.readouterr().err.lower()


def test_chat_routes_each_question_and_takes_a_mode(
    indexed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = " ".join(chat(monkeypatch, capsys, THEMES_QUESTION, ENGINE_QUESTION).split())
    assert out.index("global search ·") < out.index("local search ·")
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{ENGINE_QUESTION}\n"))
    assert main(["chat", "--mode", "global"]) == 0
    forced = " ".join(capsys.readouterr().out.split())
    assert "global search ·" in forced and "local search ·" not in forced


def test_ask_graph_writes_a_png_of_the_cited_entities(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    from kg.search.picture.labels import clean_label

    data = ask_json(capsys, "--graph", "evidence.png", "Who maintains the data pipeline?")
    image = Image.open(indexed / "evidence.png")
    image.load()
    assert image.format == "PNG" and image.size[0] >= 1000
    graph = data["graph"]
    assert graph["path"] == "evidence.png" and graph["draw_ms"] > 0
    cited = {clean_label(c["title"]) for c in data["citations"] if c["dataset"] == "Entities"}
    for c in data["citations"]:
        if c["dataset"] == "Relationships":
            cited |= {clean_label(end) for end in c["title"].split(" → ")}
    drawn = {n["name"] for n in graph["nodes"] if n["role"] == "cited"}
    assert cited and drawn == cited
    names = {n["name"] for n in graph["nodes"]}
    assert all(e["source"] in names or e["source"].startswith("community:") for e in graph["edges"])


def test_ask_graph_refuses_other_formats_in_one_line(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "--graph", "evidence.gif", ENGINE_QUESTION]) != 0
    captured = capsys.readouterr()
    assert ".png or .svg" in captured.err and "Traceback" not in captured.err
    assert not (indexed / "evidence.gif").exists()
