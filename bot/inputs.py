"""What histbot reads from Discord: questions in messages, and values its own messages carry.

Questions arrive with Discord's own syntax in them (mentions, @everyone, custom emoji): those
are addressed to people, not words of the question. Buttons read what they need back from
the message they sit under (the question in an answer's title, the reference in its footer,
a search's query), so they keep no state; the formats are written by `bot.rendering`.
"""

from __future__ import annotations

import re

import discord

from bot.rendering.buttons import REF_PATTERN
from bot.rendering.embeds import SEARCH_QUERY_MARK
from bot.rendering.text import ELLIPSIS, one_line

_DISCORD_SYNTAX = re.compile(r"<(?:@[!&]?|#)\d+>|@(?:everyone|here)\b|<a?:\w+:\d+>")
_MENTION_TOKEN = re.compile(r"<@!?(?P<id>\d+)>")
_FOOTER_REF = re.compile(rf"\bref (?P<ref>{REF_PATTERN})\b")


def searchable(question: str) -> str:
    """A question without Discord's own syntax (mentions, @everyone, custom emoji)."""
    return one_line(_DISCORD_SYNTAX.sub(" ", question))


def strip_bot_mentions(content: str, bot_id: int) -> str:
    """The question in a message that mentions the bot: without the bot's mention(s)."""
    stripped = _MENTION_TOKEN.sub(
        lambda m: "" if int(m.group("id")) == bot_id else m.group(0), content
    )
    return one_line(stripped)


def is_question(text: str) -> bool:
    """Is this message text something to answer? Not when empty, nor a command typed as text
    ("/study next", "!help")."""
    return bool(text) and not text.startswith(("/", "!"))


def question_from_title(title: str | None) -> str:
    """The question an answer was asked with, from its embed title (undoing the escaping)."""
    if not title:
        return ""
    text = title.replace("\u200b", "")
    text = re.sub(r"\\(.)", r"\1", text)
    return text.rstrip(ELLIPSIS).strip()


def ref_from_embed(embed: discord.Embed | None) -> str | None:
    """The reference an answer or passage embed shows in its footer ("… ref guardians:3.9")."""
    if embed is None or not embed.footer or not embed.footer.text:
        return None
    match = _FOOTER_REF.search(embed.footer.text)
    return match.group("ref") if match else None


def search_query(embed: discord.Embed) -> str | None:
    """The query a /search page was made for (see `bot.rendering.embeds.search_embed`)."""
    text = embed.footer.text or ""
    return text.split(SEARCH_QUERY_MARK, 1)[1] if SEARCH_QUERY_MARK in text else None
