"""Self-tests of the Discord stand-in, driven through a tiny discord.py bot defined here.

They check the stand-in plays Discord's side faithfully enough that the unmodified
discord.py client works end to end, and that the harness reports what a user would see.
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from pathlib import Path

import aiohttp
import discord
import pytest
from discord import (
    Forbidden,
    HTTPException,
    NotFound,
    PrivilegedIntentsRequired,
    TextChannel,
    app_commands,
)
from discord.ext import commands
from discord.http import Route

from standin import Discord, InteractionNotAnswered, Perm, StandinConfig

REPO = Path(__file__).resolve().parents[2]
PASSAGES = ["1.1 The Cheka is founded", "3.1 Beria rises", "3.2 Beria falls", "3.10 The purge ends"]


class PassageView(discord.ui.View):
    """A button that shows the full passage privately, like the product's "Full passage"."""

    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.add_item(discord.ui.Button(label="Source", url="https://example.org/source"))

    @discord.ui.button(
        label="Full passage", custom_id="passage:full", style=discord.ButtonStyle.primary
    )
    async def full(
        self, interaction: discord.Interaction, button: discord.ui.Button[PassageView]
    ) -> None:
        await interaction.response.send_message("Full text of passage 3.1", ephemeral=True)


class TinyBot(commands.Bot):
    """A minimal bot exercising the flows the product bot uses."""

    def __init__(self, *, message_content: bool = True) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        super().__init__(command_prefix="!", intents=intents, help_command=None)
        self.seen: list[discord.Message] = []
        self.threads_seen: list[discord.Thread] = []
        self.errors: list[BaseException] = []
        self._register()

    def _register(self) -> None:
        tree = self.tree

        @tree.command(name="ask", description="Ask a question about the texts")
        @app_commands.describe(question="What you want to know")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.01)
            embed = discord.Embed(title="Answer", description=f"About: {question}")
            embed.add_field(name="Source", value="Chapter 3, §1")
            await interaction.followup.send(
                f"{interaction.user.mention} here is what I found",
                embed=embed,
                allowed_mentions=discord.AllowedMentions.none(),
            )

        @tree.command(name="quote", description="Quote a passage with a button")
        async def quote(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Beria rose in 1938.", view=PassageView())

        @tree.command(name="passage", description="Show one passage")
        @app_commands.describe(ref="Passage reference, e.g. 3.1")
        async def passage(interaction: discord.Interaction, ref: str) -> None:
            await interaction.response.send_message(f"Passage {ref}", ephemeral=True)

        @passage.autocomplete("ref")
        async def passage_ref(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [
                app_commands.Choice(name=p, value=p.split()[0])
                for p in PASSAGES
                if p.startswith(current)
            ]

        study = app_commands.Group(name="study", description="Study sessions")
        session = app_commands.Group(name="session", description="Manage a session", parent=study)

        @session.command(name="start", description="Start a study session")
        @app_commands.describe(topic="Topic", minutes="Length")
        async def start(interaction: discord.Interaction, topic: str, minutes: int = 25) -> None:
            await interaction.response.send_message(f"Session on {topic} for {minutes} min")

        tree.add_command(study)

        @tree.command(name="long", description="Answers with a message that is too long")
        async def long(interaction: discord.Interaction) -> None:
            try:
                await interaction.response.send_message("x" * 2001)
            except discord.HTTPException as exc:
                self.errors.append(exc)
                await interaction.response.send_message("shortened")

        @tree.command(name="late", description="Answers too late")
        async def late(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.4)
            try:
                await interaction.response.send_message("sorry, late")
            except discord.HTTPException as exc:
                self.errors.append(exc)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Skip discord.py's 5 s pause before re-identifying, to keep these tests fast."""

    async def setup_hook(self) -> None:
        self.add_view(PassageView())
        await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        self.seen.append(message)
        if message.author.bot:
            return
        if "transcript" in message.content:
            data = io.BytesIO(b"# Transcript\n\n- Q: who was Beria?\n")
            await message.channel.send(
                "Here is the transcript", file=discord.File(data, "transcript.md")
            )
        elif "thread" in message.content and isinstance(message.channel, discord.TextChannel):
            thread = await message.create_thread(name="Study: Beria")
            await thread.send("Let's study here.")
            await thread.edit(archived=True)
        elif "announce" in message.content:
            try:
                await self.get_channel(int(message.content.split()[-1])).send("hello")  # type: ignore[union-attr]
            except discord.Forbidden as exc:
                self.errors.append(exc)
                await message.reply("I may not post there", mention_author=False)
        elif self.user in message.mentions:
            async with message.channel.typing():
                await message.reply(f"You asked: {message.clean_content}", mention_author=False)

    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.threads_seen.append(thread)


@pytest.fixture
async def bot(standin: Discord) -> TinyBot:
    client = TinyBot()
    await standin.start_client(client)
    return client


# ----------------------------------------------------------------------------- start-up


async def test_startup_identifies_syncs_and_caches_the_guild(
    standin: Discord, bot: TinyBot
) -> None:
    identify = standin.frames(direction="recv", op=2)
    assert len(identify) == 1
    assert identify[0].d["intents"] == bot.intents.value
    assert [f.t for f in standin.frames(direction="send", op=0)][:2] == ["READY", "GUILD_CREATE"]
    assert bot.user is not None and bot.user.id == standin.bot.id
    assert bot.application_id == standin.application_id
    guild = bot.get_guild(standin.guild_id)
    assert guild is not None and guild.me is not None
    assert {c.name for c in guild.text_channels} == {"general", "study-hall", "announcements"}
    assert guild.get_thread(standin.thread.id) is not None
    assert (
        guild.me.guild_permissions.manage_threads
        and guild.me.guild_permissions.create_public_threads
    )
    assert (
        guild.get_member(standin.alice.id) is None
    )  # no members intent: GUILD_CREATE lists only the bot

    synced = {c["name"]: c for c in standin.commands()}
    assert set(synced) == {"ask", "quote", "passage", "study", "long", "late"}
    assert synced["ask"]["description"] == "Ask a question about the texts"
    question = synced["ask"]["options"][0]
    assert (question["name"], question["description"], question["type"]) == (
        "question",
        "What you want to know",
        3,
    )
    assert question["required"] is True
    assert synced["passage"]["options"][0]["autocomplete"] is True
    group = synced["study"]["options"][0]
    assert (group["type"], group["name"], group["options"][0]["name"]) == (2, "session", "start")
    assert {"/users/@me", "/oauth2/applications/@me"} <= {c.path for c in standin.rest_calls("GET")}
    # heartbeats flow both ways
    await standin.server.wait_until(
        lambda: standin.frames(direction="send", op=11), 3, "a HEARTBEAT_ACK"
    )
    standin.assert_healthy()


# ----------------------------------------------------------------------------- interactions


async def test_slash_defer_then_follow_up(standin: Discord, bot: TinyBot) -> None:
    reply = await standin.slash("ask", question="who was Beria?", user=standin.alice)
    assert reply.ack_type == 5
    assert reply.ack_latency is not None and reply.ack_latency < 3
    # the answer is the follow-up, sent 10 ms after the deferral at the earliest
    assert reply.answer_latency is not None and reply.answer_latency >= reply.ack_latency + 0.01
    assert not reply.loading and not reply.ephemeral and reply.flags == 0
    assert reply.content == f"<@{standin.alice.id}> here is what I found"
    assert reply.embeds[0]["title"] == "Answer" and "who was Beria?" in reply.text
    assert reply.allowed_mentions == {"parse": []}
    assert reply.pinged_user_ids == []
    assert reply.type == 20 and reply.raw["interaction_metadata"]["user"]["id"] == str(
        standin.alice.id
    )
    # the follow-up right after a deferral edits the "thinking" message (Discord's documented behaviour)
    assert len(reply.messages) == 1
    callback = standin.rest_calls(
        "POST", "/interactions/{interaction_id}/{interaction_token}/callback"
    )[-1]
    assert callback.query.get("with_response") in {"1", "true"} and callback.json["type"] == 5
    standin.assert_healthy()


async def test_button_click_answers_ephemerally(standin: Discord, bot: TinyBot) -> None:
    reply = await standin.slash("quote")
    assert reply.ack_type == 4 and reply.content == "Beria rose in 1938."
    assert reply.answer_latency is not None and reply.answer_latency == reply.ack_latency
    assert reply.button_labels == ["Full passage", "Source"]
    clicked = await standin.click(reply, "Full passage", user=standin.bob)
    assert clicked.ack_type == 4 and clicked.ephemeral and clicked.flags & 64
    assert clicked.content == "Full text of passage 3.1"
    assert clicked.interaction.payload["message"]["id"] == str(reply.id)
    with pytest.raises(LookupError):
        await standin.click(reply, "Source")  # link buttons make no interaction
    standin.assert_healthy()


async def test_autocomplete_and_subcommand_group(standin: Discord, bot: TinyBot) -> None:
    choices = await standin.autocomplete("passage", "ref", "3.", user=standin.bob)
    assert [c["value"] for c in choices] == ["3.1", "3.2", "3.10"]
    reply = await standin.slash("passage", ref="3.2")
    assert reply.ephemeral and reply.content == "Passage 3.2"
    started = await standin.slash("study session start", topic="Cheka", minutes=10)
    assert started.content == "Session on Cheka for 10 min"
    with pytest.raises(ValueError, match="required option"):
        await standin.slash("study session start")
    with pytest.raises(LookupError):
        await standin.slash("nope")
    standin.assert_healthy()


async def test_invalid_message_is_refused_like_discord(standin: Discord, bot: TinyBot) -> None:
    reply = await standin.slash("long")
    assert reply.content == "shortened"
    assert isinstance(bot.errors[0], HTTPException) and bot.errors[0].code == 50035
    assert reply.errors and reply.errors[0].status == 400


async def test_double_ack_is_refused_with_40060(standin: Discord, bot: TinyBot) -> None:
    reply = await standin.slash("quote")
    record = reply.interaction
    url = f"{standin.api_base}/interactions/{record.id}/{record.token}/callback"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"type": 4, "data": {"content": "again"}}) as resp,
    ):
        body = await resp.json()
    assert resp.status == 400 and body["code"] == 40060
    assert standin.double_acks() == [record]


