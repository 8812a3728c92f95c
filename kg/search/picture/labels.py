"""Label hygiene: every name, type and description drawn in a picture comes from a document, so it is made
plain, short, single-line text before it is drawn.

Control characters and bidirectional overrides would reorder or hide what follows them (a right-to-left
override turns "exe.txt" around); zero-width and other invisible format characters make two different names
look alike. Both go. A label is never markup: it is drawn as pixels in a PNG and XML-escaped in SVG, so a
"<@U1>" or "@channel" in a document is just those characters in the picture.
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"
NAME_CHARS = 28  # a node's name: one short line at preview size
TYPE_CHARS = 16
EDGE_CHARS = 30  # an edge's short description
# More than any label shows: longer input is cut before it is cleaned, so a megabyte label costs microseconds.
_READ_CHARS = 400


def clean_label(text: str, limit: int = NAME_CHARS) -> str:
    """`text` as one line of at most `limit` visible characters: controls and invisible format characters
    (bidi overrides U+202A–202E and isolates U+2066–2069 included) removed, whitespace collapsed, and an
    ellipsis where it was cut."""
    raw = (text or "")[:_READ_CHARS]
    kept = []
    for ch in raw:
        category = unicodedata.category(ch)
        if category == "Cf" or category in ("Cs", "Co", "Cn"):
            continue  # format (bidi, zero-width), surrogate, private-use and unassigned: never drawn
        kept.append(" " if category[0] in ("C", "Z") else ch)  # controls, line and paragraph separators
    flat = " ".join("".join(kept).split())
    if len(flat) <= limit:
        return flat
    cut = flat[: max(limit - 1, 1)]
    if " " in cut[limit // 2 :]:  # end on a word when one ends in the second half
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + ELLIPSIS


def short_description(text: str, limit: int = EDGE_CHARS) -> str:
    """An edge's label: the first clause of its description (descriptions are often whole sentences of the
    document), cleaned and cut to `limit`."""
    flat = clean_label(text, _READ_CHARS)
    for stop in (". ", "; ", ": "):
        head, found, _ = flat.partition(stop)
        if found and len(head) >= 8:
            flat = head
            break
    return clean_label(flat, limit)
