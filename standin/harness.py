"""Test-facing helpers: drive the stand-in the way people drive Discord, read what they'd see.

``Discord`` wraps a running :class:`~standin.server.StandinServer` with a small default
world (a guild with members of different permissions, channels, a thread, DMs) and verbs
that read like a test: ``slash``, ``click``, ``autocomplete``, ``say``, ``fail_next``,
``drop_connection``. Each verb waits on the stand-in's own bookkeeping (acknowledgements,
follow-ups, messages), never on fixed sleeps, and raises with diagnostics when the bot did
not answer.
"""

# Every waiting verb takes an explicit ``timeout=`` so a test states its own patience.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from . import payloads as p
from .payloads import Json, MessageFlag, MessageType, Perm
from .server import (
    Fault,
    GatewayFrame,
    InteractionRecord,
    RestCall,
    StandinConfig,
    StandinServer,
    UploadedFile,
)

T = TypeVar("T")


class InteractionNotAnswered(AssertionError):
    """The bot did not answer an interaction the way Discord needs (in time, or at all)."""


class NoReply(AssertionError):
    """The bot posted nothing in answer to a message."""


# =========================================================================== references


@dataclass(frozen=True)
class UserRef:
    """A person (or the bot) in the stand-in's world."""

    id: int
    name: str

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass(frozen=True)
class ChannelRef:
    """A channel, thread or DM in the stand-in's world."""

    id: int
    name: str
    kind: str  # "text" | "thread" | "dm"
    guild_id: int | None = None

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"


@dataclass(frozen=True)
class GuildRef:
    """A server of the stand-in's world beside the default one (see ``Discord.add_guild``)."""

    id: int
    name: str
    owner: UserRef
    channel: ChannelRef


UserLike = UserRef | int
ChannelLike = ChannelRef | int


CLIENT_IDLE_QUIET = 0.02
"""Seconds of quiet that settle an answer once the in-process clients are idle."""
_HANDLER_TASKS = (
    "CommandTree-invoker",  # an application command
    "discord.py: ",  # an event handler (on_interaction, on_message, ...)
    "discord-ui-view-dispatch-",  # a view's component callback
    "discord-ui-dynamic-item-",  # a dynamic item's callback
)


def _clients_handling() -> bool:
    """Is a discord.py client in this event loop still handling something?"""
    return any(
        not task.done() and task.get_name().startswith(_HANDLER_TASKS)
        for task in asyncio.all_tasks()
    )


async def _clients_idle(timeout: float) -> None:
    """Wait (polling: a task ending signals nothing) until the clients have nothing to handle."""
    deadline = time.monotonic() + timeout
    while _clients_handling():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for the client to be idle")
        await asyncio.sleep(0.005)


def _id(obj: Any) -> int:
    return int(getattr(obj, "id", obj))


def _walk_components(items: Iterable[Json]) -> Iterable[Json]:
    for item in items:
        yield item
        for key in ("components", "items"):
            if isinstance(item.get(key), list):
                yield from _walk_components(item[key])
        for key in ("accessory", "component"):
            if isinstance(item.get(key), dict):
                yield from _walk_components([item[key]])


# =========================================================================== what users see


