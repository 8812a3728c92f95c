"""What a 👍/👎 on an answer is, and the feedback record it becomes.

A vote names its answer by id; what the answer was (question, text, cited ids, build, search, mode, model) was
kept beside the answer's sources when it was given (bot/core.py), so a click after a restart still records it.
A vote counts only in the workspace and platform its answer was given in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kg.model import Feedback

VOTES = ("up", "down")
REASONS = {  # what a 👎 can say was wrong, by the key the buttons carry
    "wrong": "Wrong or made up",
    "sources": "Wrong or missing sources",
    "incomplete": "Incomplete or missed the point",
    "outdated": "Out of date",
}
REASON_CHARS = 500  # the longest reason kept


@dataclass
class Vote:
    """A 👍 or 👎 on an answer, or the reason given for a 👎 afterwards."""

    platform: str
    workspace: str  # Slack team, Discord guild
    channel: str
    user: str
    answer_id: str
    vote: str  # "up" | "down"
    reason: str = ""  # a key of REASONS, or free text


def feedback_record(vote: Vote, kept: dict[str, Any], default_namespace: str) -> Feedback | None:
    """The feedback record of `vote`, given what was kept about its answer (empty once that has expired: the
    vote is then recorded without it, in `default_namespace`); None when the answer was given in another
    workspace or on another platform."""
    if (
        kept.get("workspace", vote.workspace) != vote.workspace
        or kept.get("platform", vote.platform) != vote.platform
    ):
        return None
    return Feedback(
        namespace=str(kept.get("namespace") or default_namespace),
        platform=vote.platform,
        workspace=vote.workspace,
        answer_id=vote.answer_id,
        user=vote.user,
        vote=vote.vote,
        reason=REASONS.get(vote.reason, vote.reason)[:REASON_CHARS],
        question=str(kept.get("question", "")),
        answer=str(kept.get("answer", "")),
        cited=[f"{s['dataset']}:{s['id']}" for s in kept.get("sources", [])],
        generation=kept.get("generation"),
        search=str(kept.get("search", "")),
        mode=str(kept.get("mode", "")),
        model=str(kept.get("model", "")),
    )
