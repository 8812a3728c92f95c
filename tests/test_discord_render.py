"""The pure Discord renderer: message splitting, reference numbers, the sources embed, thread names."""

from __future__ import annotations

import random
import re

import pytest

from bot.core import Reply
from bot.discord import render
from bot.discord.render import (
    EMBED_FIELD_NAME,
    EMBED_FIELD_VALUE,
    EMBED_FIELDS,
    EMBED_TITLE,
    EMBED_TOTAL,
    answer_messages,
    reference_numbers,
    sources_embed,
    split_message,
    thread_name,
)
from kg.search.answer import SourceRef

SOURCES = [
    SourceRef("Sources", 7, "team", "docs/team.md", "characters 0–120", "Maria Okafor leads the group."),
    SourceRef("Entities", 3, "Lantern Engine", excerpt="A forecasting engine."),
    SourceRef("Relationships", 12, "Maria Okafor → Lantern Engine"),
    SourceRef("Reports", 0, "Harbor Lights community"),
]


def fences_balanced(text: str) -> bool:
    return len(re.findall(r"^ {0,3}(?:```|~~~)", text, flags=re.MULTILINE)) % 2 == 0


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- reference numbers ---------------------------------------------------------------------------------


def test_markers_become_reference_numbers_in_sources_order() -> None:
    text = (
        "Maria leads it [Data: Sources (7); Entities (3, +more)]. "
        "It was designed by her [Data: Relationships (12); Entities (3)]; see the report [Data: Reports (0)]."
    )
    assert reference_numbers(text, SOURCES) == (
        "Maria leads it[1][2]. It was designed by her[3][2]; see the report[4]."
    )


def test_markers_citing_nothing_known_disappear_with_their_space() -> None:
    assert reference_numbers("Claim [Data: Entities (99, +more)]. Next.", SOURCES) == "Claim. Next."
    assert reference_numbers("No markers [here] (1).", SOURCES) == "No markers [here] (1)."


def test_answer_messages_number_citations_and_add_a_footer_notices_stay_as_written() -> None:
    reply = Reply(
        "Answer [Data: Sources (7)].", sources=SOURCES[:1], mode="extractive", timings_ms={"total": 1534.0}
    )
    assert answer_messages(reply) == ["Answer[1].\n\n-# extractive answer · 1.5 s"]
    notice = Reply("Please ask a question [Data: Sources (7)]", kind="notice")
    assert answer_messages(notice) == ["Please ask a question [Data: Sources (7)]"]


# --- splitting ---------------------------------------------------------------------------------------------


def test_short_text_is_one_message() -> None:
    assert split_message("Hello.\n\nWorld.") == ["Hello.\n\nWorld."]
    assert split_message("   \n") == []


def test_split_happens_between_paragraphs() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 80 for i in range(20)]
    messages = split_message("\n\n".join(paragraphs))
    assert len(messages) > 1
    assert all(len(m) <= 2000 for m in messages)
    for p in paragraphs:  # each paragraph whole in exactly one message
        assert sum(p.strip() in m for m in messages) == 1


def test_a_code_block_that_fits_is_never_split() -> None:
    code = "```python\n" + "\n".join(f"x_{i} = {i}" for i in range(100)) + "\n\ny = 2\n```"
    text = "Intro. " + "a" * 1500 + "\n\n" + code + "\n\nAfter."
    messages = split_message(text)
    assert any(code in m for m in messages)
    assert all(len(m) <= 2000 and fences_balanced(m) for m in messages)


def test_a_code_block_longer_than_a_message_becomes_several_complete_blocks() -> None:
    body = "\n".join(f"line_{i} = compute({i})  # {'x' * 30}" for i in range(120))
    messages = split_message(f"Look:\n\n~~~js\n{body}\n~~~\n\nDone.")
    assert len(messages) >= 3
    assert all(len(m) <= 2000 and fences_balanced(m) for m in messages)
    code_messages = [m for m in messages if "~~~js" in m]
    assert len(code_messages) >= 2
    lines = [line for m in messages for line in m.splitlines() if line.startswith("line_")]
    assert "\n".join(lines) == body  # nothing lost, order kept


def test_a_code_line_longer_than_a_message_is_wrapped_not_lost() -> None:
    line = "z" * 4500
    messages = split_message(f"```\n{line}\n```")
    assert all(len(m) <= 2000 and fences_balanced(m) for m in messages)
    assert "".join(m.replace("```", "").replace("\n", "") for m in messages) == line


def test_a_paragraph_longer_than_a_message_is_cut_at_sentences() -> None:
    paragraph = " ".join(f"Sentence number {i} says something useful." for i in range(120))
    messages = split_message(paragraph)
    assert all(len(m) <= 2000 for m in messages)
    assert all(m.endswith(".") for m in messages)
    assert squash("".join(messages)) == squash(paragraph)


def test_a_long_word_is_cut_anywhere() -> None:
    messages = split_message("x" * 4100)
    assert [len(m) for m in messages] == [2000, 2000, 100]


def test_longer_fences_and_unclosed_fences() -> None:
    nested = "````md\n```python\nprint(1)\n```\n````"
    messages = split_message("a" * 1990 + "\n\n" + nested)
    assert messages == ["a" * 1990, nested]
    unclosed = "Text.\n\n```\n" + "code line\n" * 300
    messages = split_message(unclosed)
    assert all(len(m) <= 2000 and fences_balanced(m) for m in messages)