async def test_late_ack_is_flagged_and_refused() -> None:
    standin = await Discord.start(StandinConfig(heartbeat_interval_ms=500, ack_deadline=0.2))
    try:
        client = TinyBot()
        await standin.start_client(client)
        with pytest.raises(InteractionNotAnswered, match="never acknowledged"):
            await standin.slash("late", timeout=1.0)
        await standin.server.wait_until(
            lambda: client.errors, 2, "the bot to see its late answer fail"
        )
        assert isinstance(client.errors[0], NotFound) and client.errors[0].code == 10062
        assert standin.late_acks()[0].late_attempts[0] >= 0.2
    finally:
        await standin.stop()


# ----------------------------------------------------------------------------- messages


async def test_mention_gets_a_reply_without_pinging(standin: Discord, bot: TinyBot) -> None:
    msgs = await standin.say("who was Beria?", user=standin.bob, mention_bot=True)
    assert len(msgs) == 1
    reply = msgs[0]
    user_msg = standin.messages(standin.channel, author=standin.bob)[-1]
    assert reply.reference_id == user_msg.id and reply.type == 19
    assert reply.content == "You asked: @histbot who was Beria?"
    assert reply.allowed_mentions is not None and reply.allowed_mentions["replied_user"] is False
    assert reply.pinged_user_ids == []
    assert standin.rest_calls("POST", "/channels/{channel_id}/typing")
    # the bot saw its own reply come back over the gateway
    await standin.server.wait_until(
        lambda: any(m.id == reply.id for m in bot.seen), 2, "own MESSAGE_CREATE"
    )
    assert await standin.say("just chatting", user=standin.bob, expect_reply=False) == []


