"""The picture before it is drawn: which nodes fit, where each goes, which edges carry a label.

Readable at a chat preview (Slack and Discord show an image about 360–550 px wide) means few, large labels:
above LIMIT nodes only the most central are drawn (cited evidence before the neighbours that linked it, then
the most connected within the evidence) and the picture says how many were left out. The layout is a
force-directed one (Fruchterman–Reingold with a pull to the centre, so separate pieces stay in view) computed
with numpy from a fixed seed: the same evidence always gives the same picture. Then overlapping boxes are
pushed apart. Selecting first keeps the cost flat: 10,000 candidate nodes cost a sort, not a layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kg.search.picture.evidence import CITED, COMMUNITY, MEMBER, Edge, Evidence, Node
from kg.search.picture.labels import clean_label

LIMIT = 24  # nodes drawn at most
EDGE_LABELS = 8  # edges that carry their description: cited ones first, where there is room
SEED = 7
ITERATIONS = 150
GRAVITY = 1.5  # pull to the centre: a node linked to nothing stays near the others

# The canvas, in pixels: png.py and svg.py draw the same scene.
WIDTH, HEIGHT = 1400, 900
TOP, BOTTOM = 70, 90  # heading above, legend below
MARGIN = 20
NAME_SIZE, KIND_SIZE, EDGE_SIZE, TEXT_SIZE = 24, 17, 16, 18
LINE_CHARS = 16  # a name wraps onto two lines of about this many characters
_CHAR_WIDTH = 0.56  # average advance of a character of the drawing font, in ems
_PAD_X, _PAD_Y = 14, 8
_ROLE_RANK = {COMMUNITY: 0, CITED: 0, MEMBER: 1}  # neighbours: 2


@dataclass(frozen=True)
class Box:
    node: Node
    lines: tuple[str, ...]  # the name, on one or two lines
    x: float  # centre, in pixels
    y: float
    width: float
    height: float


@dataclass
class Scene:
    boxes: list[Box] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)  # between drawn nodes only
    labelled: set[tuple[str, str]] = field(default_factory=set)  # (source, target) of edges whose label shows
    documents: list[str] = field(default_factory=list)
    title: str = ""
    left_out: int = 0  # nodes of the evidence not drawn
    kinds: list[str] = field(default_factory=list)  # node kinds in drawing order, for colours

    @property
    def note(self) -> str:
        """The line saying what is not shown, "" when everything is."""
        if not self.left_out:
            return ""
        return f"{self.left_out} more node{'s' * (self.left_out != 1)} left out (the most central are shown)"


def wrap_name(name: str, width: int = LINE_CHARS) -> tuple[str, ...]:
    """A name on at most two lines, broken at a space near the middle when it is long."""
    if len(name) <= width + 4 or " " not in name:
        return (name,)
    spaces = [i for i, ch in enumerate(name) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - len(name) / 2))
    return (name[:cut], name[cut + 1 :])


def _size(node: Node, lines: tuple[str, ...]) -> tuple[float, float]:
    widest = max(
        max(len(line) for line in lines) * NAME_SIZE * _CHAR_WIDTH, len(node.kind) * KIND_SIZE * _CHAR_WIDTH
    )
    height = len(lines) * NAME_SIZE * 1.2 + KIND_SIZE * 1.2
    return widest + 2 * _PAD_X, height + 2 * _PAD_Y


def select(evidence: Evidence, limit: int = LIMIT) -> tuple[list[Node], int]:
    """The `limit` most central nodes: cited evidence first, then by links within the evidence, then by
    degree in the whole graph; and how many were left out."""
    links: dict[str, int] = {}
    for e in evidence.edges:
        links[e.source] = links.get(e.source, 0) + 1
        links[e.target] = links.get(e.target, 0) + 1
    ranked = sorted(
        evidence.nodes,
        key=lambda n: (_ROLE_RANK.get(n.role, 2), -links.get(n.key, 0), -n.degree, n.name),
    )
    return ranked[:limit], max(len(ranked) - limit, 0)


def force_layout(n: int, edges: list[tuple[int, int]], seed: int = SEED) -> np.ndarray:
    """Positions in [0, 1]² for `n` nodes joined by `edges` (index pairs), deterministic for a seed."""
    if n == 0:
        return np.zeros((0, 2))
    if n == 1:
        return np.array([[0.5, 0.5]])
    rng = np.random.default_rng(seed)
    pos = rng.random((n, 2))
    adjacency = np.zeros((n, n))
    for a, b in edges:
        adjacency[a, b] = adjacency[b, a] = 1.0
    k = math.sqrt(1.0 / n)
    step = 0.1
    for _ in range(ITERATIONS):
        delta = pos[:, None, :] - pos[None, :, :]
        distance = np.maximum(np.linalg.norm(delta, axis=-1), 1e-3)
        np.fill_diagonal(distance, 1.0)
        force = k * k / distance**2 - adjacency * distance / k  # repulsion minus attraction, per pair
        np.fill_diagonal(force, 0.0)
        move = (delta * force[:, :, None]).sum(axis=1) - GRAVITY * (pos - pos.mean(axis=0))
        length = np.maximum(np.linalg.norm(move, axis=1), 1e-9)
        pos += move / length[:, None] * np.minimum(length, step)[:, None]
        step = max(step * 0.97, 0.002)
    low, high = pos.min(axis=0), pos.max(axis=0)
    return (pos - low) / np.where(high - low > 1e-9, high - low, 1.0)


def _separate(centres: np.ndarray, sizes: np.ndarray, rounds: int = 60) -> np.ndarray:
    """Push apart boxes that overlap, each pair along its axis of least overlap, keeping them on the canvas."""
    half = sizes / 2
    low = np.array([MARGIN, TOP]) + half
    high = np.array([WIDTH - MARGIN, HEIGHT - BOTTOM]) - half
    pos = np.clip(centres, low, np.maximum(low, high))
    for _ in range(rounds):
        delta = pos[:, None, :] - pos[None, :, :]
        overlap = (half[:, None, :] + half[None, :, :] + 6) - np.abs(delta)
        hit = (overlap > 0).all(axis=-1)
        np.fill_diagonal(hit, False)
        if not hit.any():
            break
        axis = np.argmin(overlap / np.array([1.0, 0.6]), axis=-1)  # prefer moving vertically: boxes are wide
        push = np.zeros_like(delta)
        for dim in (0, 1):
            chosen = hit & (axis == dim)
            direction = np.where(delta[..., dim] >= 0, 1.0, -1.0)
            push[..., dim] = np.where(chosen, direction * overlap[..., dim] / 2, 0.0)
        pos = np.clip(pos + push.sum(axis=1) * 0.5, low, np.maximum(low, high))
    return pos


def _labelled(edges: list[Edge], boxes: list[Box]) -> set[tuple[str, str]]:
    """The edges whose description is drawn: cited first, then the heaviest, each only where its middle
    is clear of every box and of the labels already placed, and the edge long enough to carry it."""
    where = {b.node.key: b for b in boxes}
    taken: list[tuple[float, float, float, float]] = [
        (b.x - b.width / 2, b.y - b.height / 2, b.x + b.width / 2, b.y + b.height / 2) for b in boxes
    ]
    chosen: set[tuple[str, str]] = set()
    for e in sorted(edges, key=lambda e: (not e.cited, -e.weight, e.source, e.target)):
        if len(chosen) >= EDGE_LABELS:
            break
        a, b = where[e.source], where[e.target]
        if not e.label or math.dist((a.x, a.y), (b.x, b.y)) < 180:
            continue
        x, y = (a.x + b.x) / 2, (a.y + b.y) / 2
        half = len(e.label) * EDGE_SIZE * _CHAR_WIDTH / 2 + 6
        rect = (x - half, y - EDGE_SIZE, x + half, y + EDGE_SIZE)
        if any(r[0] < rect[2] and rect[0] < r[2] and r[1] < rect[3] and rect[1] < r[3] for r in taken):
            continue
        taken.append(rect)
        chosen.add((e.source, e.target))
    return chosen


def compose(evidence: Evidence, limit: int = LIMIT) -> Scene:
    """The scene for `evidence`: at most `limit` nodes, laid out on the canvas."""
    nodes, left_out = select(evidence, limit)
    index = {n.key: i for i, n in enumerate(nodes)}
    edges = [e for e in evidence.edges if e.source in index and e.target in index]
    unit = force_layout(len(nodes), [(index[e.source], index[e.target]) for e in edges])
    lines = [wrap_name(n.name) for n in nodes]
    sizes = np.array([_size(n, ls) for n, ls in zip(nodes, lines, strict=True)]).reshape(-1, 2)
    area = np.array([WIDTH - 2 * MARGIN, HEIGHT - TOP - BOTTOM]) - sizes.max(axis=0, initial=0)
    centres = np.array([MARGIN, TOP]) + sizes.max(axis=0, initial=0) / 2 + unit * np.maximum(area, 1)
    placed = _separate(centres, sizes) if len(nodes) else centres
    boxes = [
        Box(n, lines[i], float(placed[i, 0]), float(placed[i, 1]), float(sizes[i, 0]), float(sizes[i, 1]))
        for i, n in enumerate(nodes)
    ]
    labelled = _labelled(edges, boxes)
    return Scene(
        boxes=boxes,
        edges=edges,
        labelled=labelled,
        documents=evidence.documents,
        title=clean_label(evidence.title, 90),
        left_out=left_out,
        kinds=list(dict.fromkeys(n.kind for n in nodes)),
    )
