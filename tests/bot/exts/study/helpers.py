"""Finding a study session's thread and messages in the stand-in's records."""

from __future__ import annotations

import re

from standin import Discord, Msg, Reply


def session_thread(standin: Discord, reply: Reply) -> int:
    match = re.search(r"<#(\d+)>", reply.text)
    assert match, reply.text
    return int(match.group(1))


def last_bot_message(standin: Discord, channel: int) -> Msg:
    messages = [m for m in standin.bot_messages(channel) if not m.ephemeral]
    assert messages
    return messages[-1]
