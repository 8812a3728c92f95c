"""Bot overhead under load: N concurrent signed Slack `app_mention` events through the real Slack app, answered
extractively, against the local fake Slack Web API. Loopback only.

    .venv/bin/python bench/slack_load.py                      # N = 10, 50, 100
    .venv/bin/python bench/slack_load.py --n 10 --no-record
    .venv/bin/python bench/slack_load.py --n 100 --fallback   # a Slack without streaming: post, then edit
    .venv/bin/python bench/slack_load.py --n 100 --model      # a streaming stand-in model writes the answers

The bot is the real CLI, `kgbot slack --http` (Bolt's AsyncApp over aiohttp, bot/slack/app.py), in its own
process, with SLACK_API_URL pointing at tests/slack_fake.py's FakeSlack served by this process, in-process
memory (no Redis), no chat model (extractive answers; with --model, tests/fake_openai.py's OpenAI-compatible
stand-in streams a 60-word answer, one word every 20 ms), over kgbot's offline index of A Christmas Carol
(../shared/eval). For each N a fresh bot process is started, answers 3 warm-up questions one at a time, then
receives N events at once, each from a different user (so per-user rate limits do not apply), each signed like
Slack signs them (v0 HMAC-SHA256). Questions are bench/synthetic.py's make_questions over that index.

- acknowledgement latency: from sending the event to the bot's HTTP response (Slack wants it within 3 s);
- time to first text: from sending the event to the fake Slack receiving the first text of the answer in the
  event's thread (chat.startStream, or chat.postMessage where streaming is refused);
- time to final: from sending the event to the fake Slack receiving the finished answer (the message with its
  footer: the final chat.update of a streamed or edited answer);
- peak memory: the bot process's VmHWM (peak RSS) after the burst, and its RSS when idle before it.
Every wait is bounded (--timeout); events not answered in time are counted as such.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.common import EVAL, load_average, machine, percentile, record  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.slack_fake import BOT_TOKEN, SIGNING_SECRET, FakeSlack, event_body, mention, sign  # noqa: E402

# What the stand-in model streams with --model: 60 words, one chunk each, 20 ms apart (1.2 s of writing).
MODEL_ANSWER = (
    "Scrooge keeps the counting-house with Bob Cratchit [Data: Sources (1)]. " + "He works late. " * 17
)
MODEL_CHUNK_DELAY = 0.02

KGBOT = ROOT / ".venv" / "bin" / "kgbot"
CHANNEL = "C0BENCH"
HEADING = "Slack bot overhead under concurrent events (`bench/slack_load.py`)"
INTRO = """
N signed `app_mention` events sent at once to the real `kgbot slack --http` process (Bolt's AsyncApp over aiohttp,
bot/slack/app.py), whose Web API calls go to tests/slack_fake.py's fake Slack on loopback. In-process memory (no
Redis), no chat model (extractive answers), kgbot's offline index of A Christmas Carol, default budget (12k) and
top_k; questions from bench/synthetic.py's make_questions over that index, each event from a different user (so
per-user rate limits do not apply). A fresh bot process per N answers 3 warm-up questions, then takes the burst.
**Acknowledgement** = sending the event to the bot's HTTP response (Slack requires < 3 s); **first text** = sending
the event to the fake Slack receiving the answer's first text in the event's thread (chat.startStream, or
chat.postMessage with `--fallback`, a Slack that refuses streaming); **final** = to the finished answer (the message
with its footer); before streaming (issue 23) both were the one chat.postMessage of the answer; memory = the bot process's
RSS when idle before the burst and its peak (VmHWM) after. The load generator and the fake Slack run in the
benchmark's process on the same 2 cores. Every wait is bounded (answers: 120 s).

    .venv/bin/python bench/slack_load.py
