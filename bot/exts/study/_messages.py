"""What a study session posts: its passages, quizzes, reveals, scoreboard and summary, as
embeds and button specs (the buttons themselves are in `_buttons`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord

from bot.rendering.buttons import REF_PATTERN, ButtonSpec
from bot.rendering.embeds import passage_embed
from bot.rendering.text import FIELD_VALUE_LIMIT, TITLE_LIMIT, clean, fit, render_quote
from bot.storage import Event, Participant, QuizRecord, Score, StudySession, Vote
from bot.ui import make_view
from knowledge import Passage
from knowledge.quiz import BLANK

STUDY_COLOUR = discord.Colour(0x6B46C1)
QUIZ_COLOUR = discord.Colour(0xD69E2E)
LETTERS = "ABCD"
THREAD_NAME_LIMIT = 100

NEXT_TEMPLATE = rf"histbot:study:next:(?P<session>\d+):(?P<ref>{REF_PATTERN})"
"""Move a session on from the passage the button is under."""
QUIZ_TEMPLATE = r"histbot:study:quiz:(?P<quiz>\d+):(?P<choice>\d)"
"""One choice of a quiz."""


def next_id(session_id: int, ref: str) -> str:
    return f"histbot:study:next:{session_id}:{ref}"


def quiz_id(quiz: int, choice: int) -> str:
    return f"histbot:study:quiz:{quiz}:{choice}"


# -- reading ------------------------------------------------------------------------------------


def passage_message(session: StudySession, passage: Passage, has_next: bool) -> dict[str, Any]:
    """A passage of the session, with "Next passage" unless it is the text's last."""
    embed, _pages = passage_embed(passage, title_prefix="Study · ")
    embed.colour = STUDY_COLOUR
    specs = (
        [
            ButtonSpec(
                "study-next",
                "Next passage",
                next_id(session.id, passage.ref),
                discord.ButtonStyle.primary,
            )
        ]
        if has_next
        else []
    )
    return {"embed": embed, "view": make_view(specs)}


def opening_text(heading: str, host_name: str) -> str:
    return (
        f"**Study session** on {clean(heading)}, hosted by {clean(host_name)}. "
        "Ask questions here (`/study ask`), use **Next passage** to read on, "
        "`/study quiz` to test yourselves and `/study end` to finish."
    )


def thread_name(heading: str) -> str:
    return fit(f"Study · {heading}", THREAD_NAME_LIMIT, lambda t: t)


# -- quizzes ------------------------------------------------------------------------------------


def cloze_text(cloze: str, limit: int = 3000) -> str:
    """The cloze sentence, escaped, with its blank shown as a code span."""
    return "`_____`".join(clean(part) for part in cloze[:limit].split(BLANK))


def quiz_message(quiz: QuizRecord, revealed: discord.Embed | None = None) -> dict[str, Any]:
    """A new quiz (after the reveal of the one it closed) with its four answer buttons."""
    question = quiz.question
    lines = [f"**{LETTERS[i]}.** {clean(choice)}" for i, choice in enumerate(question.choices)]
    embed = discord.Embed(
        title=f"Quiz {quiz.number}: fill in the blank",
        description=cloze_text(question.cloze) + "\n\n" + "\n".join(lines),
        colour=QUIZ_COLOUR,
    )
    embed.set_footer(text=f"histbot · from ref {question.ref} · each member answers once")
    specs = [
        ButtonSpec("study-quiz", f"{LETTERS[index]}. {choice}", quiz_id(quiz.id, index))
        for index, choice in enumerate(question.choices)
    ]
    embeds = [revealed, embed] if revealed is not None else [embed]
    return {"embeds": embeds, "view": make_view(specs)}


def answer_quote(quiz: QuizRecord) -> str:
    """The quiz sentence as a quote, with the answer in bold."""
    return render_quote(quiz.question.sentence, (quiz.question.answer,), 1500)


def reveal_embed(quiz: QuizRecord, votes: Sequence[Vote]) -> discord.Embed:
    question = quiz.question
    embed = discord.Embed(
        title=f"Quiz {quiz.number}: the answer is {fit(question.answer, TITLE_LIMIT - 40)}",
        description=answer_quote(quiz),
        colour=QUIZ_COLOUR,
    )
    citation = fit(question.citation, FIELD_VALUE_LIMIT)
    embed.add_field(name="Citation", value=citation, inline=False)
    right = [clean(v.user_name) for v in votes if v.correct]
    wrong = [clean(v.user_name) for v in votes if not v.correct]
    results = (
        f"Right ({len(right)}): {', '.join(right) or '—'}\n"
        f"Not this time ({len(wrong)}): {', '.join(wrong) or '—'}"
    )
    embed.add_field(name="Answers", value=fit(results, FIELD_VALUE_LIMIT, lambda t: t))
    embed.set_footer(text=f"histbot · ref {question.ref}")
    return embed


def scoreboard_lines(scores: Sequence[Score]) -> list[str]:
    return [
        f"{rank}. {clean(s.user_name)} — {s.correct}/{s.answered}"
        for rank, s in enumerate(scores, 1)
    ]


def scoreboard_embed(scores: Sequence[Score]) -> discord.Embed:
    return discord.Embed(
        title="Scoreboard",
        description="\n".join(scoreboard_lines(scores))
        or "No quiz answers yet: try `/study quiz`.",
        colour=QUIZ_COLOUR,
    )


# -- the end ------------------------------------------------------------------------------------


def summary_embed(
    heading: str,
    events: Sequence[Event],
    quizzes: Sequence[QuizRecord],
    people: Sequence[Participant],
    scores: Sequence[Score],
) -> discord.Embed:
    """Who took part, what was read and asked, and the quiz results."""
    questions = [e for e in events if e.kind == "question"]
    read = {e.ref for e in events if e.kind == "passage"}
    embed = discord.Embed(
        title=fit(f"Study session ended: {heading}", TITLE_LIMIT), colour=STUDY_COLOUR
    )
    names = ", ".join(clean(p.user_name) for p in people) or "nobody"
    embed.add_field(
        name="Who took part", value=fit(names, FIELD_VALUE_LIMIT, lambda t: t), inline=False
    )
    embed.add_field(name="Passages read", value=str(len(read)))
    answered = sum(1 for q in questions if q.data.get("answered"))
    embed.add_field(name="Questions asked", value=f"{len(questions)} ({answered} answered)")
    quiz_text = "\n".join(scoreboard_lines(scores)) or "No quiz answers."
    embed.add_field(
        name=f"Quiz results ({len(quizzes)} quiz{'zes' if len(quizzes) != 1 else ''})",
        value=fit(quiz_text, FIELD_VALUE_LIMIT, lambda t: t),
        inline=False,
    )
    embed.set_footer(text="histbot · the full transcript is attached (Markdown)")
    return embed
