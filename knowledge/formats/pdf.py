"""PDF with a text layer: its lines, with the paragraph breaks a reader sees restored.

pypdf extracts each page's text line by line; a PDF has no paragraph marks, so a line that
ends a sentence well short of the page's usual line width ends its paragraph, and a lone
page number is no text. A PDF with no text at all is a scan: it needs OCR, which histbot
does not do, and says so.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
import warnings
from pathlib import Path

from knowledge.errors import SourceError

_PAGE_NUMBER = re.compile(r"^\s*(page\s+)?([0-9]{1,4}|[ivxlc]{1,6})\s*$", re.IGNORECASE)
_ENDS_SENTENCE = re.compile(r"[.!?:;”’\"')\]]\s*$")
_SHORT_LINE = 0.8  # of the usual line width


def pdf_to_text(path: Path, data: bytes) -> str:
    from pypdf import PdfReader  # imported here: only PDF readers pay for it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("pypdf").setLevel(logging.ERROR)
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise SourceError(f"PDF is encrypted: {path}")
            pages = [page.extract_text() or "" for page in reader.pages]
    except SourceError:
        raise
    except Exception as exc:  # a damaged file fails in the reader in many ways
        raise SourceError(f"not a readable PDF ({type(exc).__name__}): {path}") from None
    lines = [
        line.strip()
        for page in pages
        for line in page.splitlines()
        if line.strip() and not _PAGE_NUMBER.match(line)
    ]
    if not lines:
        raise SourceError(f"PDF has no text layer (a scan? run OCR on it first): {path}")
    return _paragraphs(lines)


def _paragraphs(lines: list[str]) -> str:
    usual = statistics.median(len(line) for line in lines)
    out: list[str] = []
    for line in lines:
        out.append(line)
        if _ENDS_SENTENCE.search(line) and len(line) < _SHORT_LINE * usual:
            out.append("")
    return "\n".join(out) + "\n"
