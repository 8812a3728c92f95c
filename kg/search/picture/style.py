"""Colours shared by the PNG and SVG renderers, so both show a scene alike."""

from __future__ import annotations

from kg.search.picture.evidence import CITED, COMMUNITY, NEIGHBOUR

INK = "#1d2433"
FADED_INK = "#8a919e"
BACKGROUND = "#ffffff"
EDGE = "#9aa3b2"
CITED_EDGE = "#1d3557"
FADED_EDGE = "#d5d9e0"
LABEL_INK = "#4a5263"
COMMUNITY_FILL = "#ffe8b0"
NEIGHBOUR_FILL = "#f3f4f6"
# Fills by node kind, in the order kinds first appear in a scene: pale, so dark text stays readable.
PALETTE = ("#d8e8ff", "#dff3e3", "#fde2e4", "#efe3ff", "#e2f4f7", "#fff1d6", "#e9ecef", "#f8e1f4")


def fill(role: str, kind: str, kinds: list[str]) -> str:
    if role == COMMUNITY:
        return COMMUNITY_FILL
    if role == NEIGHBOUR:
        return NEIGHBOUR_FILL
    return PALETTE[kinds.index(kind) % len(PALETTE)] if kind in kinds else PALETTE[0]


def outline(role: str) -> tuple[str, int]:
    """Colour and width of a node's border: cited evidence stands out, neighbours recede."""
    if role in (CITED, COMMUNITY):
        return CITED_EDGE, 3
    if role == NEIGHBOUR:
        return FADED_EDGE, 2
    return EDGE, 2


def ink(role: str) -> str:
    return FADED_INK if role == NEIGHBOUR else INK
