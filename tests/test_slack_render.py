"""The Slack renderer is pure: Reply in, Block Kit out. Every block list it produces is parsed back with
slack_sdk's block models, whose validators enforce Slack's limits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.core import Reply, neutralise_mentions
from bot.slack import render
from kg.search.answer import SourceRef


def validate(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= render.MAX_BLOCKS
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.to_dict()  # every validator, children included
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= render.SECTION_CHARS
        if block["type"] == "container":
            assert len(block["child_blocks"]) <= render.CONTAINER_CHILDREN
            for child in block["child_blocks"]:
                assert len(child["text"]["text"]) <= render.SECTION_CHARS


def source(dataset: str, i: int, title: str = "", **extra: str) -> SourceRef:
    return SourceRef(dataset=dataset, id=i, title=title or f"{dataset} {i}", **extra)


SOURCES = [
    source("Entities", 3, "Beacon API"),
    source(
        "Sources",
        9,
        "engine",
        document="docs/engine.txt",
        location="characters 0–468",
        excerpt="It publishes.",
    ),
    source("Relationships", 2, "Beacon API → Lantern Engine"),
    source("Sources", 4, "team", document="https://wiki.example.com/team?a=1&b=2", excerpt="Maria leads."),
    source("Reports", 1, "Harbor community"),
]


def reply(text: str, sources: list[SourceRef] | None = None, **kw: Any) -> Reply:
    return Reply(
        text=text,
        sources=SOURCES if sources is None else sources,
        mode=kw.pop("mode", "llm"),
        timings_ms=kw.pop("timings_ms", {"total": 1234.0}),
        sources_key=kw.pop("sources_key", "k3y-AbC_1"),
        **kw,
    )


def test_markdown_becomes_mrkdwn() -> None:
    text = render.to_mrkdwn(
        "# Release process\n\n"
        "We **ship** on *Fridays* and ~~never~~ on __Mondays__.\n\n"
        "- first\n  - nested\n* second\n1. one\n2) two\n\n"
        "> quoted\n\n"
        "See [the wiki](https://wiki.example.com/a?b=1&c=2) or `x **not bold** <y>`.\n\n"
        "```python\nif a < b and c:\n    **x** = 1\n```\n---"
    )
    lines = text.split("\n")
    assert lines[0] == "*Release process*"
    assert "We *ship* on _Fridays_ and ~never~ on *Mondays*." in lines
    assert ["• first", "    ◦ nested", "• second", "1. one", "2. two"] == lines[4:9]
    assert "> quoted" in lines
    assert "See <https://wiki.example.com/a?b=1&amp;c=2|the wiki> or `x **not bold** &lt;y&gt;`." in lines
    code = text[text.index("```") :]
    assert code == "```\nif a &lt; b and c:\n    **x** = 1\n```"


def test_control_characters_and_mentions_are_escaped() -> None:
    text = render.to_mrkdwn("a < b & c > d <!channel> <@U999> <#C1> <https://evil|click>")
    assert (
        text
        == "a &lt; b &amp; c &gt; d &lt;!channel&gt; &lt;@U999&gt; &lt;#C1&gt; &lt;https://evil|click&gt;"
    )
    [message] = render.answer_messages(reply("Ping @channel and @here, <!everyone> <@U1>", sources=[]))
    said = json.dumps(message.payload(), ensure_ascii=False)
    assert not re.search(r"<[!@#]", said)
    assert not re.search(r"@(channel|here|everyone)\b", said)
    assert "&lt;" in said


def test_links_only_for_web_addresses() -> None:
    assert render.to_mrkdwn("[x](javascript:alert(1))") == "[x](javascript:alert(1))"
    assert render.to_mrkdwn("[run](file.md)") == "run (file.md)"


def test_citation_markers_become_reference_numbers() -> None:
    numbered = render.numbered_sources(SOURCES)
    # Documents first, then entities, relationships and reports, each in order of citation.
    assert [(n, s.dataset, s.id) for n, s in numbered] == [
        (1, "Sources", 9),
        (2, "Sources", 4),
        (3, "Entities", 3),
        (4, "Relationships", 2),
        (5, "Reports", 1),
    ]
    text = render.number_citations(
        "It publishes [Data: Entities (3); Sources (9, 4)]. The link [Data: Relationships (2); Reports (1, +more)]. "
        "Gone [Data: Entities (77)].",
        numbered,
    )
    assert text == "It publishes [1, 2]. The link [4, 5]. Gone."


def test_an_answer_with_its_collapsed_sources_and_footer() -> None:
    [message] = render.answer_messages(reply("It publishes [Data: Entities (3); Sources (9)]."))
    validate(message.blocks)
    answer, container, graph, feedback, footer = message.blocks
    assert answer["text"]["text"] == "It publishes [1]."
    assert graph == render.graph_button("k3y-AbC_1")
    assert feedback == render.feedback_block("k3y-AbC_1")
    assert container["type"] == "container"
    assert container["title"]["text"] == "Sources (5)"
    assert container["is_collapsible"] is True and container["default_collapsed"] is True
    listed = "\n".join(c["text"]["text"] for c in container["child_blocks"])
    assert "*[1]* *engine* — `docs/engine.txt`, characters 0–468\n> It publishes." in listed
    assert "*[2]* <https://wiki.example.com/team?a=1&amp;b=2|team>" in listed
    assert "*Entities:* [3] Beacon API" in listed
    assert "*Relationships:* [4] Beacon API → Lantern Engine" in listed
    assert "*Reports:* [5] Harbor community" in listed
    assert footer["block_id"] == render.FOOTER_BLOCK
    assert footer["elements"][0]["text"] == "Answered by the language model · 1.2 s"
    assert message.text == "It publishes."


def test_extractive_footer_and_notification_text() -> None:
    text = "_Extractive answer: quoted as written._\n\nMaria leads the team [Data: Sources (4)]."
    [message] = render.answer_messages(reply(text, mode="extractive", timings_ms={"total": 42.0}))
    assert message.blocks[-1]["elements"][0]["text"] == "Extractive answer (no language model) · 42 ms"
    assert message.text == "Maria leads the team."


def test_fallback_button_instead_of_a_container() -> None:
    [message] = render.answer_messages(reply("It publishes [Data: Sources (9)]."), collapsible=False)
    validate(message.blocks)
    assert not any(b["type"] == "container" for b in message.blocks)
    toggle, graph = [b for b in message.blocks if b["type"] == "actions"]
    [button] = toggle["elements"]
    assert button["action_id"] == render.SHOW_SOURCES
    assert graph == render.graph_button("k3y-AbC_1")  # right under the toggle
    assert button["text"]["text"] == "Show sources (5)"
    assert render.parse_toggle_value(button["value"]) == ("k3y-AbC_1", 5)


def test_showing_and_hiding_sources_in_a_message() -> None:
    [message] = render.answer_messages(reply("It publishes [Data: Sources (9)]."), collapsible=False)
    shown = render.toggle_sources(message.blocks, SOURCES, "k3y-AbC_1", 5, show=True)
    validate(shown)
    assert shown[0] == message.blocks[0] and shown[-1]["block_id"] == render.FOOTER_BLOCK
    assert "*[1]* *engine*" in shown[1]["text"]["text"]
    assert shown[-4]["elements"][0]["action_id"] == render.HIDE_SOURCES
    assert shown[-3] == render.graph_button("k3y-AbC_1")  # the sources open above it, not below
    assert shown[-2]["block_id"] == render.FEEDBACK
    hidden = render.toggle_sources(shown, None, "k3y-AbC_1", 5, show=False)
    validate(hidden)
    assert hidden == message.blocks


def test_show_graph_button_carries_the_answer_key_and_only_answers_with_sources_have_it() -> None:
    for collapsible in (True, False):
        [message] = render.answer_messages(reply("It publishes [Data: Sources (9)]."), collapsible)
        validate(message.blocks)
        [graph] = [b for b in message.blocks if b.get("block_id") == render.SHOW_GRAPH]
        [button] = graph["elements"]
        assert (button["action_id"], button["value"], button["text"]["text"]) == (
            render.SHOW_GRAPH,
            "k3y-AbC_1",
            "Show graph",
        )
    [bare] = render.answer_messages(reply("Nothing found.", sources=[]))
    assert not any(b.get("block_id") == render.SHOW_GRAPH for b in bare.blocks)
    [notice] = render.answer_messages(Reply("Please slow down", kind="notice"))
    assert notice.blocks == []


def test_notices_are_one_plain_line() -> None:
    message = render.notice("You're asking\nfaster than <!here> I can keep up")
    assert message.payload() == {"text": "You're asking faster than @\u200bhere I can keep up"}
    [notice] = render.answer_messages(Reply("Please slow down", kind="notice"))
    assert notice.blocks == [] and notice.text == "Please slow down"
    error = render.error_notice(RuntimeError("secret detail"))
    assert "RuntimeError" in error.text and "secret detail" not in error.text


def test_asked_message_names_the_asker_and_neutralises_the_question() -> None:
    message = render.asked_message("U123ABC", "What about @channel <!here> & co?")
    validate(message.blocks)
    assert message.text.startswith("<@U123ABC> asked: What about @\u200bchannel @\u200bhere &amp; co?")
    assert render.asked_message("not a user id <!x>", "q").text.startswith("not a user id @x")
    long = render.asked_message("U1", "why " * 2000)
    validate(long.blocks)


@pytest.mark.parametrize("paragraph_chars", [200, 2999, 3001, 9000])
def test_long_answers_are_split_within_limits(paragraph_chars: int) -> None:
    words = ("forecast " * (paragraph_chars // 9 + 1))[:paragraph_chars].strip()
    text = "\n\n".join(f"Part {i}: {words} [Data: Sources (9)]" for i in range(60))
    messages = render.answer_messages(reply(text))
    for message in messages:
        validate(message.blocks)
    assert sum(b["type"] == "container" for m in messages for b in m.blocks) == 1
    assert messages[-1].blocks[-1]["block_id"] == render.FOOTER_BLOCK
    body = " ".join(b["text"]["text"] for m in messages for b in m.blocks if b["type"] == "section")
    assert [int(n) for n in re.findall(r"Part (\d+):", body)] == list(range(60))
    assert len(re.sub(r"\s+", "", body)) == len(
        re.sub(r"\s+", "", render.to_mrkdwn(render.number_citations(text, render.numbered_sources(SOURCES))))
    )


def test_the_split_leaves_room_to_show_the_sources() -> None:
    many = [source("Sources", i, f"doc {i}", document=f"d{i}.txt", excerpt="x" * 280) for i in range(200)]
    text = "\n\n".join(f"Paragraph {i} " + "word " * 500 for i in range(120))
    messages = render.answer_messages(reply(text, sources=many), collapsible=False)
    assert len(messages) >= 2
    last = messages[-1]
    shown = render.toggle_sources(last.blocks, many, "k", len(many), show=True)
    validate(shown)
    assert "more section(s) of sources not shown" in shown[-5]["text"]["text"]
    # The fallback splits exactly like the container form, so a retry in the fallback form repeats nothing.
    collapsed = render.answer_messages(reply(text, sources=many), collapsible=True)
    assert [m.blocks[:-4] for m in collapsed][-1] == last.blocks[:-4]
    assert [m.blocks for m in collapsed][:-1] == [m.blocks for m in messages][:-1]
    validate(collapsed[-1].blocks)


def test_code_blocks_stay_fenced_across_a_split() -> None:
    code = "\n".join(f"line {i} = {'x' * 60} < y & z" for i in range(200))
    messages = render.answer_messages(reply(f"Look:\n\n```\n{code}\n```\n\nDone.", sources=[]))
    sections = [b["text"]["text"] for m in messages for b in m.blocks if b["type"] == "section"]
    assert len(sections) > 3
    for text in sections:
        assert text.count("```") % 2 == 0
        assert not re.search(r"&(?!amp;|lt;|gt;)", text)  # no escape cut in two


def test_one_enormous_word_is_cut_without_breaking_escapes() -> None:
    pieces = render.split_mrkdwn("&amp;" * 1000, 3000)
    assert all(len(p) <= 3000 and p.endswith("&amp;") for p in pieces)
    assert "".join(pieces) == "&amp;" * 1000


def test_reindex_text_is_escaped() -> None:
    assert render.reindex_text("Reindexing 'a<b>' █░ 50%") == "Reindexing 'a&lt;b&gt;' █░ 50%"


def test_neutralising_twice_changes_nothing() -> None:
    once = neutralise_mentions("@channel <@U1>")
    assert neutralise_mentions(once) == once
    assert render.safe(once) == render.safe("@channel <@U1>")


def test_a_global_answer_citing_reports_only_is_numbered_and_footed() -> None:
    sources = [source("Reports", 0, "Forecasting"), source("Reports", 3, "Customers")]
    text = "Two themes [Data: Reports (0, 3)]. Forecasts [Data: Reports (0)]."
    [message] = render.answer_messages(reply(text, sources=sources, mode="extractive", search="global"))
    validate(message.blocks)
    answer, container, _graph, _feedback, footer = message.blocks
    assert answer["text"]["text"] == "Two themes [1, 2]. Forecasts [1]."
    listed = "\n".join(c["text"]["text"] for c in container["child_blocks"])
    assert "*Reports:* [1] Forecasting · [2] Customers" in listed
    assert container["title"]["text"] == "Sources (2)"
    assert footer["elements"][0]["text"].startswith("Global search · Extractive answer (no language model)")


def test_feedback_buttons_carry_the_vote_and_the_answer() -> None:
    block = render.feedback_block("k3y-AbC_1")
    validate([block])
    [buttons] = block["elements"]
    assert (block["type"], buttons["type"], buttons["action_id"]) == (
        "context_actions",
        "feedback_buttons",
        render.FEEDBACK,
    )
    up, down = buttons["positive_button"]["value"], buttons["negative_button"]["value"]
    assert render.parse_feedback_value(up) == ("up", "k3y-AbC_1")
    assert render.parse_feedback_value(down) == ("down", "k3y-AbC_1")
    assert render.parse_feedback_value("sideways:k") == ("", "") and render.parse_feedback_value("up:") == (
        "",
        "",
    )


def test_streamed_text_hides_markers_even_half_written_and_pings_nobody() -> None:
    raw = "The engine <@U1> publishes [Data: Sources (1)]. Then @channel [Data: Ent"
    assert render.streamed_markdown(raw) == neutralise_mentions("The engine <@U1> publishes. Then @channel")
    assert (
        render.streamed_markdown("Done [") == "Done"
        and render.streamed_markdown("a [link](x)") == "a [link](x)"
    )
    # Token by token, each text shown starts with the one before (a stream can only grow).
    tokens = [
        "It",
        " runs",
        " [",
        "Data",
        ": Sources",
        " (1)]",
        ".",
        " Then",
        " [link",
        "](x)",
        "\n\n",
        "End.",
    ]
    shown = [render.streamed_markdown("".join(tokens[: i + 1])) for i in range(len(tokens))]
    assert all(later.startswith(earlier) for earlier, later in zip(shown, shown[1:], strict=False))
    assert shown[-1] == "It runs. Then [link](x)\n\nEnd."
    message = render.live_message("## Title\n\n" + "word " * 2000)
    validate(message.blocks)
    assert message.blocks[-1]["elements"][0]["text"] == render.WRITING_MORE


def test_reason_prompt_and_suggested_prompts_are_valid() -> None:
    prompt = render.reason_prompt("k1", {"wrong": "Wrong or made up", "outdated": "Out of date"})
    validate(prompt.blocks)
    buttons = prompt.blocks[1]["elements"]
    assert [render.parse_reason_value(b["value"]) for b in buttons] == [("wrong", "k1"), ("outdated", "k1")]
    assert len({b["action_id"] for b in buttons}) == 2  # unique within the block, as Slack requires
    long = "What do the documents say about " + "a very long community title " * 5 + "?"
    [short, cut] = render.suggested_prompts(["What is the Beacon API?", long])
    assert short == {"title": "What is the Beacon API?", "message": "What is the Beacon API?"}
    assert len(cut["title"]) == render.PROMPT_TITLE_CHARS and cut["message"] == long
