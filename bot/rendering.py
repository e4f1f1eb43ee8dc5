"""What histbot shows: embeds, button specs and text, as pure functions of knowledge values.

Nothing here talks to Discord or the library; every function takes plain values (Answer, Hit,
Passage, ...) and returns an embed, text or `ButtonSpec`s, so all of Discord's limits are
enforced (and unit-tested) in one place:

* text from the sources is Markdown-escaped and its mentions neutralised before it is shown;
* long text ends at a sentence boundary with "…" (the full passage is one button away);
* button custom_ids encode everything a click needs (a passage reference, a page), so buttons
  are stateless and keep working after a restart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import discord
from discord.utils import escape_markdown, escape_mentions

from knowledge import Answer, Hit, Passage, SectionInfo, Source

# -- Discord's limits ---------------------------------------------------------------------------

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
CHOICES_LIMIT = 25
CHOICE_NAME_LIMIT = 100
CHOICE_VALUE_LIMIT = 100
CUSTOM_ID_LIMIT = 100
BUTTON_LABEL_LIMIT = 80

# -- Look ---------------------------------------------------------------------------------------

ANSWER_COLOUR = discord.Colour(0x2B6CB0)
NOT_FOUND_COLOUR = discord.Colour(0xB7791F)
PASSAGE_COLOUR = discord.Colour(0x4A5568)
SEARCH_COLOUR = discord.Colour(0x2F855A)
ERROR_COLOUR = discord.Colour(0xC53030)

ELLIPSIS = "…"
QUOTE_LIMIT = 1800
"""Longest quote shown in an answer; the rest of the passage is behind "Full passage"."""
PASSAGE_PAGE_LIMIT = 3900
"""Characters of a passage per embed page (leaves room under the 4096 description limit)."""
SEARCH_PAGE_SIZE = 5
SEARCH_QUERY_MARK = " · search: "
MAX_QUERY_IN_FOOTER = 1000
SNIPPET_LIMIT = 300

# -- Custom ids ---------------------------------------------------------------------------------

REF_PATTERN = r"[a-z0-9][a-z0-9_-]*:\d+\.\d+"
"""A canonical passage reference, as the library writes it ("guardians:3.2")."""

FULL_TEMPLATE = rf"histbot:full:(?P<ref>{REF_PATTERN}):(?P<page>\d+)"
"""Open a passage (page) in a new private message."""
NAV_TEMPLATE = rf"histbot:nav:(?P<ref>{REF_PATTERN}):(?P<page>\d+)"
"""Show a passage (page) in place of the current message (or privately for onlookers)."""
CONTEXT_TEMPLATE = rf"histbot:ctx:(?P<ref>{REF_PATTERN})"
"""Show the paragraphs before and after a passage."""
OTHERS_TEMPLATE = r"histbot:others:(?P<refs>[a-z0-9_:.,-]+)"
"""Show an answer's other matches; refs are packed by `pack_refs`."""
PAGE_TEMPLATE = r"histbot:page:(?P<owner>\d+):(?P<page>\d+):(?P<slot>prev|next)"
"""Turn a /search message to another page (only its invoker may)."""
OFF_TEMPLATE = r"histbot:off:(?P<slot>\d+)"
"""A disabled placeholder button (nothing to go to)."""

_FOOTER_REF = re.compile(rf"\bref (?P<ref>{REF_PATTERN})\b")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[”’\"»)\]]*(?=\s)")
_MENTION_TOKEN = re.compile(r"<@!?(?P<id>\d+)>")


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    """A button to show: `kind` names the component class that handles `custom_id`."""

    kind: str
    label: str
    custom_id: str
    style: discord.ButtonStyle = discord.ButtonStyle.secondary
    disabled: bool = False
    row: int | None = None


# -- Text ---------------------------------------------------------------------------------------


def neutralise_mentions(text: str) -> str:
    """Break @everyone, @here and user/role mentions so they can never ping (or render)."""
    return escape_mentions(text)


def clean(text: str) -> str:
    """Source or user text made safe to show: Markdown escaped, mentions neutralised."""
    return neutralise_mentions(escape_markdown(text))


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


def strip_bot_mentions(content: str, bot_id: int) -> str:
    """The question in a message that mentions the bot: without the bot's mention(s)."""
    stripped = _MENTION_TOKEN.sub(
        lambda m: "" if int(m.group("id")) == bot_id else m.group(0), content
    )
    return one_line(stripped)


