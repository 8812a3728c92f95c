"""Load documents from files and folders: plain text, Markdown, reStructuredText, PDF and HTML.

`load_documents` never raises for a bad input: every file or path it cannot use becomes one line in
`LoadResult.problems` ("skipped notes.bin: not a text file (binary content)") and loading goes on. Only regular
files are opened: a named pipe, socket or device would block a read forever or stream without end, so each is
told apart by `os.stat` first. Linked folders are followed, each real folder read once (a link loop ends there).

Text is normalised only as far as offsets need (line endings become "\\n", NULs are removed); chunk offsets
are into `Document.text` exactly. PDF pages are joined with "\\n\\f" (a form feed starts each page after the
first), so a character offset can be mapped back to a page number.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kg.model import Document, content_id
from kg.text.clean import escape_mentions_for_html, readable_mentions, without_controls

DEFAULT_MAX_FILE_MB = 50.0

TEXT_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".rst"})
PDF_EXTENSIONS = frozenset({".pdf"})
HTML_EXTENSIONS = frozenset({".html", ".htm"})
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS | PDF_EXTENSIONS | HTML_EXTENSIONS

# Folders never worth indexing (hidden ones, such as .git and .venv, are skipped as well).
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__"})

PDF_PAGE_SEPARATOR = "\n\f"
_SNIFF_BYTES = 8192
_ALLOWED_CONTROL = frozenset(b"\t\n\v\f\r\x1b\x08")

OnFile = Callable[[str, int, int], None]  # (source about to be read, files read so far, files found)


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line per skipped file or unusable path


class _Skip(Exception):
    """A file that cannot be used; the message says why (it follows "skipped NAME: ")."""


def load_documents(
    paths: Sequence[str | Path] | str | Path,
    *,
    max_file_mb: float = DEFAULT_MAX_FILE_MB,
    on_file: OnFile | None = None,
) -> LoadResult:
    """Load every supported file under `paths` (files, or folders read recursively in sorted order).

    Documents come in the order the paths were given (a folder's files sorted by path); a document whose
    text equals one already loaded is skipped. `max_file_mb` caps the size of one file (KG_MAX_FILE_MB).
    `on_file` is told of each file before it is read, so that a slow one can be named while it is.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    result = LoadResult()
    max_mb = max_file_mb
    seen_files: set[str] = set()
    seen_texts: dict[str, str] = {}  # document id -> source that first had this text
    seen_folders: dict[str, str] = {}  # real path -> the path it was first read as

    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            result.problems.append(f"missing path: {_display(path)}")
            continue
        if path.is_dir():
            files += _folder_files(path, result.problems, seen_folders)
        elif path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            result.problems.append(f"skipped {_display(path)}: {_unsupported(path)}")
        else:
            files.append(path)
    for done, file in enumerate(files):
        real = os.path.realpath(file)
        if real in seen_files:
            continue
        seen_files.add(real)
        source = _display(file)
        if on_file is not None:
            on_file(source, done, len(files))
        try:
            doc = _load_file(file, source, max_mb)
        except _Skip as skip:
            result.problems.append(f"skipped {source}: {skip}")
            continue
        except Exception as exc:  # a loader failed: report it, keep going
            result.problems.append(f"skipped {source}: could not read it ({_one_line(exc)})")
            continue
        if doc.id in seen_texts:
            result.problems.append(f"skipped {source}: same content as {seen_texts[doc.id]}")
            continue
        seen_texts[doc.id] = source
        result.documents.append(doc)
    return result


# ---------------------------------------------------------------------------------------------- paths


def _folder_files(root: Path, problems: list[str], seen_folders: dict[str, str]) -> list[Path]:
    """Supported files under `root`, sorted; reports unsupported ones in one summary line.

    Linked folders are followed; a folder already read (through another link, or the one a link loop leads
    back to) is skipped with one line saying so. `seen_folders` is shared by every path of one load.
    """
    found: list[Path] = []
    unsupported: list[Path] = []
    real_root = os.path.realpath(root)
    if real_root in seen_folders:
        problems.append(f"skipped folder {_display(root)}: already read as {seen_folders[real_root]}")
        return []
    seen_folders[real_root] = _display(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        kept = []
        for name in sorted(dirnames):
            if name.startswith(".") or name in SKIPPED_DIRS:
                continue
            folder = Path(dirpath) / name
            real = os.path.realpath(folder)
            if real in seen_folders:
                loop = os.path.commonpath([real, os.path.realpath(dirpath)]) == real  # leads to an ancestor
                how = "a link back to" if loop else "already read as"
                problems.append(f"skipped folder {_display(folder)}: {how} {seen_folders[real]}")
                continue
            seen_folders[real] = _display(folder)
            kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            if name.startswith("."):
                continue
            file = Path(dirpath) / name
            (found if file.suffix.lower() in SUPPORTED_EXTENSIONS else unsupported).append(file)
    found.sort(key=lambda p: p.relative_to(root).parts)
    if unsupported:
        kinds = sorted({p.suffix.lower() or "no extension" for p in unsupported})
        shown = ", ".join(kinds[:8]) + (", ..." if len(kinds) > 8 else "")
        n = len(unsupported)
        problems.append(
            f"ignored {n} file{'s' if n != 1 else ''} of unsupported types in {_display(root)} ({shown})"
        )
    if not found:
        problems.append(f"no supported documents in folder {_display(root)} ({_supported_list()})")
    return found


def _display(path: Path) -> str:
    """The path relative to the working directory when it lies inside it, else as given; printable."""
    absolute = Path(os.path.abspath(path))
    try:
        return printable_name(absolute.relative_to(Path.cwd()).as_posix())
    except ValueError:
        return printable_name(path.as_posix())


def printable_name(name: str) -> str:
    """A file name as one printable line. A name may hold a newline or, when its bytes are not UTF-8, lone
    surrogates (which no store or terminal can encode): such characters are shown escaped, as in `\\n`."""
    if name.isprintable():
        return name
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)


def _supported_list() -> str:
    return "supported: " + ", ".join(sorted(SUPPORTED_EXTENSIONS))


def _unsupported(path: Path) -> str:
    kind = path.suffix.lower() or "without an extension"
    return f"unsupported file type {kind} ({_supported_list()})"


# ---------------------------------------------------------------------------------------------- files


def _load_file(path: Path, source: str, max_mb: float) -> Document:
    try:
        info = path.stat()  # follows links; never opens the file
    except FileNotFoundError:
        raise _Skip("broken link (its target is missing)" if path.is_symlink() else "file is gone") from None
    if not stat.S_ISREG(info.st_mode):
        raise _Skip(f"{_file_kind(info.st_mode)}, not a regular file: not read")
    size = info.st_size
    if size == 0:
        raise _Skip("empty file")
    if size > max_mb * 1024 * 1024:
        raise _Skip(f"larger than {max_mb:g} MB (set KG_MAX_FILE_MB)")

    suffix = path.suffix.lower()
    title = printable_name(path.stem)
    if suffix in PDF_EXTENSIONS:
        text, pdf_title = _read_pdf(path)
        title = pdf_title or title
    elif suffix in HTML_EXTENSIONS:
        text, html_title = _read_html(path)
        title = html_title or title
    else:
        text = _decode(path.read_bytes())
    text = normalise_text(text)
    title = " ".join(normalise_text(title).split())  # a title is shown as one readable line
    if not text.strip():
        raise _Skip("no text in the PDF (scanned pages need OCR)" if suffix == ".pdf" else "empty file")
    return Document(id=content_id(text), title=title, source=source, text=text)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a folder" if stat.S_ISDIR(mode) else "a special file"


def normalise_text(text: str) -> str:
    """Line endings to "\\n", control characters removed, chat mention markup made readable (kg/text/clean.py)."""
    return readable_mentions(without_controls(text.replace("\r\n", "\n").replace("\r", "\n")))


def _decode(data: bytes) -> str:
    """Text from bytes: BOMs honoured, then UTF-8, then Windows-1252 (latin-1 for its five holes)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if _looks_binary(data):
        raise _Skip("not a text file (binary content)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Not UTF-8 throughout: a Latin-1/Windows-1252 file, or UTF-8 with a few such bytes pasted in. Valid UTF-8
    # sequences are read as UTF-8 ("café" stays "café", never "cafÃ©") and each other byte as Windows-1252.
    text = data.decode("utf-8", errors="surrogateescape")
    return _STRAY_BYTE.sub(lambda m: _single_byte(ord(m.group()) - 0xDC00), text)


_STRAY_BYTE = re.compile("[\udc80-\udcff]")


def _single_byte(byte: int) -> str:
    """A byte as Windows-1252 reads it, or as Latin-1 for the five bytes Windows-1252 leaves undefined."""
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return bytes([byte]).decode("latin-1")


def _looks_binary(data: bytes) -> bool:
    """Mostly control bytes, or NULs beyond a stray few: a text file holding a few control characters is text
    (they are removed), not binary."""
    sample = data[:_SNIFF_BYTES]
    if sample.count(b"\x00") > max(2, len(sample) // 100):
        return True
    control = sum(1 for b in sample if (b < 32 or b == 127) and b not in _ALLOWED_CONTROL)
    return control > max(4, len(sample) * 0.1)


@contextmanager
def _quiet() -> Iterator[None]:
    """Hide pypdf's log chatter and warnings about malformed files: a skipped page is not the user's problem."""
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        pypdf_log.setLevel(level)


def _read_pdf(path: Path) -> tuple[str, str]:
    """The text of every page, pages joined by PDF_PAGE_SEPARATOR, and the title the PDF's metadata gives."""
    with path.open("rb") as f:
        if b"%PDF" not in f.read(1024):
            raise _Skip("not a PDF file (no %PDF header)")
    with _quiet():
        # Imported here: only PDFs need it, and `kgbot ask` never does.
        from pypdf import PdfReader

        try:
            reader = PdfReader(path)
            pages = [page.extract_text(extraction_mode="plain").strip() for page in reader.pages]
            title = str((reader.metadata.title if reader.metadata else None) or "").strip()
        except Exception as exc:
            if "decrypt" in f"{type(exc).__name__} {exc}".lower():
                raise _Skip("password-protected PDF") from exc
            raise
    return PDF_PAGE_SEPARATOR.join(pages), title


# Elements that start a new line / a new paragraph in the extracted text.
_LINE_TAGS = frozenset({"br", "li", "dt", "dd", "tr", "td", "th", "caption", "figcaption", "option"})
_PARAGRAPH_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav", "ol",
        "p", "pre", "section", "summary", "table", "ul",
    }
)  # fmt: skip
_SKIPPED_TAGS = frozenset(
    {"head", "title", "script", "style", "noscript", "template", "svg", "canvas", "iframe"}
)
_STRUCTURE_MARKS = {"li": "- ", **{f"h{level}": "#" * level + " " for level in range(1, 7)}}
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _read_html(path: Path) -> tuple[str, str]:
    """Visible text of an HTML page, one line per block element, and its <title>.

    Parsed with BeautifulSoup's html.parser (lxml is not a dependency). langchain-community's BSHTMLLoader
    is not used: it joins every text node with one fixed separator, which either glues paragraphs together
    ("" ) or breaks sentences at each <b>/<a> ("\\n"), and its title is "None" when <title> holds markup.
    """
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, PreformattedString, Tag

    soup = BeautifulSoup(escape_mentions_for_html(_decode(path.read_bytes())), "html.parser")
    title = _SPACES.sub(" ", soup.title.get_text()).strip() if soup.title else ""

    out: list[str] = []
    pending_break = 0  # newlines owed before the next text: 1 = line, 2 = paragraph
    # Iterative walk (deeply nested pages must not hit the recursion limit): (node, in_pre) or a break marker.
    stack: list[tuple[object, bool] | int] = [(soup, False)]
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            pending_break = max(pending_break, item)
            continue
        node, in_pre = item
        if isinstance(node, PreformattedString):  # comments, doctype, CDATA, processing instructions
            continue
        if isinstance(node, NavigableString):
            text = str(node) if in_pre else _SPACES.sub(" ", str(node))
            if not text.strip() and not in_pre:
                if out and not pending_break and text and not out[-1].endswith(" "):
                    out.append(" ")
                continue
            if pending_break and out:
                out.append("\n" * pending_break)
                text = text.lstrip(" ") if not in_pre else text
            elif out and out[-1].endswith(" ") and text.startswith(" "):
                text = text.lstrip(" ")
            pending_break = 0
            out.append(text)
            continue
        if not isinstance(node, Tag) or node.name in _SKIPPED_TAGS:
            continue
        brk = 2 if node.name in _PARAGRAPH_TAGS else 1 if node.name in _LINE_TAGS else 0
        if brk:
            stack.append(brk)
        stack.extend((child, in_pre or node.name == "pre") for child in reversed(node.contents))
        mark = _STRUCTURE_MARKS.get(node.name)
        if mark:  # list items and headings keep their structure as markdown marks (kg/text/sentences.py)
            stack.append((NavigableString(mark), False))
        if brk:
            stack.append(brk)
    text = "\n".join(line.rstrip(" ") for line in "".join(out).split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip(), title


def _one_line(exc: BaseException) -> str:
    message = " ".join(str(exc).split()) or "no details"
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{type(exc).__name__}: {message}"
