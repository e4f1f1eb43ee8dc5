"""Questions asked in a session (/study ask, a mention or a plain message in its thread):
answered as /ask answers them, and recorded before the reply.

A question that refers back with a third-person pronoun ("what happened to him?") is a
follow-up on the session's last answer, which is passed to the library as its context; any
other question is answered exactly as /ask would.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord

from bot.exts.study._errors import session_must_be_open
from bot.inputs import is_question, strip_bot_mentions
from bot.storage import StorageUnavailable, StudySession, record_answer, session_in_thread
from knowledge import Answer

if TYPE_CHECKING:
    from bot.bot import HistBot

FOLLOW_UP = re.compile(
    r"\b(?:he|she|him|her|hers|his|they|them|their|theirs|it|its|himself|herself|themselves)\b",
    re.I,
)


def is_follow_up(question: str) -> bool:
    """Does the question refer back to someone or something with a third-person pronoun?
    Only then is the last answer its context."""
    return FOLLOW_UP.search(question) is not None


async def answer_and_record(
    bot: HistBot, session: StudySession, user: discord.abc.User, question: str, via: str
) -> Answer:
    """Answer like /ask and commit it to the session (StudyError if it has ended)."""
    context = ""
    if is_follow_up(question):
        last = await bot.store.last_answer(session.id)
        context = last.data.get("quote", "") if last else ""
    answer = await bot.searcher.answer(question, context=context, guild_id=session.guild_id)
    with session_must_be_open():
        await record_answer(
            bot.store,
            session.id,
            user_id=user.id,
            user_name=getattr(user, "display_name", user.name),
            answer=answer,
            via=via,
        )
    return answer


async def session_question(
    bot: HistBot, message: discord.Message
) -> tuple[StudySession, str] | None:
    """The session and the question, for a message asked in a session's thread: one that
    mentions the bot, or any message when the bot may read message content."""
    if message.author.bot or not isinstance(message.channel, discord.Thread):
        return None
    if message.type not in (discord.MessageType.default, discord.MessageType.reply):
        return None
    me = bot.user
    if me is None:
        return None
    mentioned = any(user.id == me.id for user in message.mentions)
    if not mentioned and not bot.settings.message_content:
        return None
    question = strip_bot_mentions(message.content, me.id)
    if not is_question(question):
        return None
    try:
        session = await session_in_thread(bot.store, message.channel.id)
    except StorageUnavailable:
        return None  # no session can be found (a mention is answered as anywhere else)
    return (session, question) if session is not None else None
