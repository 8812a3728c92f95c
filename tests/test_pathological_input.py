"""Files real folders hold must not stall or mislead an index: named pipes, sockets, words of a megabyte,
documents of millions of tokens, linked folders and link loops (issue 18)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.cli import main
from bot.core import progress_line
from kg.config import Settings
from kg.index.chunk import chunk_document
from kg.index.extract.base import ChunkExtraction, ProgressFn
from kg.index.extract.nlp import NlpExtractor
from kg.index.load import LoadResult, load_documents
from kg.index.pipeline import build_index
from kg.model import Document, TextUnit, content_id
from kg.store import open_store
from kg.text.tokens import MAX_WORD_CHARS, count_tokens, cut_long_words, long_words, token_spans

HEAD = "The Snargleblat word follows. Snargleblat"


def _load_in_thread(paths: list[Path]) -> LoadResult:
    """`load_documents` on a worker thread; if it is still reading after a minute it is stuck on a file (a
    named pipe opened for reading waits for a writer forever), and the test fails instead of hanging."""
    result: list[LoadResult] = []
    worker = threading.Thread(target=lambda: result.append(load_documents(paths)), daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():
        for fifo in (p for p in paths[0].parent.rglob("*") if p.is_fifo()):
            with open(fifo, "wb"):  # a writer that closes at once: the stuck read ends, the thread finishes
                pass
        pytest.fail("load_documents was still reading after 60 s: it opened a special file")
    return result[0]


def test_named_pipes_and_sockets_are_skipped_without_being_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "real.txt").write_text("Maria Okafor leads the Lantern Engine team.", encoding="utf-8")
    os.mkfifo(docs / "pipe.txt")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(docs / "socket.md"))
        loaded = _load_in_thread([docs])
        direct = _load_in_thread([docs / "pipe.txt"])
    finally:
        server.close()
    assert [d.source for d in loaded.documents] == ["docs/real.txt"]
    assert "skipped docs/pipe.txt: a named pipe (FIFO), not a regular file: not read" in loaded.problems
    assert "skipped docs/socket.md: a socket, not a regular file: not read" in loaded.problems
    assert direct.documents == [] and len(direct.problems) == 1 and "named pipe" in direct.problems[0]


def test_cli_index_of_a_folder_with_a_fifo_and_a_huge_word_finishes_and_says_so(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(workdir / "corpus" / "pipe.txt")
    (workdir / "corpus" / "minified.txt").write_text(HEAD + "x" * 200_000, encoding="utf-8")
    assert main(["index", "corpus", "-q"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "skipped corpus/pipe.txt: a named pipe (FIFO), not a regular file: not read" in out
    assert (
        "corpus/minified.txt: 1 over-long word (longest 200,011 characters) cut to "
        f"{MAX_WORD_CHARS} characters for indexing; the text is kept whole"
    ) in out
    assert "Indexed 4 documents" in out


class RecordingExtractor:
    """The offline extractor, keeping the texts it was given."""

    cache_key = "recording:v1"

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def extract(
        self, units: Sequence[TextUnit], progress: ProgressFn | None = None
    ) -> list[ChunkExtraction]:
        self.texts += [u.text for u in units]
        return await NlpExtractor().extract(units, progress)


async def test_over_long_words_are_cut_for_extraction_kept_whole_in_sources_and_named(
    tmp_path: Path, settings: Settings
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    token = "Snargleblat" + "x" * 20_000
    (docs / "asset.md").write_text(
        f"The Snargleblat word follows. {token}\n\nMaria Okafor wrote it.", "utf-8"
    )
    (docs / "plain.txt").write_text("Tomas Lindqvist maintains the Beacon API pipeline.", encoding="utf-8")
    store = open_store(settings.store_url)
    extractor = RecordingExtractor()
    summary = await build_index([docs], store, settings, extractor=extractor)

    assert [(c.source.endswith("asset.md"), c.count, c.longest) for c in summary.long_words] == [
        (True, 1, len(token))
    ]
    assert summary.problems == []  # a cut word is a note, not a skipped file
    seen = [word for text in extractor.texts for word in text.split()]
    assert max(map(len, seen)) == MAX_WORD_CHARS
    assert "Snargleblat" + "x" * (MAX_WORD_CHARS - 11) in seen  # cut, not dropped
    assert {"Maria", "Okafor", "Lindqvist"} <= set(seen)  # the rest reaches extraction unchanged

    export = await store.export("default")
    assert export is not None
    [asset] = [d for d in export.documents if d.source.endswith("asset.md")]
    text = (docs / "asset.md").read_text("utf-8")
    start, end = text.index(token), text.index(token) + len(token)
    units = sorted(
        (u for u in export.text_units if u.document_id == asset.id and u.end > start and u.start < end),
        key=lambda u: u.start,
    )
    covered = units[0].start
    assert covered <= start
    for unit in units:  # the sources show the word as written: chunks of it, overlapping, none cut short
        assert unit.text == text[unit.start : unit.end] and unit.start <= covered
        covered = max(covered, unit.end)
    assert covered >= end
    await store.close()


def test_long_words_and_cutting_them() -> None:
    limit = MAX_WORD_CHARS
    text = f"a {'y' * (limit + 1)}\n\tb {'z' * limit} {'w' * 5000}. c"
    assert long_words(text) == (2, 5001)
    assert cut_long_words(text) == f"a {'y' * limit}\n\tb {'z' * limit} {'w' * limit} c"
    plain = "Nothing here is longer than a few letters.\n" * 50
    assert long_words(plain) == (0, 0) and cut_long_words(plain) is plain


@pytest.mark.parametrize(
    "text",
    [
        "x" * 300_000,  # one word of 37,500 tokens
        ";-)" * 40_000,  # only punctuation: one token per character
        "1,ok\n" * 20_000,  # short lines
        ("Alice met Bob. " + " " * 3000 + "\n") * 100,  # long runs of white space
    ],
    ids=["one-long-word", "punctuation", "short-lines", "white-space"],
)
def test_chunks_of_pathological_documents_are_exact_and_cover_every_token(text: str) -> None:
    """Texts of more tokens than the chunker reads at a time, so spans are read ahead and dropped."""
    doc = Document(id=content_id(text), title="t", source="t.txt", text=text)
    size, overlap = 300, 30
    units = chunk_document(doc, size=size, overlap=overlap)
    spans = token_spans(text)
    index = {start: i for i, (start, _) in enumerate(spans)}
    expected_first = 0
    for unit in units:
        assert unit.text == text[unit.start : unit.end]
        assert 0 < unit.n_tokens == count_tokens(unit.text) <= size
        first = index[unit.start]
        assert first <= expected_first  # no token is skipped between chunks
        expected_first = first + unit.n_tokens
    assert expected_first == len(spans) and units[-1].end == spans[-1][1]


def test_linked_folders_are_followed_once_and_link_loops_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "notes.md").write_text("Maria Okafor designed the Lantern Engine.", encoding="utf-8")
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "own.txt").write_text("The Beacon API serves forecasts.", encoding="utf-8")
    (docs / "a_link").symlink_to(shared, target_is_directory=True)
    (docs / "b_again").symlink_to(shared, target_is_directory=True)
    (docs / "sub" / "loop").symlink_to(docs, target_is_directory=True)

    loaded = _load_in_thread([docs])
    assert [d.source for d in loaded.documents] == ["docs/a_link/notes.md", "docs/own.txt"]
    assert loaded.problems == [
        "skipped folder docs/b_again: already read as docs/a_link",
        "skipped folder docs/sub/loop: a link back to docs",
    ]
    only_links = tmp_path / "only_links"
    only_links.mkdir()
    (only_links / "shared").symlink_to(shared, target_is_directory=True)
    assert [d.source for d in load_documents([only_links]).documents] == ["only_links/shared/notes.md"]


async def test_progress_names_the_file_being_read(tmp_path: Path, settings: Settings) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("alpha.txt", "beta.md"):
        (docs / name).write_text(f"Maria Okafor wrote {name} for the Lantern Engine. " * 200, "utf-8")
    reports: list[tuple[str, str]] = []
    store = open_store(settings.store_url)
    await build_index([docs], store, settings, progress=lambda s, d, t, f="": reports.append((s, f)))
    await store.close()
    for stage in ("load", "chunk", "extract"):
        named = {Path(f).name for s, f in reports if s == stage and f}
        assert named == {"alpha.txt", "beta.md"}, stage
    assert not any(f for s, f in reports if s not in ("load", "chunk", "extract"))


def test_reindex_progress_line_names_the_file_and_cannot_ping() -> None:
    line = progress_line("docs", "extract", 3, 10, "shared/@channel <@U123> big.txt")
    assert "(3/10)" in line and "big.txt" in line
    assert "@channel" not in line and "<@" not in line
    assert "big.txt" not in progress_line("docs", "extract", 10, 10, "big.txt")  # finished: no file
