"""/library end to end: texts a server adds, searched only there, beside the shipped ones.

The files are attachments served by the stand-in's CDN route, as Discord serves them; the
bot downloads them, reads and indexes them in its indexing worker process and stores them
in its upload database (a real SQLite file). Olga owns the default server (Manage Server);
alice and bob are plain members.
"""

from __future__ import annotations

import io
import random
import re

from pypdf import PdfWriter

from bot.bot import HistBot
from standin import Attachment, Discord, GuildRef
from tests.bot.helpers import EPHEMERAL, StartBot, fields, footer_ref
from tests.knowledge.test_formats import zip_bomb

BASTILLE = """\
The Fall of the Bastille

The Night Before

On the evening of 13 July 1789 the electors of Paris formed a citizens' militia and
chose the Marquis de Lafayette to lead it.

The Storming

On the morning of 14 July a crowd of some nine hundred Parisians gathered before the
fortress, demanding the gunpowder stored inside.

The governor of the Bastille, Bernard-René de Launay, refused to surrender and his
garrison of invalides and Swiss guards fired on the crowd.

In the afternoon the gardes françaises brought five cannon from the Invalides, and at
half past five de Launay capitulated.

The Aftermath

The demolition of the fortress was begun the next day by the contractor Pierre-François
Palloy, who sold its stones as souvenirs.
"""
QUESTION = "Who was the governor of the Bastille?"


def bastille(name: str = "fall-of-the-bastille.txt", text: str = BASTILLE) -> tuple[str, bytes]:
    return name, text.encode("utf-8")


async def add(
    standin: Discord, file: tuple[str, bytes] | Attachment, *, channel=None, user=None, **options
):
    return await standin.slash(
        "library add",
        user=user or standin.owner,
        channel=channel or standin.channel,
        file=file,
        timeout=60,
        **options,
    )


async def test_adding_a_text_makes_it_searchable_in_that_server(
    standin: Discord, bot: HistBot
) -> None:
    added = await add(standin, bastille(), title="The Fall of the Bastille")
    assert not any(m.ephemeral for m in added.messages)  # the server sees what it can now ask
    assert re.fullmatch(
        r"Added \*\*The Fall of the Bastille\*\*: 5 passages in 3 sections\. .*`the-fall-of-the-"
        r"bastille:…`.*",
        added.text,
    ), added.text

    answer = await standin.slash("ask", question=QUESTION)
    assert "de Launay" in answer.embeds[0]["description"]
    assert fields(answer)["Citation"].startswith(
        "The Fall of the Bastille, section 2 “The Storming”"
    )
    ref = footer_ref(answer)
    assert ref == "the-fall-of-the-bastille:2.2"

    passage = await standin.slash("passage", ref="the-fall-of-the-bastille:2.2")
    assert "refused to surrender" in passage.embeds[0]["description"]
    context = await standin.click(answer, "Context")
    assert "nine hundred Parisians" in context.text

    searched = await standin.slash("search", query="Palloy souvenirs")
    assert "the-fall-of-the-bastille:3.1" in searched.text

    sources = await standin.slash("sources")
    assert [e["title"] for e in sources.embeds] == [
        "From Guardians to Executioners",
        "The Fall of the Bastille",
    ]
    completed = await standin.autocomplete("passage", "ref", "the-fall")
    assert completed[0]["value"] == "the-fall-of-the-bastille:1.1"

    listed = await standin.slash("library list", user=standin.alice)
    assert listed.ephemeral
    assert "**The Fall of the Bastille** · `the-fall-of-the-bastille` · 5 passages" in listed.text
    assert "added by olga" in listed.text and "1 of 20 texts" in listed.text


def refusal(reply) -> str:
    """What a refused member sees: private messages only (a public "thinking…" shown while
    the file was read is deleted), none of them "Added"."""
    shown = [m for m in reply.messages if not m.deleted]
    assert shown and all(m.flags & EPHEMERAL for m in shown), [m.raw for m in shown]
    text = "\n".join(m.text for m in shown)
    assert "Added" not in text
    return text


async def stored(bot: HistBot, guild_id: int) -> list[str]:
    """The ids of the texts the server's upload database holds."""
    assert bot.uploads is not None
    return [u.source_id for u in bot.uploads.uploads(guild_id)]