""".strip()


class TimedSlack(FakeSlack):
    """FakeSlack that notes when each thread's answer first shows text, and when it is final (has its footer)."""

    def __init__(self) -> None:
        super().__init__()
        self.first_text: dict[str, float] = {}
        self.final: dict[str, float] = {}
        self.thread_done: dict[str, asyncio.Event] = {}

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        response = super()._answer(method, args)
        if not response.get("ok"):
            return response
        now = time.perf_counter()
        channel = str(args.get("channel") or "")
        message = self.messages.get((channel, str(args.get("ts") or response.get("ts") or ""))) or {}
        thread = str(args.get("thread_ts") or message.get("thread_ts") or "")
        if not thread:
            return response
        if method in ("chat.startStream", "chat.postMessage"):
            self.first_text.setdefault(thread, now)
        if method in ("chat.postMessage", "chat.update") and "kgbot_footer" in json.dumps(
            args.get("blocks") or []
        ):
            self.final.setdefault(thread, now)
            self.expect(thread).set()
        return response

    def expect(self, thread: str) -> asyncio.Event:
        return self.thread_done.setdefault(thread, asyncio.Event())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def build_index(home: Path) -> None:
    docs = home.parent / "docs"
    docs.mkdir()
    text = (EVAL / "christmas_carol" / "christmas_carol.txt").read_text(encoding="utf-8")
    (docs / "christmas_carol.txt").write_text(text, encoding="utf-8")
    env = _bot_env(home, 0)
    subprocess.run([str(KGBOT), "index", str(docs), "--quiet"], env=env, check=True, capture_output=True)


def _bot_env(home: Path, api_port: int, model_url: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "KG_", "SLACK_", "REDIS_"))}
    env.update(
        KG_HOME=str(home),
        KG_EXTRACTOR="nlp",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"http://127.0.0.1:{api_port}/api/",
        PYTHONHASHSEED="0",
    )
    if model_url:
        env.update(OPENAI_BASE_URL=model_url, KG_CHAT_MODEL="stand-in", KG_SEARCH="local")
    return env


def questions(home: Path, count: int) -> list[str]:
    """Questions over the index's own entities (names, descriptions, no-match), without history."""
    import asyncio as aio

    from bench.corpora import make_questions
    from bench.synthetic import question_material
    from kg.store.sqlite.store import SqliteStore

    async def export() -> Any:
        store = SqliteStore(home / "kg.db")
        try:
            return await store.export("default")
        finally:
            await store.close()

    index = aio.run(export())
    material = question_material(index, 0)
    return [q.text for q in make_questions(material, count * 3, 0) if not q.history][:count]


