"""Time to draw the picture of an answer's evidence (kg/search/picture/) for 10, 30 and 80 candidate nodes:
choosing the most central, laying them out and drawing PNG (and SVG); and the first picture of a fresh
process, imports included. Requirement (issue 26): <= 300 ms for 80 nodes.

    .venv/bin/python bench/graph_picture.py             # 30 runs per size, recorded in BENCHMARKS.md
    .venv/bin/python bench/graph_picture.py --runs 5 --no-record
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import record  # noqa: E402
from kg.search.picture.draw import render  # noqa: E402
from kg.search.picture.evidence import CITED, NEIGHBOUR, Edge, Evidence, Node  # noqa: E402
from kg.search.picture.scene import compose  # noqa: E402

HEADING = "Evidence pictures: time to draw (`bench/graph_picture.py`)"
INTRO = """
Synthetic evidence of n candidate nodes (a third of them cited, two edges per node with sentence-long
descriptions), chosen down to 24, laid out (numpy force-directed, fixed seed) and drawn 1400x900 with Pillow
(PNG) or by hand (SVG). Store reads are not included. "Fresh process" is `python -c` importing the picture
package and drawing one 80-node PNG, interpreter start included. Requirement: <= 300 ms for 80 nodes.
"""
SIZES = (10, 30, 80)


def evidence(n: int) -> Evidence:
    nodes = [
        Node(f"n{i}", f"Entity number {i} of the graph", "concept", CITED if i % 3 == 0 else NEIGHBOUR, i)
        for i in range(n)
    ]
    edges = [
        Edge(f"n{i}", f"n{(i * k + 1) % n}", f"relationship {i} described in a sentence", i % 4 == 0)
        for i in range(n)
        for k in (3, 7)
    ]
    return Evidence(nodes, edges, ["Attention Is All You Need"], "Explain the concept of Attention")


def timed(n: int, fmt: str) -> float:
    started = time.perf_counter()
    render(compose(evidence(n)), fmt)
    return (time.perf_counter() - started) * 1000


FRESH = (
    "import time; t = time.perf_counter(); "
    "from bench.graph_picture import evidence; from kg.search.picture.draw import render; "
    "from kg.search.picture.scene import compose; render(compose(evidence(80)), 'png'); "
    "print((time.perf_counter() - t) * 1000)"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    timed(10, "png")  # warm: the font and PNG encoder load once per process
    body = "| nodes | PNG median ms | PNG p95 ms | SVG median ms |\n| ---: | ---: | ---: | ---: |\n"
    for n in SIZES:
        png = sorted(timed(n, "png") for _ in range(args.runs))
        svg = sorted(timed(n, "svg") for _ in range(args.runs))
        p95 = png[min(len(png) - 1, round(0.95 * (len(png) - 1)))]
        body += f"| {n} | {statistics.median(png):.0f} | {p95:.0f} | {statistics.median(svg):.0f} |\n"
    fresh = [
        float(
            subprocess.run(
                [sys.executable, "-c", FRESH], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(5)
    ]
    body += f"\nFresh process, first 80-node PNG (imports included), median of 5: {statistics.median(fresh):.0f} ms.\n"
    print(body)
    if not args.no_record:
        record(HEADING, INTRO, f"{args.runs} runs per size", body, ".venv/bin/python bench/graph_picture.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