_DISCORD_SYNTAX = re.compile(r"<(?:@[!&]?|#)\d+>|@(?:everyone|here)\b|<a?:\w+:\d+>")


def searchable(question: str) -> str:
    """A question without Discord's own syntax (mentions, @everyone, custom emoji): those are
    addressed to people, not words of the question."""
    return one_line(_DISCORD_SYNTAX.sub(" ", question))


def question_from_title(title: str | None) -> str:
    """Undo `clean` on an embed title (the question an answer was asked with)."""
    if not title:
        return ""
    text = title.replace("\u200b", "")
    text = re.sub(r"\\(.)", r"\1", text)
    return text.rstrip(ELLIPSIS).strip()


# -- References and custom ids -----------------------------------------------------------------


def short(ref: str) -> str:
    """ "guardians:3.2" -> "3.2" (for button labels)."""
    return ref.split(":", 1)[-1]


def full_id(ref: str, page: int = 0) -> str:
    return f"histbot:full:{ref}:{page}"


def nav_id(ref: str, page: int = 0) -> str:
    return f"histbot:nav:{ref}:{page}"


def context_id(ref: str) -> str:
    return f"histbot:ctx:{ref}"


def off_id(slot: int) -> str:
    return f"histbot:off:{slot}"


def pack_refs(refs: Sequence[str], limit: int = CUSTOM_ID_LIMIT - len("histbot:others:")) -> str:
    """Refs packed into as few characters as possible, as many as fit in `limit`.

    "guardians:3.1,3.3,other:1.2": a ref without a source has the previous ref's source.
    """
    packed = ""
    source = None
    for ref in refs:
        src, local = ref.split(":", 1)
        piece = local if src == source else ref
        candidate = f"{packed},{piece}" if packed else piece
        if len(candidate) > limit:
            break
        packed, source = candidate, src
    return packed


def unpack_refs(packed: str) -> list[str]:
    refs: list[str] = []
    source = ""
    for piece in filter(None, packed.split(",")):
        if ":" in piece:
            source = piece.split(":", 1)[0]
            refs.append(piece)
        elif source:
            refs.append(f"{source}:{piece}")
    return refs


def others_id(refs: Sequence[str]) -> str:
    return f"histbot:others:{pack_refs(refs)}"


def ref_from_embed(embed: discord.Embed | None) -> str | None:
    """The reference an answer or passage embed shows in its footer ("… ref guardians:3.9")."""
    if embed is None or not embed.footer or not embed.footer.text:
        return None
    match = _FOOTER_REF.search(embed.footer.text)
    return match.group("ref") if match else None


# -- Embeds -------------------------------------------------------------------------------------


def _footer(ref: str, extra: str = "") -> str:
    text = f"histbot · ref {ref}"
    return f"{text} · {extra}" if extra else text


def reference_field(ref: str) -> str:
    return f"`{ref}` · read it with `/passage ref:{ref}`"


def embed_length(embeds: Sequence[discord.Embed]) -> int:
    return sum(len(e) for e in embeds)


def answer_embed(answer: Answer) -> discord.Embed:
    """/ask's answer: the quote, its citation and reference; or an honest "not found"."""
    best = answer.best
    if best is None:
        return not_answered_embed(answer)
    embed = discord.Embed(
        title=fit(answer.question, TITLE_LIMIT),
        description=render_quote(best.quote, best.matched_terms),
        colour=ANSWER_COLOUR,
    )
    embed.add_field(name="Citation", value=fit(best.citation, FIELD_VALUE_LIMIT), inline=False)
    embed.add_field(name="Reference", value=reference_field(best.ref), inline=False)
    extra = "more matches under “Other matches”" if answer.alternatives else ""
    embed.set_footer(text=_footer(best.ref, extra))
    return embed


def snippet_line(hit: Hit, number: int | None = None, limit: int = SNIPPET_LIMIT) -> str:
    head = f"**{number}.** " if number is not None else ""
    head += f"`{hit.ref}` — {fit(hit.citation, 300)}"
    return f"{head}\n{render_quote(hit.quote, hit.matched_terms, limit)}"