async def burst(
    n: int, home: Path, texts: list[str], answer_timeout: float, fallback: bool = False, model: bool = False
) -> dict:
    fake = TimedSlack()
    if fallback:
        fake.streaming_error = "unknown_method"  # an older workspace: the bot posts, then edits
    await fake.start()
    stand_in = None
    if model:
        stand_in = await FakeOpenAI(
            lambda body: {"content": MODEL_ANSWER, "chunk_delay": MODEL_CHUNK_DELAY}
        ).start()
    port = _free_port()
    log_path = home.parent / f"bot-{n}.log"
    with log_path.open("wb") as log:  # a file, not a pipe: the bot's logs never block it
        bot = await asyncio.create_subprocess_exec(
            str(KGBOT),
            *("slack", "--http", "--host", "127.0.0.1", "--port", str(port)),
            env=_bot_env(home, fake.port, stand_in.url if stand_in else ""),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/slack/events"
    counter = iter(range(1, 1_000_000))
    try:
        deadline = time.monotonic() + 60
        while True:  # bounded wait for the bot to listen
            if bot.returncode is not None:
                raise RuntimeError(f"the bot exited: {log_path.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the bot did not start listening within 60 s") from None
                await asyncio.sleep(0.1)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def send(text: str, user: str) -> tuple[float, float | None, float | None, int]:
                i = next(counter)
                ts = f"{1_700_100_000 + i}.{i:06d}"
                posted = fake.expect(ts)
                body = json.dumps(event_body(mention(text, ts=ts, channel=CHANNEL, user=user), f"EvB{i:07d}"))
                headers = {"Content-Type": "application/json", **sign(body)}
                started = time.perf_counter()
                async with session.post(url, data=body.encode(), headers=headers) as resp:
                    await resp.read()
                    status = resp.status
                acked = time.perf_counter() - started
                try:
                    await asyncio.wait_for(posted.wait(), answer_timeout)
                except TimeoutError:
                    return acked, None, None, status
                return acked, fake.first_text[ts] - started, fake.final[ts] - started, status

            for k in range(3):  # warm-up, one at a time
                await send(texts[k % len(texts)], f"UWARM{k}")
            idle_rss = _proc_kib(bot.pid, "VmRSS") / 1024.0
            load_before = load_average()
            started = time.perf_counter()
            results = await asyncio.gather(*(send(texts[i % len(texts)], f"UB{i:05d}") for i in range(n)))
            wall = time.perf_counter() - started
            await asyncio.sleep(0.5)  # let the working indicators clear
            peak_rss = _proc_kib(bot.pid, "VmHWM") / 1024.0
    finally:
        if bot.returncode is None:
            bot.terminate()
            try:
                await asyncio.wait_for(bot.wait(), 30)
            except TimeoutError:
                bot.kill()
                await bot.wait()
        await fake.close()
        if stand_in is not None:
            await stand_in.stop()
    acks = [a * 1000 for a, _, _, _ in results]
    firsts = [t * 1000 for _, t, _, _ in results if t is not None]
    answers = [t * 1000 for _, _, t, _ in results if t is not None]
    return {
        "n": n,
        "ack_p50": percentile(acks, 50),
        "ack_p99": percentile(acks, 99),
        "ack_max": max(acks),
        "first_p50": percentile(firsts, 50) if firsts else float("nan"),
        "first_p95": percentile(firsts, 95) if firsts else float("nan"),
        "answer_p50": percentile(answers, 50) if answers else float("nan"),
        "answer_p95": percentile(answers, 95) if answers else float("nan"),
        "answer_max": max(answers) if answers else float("nan"),
        "answered": len(answers),
        "not_200": sum(1 for _, _, _, s in results if s != 200),
        "wall_s": wall,
        "idle_rss": idle_rss,
        "peak_rss": peak_rss,
        "load": (load_before, load_average()),
    }


def render(rows: list[dict]) -> str:
    lines = [
        "| concurrent events N | ack p50 / p99 ms | first text p50 / p95 ms | final p50 / p95 ms "
        "| answered in time | burst wall s | answers / s | bot RSS idle / peak |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']} | {r['ack_p50']:.1f} / {r['ack_p99']:.1f} | {r['first_p50']:,.0f} / {r['first_p95']:,.0f} "
            f"| {r['answer_p50']:,.0f} / {r['answer_p95']:,.0f} "
            f"| {r['answered']} / {r['n']} | {r['wall_s']:.1f} | {r['answered'] / r['wall_s']:.1f} "
            f"| {r['idle_rss']:,.0f} / {r['peak_rss']:,.0f} MiB |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 50, 100], help="concurrent events")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each answer")
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    parser.add_argument(
        "--model", action="store_true", help="a streaming stand-in model writes the answers (not extractive)"
    )
    parser.add_argument(
        "--fallback",
        action="store_true",
        help="a Slack that refuses streaming: answers are posted, then edited",
    )
    args = parser.parse_args(argv)
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="kgbench-slack-") as tmp:
        home = Path(tmp) / "home"
        print("indexing A Christmas Carol (offline)", flush=True)
        build_index(home)
        texts = questions(home, 200)
        rows = []
        for n in args.n:
            row = asyncio.run(burst(n, home, texts, args.timeout, args.fallback, args.model))
            print(
                f"  N={n}: ack p50 {row['ack_p50']:.1f} ms p99 {row['ack_p99']:.1f} ms, first text p50 "
                f"{row['first_p50']:.0f} ms p95 {row['first_p95']:.0f} ms, final p50 "
                f"{row['answer_p50']:.0f} ms p95 {row['answer_p95']:.0f} ms, peak RSS {row['peak_rss']:.0f} MiB",
                flush=True,
            )
            rows.append(row)
    table = render(rows)
    print()
    print(table)
    if not args.no_record:
        command = "python bench/slack_load.py " + " ".join(argv if argv is not None else sys.argv[1:])
        loads = ", ".join(f"{r['load'][0]:.1f}" for r in rows)
        body = (
            table + "\n\nThe answers of a burst are computed on the bot's one event loop (store reads on one "
            "reader thread), so answer latency grows with N while acknowledgements stay immediate. 1-minute "
            f"load average before each burst: {loads}."
        )
        title = (
            "N = "
            + ", ".join(map(str, args.n))
            + (", streaming refused (post, then edit)" if args.fallback else "")
            + (", a streaming stand-in model" if args.model else "")
        )
        record(HEADING, INTRO, title, body, command.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
