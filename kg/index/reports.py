"""Community reports, in GraphRAG's shape (title, summary, rating, findings), so answers can cite
`Reports (n)` whichever mode built the index.

Offline (`extractive_reports`), the title names the community's most connected entities, the summary is built
from their descriptions and the findings are its strongest relationships.

With a chat model (`write_reports`), as GraphRAG writes them: deepest level first, JSON with title, summary,
rating and findings, each finding citing the rows it rests on. A community's input is its entity and
relationship tables. When they exceed the budget and the community has sub-communities, the largest
sub-communities are described by their reports instead of their rows (which is why deeper levels go first);
what still does not fit is cut, least connected rows first. A report the model's output cannot make falls back
to the extractive one.

Rows are numbered within the report's own input, not with the build's short ids, so the input of an unchanged
community is the same text in every build and its cached report (keyed by the hash of that text) is reused.
The citations of a cached report are mapped to the current build's ids when the report is assembled.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import HumanMessage

from kg import prompts
from kg.citations import MARKER, check_citations, cited_groups, strip_markers
from kg.index.cache import Cache, input_hash
from kg.llm.client import ModelClient
from kg.llm.structured import MalformedOutput, call_structured
from kg.model import Community, CommunityReport, Entity, Finding, Relationship
from kg.text.sentences import first_sentence
from kg.text.tables import cell
from kg.text.tokens import count_tokens

_EXTRACTIVE_FINDINGS = 5


def _join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def extractive_report(
    community: Community, entities: Sequence[Entity], relationships: Sequence[Relationship]
) -> CommunityReport:
    """`entities`/`relationships` are the community's own members."""
    ranked = sorted(entities, key=lambda e: (-e.degree, e.short_id))
    names = [e.title for e in ranked[:3]]
    title = _join_names(names)
    summary_parts = [first_sentence(e.description) for e in ranked[:3] if e.description]
    others = len(ranked) - len(names)
    lead = f"This community centres on {title}"
    lead += f" and {others} related entit{'y' if others == 1 else 'ies'}." if others else "."
    summary = " ".join([lead, *summary_parts])

    strongest = sorted(relationships, key=lambda r: (-r.weight, -r.rank, r.short_id))[:_EXTRACTIVE_FINDINGS]
    findings = [
        Finding(summary=f"{r.source} and {r.target}", explanation=first_sentence(r.description, 400))
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


# --- written by a model ------------------------------------------------------------------------------------

Progress = Callable[[str, int, int], None]
MAX_FINDINGS = 8


@dataclass
class ReportInput:
    text: str
    ids: dict[str, dict[int, int]] = field(default_factory=dict)  # dataset -> local id -> build id


def report_input(
    members: Sequence[Entity],
    relationships: Sequence[Relationship],
    children: Sequence[tuple[Community, CommunityReport]],
    max_tokens: int,
) -> ReportInput:
    """The tables a community's report is written from, within `max_tokens`."""
    entities = sorted(members, key=lambda e: (-e.degree, e.title))
    rels = sorted(relationships, key=lambda r: (-r.rank, -r.weight, r.source, r.target))
    used: list[tuple[Community, CommunityReport]] = []

    def render() -> str:
        parts = []
        if used:
            rows = [
                f"{i}|{cell(rep.title)}|{cell(strip_markers(rep.summary))}"
                for i, (_, rep) in enumerate(used, start=1)
            ]
            parts.append("-----Reports-----\nid|title|summary\n" + "\n".join(rows))
        rows = [f"{i}|{cell(e.title)}|{cell(e.description)}" for i, e in enumerate(entities, start=1)]
        if rows:
            parts.append("-----Entities-----\nid|entity|description\n" + "\n".join(rows))
        rows = [
            f"{i}|{cell(r.source)}|{cell(r.target)}|{cell(r.description)}"
            for i, r in enumerate(rels, start=1)
        ]
        if rows:
            parts.append("-----Relationships-----\nid|source|target|description\n" + "\n".join(rows))
        return "\n\n".join(parts)

    text = render()
    if count_tokens(text) > max_tokens and children:
        # Describe the largest sub-communities by their reports until the rest fits.
        for child, rep in sorted(children, key=lambda cr: (-len(cr[0].entity_ids), cr[0].id)):
            used.append((child, rep))
            inside = set(child.entity_ids)
            titles = {e.title for e in entities if e.id in inside}
            entities = [e for e in entities if e.id not in inside]
            rels = [r for r in rels if not (r.source in titles and r.target in titles)]
            text = render()
            if count_tokens(text) <= max_tokens:
                break
    while count_tokens(text) > max_tokens and (entities or rels):
        # Cut the least connected rows: a tenth of the longer table at a time.
        if len(rels) >= len(entities):
            rels = rels[: len(rels) - max(1, len(rels) // 10)]
        else:
            entities = entities[: len(entities) - max(1, len(entities) // 10)]
        text = render()
    return ReportInput(
        text,
        {
            "Entities": {i: e.short_id for i, e in enumerate(entities, start=1)},
            "Relationships": {i: r.short_id for i, r in enumerate(rels, start=1)},
            "Reports": {i: c.id for i, (c, _) in enumerate(used, start=1)},
        },
    )


def map_citations(text: str, ids: dict[str, dict[int, int]]) -> str:
    """Citations of local row ids rewritten to build ids; ids not in the input are dropped."""
    checked = check_citations(text, {name: set(mapping) for name, mapping in ids.items()})

    def group(dataset: str, tokens: list[str]) -> str:
        mapping = ids.get(dataset, {})
        out = []
        for token in tokens:
            if token.isdigit() and int(token) in mapping:
                out.append(str(mapping[int(token)]))
            elif token == "+more":
                out.append(token)
        return f"{dataset} ({', '.join(out)})"

    def marker(m: re.Match[str]) -> str:
        return m["lead"] + "[Data: " + "; ".join(group(*g) for g in cited_groups(m)) + "]"

    return MARKER.sub(marker, checked.text).strip()


def parse_report(data: dict[str, Any]) -> dict[str, Any]:
    """A report payload, validated and normalised (what is cached); raises MalformedOutput."""
    title = " ".join(str(data.get("title") or "").split())
    summary = str(data.get("summary") or "").strip()
    if not title or not summary:
        raise MalformedOutput("the report has no title or no summary")
    try:
        rating = float(data.get("rating", 5.0))
    except (TypeError, ValueError):
        rating = 5.0
    rating = min(10.0, max(0.0, rating)) if rating == rating else 5.0
    findings = []
    for f in data.get("findings") or []:
        if isinstance(f, dict) and (f.get("summary") or f.get("explanation")):
            findings.append(
                {
                    "summary": str(f.get("summary") or "").strip(),
                    "explanation": str(f.get("explanation") or "").strip(),
                }
            )
        elif isinstance(f, str) and f.strip():
            findings.append({"summary": f.strip(), "explanation": ""})
    return {
        "title": title,
        "summary": summary,
        "rating": rating,
        "rating_explanation": str(data.get("rating_explanation") or "").strip(),
        "findings": findings[:MAX_FINDINGS],
    }


def assemble(
    community: Community, payload: dict[str, Any], ids: dict[str, dict[int, int]]
) -> CommunityReport:
    summary = map_citations(payload["summary"], ids)
    findings = [
        Finding(summary=strip_markers(f["summary"]).strip(), explanation=map_citations(f["explanation"], ids))
        for f in payload["findings"]
    ]
    lines = [f"# {payload['title']}", "", summary, ""]
    if payload.get("rating_explanation"):
        lines += [f"Importance: {payload['rating']:g}/10. {payload['rating_explanation']}", ""]
    for f in findings:
        lines += [f"## {f.summary}", "", f.explanation, ""]
    return CommunityReport(
        community=community.id,
        level=community.level,
        title=payload["title"],
        summary=summary,
        full_content="\n".join(lines).strip(),
        rank=round(float(payload["rating"]), 2),
        findings=findings,
    )


async def write_reports(
    communities: Sequence[Community],
    entities: Sequence[Entity],
    relationships: Sequence[Relationship],
    client: ModelClient,
    cache: Cache,
    max_tokens: int = 8000,
    progress: Progress | None = None,
) -> tuple[list[CommunityReport], list[str]]:
    """One report per community (in the order of `communities`), and warnings for those that fell back to
    the extractive report because the model's output could not be used."""
    report = progress or (lambda stage, done, total: None)
    kind = f"report:{client.chat_name}:{prompts.REPORT_VERSION}"
    by_id = {e.id: e for e in entities}
    rel_by_id = {r.id: r for r in relationships}
    children: dict[int, list[Community]] = defaultdict(list)
    for c in communities:
        if c.parent != -1:
            children[c.parent].append(c)
    written: dict[int, CommunityReport] = {}
    problems: list[str] = []
    done = 0
    report("reports", 0, len(communities))

    async def one(c: Community) -> None:
        nonlocal done
        members = [by_id[i] for i in c.entity_ids if i in by_id]
        rels = [rel_by_id[i] for i in c.relationship_ids if i in rel_by_id]
        subs = [(child, written[child.id]) for child in children.get(c.id, []) if child.id in written]
        source = report_input(members, rels, subs, max_tokens)
        key = input_hash(source.text)
        cached = (await asyncio.to_thread(cache.get_many, kind, [key])).get(key)
        if isinstance(cached, dict):
            written[c.id] = assemble(c, cached, source.ids)
        else:
            try:
                reply = await call_structured(
                    client,
                    "report",
                    prompts.REPORT_SYSTEM,
                    [HumanMessage(prompts.REPORT_HUMAN.format(context=source.text))],
                    prompts.REPORT_TOOL,
                    prompts.REPORT_SHAPE,
                )
                payload = parse_report(reply.data)
            except Exception as exc:  # noqa: BLE001 - the extractive report stands in
                problems.append(
                    f"community {c.id}: report fell back to extractive ({type(exc).__name__}: {exc})"
                )
                written[c.id] = extractive_report(c, members, rels)
            else:
                await asyncio.to_thread(cache.put_many, kind, [(key, payload)])
                written[c.id] = assemble(c, payload, source.ids)
        c.title = written[c.id].title
        done += 1
        report("reports", done, len(communities))

    for level in sorted({c.level for c in communities}, reverse=True):
        await asyncio.gather(*(one(c) for c in communities if c.level == level))
    return [written[c.id] for c in communities], problems
