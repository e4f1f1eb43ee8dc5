"""Reading what users see in the stand-in's records of the bot's messages."""

from __future__ import annotations

from typing import Any

from standin import Discord, Msg, Reply

EPHEMERAL = 1 << 6


def fields(reply: Reply | Msg, index: int = 0) -> dict[str, str]:
    """An embed's fields, by name."""
    return {f["name"]: f["value"] for f in reply.embeds[index].get("fields", [])}


def footer_ref(reply: Reply | Msg) -> str:
    """The passage reference an answer or passage shows in its footer."""
    return reply.embeds[0]["footer"]["text"].split("ref ")[1].split(" ")[0]


def assert_silent(reply: Reply | Msg | Any) -> None:
    """Nothing the bot sent can ping anyone."""
    assert reply.allowed_mentions is not None
    assert reply.allowed_mentions.get("parse") == []
    assert reply.pinged_user_ids == []


def private(reply: Reply) -> str:
    """The text of an interaction's answer, which must be visible only to its user."""
    messages = reply.messages
    assert messages, f"no answer: {reply!r}"
    assert all(m.ephemeral for m in messages), [m.raw.get("flags") for m in messages]
    return "\n".join(m.text for m in messages)


def public_messages(standin: Discord, channel: int) -> list[Msg]:
    return [m for m in standin.bot_messages(channel) if not m.ephemeral]
