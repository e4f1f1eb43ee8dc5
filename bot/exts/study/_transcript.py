"""The Markdown transcript posted when a session ends, ready to paste into notes: every
passage read, every question with the quote and citation it got, every quiz with its answer
and everyone's choices, and the scoreboard."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.exts.study._messages import LETTERS, reveal_embed, summary_embed
from bot.exts.study._sections import heading
from bot.storage import Event, Participant, QuizRecord, Score, StudySession, Vote
from knowledge import UnknownReference
from knowledge.quiz import BLANK

if TYPE_CHECKING:
    from bot.bot import HistBot


def _when(stamp: str | None) -> str:
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M UTC")


def _md_quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines())


def transcript_markdown(
    session: StudySession,
    heading: str,
    events: Sequence[Event],
    quizzes: Sequence[QuizRecord],
    votes: dict[int, list[Vote]],
    participants: Sequence[Participant],
    scores: Sequence[Score],
    citations: dict[str, str],
) -> str:
    """The session as Markdown, ready to paste into notes: questions, quotes, quizzes."""
    numbers = {quiz.id: n for n, quiz in enumerate(quizzes, 1)}
    by_id = {quiz.id: quiz for quiz in quizzes}
    out = [f"# Study session: {heading}", ""]
    out.append(f"- Host: {session.host_name}")
    out.append(f"- Started: {_when(session.started_at)}")
    if session.ended_at:
        out.append(f"- Ended: {_when(session.ended_at)} ({session.end_reason or 'ended'})")
    out.append("- Participants: " + (", ".join(p.user_name for p in participants) or "none"))
    out += ["", "## Transcript", ""]
    for event in events:
        if event.kind == "passage" and event.ref:
            out.append(f"- Read `{event.ref}` — {citations.get(event.ref, event.ref)}")
        elif event.kind == "question":
            data = event.data
            out += [
                "",
                f"### Question from {event.user_name}",
                "",
                f"**Q:** {data['question']}",
                "",
            ]
            if data.get("answered"):
                out += [_md_quote(data["quote"]), "", f"— {data['citation']} (ref `{event.ref}`)"]
            else:
                out.append("*Not found in the texts.*")
            out.append("")
        elif event.kind == "quiz":
            quiz = by_id.get(int(event.data.get("quiz_id", 0)))
            if quiz is None:
                continue
            q = quiz.question
            cloze = q.cloze.replace(BLANK, f"`{BLANK}`")
            out += ["", f"### Quiz {numbers[quiz.id]}", "", _md_quote(cloze), ""]
            out += [f"{LETTERS[i]}. {c}" for i, c in enumerate(q.choices)]
            out += ["", f"**Answer:** {LETTERS[q.answer_index]}. {q.answer}", ""]
            out += [_md_quote(q.sentence), "", f"— {q.citation} (ref `{q.ref}`)", ""]
            answers = [
                f"{v.user_name}: {LETTERS[v.choice]}. {q.choices[v.choice]} "
                + ("✓" if v.correct else "✗")
                for v in votes.get(quiz.id, [])
            ]
            out.append("Answers: " + ("; ".join(answers) if answers else "none"))
            out.append("")
    out += ["", "## Scoreboard", ""]
    if scores:
        out += ["| Member | Correct | Answered |", "| --- | ---: | ---: |"]
        out += [f"| {s.user_name} | {s.correct} | {s.answered} |" for s in scores]
    else:
        out.append("No quiz answers.")
    return "\n".join(out).replace("\n\n\n", "\n\n").strip() + "\n"


async def ending(bot: HistBot, session: StudySession, closed: QuizRecord | None) -> dict[str, Any]:
    """The message that ends a session: the reveal of the quiz it closed, the summary, and
    the transcript as a Markdown file."""
    store, searcher = bot.store, bot.searcher
    library = await searcher.library_of(session.guild_id)
    events = await store.events(session.id)
    quizzes = await store.quizzes(session.id)
    votes = {quiz.id: await store.votes(quiz.id) for quiz in quizzes}
    people = await store.participants(session.id)
    scores = await store.scoreboard(session.id)
    refs = sorted({e.ref for e in events if e.ref})

    def describe() -> tuple[str, dict[str, str]]:
        info = next(
            (s for s in library.sections(session.source_id) if s.number == session.section), None
        )
        if info is not None:
            name = heading(library, info)
        else:
            name = f"{library.source(session.source_id).title} — section {session.section}"
        cites = {}
        for ref in refs:
            try:
                cites[ref] = library.passage(ref).citation
            except UnknownReference:
                cites[ref] = ref
        return name, cites

    name, citations = await searcher.run(describe)
    markdown = transcript_markdown(session, name, events, quizzes, votes, people, scores, citations)
    embeds = [summary_embed(name, events, quizzes, people, scores)]
    if closed is not None:
        embeds.insert(0, reveal_embed(closed, votes.get(closed.id, [])))
    file = discord.File(
        io.BytesIO(markdown.encode("utf-8")), filename=f"study-session-{session.id}.md"
    )
    return {"embeds": embeds, "file": file}
