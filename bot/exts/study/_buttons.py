"""The session's buttons: "Next passage" under a passage, and a quiz's four answers. Their
custom_ids carry the session or quiz; what a click does is the cog's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.exts.study._cog import StudyCog
from bot.exts.study._errors import StudyError
from bot.exts.study._messages import NEXT_TEMPLATE, QUIZ_TEMPLATE
from bot.ui import HistButton

if TYPE_CHECKING:
    from bot.bot import HistBot


def study_cog(bot: HistBot) -> StudyCog:
    cog = bot.get_cog(StudyCog.__cog_name__)
    if not isinstance(cog, StudyCog):
        raise StudyError("Study sessions are not available right now.")
    return cog


class NextPassageButton(HistButton, template=NEXT_TEMPLATE):
    """ "Next passage" under a study passage: moves the session on, once, from that passage."""

    kind = "study-next"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        await study_cog(bot).press_next(interaction, int(fields["session"]), fields["ref"])


class QuizChoiceButton(HistButton, template=QUIZ_TEMPLATE):
    """One of a quiz's four choices: records the member's (only) answer."""

    kind = "study-quiz"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        await study_cog(bot).press_choice(interaction, int(fields["quiz"]), int(fields["choice"]))
