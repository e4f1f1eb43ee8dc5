"""StudyError: something the user is told privately, in one sentence."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from discord import app_commands

from bot.storage import SessionClosed


class StudyError(app_commands.CheckFailure):
    """Told to the user privately (by the bot's error handler); nothing has changed."""


@contextlib.contextmanager
def session_must_be_open() -> Iterator[None]:
    """A write to a session that has ended meanwhile becomes "This study session has ended."."""
    try:
        yield
    except SessionClosed:
        raise StudyError("This study session has ended.") from None