def not_answered_embed(answer: Answer) -> discord.Embed:
    reason = answer.reason or "the texts do not seem to cover this question"
    question = fit(answer.question, 1000)
    description = (
        f"I could not find an answer to “{question}” in the texts ({clean(reason)}).\n\n"
        "Below are the closest places in the texts. They are **not an answer**, just where "
        "you might look."
    )
    embed = discord.Embed(
        title="Not found in the texts",
        description=fit(description, DESCRIPTION_LIMIT, lambda t: t),
        colour=NOT_FOUND_COLOUR,
    )
    if answer.closest_sections:
        embed.add_field(
            name="Closest sections",
            value=_lines_within([section_line(s) for s in answer.closest_sections]),
            inline=False,
        )
    if answer.hits:
        lines = [f"`{hit.ref}` — {fit(hit.quote, 200)}" for hit in answer.hits[:3]]
        embed.add_field(
            name="Closest passages (not answers)", value=_lines_within(lines), inline=False
        )
    embed.set_footer(text="histbot · no answer found; try other words or /search")
    return embed


def section_line(info: SectionInfo) -> str:
    title = f" “{clean(info.title)}”" if info.title else ""
    count = f"{info.passage_count} passage" + ("s" if info.passage_count != 1 else "")
    return f"Section {info.number}{title} — {count}, starts at `{info.first_ref}`"


def _lines_within(lines: Sequence[str], limit: int = FIELD_VALUE_LIMIT) -> str:
    out: list[str] = []
    used = 0
    for line in lines:
        line = line if len(line) <= limit else fit(line, limit, lambda t: t)
        if used + len(line) + (1 if out else 0) > limit:
            break
        out.append(line)
        used += len(line) + (1 if len(out) > 1 else 0)
    return "\n".join(out) or ELLIPSIS


def answer_buttons(answer: Answer) -> list[ButtonSpec]:
    best = answer.best
    if best is None:
        return [
            ButtonSpec("full", f"Open {short(hit.ref)}", full_id(hit.ref))
            for hit in _unique_hits(answer.hits)[:3]
        ]
    specs = [
        ButtonSpec("full", "Full passage", full_id(best.ref), discord.ButtonStyle.primary),
        ButtonSpec("context", "Context", context_id(best.ref)),
    ]
    if answer.alternatives:
        refs = [h.ref for h in _unique_hits(answer.alternatives) if h.ref != best.ref]
        if refs:
            specs.append(ButtonSpec("others", "Other matches", others_id(refs)))
    return specs


def _unique_hits(hits: Sequence[Hit]) -> list[Hit]:
    seen: set[str] = set()
    out = []
    for hit in hits:
        if hit.ref not in seen:
            seen.add(hit.ref)
            out.append(hit)
    return out