@pytest.mark.parametrize("seed", range(25))
def test_random_answers_split_within_limits(seed: int) -> None:
    rng = random.Random(seed)
    blocks = []
    for _ in range(rng.randint(1, 30)):
        if rng.random() < 0.25:
            lines = [
                " ".join(rng.choice(["a", "bb", "ccc", "{", "}", ""]) for _ in range(rng.randint(0, 30)))
            ]
            lines *= rng.randint(1, 60)
            blocks.append("```py\n" + "\n".join(lines) + "\n```")
        else:
            sentences = [
                " ".join(rng.choice(["Lantern", "engine", "forecast", "data", "x" * 50]) for _ in range(12))
                + "."
                for _ in range(rng.randint(1, 25))
            ]
            blocks.append(" ".join(sentences))
    text = "\n\n".join(blocks)
    limit = rng.choice([300, 800, 2000])
    messages = split_message(text, limit)
    assert all(0 < len(m) <= limit for m in messages)
    assert all(fences_balanced(m) for m in messages)
    joined = squash("".join(messages).replace("```py", "").replace("```", ""))
    assert joined.replace(".", "") == squash(text.replace("```py", "").replace("```", "")).replace(".", "")


# --- thread names -----------------------------------------------------------------------------------------


def test_thread_names() -> None:
    assert thread_name("  What is\nthe Lantern Engine? ") == "What is the Lantern Engine?"
    long = thread_name("word " * 60)
    assert len(long) <= 100 and long.endswith("…")
    assert thread_name("") == "Question"


# --- sources embed ------------------------------------------------------------------------------------------


def assert_within_embed_limits(data: dict[str, object], size: int) -> None:
    assert len(str(data.get("title", ""))) <= EMBED_TITLE
    assert len(str(data.get("description", ""))) <= 4096
    fields = data.get("fields", [])
    assert isinstance(fields, list) and len(fields) <= EMBED_FIELDS
    for field in fields:
        assert 0 < len(field["name"]) <= EMBED_FIELD_NAME
        assert 0 < len(field["value"]) <= EMBED_FIELD_VALUE
    assert size <= EMBED_TOTAL


def test_sources_embed_lists_sources_then_named_rows() -> None:
    embed = sources_embed(SOURCES)
    data = embed.to_dict()
    assert data["title"] == "Sources (4)"
    names = [f["name"] for f in data["fields"]]
    assert names == ["[1] team", "Entities (1)", "Relationships (1)", "Reports (1)"]
    assert data["fields"][0]["value"] == "docs/team.md · characters 0–120\n> Maria Okafor leads the group."
    assert data["fields"][1]["value"] == "[2] Lantern Engine"
    assert_within_embed_limits(data, len(embed))


def test_sources_embed_stays_within_limits_for_many_long_sources() -> None:
    many = [
        SourceRef("Sources", i, "T" * 400, "d" * 900, "characters 1–2", "word " * 400) for i in range(60)
    ] + [SourceRef("Entities", i, f"Entity {i} " + "e" * 150) for i in range(80)]
    embed = sources_embed(many)
    data = embed.to_dict()
    assert_within_embed_limits(data, len(embed))
    assert data["title"] == "Sources (140)"
    assert any(f["name"] == "More" and "more sources" in f["value"] for f in data["fields"])
    entities = next(f for f in data["fields"] if f["name"] == "Entities (80)")
    assert entities["value"].startswith("[61] Entity 0") and entities["value"].endswith("more")


def test_sources_embed_field_count_limit() -> None:
    many = [SourceRef("Sources", i, f"doc {i}", f"d{i}.md", "characters 1–2", "x") for i in range(40)]
    embed = sources_embed(many)
    data = embed.to_dict()
    assert len(data["fields"]) == EMBED_FIELDS
    assert data["fields"][-1] == {"name": "More", "value": "… and 16 more sources", "inline": False}
    assert_within_embed_limits(data, len(embed))


def test_sources_embed_escapes_markdown_and_handles_no_sources() -> None:
    embed = sources_embed([SourceRef("Sources", 1, "t", "a_b.md", "", "**bold** `code`")])
    assert embed.to_dict()["fields"][0]["value"] == "a\\_b.md\n> \\*\\*bold\\*\\* \\`code\\`"
    assert sources_embed([]).to_dict()["description"] == "This answer cites no sources."


def test_progress_texts_fit_a_message() -> None:
    assert render.progress_text("x" * 3000).endswith("…") and len(render.progress_text("x" * 3000)) <= 2000
    assert render.reindex_started("default") == "Reindexing 'default' — starting…"


def test_a_global_answer_citing_reports_only_is_numbered_and_footed() -> None:
    sources = [SourceRef("Reports", 0, "Forecasting"), SourceRef("Reports", 3, "Customers")]
    reply = Reply(
        "Two themes [Data: Reports (0, 3)].",
        sources=sources,
        mode="llm",
        search="global",
        timings_ms={"total": 80.0},
    )
    assert answer_messages(reply) == ["Two themes[1][2].\n\n-# global search · language-model answer · 80 ms"]


def test_streamed_text_hides_markers_and_stays_within_one_message() -> None:
    assert (
        render.streamed_text("It runs [Data: Sources (1)]. More [Data: So")
        == "It runs. More" + render.WRITING_MORE
    )
    assert render.streamed_text("") == "" and render.streamed_text("[Dat") == ""
    long = render.streamed_text("word " * 1000)
    assert len(long) <= render.MESSAGE_LIMIT and long.endswith(render.WRITING_MORE)
