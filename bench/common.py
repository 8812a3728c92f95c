"""What the benchmark scripts share: the machine's description, percentiles, fresh processes, and appending
a dated section to BENCHMARKS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
RESULTS = ROOT / "bench" / "results"  # git-ignored: cached stores, exported tables, raw results
EVAL = ROOT.parent / "shared" / "eval"  # evaluation data (see its SOURCES.md); never copied into the repo


def machine() -> str:
    """Cores, CPU model, memory, Python and SQLite versions."""
    mem_kib = 0
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kib / 2**20:.1f} GiB RAM, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def revision() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+local changes" if dirty else "")


def ensure_venv(
    venv: Path, requirements: Sequence[str], purpose: str, cost: str, quiet: bool = False
) -> Path:
    """The interpreter of `venv`, a side environment a benchmark runs another stack in (never a kgbot
    dependency), created and `requirements` installed first when they are not what it holds."""
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    wanted = " ".join(requirements)
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    started = time.perf_counter()
    if not python.exists():
        say(f"creating {venv.relative_to(ROOT)} ({purpose})")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    say(f"installing {wanted} into it ({cost})")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        check=True,
    )
    stamp.write_text(wanted + "\n")
    say(f"{venv.relative_to(ROOT)} ready in {time.perf_counter() - started:.0f} s")
    return python


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, round(q / 100.0 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def in_child(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a fresh interpreter: each measurement has its own memory high-water mark."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def load_average() -> float:
    return os.getloadavg()[0]


def record(heading: str, intro: str, title: str, body: str, command: str) -> None:
    """Add a dated entry (`### <date> — title`, machine, revision, command, then `body`) at the end of the
    BENCHMARKS.md section `## heading`, which is created (with `intro`) at the end of the file if missing."""
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    marker = f"## {heading}\n"
    if marker not in text:
        text = text.rstrip("\n") + f"\n\n{marker}\n{intro.strip()}\n"
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    entry = (
        f"### {now} — {title}\n\n"
        f"Machine: {machine()}. Revision {revision()}. Command: `{command}`.\n\n"
        f"{body.strip()}\n"
    )
    start = text.index(marker)
    end = text.find("\n## ", start)
    end = len(text) if end == -1 else end + 1
    before, after = text[:end].rstrip("\n"), text[end:]
    BENCHMARKS.write_text(before + "\n\n" + entry + ("\n" + after if after else ""))
    print(f"\nrecorded in {BENCHMARKS.relative_to(ROOT)} (## {heading})")