async def test_only_members_with_manage_server_or_the_library_role_may_add_or_remove(
    standin: Discord, start_bot: StartBot
) -> None:
    role = standin.world.add_role(standin.guild_id, "Librarians", 0)
    dora = await standin.add_member("dora", roles=[role])
    bot = await start_bot(library_role="Librarians")

    refused = await add(standin, bastille(), user=standin.alice)
    assert refusal(refused) == (
        "Only members with Manage Server or the Librarians role can add to this server's texts."
    )
    assert standin.server.attachment_downloads == []  # refused before a byte was fetched
    assert await stored(bot, standin.guild_id) == []

    added = await add(standin, bastille(), user=dora)
    assert added.text.startswith("Added **Fall Of The Bastille**")  # titled from the file name

    for who in (standin.alice, standin.bob):
        removal = await standin.slash(
            "library remove", user=who, source="fall-of-the-bastille", timeout=30
        )
        assert "Only members with Manage Server" in refusal(removal)
    assert await stored(bot, standin.guild_id) == ["fall-of-the-bastille"]
    listed = await standin.slash("library list", user=standin.bob)  # anyone may look
    assert "**Fall Of The Bastille**" in listed.text and "added by dora" in listed.text


async def test_a_text_added_in_one_server_is_never_an_answer_in_another(
    standin: Discord, bot: HistBot
) -> None:
    other: GuildRef = await standin.add_guild("Revolution Reading Club", members=[standin.alice])
    await add(standin, bastille(), title="The Fall of the Bastille")

    here = await standin.slash("ask", question=QUESTION, user=standin.alice)
    assert "de Launay" in here.text
    there = await standin.slash("ask", question=QUESTION, user=standin.alice, channel=other.channel)
    assert "de Launay" not in there.text and "the-fall-of-the-bastille" not in there.text
    in_dm = await standin.slash("ask", question=QUESTION, channel=standin.dm(standin.alice))
    assert "the-fall-of-the-bastille" not in in_dm.text

    missing = await standin.slash(
        "passage", ref="the-fall-of-the-bastille:2.2", channel=other.channel, user=standin.alice
    )
    assert missing.ephemeral and missing.content.startswith(
        "No passage 'the-fall-of-the-bastille:2.2'"
    )
    searched = await standin.slash(
        "search", query="Launay Palloy Lafayette", channel=other.channel, user=standin.alice
    )
    assert "bastille" not in searched.text
    sources = await standin.slash("sources", channel=other.channel, user=standin.alice)
    assert [e["title"] for e in sources.embeds] == ["From Guardians to Executioners"]
    offered = await standin.autocomplete(
        "passage", "ref", "the-fall", channel=other.channel, user=standin.alice
    )
    assert offered and not any("bastille" in c["value"] for c in offered)
    listed = await standin.slash("library list", channel=other.channel, user=standin.alice)
    assert "No texts added here yet" in listed.text

    # The other server may add a text of the same title: titles and ids are per server.
    theirs = await add(
        standin,
        bastille(text=BASTILLE.replace("de Launay", "de Sombreuil")),
        title="The Fall of the Bastille",
        channel=other.channel,
        user=other.owner,
    )
    assert theirs.text.startswith("Added **The Fall of the Bastille**")
    there = await standin.slash("ask", question=QUESTION, user=standin.alice, channel=other.channel)
    assert "de Sombreuil" in there.text and "de Launay" not in there.text
    here = await standin.slash("ask", question=QUESTION, user=standin.alice)
    assert "de Launay" in here.text and "de Sombreuil" not in here.text

    # /random draws from the server's library: its last passage is the text it added.
    class Last(random.Random):
        def choice(self, seq):  # type: ignore[override]
            return seq[-1]

    bot.get_cog("Passages").rng = Last()
    drawn = await standin.slash("random", user=standin.alice)
    assert "the-fall-of-the-bastille:3.1" in drawn.text and "Palloy" in drawn.text
    drawn = await standin.slash("random", user=standin.alice, channel=standin.dm(standin.alice))
    assert "guardians:" in drawn.text

    # A mention, and a study session, in each server use that server's texts.
    (mention,) = await standin.say(QUESTION, mention_bot=True, user=standin.alice)
    assert "de Launay" in mention.text
    (mention,) = await standin.say(
        QUESTION, mention_bot=True, user=standin.alice, channel=other.channel
    )
    assert "de Sombreuil" in mention.text
    started = await standin.slash(
        "study start",
        user=other.owner,
        channel=other.channel,
        source="the-fall-of-the-bastille",
        section="2",
    )
    assert "Study session started" in started.text
    thread = next(t for t in standin.threads(other.channel))
    opening = standin.bot_messages(int(thread["id"]))[-1]
    assert "nine hundred Parisians" in opening.text
    asked = await standin.slash(
        "study ask", user=other.owner, channel=int(thread["id"]), question=QUESTION
    )
    assert "de Sombreuil" in asked.text