async def test_reply_to_bot_in_a_thread_and_dm(standin: Discord, bot: TinyBot) -> None:
    first = (await standin.say("hello", mention_bot=True, channel=standin.thread))[0]
    assert first.channel_id == standin.thread.id
    again = await standin.say("and then?", reply_to=first, channel=standin.thread)
    assert again[0].reference_id is not None
    dm = await standin.say(
        "hi in private", user=standin.alice, channel=standin.dm(standin.alice), mention_bot=True
    )
    assert dm[0].channel_id == standin.dm(standin.alice).id


async def test_transcript_attachment_is_recorded(standin: Discord, bot: TinyBot) -> None:
    [msg] = await standin.say("send the transcript please")
    assert msg.content == "Here is the transcript"
    assert [f.filename for f in msg.files] == ["transcript.md"]
    assert msg.files[0].text.startswith("# Transcript")
    assert msg.attachments[0]["filename"] == "transcript.md" and msg.attachments[0]["size"] > 0
    async with aiohttp.ClientSession() as http, http.get(msg.attachments[0]["url"]) as resp:
        assert await resp.read() == msg.files[0].data


async def test_thread_is_created_announced_and_archived(standin: Discord, bot: TinyBot) -> None:
    msgs = await standin.say("open a thread", user=standin.alice)
    thread_id = msgs[0].channel_id
    thread = standin.world.channels[thread_id]
    assert thread["name"] == "Study: Beria" and thread["parent_id"] == str(standin.channel.id)
    assert thread["thread_metadata"]["archived"] is True
    assert [t.id for t in bot.threads_seen] == [thread_id]
    assert standin.frames(t="THREAD_CREATE") and standin.frames(t="THREAD_UPDATE")
    starter = standin.messages(standin.channel, author=standin.alice)[-1]
    assert starter.thread is not None and starter.thread["id"] == str(thread_id)


