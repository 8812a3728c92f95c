"""Text hygiene for documents: what a file holds that no reader should see, removed once, when it is loaded.

- Control characters (a stray bell, a terminal colour sequence, a C1 control from a mis-decoded file, a bidi
  override that reverses what a terminal shows) go; tabs, line breaks and form feeds (PDF page breaks) stay.
- Chat mention markup copied into a document ("<!channel>", "<@U123|maria>", "<#C1|general>") is written as
  people read it ("@channel", "@maria", "#general"): an HTML parser would otherwise drop it as a tag, leaving
  "announced to  and  today", and a terminal would show the raw markup. The bots still neutralise what
  could notify (bot/core.py) before anything is posted.
"""

from __future__ import annotations

import re

_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MENTION = re.compile(r"<(?P<kind>[!@#])(?P<body>[^<>\s|]{1,80})(?:\|(?P<label>[^<>]{1,80}))?>")


def without_controls(text: str) -> str:
    """`text` without control characters and terminal escape sequences; tabs, line and page breaks kept."""
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = text.replace("\x0b", "\n")
    return _CONTROL.sub("", text)


def readable_mentions(text: str) -> str:
    """Chat mention markup as people read it: "<!channel>" is "@channel", "<@U1|maria>" is "@maria"."""

    def readable(m: re.Match[str]) -> str:
        label = (m["label"] or "").lstrip("@#")
        body = m["body"]
        if m["kind"] == "!":  # <!channel>, <!here>, <!subteam^S1|@team>
            return f"@{label or body.split('^')[0]}"
        return f"{'#' if m['kind'] == '#' else '@'}{label or body.lstrip('!&')}"

    return _MENTION.sub(readable, text)


def escape_mentions_for_html(markup: str) -> str:
    """HTML source with chat mention markup escaped, so that a parser keeps it as text, not as a tag."""
    return _MENTION.sub(lambda m: m.group().replace("<", "&lt;").replace(">", "&gt;"), markup)