def scanned_pdf() -> bytes:
    """A PDF of a blank page: no text layer, as a scan has none."""
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.write(out)
    return out.getvalue()


# (file name, content, what the member is told) for every file /library add must refuse.
BAD_FILES = [
    ("notes.txt", b"\x00\x01\x02binary\x00data" * 10, "looks binary, not text: notes.txt"),
    ("empty.txt", b"   \n\n", "file is empty: empty.txt"),
    ("setup.exe", b"MZ\x90\x00\x03" * 20, "setup.exe is not a text I can read"),
    ("scan.pdf", scanned_pdf(), "PDF has no text layer (a scan? run OCR on it first): scan.pdf"),
    ("book.epub", b"PK\x03\x04 not really a zip archive", "not a valid EPUB"),
    ("bomb.epub", zip_bomb(), "(a zip bomb?), refused: bomb.epub"),
    ("latin.txt", "Café au lait, vers 1850.".encode("latin-1"), "not UTF-8 text (byte 3)"),
    ("headings.md", b"# One\n\n## Two\n", "has no paragraphs"),
]


async def test_every_bad_file_is_refused_privately_and_nothing_is_stored(
    standin: Discord, bot: HistBot
) -> None:
    for name, content, told in BAD_FILES:
        reply = await add(standin, (name, content))
        text = refusal(reply)
        assert text.startswith("Nothing was added") and told in text, (name, text)
        assert "\n" not in text and "Traceback" not in text
    assert "setup.exe" not in str(standin.server.attachment_downloads)  # type refused first
    assert len(standin.server.attachment_downloads) == len(BAD_FILES) - 1

    await add(standin, bastille(), title="The Fall of the Bastille")
    for title, told in [
        ("the fall of the BASTILLE", "a text titled 'the fall of the BASTILLE' is already"),
        ("From Guardians to Executioners", "already in the library (id 'guardians')"),
        ("   ", "the title is empty"),
    ]:
        reply = await add(standin, bastille("again.txt"), title=title)
        assert told in refusal(reply), title
    assert await stored(bot, standin.guild_id) == ["the-fall-of-the-bastille"]
    listed = await standin.slash("library list")
    assert listed.text.count("passages in") == 1
    not_there = await standin.slash("ask", question="Who attacked the Bastille?")
    assert "again.txt" not in not_there.text


async def test_limits_refuse_before_download_or_while_downloading(
    standin: Discord, start_bot: StartBot
) -> None:
    bot = await start_bot(upload_max_mb=0.01, upload_max_texts=1, upload_max_passages=6)
    big = BASTILLE + ("\nAnother paragraph of the long appendix about the fortress." * 300)

    declared = await add(standin, bastille("big.txt", big))
    assert refusal(declared) == (
        "Nothing was added: big.txt is 18 KB; texts added here may be at most 10 KB."
    )
    assert standin.server.attachment_downloads == []  # its declared size was enough

    # A size misreported as small: the download stops as soon as it passes the limit.
    lying = Attachment("lying.txt", big.encode(), size=100, chunked=True)
    streamed = await add(standin, lying)
    assert refusal(streamed) == (
        "Nothing was added: lying.txt is over 10 KB, the most a text added here may be."
    )
    assert len(standin.server.attachment_downloads) == 1

    too_many = (
        BASTILLE
        + "\nThe Sequel\n\n"
        + "\n\n".join(
            f"Paragraph {n} of the sequel tells what the crowd did next with the prisoners."
            for n in range(3)
        )
    )
    over = await add(standin, bastille("sequel.txt", too_many))
    assert "has 8 passages, more than this server's texts may still add (6 of the limit" in (
        refusal(over)
    )

    await add(standin, bastille())
    second = await add(standin, bastille("another.txt", BASTILLE.replace("Fall", "Storm")))
    assert refusal(second) == (
        "Nothing was added: this server already has 1 text of its own, the most it may have. "
        "Remove one with /library remove first."
    )
    assert await stored(bot, standin.guild_id) == ["fall-of-the-bastille"]


