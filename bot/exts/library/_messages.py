"""What /library shows: a text added, the server's texts, a text removed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import discord

from bot.rendering.embeds import PASSAGE_COLOUR
from bot.rendering.text import DESCRIPTION_LIMIT, TITLE_LIMIT, clean, fit, lines_within
from bot.uploads import Upload


def megabytes(size: int) -> str:
    if size < 2**20:
        return f"{max(size, 1) / 2**10:.0f} KB"
    return f"{size / 2**20:.1f} MB".replace(".0 MB", " MB")


def added_text(upload: Upload) -> str:
    """The message a member sees once the text is stored and searchable."""
    return fit(
        f"Added **{clean(upload.title)}**: {upload.passages:,} passages in "
        f"{upload.sections:,} sections. Its passages are cited as `{upload.source_id}:…`; "
        "ask about it with `/ask`, read it with `/passage` — in this server only.",
        2000,
        lambda t: t,
    )


def removed_text(upload: Upload) -> str:
    return (
        f"Removed **{clean(upload.title)}** (`{upload.source_id}`) from this server's "
        "library; it is no longer searched here."
    )


def _when(upload: Upload) -> str:
    try:
        return f"<t:{int(datetime.fromisoformat(upload.added_at).timestamp())}:d>"
    except ValueError:
        return upload.added_at


def upload_line(upload: Upload) -> str:
    return (
        f"**{clean(upload.title)}** · `{upload.source_id}` · {upload.passages:,} passages in "
        f"{upload.sections:,} sections · {clean(upload.filename)}, {megabytes(upload.size)} · "
        f"added by {clean(upload.added_by_name)} {_when(upload)}"
    )


def library_embed(
    uploads: Sequence[Upload], shipped: int, max_texts: int, max_passages: int
) -> discord.Embed:
    """/library list: the server's own texts and what is left of its limits."""
    if uploads:
        body = lines_within([upload_line(u) for u in uploads], DESCRIPTION_LIMIT - 200)
    else:
        body = (
            "No texts added here yet. Members with Manage Server can add one with "
            "`/library add` (a .txt, .md, .html, .epub or .pdf file)."
        )
    passages = sum(u.passages for u in uploads)
    embed = discord.Embed(
        title=fit("This server's texts", TITLE_LIMIT), description=body, colour=PASSAGE_COLOUR
    )
    embed.set_footer(
        text=f"{len(uploads)} of {max_texts} texts · {passages:,} of {max_passages:,} passages "
        f"· searched here beside the {shipped} text{'' if shipped == 1 else 's'} shipped with "
        "the bot (/sources)"
    )
    return embed
