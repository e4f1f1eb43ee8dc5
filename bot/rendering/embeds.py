"""The embeds histbot sends: answers, passages, searches, sources and help.

An answer or passage embed names its reference in the footer ("histbot · ref guardians:3.9");
a search page carries its query there. Buttons read them back (`bot.inputs`) instead of
keeping state.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.rendering.text import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    clean,
    fit,
    join_within,
    lines_within,
    one_line,
    paginate,
    render_quote,
)
from knowledge import Answer, Hit, Passage, SectionInfo, Source
from knowledge.text import visible

ANSWER_COLOUR = discord.Colour(0x2B6CB0)
NOT_FOUND_COLOUR = discord.Colour(0xB7791F)
PASSAGE_COLOUR = discord.Colour(0x4A5568)
SEARCH_COLOUR = discord.Colour(0x2F855A)

SEARCH_PAGE_SIZE = 5
SEARCH_QUERY_MARK = " · search: "
"""Separates a search page's footer from the query it carries (see `search_embed`)."""
MAX_QUERY_IN_FOOTER = 1000
SNIPPET_LIMIT = 300


def footer(ref: str, extra: str = "") -> str:
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
    embed.set_footer(text=footer(best.ref, extra))
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
            value=lines_within([section_line(s) for s in answer.closest_sections]),
            inline=False,
        )
    if answer.hits:
        lines = [f"`{hit.ref}` — {fit(hit.quote, 200)}" for hit in answer.hits[:3]]
        embed.add_field(
            name="Closest passages (not answers)", value=lines_within(lines), inline=False
        )
    embed.set_footer(text="histbot · no answer found; try other words or /search")
    return embed


def section_line(info: SectionInfo) -> str:
    title = f" “{clean(info.title)}”" if info.title else ""
    count = f"{info.passage_count} passage" + ("s" if info.passage_count != 1 else "")
    return f"Section {info.number}{title} — {count}, starts at `{info.first_ref}`"


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
    embed.description = join_within(blocks, DESCRIPTION_LIMIT) or "No other matches."
    embed.set_footer(text="histbot · open one with /passage")
    return embed


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
    embed.set_footer(text=footer(passage.ref, extra))
    return embed, len(pages)


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
        description=join_within(blocks, DESCRIPTION_LIMIT),
        colour=PASSAGE_COLOUR,
    )
    embed.add_field(name="Citation", value=fit(passage.citation, FIELD_VALUE_LIMIT), inline=False)
    embed.set_footer(text=footer(passage.ref))
    return embed


def search_pages(hits: Sequence[Hit]) -> int:
    return max((len(hits) + SEARCH_PAGE_SIZE - 1) // SEARCH_PAGE_SIZE, 1)


def search_embed(query: str, hits: Sequence[Hit], page: int) -> discord.Embed:
    """One page (5 results) of /search."""
    pages = search_pages(hits)
    page = min(max(page, 0), pages - 1)
    shown = hits[page * SEARCH_PAGE_SIZE : (page + 1) * SEARCH_PAGE_SIZE]
    per = (DESCRIPTION_LIMIT - 50) // SEARCH_PAGE_SIZE - 350
    blocks = [snippet_line(hit, page * SEARCH_PAGE_SIZE + i, per) for i, hit in enumerate(shown, 1)]
    embed = discord.Embed(
        title=fit(f"Search: {query}", TITLE_LIMIT),
        description=join_within(blocks, DESCRIPTION_LIMIT) or "Nothing in the texts matches.",
        colour=SEARCH_COLOUR,
    )
    count = f"{len(hits)} match" + ("es" if len(hits) != 1 else "")
    # The footer carries the query as typed, without invisible characters (footers render no
    # Markdown and ping nobody), so the page buttons can search again after a restart: they
    # hold no state of their own.
    text = f"histbot · page {page + 1}/{pages} · {count} · open one with /passage"
    shown = one_line(visible(query))[:MAX_QUERY_IN_FOOTER]
    embed.set_footer(text=f"{text}{SEARCH_QUERY_MARK}{shown}")
    return embed


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
            description=join_within(lines, min(DESCRIPTION_LIMIT, budget - 400), "\n"),
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
            "`/library add file:` add a text this server searches (Manage Server); "
            "`/library list`\n"
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
