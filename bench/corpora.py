"""Real corpora from ../shared/eval indexed by kgbot offline (nlp extractor), with the benchmarks' hashed
entity embeddings, and exported as GraphRAG tables: the common ground of the kgbot-vs-GraphRAG benchmarks.

Data is read from ../shared/eval (relative to the repository) and written only under the given work folder
(bench/results/... or a temporary folder), never into the repository's tracked files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from bench.common import EVAL
from bench.hashed_embedding import embed_text, entity_text
from kg.config import Settings
from kg.index.pipeline import build_index
from kg.interop.graphrag_write import export_graphrag
from kg.model import GraphIndex
from kg.store.sqlite.store import SqliteStore

NAMESPACE = "bench"
# (chunk size, overlap) per corpus. HotpotQA paragraphs (~140 tokens) are one chunk each at any size; the
# attention paper (~7k tokens) is cut in 300-token chunks, so that budgets of 2k-12k tokens choose among ~30
# chunks rather than 7 (at 1200 tokens a 2k budget's source share could not hold one).
# The attention multi-hop set's 40 short passages are one chunk each; the medical corpus (one ~1 MB document)
# is cut in 600-token chunks so that its normalised evidence sentences are judged against passage-sized text.
CHUNKING = {
    "hotpotqa": (1200, 100),
    "attention": (300, 30),
    "attention_multihop": (1200, 100),
    "medical": (600, 60),
    "christmas_carol": (1200, 100),
}


def write_documents(name: str, folder: Path) -> list[Path]:
    """The corpus as files in `folder`: HotpotQA one document per title (title line, then its sentences), the
    attention multi-hop set one per passage."""
    folder.mkdir(parents=True, exist_ok=True)
    if name == "hotpotqa":
        corpus = json.loads((EVAL / "hotpotqa" / "corpus.json").read_text())
        used: set[str] = set()
        for title, sentences in corpus.items():
            stem = re.sub(r"[^\w.,()' -]+", "_", title).strip() or "untitled"
            while stem.lower() in used:
                stem += "_"
            used.add(stem.lower())
            (folder / f"{stem}.txt").write_text(hotpot_text(title, sentences), encoding="utf-8")
    elif name == "attention":
        text = (EVAL / "attention" / "attention_is_all_you_need.txt").read_text(encoding="utf-8")
        (folder / "attention_is_all_you_need.txt").write_text(text, encoding="utf-8")
    elif name == "attention_multihop":
        for line in (EVAL / "attention" / "attention_paper_passages.jsonl").read_text().splitlines():
            if line.strip():
                passage = json.loads(line)
                (folder / f"{passage['id']}.txt").write_text(passage["text"] + "\n", encoding="utf-8")
    elif name == "medical":
        [document] = json.loads((EVAL / "graphrag_bench_medical" / "corpus.json").read_text())
        (folder / "graphrag_bench_medical.txt").write_text(document["context"], encoding="utf-8")
    elif name == "christmas_carol":
        text = (EVAL / "christmas_carol" / "christmas_carol.txt").read_text(encoding="utf-8")
        (folder / "christmas_carol.txt").write_text(text, encoding="utf-8")
    else:
        raise ValueError(f"unknown corpus {name!r}")
    return sorted(folder.iterdir())


def hotpot_text(title: str, sentences: list[str]) -> str:
    return f"{title}\n\n{''.join(sentences).strip()}\n"


def add_embeddings(index: GraphIndex) -> None:
    """The hashed bag-of-words vector of every entity's `title:description` (what GraphRAG embeds) and of every
    chunk's text (kgbot's passage vectors; the GraphRAG tables leave them out)."""
    for entity in index.entities:
        entity.embedding = embed_text(entity_text(entity.title, entity.description))
    for unit in index.text_units:
        unit.embedding = embed_text(unit.text)


@dataclass
class BuiltCorpus:
    name: str
    store: Path  # SQLite store, namespace NAMESPACE, entities with hashed embeddings
    tables: Path  # the same index as GraphRAG tables (kgbot export-graphrag)
    index: GraphIndex
    seconds: float


async def build_corpus(name: str, work: Path) -> BuiltCorpus:
    """Index `name` with kgbot (nlp extractor, offline), add hashed embeddings, export GraphRAG tables."""
    size, overlap = CHUNKING[name]
    write_documents(name, work / "documents")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kg_home=work / "home",
        kg_extractor="nlp",
        kg_chunk_size=size,
        kg_chunk_overlap=overlap,
        openai_api_key="",
        openai_base_url="",
        kg_embedding_model="",
    )
    store = SqliteStore(work / "kg.db")
    try:
        summary = await build_index([work / "documents"], store, settings, namespace=NAMESPACE)
        index = await store.export(NAMESPACE)
        assert index is not None
        add_embeddings(index)
        await store.publish(NAMESPACE, index)
        await export_graphrag(store, NAMESPACE, work / "graphrag")
    finally:
        await store.close()
    return BuiltCorpus(name, work / "kg.db", work / "graphrag", index, summary.seconds)


def make_questions(material: dict, count: int, seed: int = 0) -> list:
    """bench/synthetic.py's questions over any index's question material: a real graph has entity types the
    generator lacks (CONCEPT...), which are named by their own lower-cased type in description questions."""
    from bench import synthetic

    for _, entity_type, _, _ in material["entities"]:
        synthetic._KIND_WORDS.setdefault(entity_type, entity_type.lower())
    return synthetic.make_questions(material, count, seed)
