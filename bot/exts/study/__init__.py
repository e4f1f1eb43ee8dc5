"""Study sessions: a group reads a section together in a thread, asks questions, takes quizzes.

    /study start [source] [section]   open a session in a new thread (or in this thread)
    /study next | "Next passage"      the next passage, in reading order
    /study goto ref                   jump to a passage
    /study ask question               answer as /ask does, and record it in the session
    /study quiz                       a cloze question on the passages read so far
    /study reveal                     close the open quiz and show its answer
    /study scores                     the session's scoreboard
    /study end                        close the session: summary and Markdown transcript

    _cog         the /study commands and the session thread's messages
    _buttons     "Next passage" and the quiz's answer buttons
    _sections    which section /study start names; source and section autocomplete
    _questions   questions asked in a session, answered as /ask answers them, and recorded
    _quiz        making a quiz, voting, revealing
    _messages    what the session posts (embeds and button specs)
    _transcript  the Markdown transcript posted at the end
    _locks       one start per channel, one quiz being made per session
    _errors      StudyError: what the user is told, in one sentence

Everything a user sees acknowledged has been committed to the bot's `SessionStore` first.
The buttons' custom_ids carry the session or quiz id; the rest of their state is in the
database, so they keep working after a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.study._buttons import NextPassageButton, QuizChoiceButton
from bot.exts.study._cog import StudyCog

if TYPE_CHECKING:
    from bot.bot import HistBot


async def setup(bot: HistBot) -> None:
    await bot.add_cog(StudyCog(bot))
    bot.add_dynamic_items(NextPassageButton, QuizChoiceButton)
