"""HTML and Markdown: the article's own text, with its headings, paragraphs and quotations.

HTML is parsed by BeautifulSoup over lxml (forgiving of the broken markup real pages have).
What a page wraps around its text is dropped by element, not by guesswork: scripts, styles,
navigation, headers, footers, asides, forms; when the page marks its text (`<main>`,
`role=main`, `<article>`) only that is read. Markdown is rendered to HTML by markdown-it-py
(CommonMark), so emphasis, links, lists and code read as the words they show.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from markdown_it import MarkdownIt

_DROPPED = (
    "script style noscript template svg math nav header footer aside form button "
    "select iframe object embed canvas audio video head title meta link"
).split()
_DROPPED_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu"}
_HEADINGS = {f"h{level}" for level in range(1, 7)}
_BLOCKS = set(
    "p div section article main body li ul ol dl dd dt pre table tbody thead tfoot tr td th "
    "caption figure figcaption address center hr details summary".split()
)
_NOTE_MARK = re.compile(r"^\s*\[?\s*([0-9]{1,4}[a-z]?|[*†‡§])\s*\]?\s*$")


def html_to_text(html: bytes | str) -> str:
    """The page's text in the parser's plain form (see knowledge.formats)."""
    soup = BeautifulSoup(html, "lxml")
    for tag in soup.find_all(_is_dropped):
        tag.decompose()
    root = soup.find("main") or soup.find(attrs={"role": "main"}) or _only_article(soup)
    lines: list[str] = []
    _walk(root or soup.body or soup, lines, quoted=False)
    return "\n\n".join(lines) + "\n"


def markdown_to_text(markdown: str) -> str:
    return html_to_text(MarkdownIt("commonmark").render(markdown.lstrip("\ufeff")))


def _is_dropped(tag: Tag) -> bool:
    if tag.name in _DROPPED:
        return True
    attrs = tag.attrs or {}
    return (
        attrs.get("role") in _DROPPED_ROLES
        or attrs.get("aria-hidden") == "true"
        or "hidden" in attrs
    )


def _only_article(soup: BeautifulSoup) -> Tag | None:
    articles = soup.find_all("article")
    return articles[0] if len(articles) == 1 else None


def _walk(node: Tag, lines: list[str], *, quoted: bool) -> None:
    """Append the node's paragraphs; text between block elements is a paragraph too."""
    pending: list[str] = []

    def flush() -> None:
        text = " ".join("".join(pending).split())
        pending.clear()
        if text:
            lines.append(f"> {text}" if quoted else text)

    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            pending.append(str(child))
        elif not isinstance(child, Tag):
            continue
        elif child.name in _HEADINGS:
            flush()
            title = " ".join(child.get_text(" ").split())
            if title:
                lines.append(f"# {title}")
        elif child.name == "blockquote":
            flush()
            _walk(child, lines, quoted=True)
        elif child.name in _BLOCKS:
            flush()
            _walk(child, lines, quoted=quoted)
        else:
            pending.append(_inline_text(child))
    flush()


def _inline_text(tag: Tag) -> str:
    """Words of an inline element; a superscript number is a footnote marker, "[N]"."""
    if tag.name == "br":
        return " "
    text = tag.get_text()
    if tag.name == "sup" and _NOTE_MARK.match(text):
        return f" [{_NOTE_MARK.match(text).group(1)}]"
    return text