def others_embed(
    question: str, passages: Sequence[Passage], hits_by_ref: dict[str, Hit]
) -> discord.Embed:
    """The other matches of an answer, with their quotes when the question could be re-run."""
    embed = discord.Embed(title="Other matches", colour=SEARCH_COLOUR)
    if question:
        embed.title = fit(f"Other matches: {question}", TITLE_LIMIT)
    blocks = []
    per = max((DESCRIPTION_LIMIT - 100) // max(len(passages), 1) - 120, 120)
    for number, passage in enumerate(passages, 1):
        hit = hits_by_ref.get(passage.ref)
        quote = (
            render_quote(hit.quote, hit.matched_terms, min(per, 600))
            if hit
            else render_quote(passage.text, (), min(per, 300))
        )
        blocks.append(f"**{number}.** `{passage.ref}` — {fit(passage.citation, 300)}\n{quote}")
    embed.description = _join_within(blocks, DESCRIPTION_LIMIT) or "No other matches."
    embed.set_footer(text="histbot · open one with /passage")
    return embed


def _join_within(blocks: Sequence[str], limit: int, sep: str = "\n\n") -> str:
    out = ""
    for block in blocks:
        candidate = f"{out}{sep}{block}" if out else block
        if len(candidate) > limit:
            break
        out = candidate
    return out


def passage_embed(
    passage: Passage, page: int = 0, *, title_prefix: str = ""
) -> tuple[discord.Embed, int]:
    """A passage (one page of it) with its citation; returns the embed and the page count."""
    pages = paginate(passage.text)
    page = min(max(page, 0), len(pages) - 1)
    heading = passage.section_title or passage.source_title
    embed = discord.Embed(
        title=fit(f"{title_prefix}{heading}", TITLE_LIMIT),
        description=clean(pages[page]),
        colour=PASSAGE_COLOUR,
    )
    embed.add_field(name="Citation", value=fit(passage.citation, FIELD_VALUE_LIMIT), inline=False)
    embed.add_field(name="Reference", value=reference_field(passage.ref), inline=False)
    extra = f"page {page + 1}/{len(pages)}" if len(pages) > 1 else ""
    embed.set_footer(text=_footer(passage.ref, extra))
    return embed, len(pages)


def passage_buttons(
    passage: Passage,
    page: int,
    pages: int,
    previous: Passage | None,
    following: Passage | None,
) -> list[ButtonSpec]:
    """Previous/next paragraph, and previous/next page for a passage longer than one embed."""
    specs = [
        ButtonSpec("nav", f"◀ {short(previous.ref)}", nav_id(previous.ref))
        if previous
        else ButtonSpec("off", "◀ Previous", off_id(1), disabled=True),
        ButtonSpec("nav", f"{short(following.ref)} ▶", nav_id(following.ref))
        if following
        else ButtonSpec("off", "Next ▶", off_id(2), disabled=True),
    ]
    if pages > 1:
        specs += [
            ButtonSpec("nav", "◀ Page", nav_id(passage.ref, page - 1), row=1)
            if page > 0
            else ButtonSpec("off", "◀ Page", off_id(3), disabled=True, row=1),
            ButtonSpec("nav", "Page ▶", nav_id(passage.ref, page + 1), row=1)
            if page + 1 < pages
            else ButtonSpec("off", "Page ▶", off_id(4), disabled=True, row=1),
        ]
    return specs


def context_embed(
    passage: Passage, previous: Passage | None, following: Passage | None
) -> discord.Embed:
    """A passage between the end of the paragraph before and the start of the one after."""
    blocks = []
    if previous is not None:
        blocks.append(f"**Before** · `{previous.ref}`\n{fit(previous.text, 1000, from_end=True)}")
    blocks.append(f"**This passage** · `{passage.ref}`\n{render_quote(passage.text, (), 1800)}")
    if following is not None:
        blocks.append(f"**After** · `{following.ref}`\n{fit(following.text, 1000)}")
    embed = discord.Embed(
        title=fit(f"Context of {passage.ref}", TITLE_LIMIT),
        description=_join_within(blocks, DESCRIPTION_LIMIT),
        colour=PASSAGE_COLOUR,
    )
    embed.add_field(name="Citation", value=fit(passage.citation, FIELD_VALUE_LIMIT), inline=False)
    embed.set_footer(text=_footer(passage.ref))
    return embed


def context_buttons(
    passage: Passage, previous: Passage | None, following: Passage | None
) -> list[ButtonSpec]:
    specs = []
    if previous is not None:
        specs.append(ButtonSpec("nav", f"Open {short(previous.ref)}", nav_id(previous.ref)))
    specs.append(ButtonSpec("nav", f"Open {short(passage.ref)}", nav_id(passage.ref)))
    if following is not None:
        specs.append(ButtonSpec("nav", f"Open {short(following.ref)}", nav_id(following.ref)))
    return specs


def search_embed(query: str, hits: Sequence[Hit], page: int) -> discord.Embed:
    """One page (5 results) of /search."""
    pages = max((len(hits) + SEARCH_PAGE_SIZE - 1) // SEARCH_PAGE_SIZE, 1)
    page = min(max(page, 0), pages - 1)
    shown = hits[page * SEARCH_PAGE_SIZE : (page + 1) * SEARCH_PAGE_SIZE]
    per = (DESCRIPTION_LIMIT - 50) // SEARCH_PAGE_SIZE - 350
    blocks = [snippet_line(hit, page * SEARCH_PAGE_SIZE + i, per) for i, hit in enumerate(shown, 1)]
    embed = discord.Embed(
        title=fit(f"Search: {query}", TITLE_LIMIT),
        description=_join_within(blocks, DESCRIPTION_LIMIT) or "Nothing in the texts matches.",
        colour=SEARCH_COLOUR,
    )
    count = f"{len(hits)} match" + ("es" if len(hits) != 1 else "")
    # The footer carries the query as typed (footers render no Markdown and ping nobody), so
    # the page buttons can search again after a restart: they hold no state of their own.
    footer = f"histbot · page {page + 1}/{pages} · {count} · open one with /passage"
    embed.set_footer(text=f"{footer}{SEARCH_QUERY_MARK}{one_line(query)[:MAX_QUERY_IN_FOOTER]}")
    return embed


def search_query(embed: discord.Embed) -> str | None:
    """The query a /search page was made for (see `search_embed`)."""
    text = embed.footer.text or ""
    return text.split(SEARCH_QUERY_MARK, 1)[1] if SEARCH_QUERY_MARK in text else None


def page_id(owner_id: int, page: int, slot: str) -> str:
    return f"histbot:page:{owner_id}:{page}:{slot}"


def search_pages(hits: Sequence[Hit]) -> int:
    return max((len(hits) + SEARCH_PAGE_SIZE - 1) // SEARCH_PAGE_SIZE, 1)


def random_embed(passage: Passage) -> tuple[discord.Embed, int]:
    embed, pages = passage_embed(passage, title_prefix="Study prompt · ")
    embed.insert_field_at(
        0,
        name="Discuss",
        value=(
            "What is happening in this passage, who is involved, and why does it matter? "
            "Use **Context** to read around it, or reply to this message with a question."
        ),
        inline=False,
    )
    return embed, pages


def sources_embeds(
    sources: Sequence[Source], sections: Sequence[SectionInfo]
) -> list[discord.Embed]:
    """/sources: each text with its sections and passage counts (within the embed limits)."""
    embeds = []
    budget = EMBED_TOTAL_LIMIT
    for source in sources[:EMBEDS_PER_MESSAGE]:
        own = [s for s in sections if s.source_id == source.id]
        total = sum(s.passage_count for s in own)
        about = [clean(source.subtitle)] if source.subtitle else []
        byline = ", ".join(clean(x) for x in (source.author, source.publication, source.year) if x)
        if byline:
            about.append(byline)
        about.append(f"Source id `{source.id}` · {len(own)} sections · {total} passages")
        lines = [*about, "", *(section_line(s) for s in own)]
        embed = discord.Embed(
            title=fit(source.title, TITLE_LIMIT),
            description=_join_within(lines, min(DESCRIPTION_LIMIT, budget - 400), "\n"),
            colour=PASSAGE_COLOUR,
            url=source.url or None,
        )
        if source.licence:
            embed.set_footer(text=fit(f"Licence: {source.licence}", FOOTER_LIMIT, lambda t: t))
        if len(embed) > budget:
            break
        budget -= len(embed)
        embeds.append(embed)
    return embeds


def help_embed(passages: Sequence[Passage] = ()) -> discord.Embed:
    """What the bot does and how to cite it, with a real citation from the library."""
    example = next((p for p in passages if p.section_title), passages[0] if passages else None)
    embed = discord.Embed(
        title="histbot — quotes and citations from the texts",
        description=(
            "I answer questions about the study group's source texts with the **exact quote** "
            "and a **precise citation**, or say honestly that the texts do not answer it."
        ),
        colour=ANSWER_COLOUR,
    )
    embed.add_field(
        name="Commands",
        value=(
            "`/ask question:` the quote that answers it (add `private:True` to keep it to you)\n"
            "`/search query:` every passage that matches, five per page\n"
            "`/passage ref:` read a passage, e.g. `3.2`; type to search references and sections\n"
            "`/sources` the texts, their sections and passage counts\n"
            "`/random` a random passage to discuss\n"
            "Mention me with a question, or reply to one of my answers to follow up on it."
        ),
        inline=False,
    )
    embed.add_field(
        name="Study sessions",
        value=(
            "`/study start` read a text together in a new thread, passage by passage\n"
            "`/study next` · `/study goto ref:` move on, or jump to a passage\n"
            "`/study quiz` a question on what you have read; `/study scores` the scoreboard\n"
            "`/study end` a summary and a Markdown transcript of the session"
        ),
        inline=False,
    )
    cite = (
        f"{fit(example.citation, 600)} (histbot ref `{example.ref}`)"
        if example
        else "Title, section N “Heading”, paragraph M (histbot ref `source:N.M`)"
    )
    embed.add_field(
        name="How to cite",
        value=(
            "Quote the text exactly and give its citation as shown under **Citation**, e.g.\n"
            f"{cite}\nThe reference lets anyone open the passage again with `/passage`."
        ),
        inline=False,
    )
    embed.set_footer(text="histbot · answers come only from the texts listed by /sources")
    return embed


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
    """(name, value) autocomplete choices within Discord's limits (25, 100 chars each)."""
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
