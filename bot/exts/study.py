"""Study sessions: read a section together in a thread, ask questions, take quizzes.

    /study start [source] [section]   open a session in a new thread (or in this thread)
    /study next | "Next passage"      the next passage, in reading order
    /study goto ref                   jump to a passage
    /study ask question               answer as /ask does, and record it in the session
    /study quiz                       a cloze question on the passages read so far
    /study reveal                     close the open quiz and show its answer
    /study scores                     the session's scoreboard
    /study end                        close the session: summary and Markdown transcript

Everything a user sees acknowledged has been committed to the `SessionStore` first. The
buttons are `DynamicItem`s whose custom_id carries the session or quiz id; the rest of their
state is in the database, so they keep working after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.exts import HistButton
from bot.exts.ask import answer_kwargs
from bot.exts.passages import ref_autocomplete
from bot.inputs import strip_bot_mentions
from bot.rendering.buttons import REF_PATTERN
from bot.rendering.embeds import passage_embed
from bot.rendering.text import (
    CONTENT_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    choices,
    clean,
    error_text,
    fit,
    render_quote,
)
from bot.storage import (
    AlreadyVoted,
    Event,
    NotFound,
    QuizRecord,
    SessionClosed,
    SessionConflict,
    SessionStore,
    SqliteSessionStore,
    StudySession,
    Vote,
)
from knowledge import Answer, Library, Passage, QueryError, SectionInfo, UnknownReference
from knowledge.quiz import BLANK, quiz_maker

if TYPE_CHECKING:
    from bot.app import HistBot

log = logging.getLogger(__name__)
T = TypeVar("T")

STUDY_COLOUR = discord.Colour(0x6B46C1)
QUIZ_COLOUR = discord.Colour(0xD69E2E)
LETTERS = "ABCD"
THREAD_NAME_LIMIT = 100
NEXT_TEMPLATE = rf"histbot:study:next:(?P<session>\d+):(?P<ref>{REF_PATTERN})"
QUIZ_TEMPLATE = r"histbot:study:quiz:(?P<quiz>\d+):(?P<choice>\d)"
FOLLOW_UP = re.compile(
    r"\b(?:he|she|him|her|hers|his|they|them|their|theirs|it|its|himself|herself|themselves)\b",
    re.I,
)
SECTION_VALUE = re.compile(r"^(?P<source>[a-z0-9][a-z0-9_-]*)\s*:\s*(?P<number>\d+)$", re.I)


class StudyError(app_commands.CheckFailure):
    """Something the user is told privately, in one sentence (via the bot's error handler)."""


def next_id(session_id: int, ref: str) -> str:
    return f"histbot:study:next:{session_id}:{ref}"


def quiz_id(quiz: int, choice: int) -> str:
    return f"histbot:study:quiz:{quiz}:{choice}"


def section_value(info: SectionInfo) -> str:
    """A section's autocomplete value: "source:number", unambiguous across texts."""
    return f"{info.source_id}:{info.number}"


def find_section(library: Library, source: str | None, section: str | None) -> SectionInfo:
    """The section /study start names: a picked value ("bastille:2"), or typed by hand, a
    number (in `source`, by default the first text) or a title (in `source`, or any text).
    With neither, the first section of `source` (or of the first text)."""
    source_id = source.strip().lower() if source and source.strip() else None
    if source_id is not None:
        library.source(source_id)  # UnknownReference for a source that does not exist
    wanted = (section or "").strip()
    if not wanted:
        return library.sections(source_id or library.sources[0].id)[0]
    picked = SECTION_VALUE.match(wanted)
    if picked and picked["source"].lower() in {s.id for s in library.sources}:
        named = picked["source"].lower()
        if source_id is not None and named != source_id:
            raise StudyError(f"Section {wanted} is not in {source_id}: pick one of its sections.")
        return library.find_section(named, picked["number"])
    if wanted.isdigit():
        return library.find_section(source_id or library.sources[0].id, wanted)
    return library.find_section(source_id, wanted)


def is_follow_up(question: str) -> bool:
    """Does the question refer back to someone or something with a third-person pronoun
    ("what happened to him?")? Only then is the last answer its context."""
    return FOLLOW_UP.search(question) is not None


def study_cog(bot: commands.Bot) -> StudyCog:
    cog = bot.get_cog(StudyCog.__cog_name__)
    if not isinstance(cog, StudyCog):
        raise StudyError("Study sessions are not available right now.")
    return cog


# -- rendering ------------------------------------------------------------------------------


def study_passage_embed(passage: Passage) -> discord.Embed:
    embed, _pages = passage_embed(passage, title_prefix="Study · ")
    embed.colour = STUDY_COLOUR
    return embed


def next_view(session: StudySession, passage: Passage, has_next: bool) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    if has_next:
        view.add_item(NextPassageButton(next_id(session.id, passage.ref), "Next passage"))
    return view


def quiz_embed(quiz: QuizRecord) -> discord.Embed:
    lines = [f"**{LETTERS[i]}.** {clean(choice)}" for i, choice in enumerate(quiz.question.choices)]
    embed = discord.Embed(
        title=f"Quiz {quiz.number}: fill in the blank",
        description=cloze_text(quiz.question.cloze) + "\n\n" + "\n".join(lines),
        colour=QUIZ_COLOUR,
    )
    embed.set_footer(text=f"histbot · from ref {quiz.question.ref} · each member answers once")
    return embed


def cloze_text(cloze: str, limit: int = 3000) -> str:
    """The cloze sentence, escaped, with its blank shown as a code span."""
    return "`_____`".join(clean(part) for part in cloze[:limit].split(BLANK))


def quiz_view(quiz: QuizRecord) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for index, choice in enumerate(quiz.question.choices):
        label = f"{LETTERS[index]}. {choice}"
        view.add_item(QuizChoiceButton(quiz_id(quiz.id, index), label[:80]))
    return view


def answer_quote(quiz: QuizRecord) -> str:
    """The quiz sentence as a quote, with the answer in bold."""
    return render_quote(quiz.question.sentence, (quiz.question.answer,), 1500)


def reveal_embed(quiz: QuizRecord, votes: Sequence[Vote]) -> discord.Embed:
    embed = discord.Embed(
        title=f"Quiz {quiz.number}: the answer is {fit(quiz.question.answer, TITLE_LIMIT - 40)}",
        description=answer_quote(quiz),
        colour=QUIZ_COLOUR,
    )
    citation = fit(quiz.question.citation, FIELD_VALUE_LIMIT)
    embed.add_field(name="Citation", value=citation, inline=False)
    right = [clean(v.user_name) for v in votes if v.correct]
    wrong = [clean(v.user_name) for v in votes if not v.correct]
    results = (
        f"Right ({len(right)}): {', '.join(right) or '—'}\n"
        f"Not this time ({len(wrong)}): {', '.join(wrong) or '—'}"
    )
    embed.add_field(name="Answers", value=fit(results, FIELD_VALUE_LIMIT, lambda t: t))
    embed.set_footer(text=f"histbot · ref {quiz.question.ref}")
    return embed


def scoreboard_lines(scores: Sequence[Any]) -> list[str]:
    return [
        f"{rank}. {clean(s.user_name)} — {s.correct}/{s.answered}"
        for rank, s in enumerate(scores, 1)
    ]


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
    participants: Sequence[Any],
    scores: Sequence[Any],
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
            cloze = quiz.question.cloze.replace(BLANK, f"`{BLANK}`")
            out += ["", f"### Quiz {numbers[quiz.id]}", "", _md_quote(cloze), ""]
            out += [f"{LETTERS[i]}. {c}" for i, c in enumerate(quiz.question.choices)]
            q = quiz.question
            out += ["", f"**Answer:** {LETTERS[q.answer_index]}. {q.answer}", ""]
            out += [_md_quote(q.sentence), "", f"— {q.citation} (ref `{q.ref}`)", ""]
            answers = [
                f"{v.user_name}: {LETTERS[v.choice]}. {quiz.question.choices[v.choice]} "
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


# -- buttons --------------------------------------------------------------------------------


class NextPassageButton(HistButton, template=NEXT_TEMPLATE):
    """ "Next passage" under a study passage: moves the session on, once, from that passage."""

    kind = "study-next"

    def __init__(
        self,
        custom_id: str,
        label: str = "Next passage",
        style: discord.ButtonStyle = discord.ButtonStyle.primary,
        disabled: bool = False,
        row: int | None = None,
    ) -> None:
        super().__init__(custom_id, label, style, disabled, row)

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        await study_cog(bot).press_next(interaction, int(fields["session"]), fields["ref"])


class QuizChoiceButton(HistButton, template=QUIZ_TEMPLATE):
    """One of a quiz's four choices: records the member's (only) answer."""

    kind = "study-quiz"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        await study_cog(bot).press_choice(interaction, int(fields["quiz"]), int(fields["choice"]))


# -- the cog --------------------------------------------------------------------------------


class KeyedLocks:
    """A mutex per key (a channel, a session), forgotten once nobody holds or awaits it.

    The mutex is taken only synchronously, right after seeing it free, so a waiter that
    fails or is cancelled while waiting (its `slow` callback raised, say) never ends up
    holding it.
    """

    @dataclass(slots=True)
    class _Gate:
        held: bool = False
        users: int = 0
        released: asyncio.Event = field(default_factory=asyncio.Event)

    def __init__(self) -> None:
        self._gates: dict[int, KeyedLocks._Gate] = {}

    def __len__(self) -> int:
        return len(self._gates)

    @contextlib.asynccontextmanager
    async def hold(
        self,
        key: int,
        *,
        slow: Callable[[], Awaitable[object]] | None = None,
        after: float = 0.0,
    ) -> AsyncIterator[None]:
        """Hold `key`'s mutex; if that means waiting more than `after` seconds, await `slow()`
        first (once), e.g. to acknowledge an interaction."""
        gate = self._gates.setdefault(key, KeyedLocks._Gate())
        gate.users += 1
        try:
            while gate.held:
                released = gate.released
                if slow is None:
                    await released.wait()
                    continue
                try:
                    await asyncio.wait_for(released.wait(), after)
                except TimeoutError:
                    callback, slow = slow, None
                    await callback()
            gate.held = True
            try:
                yield
            finally:
                gate.held = False
                gate.released.set()
                gate.released = asyncio.Event()
        finally:
            gate.users -= 1
            if not gate.users:
                del self._gates[key]


class StudyCog(commands.Cog, name="Study"):
    study = app_commands.Group(
        name="study",
        description="Read a text together, ask questions, take quizzes",
        guild_only=True,
    )

    def __init__(self, bot: HistBot, store: SessionStore | None = None) -> None:
        self.bot = bot
        self.store: SessionStore = store or SqliteSessionStore(bot.settings.database_path)
        self._starting = KeyedLocks()
        """One /study start at a time per channel id."""
        self._quizzing = KeyedLocks()
        """One quiz being made at a time per session id."""
        self._warming: asyncio.Future[Any] | None = None

    async def cog_load(self) -> None:
        await self.store.open()
        self.bot.add_message_claim(self.claim)
        hooks = getattr(self.bot, "answer_hooks", None)
        if isinstance(hooks, list):  # /ask records its answers in a session thread
            hooks.append(self.record_ask)

    async def cog_unload(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
        self.bot.remove_message_claim(self.claim)
        hooks = getattr(self.bot, "answer_hooks", None)
        if isinstance(hooks, list) and self.record_ask in hooks:
            hooks.remove(self.record_ask)
        await self.store.close()

    async def record_ask(
        self, interaction: discord.Interaction, question: str, answer: Answer
    ) -> None:
        """/ask in a session thread: record the answer (before /ask replies). Private
        answers (`private:True`) stay private and are not recorded."""
        if getattr(interaction.namespace, "private", False):
            return
        session = await self.store.active_session(interaction.channel_id or 0)
        if session is None or session.thread_id != interaction.channel_id:
            return
        best = answer.best
        with contextlib.suppress(SessionClosed):
            await self.store.record_question(
                session.id,
                user_id=interaction.user.id,
                user_name=interaction.user.display_name,
                question=answer.question,
                answered=best is not None,
                quote=best.quote if best else "",
                citation=best.citation if best else "",
                ref=best.ref if best else None,
                via="ask",
            )

    # -- helpers ---------------------------------------------------------------------------

    async def _here(
        self, interaction: discord.Interaction, *, in_thread: bool = True
    ) -> StudySession:
        channel_id = interaction.channel_id or 0
        session = await self.store.active_session(channel_id)
        if session is None:
            raise StudyError("There is no study session here. Start one with /study start.")
        if in_thread and session.thread_id != channel_id and await self._close_orphan(session):
            raise StudyError(
                "This channel's study session thread was deleted, so the session has been "
                "closed. Start a new one with /study start."
            )
        if in_thread and session.thread_id != channel_id:
            raise StudyError(
                f"This channel's study session runs in <#{session.thread_id}>: use it there."
            )
        return session

    async def _soon(
        self, interaction: discord.Interaction, work: Awaitable[T], *, ephemeral: bool = False
    ) -> T:
        """Await `work` (database and library calls); if it takes a while, or questions are
        already queued, defer first so the interaction is acknowledged within Discord's 3
        seconds — the same rule as /ask (`HistBot.compute`)."""
        return await self.bot.compute(interaction, work, ephemeral=ephemeral)

    async def _defer(self, interaction: discord.Interaction, *, ephemeral: bool = False) -> None:
        if not interaction.response.is_done():
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
            interaction.extras[_deferred_key()] = "private" if ephemeral else "public"

    async def _thread_exists(self, thread_id: int) -> bool:
        # Ask Discord, not the cache: a thread deleted while the bot was offline (or
        # without the event reaching it) is still in the cache.
        try:
            await self.bot.fetch_channel(thread_id)
        except discord.NotFound:
            return False
        except discord.HTTPException:
            return True  # cannot tell (no access, outage): assume it is there
        return True

    async def _close_orphan(self, session: StudySession) -> bool:
        """End a session whose thread is gone; True if it was an orphan."""
        if await self._thread_exists(session.thread_id):
            return False
        with contextlib.suppress(SessionClosed):
            await self.store.end_session(
                session.id, user_id=None, user_name="", reason="thread deleted"
            )
        return True

    def _warm_quizzes(self) -> None:
        """Build the library's quiz vocabulary in the background (a read of every passage:
        seconds for a large library), so a session's first /study quiz need not wait."""
        if self._warming is not None and not self._warming.done():
            return
        library = self.bot.library
        self._warming = asyncio.ensure_future(self.bot.run_blocking(quiz_maker, library.passages))
        self._warming.add_done_callback(_log_failure)

    async def _passage_message(self, session: StudySession, passage: Passage) -> dict[str, Any]:
        following = await self.bot.run_blocking(self.bot.library.next, passage.ref)
        return {
            "embed": study_passage_embed(passage),
            "view": next_view(session, passage, following is not None),
        }

    # -- autocomplete ----------------------------------------------------------------------

    async def source_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        pairs = [
            (s.id, f"{s.id} — {s.title}")
            for s in self.bot.library.sources
            if not typed or typed in s.id.lower() or typed in s.title.lower()
        ]
        return [app_commands.Choice(name=n, value=v) for n, v in choices(pairs)]

    async def section_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        source = getattr(interaction.namespace, "source", None) or None
        try:
            sections = self.bot.library.sections(source)
        except UnknownReference:
            sections = self.bot.library.sections()
        typed = current.strip().lower()
        pairs = [
            (section_value(s), f"{s.number} — {s.title or 'untitled'} ({s.source_id})")
            for s in sections
            if not typed
            or typed in str(s.number)
            or typed in s.title.lower()
            or typed in section_value(s)
        ]
        return [app_commands.Choice(name=n, value=v) for n, v in choices(pairs)]

    # -- commands --------------------------------------------------------------------------

    @study.command(name="start", description="Open a study session on a section of a text")
    @app_commands.describe(
        source="Which text (default: the first one)",
        section="Section number or title (default: the first section)",
    )
    async def start(
        self,
        interaction: discord.Interaction,
        source: str | None = None,
        section: str | None = None,
    ) -> None:
        library = self.bot.library
        channel = interaction.channel
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise StudyError("Study sessions run in a server text channel or thread.")

        def resolve() -> tuple[str, int, str, str]:
            info = find_section(library, source, section)
            src = library.source(info.source_id)
            return (
                src.id,
                info.number,
                info.first_ref,
                f"{src.title} — section {info.number}" + (f" “{info.title}”" if info.title else ""),
            )

        async def check() -> tuple[str, int, str, str]:
            resolved = await self.bot.run_blocking(resolve)
            existing = await self.store.active_session(channel.id)
            if existing is not None and not await self._close_orphan(existing):
                raise StudyError(
                    f"A study session is already running here, in <#{existing.thread_id}> "
                    f"(hosted by {existing.host_name}). End it with /study end first."
                )
            return resolved

        source_id, number, first_ref, heading = await self._soon(interaction, check())
        # One start at a time per channel (a guild's events all reach one shard, so this
        # closes the race between two simultaneous starts; the database's unique index is
        # the backstop). If waiting for another start takes a while, acknowledge first.
        async with self._starting.hold(
            channel.id, slow=lambda: self._defer(interaction), after=self.bot.defer_after
        ):
            existing = await self.store.active_session(channel.id)
            if existing is not None:
                raise StudyError(
                    f"A study session is already running here, in <#{existing.thread_id}> "
                    f"(hosted by {existing.host_name})."
                )
            await self._open(interaction, channel, source_id, number, first_ref, heading)

    async def _open(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | discord.Thread,
        source_id: str,
        number: int,
        first_ref: str,
        heading: str,
    ) -> None:
        library = self.bot.library
        await self._defer(interaction)
        if isinstance(channel, discord.Thread):
            thread = channel
        else:
            try:
                thread = await channel.create_thread(
                    name=fit(f"Study · {heading}", THREAD_NAME_LIMIT, lambda t: t),
                    type=discord.ChannelType.public_thread,
                    auto_archive_duration=1440,
                    reason=f"study session opened by {interaction.user}",
                )
            except discord.Forbidden:
                raise StudyError(
                    "I can't create a thread here: I need the Create Public Threads permission."
                ) from None
        try:
            session = await self.store.start_session(
                guild_id=interaction.guild_id,
                channel_id=channel.id,
                thread_id=thread.id,
                host_id=interaction.user.id,
                host_name=interaction.user.display_name,
                source_id=source_id,
                section=number,
                first_ref=first_ref,
            )
        except SessionConflict as conflict:
            if thread is not channel:
                await _delete_quietly(thread)
            raise StudyError(
                f"A study session is already running here, in <#{conflict.existing.thread_id}>."
            ) from None
        self._warm_quizzes()
        passage = await self.bot.passage(first_ref)
        following = await self.bot.run_blocking(library.next, first_ref)
        embed = study_passage_embed(passage)
        view = next_view(session, passage, following is not None)
        intro = (
            f"**Study session** on {clean(heading)}, hosted by {clean(session.host_name)}. "
            "Ask questions here (`/study ask`), use **Next passage** to read on, "
            "`/study quiz` to test yourselves and `/study end` to finish."
        )
        if thread is channel:
            await self.bot.send(interaction, content=intro, embed=embed, view=view)
            return
        try:
            await thread.send(content=intro, embed=embed, view=view)
        except discord.HTTPException:
            log.warning("could not post the first passage in thread %s", thread.id, exc_info=True)
        await self.bot.send(
            interaction, content=f"Study session started in {thread.mention}: join in!"
        )

    @start.autocomplete("source")
    async def _start_source(self, interaction: discord.Interaction, current: str):
        return await self.source_autocomplete(interaction, current)

    @start.autocomplete("section")
    async def _start_section(self, interaction: discord.Interaction, current: str):
        return await self.section_autocomplete(interaction, current)

    @study.command(name="next", description="Show the next passage of the session's text")
    async def next_(self, interaction: discord.Interaction) -> None:
        async def work() -> dict[str, Any]:
            session = await self._here(interaction)
            return await self._advance(interaction, session, session.current_ref)

        await self.bot.send(interaction, **await self._soon(interaction, work()))

    async def _advance(
        self, interaction: discord.Interaction, session: StudySession, from_ref: str
    ) -> dict[str, Any]:
        """Move the session from `from_ref` to the next passage (once); the message to post."""
        following = await self.bot.run_blocking(self.bot.library.next, from_ref)
        if following is None:
            raise StudyError(
                "That was the last passage of this text. Jump elsewhere with /study goto, "
                "or finish with /study end."
            )
        try:
            moved = await self.store.advance(
                session.id,
                following.ref,
                user_id=interaction.user.id,
                user_name=interaction.user.display_name,
                expected_ref=from_ref,
            )
        except SessionClosed:
            raise StudyError("This study session has ended.") from None
        if not moved:
            current = (await self.store.session(session.id)).current_ref
            raise StudyError(
                f"The session has already moved on to {current}: "
                "use the newest Next passage button or /study next."
            )
        return await self._passage_message(session, following)

    async def press_next(self, interaction: discord.Interaction, session_id: int, ref: str) -> None:
        async def work() -> dict[str, Any]:
            try:
                session = await self.store.session(session_id)
            except NotFound:
                raise StudyError("This study session no longer exists.") from None
            if not session.active:
                raise StudyError("This study session has ended.")
            return await self._advance(interaction, session, ref)

        await self.bot.send(interaction, **await self._soon(interaction, work()))
        if interaction.message is not None:
            try:  # the old button has done its job; nothing breaks if this fails
                await interaction.message.edit(view=None)
            except discord.HTTPException:
                log.debug("could not remove an old Next button", exc_info=True)

    @study.command(name="goto", description="Jump to a passage of the text")
    @app_commands.describe(ref="A passage reference such as 3.2 or guardians:3.2")
    async def goto(self, interaction: discord.Interaction, ref: str) -> None:
        await self.bot.send(
            interaction, **await self._soon(interaction, self._goto(interaction, ref))
        )

    async def _goto(self, interaction: discord.Interaction, ref: str) -> dict[str, Any]:
        session = await self._here(interaction)

        def resolve() -> Passage:
            text = ref.strip()
            if ":" not in text:
                text = f"{session.source_id}:{text}"
            return self.bot.library.passage(text)

        passage = await self.bot.run_blocking(resolve)
        try:
            await self.store.advance(
                session.id,
                passage.ref,
                user_id=interaction.user.id,
                user_name=interaction.user.display_name,
            )
        except SessionClosed:
            raise StudyError("This study session has ended.") from None
        return await self._passage_message(session, passage)

    @goto.autocomplete("ref")
    async def _goto_ref(self, interaction: discord.Interaction, current: str):
        # As /passage's: off the event loop, with a time limit, on at most 100 characters.
        return await ref_autocomplete(interaction, current)

    # -- questions -------------------------------------------------------------------------

    async def answer_and_record(
        self, session: StudySession, user: discord.abc.User, question: str, via: str
    ) -> Answer:
        """Answer like /ask and commit it. A follow-up about "him", "it", "them"... is about
        the session's last answer: only such a question gets that answer as context."""
        context = ""
        if is_follow_up(question):
            last = await self.store.last_answer(session.id)
            context = last.data.get("quote", "") if last else ""
        answer = await self.bot.ask(question, context=context)
        best = answer.best
        try:
            await self.store.record_question(
                session.id,
                user_id=user.id,
                user_name=getattr(user, "display_name", user.name),
                question=answer.question,
                answered=best is not None,
                quote=best.quote if best else "",
                citation=best.citation if best else "",
                ref=best.ref if best else None,
                via=via,
            )
        except SessionClosed:
            raise StudyError("This study session has ended.") from None
        return answer

    @study.command(name="ask", description="Ask the texts a question (recorded in the session)")
    @app_commands.describe(question="Your question, e.g. who succeeded Dzerzhinsky?")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        session = await self._here(interaction)
        retry = self.bot.cooldowns.hit("ask", interaction.user.id, self.bot.cooldown_seconds("ask"))
        if retry > 0:
            raise app_commands.CommandOnCooldown(
                app_commands.Cooldown(1, self.bot.cooldown_seconds("ask")), retry
            )
        work = self.answer_and_record(session, interaction.user, question, "slash")
        try:
            answer = await self._soon(interaction, work)
        except QueryError:
            # A question that could not be asked does not use up the cooldown (as /ask).
            self.bot.cooldowns.reset("ask", interaction.user.id)
            raise
        await self.bot.send(interaction, **answer_kwargs(answer))

    async def claim(self, message: discord.Message) -> bool:
        """The mention handler leaves a session thread's messages to this cog."""
        return await self._session_question(message) is not None

    async def _session_question(self, message: discord.Message) -> tuple[StudySession, str] | None:
        if message.author.bot or not isinstance(message.channel, discord.Thread):
            return None
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return None
        me = self.bot.user
        if me is None:
            return None
        mentioned = any(user.id == me.id for user in message.mentions)
        if not mentioned and not self.bot.settings.message_content:
            return None
        session = await self.store.active_session(message.channel.id)
        if session is None or session.thread_id != message.channel.id:
            return None
        question = strip_bot_mentions(message.content, me.id)
        if not question or question.startswith(("/", "!")):
            return None
        return session, question

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        found = await self._session_question(message)
        if found is None:
            return
        session, question = found
        per = self.bot.cooldown_seconds("ask")
        retry = self.bot.cooldowns.hit("ask", message.author.id, per)
        if retry > 0:
            return  # no reply: replying to every message of a chatty thread would be noise
        via = "mention" if self.bot.user in message.mentions else "message"
        try:
            answer = await self.answer_and_record(session, message.author, question, via)
        except QueryError as error:
            self.bot.cooldowns.reset("ask", message.author.id)
            await message.reply(error_text(str(error)), mention_author=False)
            return
        except StudyError:
            return
        await message.reply(**answer_kwargs(answer), mention_author=False)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        session = await self.store.active_session(payload.thread_id)
        if session is None or session.thread_id != payload.thread_id:
            return
        try:
            await self.store.end_session(
                session.id, user_id=None, user_name="", reason="thread deleted"
            )
            log.info("study session %s ended: its thread was deleted", session.id)
        except SessionClosed:
            pass

    # -- quizzes ---------------------------------------------------------------------------

    @study.command(name="quiz", description="A question on the passages read so far")
    async def quiz(self, interaction: discord.Interaction) -> None:
        await self.bot.send(
            interaction, **await self._soon(interaction, self._new_quiz(interaction))
        )

    async def _new_quiz(self, interaction: discord.Interaction) -> dict[str, Any]:
        session = await self._here(interaction)
        # One quiz at a time per session: the next one excludes this one's question, and its
        # seed follows the quizzes already asked. (The number shown comes from the database,
        # counted in add_quiz's transaction, so it is right across processes too.)
        async with self._quizzing.hold(session.id):
            return await self._make_quiz(interaction, session)

    async def _make_quiz(
        self, interaction: discord.Interaction, session: StudySession
    ) -> dict[str, Any]:
        refs = await self.store.read_refs(session.id)
        asked = await self.store.quizzes(session.id)
        library = self.bot.library

        def generate():
            read = [library.passage(ref) for ref in refs]
            rng = random.Random(f"{session.id}:{len(asked) + 1}")
            exclude = [(q.question.ref, q.question.answer) for q in asked]
            # The library's vocabulary is built once (see _warm_quizzes), not per quiz.
            return quiz_maker(library.passages).make(read, rng=rng, exclude=exclude)

        question = await self.bot.run_blocking(generate)
        if question is None:
            raise StudyError(
                "The passages read so far have no names, dates or numbers to quiz on: "
                "read on with /study next, then try again."
            )
        try:
            record, previous = await self.store.add_quiz(
                session.id,
                question,
                user_id=interaction.user.id,
                user_name=interaction.user.display_name,
            )
        except SessionClosed:
            raise StudyError("This study session has ended.") from None
        embeds = []
        if previous is not None:
            embeds.append(reveal_embed(previous, await self.store.votes(previous.id)))
        embeds.append(quiz_embed(record))
        return {"embeds": embeds, "view": quiz_view(record)}

    async def press_choice(self, interaction: discord.Interaction, quiz: int, choice: int) -> None:
        text = await self._soon(interaction, self._vote(interaction, quiz, choice), ephemeral=True)
        await self.bot.send(interaction, content=text, ephemeral=True)

    async def _vote(self, interaction: discord.Interaction, quiz: int, choice: int) -> str:
        """Record a member's answer; the private reply (verdict, quote and citation)."""
        try:
            record = await self.store.quiz(quiz)
        except NotFound:
            raise StudyError("This quiz no longer exists.") from None
        if not 0 <= choice < len(record.question.choices):
            raise StudyError("That is not one of this quiz's choices.")
        reveal = f"{answer_quote(record)}\n— {clean(record.question.citation)}"
        try:
            vote = await self.store.vote(
                quiz,
                user_id=interaction.user.id,
                user_name=interaction.user.display_name,
                choice=choice,
            )
        except AlreadyVoted as already:
            chosen = record.question.choices[already.vote.choice]
            raise StudyError(
                f"You have already answered this quiz (you chose {LETTERS[already.vote.choice]}. "
                f"{chosen}); each member answers once."
            ) from None
        except SessionClosed:
            answer = clean(record.question.answer)
            text = f"This quiz is closed. The answer was **{answer}**:\n{reveal}"
            return fit(text, CONTENT_LIMIT, lambda t: t)
        if vote.correct:
            head = f"✅ Right: **{clean(record.question.answer)}**."
        else:
            head = (
                f"❌ Not this time: you chose {clean(record.question.choices[choice])}; "
                f"the answer is **{clean(record.question.answer)}**."
            )
        return fit(f"{head}\n{reveal}", CONTENT_LIMIT, lambda t: t)

    @study.command(name="reveal", description="Close the open quiz and show its answer")
    async def reveal(self, interaction: discord.Interaction) -> None:
        await self.bot.send(interaction, **await self._soon(interaction, self._reveal(interaction)))

    async def _reveal(self, interaction: discord.Interaction) -> dict[str, Any]:
        session = await self._here(interaction)
        self._require_host(interaction, session, "reveal the quiz")
        open_quiz = await self.store.open_quiz(session.id)
        if open_quiz is None:
            raise StudyError("There is no open quiz. Start one with /study quiz.")
        closed = await self.store.close_quiz(open_quiz.id)
        return {"embed": reveal_embed(closed, await self.store.votes(closed.id))}

    @study.command(name="scores", description="The session's quiz scoreboard")
    async def scores(self, interaction: discord.Interaction) -> None:
        async def work() -> list[str]:
            session = await self._here(interaction)
            return scoreboard_lines(await self.store.scoreboard(session.id))

        lines = await self._soon(interaction, work())
        embed = discord.Embed(
            title="Scoreboard",
            description="\n".join(lines) or "No quiz answers yet: try `/study quiz`.",
            colour=QUIZ_COLOUR,
        )
        await self.bot.send(interaction, embed=embed)

    # -- ending ----------------------------------------------------------------------------

    @staticmethod
    def _require_host(interaction: discord.Interaction, session: StudySession, what: str) -> None:
        if interaction.user.id == session.host_id:
            return
        if interaction.permissions.manage_threads:
            return
        raise StudyError(
            f"Only the host ({session.host_name}) or members with Manage Threads can {what}."
        )

    @study.command(name="end", description="Close the session: summary and transcript")
    async def end(self, interaction: discord.Interaction) -> None:
        session = await self._here(interaction, in_thread=False)
        self._require_host(interaction, session, "end this session")
        await self._defer(interaction)
        try:
            ended, closed = await self.store.end_session(
                session.id,
                user_id=interaction.user.id,
                user_name=interaction.user.display_name,
                reason=f"ended by {interaction.user.display_name}",
            )
        except SessionClosed:
            raise StudyError("This study session has already ended.") from None
        embeds, file = await self.summary(ended, closed)
        interaction.extras[_deferred_key()] = None
        await interaction.edit_original_response(embeds=embeds, attachments=[file])

    async def summary(
        self, session: StudySession, closed: QuizRecord | None
    ) -> tuple[list[discord.Embed], discord.File]:
        store = self.store
        events = await store.events(session.id)
        quizzes = await store.quizzes(session.id)
        votes = {quiz.id: await store.votes(quiz.id) for quiz in quizzes}
        people = await store.participants(session.id)
        scores = await store.scoreboard(session.id)
        refs = sorted({e.ref for e in events if e.ref})
        library = self.bot.library

        def describe() -> tuple[str, dict[str, str]]:
            src = library.source(session.source_id)
            info = next((s for s in library.sections(src.id) if s.number == session.section), None)
            heading = f"{src.title} — section {session.section}"
            if info and info.title:
                heading += f" “{info.title}”"
            cites = {}
            for ref in refs:
                try:
                    cites[ref] = library.passage(ref).citation
                except UnknownReference:
                    cites[ref] = ref
            return heading, cites

        heading, citations = await self.bot.run_blocking(describe)
        markdown = transcript_markdown(
            session, heading, events, quizzes, votes, people, scores, citations
        )
        questions = [e for e in events if e.kind == "question"]
        read = [e for e in events if e.kind == "passage"]
        embed = discord.Embed(
            title=fit(f"Study session ended: {heading}", TITLE_LIMIT),
            colour=STUDY_COLOUR,
        )
        names = ", ".join(clean(p.user_name) for p in people) or "nobody"
        embed.add_field(
            name="Who took part", value=fit(names, FIELD_VALUE_LIMIT, lambda t: t), inline=False
        )
        embed.add_field(name="Passages read", value=str(len({e.ref for e in read})))
        answered = sum(1 for q in questions if q.data.get("answered"))
        embed.add_field(
            name="Questions asked",
            value=f"{len(questions)} ({answered} answered)",
        )
        quiz_text = "\n".join(scoreboard_lines(scores)) or "No quiz answers."
        embed.add_field(
            name=f"Quiz results ({len(quizzes)} quiz{'zes' if len(quizzes) != 1 else ''})",
            value=fit(quiz_text, FIELD_VALUE_LIMIT, lambda t: t),
            inline=False,
        )
        embed.set_footer(text="histbot · the full transcript is attached (Markdown)")
        embeds = [embed]
        if closed is not None:
            embeds.insert(0, reveal_embed(closed, votes.get(closed.id, [])))
        file = discord.File(
            io.BytesIO(markdown.encode("utf-8")), filename=f"study-session-{session.id}.md"
        )
        return embeds, file


def _deferred_key() -> str:
    from bot.app import DEFERRED_KEY

    return DEFERRED_KEY


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("could not prepare the quiz vocabulary", exc_info=future.exception())


async def _delete_quietly(thread: discord.Thread) -> None:
    try:
        await thread.delete()
    except discord.HTTPException:
        log.debug("could not delete thread %s", thread.id, exc_info=True)


async def setup(bot: HistBot) -> None:
    store = getattr(bot, "session_store", None)
    await bot.add_cog(StudyCog(bot, store))
    bot.add_dynamic_items(NextPassageButton, QuizChoiceButton)
