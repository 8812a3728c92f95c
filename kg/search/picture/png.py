"""Drawing a scene as PNG with Pillow, offline: the font is the scalable one inside Pillow's wheel
(`ImageFont.load_default(size)`), so nothing is read from the system or downloaded."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from kg.search.picture import style
from kg.search.picture.evidence import NEIGHBOUR
from kg.search.picture.labels import clean_label
from kg.search.picture.scene import (
    EDGE_SIZE,
    HEIGHT,
    KIND_SIZE,
    MARGIN,
    NAME_SIZE,
    TEXT_SIZE,
    WIDTH,
    Box,
    Scene,
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=8)
def font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: float) -> str:
    """`text` cut (with an ellipsis) to fit `width` pixels at `size`."""
    if draw.textlength(text, font=font(size)) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with its ellipsis
        mid = (low + high + 1) // 2
        if draw.textlength(text[:mid] + "…", font=font(size)) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + "…"


def _centre_text(draw: ImageDraw.ImageDraw, x: float, y: float, text: str, size: int, fill: str) -> None:
    draw.text((x, y), text, font=font(size), fill=fill, anchor="mm")


def _box(draw: ImageDraw.ImageDraw, box: Box, kinds: list[str]) -> None:
    role = box.node.role
    colour, width = style.outline(role)
    left, top = box.x - box.width / 2, box.y - box.height / 2
    draw.rounded_rectangle(
        (left, top, left + box.width, top + box.height),
        radius=10,
        fill=style.fill(role, box.node.kind, kinds),
        outline=colour,
        width=width,
    )
    line_height = NAME_SIZE * 1.2
    y = top + 8 + line_height / 2
    for line in box.lines:
        _centre_text(draw, box.x, y, _fit(draw, line, NAME_SIZE, box.width - 12), NAME_SIZE, style.ink(role))
        y += line_height
    kind = _fit(draw, box.node.kind, KIND_SIZE, box.width - 12)
    _centre_text(draw, box.x, y - line_height / 2 + KIND_SIZE * 0.6 + 4, kind, KIND_SIZE, style.FADED_INK)


def draw_png(scene: Scene) -> bytes:
    """The scene as PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), style.BACKGROUND)
    draw = ImageDraw.Draw(image)
    if scene.title:
        title = _fit(draw, scene.title, TEXT_SIZE + 6, WIDTH - 2 * MARGIN)
        draw.text((MARGIN, 22), title, font=font(TEXT_SIZE + 6), fill=style.INK)
    where = {b.node.key: b for b in scene.boxes}
    for edge in scene.edges:
        a, b = where[edge.source], where[edge.target]
        faded = NEIGHBOUR in (a.node.role, b.node.role)
        colour = style.CITED_EDGE if edge.cited else style.FADED_EDGE if faded else style.EDGE
        draw.line((a.x, a.y, b.x, b.y), fill=colour, width=4 if edge.cited else 2)
    for edge in scene.edges:
        if (edge.source, edge.target) not in scene.labelled:
            continue
        a, b = where[edge.source], where[edge.target]
        x, y = (a.x + b.x) / 2, (a.y + b.y) / 2
        left, top, right, bottom = draw.textbbox((x, y), edge.label, font=font(EDGE_SIZE), anchor="mm")
        draw.rectangle((left - 4, top - 3, right + 4, bottom + 3), fill=style.BACKGROUND)
        _centre_text(draw, x, y, edge.label, EDGE_SIZE, style.LABEL_INK)
    for box in scene.boxes:
        _box(draw, box, scene.kinds)
    y = HEIGHT - 78
    if scene.documents:
        legend = "Sources: " + " · ".join(clean_label(d, 60) for d in scene.documents)
        draw.text(
            (MARGIN, y),
            _fit(draw, legend, TEXT_SIZE, WIDTH - 2 * MARGIN),
            font=font(TEXT_SIZE),
            fill=style.INK,
        )
    key = "Bold border: cited · pale grey: neighbours linking them · amber: a cited community"
    draw.text((MARGIN, y + 26), key, font=font(TEXT_SIZE - 2), fill=style.FADED_INK)
    if scene.note:
        draw.text((MARGIN, y + 50), scene.note, font=font(TEXT_SIZE), fill=style.INK)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)  # the default level 6: slower, for ~15% fewer bytes
    return out.getvalue()
