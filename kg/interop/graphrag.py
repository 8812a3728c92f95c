"""Microsoft GraphRAG output tables <-> our `GraphIndex`: `kgbot import-graphrag` and `kgbot export-graphrag`.

GraphRAG (3.x) writes one parquet file per table into its output folder. We read and write these columns,
in this order (what GraphRAG 3.3 writes; its query-side readers select columns by name):

    documents          id, human_readable_id, title, text, text_unit_ids, creation_date, raw_data
    text_units         id, human_readable_id, text, n_tokens, document_id, entity_ids, relationship_ids,
                       covariate_ids
    entities           id, human_readable_id, title, type, description, text_unit_ids, frequency, degree
    relationships      id, human_readable_id, source, target, description, weight, combined_degree,
                       text_unit_ids
    communities        id, human_readable_id, community, level, parent, children, title, entity_ids,
                       relationship_ids, text_unit_ids, period, size
    community_reports  id, human_readable_id, community, level, parent, children, title, summary,
                       full_content, rank, rating_explanation, findings (list of {explanation, summary}),
                       full_content_json, period, size

`human_readable_id` is our `short_id` (a community's is its `community` number), so an imported index cites
the same numbers GraphRAG does. Entity description embeddings, when present, come from an `embedding` /
`description_embedding` column (older GraphRAG), `embeddings.entity_description.parquet` (GraphRAG's
embeddings snapshot, which export writes), or the LanceDB store under the output folder (read only when the
`lancedb` package happens to be installed).

What GraphRAG's tables have no column for (a chunk's character offsets, a document's source path, our own
community titles, the build's time and cost) travels in each file's key-value metadata under `kgbot`, which
GraphRAG never reads; without it (a folder GraphRAG wrote) offsets are found by locating each chunk in its
document's text, sources default to document titles, and community titles are GraphRAG's.

Only pyarrow is needed (the `graphrag` extra); nothing here imports pandas or graphrag. Reading is in
graphrag_read.py (columns in graphrag_columns.py), writing in graphrag_write.py; this module holds what both
share: the tables, the errors and the `kgbot` metadata.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


PYARROW_MISSING = "GraphRAG import and export need pyarrow: pip install 'kgbot[graphrag]'"
TABLES = ("documents", "text_units", "entities", "relationships", "communities", "community_reports")
REQUIRED_TABLES = ("entities", "relationships", "text_units")
EMBEDDINGS_FILE = "embeddings.entity_description.parquet"
_META_KEY = b"kgbot"
_META_FORMAT = 1


class GraphRAGError(ValueError):
    """The folder cannot be imported or written; the message (one line per problem) is fit to show a user."""


def require_pyarrow() -> None:
    """Raise GraphRAGError (saying how to install it) when pyarrow is missing."""
    arrow()


def arrow() -> tuple[Any, Any]:
    """pyarrow and its parquet module, imported on first use: the `graphrag` extra is optional."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise GraphRAGError(PYARROW_MISSING) from None
    return pa, pq


def ids_digest(ids: Iterable[str]) -> str:
    """A fingerprint of a table's row ids: metadata about rows is trusted only for exactly those rows."""
    return hashlib.sha256("\x1f".join(ids).encode("utf-8")).hexdigest()[:32]


def read_meta(table: pa.Table) -> dict[str, Any]:
    """A table's `kgbot` metadata; empty when absent (a folder GraphRAG wrote) or of another format."""
    raw = (table.schema.metadata or {}).get(_META_KEY)
    if not raw:
        return {}
    try:
        meta = json.loads(raw)
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) and meta.get("format") == _META_FORMAT else {}


def file_metadata(ids: Sequence[str] | None = None, **extra: Any) -> dict[bytes, bytes]:
    """A table's `kgbot` metadata: what GraphRAG's columns cannot hold, tied to the rows by `ids`."""
    meta: dict[str, Any] = {"format": _META_FORMAT, **extra}
    if ids is not None:
        meta["ids"] = ids_digest(ids)
    return {_META_KEY: json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode("utf-8")}
