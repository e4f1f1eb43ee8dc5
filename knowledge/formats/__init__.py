"""Turning a file into the plain text the parser reads, whatever format people have.

Plain text is read as it is. Markdown, HTML, EPUB and PDF become the parser's plain form:
one paragraph a line between blank lines, headings as `# …` lines, block quotations as
`> …` lines, footnote markers as `[N]` — so the typography rules live in one place
(`knowledge.parsing`) and a new format only has to say where its paragraphs and headings are.

Every bad file raises one SourceError line naming the path: an unsupported type, a binary,
empty or undecodable file, a malformed or oversized EPUB, a PDF without a text layer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge.errors import SourceError

MAX_FILE_BYTES = 256 * 1024 * 1024
"""No study text is bigger; a bigger file is refused before it is read whole."""


def read_plain(path: Path, data: bytes) -> str:
    return decode_text(path, data)


# The readers import their parsers when used: a process answering from a cached index reads
# no file, and bs4, markdown-it and pypdf would be megabytes in each search worker.


def read_markdown(path: Path, data: bytes) -> str:
    from knowledge.formats import markup

    return markup.markdown_to_text(decode_text(path, data))


def read_html(path: Path, data: bytes) -> str:
    from knowledge.formats import markup

    text = markup.html_to_text(data)
    if "\x00" in text:
        raise SourceError(f"looks binary, not HTML: {path}")
    return text


def read_epub(path: Path, data: bytes) -> str:
    from knowledge.formats import ebook

    return ebook.epub_to_text(path, data)


def read_pdf(path: Path, data: bytes) -> str:
    from knowledge.formats import pdf

    return pdf.pdf_to_text(path, data)


READERS: dict[str, Callable[[Path, bytes], str]] = {
    ".txt": read_plain,
    ".text": read_plain,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".xhtml": read_html,
    ".epub": read_epub,
    ".pdf": read_pdf,
}
SUPPORTED = (".txt", ".md", ".html", ".epub", ".pdf")


def read_document(path: Path) -> str:
    """The text of a file in any supported format, as the parser reads it."""
    _reader(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(f"file is over {MAX_FILE_BYTES // 2**20} MB: {path}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"file not found: {path}") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    return read_document_bytes(path, data)


def read_document_bytes(name: Path, data: bytes) -> str:
    """The text of a file already in memory (an upload), with the same checks as
    `read_document`; `name` (its file name) picks the reader and names it in messages."""
    reader = _reader(name)
    if len(data) > MAX_FILE_BYTES:
        raise SourceError(f"file is over {MAX_FILE_BYTES // 2**20} MB: {name}")
    if not data.strip():
        raise SourceError(f"file is empty: {name}")
    text = reader(name, data)
    if not text.strip():
        raise SourceError(f"file has no text: {name}")
    return text


def _reader(path: Path) -> Callable[[Path, bytes], str]:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        kinds = ", ".join(SUPPORTED)
        raise SourceError(f"unsupported file type {path.suffix or '(none)'!r} ({kinds}): {path}")
    return reader


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 (with or without BOM); a NUL or a run of control characters means binary."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (byte {exc.start}): {path}") from None
    controls = sum(1 for ch in text[:100_000] if ord(ch) < 32 and ch not in "\t\n\r\f")
    if "\x00" in text or controls > 0.01 * min(len(text), 100_000):
        raise SourceError(f"looks binary, not text: {path}")
    return text