async def test_missing_permissions_are_refused(standin: Discord, bot: TinyBot) -> None:
    [msg] = await standin.say(f"announce {standin.readonly.id}")
    assert msg.content == "I may not post there"
    assert isinstance(bot.errors[0], Forbidden) and bot.errors[0].code == 50013


async def test_message_content_intent_is_honoured(standin: Discord) -> None:
    client = TinyBot(message_content=False)
    await standin.start_client(client)
    await standin.post("plain words", user=standin.bob)
    await standin.post("hey you", user=standin.bob, mention_bot=True)
    await standin.server.wait_until(lambda: len(client.seen) >= 2, 3, "two messages")
    # as on Discord: without the intent, content is empty unless the bot is mentioned
    assert client.seen[0].content == ""
    assert client.seen[1].content.endswith("hey you")


async def test_disallowed_privileged_intent_closes_4014() -> None:
    standin = await Discord.start(StandinConfig(message_content_enabled=False))
    try:
        with pytest.raises(RuntimeError) as info:
            await standin.start_client(TinyBot(message_content=True), timeout=5)
        assert isinstance(info.value.__cause__, PrivilegedIntentsRequired)
        assert (1, 4014, "server") in standin.server.gateway_closes
    finally:
        await standin.stop()


# ----------------------------------------------------------------------------- faults


async def test_429_on_callback_is_retried(standin: Discord, bot: TinyBot) -> None:
    fault = standin.fail_next(
        "POST", "/interactions/{id}/{token}/callback", status=429, retry_after=0.3
    )
    reply = await standin.slash("quote")
    assert reply.content == "Beria rose in 1938."
    calls = [c for c in reply.interaction.calls if c.path.endswith("/callback")]
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].received_at - calls[0].received_at >= 0.3
    assert fault.exhausted and fault.hits == calls[:1]
    standin.assert_healthy()


async def test_500_on_follow_up_is_retried(standin: Discord, bot: TinyBot) -> None:
    standin.fail_next("POST", "/webhooks/{app}/{token}", status=500)
    reply = await standin.slash("ask", question="who founded the Cheka?", timeout=6)
    assert "who founded the Cheka?" in reply.text
    followups = [
        c for c in reply.interaction.calls if c.method == "POST" and c.path.startswith("/webhooks/")
    ]
    assert [c.status for c in followups] == [500, 200]


async def test_rate_limit_headers_drive_discord_py(standin: Discord, bot: TinyBot) -> None:
    standin.server.set_rate_limit("POST", "/channels/{channel_id}/messages", limit=2, per=0.4)
    channel = bot.get_channel(standin.channel2.id)
    assert isinstance(channel, TextChannel)
    started = time.monotonic()
    await asyncio.gather(*(channel.send(f"msg {i}") for i in range(5)))
    elapsed = time.monotonic() - started
    sends = standin.rest_calls("POST", "/channels/{channel_id}/messages")
    assert len(sends) == 5 and all(
        c.status == 200 for c in sends
    )  # discord.py waited, never hit a 429
    assert elapsed >= 0.7
    assert sends[0].status == 200


