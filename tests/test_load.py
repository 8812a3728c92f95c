"""Loading documents: folders, file types, encodings, and a clear problem line for every skipped file."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg.index.load import load_documents
from kg.model import content_id


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF written by hand: each page shows its lines in Helvetica."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    contents = []
    for lines in pages:
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        contents.append(add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)))
    pages_id = len(objects) + len(pages) + 1
    kids = [
        add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, content, font)
        )
        for content in contents
    ]
    refs = b" ".join(b"%d 0 R" % kid for kid in kids)
    assert add(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))) == pages_id
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    info = add(b"<< /Title (%s) >>" % title.encode("latin-1")) if title else 0

    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"<< /Size %d /Root %d 0 R%s >>" % (
        len(objects) + 1,
        catalog,
        b" /Info %d 0 R" % info if info else b"",
    )
    out += b"trailer\n%s\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref)
    return bytes(out)


HTML = """<!DOCTYPE html>
<html><head><title>Team <em>Handbook</em></title>
<style>p { color: red }</style><script>var secret = "not text";</script></head>
<body><h1>Welcome</h1><p>Harbor Lights was founded by <b>Maria Okafor</b> in Saltmere. It sells <a href="#">forecasts</a>.</p><ul><li>Radar</li><li>Buoys</li></ul>
<!-- a comment -->
<p>Second   paragraph,
wrapped.</p></body></html>
"""


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_bytes(data.encode("utf-8"))
    return path


@pytest.fixture
def docs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "docs"
    write(root / "b_notes.txt", "Tomas Lindqvist maintains the data pipeline.\r\nIt runs hourly.\r\n")
    write(root / "a_readme.md", "# Lantern\n\nThe Lantern Engine forecasts waves.\n")
    write(root / "guide.rst", "Guide\n=====\n\nRead the Beacon API docs.\n")
    write(root / "sub" / "page.html", HTML)
    write(
        root / "sub" / "deeper" / "manual.pdf",
        make_pdf(
            [["Lantern Engine manual.", "Buoy data arrives every ten minutes."], ["Page two (appendix)."]],
            "Lantern Manual",
        ),
    )
    write(root / ".git" / "config.txt", "hidden folder text")
    write(root / ".hidden.md", "hidden file text")
    write(root / "node_modules" / "pkg" / "README.md", "vendored text")
    write(root / "__pycache__" / "x.txt", "cache text")
    write(root / "sub" / ".venv" / "lib.txt", "venv text")
    return root


def test_folder_is_loaded_recursively_in_sorted_order(docs_dir: Path) -> None:
    result = load_documents(["docs"])
    assert result.problems == []
    assert [d.source for d in result.documents] == [
        "docs/a_readme.md",
        "docs/b_notes.txt",
        "docs/guide.rst",
        "docs/sub/deeper/manual.pdf",
        "docs/sub/page.html",
    ]
    by_source = {d.source: d for d in result.documents}
    for doc in result.documents:
        assert doc.id == content_id(doc.text)
        assert doc.text_unit_ids == []
        assert "hidden" not in doc.text and "vendored" not in doc.text and "venv" not in doc.text

    notes = by_source["docs/b_notes.txt"]
    assert notes.title == "b_notes"
    assert (
        notes.text == "Tomas Lindqvist maintains the data pipeline.\nIt runs hourly.\n"
    )  # \r\n -> \n, else identical
    assert by_source["docs/a_readme.md"].text == "# Lantern\n\nThe Lantern Engine forecasts waves.\n"
    assert by_source["docs/guide.rst"].title == "guide"

    pdf = by_source["docs/sub/deeper/manual.pdf"]
    assert pdf.title == "Lantern Manual"  # from the PDF metadata
    assert "Lantern Engine manual." in pdf.text
    assert "Buoy data arrives every ten minutes." in pdf.text
    first_page, second_page = pdf.text.split("\f")
    assert "Page two (appendix)." in second_page and "Page two" not in first_page

    html = by_source["docs/sub/page.html"]
    assert html.title == "Team Handbook"
    assert html.text == (  # headings and list items keep their structure, as markdown marks
        "# Welcome\n\n"
        "Harbor Lights was founded by Maria Okafor in Saltmere. It sells forecasts.\n\n"
        "- Radar\n- Buoys\n\n"
        "Second paragraph, wrapped."
    )


def test_loading_is_deterministic(docs_dir: Path) -> None:
    first = load_documents(["docs"])
    second = load_documents([docs_dir])  # absolute path inside the working directory: same sources
    assert [(d.id, d.source, d.title) for d in first.documents] == [
        (d.id, d.source, d.title) for d in second.documents
    ]


def test_files_and_folders_in_the_order_given(docs_dir: Path) -> None:
    result = load_documents(["docs/sub/page.html", "docs/guide.rst", "docs"])
    sources = [d.source for d in result.documents]
    assert sources[:2] == ["docs/sub/page.html", "docs/guide.rst"]
    assert sorted(sources) == sorted(set(sources)) and len(sources) == 5  # each file once
    assert result.problems == []


def test_a_single_path_string_is_accepted(docs_dir: Path) -> None:
    result = load_documents("docs/guide.rst")
    assert [d.source for d in result.documents] == ["docs/guide.rst"]


def test_binary_file_named_txt_is_skipped_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d" / "image.txt", bytes(range(256)) * 4)
    write(tmp_path / "d" / "controls.md", b"\x01\x02\x03\x04\x05\x06 abc" * 100)
    write(tmp_path / "d" / "ok.txt", "Fine text.")
    result = load_documents(["d"])
    assert [d.source for d in result.documents] == ["d/ok.txt"]
    assert result.problems == [
        "skipped d/controls.md: not a text file (binary content)",
        "skipped d/image.txt: not a text file (binary content)",
    ]


def test_empty_and_whitespace_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "empty.txt", b"")
    write(tmp_path / "blank.md", "  \n\n\t\n")
    result = load_documents(["empty.txt", "blank.md"])
    assert result.documents == []
    assert result.problems == ["skipped empty.txt: empty file", "skipped blank.md: empty file"]


def test_non_utf8_text_is_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = "Café Zoë – a naïve “résumé” costs 5 €.\n"
    write(tmp_path / "cp1252.txt", text.encode("cp1252"))
    write(tmp_path / "latin1.md", "Ångström façade\n".encode("latin-1"))
    write(tmp_path / "bom.txt", "\ufeffWith a BOM.\n".encode())
    write(tmp_path / "utf16.txt", "Wide text, ünïcode.\n".encode("utf-16"))
    result = load_documents(["cp1252.txt", "latin1.md", "bom.txt", "utf16.txt"])
    assert result.problems == []
    assert [d.text for d in result.documents] == [
        text,
        "Ångström façade\n",
        "With a BOM.\n",
        "Wide text, ünïcode.\n",
    ]


def test_hostile_text_is_kept_decoded_and_cleaned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "bell.txt", b"Ledger notes.\x07 The bell\x01 rang\x00 at \x1b[31mnoon\x1b[0m.\n")
    write(tmp_path / "mixed.md", "Caf\u00e9 menu: ".encode() + b"caf\xe9 au lait, cr\xe8me.\n")
    write(tmp_path / "Blorptown <!channel> page.md", "Announced to <!channel> and <@U42|maria> today.\n")
    write(
        tmp_path / "post.html",
        "<html><head><title>Ship \x07<!here> notes</title></head>"
        "<body><h2>Owners</h2><ul><li><b>Billing API</b> is owned by Marcus</li><li>Auth is Lena's</li></ul>"
        "<p>It was announced to <!channel> and <@U1> today.</p></body></html>",
    )
    result = load_documents(["bell.txt", "mixed.md", "Blorptown <!channel> page.md", "post.html"])
    assert result.problems == []  # a few control characters do not make a text file binary
    bell, mixed, titled, html = result.documents
    assert bell.text == "Ledger notes. The bell rang at noon.\n"
    assert mixed.text == "Café menu: café au lait, crème.\n"  # UTF-8 and Latin-1 bytes in one file
    assert titled.title == "Blorptown @channel page"
    assert titled.text == "Announced to @channel and @maria today.\n"
    assert html.title == "Ship @here notes"
    assert html.text == (
        "## Owners\n\n- Billing API is owned by Marcus\n- Auth is Lena's\n\n"
        "It was announced to @channel and @U1 today."
    )
    for doc in result.documents:
        assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in doc.text + doc.title)


def test_missing_path_and_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    write(tmp_path / "only_hidden" / ".secret.txt", "hidden")
    result = load_documents(["docs/nope", "empty", "only_hidden"])
    assert result.documents == []
    assert result.problems[0] == "missing path: docs/nope"
    assert result.problems[1].startswith("no supported documents in folder empty (supported: .htm, .html,")
    assert result.problems[2].startswith("no supported documents in folder only_hidden")
    assert len(result.problems) == 3


def test_file_over_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "big.txt", "word " * 1000)  # 5,000 bytes
    write(tmp_path / "small.txt", "word " * 100)
    result = load_documents(["big.txt", "small.txt"], max_file_mb=0.002)  # ~2,097 bytes
    assert [d.source for d in result.documents] == ["small.txt"]
    assert result.problems == ["skipped big.txt: larger than 0.002 MB (set KG_MAX_FILE_MB)"]
    assert len(load_documents(["big.txt"]).documents) == 1  # the default limit is 50 MB


def test_unsupported_files_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d" / "photo.png", b"\x89PNG....")
    write(tmp_path / "d" / "sub" / "archive.zip", b"PK\x03\x04")
    write(tmp_path / "d" / "sub" / "more.png", b"\x89PNG....")
    write(tmp_path / "d" / "Makefile", "all:\n")
    write(tmp_path / "d" / "doc.txt", "Some text.")
    write(tmp_path / "d" / "UPPER.TXT", "Upper-case extension.")
    write(tmp_path / "data.csv", "a,b\n1,2\n")
    result = load_documents(["d", "data.csv"])
    assert [d.source for d in result.documents] == ["d/UPPER.TXT", "d/doc.txt"]
    assert result.problems == [
        "ignored 4 files of unsupported types in d (.png, .zip, no extension)",
        "skipped data.csv: unsupported file type .csv (supported: .htm, .html, .markdown, .md, .pdf, .rst, .txt)",
    ]


def test_duplicate_documents_are_loaded_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d" / "a.txt", "Same words.\n")
    write(tmp_path / "d" / "copy" / "a.md", "Same words.\r\n")  # equal after normalisation
    write(tmp_path / "d" / "other.txt", "Different words.\n")
    result = load_documents(["d", "d/a.txt"])  # the same file twice is silently read once
    assert [d.source for d in result.documents] == ["d/a.txt", "d/other.txt"]
    assert result.problems == ["skipped d/copy/a.md: same content as d/a.txt"]


def test_broken_files_become_problem_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "fake.pdf", "This is not a PDF at all.")
    write(tmp_path / "broken.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 8)
    write(tmp_path / "blank.pdf", make_pdf([[]]))
    write(tmp_path / "locked.pdf", _encrypted_pdf())
    write(tmp_path / "good.txt", "Still loaded.")
    result = load_documents(["fake.pdf", "broken.pdf", "blank.pdf", "locked.pdf", "good.txt"])
    assert [d.source for d in result.documents] == ["good.txt"]
    fake, broken, blank, locked = result.problems
    assert fake == "skipped fake.pdf: not a PDF file (no %PDF header)"
    assert broken.startswith("skipped broken.pdf: could not read it (") and "\n" not in broken
    assert blank == "skipped blank.pdf: no text in the PDF (scanned pages need OCR)"
    assert locked == "skipped locked.pdf: password-protected PDF"


def _encrypted_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret", algorithm="RC4-128")  # pypdf's own RC4: no cryptography package needed
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_source_outside_working_directory_is_kept_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "outside" / "x.txt", "Outside.")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    result = load_documents(["../outside/x.txt", tmp_path / "outside"])
    assert [d.source for d in result.documents] == ["../outside/x.txt"]
    assert result.problems == []  # the same file reached twice is read once


def test_no_library_warnings_reach_the_user(tmp_path: Path) -> None:
    """In a fresh interpreter (so pypdf is imported for the first time) with warnings as errors."""
    write(tmp_path / "m.pdf", make_pdf([["Quiet please."]]))
    code = "import sys; from kg.index.load import load_documents; r = load_documents([sys.argv[1]]); print(r.documents[0].text)"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code, str(tmp_path / "m.pdf")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Quiet please."
    assert done.stderr == ""


def test_html_inline_spacing_preformatted_text_and_bare_title(tmp_path: Path) -> None:
    page = write(
        tmp_path / "t.htm",
        "<title>Bare title</title>\n"
        "<div> one <b>two</b> <i>three</i> <span> </span> four<br>five&nbsp;six</div>"
        "<pre>\n  code  line\n    indented\n</pre><table><tr><td>a</td><td>b</td></tr></table>",
    )
    (doc,) = load_documents([page]).documents
    assert doc.title == "Bare title"
    assert doc.text == "one two three four\nfive six\n\n  code  line\n    indented\n\na\nb"
