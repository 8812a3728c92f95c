"""Drawing a scene as SVG, by hand: every piece of document text is XML-escaped, so a label is always text
in the picture and never markup, script or a link."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from kg.search.picture import style
from kg.search.picture.evidence import NEIGHBOUR
from kg.search.picture.labels import clean_label
from kg.search.picture.scene import EDGE_SIZE, HEIGHT, KIND_SIZE, MARGIN, NAME_SIZE, TEXT_SIZE, WIDTH, Scene


def _text(x: float, y: float, text: str, size: int, fill: str, anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}" '
        f'dominant-baseline="middle">{escape(text)}</text>'
    )


def draw_svg(scene: Scene) -> str:
    """The scene as an SVG document."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif">',
        f'<rect width="100%" height="100%" fill="{style.BACKGROUND}"/>',
    ]
    if scene.title:
        parts.append(f"<title>{escape(scene.title)}</title>")
        parts.append(_text(MARGIN, 34, scene.title, TEXT_SIZE + 6, style.INK, "start"))
    where = {b.node.key: b for b in scene.boxes}
    for edge in scene.edges:
        a, b = where[edge.source], where[edge.target]
        faded = NEIGHBOUR in (a.node.role, b.node.role)
        colour = style.CITED_EDGE if edge.cited else style.FADED_EDGE if faded else style.EDGE
        parts.append(
            f'<line x1="{a.x:.1f}" y1="{a.y:.1f}" x2="{b.x:.1f}" y2="{b.y:.1f}" stroke="{colour}" '
            f'stroke-width="{4 if edge.cited else 2}"/>'
        )
        if (edge.source, edge.target) in scene.labelled:
            x, y = (a.x + b.x) / 2, (a.y + b.y) / 2
            parts.append(_text(x, y, edge.label, EDGE_SIZE, style.LABEL_INK))
    for box in scene.boxes:
        role = box.node.role
        colour, width = style.outline(role)
        left, top = box.x - box.width / 2, box.y - box.height / 2
        parts.append(
            f'<g><title>{escape(box.node.name)}</title><rect x="{left:.1f}" y="{top:.1f}" '
            f'width="{box.width:.1f}" height="{box.height:.1f}" rx="10" '
            f"fill={quoteattr(style.fill(role, box.node.kind, scene.kinds))} stroke={quoteattr(colour)} "
            f'stroke-width="{width}"/>'
        )
        y = top + 8 + NAME_SIZE * 0.6
        for line in box.lines:
            parts.append(_text(box.x, y, line, NAME_SIZE, style.ink(role)))
            y += NAME_SIZE * 1.2
        parts.append(_text(box.x, y - NAME_SIZE * 0.1, box.node.kind, KIND_SIZE, style.FADED_INK))
        parts.append("</g>")
    y = HEIGHT - 66
    if scene.documents:
        legend = "Sources: " + " · ".join(clean_label(d, 60) for d in scene.documents)
        parts.append(_text(MARGIN, y, clean_label(legend, 130), TEXT_SIZE, style.INK, "start"))
    if scene.note:
        parts.append(_text(MARGIN, y + 48, scene.note, TEXT_SIZE, style.INK, "start"))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