async def test_unknown_route_is_recorded(standin: Discord, bot: TinyBot) -> None:
    with pytest.raises(NotFound):
        await bot.http.request(Route("GET", "/guilds/{guild_id}/bans", guild_id=standin.guild_id))
    assert [c.path for c in standin.unknown_routes] == [f"/guilds/{standin.guild_id}/bans"]
    with pytest.raises(AssertionError, match="unknown routes"):
        standin.assert_healthy()


# ----------------------------------------------------------------------------- gateway faults


async def test_dropped_connection_resumes_and_replays(standin: Discord, bot: TinyBot) -> None:
    session_id = standin.server.identifies[-1]
    assert await standin.drop_connection(1006, wait=False) == "sent"
    record = await standin.send_slash("quote")  # dispatched while the bot is away
    await standin.server.wait_until(lambda: standin.server.resumes, 5, "RESUME")
    reply = await standin.wait_answer(record)
    assert reply.content == "Beria rose in 1938."
    resume = standin.frames(direction="recv", op=6)[-1]
    assert resume.d["session_id"] == session_id
    replayed = [
        f
        for f in standin.frames(direction="send", t="INTERACTION_CREATE")
        if f.d["id"] == str(record.id)
    ]
    assert len(replayed) == 1 and replayed[0].conn_id == standin.server.connections[-1].id
    assert standin.server.connections[-1].path == "/gateway/resume"
    assert len(standin.server.identifies) == 1
    assert (await standin.slash("quote")).content == "Beria rose in 1938."


async def test_close_4000_and_reconnect_op_resume(standin: Discord, bot: TinyBot) -> None:
    assert await standin.drop_connection(4000) == "resumed"
    assert await standin.send_reconnect() == "resumed"
    assert await standin.invalidate_session(resumable=True) == "resumed"
    assert (await standin.slash("quote")).ack_type == 4
    assert len(standin.server.identifies) == 1 and len(standin.server.resumes) == 3


async def test_invalid_session_forces_a_fresh_identify(standin: Discord, bot: TinyBot) -> None:
    first = standin.server.identifies[-1]
    assert await standin.invalidate_session(resumable=False) == "identified"
    assert len(standin.frames(direction="recv", op=2)) == 2
    assert standin.server.identifies[-1] != first
    assert standin.server.connections[-1].path == "/gateway"
    assert (await standin.slash("quote")).content == "Beria rose in 1938."
    standin.assert_healthy()


async def test_members_with_permissions(standin: Discord, bot: TinyBot) -> None:
    helper = await standin.add_member("dora", permissions=Perm.MANAGE_THREADS)
    record = await standin.send_slash("quote", user=helper)
    perms = int(record.payload["member"]["permissions"])
    assert perms & Perm.MANAGE_THREADS and perms & Perm.SEND_MESSAGES
    assert int(record.payload["app_permissions"]) & Perm.MANAGE_THREADS
    await standin.wait_answer(record)


async def test_text_frames_when_compression_is_off() -> None:
    standin = await Discord.start(StandinConfig(heartbeat_interval_ms=500, compress=False))
    try:
        await standin.start_client(TinyBot())
        assert not standin.server.connections[-1].compress
        assert (
            standin.server.connections[-1].query["compress"] == "zlib-stream"
        )  # asked, not granted
        assert (await standin.slash("quote")).content == "Beria rose in 1938."
    finally:
        await standin.stop()


async def test_standalone_server_prints_its_urls() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "standin",
        "--port",
        "0",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
        assert first.startswith("DISCORD_API_BASE=http://127.0.0.1:")
        api = first.split("=", 1)[1]
        headers = {"Authorization": "Bot anything"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{api}/gateway/bot", headers=headers) as resp:
                body = await resp.json()
                assert resp.headers["Content-Type"] == "application/json"
                assert "X-RateLimit-Bucket" in resp.headers
            assert body["url"].startswith("ws://127.0.0.1:") and body["shards"] == 1
            async with http.get(f"{api}/users/@me") as resp:
                assert resp.status == 401  # no token, like Discord
            async with http.get(f"{api}/no/such/route", headers=headers) as resp:
                assert resp.status == 404 and (await resp.json())["message"] == "404: Not Found"
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
