"""Runs `kgbot` commands in forked child processes, so a test can SIGKILL `kgbot index` at a chosen point.

Starting the CLI costs seconds of imports on a loaded machine; this process pays it once and forks a child per
command, each a separate process running `bot.cli.main` exactly as the `kgbot` script does. A command can
name a stop point: the child pauses when it reaches it and this process kills it there with SIGKILL, so the
kill lands exactly at that point, every run.

Stop points:
- "progress:STAGE:N": the N-th progress report of STAGE from the index pipeline (kg/index/pipeline.py);
- "call:MODULE:CLASS.METHOD:N" (or "call:MODULE:FUNCTION:N"): the N-th call of that function;
- "cypher:NAME:N": the N-th time the Neo4j store sends statement NAME of kg/store/neo4j/statements.py.

Protocol: one JSON command per line on stdin, one JSON reply per line on stdout.
- {"argv": [...], "stop": null | POINT}
  -> {"rc": int | null, "signal": int | null, "reached": bool, "stdout": str, "stderr": str}
- {"rebuild": ARGV, "readers": K, "ask": ARGV}: K readers ask over and over, each ask a new process, while a
  child runs ARGV; each reader asks twice more after the rebuild ended.
  -> {"rebuild": RESULT, "asks": [RESULT, ...]}
Run as `python -m tests.cli_runner OUTPUT_DIR` (where the children's output goes) with the working directory and
environment the commands should see.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import select
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bot.cli

REACH_TIMEOUT_S = 300.0
_OUTPUT_DIR = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="kgbot-cli-runner-"))
_sequence = 0


def _pause_at(point: str, notify: int) -> None:
    """Patch the child so that reaching `point` writes to `notify`, then waits to be killed."""

    def reached() -> None:
        os.write(notify, b"R")
        time.sleep(REACH_TIMEOUT_S)

    kind, _, rest = point.partition(":")
    if kind == "progress":
        stage, nth = rest.rsplit(":", 1)
        _pause_in_progress(stage, int(nth), reached)
    elif kind == "call":
        module_name, target, nth = rest.split(":")
        owner: Any = importlib.import_module(module_name)
        *path, attribute = target.split(".")
        for name in path:
            owner = getattr(owner, name)
        _count_calls(owner, attribute, int(nth), lambda *args: True, reached)
    elif kind == "cypher":
        from kg.store.neo4j import statements as cypher
        from kg.store.neo4j.store import Neo4jStore

        name, nth = rest.split(":")
        statement = getattr(cypher, name)
        _count_calls(Neo4jStore, "_query", int(nth), lambda *args: args[1] == statement, reached)
    else:
        raise ValueError(f"unknown stop point {point!r}")


def _pause_in_progress(stage: str, wanted: int, reached: Callable[[], None]) -> None:
    import kg.index.pipeline  # bot.cli imports build_index from it when `index` runs, so patch it there

    seen = 0
    build_index = kg.index.pipeline.build_index

    async def build_with_pause(*args: Any, **kwargs: Any) -> Any:
        report: Callable[..., None] = args[5] if len(args) > 5 else kwargs["progress"]

        def progress(name: str, done: int, total: int, *more: Any, **named: Any) -> None:
            nonlocal seen
            report(name, done, total, *more, **named)
            if name == stage:
                seen += 1
                if seen == wanted:
                    reached()

        if len(args) > 5:
            args = (*args[:5], progress, *args[6:])
        else:
            kwargs["progress"] = progress
        return await build_index(*args, **kwargs)

    kg.index.pipeline.build_index = build_with_pause  # type: ignore[assignment]


def _count_calls(
    owner: Any, attribute: str, wanted: int, counts: Callable[..., bool], reached: Callable[[], None]
) -> None:
    """Call `reached` on the `wanted`-th call of owner.attribute whose arguments `counts` accepts."""
    original = getattr(owner, attribute)
    calls = 0

    def count(args: tuple[Any, ...]) -> None:
        nonlocal calls
        if counts(*args):
            calls += 1
            if calls == wanted:
                reached()

    if inspect.iscoroutinefunction(original):

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            count(args)
            return await original(*args, **kwargs)

        setattr(owner, attribute, async_wrapper)
    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            count(args)
            return original(*args, **kwargs)

        setattr(owner, attribute, wrapper)


def _fork(argv: list[str], env: dict[str, str], point: str | None) -> tuple[int, int, Path]:
    """Start a child running `kgbot ARGV`; returns its pid, the read end of its signal pipe, its output prefix."""
    global _sequence
    _sequence += 1
    prefix = _OUTPUT_DIR / f"{os.getpid()}-{_sequence}"
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 70
        try:
            os.close(read_end)
            out = os.open(f"{prefix}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            err = os.open(f"{prefix}.err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.environ.update(env)
            tempfile.tempdir = None  # TMPDIR may have changed
            if point is not None:
                _pause_at(point, write_end)
            code = bot.cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    return pid, read_end, prefix


def _result(pid: int, prefix: Path, reached: bool) -> dict[str, Any]:
    _, status = os.waitpid(pid, 0)
    result = {
        "rc": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "reached": reached,
        "stdout": Path(f"{prefix}.out").read_text(errors="replace"),
        "stderr": Path(f"{prefix}.err").read_text(errors="replace"),
    }
    Path(f"{prefix}.out").unlink()
    Path(f"{prefix}.err").unlink()
    return result


def run(command: dict[str, Any]) -> dict[str, Any]:
    point = command.get("stop")
    pid, read_end, prefix = _fork(command["argv"], command.get("env", {}), point)
    reached = False
    if point is not None:
        ready, _, _ = select.select([read_end], [], [], REACH_TIMEOUT_S)
        reached = bool(ready) and os.read(read_end, 1) == b"R"
        if reached:
            os.kill(pid, signal.SIGKILL)
    os.close(read_end)
    return _result(pid, prefix, reached)


def _reader(ask: list[str], env: dict[str, str], done_flag: Path, results: Path) -> None:
    """Ask over and over, each ask a new process, until two asks after `done_flag` appears; write results."""
    found: list[dict[str, Any]] = []
    after = 0
    parent = os.getppid()
    while after < 2 and os.getppid() == parent:  # a runner that died stops its readers
        if done_flag.exists():
            after += 1
        pid, read_end, prefix = _fork(ask, env, None)
        os.close(read_end)
        found.append(_result(pid, prefix, False))
    results.write_text(json.dumps(found))


def rebuild_with_readers(command: dict[str, Any]) -> dict[str, Any]:
    env = command.get("env", {})
    done_flag = _OUTPUT_DIR / f"done-{time.monotonic_ns()}"
    readers: list[tuple[int, Path]] = []
    for i in range(command["readers"]):
        results = _OUTPUT_DIR / f"reader-{i}-{time.monotonic_ns()}.json"
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                _reader(command["ask"], env, done_flag, results)
            finally:
                os._exit(0)
        readers.append((pid, results))
    pid, read_end, prefix = _fork(command["rebuild"], env, None)
    os.close(read_end)
    rebuild = _result(pid, prefix, False)
    done_flag.touch()
    asks: list[dict[str, Any]] = []
    for reader_pid, results in readers:
        os.waitpid(reader_pid, 0)
        asks.extend(json.loads(results.read_text()))
        results.unlink()
    done_flag.unlink()
    return {"rebuild": rebuild, "asks": asks}


def main() -> None:
    for line in sys.stdin:
        command = json.loads(line)
        reply = rebuild_with_readers(command) if "rebuild" in command else run(command)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
