"""Extractive community reports: what the offline mode says about each community.

A report has the shape of GraphRAG's (title, summary, rating, findings) so answers can cite `Reports (n)`
whichever mode built the index. Offline, the title names the community's most connected entities, the
summary is built from their descriptions and the findings are its strongest relationships.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from kg.model import Community, CommunityReport, Entity, Finding, Relationship

_MAX_FINDINGS = 5


def _first_sentence(text: str, limit: int = 240) -> str:
    sentence = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rsplit(" ", 1)[0] + "…"


def _join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def extractive_report(
    community: Community, entities: Sequence[Entity], relationships: Sequence[Relationship]
) -> CommunityReport:
    """`entities`/`relationships` are the community's own members."""
    ranked = sorted(entities, key=lambda e: (-e.degree, e.short_id))
    names = [e.title for e in ranked[:3]]
    title = _join_names(names)
    summary_parts = [_first_sentence(e.description) for e in ranked[:3] if e.description]
    others = len(ranked) - len(names)
    lead = f"This community centres on {title}"
    lead += f" and {others} related entit{'y' if others == 1 else 'ies'}." if others else "."
    summary = " ".join([lead, *summary_parts])

    strongest = sorted(relationships, key=lambda r: (-r.weight, -r.rank, r.short_id))[:_MAX_FINDINGS]
    findings = [
        Finding(summary=f"{r.source} and {r.target}", explanation=_first_sentence(r.description, 400))
        for r in strongest
    ]
    total_weight = sum(r.weight for r in relationships)
    # Impact in GraphRAG's 0-10 range: grows with size and internal connection strength, saturating.
    rank = round(min(10.0, 2.0 * math.log1p(len(entities)) + math.log1p(total_weight)), 2)

    lines = [f"# {title}", "", summary, ""]
    for f in findings:
        lines += [f"## {f.summary}", "", f.explanation, ""]
    return CommunityReport(
        community=community.id,
        level=community.level,
        title=title,
        summary=summary,
        full_content="\n".join(lines).strip(),
        rank=rank,
        findings=findings,
    )


def extractive_reports(
    communities: Sequence[Community], entities: Sequence[Entity], relationships: Sequence[Relationship]
) -> list[CommunityReport]:
    by_id = {e.id: e for e in entities}
    rel_by_id = {r.id: r for r in relationships}
    reports = []
    for c in communities:
        members = [by_id[i] for i in c.entity_ids if i in by_id]
        rels = [rel_by_id[i] for i in c.relationship_ids if i in rel_by_id]
        report = extractive_report(c, members, rels)
        c.title = report.title
        reports.append(report)
    return reports
