"""The picture of an answer, in one call: what it cites, read from the store, chosen, laid out and drawn.

Front-ends call `answer_ids` when an answer is given (to keep what it cites) and `draw_evidence` when someone
asks for the picture; `Picture` also names what was drawn, for `kgbot ask --json`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from kg.search.answer import Answer
from kg.search.picture.evidence import Evidence, EvidenceIds, cited_evidence
from kg.search.picture.gather import gather
from kg.search.picture.png import draw_png
from kg.search.picture.scene import LIMIT, Scene, compose
from kg.search.picture.svg import draw_svg
from kg.store.base import GraphStore

FORMATS = ("png", "svg")
NOTHING_TO_DRAW = "This answer cites nothing that can be drawn as a graph."


class PictureError(ValueError):
    """No picture can be made; the message is one line fit to show a user."""


@dataclass
class Picture:
    data: bytes
    format: str  # "png" | "svg"
    nodes: list[dict[str, Any]] = field(default_factory=list)  # what was drawn: name, type, role
    edges: list[dict[str, Any]] = field(default_factory=list)  # source, target, label, cited
    left_out: int = 0
    draw_ms: float = 0.0  # choosing, laying out and drawing; not the store reads

    @property
    def filename(self) -> str:
        return f"evidence.{self.format}"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "nodes": self.nodes,
            "edges": self.edges,
            "left_out": self.left_out,
            "draw_ms": self.draw_ms,
        }


def answer_ids(answer: Answer) -> EvidenceIds:
    """What `answer` cites, as the store names it."""
    context = answer.context
    return cited_evidence(
        [(c.dataset, c.id) for c in answer.citations],
        context.entities,
        context.relationships,
        [(r.community, r.title) for r in context.reports],
        [(u.id, u.short_id) for u in context.sources],
    )


def render(scene: Scene, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise PictureError(f"A picture is PNG or SVG, not {fmt!r}.")
    return draw_png(scene) if fmt == "png" else draw_svg(scene).encode("utf-8")


def _compose_and_render(evidence: Evidence, limit: int, fmt: str) -> tuple[Scene, bytes]:
    scene = compose(evidence, limit)
    return scene, render(scene, fmt)


async def draw_evidence(
    store: GraphStore, namespace: str, ids: EvidenceIds, title: str = "", fmt: str = "png", limit: int = LIMIT
) -> Picture:
    """The picture of what `ids` names in the namespace's build; PictureError when there is nothing to draw."""
    if fmt not in FORMATS:
        raise PictureError(f"A picture is PNG or SVG, not {fmt!r}.")
    evidence = await gather(store, namespace, ids, title)
    if not evidence.nodes:
        raise PictureError(NOTHING_TO_DRAW)
    started = time.perf_counter()
    # Layout and drawing take up to a few hundred ms of CPU: in a thread, so a bot keeps answering meanwhile.
    scene, data = await asyncio.to_thread(_compose_and_render, evidence, limit, fmt)
    return Picture(
        data=data,
        format=fmt,
        nodes=[{"name": b.node.name, "type": b.node.kind, "role": b.node.role} for b in scene.boxes],
        edges=[
            {"source": e.source, "target": e.target, "label": e.label, "cited": e.cited} for e in scene.edges
        ],
        left_out=scene.left_out,
        draw_ms=round((time.perf_counter() - started) * 1000, 1),
    )
