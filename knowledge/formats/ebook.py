"""EPUB: the chapters in reading (spine) order, each titled from the book's table of contents.

EbookLib reads the container, the package and the NCX/nav table of contents; each chapter's
XHTML then goes through the HTML reader. A chapter the contents name gets that name as its
heading (replacing the headings it prints above its first paragraph, which say the same).
An EPUB is a zip: its declared expanded size is checked before anything is unpacked, so a
zip bomb is refused, not inflated.
"""

from __future__ import annotations

import io
import logging
import posixpath
import warnings
import zipfile
from pathlib import Path
from urllib.parse import unquote

from knowledge.errors import SourceError
from knowledge.formats.markup import html_to_text

MAX_EXPANDED_BYTES = 512 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200


def epub_to_text(path: Path, data: bytes) -> str:
    _check_container(path, data)
    import ebooklib  # imported here: only EPUB readers pay for it
    from ebooklib import epub

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("ebooklib").setLevel(logging.ERROR)
            book = epub.read_epub(io.BytesIO(data), {"ignore_ncx": False})
        titles = _toc_titles(book.toc)
        chapters = []
        for idref, *_ in book.spine:
            item = book.get_item_with_id(idref)
            if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
                continue
            text = html_to_text(item.get_content())
            title = titles.get(posixpath.normpath(unquote(item.get_name())))
            chapters.append(_titled(text, title) if title else text)
    except SourceError:
        raise
    except Exception as exc:  # a malformed package fails in the reader in many ways
        raise SourceError(f"not a readable EPUB ({type(exc).__name__}): {path}") from None
    text = "\n".join(chapters)
    if not text.strip():
        raise SourceError(f"EPUB has no text in its chapters: {path}")
    return text


def _check_container(path: Path, data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise SourceError(f"not a valid EPUB (not a zip archive): {path}") from None
    expanded = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members) or 1
    if expanded > MAX_EXPANDED_BYTES or expanded > MAX_COMPRESSION_RATIO * max(packed, 2**20):
        raise SourceError(
            f"EPUB would expand to {expanded // 2**20} MB (a zip bomb?), refused: {path}"
        )


def _toc_titles(toc: object) -> dict[str, str]:
    """File name -> title of the first contents entry pointing at the file itself."""
    titles: dict[str, str] = {}

    def visit(entries: object) -> None:
        for entry in entries if isinstance(entries, list | tuple) else [entries]:
            if isinstance(entry, tuple) and len(entry) == 2:
                visit(entry[0])
                visit(entry[1])
                continue
            href, title = getattr(entry, "href", None), getattr(entry, "title", None)
            if href and title:
                name = posixpath.normpath(unquote(href.split("#", 1)[0]))
                titles.setdefault(name, " ".join(str(title).split()))

    visit(toc)
    return titles


def _titled(text: str, title: str) -> str:
    """The chapter under its contents title, without the headings printed above its text."""
    paragraphs = text.split("\n\n")
    while paragraphs and paragraphs[0].startswith("# "):
        paragraphs.pop(0)
    return "\n\n".join([f"# {title}", *paragraphs])
