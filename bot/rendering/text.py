"""Text within Discord's limits: escaped, cut at a sentence boundary, split into pages.

* text from the sources (or from users) loses its invisible characters, is Markdown-escaped
  and its mentions neutralised before it is shown;
* long text ends at a sentence boundary with "…" (the full passage is one button away).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from discord.utils import escape_markdown, escape_mentions

from knowledge.text import visible

# -- Discord's limits ---------------------------------------------------------------------------

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
CHOICES_LIMIT = 25
CHOICE_NAME_LIMIT = 100
CHOICE_VALUE_LIMIT = 100
CUSTOM_ID_LIMIT = 100
BUTTON_LABEL_LIMIT = 80

ELLIPSIS = "…"
QUOTE_LIMIT = 1800
"""Longest quote shown in an answer; the rest of the passage is behind "Full passage"."""
PASSAGE_PAGE_LIMIT = 3900
"""Characters of a passage per embed page (leaves room under the 4096 description limit)."""

GENERIC_ERROR = "Sorry, something went wrong while handling that. The error has been logged."
RESTARTING = "histbot is restarting: ask again in a few seconds."
STORAGE_UNAVAILABLE = (
    "Study-session storage is unavailable right now, so study sessions can't be used "
    "(the bot's operator has been told). `/ask`, `/search` and reading the texts still work."
)

_SENTENCE_END = re.compile(r"(?<=[.!?…])[”’\"»)\]]*(?=\s)")


def clean(text: str) -> str:
    """Source or user text made safe to show: bidirectional controls and zero-width
    characters dropped (an RTL override cannot turn the rest of a line around), Markdown
    escaped, mentions neutralised (an @everyone, @here or user/role mention can then never
    ping, or render)."""
    return escape_mentions(escape_markdown(visible(text)))


def one_line(text: str) -> str:
    return " ".join(text.split())


def _sentence_ends(text: str) -> list[int]:
    """Offsets just after each sentence end (before the whitespace that follows it)."""
    return [m.end() for m in _SENTENCE_END.finditer(text)]


def truncate(text: str, limit: int, *, from_end: bool = False) -> str:
    """`text` if it fits in `limit` characters; else whole sentences and "…".

    With `from_end` the last sentences are kept and "…" goes in front. When not even one
    sentence fits, the cut is at a word boundary.
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:limit]
    room = limit - len(ELLIPSIS) - 1
    if not from_end:
        ends = [end for end in _sentence_ends(text) if end <= room]
        if ends:
            return f"{text[: ends[-1]]} {ELLIPSIS}"
        cut = text[: room + 1]
        head = cut.rsplit(None, 1)[0] if " " in cut.strip() else cut[:room]
        return f"{head.rstrip(',;:—– ')}{ELLIPSIS}"
    starts = [end for end in _sentence_ends(text) if len(text) - end <= room]
    if starts:
        return f"{ELLIPSIS} {text[starts[0] :].strip()}"
    cut = text[-(room + 1) :]
    tail = cut.split(None, 1)[1] if " " in cut.strip() else cut[-room:]
    return f"{ELLIPSIS}{tail}"


def fit(text: str, limit: int, render: Callable[[str], str] = clean, **kwargs: bool) -> str:
    """render(truncate(text)) that is at most `limit` characters long after rendering."""
    budget = limit
    while budget > 0:
        shown = render(truncate(text, budget, **kwargs))
        if len(shown) <= limit:
            return shown
        budget -= max(len(shown) - limit, 1)
    return ""


def bold_terms(rendered: str, terms: Iterable[str]) -> str:
    """Put the matched words (as printed in the text) in bold in already-escaped text."""
    wanted = sorted({clean(t) for t in terms if t and t.strip()}, key=len, reverse=True)
    if not wanted:
        return rendered
    pattern = re.compile(r"(?<![\w\\])(" + "|".join(map(re.escape, wanted)) + r")(?!\w)")
    return pattern.sub(r"**\1**", rendered)


def render_quote(text: str, terms: Iterable[str] = (), limit: int = QUOTE_LIMIT) -> str:
    """A quote as a Markdown block quote: escaped, matched terms bold, cut at a sentence."""
    terms = tuple(terms)

    def render(t: str) -> str:
        return "\n".join(f"> {line}" for line in bold_terms(clean(t), terms).splitlines() or [""])

    return fit(text, limit, render)


def paginate(text: str, limit: int = PASSAGE_PAGE_LIMIT) -> list[str]:
    """Split text into pages whose *rendered* form fits `limit`, at sentence boundaries."""
    text = text.strip()
    if len(clean(text)) <= limit:
        return [text]
    pages: list[str] = []
    start = 0
    bounds = [*_sentence_ends(text), len(text)]
    while start < len(text):
        best = None
        for end in bounds:
            if end <= start:
                continue
            if len(clean(text[start:end].strip())) <= limit:
                best = end
            else:
                break
        if best is None:  # a single sentence longer than a page: cut at a word boundary
            end = min(start + limit, len(text))
            while end > start + 1 and len(clean(text[start:end].strip())) > limit:
                end -= 1 + (len(clean(text[start:end].strip())) - limit) // 2
            space = text.rfind(" ", start + 1, end)
            best = space if space > start and end < len(text) else end
        pages.append(text[start:best].strip())
        start = best
        while start < len(text) and text[start].isspace():
            start += 1
    return [p for p in pages if p]


def lines_within(lines: Sequence[str], limit: int = FIELD_VALUE_LIMIT) -> str:
    """As many whole lines as fit in `limit` (a long first line is cut); "…" for none."""
    out: list[str] = []
    used = 0
    for line in lines:
        line = line if len(line) <= limit else fit(line, limit, lambda t: t)
        if used + len(line) + (1 if out else 0) > limit:
            break
        out.append(line)
        used += len(line) + (1 if len(out) > 1 else 0)
    return "\n".join(out) or ELLIPSIS


def join_within(blocks: Sequence[str], limit: int, sep: str = "\n\n") -> str:
    """As many whole blocks as fit in `limit`, joined by `sep`."""
    out = ""
    for block in blocks:
        candidate = f"{out}{sep}{block}" if out else block
        if len(candidate) > limit:
            break
        out = candidate
    return out


def error_text(message: str, suggestions: Sequence[str] = ()) -> str:
    """A one-line error for the user, with suggested references if there are any."""
    text = clean(one_line(message))
    text = text[:1].upper() + text[1:]
    if suggestions:
        text += "\nDid you mean " + ", ".join(f"`{s}`" for s in suggestions[:5]) + "?"
    return fit(text, CONTENT_LIMIT, lambda t: t)


def choice_name(label: str) -> str:
    """An autocomplete choice name: one line, at most 100 characters."""
    label = one_line(label)
    return label if len(label) <= CHOICE_NAME_LIMIT else label[: CHOICE_NAME_LIMIT - 1] + ELLIPSIS


def choices(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(name, value) autocomplete choices within Discord's limits (25, 100 chars each), from
    (value, label) pairs."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for value, label in pairs:
        if not value or len(value) > CHOICE_VALUE_LIMIT or value in seen:
            continue
        seen.add(value)
        out.append((choice_name(label or value), value))
        if len(out) == CHOICES_LIMIT:
            break
    return out
