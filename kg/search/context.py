"""What a search found: the context an answer is written from, as a model reads it (rendered tables) and as
people see it (the records, for renderers and `--json`). Local and global search both fill one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.model import CommunityReport, Entity, Relationship, TextUnit, Turn


@dataclass
class Context:
    """The tables a model reads and the records renderers and --json show."""

    question: str
    text: str = ""
    entities: list[Entity] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    reports: list[CommunityReport] = field(default_factory=list)
    sources: list[TextUnit] = field(default_factory=list)
    documents: dict[str, tuple[str, str]] = field(default_factory=dict)  # document id -> (title, source)
    tokens: int = 0
    history: list[Turn] = field(default_factory=list)  # the recent turns the question follows up on
    generation: int | None = None  # the namespace's build the rows were read from (feedback records it)

    @property
    def empty(self) -> bool:
        return not (self.entities or self.relationships or self.reports or self.sources)

    def available(self) -> dict[str, set[int]]:
        """Ids a citation may use, by dataset."""
        return {
            "Entities": {e.short_id for e in self.entities},
            "Relationships": {r.short_id for r in self.relationships},
            "Reports": {r.community for r in self.reports},
            "Sources": {u.short_id for u in self.sources},
        }

    def to_json(self) -> dict[str, list[dict[str, object]]]:
        return {
            "entities": [
                {
                    "id": e.short_id,
                    "title": e.title,
                    "type": e.type,
                    "text": e.description,
                    "degree": e.degree,
                }
                for e in self.entities
            ],
            "relationships": [
                {
                    "id": r.short_id,
                    "source": r.source,
                    "target": r.target,
                    "text": r.description,
                    "weight": r.weight,
                }
                for r in self.relationships
            ],
            "reports": [
                {"id": r.community, "title": r.title, "text": r.summary, "rank": r.rank} for r in self.reports
            ],
            "sources": [
                {
                    "id": u.short_id,
                    "document": self.documents.get(u.document_id, ("", ""))[0],
                    "text": u.text,
                    "start": u.start,
                    "end": u.end,
                }
                for u in self.sources
            ],
        }