async def test_removing_a_text(standin: Discord, bot: HistBot) -> None:
    await add(standin, bastille(), title="The Fall of the Bastille")
    await add(
        standin,
        (
            "tennis.md",
            b"# The Oath\n\nOn 20 June 1789 the deputies swore the Tennis Court Oath at Versailles.\n",
        ),
    )
    offered = await standin.autocomplete("library remove", "source", "bast", user=standin.owner)
    assert [c["value"] for c in offered] == ["the-fall-of-the-bastille"]
    everything = await standin.autocomplete("library remove", "source", "", user=standin.owner)
    assert [c["value"] for c in everything] == ["the-fall-of-the-bastille", "tennis"]

    removed = await standin.slash(
        "library remove", user=standin.owner, source="the-fall-of-the-bastille", timeout=30
    )
    assert removed.text == (
        "Removed **The Fall of the Bastille** (`the-fall-of-the-bastille`) from this server's "
        "library; it is no longer searched here."
    )
    answer = await standin.slash("ask", question=QUESTION)
    assert "de Launay" not in answer.text
    gone = await standin.slash("passage", ref="the-fall-of-the-bastille:2.2")
    assert gone.ephemeral and gone.content.startswith("No passage")
    oath = await standin.slash("ask", question="Where did the deputies swear the oath?")
    assert "Versailles" in oath.text

    again = await standin.slash(
        "library remove", user=standin.owner, source="the-fall-of-the-bastille"
    )
    assert (
        refusal(again) == "This server has no text of its own with id 'the-fall-of-the-bastille'."
    )
    await standin.slash("library remove", user=standin.owner, source="tennis", timeout=30)
    assert await stored(bot, standin.guild_id) == []
    listed = await standin.slash("library list")
    assert "No texts added here yet" in listed.text
    # Re-adding works (the id and title are free again) and answers as before.
    await add(standin, bastille(), title="The Fall of the Bastille")
    assert "de Launay" in (await standin.slash("ask", question=QUESTION)).text


async def test_texts_added_survive_a_restart_and_reach_the_worker_processes(
    standin: Discord, start_bot: StartBot
) -> None:
    """Answered in search worker processes: the server's id goes with each question, and each
    worker loads that server's library from the index cache on its first question there."""
    other = await standin.add_guild("Revolution Reading Club", members=[standin.alice])
    first = await start_bot(search_processes=1)
    await add(standin, bastille(), title="The Fall of the Bastille")
    assert "de Launay" in (await standin.slash("ask", question=QUESTION)).text
    await first.close()

    second = await start_bot(search_processes=1)
    assert second.searcher.in_processes
    listed = await standin.slash("library list")
    assert "**The Fall of the Bastille**" in listed.text
    answer = await standin.slash("ask", question=QUESTION)
    assert "de Launay" in answer.embeds[0]["description"]
    assert footer_ref(answer) == "the-fall-of-the-bastille:2.2"
    searched = await standin.slash("search", query="Palloy souvenirs")
    assert "the-fall-of-the-bastille:3.1" in searched.text
    elsewhere = await standin.slash(
        "ask", question=QUESTION, channel=other.channel, user=standin.alice
    )
    assert "de Launay" not in elsewhere.text


async def test_a_broken_upload_database_is_one_private_sentence(
    standin: Discord, bot: HistBot
) -> None:
    assert bot.uploads is not None
    path = bot.settings.uploads_database_path
    for leftover in path.parent.glob("library.sqlite3*"):
        leftover.unlink()
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    for reply in (
        await standin.slash("library list"),
        await add(standin, bastille()),
        await standin.slash("library remove", user=standin.owner, source="anything"),
    ):
        assert refusal(reply) == (
            "This server's texts can't be read or stored right now; the error has been "
            "logged. Nothing was changed."
        )
    answer = await standin.slash("ask", question="Who was the first head of the Cheka?")
    assert "Dzerzhinsky" in answer.text  # the shipped texts still answer