class Msg:
    """A message as a person sees it; a live view (edits show up, deletes keep the last state)."""

    def __init__(self, server: StandinServer, payload: Json) -> None:
        self._server = server
        self.raw = payload

    def __repr__(self) -> str:
        return f"<Msg {self.id} flags={self.flags} {self.text[:60]!r}>"

    @property
    def id(self) -> int:
        return int(self.raw["id"])

    @property
    def channel_id(self) -> int:
        return int(self.raw["channel_id"])

    @property
    def author_id(self) -> int:
        return int(self.raw["author"]["id"])

    @property
    def content(self) -> str:
        return str(self.raw.get("content") or "")

    @property
    def embeds(self) -> list[Json]:
        return list(self.raw.get("embeds") or [])

    @property
    def components(self) -> list[Json]:
        return list(self.raw.get("components") or [])

    @property
    def buttons(self) -> list[Json]:
        """Every button, in display order."""
        return [c for c in _walk_components(self.components) if c.get("type") == 2]

    @property
    def button_labels(self) -> list[str]:
        return [str(b.get("label") or "") for b in self.buttons]

    @property
    def flags(self) -> int:
        return int(self.raw.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & MessageFlag.EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Still "<bot> is thinking..." (deferred and never edited)."""
        return bool(self.flags & MessageFlag.LOADING)

    @property
    def type(self) -> int:
        return int(self.raw.get("type") or 0)

    @property
    def attachments(self) -> list[Json]:
        return list(self.raw.get("attachments") or [])

    @property
    def files(self) -> list[UploadedFile]:
        """Files the bot uploaded for this message (bytes and names as sent)."""
        meta = self._server.world.meta.get(self.id)
        return list(meta.files) if meta else []

    @property
    def allowed_mentions(self) -> Json | None:
        meta = self._server.world.meta.get(self.id)
        return meta.allowed_mentions if meta else None

    @property
    def pinged_user_ids(self) -> list[int]:
        """Who the message actually notified (mentions filtered by ``allowed_mentions``)."""
        meta = self._server.world.meta.get(self.id)
        return list(meta.pinged_user_ids) if meta else []

    @property
    def reference_id(self) -> int | None:
        ref = self.raw.get("message_reference") or {}
        return int(ref["message_id"]) if ref.get("message_id") else None

    @property
    def thread(self) -> Json | None:
        """The thread started from this message, if any."""
        return self.raw.get("thread")

    @property
    def deleted(self) -> bool:
        meta = self._server.world.meta.get(self.id)
        return bool(meta and meta.deleted)

    @property
    def edited(self) -> bool:
        return self.raw.get("edited_timestamp") is not None

    @property
    def text(self) -> str:
        """Content plus every embed's visible text, one block: handy for ``in`` assertions."""
        parts = [self.content]
        for e in self.embeds:
            parts += [str(e.get("title") or ""), str(e.get("description") or "")]
            for f in e.get("fields") or []:
                parts += [str(f.get("name") or ""), str(f.get("value") or "")]
            parts += [
                str((e.get("footer") or {}).get("text") or ""),
                str((e.get("author") or {}).get("name") or ""),
            ]
        for c in _walk_components(self.components):
            if c.get("type") == 10:  # components v2 text display
                parts.append(str(c.get("content") or ""))
        return "\n".join(part for part in parts if part)

    def find_button(self, label_or_custom_id: str) -> Json:
        for b in self.buttons:
            if label_or_custom_id in (b.get("label"), b.get("custom_id")):
                return b
        raise LookupError(f"no button {label_or_custom_id!r}; buttons: {self.button_labels}")


class Reply(Msg):
    """The answer to an interaction: the response message, follow-ups, choices or modal."""

    def __init__(self, server: StandinServer, record: InteractionRecord) -> None:
        self.interaction = record
        payload = self._main_payload(server, record)
        super().__init__(
            server,
            payload or {"id": "0", "channel_id": str(record.channel_id), "author": {"id": "0"}},
        )
        self.has_message = payload is not None

    @staticmethod
    def _main_payload(server: StandinServer, record: InteractionRecord) -> Json | None:
        mid = record.original_message_id
        if mid is None and record.ack_type in (6, 7):
            mid = record.target_message_id
        if mid is None and record.followup_ids:
            mid = record.followup_ids[0]
        if mid is None:
            return None
        return server.world.messages.get(mid) or _deleted(server, mid)

    def __repr__(self) -> str:
        return f"<Reply to {self.interaction.id} ack={self.ack_type} {self.text[:60]!r}>"

    @property
    def ack_type(self) -> int | None:
        """Callback type used: 4 message, 5 deferred, 6 deferred update, 7 update, 8 choices, 9 modal."""
        return self.interaction.ack_type

    @property
    def ack_latency(self) -> float | None:
        return self.interaction.ack_latency

    @property
    def answer_latency(self) -> float | None:
        return self.interaction.answer_latency

    @property
    def deferred(self) -> bool:
        return self.ack_type in (5, 6)

    @property
    def followups(self) -> list[Msg]:
        return [
            Msg(self._server, self._server.world.messages.get(m) or _deleted(self._server, m))
            for m in self.interaction.followup_ids
        ]

    @property
    def messages(self) -> list[Msg]:
        """The response message (if the callback made one) followed by every follow-up."""
        record = self.interaction
        first = record.original_message_id
        if first is None and record.ack_type in (6, 7):
            first = record.target_message_id
        out = [Msg(self._server, self.raw)] if first is not None and self.id == first else []
        return out + self.followups

    @property
    def choices(self) -> list[Json] | None:
        return self.interaction.choices

    @property
    def modal(self) -> Json | None:
        return self.interaction.modal

    @property
    def errors(self) -> list[RestCall]:
        """Requests for this interaction that Discord refused (status >= 400, not injected faults)."""
        return [c for c in self.interaction.calls if c.status >= 400 and not c.fault]


def _deleted(server: StandinServer, mid: int) -> Json:
    for payload in (c.response for r in server.interactions.values() for c in r.calls):
        if isinstance(payload, dict) and payload.get("id") == str(mid):
            return payload
    return {"id": str(mid), "channel_id": "0", "author": {"id": "0"}, "content": ""}


# =========================================================================== the harness


class Discord:
    """A running stand-in plus a default world; the object tests call ``discord``."""

    def __init__(self, server: StandinServer) -> None:
        self.server = server
        self.world = server.world
        self._clients: list[tuple[Any, asyncio.Task[None]]] = []
        self._patched: list[tuple[Any, str, Any]] = []

    # ------------------------------------------------------------------ construction

    @classmethod
    async def start(
        cls, config: StandinConfig | None = None, *, default_world: bool = True
    ) -> Discord:
        """Start a stand-in on a free loopback port, with the default world if asked."""
        server = StandinServer(config)
        await server.start()
        harness = cls(server)
        if default_world:
            harness._build_default_world()
        return harness

    def _build_default_world(self) -> None:
        w = self.world
        self.owner = self._user_ref(w.add_user("olga"))
        g = w.add_guild(self.server.config.guild_name, self.owner.id)
        self.guild_id = g.id
        self.moderator_role_id = w.add_role(
            g.id, "Moderator", Perm.MANAGE_THREADS | Perm.MANAGE_MESSAGES
        )
        self.bot_role_id = w.add_role(
            g.id, self.server.config.bot_name, p.BOT_PERMISSIONS, bot_id=w.bot_id
        )
        w.add_member(g.id, self.owner.id)
        w.add_member(g.id, w.bot_id, roles=[self.bot_role_id])
        self.alice = self._member("alice")
        self.bob = self._member("bob")
        self.mod = self._member("carol", roles=[self.moderator_role_id])
        self.category_id = w.add_category(g.id, "Study")
        self.channel = self._channel_ref(
            w.add_text_channel(g.id, "general", parent_id=self.category_id)
        )
        self.channel2 = self._channel_ref(
            w.add_text_channel(g.id, "study-hall", parent_id=self.category_id)
        )
        deny_send = [
            p.overwrite(
                g.id,
                kind=0,
                deny=Perm.SEND_MESSAGES
                | Perm.CREATE_PUBLIC_THREADS
                | Perm.SEND_MESSAGES_IN_THREADS,
            )
        ]
        #: A channel nobody (the bot included) may post in: for "missing permissions" paths.
        self.readonly = self._channel_ref(
            w.add_text_channel(g.id, "announcements", overwrites=deny_send)
        )
        self.thread = self._channel_ref(
            w.add_thread(self.channel.id, "Chapter 3 discussion", self.alice.id, private=False)
        )
        g.system_channel_id = self.channel.id

    def _user_ref(self, uid: int) -> UserRef:
        return UserRef(uid, self.world.users[uid]["username"])

    def _channel_ref(self, cid: int) -> ChannelRef:
        ch = self.world.channels[cid]
        kind = (
            "dm"
            if ch["type"] == p.ChannelType.DM
            else "thread"
            if self.world.is_thread(ch)
            else "text"
        )
        return ChannelRef(cid, str(ch.get("name") or "dm"), kind, self.world.guild_id_of(ch))

    def _member(self, name: str, roles: Sequence[int] = ()) -> UserRef:
        uid = self.world.add_user(name)
        self.world.add_member(self.guild_id, uid, roles=roles)
        return self._user_ref(uid)

    # ------------------------------------------------------------------ world edits

    @property
    def bot(self) -> UserRef:
        return self._user_ref(self.world.bot_id)

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def api_base(self) -> str:
        return self.server.api_base

    @property
    def gateway_url(self) -> str:
        return self.server.gateway_url

    async def add_member(
        self, name: str, *, permissions: int | Perm | Any = None, roles: Sequence[int] = ()
    ) -> UserRef:
        """A new guild member; ``permissions`` (int, Perm, or discord.Permissions) makes a role for them."""
        role_ids = list(roles)
        if permissions is not None:
            value = int(getattr(permissions, "value", permissions))
            role_ids.append(self.world.add_role(self.guild_id, f"{name}-role", value))
        ref = self._member(name, role_ids)
        await self.server.dispatch(
            "GUILD_MEMBER_ADD",
            {**self.world.member_payload(self.guild_id, ref.id), "guild_id": str(self.guild_id)},
            guild_id=self.guild_id,
        )
        return ref

    async def add_guild(
        self, name: str, *, members: Sequence[UserLike] = (), roles: Sequence[str] = ()
    ) -> GuildRef:
        """Another server the bot is in, with an owner of its own, ``members`` (people of
        the default server may be members of both) and a #general channel; GUILD_CREATE goes
        out to the bot as when it joins a server. ``roles`` are created without permissions
        and given to every member of ``members`` (by name: a role the bot's settings name)."""
        w = self.world
        owner = self._user_ref(w.add_user(f"{name.split()[0].lower()}-owner"))
        guild = w.add_guild(name, owner.id)
        bot_role = w.add_role(
            guild.id, self.server.config.bot_name, p.BOT_PERMISSIONS, bot_id=w.bot_id
        )
        role_ids = [w.add_role(guild.id, role, 0) for role in roles]
        w.add_member(guild.id, owner.id)
        w.add_member(guild.id, w.bot_id, roles=[bot_role])
        for member in members:
            w.add_member(guild.id, _id(member), roles=role_ids)
        channel = self._channel_ref(w.add_text_channel(guild.id, "general"))
        guild.system_channel_id = channel.id
        await self.server.dispatch("GUILD_CREATE", w.guild_create(guild.id), guild_id=guild.id)
        return GuildRef(guild.id, name, owner, channel)

    async def add_channel(self, name: str, *, overwrites: Sequence[Json] = ()) -> ChannelRef:
        cid = self.world.add_text_channel(
            self.guild_id, name, parent_id=self.category_id, overwrites=overwrites
        )
        await self.server.dispatch(
            "CHANNEL_CREATE", self.world.channels[cid], guild_id=self.guild_id
        )
        return self._channel_ref(cid)

    async def add_thread(
        self,
        parent: ChannelLike,
        name: str,
        *,
        owner: UserLike | None = None,
        private: bool = False,
    ) -> ChannelRef:
        """A person starts a thread (THREAD_CREATE goes out like Discord's)."""
        creator = _id(owner) if owner is not None else self.alice.id
        thread = await self.server.create_thread(
            _id(parent),
            creator,
            {
                "name": name,
                "type": p.ChannelType.PRIVATE_THREAD if private else p.ChannelType.PUBLIC_THREAD,
            },
        )
        return self._channel_ref(int(thread["id"]))

    async def join_thread(self, thread: ChannelLike, user: UserLike) -> None:
        """A person joins a thread (its Join button); posting in one joins it too."""
        await self.server.join_thread(_id(thread), _id(user))

    def dm(self, user: UserLike) -> ChannelRef:
        """The DM channel between ``user`` and the bot."""
        return self._channel_ref(self.world.dm_channel_for(_id(user)))

    # ------------------------------------------------------------------ running a discord.py client

    def _patch(self, obj: Any, attr: str, value: Any) -> None:
        self._patched.append((obj, attr, getattr(obj, attr)))
        setattr(obj, attr, value)

    def point_discord_py_here(self) -> None:
        """Point this process's discord.py at the stand-in: REST base and default gateway URL.

        discord.py keeps both as class attributes (``Route.BASE``, ``DiscordWebSocket.DEFAULT_GATEWAY``);
        a plain ``Client`` never asks ``GET /gateway/bot`` and falls back to DEFAULT_GATEWAY after an
        INVALID_SESSION, so both must be set. Restored by :meth:`stop`.
        """
        import discord.gateway
        import discord.http
        import yarl

        if not any(attr == "BASE" for _, attr, _ in self._patched):
            self._patch(discord.http.Route, "BASE", self.api_base)
            self._patch(
                discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url)
            )

    async def start_client(
        self,
        client: Any,
        token: str = "standin-token",
        *,
        timeout: float = 15.0,
        wait_sync: bool = True,
        guild_ready_timeout: float | None = 0.05,
    ) -> None:
        """Run ``client.start(token)`` in a task and return once it is ready (and has synced commands).

        ``guild_ready_timeout`` shortens discord.py's wait after the last GUILD_CREATE before
        ``on_ready`` (2 s by default) so start-up is quick; None leaves the client's own value.
        """
        self.point_discord_py_here()
        if guild_ready_timeout is not None:
            client._connection.guild_ready_timeout = guild_ready_timeout
        syncs_before = len(self.server.command_syncs)
        identifies_before = len(self.server.identifies)
        task = asyncio.create_task(client.start(token), name=f"standin-client-{len(self._clients)}")
        self._clients.append((client, task))
        deadline = time.monotonic() + timeout

        async def ready() -> None:
            await self.server.wait_until(
                lambda: len(self.server.identifies) > identifies_before,
                timeout,
                "the client to IDENTIFY",
            )
            await client.wait_until_ready()
            if wait_sync:
                await self.server.wait_until(
                    lambda: len(self.server.command_syncs) > syncs_before,
                    max(deadline - time.monotonic(), 0.1),
                    "an application command sync",
                )

        await self._race(ready(), task, timeout, "the client to become ready")

    async def wait_for_bot(
        self, *, timeout: float = 60.0, wait_sync: bool = True, identifies: int = 1
    ) -> None:
        """For a bot in another process: wait for its IDENTIFY, GUILD_CREATEs and command sync."""
        await self.server.wait_until(
            lambda: len(self.server.identifies) >= identifies, timeout, "the bot to IDENTIFY"
        )
        if wait_sync:
            await self.server.wait_until(
                lambda: self.server.command_syncs, timeout, "an application command sync"
            )

    @staticmethod
    async def _race(coro: Awaitable[T], task: asyncio.Task[Any], timeout: float, what: str) -> T:
        waiter = asyncio.ensure_future(coro)
        try:
            done, _ = await asyncio.wait(
                {waiter, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if waiter in done:
                return waiter.result()
            if task in done:
                exc = task.exception()
                raise RuntimeError(f"the client stopped while waiting for {what}") from exc
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
        finally:
            if not waiter.done():
                waiter.cancel()
                with contextlib.suppress(BaseException):
                    await waiter

    async def stop(self) -> None:
        """Close every client started here, then the stand-in; undo the discord.py patches."""
        for client, task in self._clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)
            if not task.done():
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5)
        self._clients.clear()
        await self.server.stop()
        for obj, attr, old in reversed(self._patched):
            setattr(obj, attr, old)
        self._patched.clear()

    def client_errors(self) -> list[BaseException]:
        """Exceptions that ended a client task started here (a crashed bot)."""
        return [
            t.exception()
            for _, t in self._clients
            if t.done() and not t.cancelled() and t.exception()
        ]

    # ------------------------------------------------------------------ interactions

    def _place(self, channel: ChannelLike | None) -> int:
        return _id(channel) if channel is not None else self.channel.id

    def _who(self, user: UserLike | None) -> int:
        return _id(user) if user is not None else self.alice.id

    async def send_slash(
        self,
        name: str,
        /,
        *,
        user: UserLike | None = None,
        channel: ChannelLike | None = None,
        **options: Any,
    ) -> InteractionRecord:
        """Dispatch a slash command (``"group sub"`` for subcommands) without waiting for the answer."""
        cid, uid = self._place(channel), self._who(user)
        guild_id = self.world.guild_id_of(self.world.channel(cid))
        data, full = self.server.command_data(
            name, options, guild_id=guild_id, user_id=uid, channel_id=cid
        )
        return await self.server.start_interaction(
            type=2, user_id=uid, channel_id=cid, data=data, command_name=full
        )

    async def defer_as_the_bot(self, record: InteractionRecord, *, ephemeral: bool = False) -> None:
        """Acknowledge an interaction with "thinking…" over REST, as a bot does: what a bot
        killed right after its deferral leaves behind."""
        import aiohttp

        body: Json = {"type": 5, "data": {"flags": MessageFlag.EPHEMERAL if ephemeral else 0}}
        url = f"{self.api_base}/interactions/{record.id}/{record.token}/callback"
        async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
            if response.status >= 300:
                raise RuntimeError(f"the stand-in refused the deferral: {response.status}")

    async def slash(
        self,
        name: str,
        /,
        *,
        user: UserLike | None = None,
        channel: ChannelLike | None = None,
        timeout: float = 5.0,
        settle: float = 0.1,
        **options: Any,
    ) -> Reply:
        """A person runs ``/name option=value ...``; returns the answer once it has settled."""
        record = await self.send_slash(name, user=user, channel=channel, **options)
        return await self.wait_answer(record, timeout=timeout, settle=settle)

    async def autocomplete(
        self,
        name: str,
        option: str,
        typed: str,
        /,
        *,
        user: UserLike | None = None,
        channel: ChannelLike | None = None,
        timeout: float = 5.0,
        **options: Any,
    ) -> list[Json]:
        """A person types ``typed`` into ``option`` of ``/name``; returns the offered choices."""
        cid, uid = self._place(channel), self._who(user)
        guild_id = self.world.guild_id_of(self.world.channel(cid))
        data, full = self.server.command_data(
            name,
            {**options, option: typed},
            guild_id=guild_id,
            user_id=uid,
            channel_id=cid,
            focused=option,
        )
        record = await self.server.start_interaction(
            type=4, user_id=uid, channel_id=cid, data=data, command_name=full
        )
        reply = await self.wait_answer(record, timeout=timeout, settle=0.0)
        return list(reply.choices or [])

    async def click(
        self,
        target: Msg | int,
        button: str,
        /,
        *,
        user: UserLike | None = None,
        timeout: float = 5.0,
        settle: float = 0.1,
        wait_edit: bool = False,
    ) -> Reply:
        """A person clicks a button (by label or custom_id) on a message; returns the answer.

        ``wait_edit`` also waits for an edit or follow-up after a deferred update (type 6).
        """
        msg = (
            target if isinstance(target, Msg) else Msg(self.server, self.world.message(int(target)))
        )
        if isinstance(msg, Reply) and not msg.has_message:
            raise LookupError("that reply has no message to click on")
        found = msg.find_button(button)
        if found.get("disabled"):
            raise PermissionError(f"button {button!r} is disabled")
        if found.get("style") in (5, 6) or not found.get("custom_id"):
            raise LookupError(
                f"button {button!r} is a link/premium button: it creates no interaction"
            )
        data: Json = {"custom_id": found["custom_id"], "component_type": 2}
        if "id" in found:
            data["id"] = found["id"]
        return await self._component(msg, data, user, timeout, settle, wait_edit)

    async def select(
        self,
        target: Msg | int,
        select: str,
        values: Sequence[str],
        /,
        *,
        user: UserLike | None = None,
        timeout: float = 5.0,
        settle: float = 0.1,
    ) -> Reply:
        """A person picks ``values`` in a select menu (by custom_id or placeholder)."""
        msg = (
            target if isinstance(target, Msg) else Msg(self.server, self.world.message(int(target)))
        )
        menus = [c for c in _walk_components(msg.components) if c.get("type") in (3, 5, 6, 7, 8)]
        menu = next(
            (m for m in menus if select in (m.get("custom_id"), m.get("placeholder"))), None
        )
        if menu is None:
            raise LookupError(f"no select {select!r} on the message")
        if menu.get("type") == 3:
            allowed = {o["value"] for o in menu.get("options") or []}
            if not set(values) <= allowed:
                raise ValueError(f"{sorted(set(values) - allowed)} are not options of {select!r}")
        data = {
            "custom_id": menu["custom_id"],
            "component_type": menu["type"],
            "values": list(values),
        }
        return await self._component(msg, data, user, timeout, settle, False)

    async def _component(
        self,
        msg: Msg,
        data: Json,
        user: UserLike | None,
        timeout: float,
        settle: float,
        wait_edit: bool,
    ) -> Reply:
        record = await self.server.start_interaction(
            type=3, user_id=self._who(user), channel_id=msg.channel_id, data=data, message=msg.raw
        )
        return await self.wait_answer(record, timeout=timeout, settle=settle, wait_edit=wait_edit)

    async def submit_modal(
        self,
        reply: Reply,
        values: dict[str, str],
        /,
        *,
        user: UserLike | None = None,
        timeout: float = 5.0,
        settle: float = 0.1,
    ) -> Reply:
        """A person fills in the modal the bot opened (text inputs by custom_id) and submits it."""
        modal = reply.modal
        if modal is None:
            raise LookupError("the bot answered without a modal")

        def fill(items: list[Json]) -> list[Json]:
            out = []
            for item in items:
                if item.get("type") == 4:
                    out.append(
                        {
                            "type": 4,
                            "id": item.get("id"),
                            "custom_id": item["custom_id"],
                            "value": values.get(item["custom_id"], item.get("value") or ""),
                        }
                    )
                elif item.get("type") == 18 and isinstance(item.get("component"), dict):
                    out.append(
                        {
                            "type": 18,
                            "id": item.get("id"),
                            "component": fill([item["component"]])[0],
                        }
                    )
                elif isinstance(item.get("components"), list):
                    out.append(
                        {
                            "type": item.get("type", 1),
                            "id": item.get("id"),
                            "components": fill(item["components"]),
                        }
                    )
            return out

        data = {"custom_id": modal["custom_id"], "components": fill(modal.get("components") or [])}
        record = await self.server.start_interaction(
            type=5,
            user_id=self._who(user),
            channel_id=reply.interaction.channel_id,
            data=data,
            message=reply.raw if reply.interaction.type == 3 and reply.has_message else None,
        )
        return await self.wait_answer(record, timeout=timeout, settle=settle)

    async def wait_answer(
        self,
        record: InteractionRecord,
        *,
        timeout: float = 5.0,
        settle: float = 0.1,
        wait_edit: bool = False,
    ) -> Reply:
        """Wait until the interaction is acknowledged and its deferred message resolved, then settled."""
        acked_edits_before = len(record.calls)

        def answered() -> bool:
            if not record.acked or record.in_flight:
                return False
            if record.ack_type == 5 and record.loading:
                return False
            if wait_edit and record.ack_type == 6:
                return any(
                    c.method in ("PATCH", "POST") and c.path.startswith("/webhooks/") and c.ok
                    for c in record.calls[acked_edits_before:]
                )
            return True

        try:
            await self.server.wait_until(answered, timeout, f"an answer to interaction {record.id}")
        except TimeoutError:
            raise InteractionNotAnswered(self._diagnose(record, timeout)) from None
        await self._settle(lambda: record.last_activity, lambda: record.in_flight, settle)
        return Reply(self.server, record)

    async def _settle(self, last: Any, busy: Any, settle: float, *, answered: bool = True) -> None:
        """Wait until nothing more is coming: no request in flight, then ``settle`` seconds
        without activity.

        Once the bot has answered and every client runs in this process, that is known
        exactly: none of them is still handling an event, a command or a click (their tasks
        are named by discord.py), so only a moment of quiet is needed after that. Silence
        itself (``answered=False``: checking that the bot kept quiet) is always waited out.
        """
        exact = answered and bool(self._clients)
        if exact:
            settle = min(settle, CLIENT_IDLE_QUIET)
        while settle > 0:
            if busy():
                await self.server.wait_until(
                    lambda: not busy(), 30.0, "requests in flight to finish"
                )
            if exact:
                await _clients_idle(30.0)
            idle = time.monotonic() - last()
            if idle >= settle and not busy() and not (exact and _clients_handling()):
                return
            await asyncio.sleep(settle - idle if idle < settle else 0.01)

    def _diagnose(self, record: InteractionRecord, timeout: float) -> str:
        lines = [f"interaction {record.id} ({p_name(record)}) not answered within {timeout:.1f}s:"]
        if not record.acked:
            lines.append("  never acknowledged (Discord shows 'The application did not respond')")
        elif record.ack_type == 5 and record.loading:
            lines.append(
                "  deferred (type 5) but the loading message was never edited / followed up"
            )
        for c in record.calls:
            lines.append(
                f"  {c.method} {c.path} -> {c.status} {c.fault or ''} {str(c.response)[:200]}"
            )
        if record.late_attempts:
            lines.append(f"  late callback(s) after {record.late_attempts} s")
        errors = self.client_errors()
        if errors:
            lines.append(f"  client task ended with: {errors!r}")
        if not self.server.live_connections():
            lines.append("  no gateway connection is live")
        return "\n".join(lines)

    # ------------------------------------------------------------------ messages

    async def post(
        self,
        content: str,
        /,
        *,
        user: UserLike | None = None,
        channel: ChannelLike | None = None,
        mention_bot: bool = False,
        reply_to: Msg | int | None = None,
        reply_ping: bool = True,
        files: Sequence[UploadedFile | tuple[str, bytes]] = (),
    ) -> Msg:
        """A person posts a message (MESSAGE_CREATE goes out); returns it without waiting."""
        if mention_bot and self.bot.mention not in content:
            content = f"{self.bot.mention} {content}"
        uploads = [
            f if isinstance(f, UploadedFile) else UploadedFile(f"files[{i}]", f[0], None, f[1])
            for i, f in enumerate(files)
        ]
        msg = await self.server.user_message(
            self._who(user),
            self._place(channel),
            content,
            reply_to=_id(reply_to) if reply_to is not None else None,
            reply_ping=reply_ping,
            files=uploads,
        )
        return Msg(self.server, msg)

    async def say(
        self,
        content: str,
        /,
        *,
        user: UserLike | None = None,
        channel: ChannelLike | None = None,
        mention_bot: bool = False,
        reply_to: Msg | int | None = None,
        reply_ping: bool = True,
        files: Sequence[UploadedFile | tuple[str, bytes]] = (),
        expect_reply: bool = True,
        timeout: float = 5.0,
        settle: float = 0.15,
    ) -> list[Msg]:
        """A person posts a message; returns what the bot posted in answer (anywhere), once settled.

        With ``expect_reply=False`` it waits ``settle`` of bot silence and returns what (if anything)
        arrived, so ``assert await standin.say(..., expect_reply=False) == []`` checks the bot kept quiet.
        """
        started = time.monotonic()
        await self.post(
            content,
            user=user,
            channel=channel,
            mention_bot=mention_bot,
            reply_to=reply_to,
            reply_ping=reply_ping,
            files=files,
        )
        if expect_reply:
            try:
                await self.server.wait_until(
                    lambda: self._bot_messages_since(started),
                    timeout,
                    "the bot to answer the message",
                )
            except TimeoutError:
                raise NoReply(self._diagnose_silence(started, timeout)) from None
        await self._settle(
            lambda: max(self.server.last_rest_activity, started),
            lambda: self.server.in_flight,
            settle,
            answered=expect_reply,
        )
        return self._bot_messages_since(started)

    def _bot_messages_since(self, started: float) -> list[Msg]:
        out = []
        for mid in reversed(list(self.world.messages)):
            meta = self.world.meta[mid]
            if meta.created_at < started:
                break
            msg = self.world.messages[mid]
            if int(msg["author"]["id"]) == self.world.bot_id and msg["type"] in (
                MessageType.DEFAULT,
                MessageType.REPLY,
            ):
                out.append(Msg(self.server, msg))
        return list(reversed(out))

    def _diagnose_silence(self, started: float, timeout: float) -> str:
        calls = [c for c in self.server.rest_calls if c.received_at >= started]
        lines = [f"the bot posted nothing within {timeout:.1f}s; its requests meanwhile:"]
        lines += [
            f"  {c.method} {c.path} -> {c.status} {str(c.response)[:200]}" for c in calls
        ] or ["  (none)"]
        errors = self.client_errors()
        if errors:
            lines.append(f"  client task ended with: {errors!r}")
        return "\n".join(lines)

    def messages(
        self, channel: ChannelLike | None = None, *, author: UserLike | None = None
    ) -> list[Msg]:
        """Stored messages (oldest first), optionally of one channel and/or author."""
        out = []
        for msg in self.world.messages.values():
            if channel is not None and int(msg["channel_id"]) != _id(channel):
                continue
            if author is not None and int(msg["author"]["id"]) != _id(author):
                continue
            out.append(Msg(self.server, msg))
        return out

    def bot_messages(self, channel: ChannelLike | None = None) -> list[Msg]:
        return self.messages(channel, author=self.world.bot_id)

    def threads(self, parent: ChannelLike | None = None) -> list[Json]:
        """Thread channels (live payloads), optionally of one parent channel."""
        return [
            c
            for c in self.world.channels.values()
            if self.world.is_thread(c) and (parent is None or c["parent_id"] == str(_id(parent)))
        ]

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        path: str,
        *,
        status: int = 500,
        times: int = 1,
        retry_after: float = 0.1,
        scope: str = "user",
        global_: bool = False,
        delay: float = 0.0,
        body: Json | None = None,
    ) -> Fault:
        """Answer the next ``times`` matching requests with ``status`` (429 carries Discord's headers).

        ``path`` is relative to the API base; ``{x}`` matches one segment:
        ``standin.fail_next("POST", "/interactions/{id}/{token}/callback", status=429, retry_after=0.3)``.
        """
        return self.server.add_fault(
            Fault(
                method.upper(),
                path,
                status,
                times,
                retry_after=retry_after,
                scope=scope,
                global_=global_,
                delay=delay,
                body=body,
            )
        )

    def delay_next(self, method: str, path: str, seconds: float, *, times: int = 1) -> Fault:
        """Hold the next ``times`` matching requests for ``seconds`` before serving them normally."""
        return self.server.add_fault(Fault(method.upper(), path, None, times, delay=seconds))

    # ------------------------------------------------------------------ gateway faults

    async def _after_reconnect(self, action: Awaitable[int], wait: bool, timeout: float) -> str:
        identifies, resumes = len(self.server.identifies), len(self.server.resumes)
        # Listen for on_ready before acting: after a fresh IDENTIFY discord.py fires it again.
        ready_waiters = [
            (asyncio.ensure_future(client.wait_for("ready")), task)
            for client, task in self._clients
            if not task.done()
        ]
        try:
            affected = await action
            if not affected:
                raise RuntimeError("no live gateway connection to act on")
            if not wait:
                return "sent"
            await self.server.wait_until(
                lambda: (
                    len(self.server.identifies) > identifies or len(self.server.resumes) > resumes
                ),
                timeout,
                "the client to reconnect",
            )
            if len(self.server.resumes) > resumes:
                return "resumed"
            for waiter, task in ready_waiters:
                await self._race(waiter, task, timeout, "the client to be ready again")
            return "identified"
        finally:
            for waiter, _task in ready_waiters:
                if not waiter.done():
                    waiter.cancel()

    async def drop_connection(
        self, code: int = 1006, *, wait: bool = True, timeout: float = 10.0
    ) -> str:
        """Drop the gateway socket (1006: no close frame) or close it with ``code`` (e.g. 4000).

        Returns "resumed" or "identified" (how the client came back), or "sent" with ``wait=False``.
        """
        return await self._after_reconnect(self.server.drop_connections(code), wait, timeout)

    async def send_reconnect(self, *, wait: bool = True, timeout: float = 10.0) -> str:
        """Send op 7 RECONNECT; the client should come back with RESUME."""
        return await self._after_reconnect(self.server.send_reconnect(), wait, timeout)

    async def invalidate_session(
        self, resumable: bool = False, *, wait: bool = True, timeout: float = 10.0
    ) -> str:
        """Send op 9 INVALID_SESSION; not resumable means the client must IDENTIFY afresh."""
        return await self._after_reconnect(
            self.server.invalidate_sessions(resumable), wait, timeout
        )

    # ------------------------------------------------------------------ inspection

    def rest_calls(
        self, method: str | None = None, route: str | None = None, *, path_prefix: str | None = None
    ) -> list[RestCall]:
        """Recorded REST calls, filtered by method, route template or path prefix."""
        return [
            c
            for c in self.server.rest_calls
            if (method is None or c.method == method.upper())
            and (route is None or c.route == route)
            and (path_prefix is None or c.path.startswith(path_prefix))
        ]

    @property
    def unknown_routes(self) -> list[RestCall]:
        return list(self.server.unknown_routes)

    @property
    def interactions(self) -> list[InteractionRecord]:
        return list(self.server.interactions.values())

    def late_acks(self) -> list[InteractionRecord]:
        return [r for r in self.interactions if r.late]

    def double_acks(self) -> list[InteractionRecord]:
        return [r for r in self.interactions if r.double_acks]

    def frames(
        self, *, direction: str | None = None, op: int | None = None, t: str | None = None
    ) -> list[GatewayFrame]:
        """Recorded gateway frames: ``direction`` "send" (to the client) or "recv" (from it)."""
        return [
            f
            for f in self.server.frames
            if (direction is None or f.direction == direction)
            and (op is None or f.op == op)
            and (t is None or f.t == t)
        ]

    def commands(self, guild: int | bool | None = False) -> list[Json]:
        """Synced commands: global by default, ``guild=True`` for the default guild, or a guild id."""
        key = (
            None
            if guild is False or guild is None
            else (self.guild_id if guild is True else int(guild))
        )
        return list(self.world.commands.get(key, []))

    def assert_healthy(self) -> None:
        """No unknown routes, late or double acks, client protocol errors, or crashed clients."""
        problems = []
        if self.unknown_routes:
            problems.append(
                f"unknown routes: {[f'{c.method} {c.path}' for c in self.unknown_routes]}"
            )
        if self.late_acks():
            problems.append(f"late acks: {[(r.id, r.late_attempts) for r in self.late_acks()]}")
        if self.double_acks():
            problems.append(f"double acks: {[r.id for r in self.double_acks()]}")
        if self.server.internal_errors:
            problems.append(f"stand-in internal errors: {self.server.internal_errors}")
        if self.server.protocol_errors:
            problems.append(f"gateway protocol errors: {self.server.protocol_errors}")
        if self.client_errors():
            problems.append(f"client crashed: {self.client_errors()!r}")
        assert not problems, "; ".join(problems)


def p_name(record: InteractionRecord) -> str:
    kind = {2: "slash", 3: "component", 4: "autocomplete", 5: "modal submit"}.get(
        record.type, str(record.type)
    )
    return f"{kind} {record.command_name or (record.payload.get('data') or {}).get('custom_id', '')}".strip()
