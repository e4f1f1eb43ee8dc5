"""Reading questions from messages, and values back from the bot's own messages."""

from __future__ import annotations

from bot.inputs import question_from_title, search_query, searchable, strip_bot_mentions
from bot.rendering.embeds import search_embed
from bot.rendering.text import TITLE_LIMIT, fit


def test_strip_bot_mentions_keeps_others() -> None:
    assert strip_bot_mentions("<@42> who was <@!42> Yagoda <@7>?", 42) == "who was Yagoda <@7>?"


def test_discord_syntax_is_not_searched_for() -> None:
    question = "@everyone <@&42> <#7> <:pog:123> who   was Yagoda?"
    assert searchable(question) == "who was Yagoda?"


def test_question_from_title_undoes_escaping() -> None:
    title = fit("who wrote *Stalin* @everyone?", TITLE_LIMIT)
    assert question_from_title(title) == "who wrote *Stalin* @everyone?"


def test_a_search_page_carries_its_query() -> None:
    embed = search_embed("show  *trials*", [], 0)
    assert search_query(embed) == "show *trials*"
