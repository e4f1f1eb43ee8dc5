"""The formats people have: .txt, .md, .html, .epub and .pdf, and every way a file can be bad.

Each fixture is made here, in the test, the way its format's tools make it.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from ebooklib import epub
from pypdf import PdfWriter

from knowledge import Library, PassageKind, SourceError
from knowledge.formats import read_document, read_document_bytes

BATTLE = "The battle was fought at dawn, and the legions broke the enemy line before noon."
SIEGE = "The siege lasted seven months, until hunger opened the gates of the city."


def load(folder: Path, file: str, title: str = "A Study Text") -> Library:
    (folder / "sources.toml").write_text(
        f'[[sources]]\nid = "text"\nfile = "{file}"\ntitle = "{title}"\n', encoding="utf-8"
    )
    return Library.load(folder)


def test_markdown_reads_as_the_words_it_shows(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text(
        "The Wars\n========\n\n"
        f"{BATTLE[:38]}\n{BATTLE[39:]} See [the map](https://example.org/map).\n\n"
        "## The Siege\n\n"
        f"*{SIEGE}*\n\n"
        "> We ate the leather of our shields.\n\n"
        "- **Hunger** came first.\n- Then plague.\n",
        encoding="utf-8",
    )
    library = load(tmp_path, "notes.md")
    assert [s.title for s in library.sections("text")] == ["The Wars", "The Siege"]
    texts = [p.text for p in library.passages]
    assert texts[0] == f"{BATTLE} See the map."
    assert texts[1] == SIEGE and "Hunger came first." in texts
    quote = next(p for p in library.passages if "leather" in p.text)
    assert quote.kind is PassageKind.QUOTATION


def test_html_reads_the_article_not_scripts_styles_or_navigation(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_bytes(
        (
            "<!DOCTYPE html><html><head><title>Site title</title>"
            "<style>p { color: red }</style><script>var tracking = 'siege';</script></head>"
            "<body><nav><a href='/'>Home</a> | <a href='/about'>About the siege blog</a></nav>"
            "<header><p>The History Blog: all about sieges</p></header>"
            "<main><h1>The Siege of the City</h1>"
            f"<p>{SIEGE}<sup>1</sup></p>"
            "<h2>Aftermath</h2>"
            f"<p>{BATTLE}</p>"
            "<blockquote><p>“We ate the leather of our shields.”</p></blockquote>"
            "<p class='footnote'>[1] Livy, book V.</p>"
            "</main>"
            "<aside>Related: other sieges</aside>"
            "<footer>© 2024 The History Blog. All rights reserved.</footer>"
            "<script>console.log('siege')</script></body></html>"
        ).encode()
    )
    library = load(tmp_path, "page.html")
    assert [s.title for s in library.sections("text")] == ["The Siege of the City", "Aftermath"]
    siege, battle, quote = library.passages
    assert (siege.text, siege.notes) == (SIEGE, ("Livy, book V.",))
    assert battle.text == BATTLE
    assert quote.kind is PassageKind.QUOTATION
    everything = " ".join(p.text for p in library.passages)
    for chrome in ("Home", "tracking", "color", "History Blog", "Related", "rights reserved"):
        assert chrome not in everything


def make_epub(path: Path, *, chapters: list[tuple[str, str, str]], spine: list[str]) -> None:
    """chapters: (file name, contents title, body html); spine: file names in reading order."""
    book = epub.EpubBook()
    book.set_identifier("histbot-test")
    book.set_title("A Study Text")
    book.set_language("en")
    items = {}
    for name, title, body in chapters:
        item = epub.EpubHtml(title=title, file_name=name, lang="en")
        item.content = f"<html><body>{body}</body></html>"
        book.add_item(item)
        items[name] = item
    book.toc = [epub.Link(name, title, name) for name, title, _ in chapters]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = [items[name] for name in spine]
    epub.write_epub(str(path), book)


def test_epub_chapters_in_spine_order_titled_from_the_contents(tmp_path: Path) -> None:
    make_epub(
        tmp_path / "book.epub",
        chapters=[
            ("b.xhtml", "Chapter II. The Siege", f"<h2>CHAPTER II</h2><p>{SIEGE}</p>"),
            ("a.xhtml", "Chapter I. The Battle", f"<h1>Chapter One</h1><p>{BATTLE}</p>"),
        ],
        spine=["a.xhtml", "b.xhtml"],
    )
    library = load(tmp_path, "book.epub")
    assert [s.title for s in library.sections("text")] == [
        "Chapter I. The Battle",
        "Chapter II. The Siege",
    ]
    assert [p.text for p in library.passages] == [BATTLE, SIEGE]
    assert library.passage("text:2.1").citation == "A Study Text, ch. II, para. 1"


def make_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose pages print these lines in Helvetica: a real text layer."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for lines in pages:
        stream = (
            "BT /F1 11 Tf 72 720 Td 14 TL "
            + " ".join(
                "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*"
                for line in lines
            )
            + " ET"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream".encode())
        content = len(objects)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write(b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets))
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def test_pdf_with_a_text_layer(tmp_path: Path) -> None:
    (tmp_path / "article.pdf").write_bytes(
        make_pdf(
            [
                [
                    "The Siege",
                    "The siege lasted seven months, until hunger opened the gates of",
                    "the city, and the garrison marched out under the eyes of the",
                    "besiegers, who let them pass unharmed.",
                    "The battle was fought at dawn, and the legions broke the enemy",
                    "line before noon.",
                    "1",
                ],
                [
                    "The war ended with a treaty that gave the province to the victors",
                    "and its mines to their allies.",
                    "2",
                ],
            ]
        )
    )
    library = load(tmp_path, "article.pdf")
    assert [s.title for s in library.sections("text")] == ["The Siege"]
    assert [p.text for p in library.passages] == [
        "The siege lasted seven months, until hunger opened the gates of the city, and the "
        "garrison marched out under the eyes of the besiegers, who let them pass unharmed.",
        BATTLE,
        "The war ended with a treaty that gave the province to the victors and its mines to "
        "their allies.",
    ]


def zip_bomb() -> bytes:
    """An EPUB-shaped zip whose one member inflates from well under a megabyte to 256 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        with archive.open("OEBPS/chapter.xhtml", "w", force_zip64=True) as member:
            chunk = b"\0" * 2**20
            for _ in range(256):
                member.write(chunk)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("text.txt", b"\x00\x01\x02binary\x00data" * 10, "looks binary"),
        ("text.txt", b"   \n\n", "empty"),
        ("text.txt", "Caf\u00e9 au lait, vers 1850.".encode("latin-1"), "not UTF-8"),
        ("text.md", b"", "empty"),
        ("setup.exe", b"MZ\x90\x00\x03", "unsupported file type '.exe'"),
        ("book.epub", b"PK\x03\x04 not really a zip archive at all", "not a valid EPUB"),
        ("book.epub", None, "not a readable EPUB"),
        ("bomb.epub", zip_bomb, "zip bomb"),
        ("scan.pdf", None, "no text layer"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", "not a readable PDF"),
    ],
)
def test_every_bad_file_gives_one_line_naming_it(
    tmp_path: Path, name: str, content: bytes | Callable[[], bytes] | None, message: str
) -> None:
    path = tmp_path / name
    if callable(content):
        path.write_bytes(content())
    elif content is not None:
        path.write_bytes(content)
    elif name == "book.epub":  # a zip, but no EPUB package inside
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("mimetype", "application/epub+zip")
            archive.writestr("chapter.xhtml", "<html><body><p>Loose.</p></body></html>")
    else:  # a scanned page: an image, no text
        writer = PdfWriter()
        writer.add_blank_page(width=612, height=792)
        writer.write(path)
    with pytest.raises(SourceError, match=message) as caught:
        read_document(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    # The same checks for a file already in memory (an upload), named by its file name.
    with pytest.raises(SourceError, match=message) as caught:
        read_document_bytes(Path(name), path.read_bytes())
    assert str(caught.value).endswith(f": {name}") and "\n" not in str(caught.value)
    with pytest.raises(SourceError, match=message) as caught:
        load(tmp_path, name)
    assert "text of 'text'" in str(caught.value) and "\n" not in str(caught.value)
