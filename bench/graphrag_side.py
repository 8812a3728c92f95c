"""GraphRAG's side of the kgbot-vs-GraphRAG benchmarks. Runs in bench/.venv-graphrag (see graphrag_env.py),
never in kgbot's environment, and imports nothing from kgbot except bench/hashed_embedding.py (by path).

    bench/.venv-graphrag/bin/python bench/graphrag_side.py JOB.json RESULT.json

JOB.json: {"tables": folder written by `kgbot export-graphrag`, "questions": [{"id", "text", "history":
[[role, text], ...]}], "budgets": [tokens, ...], "warmup": n, "return_text": bool, "community_level": 2}
or {"count": [text, ...]} to count tokens with GraphRAG's tokenizer only.

GraphRAG's query path, as `graphrag query --method local` runs it, minus the chat model: its own readers
(read_indexer_entities / relationships / text_units / reports at community level 2), the entity description
vectors in a LanceDB store (GraphRAG's default vector store), its default tokenizer (tiktoken o200k_base) and
`LocalSearchMixedContext.build_context` with the parameters its local search engine passes (text_unit_prop
0.5, community_prop 0.15, top 10 entities, top 10 relationships, entity rank and relationship weight shown,
at most 5 turns of history). The text embedder is the hashed bag of words kgbot's side uses.
Each build_context call is timed with time.perf_counter; loading is timed apart.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from hashed_embedding import DIM, embed_text, entity_text  # noqa: E402

COMMUNITY_LEVEL = 2  # `graphrag query --community-level` default
ENGINE_PARAMS = {  # what graphrag.query.factory.get_local_search_engine passes (LocalSearchDefaults)
    "text_unit_prop": 0.5,
    "community_prop": 0.15,
    "conversation_history_max_turns": 5,
    "conversation_history_user_turns_only": True,
    "top_k_mapped_entities": 10,
    "top_k_relationships": 10,
    "include_entity_rank": True,
    "include_relationship_weight": True,
    "include_community_rank": False,
    "return_candidate_context": False,
}


class HashedEmbedder:
    """What map_query_to_entities calls: `text_embedder.embedding(input=[text]).first_embedding`."""

    class _Response:
        def __init__(self, vector: list[float]) -> None:
            self.first_embedding = vector

    def embedding(self, input: list[str]) -> _Response:  # noqa: A002 - GraphRAG's keyword
        return self._Response(embed_text(input[0]))


def _ids(frame: pd.DataFrame | None) -> list[int]:
    if frame is None or frame.empty or "id" not in frame.columns:
        return []
    return [int(x) for x in frame["id"].tolist() if str(x).strip().lstrip("-").isdigit()]


def load(folder: Path, community_level: int):  # noqa: ANN201
    from graphrag.query.indexer_adapters import (
        read_indexer_entities,
        read_indexer_relationships,
        read_indexer_reports,
        read_indexer_text_units,
    )
    from graphrag.query.structured_search.local_search.mixed_context import LocalSearchMixedContext
    from graphrag.tokenizer.get_tokenizer import get_tokenizer
    from graphrag_vectors import VectorStoreDocument
    from graphrag_vectors.lancedb import LanceDBVectorStore

    tables = {
        name: pd.read_parquet(folder / f"{name}.parquet")
        for name in ("entities", "relationships", "text_units", "communities", "community_reports")
    }
    units = tables["text_units"]
    units.index = units["human_readable_id"].to_numpy()  # GraphRAG's reader numbers chunks by row index
    entities = read_indexer_entities(tables["entities"], tables["communities"], community_level)
    relationships = read_indexer_relationships(tables["relationships"])
    text_units = read_indexer_text_units(units)
    reports = read_indexer_reports(tables["community_reports"], tables["communities"], community_level)

    vectors: dict[str, list[float]] = {}
    exported = folder / "embeddings.entity_description.parquet"
    if exported.is_file():
        frame = pd.read_parquet(exported)
        vectors = {str(i): list(v) for i, v in zip(frame["id"], frame["embedding"], strict=True)}
    store = LanceDBVectorStore(
        db_uri=tempfile.mkdtemp(prefix="gr-lancedb-"), index_name="entity_description", vector_size=DIM
    )
    store.connect()
    store.create_index()
    documents = [
        VectorStoreDocument(
            id=e.id,
            vector=np.asarray(
                vectors.get(e.id) or embed_text(entity_text(e.title, e.description or "")), "f4"
            ),
        )
        for e in entities
    ]
    store.load_documents(documents)
    tokenizer = get_tokenizer()
    builder = LocalSearchMixedContext(
        entities=entities,
        entity_text_embeddings=store,
        text_embedder=HashedEmbedder(),
        text_units=text_units,
        community_reports=reports,
        relationships=relationships,
        tokenizer=tokenizer,
    )
    counts = {
        "entities": len(entities),
        "relationships": len(relationships),
        "text_units": len(text_units),
        "reports": len(reports),
        "vectors_from_export": len(vectors),
    }
    return builder, tokenizer, counts


def run(job: dict) -> dict:
    from graphrag.query.context_builder.conversation_history import ConversationHistory

    started = time.perf_counter()
    builder, tokenizer, counts = load(Path(job["tables"]), job.get("community_level", COMMUNITY_LEVEL))
    load_s = time.perf_counter() - started

    def ask(question: dict, budget: int) -> tuple[float, object]:
        history = None
        if question.get("history"):
            history = ConversationHistory.from_list(
                [{"role": role, "content": text} for role, text in question["history"]]
            )
        t0 = time.perf_counter()
        result = builder.build_context(
            question["text"], conversation_history=history, max_context_tokens=budget, **ENGINE_PARAMS
        )
        return (time.perf_counter() - t0) * 1000.0, result

    questions = job["questions"]
    budgets = job["budgets"]
    for question in questions[: job.get("warmup", 0)]:
        ask(question, budgets[-1])
    rows = []
    for question in questions[job.get("warmup", 0) :]:
        for budget in budgets:
            ms, result = ask(question, budget)
            text = (
                result.context_chunks
                if isinstance(result.context_chunks, str)
                else "\n\n".join(result.context_chunks)
            )
            records = result.context_records
            row = {
                "id": question["id"],
                "budget": budget,
                "ms": ms,
                "sources": _ids(records.get("sources")),
                "entities": _ids(records.get("entities")),
                "relationships": _ids(records.get("relationships")),
                "reports": _ids(records.get("reports")),
                "tokens": tokenizer.num_tokens(text),
            }
            if job.get("return_text"):
                row["text"] = text
            rows.append(row)
    return {
        "load_s": load_s,
        "counts": counts,
        "rows": rows,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "tokenizer": "tiktoken o200k_base (GraphRAG's default)",
    }


def main() -> int:
    job = json.loads(Path(sys.argv[1]).read_text())
    if "count" in job:
        from graphrag.tokenizer.get_tokenizer import get_tokenizer

        tokenizer = get_tokenizer()
        result = {"tokens": [tokenizer.num_tokens(text) for text in job["count"]]}
    else:
        result = run(job)
    Path(sys.argv[2]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
