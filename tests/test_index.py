"""The whole offline pipeline into a real SQLite store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from kg.config import Settings
from kg.index.extract.base import ChunkExtraction, ProgressFn
from kg.index.extract.nlp import NlpExtractor
from kg.index.pipeline import NothingToIndex, build_index
from kg.model import TextUnit
from kg.store import open_store


class FailingExtractor:
    """Fails after the first chunk: a build that dies mid-way."""

    cache_key = "failing:v1"

    async def extract(
        self, units: Sequence[TextUnit], progress: ProgressFn | None = None
    ) -> list[ChunkExtraction]:
        raise RuntimeError("extractor crashed mid-build")


async def test_build_publishes_a_graph_with_communities(corpus: Path, settings: Settings) -> None:
    store = open_store(settings.store_url)
    stages: list[str] = []
    summary = await build_index([corpus], store, settings, progress=lambda s, d, t, f="": stages.append(s))
    assert summary.documents == 3
    assert summary.text_units >= 3
    assert summary.entities > 5 and summary.relationships > 5
    assert summary.communities >= 1
    assert {"load", "chunk", "extract", "merge", "communities", "publish"} <= set(stages)

    stats = await store.stats("default")
    assert stats is not None
    assert stats.counts["documents"] == 3
    assert stats.counts["reports"] == stats.counts["communities"] == summary.communities
    titles = {str(e["title"]).lower() for e in stats.top_entities}
    assert {"lantern engine", "maria okafor", "beacon api"} <= titles
    assert stats.top_entities[0]["title"] == "Lantern Engine"
    await store.close()


async def test_reindex_of_unchanged_text_extracts_nothing(corpus: Path, settings: Settings) -> None:
    store = open_store(settings.store_url)
    first = await build_index([corpus], store, settings)
    assert first.chunks_extracted == first.text_units
    second = await build_index([corpus], store, settings)
    assert second.chunks_extracted == 0
    assert second.chunks_cached == second.text_units
    assert (second.entities, second.relationships) == (first.entities, first.relationships)

    (corpus / "sub" / "history.txt").unlink()
    third = await build_index([corpus], store, settings)
    assert third.documents == 2
    assert third.chunks_extracted == 0  # deleting a document needs no extraction
    export = await store.export("default")
    assert export is not None
    assert "Coastal Computing Conference" not in {e.title for e in export.entities}
    await store.close()


async def test_failure_mid_build_leaves_the_old_index_serving(corpus: Path, settings: Settings) -> None:
    store = open_store(settings.store_url)
    await build_index([corpus], store, settings)
    before = await store.stats("default")
    (corpus / "new.txt").write_text(
        "Entirely new text about the Aurora Project and Quentin Blake.", encoding="utf-8"
    )
    with pytest.raises(RuntimeError, match="mid-build"):
        await build_index([corpus], store, settings, extractor=FailingExtractor())
    after = await store.stats("default")
    assert after == before
    hits = await store.search_entities("default", "Lantern Engine", 3)
    assert hits and hits[0].entity.title == "Lantern Engine"
    await store.close()


async def test_nothing_to_index_leaves_store_untouched(
    tmp_path: Path, corpus: Path, settings: Settings
) -> None:
    store = open_store(settings.store_url)
    await build_index([corpus], store, settings)
    before = await store.stats("default")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NothingToIndex):
        await build_index([empty, tmp_path / "missing"], store, settings)
    assert await store.stats("default") == before
    await store.close()


async def test_namespaces_are_built_separately(corpus: Path, tmp_path: Path, settings: Settings) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_text(
        "Quentin Blake drew the Aurora Project map. Quentin Blake sent the Aurora Project map to Nadia Frost.\n"
        "Nadia Frost archived the Aurora Project map.",
        encoding="utf-8",
    )
    store = open_store(settings.store_url)
    await build_index([corpus], store, settings, namespace="harbor")
    await build_index([other], store, settings, namespace="aurora")
    assert not await store.search_entities("aurora", "Lantern Engine", 5)
    assert not await store.search_entities("harbor", "Quentin Blake", 5)
    assert sorted(await store.namespaces()) == ["aurora", "harbor"]
    await store.close()


async def test_extractor_cache_is_keyed_by_extractor(corpus: Path, settings: Settings) -> None:
    class Renamed(NlpExtractor):
        @property
        def cache_key(self) -> str:
            return "nlp:renamed"

    store = open_store(settings.store_url)
    await build_index([corpus], store, settings)
    again = await build_index([corpus], store, settings, extractor=Renamed())
    assert again.chunks_extracted == again.text_units
    await store.close()
