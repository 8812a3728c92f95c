"""The platform-neutral assistant every front-end calls: Slack, Discord and the terminal behave the same.

Adapters turn their events into a `Question` and render the `Reply`; everything else — namespaces, history
for follow-ups, dedupe, rate limits, admin rules, the reindex lock, what an answer may not say — lives here.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.feedback import REASONS, VOTES, Vote, feedback_record
from bot.logs import new_request_id
from bot.memory import Limits, Memory, open_memory
from kg.config import Settings
from kg.llm.models import configured_models
from kg.model import Embed, Feedback, Turn, Usage
from kg.search.answer import MAX_QUESTION_CHARS, Answer, QuestionError, SourceRef, ask, clean_question
from kg.search.picture.draw import Picture, PictureError, answer_ids, draw_evidence
from kg.search.picture.evidence import EvidenceIds
from kg.search.progress import Progress, Stage
from kg.store import store_from_settings
from kg.store.base import GraphStore, StoreError
from kg.store.deliveries import DeliveryLedger, delivery_ledger
from kg.text.clean import readable_mentions

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

# What the adapters need of the engine comes through here, so that kg/ stays out of their imports: the records
# a Reply carries and how a question is checked before it is posted anywhere.
__all__ = [
    "MAX_QUESTION_CHARS",
    "REASONS",
    "Assistant",
    "Event",
    "Picture",
    "PictureError",
    "Question",
    "QuestionError",
    "ReindexRequest",
    "Reply",
    "SourceRef",
    "Status",
    "TextDelta",
    "Usage",
    "Vote",
    "clean_question",
    "neutralise_mentions",
    "progress_line",
]

log = logging.getLogger(__name__)

UNAVAILABLE = "The knowledge base is unavailable right now; please try again in a few minutes."
SLOW_DOWN = "You're asking faster than I can keep up — please wait a minute and ask again."
RESTARTING = "kgbot is restarting; please ask again in a minute."
PICTURE_EXPIRED = "This answer has expired; ask the question again to see its graph."
NOT_ADMIN = "Only workspace admins (or users listed in KG_ADMINS) can rebuild the knowledge graph."

_STAGE_NAMES = {
    "load": "loading documents",
    "chunk": "chunking",
    "extract": "extracting entities",
    "merge": "merging the graph",
    "summarize": "summarising descriptions",
    "communities": "finding communities",
    "reports": "writing community reports",
    "embed": "embedding entities",
    "publish": "publishing",
}
# Rough share of a build each stage takes, for one progress bar over the whole build.
_STAGE_SPAN = {
    "load": (0.0, 0.05),
    "chunk": (0.05, 0.1),
    "extract": (0.1, 0.8),
    "merge": (0.8, 0.82),
    "summarize": (0.82, 0.86),  # summarize, reports and embed only with a model
    "communities": (0.86, 0.88),
    "reports": (0.88, 0.94),
    "embed": (0.94, 0.96),
    "publish": (0.96, 1.0),
}


@dataclass
class Question:
    platform: str  # "slack" | "discord" | "cli"
    workspace: str  # Slack team, Discord guild
    channel: str
    thread: str  # the conversation a follow-up belongs to
    user: str
    text: str
    is_admin: bool = False
    event_id: str = ""  # the platform's delivery id, for dedupe; empty: never a duplicate

    @property
    def thread_key(self) -> str:
        return f"{self.platform}:{self.workspace}:{self.channel}:{self.thread}"


@dataclass
class Reply:
    text: str
    kind: str = "answer"  # "answer" | "notice" (usage help, slow down, unavailable, refusal)
    sources: list[SourceRef] = field(default_factory=list)
    mode: str = ""
    search: str = ""  # "local" | "global" for an answer: which search found its context
    usage: Usage = field(default_factory=Usage)
    timings_ms: dict[str, float] = field(default_factory=dict)
    sources_key: str = ""  # where the sources stay retrievable ("Show sources" after a restart)

    @property
    def answer_id(self) -> str:
        """What feedback on this answer names it by: the key its sources and feedback context are kept under."""
        return self.sources_key


@dataclass(frozen=True)
class Status:
    """What the assistant is doing before any text exists ("Searching the graph…"); shown until text arrives."""

    text: str


@dataclass(frozen=True)
class TextDelta:
    """The next piece of the answer's text as written, `[Data: ...]` markers included and not yet checked.

    Raw model or document text: front-ends neutralise mentions in what they show, as they do for a Reply.
    """

    text: str


# What `Assistant.stream` yields: statuses, then text deltas, then exactly one Reply (the checked answer, whose
# text is what to show in the end: it may differ from the deltas where an invalid citation was dropped).
Event = Status | TextDelta | Reply

GENERIC_QUESTIONS = (
    "What are the main themes of the documents?",
    "Who are the key people and what do they do?",
    "What changed most recently?",
)


@dataclass
class ReindexRequest:
    platform: str
    workspace: str
    channel: str
    user: str
    is_admin: bool = False


ProgressFn = Callable[[str], Awaitable[None]]

_MENTION_PATTERNS = (
    (re.compile(r"<([!@#])"), "<\u200b\\1"),  # Slack <!channel> <@U1> <#C1>, Discord <@1> <@&1> <#1>
    # no word boundary: Discord notifies for "@everyone" inside a longer word too ("@everyone0")
    (re.compile(r"@(channel|here|everyone|all)", re.IGNORECASE), "@\u200b\\1"),
)


def neutralise_mentions(text: str) -> str:
    """Text that cannot notify anyone, whoever wrote it (a document or the model), and that still reads as
    written: mention markup becomes what people see ("<!channel>" is "@channel", "<@U1|maria>" is
    "@maria"), then broadcast words and any markup left are broken with a zero-width space."""
    text = readable_mentions(text)
    for pattern, replacement in _MENTION_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _observe(platform: str, answer: Answer) -> None:
    metrics.QUESTIONS.labels(platform, answer.mode).inc()
    for stage, ms in answer.timings_ms.items():
        metrics.LATENCY.labels(stage).observe(ms / 1000)
    metrics.MODEL_CALLS.inc(answer.usage.llm_calls)
    metrics.MODEL_TOKENS.labels("prompt").inc(answer.usage.prompt_tokens)
    metrics.MODEL_TOKENS.labels("completion").inc(answer.usage.completion_tokens)
    if answer.mode == "extractive" and answer.usage.llm_calls:
        metrics.ERRORS.labels("model_failed").inc()


def progress_line(namespace: str, stage: str, done: int, total: int, file: str = "") -> str:
    """One line for the /reindex message; `file` is the document being read, so a slow one is named."""
    start, end = _STAGE_SPAN.get(stage, (0.0, 1.0))
    fraction = start + (end - start) * (done / total if total else 1.0)
    filled = round(fraction * 20)
    bar = "█" * filled + "░" * (20 - filled)
    detail = f" ({done}/{total})" if stage == "extract" and total else ""
    if file and done < total:
        detail += f" · {neutralise_mentions(file)}"  # a file name is document text: it must not ping anyone
    return f"Reindexing '{namespace}' {bar} {fraction:.0%} — {_STAGE_NAMES.get(stage, stage)}{detail}"


class Assistant:
    def __init__(
        self,
        settings: Settings,
        store: GraphStore,
        memory: Memory,
        model: BaseChatModel | None = None,
        progress_interval: float = 1.5,
        embed: Embed | None = None,
        deliveries: DeliveryLedger | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.memory = memory
        self.deliveries = deliveries  # the store's record of delivered events (kg.store.deliveries)
        self.model = model
        self.embed = embed  # embeds questions for vector entity search (None: full text only)
        self.progress_interval = progress_interval
        self.accepting = True
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        limits = Limits(history_turns=settings.kg_history_turns, rate_per_minute=settings.kg_rate_per_minute)
        model, embed = configured_models(settings)
        store = store_from_settings(settings)
        return cls(
            settings,
            store,
            open_memory(settings.redis_url, limits),
            model,
            embed=embed,
            deliveries=delivery_ledger(store),
        )

    @property
    def model_name(self) -> str:
        """The chat model's name as feedback records it ("" without a model)."""
        if self.model is None:
            return ""
        return str(
            getattr(self.model, "model_name", "") or getattr(self.model, "model", "") or self.model._llm_type
        )

    def namespace_for(self, channel: str) -> str:
        return self.settings.channel_namespaces.get(channel, self.settings.kg_namespace)

    def is_admin(self, user: str, platform_admin: bool) -> bool:
        return platform_admin or user in self.settings.admins

    async def first_delivery(self, platform: str, key: str) -> bool:
        """True once per platform message: lets an adapter skip redeliveries before showing any "working" sign.

        Memory (Redis, or this process) turns away most redeliveries at no store cost; a delivery it has not
        seen is then claimed in the store's ledger, which every process shares and which outlives a Redis
        restart or outage, so a retry landing on another process then is still answered once. When the store
        cannot record the claim, the delivery is answered: a rare double answer beats a dropped question.
        """
        event = f"{platform}:{key}"
        if not await self.memory.first_time(event):
            metrics.DUPLICATES.labels(platform, "memory").inc()
            return False
        if self.deliveries is None:
            return True
        try:
            first = await self.deliveries.claim(event, self.memory.limits.dedupe_ttl)
        except StoreError as exc:
            log.warning("could not record a delivered event in the store (%s); answering it", exc)
            return True
        if not first:
            metrics.DUPLICATES.labels(platform, "store").inc()
        return first

    async def answer(self, q: Question) -> Reply | None:
        """The reply to post, or None when this delivery of the event was already answered (`stream`'s last
        event, for front-ends that show only finished answers)."""
        reply: Reply | None = None
        async for event in self.stream(q):
            if isinstance(event, Reply):
                reply = event
        return reply

    async def stream(self, q: Question) -> AsyncIterator[Event]:
        """The answer as it is produced: Status lines, TextDelta pieces, then one final Reply; nothing at all
        when this delivery of the event was already answered.

        Sets a new request id for everything logged about this question, here and by the adapter after.
        """
        new_request_id()
        fields: dict[str, Any] = {"platform": q.platform}
        if not self.accepting:
            log.info("question refused: shutting down", extra={**fields, "kind": "notice"})
            yield Reply(RESTARTING, kind="notice")
            return
        self._in_flight += 1
        self._idle.clear()
        started = time.monotonic()
        reply: Reply | None = None
        try:
            async for event in self._stream(q):
                if isinstance(event, Reply):
                    reply = event
                yield event
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()
            fields["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
        if reply is None:
            log.info("duplicate delivery ignored", extra=fields)
        else:
            fields.update(kind=reply.kind, mode=reply.mode or reply.kind)
            log.info(
                "%s question answered (%s) in %.0f ms",
                q.platform,
                fields["mode"],
                fields["latency_ms"],
                extra=fields,
            )

    @property
    def in_flight(self) -> int:
        """Questions being answered right now."""
        return self._in_flight

    async def drain(self, grace: float) -> bool:
        """Stop taking questions and wait up to `grace` s for those in flight; False if some remain."""
        self.accepting = False
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            return False
        return True

    async def _stream(self, q: Question) -> AsyncIterator[Event]:
        if q.event_id and not await self.first_delivery(q.platform, q.event_id):
            return
        if not await self.memory.allow(f"{q.platform}:{q.workspace}:{q.user}"):
            metrics.ERRORS.labels("rate_limited").inc()
            yield Reply(SLOW_DOWN, kind="notice")
            return
        history = await self.memory.history(q.thread_key)
        namespace = self.namespace_for(q.channel)
        # ask() runs as a task reporting its stages and text into a queue, read here as they happen: the
        # status line changes while the graph is searched, and a model's text shows while it is written.
        events: asyncio.Queue[Event] = asyncio.Queue()

        async def on_stage(stage: Stage) -> None:
            events.put_nowait(Status(stage.text))

        async def on_text(chunk: str) -> None:
            events.put_nowait(TextDelta(chunk))

        work = asyncio.ensure_future(
            ask(
                self.store,
                q.text,
                history=history,
                namespace=namespace,
                budget=self.settings.kg_context_budget,
                top_k=self.settings.kg_top_k,
                model=self.model,
                embed=self.embed,
                timeout=self.settings.kg_llm_timeout,
                search=self.settings.kg_search,
                concurrency=self.settings.kg_llm_concurrency,
                progress=Progress(on_stage, on_text),
            )
        )
        try:
            while not work.done() or not events.empty():
                getter = asyncio.ensure_future(events.get())
                await asyncio.wait({getter, work}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    yield getter.result()
                else:
                    getter.cancel()
            answer = work.result()
        except QuestionError as exc:
            metrics.ERRORS.labels("bad_question").inc()
            yield Reply(str(exc), kind="notice")
            return
        except StoreError as exc:
            log.warning("store unavailable: %s", exc)
            metrics.ERRORS.labels("store_unavailable").inc()
            yield Reply(UNAVAILABLE, kind="notice")
            return
        finally:
            work.cancel()  # a consumer that stopped early stops the answer too
        yield await self._finish(q, namespace, answer)

    async def _finish(self, q: Question, namespace: str, answer: Answer) -> Reply:
        """The Reply of a checked answer, its sources and feedback context kept, the thread's history extended."""
        _observe(q.platform, answer)
        text = neutralise_mentions(answer.text)
        sources = [
            SourceRef(
                **{k: neutralise_mentions(v) if isinstance(v, str) else v for k, v in asdict(s).items()}
            )
            for s in answer.citations
        ]
        key = secrets.token_urlsafe(9)
        await self.memory.save_sources(
            key,
            {
                "question": answer.question,
                "answer": answer.text,
                "mode": answer.mode,
                "model": self.model_name if answer.mode == "llm" else "",
                "search": answer.search,
                "namespace": namespace,
                "generation": answer.context.generation,
                "platform": q.platform,
                "workspace": q.workspace,
                "sources": [asdict(s) for s in sources],
                "evidence": answer_ids(answer).to_json(),  # what "Show graph" draws, on demand
            },
        )
        await self.memory.remember(
            q.thread_key, Turn("user", answer.question), Turn("assistant", answer.text)
        )
        return Reply(
            text=text,
            sources=sources,
            mode=answer.mode,
            search=answer.search,
            usage=answer.usage,
            timings_ms=answer.timings_ms,
            sources_key=key,
        )

    async def _feedback_of(self, vote: Vote) -> Feedback | None:
        """The vote as a feedback record, from what was kept beside its answer's sources; None when the
        answer was given in another workspace or platform."""
        kept = await self.memory.sources(vote.answer_id) or {}
        return feedback_record(vote, kept, self.namespace_for(vote.channel))

    async def record_vote(self, vote: Vote) -> bool:
        """Keep a 👍/👎 in the graph store; True when it is new or changed the person's vote (False for a
        repeat, a vote from another workspace, or a store that is down)."""
        if vote.vote not in VOTES:
            return False
        feedback = await self._feedback_of(vote)
        if feedback is None:
            log.warning("vote on an answer from another workspace ignored", extra={"platform": vote.platform})
            return False
        try:
            changed = await self.store.record_feedback(feedback)
        except StoreError as exc:
            log.warning("could not keep a vote: %s", exc)
            metrics.ERRORS.labels("store_unavailable").inc()
            return False
        if changed:
            metrics.FEEDBACK_VOTES.labels(vote.vote, feedback.mode or "unknown").inc()
        return changed

    async def record_reason(self, vote: Vote) -> bool:
        """Attach what was wrong to the person's 👎; False when there is no such vote to attach it to."""
        feedback = await self._feedback_of(vote)
        if feedback is None or not feedback.reason:
            return False
        try:
            return await self.store.set_feedback_reason(feedback)
        except StoreError as exc:
            log.warning("could not keep a feedback reason: %s", exc)
            metrics.ERRORS.labels("store_unavailable").inc()
            return False

    async def suggested_questions(self, channel: str, limit: int = 4) -> list[str]:
        """Questions to offer someone who opens the assistant panel: one per top community of the graph, by
        its report's title (highest rank first), mentions neutralised; the generic ones without reports."""
        try:
            reports = await self.store.child_reports(self.namespace_for(channel), [-1])
        except StoreError as exc:
            log.warning("no suggested questions: %s", exc)
            reports = []
        titles = [
            neutralise_mentions(" ".join(r.report.title.split())) for r in reports if r.report.title.strip()
        ]
        if not titles:
            return list(GENERIC_QUESTIONS[:limit])
        return [f"What do the documents say about {title}?" for title in titles[:limit]]

    async def sources(self, key: str) -> list[SourceRef] | None:
        """The sources of an earlier answer, or None once they have expired."""
        payload = await self.memory.sources(key)
        if payload is None:
            return None
        return [SourceRef(**s) for s in payload["sources"]]

    async def picture(self, key: str) -> Picture:
        """The PNG of an earlier answer's evidence, drawn when someone asks for it (a "Show graph" button)
        from the ids kept beside its sources, so it works after a restart too. PictureError, one line fit to
        show, when the answer has expired, cites nothing drawable or the store is down."""
        payload = await self.memory.sources(key)
        if payload is None or "evidence" not in payload:
            raise PictureError(PICTURE_EXPIRED)
        try:
            return await draw_evidence(
                self.store,
                payload["namespace"],
                EvidenceIds.from_json(payload["evidence"]),
                payload["question"],
            )
        except StoreError as exc:
            log.warning("no picture: %s", exc)
            metrics.ERRORS.labels("store_unavailable").inc()
            raise PictureError(UNAVAILABLE) from None

    async def reindex(self, request: ReindexRequest, progress: ProgressFn) -> str:
        """Rebuild the channel's namespace from KG_SOURCES; returns the one-line summary to show.

        One reindex per namespace at a time; answers keep being served from the old index meanwhile.
        """
        if not self.is_admin(request.user, request.is_admin):
            metrics.REINDEX_RUNS.labels("refused").inc()
            return NOT_ADMIN
        namespace = self.namespace_for(request.channel)
        paths = self.settings.sources_for(namespace)
        if not paths:
            return f"Nothing to reindex: KG_SOURCES names no documents for namespace '{namespace}'."
        lock = f"reindex:{namespace}"
        if not await self.memory.acquire(lock):
            metrics.REINDEX_RUNS.labels("busy").inc()
            state = await self.memory.progress(lock)
            where = f" ({state['line']})" if state else ""
            return f"A reindex of '{namespace}' is already running{where}."
        last_sent = 0.0
        pending: set[asyncio.Task[Any]] = set()

        def on_progress(stage: str, done: int, total: int, file: str = "") -> None:
            nonlocal last_sent
            line = progress_line(namespace, stage, done, total, file)
            now = time.monotonic()
            if now - last_sent < self.progress_interval and not (stage == "publish" and done):
                return
            last_sent = now
            for coro in (self.memory.set_progress(lock, {"line": line}), progress(line)):
                task = asyncio.ensure_future(coro)
                pending.add(task)
                task.add_done_callback(pending.discard)

        from kg.index.pipeline import NothingToIndex, build_index

        try:
            summary = await build_index(paths, self.store, self.settings, namespace, progress=on_progress)
        except NothingToIndex as exc:
            metrics.REINDEX_RUNS.labels("failed").inc()
            return f"Reindex of '{namespace}' found nothing to index ({str(exc).splitlines()[0]}); the previous index is still serving."
        except Exception as exc:  # noqa: BLE001 - one line to the user, details to the log
            log.exception("reindex of %s failed", namespace)
            metrics.REINDEX_RUNS.labels("failed").inc()
            return f"Reindex of '{namespace}' failed ({type(exc).__name__}: {exc}); the previous index is still serving."
        finally:
            await asyncio.gather(*pending, return_exceptions=True)
            await self.memory.release(lock)
        metrics.REINDEX_RUNS.labels("ok").inc()
        metrics.CACHE_HITS.inc(summary.chunks_cached)
        problems = f" {len(summary.problems)} file(s) skipped." if summary.problems else ""
        return (
            f"Reindexed '{namespace}': {summary.documents} documents, {summary.entities} entities, "
            f"{summary.relationships} relationships, {summary.communities} communities in "
            f"{summary.seconds:.1f} s; model cost: {summary.llm_calls} calls.{problems}"
        )

    async def close(self) -> None:
        if self.deliveries is not None:
            await self.deliveries.close()
        await self.store.close()
        await self.memory.close()
