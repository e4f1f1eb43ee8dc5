"""A stand-in for Discord on loopback: REST under ``/api/v10`` and the gateway websocket.

The unmodified discord.py client talks to it over real sockets. It keeps the little world a
bot sees (one application, users, guilds, channels, threads, DMs, messages, commands), plays
Discord's side of the protocols (gateway sessions with sequence numbers, resume and replay,
interaction acknowledgement within 3 s, rate-limit headers, JSON error codes), records every
request and frame so tests can assert what a user would see, and injects faults on demand.

Ground truth for shapes and status codes is the installed discord.py (what it sends and what it
checks) and Discord's API documentation.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import math
import re
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, WSCloseCode, WSMsgType, web

from . import payloads as p
from .payloads import ChannelType, Intent, Json, MessageFlag, MessageType, Perm

log = logging.getLogger("standin")

# Discord JSON error codes used below (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_APPLICATION = 10002
UNKNOWN_INTERACTION = 10062
CANNOT_EDIT_OTHERS_MESSAGE = 50005
CANNOT_SEND_EMPTY_MESSAGE = 50006
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
INVALID_FORM_BODY = 50035
INTERACTION_ALREADY_ACKNOWLEDGED = 40060
THREAD_ALREADY_CREATED = 160004
THREAD_LOCKED = 160005

INTERACTION_TYPES = {
    1: "ping",
    2: "application_command",
    3: "component",
    4: "autocomplete",
    5: "modal",
}
# Which callback types Discord accepts for each interaction type.
VALID_CALLBACKS: dict[int, frozenset[int]] = {
    1: frozenset({1}),
    2: frozenset({4, 5, 9, 12}),
    3: frozenset({4, 5, 6, 7, 9, 12}),
    4: frozenset({8}),
    5: frozenset({4, 5, 6, 7}),
}


# =========================================================================== configuration


@dataclass
class StandinConfig:
    """Knobs of the stand-in; defaults behave like Discord, tests shrink the timings."""

    host: str = "127.0.0.1"
    port: int = 0
    #: HELLO's heartbeat_interval. Discord sends ~41250 ms; tests use far less.
    heartbeat_interval_ms: int = 41250
    #: Close the socket (4009) when no heartbeat arrives for this long. None: 3x interval + 5 s.
    heartbeat_timeout: float | None = None
    #: Interactions must be acknowledged within this many seconds.
    ack_deadline: float = 3.0
    #: Answer late callbacks with 404 Unknown interaction, as Discord does (they are flagged anyway).
    reject_late_acks: bool = True
    #: Accept only this bot token (None: any non-empty token).
    token: str | None = None
    #: Honour ``?compress=zlib-stream`` (binary frames) like Discord; False sends text frames.
    compress: bool = True
    #: Default per-bucket rate limit (requests, per seconds), reported in X-RateLimit-* headers.
    rate_limit: tuple[int, float] = (50, 1.0)
    #: Privileged intents switched on in the developer portal.
    message_content_enabled: bool = True
    members_intent_enabled: bool = True
    presence_intent_enabled: bool = True
    #: How many dispatches a session keeps for replay on RESUME.
    replay_buffer: int = 20000
    #: Names used for the default world.
    bot_name: str = "histbot"
    guild_name: str = "History Study Group"


class ApiError(Exception):
    """Raised by a handler to answer with a Discord-style JSON error."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(f"{status} {body.get('message')}")
        self.status = status
        self.body = body


def _not_found(code: int, what: str) -> ApiError:
    return ApiError(404, p.error_body(code, f"Unknown {what}"))


def _form_error(path: str, code: str, message: str) -> ApiError:
    return ApiError(400, p.form_error(path, code, message))


# =========================================================================== recordings


@dataclass
class UploadedFile:
    """A file part of a multipart request (``files[n]``)."""

    field: str
    filename: str
    content_type: str | None
    data: bytes

    @property
    def text(self) -> str:
        """The file decoded as UTF-8 (transcripts and other text attachments)."""
        return self.data.decode("utf-8")


@dataclass
class Attachment:
    """A file a person attaches to a slash command's attachment option, served from the
    stand-in's CDN route as Discord serves it. The knobs misbehave on purpose: ``size``
    declares another size than the file's in the interaction (a client can lie),
    ``chunk_delay`` sends the file slowly (64 KiB at a time), ``chunked`` leaves out the
    Content-Length header."""

    filename: str
    data: bytes
    content_type: str | None = None
    size: int | None = None
    chunk_delay: float = 0.0
    chunked: bool = False


@dataclass
class RestCall:
    """One REST request as received, with the answer the stand-in gave."""

    seq: int
    method: str
    path: str
    route: str | None
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    headers: dict[str, str]
    received_at: float
    status: int = 0
    response: Any = None
    fault: str | None = None
    interaction_id: int | None = None
    finished_at: float | None = None

    @property
    def ok(self) -> bool:
        """2xx answer."""
        return 200 <= self.status < 300

    @property
    def body(self) -> Any:
        """The JSON body, or ``payload_json`` of a multipart request."""
        return self.json

    def __repr__(self) -> str:
        extra = f" fault={self.fault}" if self.fault else ""
        return f"<RestCall #{self.seq} {self.method} {self.path} -> {self.status}{extra}>"


@dataclass
class GatewayFrame:
    """One gateway frame, ``direction`` "send" (stand-in to client) or "recv"."""

    direction: str
    conn_id: int
    session_id: str | None
    raw: str
    at: float
    _parsed: Json | None = field(default=None, repr=False)

    @property
    def payload(self) -> Json:
        """The decoded frame ``{op, d, s, t}``."""
        if self._parsed is None:
            self._parsed = json.loads(self.raw)
        return self._parsed

    @property
    def op(self) -> int:
        return int(self.payload.get("op", -1))

    @property
    def t(self) -> str | None:
        return self.payload.get("t")

    @property
    def s(self) -> int | None:
        return self.payload.get("s")

    @property
    def d(self) -> Any:
        return self.payload.get("d")


@dataclass
class Fault:
    """A fault armed for requests matching ``method`` + ``pattern`` (``{x}`` = one segment)."""

    method: str
    pattern: str
    status: int | None
    times: int
    retry_after: float = 0.1
    scope: str = "user"
    global_: bool = False
    delay: float = 0.0
    body: Json | None = None
    hits: list[RestCall] = field(default_factory=list)
    _regex: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self.times <= 0 or (self.method != "*" and self.method.upper() != method):
            return False
        if self._regex is None:
            parts = re.split(r"(\{[^}/]+\})", self.pattern)
            regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
            self._regex = re.compile(f"^{regex}$")
        return bool(self._regex.match(path))

    @property
    def exhausted(self) -> bool:
        return self.times <= 0


@dataclass
class InteractionRecord:
    """Discord's bookkeeping for one interaction: acknowledgement, responses, follow-ups."""

    id: int
    token: str
    type: int
    payload: Json
    user_id: int
    channel_id: int
    guild_id: int | None
    created_at: float
    command_name: str | None = None
    target_message_id: int | None = None  # the message a component sits on
    acked_at: float | None = None
    ack_type: int | None = None
    answered_at: float | None = None  # when the first visible answer arrived (not a deferral)
    ack_call: RestCall | None = None
    callbacks: list[RestCall] = field(default_factory=list)
    rejected_callbacks: list[RestCall] = field(default_factory=list)
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    loading: bool = False
    ephemeral: bool = False
    choices: list[Json] | None = None
    modal: Json | None = None
    calls: list[RestCall] = field(default_factory=list)
    last_activity: float = 0.0
    in_flight: int = 0
    late_attempts: list[float] = field(default_factory=list)

    @property
    def acked(self) -> bool:
        return self.acked_at is not None

    @property
    def ack_latency(self) -> float | None:
        """Seconds from the INTERACTION_CREATE dispatch to the accepted callback."""
        return None if self.acked_at is None else self.acked_at - self.created_at

    @property
    def answer_latency(self) -> float | None:
        """Seconds from the INTERACTION_CREATE dispatch to the first answer: a message response,
        the edit of a deferred response, or a follow-up."""
        return None if self.answered_at is None else self.answered_at - self.created_at

    def mark_answered(self, call: RestCall) -> None:
        """`call` delivered an answer; the first one counts."""
        if self.answered_at is None:
            self.answered_at = call.received_at

    @property
    def double_acks(self) -> int:
        """Callbacks received after the interaction was already acknowledged."""
        return sum(
            1
            for c in self.rejected_callbacks
            if (c.response or {}).get("code") == INTERACTION_ALREADY_ACKNOWLEDGED
        )

    @property
    def late(self) -> bool:
        """True if a callback arrived after the deadline (accepted or not)."""
        return bool(self.late_attempts)


@dataclass
class MessageMeta:
    """What the bot sent for a message that is not part of the message object itself."""

    allowed_mentions: Json | None = None
    pinged_user_ids: list[int] = field(default_factory=list)
    files: list[UploadedFile] = field(default_factory=list)
    calls: list[RestCall] = field(default_factory=list)
    interaction_id: int | None = None
    created_at: float = 0.0
    deleted: bool = False
    reactions: list[str] = field(default_factory=list)


# =========================================================================== the world


@dataclass
class GuildState:
    """A guild: roles, members (user id -> roles/nick/joined), channel ids."""

    id: int
    name: str
    owner_id: int
    joined_at: str
    roles: dict[int, Json] = field(default_factory=dict)
    members: dict[int, Json] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    system_channel_id: int | None = None


class World:
    """Everything that exists in the stand-in's Discord: users, guilds, channels, messages."""

    def __init__(self, config: StandinConfig) -> None:
        self.config = config
        self.ids = p.SnowflakeFactory()
        self.users: dict[int, Json] = {}
        self.guilds: dict[int, GuildState] = {}
        self.channels: dict[int, Json] = {}
        self.thread_members: dict[int, set[int]] = {}
        self.messages: dict[int, Json] = {}
        self.channel_messages: dict[int, list[int]] = {}
        self.meta: dict[int, MessageMeta] = {}
        self.attachment_data: dict[int, bytes] = {}
        #: How an attachment option's file is served (see ``Attachment``), by attachment id.
        self.attachment_serving: dict[int, Attachment] = {}
        self.dm_by_user: dict[int, int] = {}
        self.commands: dict[int | None, list[Json]] = {}
        self.owner_id = self.ids.next()
        self.users[self.owner_id] = p.user(self.owner_id, "app-owner")
        self.bot_id = self.ids.next()
        self.application_id = self.bot_id  # bots created since 2020 share the id
        self.users[self.bot_id] = p.user(self.bot_id, config.bot_name, bot=True)

    # ----- users & members

    @property
    def bot_user(self) -> Json:
        return self.users[self.bot_id]

    def add_user(self, username: str, *, bot: bool = False) -> int:
        uid = self.ids.next()
        self.users[uid] = p.user(uid, username, bot=bot)
        return uid

    def user(self, user_id: int) -> Json:
        try:
            return self.users[user_id]
        except KeyError:
            raise _not_found(UNKNOWN_USER, "User") from None

    def add_guild(self, name: str, owner_id: int) -> GuildState:
        gid = self.ids.next()
        state = GuildState(id=gid, name=name, owner_id=owner_id, joined_at=p.iso())
        state.roles[gid] = p.role(gid, "@everyone", permissions=p.EVERYONE_PERMISSIONS, position=0)
        self.guilds[gid] = state
        return state

    def add_role(
        self, guild_id: int, name: str, permissions: int, *, bot_id: int | None = None
    ) -> int:
        guild = self.guilds[guild_id]
        rid = self.ids.next()
        guild.roles[rid] = p.role(
            rid,
            name,
            permissions=permissions,
            position=len(guild.roles),
            managed=bot_id is not None,
            bot_id=bot_id,
        )
        return rid

    def add_member(
        self, guild_id: int, user_id: int, roles: Iterable[int] = (), nick: str | None = None
    ) -> None:
        self.guilds[guild_id].members[user_id] = {
            "roles": list(roles),
            "joined_at": p.iso(),
            "nick": nick,
        }

    def member_payload(
        self, guild_id: int, user_id: int, *, with_user: bool = True, perms_in: int | None = None
    ) -> Json:
        guild = self.guilds[guild_id]
        try:
            info = guild.members[user_id]
        except KeyError:
            raise _not_found(UNKNOWN_MEMBER, "Member") from None
        permissions = None
        if perms_in is not None:
            permissions = self.permissions(user_id, perms_in)
        return p.member(
            self.users[user_id] if with_user else None,
            roles=info["roles"],
            joined_at=info["joined_at"],
            nick=info["nick"],
            permissions=permissions,
        )

    # ----- channels

    def add_text_channel(
        self,
        guild_id: int,
        name: str,
        *,
        parent_id: int | None = None,
        overwrites: Sequence[Json] = (),
    ) -> int:
        guild = self.guilds[guild_id]
        cid = self.ids.next()
        self.channels[cid] = p.text_channel(
            cid,
            guild_id,
            name,
            position=len(guild.channel_ids),
            parent_id=parent_id,
            overwrites=overwrites,
        )
        guild.channel_ids.append(cid)
        self.channel_messages[cid] = []
        return cid

    def add_category(self, guild_id: int, name: str) -> int:
        guild = self.guilds[guild_id]
        cid = self.ids.next()
        self.channels[cid] = p.category_channel(
            cid, guild_id, name, position=len(guild.channel_ids)
        )
        guild.channel_ids.append(cid)
        return cid

    def add_thread(
        self,
        parent_id: int,
        name: str,
        owner_id: int,
        *,
        private: bool = False,
        thread_id: int | None = None,
        auto_archive_duration: int = 1440,
        invitable: bool = True,
    ) -> int:
        parent = self.channel(parent_id)
        guild_id = int(parent["guild_id"])
        tid = thread_id or self.ids.next()
        self.channels[tid] = p.thread_channel(
            tid,
            guild_id,
            parent_id,
            owner_id,
            name,
            private=private,
            auto_archive_duration=auto_archive_duration,
            invitable=invitable,
        )
        self.guilds[guild_id].channel_ids.append(tid)
        self.thread_members[tid] = {owner_id}
        self.channel_messages[tid] = []
        return tid

    def dm_channel_for(self, user_id: int) -> int:
        """The DM channel between the bot and ``user_id`` (made on first use, like Discord)."""
        if user_id not in self.dm_by_user:
            cid = self.ids.next()
            self.channels[cid] = p.dm_channel(cid, self.user(user_id))
            self.dm_by_user[user_id] = cid
            self.channel_messages[cid] = []
        return self.dm_by_user[user_id]

    def channel(self, channel_id: int) -> Json:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise _not_found(UNKNOWN_CHANNEL, "Channel") from None

    @staticmethod
    def is_thread(channel: Json) -> bool:
        return channel["type"] in ChannelType.THREADS

    @staticmethod
    def guild_id_of(channel: Json) -> int | None:
        gid = channel.get("guild_id")
        return int(gid) if gid else None

    # ----- permissions

    def base_permissions(self, guild_id: int, user_id: int) -> int:
        guild = self.guilds[guild_id]
        if user_id == guild.owner_id:
            return p.ALL_PERMISSIONS
        info = guild.members.get(user_id)
        if info is None:
            return 0
        perms = int(guild.roles[guild_id]["permissions"])
        for rid in info["roles"]:
            role = guild.roles.get(int(rid))
            if role is not None:
                perms |= int(role["permissions"])
        if perms & Perm.ADMINISTRATOR:
            return p.ALL_PERMISSIONS
        return perms

    def permissions(self, user_id: int, channel_id: int) -> int:
        """Discord's permission algorithm: base, then @everyone/role/member overwrites."""
        channel = self.channel(channel_id)
        guild_id = self.guild_id_of(channel)
        if guild_id is None:  # DMs
            return int(
                Perm.VIEW_CHANNEL
                | Perm.SEND_MESSAGES
                | Perm.EMBED_LINKS
                | Perm.ATTACH_FILES
                | Perm.READ_MESSAGE_HISTORY
                | Perm.ADD_REACTIONS
                | Perm.USE_EXTERNAL_EMOJIS
            )
        perms = self.base_permissions(guild_id, user_id)
        if perms == p.ALL_PERMISSIONS:
            return perms
        source = self.channel(int(channel["parent_id"])) if self.is_thread(channel) else channel
        overwrites = {int(o["id"]): o for o in source.get("permission_overwrites", [])}
        everyone = overwrites.get(guild_id)
        if everyone:
            perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
        info = self.guilds[guild_id].members.get(user_id, {"roles": []})
        allow = deny = 0
        for rid in info["roles"]:
            o = overwrites.get(int(rid))
            if o and o["type"] == 0:
                allow |= int(o["allow"])
                deny |= int(o["deny"])
        perms = (perms & ~deny) | allow
        mo = overwrites.get(user_id)
        if mo and mo["type"] == 1:
            perms = (perms & ~int(mo["deny"])) | int(mo["allow"])
        if not perms & Perm.VIEW_CHANNEL:
            return 0
        private = channel["type"] == ChannelType.PRIVATE_THREAD
        in_thread = user_id in self.thread_members.get(channel_id, set())
        if private and not in_thread and not perms & Perm.MANAGE_THREADS:
            return 0  # private threads are visible to members and thread managers only
        return perms

    def require(self, user_id: int, channel_id: int, needed: int) -> None:
        perms = self.permissions(user_id, channel_id)
        if not perms & Perm.VIEW_CHANNEL:
            raise ApiError(403, p.error_body(MISSING_ACCESS, "Missing Access"))
        if perms & needed != needed:
            raise ApiError(403, p.error_body(MISSING_PERMISSIONS, "Missing Permissions"))

    # ----- gateway payloads

    def guild_create(self, guild_id: int) -> Json:
        guild = self.guilds[guild_id]
        channels, threads = [], []
        for cid in guild.channel_ids:
            ch = self.channels[cid]
            if self.is_thread(ch):
                if not ch["thread_metadata"]["archived"]:
                    threads.append(copy.deepcopy(ch))
            else:
                channels.append({k: v for k, v in ch.items() if k != "guild_id"})
        members = [self.member_payload(guild_id, uid) for uid in guild.members]
        return p.guild(
            guild.id,
            guild.name,
            guild.owner_id,
            roles=list(guild.roles.values()),
            channels=channels,
            threads=threads,
            members=members,
            joined_at=guild.joined_at,
            system_channel_id=guild.system_channel_id,
        )

    def message(self, message_id: int, channel_id: int | None = None) -> Json:
        msg = self.messages.get(message_id)
        if msg is None or (channel_id is not None and int(msg["channel_id"]) != channel_id):
            raise _not_found(UNKNOWN_MESSAGE, "Message")
        return msg

    def store_message(self, msg: Json, meta: MessageMeta) -> None:
        mid = int(msg["id"])
        cid = int(msg["channel_id"])
        self.messages[mid] = msg
        self.meta[mid] = meta
        self.channel_messages.setdefault(cid, []).append(mid)
        channel = self.channels.get(cid)
        if channel is not None:
            channel["last_message_id"] = str(mid)
            if self.is_thread(channel) and msg["type"] not in (MessageType.THREAD_STARTER_MESSAGE,):
                channel["message_count"] = channel.get("message_count", 0) + 1
                channel["total_message_sent"] = channel.get("total_message_sent", 0) + 1


# =========================================================================== gateway sessions


@dataclass
class Connection:
    """One websocket connection to the gateway."""

    id: int
    ws: web.WebSocketResponse
    request: web.Request
    path: str
    query: dict[str, str]
    compress: bool
    opened_at: float
    session: GatewaySession | None = None
    last_heartbeat: float = 0.0
    heartbeats: int = 0
    closed: bool = False
    close_code: int | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _zlib: Any = None

    async def send_raw(self, raw: str) -> None:
        if self.closed or self.ws.closed:
            raise ConnectionResetError("gateway connection closed")
        if self.compress:
            if self._zlib is None:
                self._zlib = zlib.compressobj()
            data = self._zlib.compress(raw.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(raw)


@dataclass
class GatewaySession:
    """A gateway session: survives reconnects, numbers dispatches, keeps them for replay."""

    id: str
    intents: int
    shard: tuple[int, int]
    token: str
    seq: int = 0
    buffer: list[tuple[int, str]] = field(default_factory=list)
    connection: Connection | None = None
    invalidated: bool = False
    identified_at: float = 0.0
    resumes: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def wants(self, guild_id: int | None) -> bool:
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % count == shard_id


# =========================================================================== routing helpers


@dataclass
class Req:
    """A parsed REST request handed to route handlers."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    call: RestCall

    def body(self) -> Json:
        if not isinstance(self.json, dict):
            raise _form_error(
                "_", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
            )
        return self.json

    def snowflake(self, name: str) -> int:
        value = self.params[name]
        try:
            return int(value)
        except ValueError:
            raise _form_error(
                name, "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.'
            ) from None

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in {"1", "true"}


Handler = Callable[[Req], Awaitable[tuple[int, Any]]]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    regex: re.Pattern[str]
    bucket: str
    major: tuple[str, ...]


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", template)
    out = []
    for part in parts:
        if part.startswith("{"):
            out.append(f"(?P<{part[1:-1]}>[^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    hdrs = {"Via": "1.1 google"}
    if headers:
        hdrs.update(headers)
    if status == 204 or body is None:
        return web.Response(status=204 if status < 300 else status, headers=hdrs)
    hdrs["Content-Type"] = (
        "application/json"  # exactly this: discord.py compares the header verbatim
    )
    return web.Response(status=status, body=json.dumps(body).encode(), headers=hdrs)


MAJOR_PARAMS = (
    "channel_id",
    "guild_id",
    "webhook_id",
    "webhook_token",
    "interaction_id",
    "interaction_token",
)
NO_AUTH_PREFIXES = ("/webhooks/", "/interactions/")

# Which intent a dispatch needs, by event name (guild variant, DM variant).
EVENT_INTENTS: dict[str, tuple[int, int]] = {
    "GUILD_CREATE": (Intent.GUILDS, Intent.GUILDS),
    "GUILD_UPDATE": (Intent.GUILDS, Intent.GUILDS),
    "CHANNEL_CREATE": (Intent.GUILDS, Intent.GUILDS),
    "CHANNEL_UPDATE": (Intent.GUILDS, Intent.GUILDS),
    "CHANNEL_DELETE": (Intent.GUILDS, Intent.GUILDS),
    "THREAD_CREATE": (Intent.GUILDS, Intent.GUILDS),
    "THREAD_UPDATE": (Intent.GUILDS, Intent.GUILDS),
    "THREAD_DELETE": (Intent.GUILDS, Intent.GUILDS),
    "THREAD_MEMBER_UPDATE": (Intent.GUILDS, Intent.GUILDS),
    "THREAD_MEMBERS_UPDATE": (Intent.GUILDS, Intent.GUILDS),
    "GUILD_MEMBER_ADD": (Intent.GUILD_MEMBERS, Intent.GUILD_MEMBERS),
    "GUILD_MEMBER_UPDATE": (Intent.GUILD_MEMBERS, Intent.GUILD_MEMBERS),
    "MESSAGE_CREATE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_UPDATE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_DELETE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_REACTION_ADD": (Intent.GUILD_MESSAGE_REACTIONS, 1 << 13),
    "MESSAGE_REACTION_REMOVE": (Intent.GUILD_MESSAGE_REACTIONS, 1 << 13),
}
MENTION_USER = re.compile(r"<@!?(\d{15,21})>")
MENTION_ROLE = re.compile(r"<@&(\d{15,21})>")


class StandinServer:
    """Discord on loopback: an aiohttp app serving REST, the gateway and attachment files."""

    def __init__(self, config: StandinConfig | None = None) -> None:
        self.config = config or StandinConfig()
        self.world = World(self.config)
        self.rest_calls: list[RestCall] = []
        self.unknown_routes: list[RestCall] = []
        self.frames: list[GatewayFrame] = []
        self.faults: list[Fault] = []
        #: Attachment ids in the order their files were fetched from the CDN route.
        self.attachment_downloads: list[int] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[Connection] = []
        self.interactions: dict[int, InteractionRecord] = {}
        self.command_syncs: list[RestCall] = []
        self.identifies: list[str] = []
        self.resumes: list[str] = []
        self.gateway_closes: list[tuple[int, int | None, str]] = []  # (conn id, code, who)
        self.protocol_errors: list[str] = []
        self.internal_errors: list[str] = []
        self.in_flight = 0
        self.last_rest_activity = 0.0
        self._by_token: dict[str, InteractionRecord] = {}
        self._buckets: dict[str, tuple[float, int]] = {}
        self._route_limits: dict[tuple[str, str], tuple[int, float]] = {}
        self._routes: list[Route] = []
        self._version = 0
        self._changed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._conn_seq = 0
        self._call_seq = 0
        self._component_seq = 0
        self.port = self.config.port
        self._register_routes()

    # ------------------------------------------------------------------ lifecycle & urls

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be set to."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What ``GET /gateway/bot`` answers and ``DiscordWebSocket.DEFAULT_GATEWAY`` must be."""
        return f"ws://{self.config.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """READY's ``resume_gateway_url``: a distinct path, so tests see the client used it."""
        return f"ws://{self.config.host}:{self.port}/gateway/resume"

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway/resume", self._gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._attachment)
        app.router.add_get("/_standin/state", self._state_endpoint)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        return app

    async def start(self) -> None:
        """Bind to ``host:port`` (port 0 picks a free one) and serve."""
        self._changed = asyncio.Event()
        self._runner = web.AppRunner(self.make_app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, backlog=2048)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("stand-in listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close every gateway connection and the HTTP server."""
        for conn in list(self.connections):
            if not conn.closed:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"stand-in stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ change notification

    def _bump(self) -> None:
        self._version += 1
        if self._changed is not None:
            event, self._changed = self._changed, asyncio.Event()
            event.set()

    async def wait_until(
        self,
        predicate: Callable[[], Any],
        timeout: float,  # noqa: ASYNC109 - callers state their patience explicitly
        what: str = "condition",
    ) -> Any:
        """Wait (without polling) until ``predicate()`` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"stand-in: timed out after {timeout:.1f}s waiting for {what}")
            if self._changed is None:
                self._changed = asyncio.Event()
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.25))

    # ------------------------------------------------------------------ faults & limits

    def add_fault(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def set_rate_limit(self, method: str, template: str, limit: int, per: float) -> None:
        """Give one route (as templated in discord.py, e.g. ``/channels/{channel_id}/messages``) its own limit."""
        self._route_limits[(method.upper(), template)] = (limit, per)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.times -= 1
                return fault
        return None

    def _rate_limit(
        self, route: Route, params: dict[str, str]
    ) -> tuple[dict[str, str], float | None]:
        limit, per = self._route_limits.get((route.method, route.template), self.config.rate_limit)
        key = route.bucket + ":" + "+".join(params[m] for m in route.major if m in params)
        now = time.time()
        reset_at, used = self._buckets.get(key, (0.0, 0))
        if now >= reset_at:
            reset_at, used = now + per, 0
        used += 1
        self._buckets[key] = (reset_at, used)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(limit - used, 0)),
            "X-RateLimit-Reset": f"{reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{max(reset_at - now, 0.0):.3f}",
            "X-RateLimit-Bucket": route.bucket,
        }
        return headers, (reset_at - now if used > limit else None)

    @staticmethod
    def _ratelimit_429(retry_after: float, bucket: str, scope: str, global_: bool) -> web.Response:
        now = time.time()
        headers = {
            "X-RateLimit-Limit": "1" if global_ else "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{now + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": bucket,
            "X-RateLimit-Scope": scope,
            "Retry-After": str(max(1, math.ceil(retry_after))),
        }
        if global_:
            headers["X-RateLimit-Global"] = "true"
        return _json_response(429, p.rate_limited_body(retry_after, global_=global_), headers)

    # ------------------------------------------------------------------ REST plumbing

    def _route(self, method: str, template: str, handler: Handler) -> None:
        bucket = hashlib.sha1(f"{method} {template}".encode()).hexdigest()[:32]
        major = tuple(m for m in MAJOR_PARAMS if "{" + m + "}" in template)
        self._routes.append(Route(method, template, handler, _compile(template), bucket, major))

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        path_known = False
        for route in self._routes:
            m = route.regex.match(path)
            if m is None:
                continue
            path_known = True
            if route.method == method:
                return route, m.groupdict(), True
        return None, {}, path_known

    @staticmethod
    async def _parse_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            payload: Any = None
            files: list[UploadedFile] = []
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):  # nested multipart: not used by Discord
                    continue
                data = await part.read()
                if part.name == "payload_json":
                    payload = json.loads(data.decode())
                elif part.filename is not None or (part.name or "").startswith("files["):
                    files.append(
                        UploadedFile(
                            part.name or "",
                            part.filename or "file",
                            part.headers.get("Content-Type"),
                            bytes(data),
                        )
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            return raw.decode(errors="replace"), []

    async def _rest(self, request: web.Request) -> web.Response:
        received = time.monotonic()
        m = re.match(r"^/api(?:/v\d+)?(/.*)$", request.path)
        method = request.method.upper()
        sub = m.group(1) if m else request.path
        self._call_seq += 1
        route, params, path_known = self._match(method, sub) if m else (None, {}, False)
        call = RestCall(
            seq=self._call_seq,
            method=method,
            path=sub,
            route=route.template if route else None,
            params=params,
            query=dict(request.query),
            json=None,
            files=[],
            headers={
                k: v
                for k, v in request.headers.items()
                if k.lower()
                in {"authorization", "content-type", "user-agent", "x-audit-log-reason"}
            },
            received_at=received,
        )
        self.rest_calls.append(call)
        self.in_flight += 1
        self.last_rest_activity = received
        record = self._interaction_of(params)
        if record is not None:
            call.interaction_id = record.id
            record.calls.append(call)
            record.last_activity = received
            record.in_flight += 1
        headers: dict[str, str] = {}
        try:
            call.json, call.files = await self._parse_body(request)
            response = await self._serve(request, call, route, params, path_known, headers)
        except Exception as exc:  # a stand-in bug must show up in the test, not as a hang
            log.exception("stand-in: internal error on %s %s", method, sub)
            self.internal_errors.append(f"{method} {sub}: {exc!r}")
            call.status, call.fault = 500, "stand-in internal error"
            response = _json_response(500, p.error_body(0, f"stand-in internal error: {exc!r}"))
        finally:
            call.finished_at = time.monotonic()
            self.in_flight -= 1
            self.last_rest_activity = call.finished_at
            if record is not None:
                record.last_activity = call.finished_at
                record.in_flight -= 1
            self._bump()
        return response

    async def _serve(
        self,
        request: web.Request,
        call: RestCall,
        route: Route | None,
        params: dict[str, str],
        path_known: bool,
        headers: dict[str, str],
    ) -> web.Response:
        def answer(status: int, body: Any, extra: dict[str, str] | None = None) -> web.Response:
            call.status = 204 if (status < 300 and body is None) else status
            call.response = body
            return _json_response(status, body, {**headers, **(extra or {})})

        if route is None:
            self.unknown_routes.append(call)
            log.warning("stand-in: unknown route %s %s", call.method, call.path)
            if path_known:
                return answer(405, p.error_body(0, "405: Method Not Allowed"))
            return answer(404, p.error_body(0, "404: Not Found"))
        if not call.path.startswith(NO_AUTH_PREFIXES):
            auth = request.headers.get("Authorization", "")
            token = auth.removeprefix("Bot ").strip()
            if (
                not auth.startswith("Bot ")
                or not token
                or (self.config.token and token != self.config.token)
            ):
                return answer(401, p.error_body(0, "401: Unauthorized"))
        fault = self._take_fault(call.method, call.path)
        if fault is not None:
            fault.hits.append(call)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status == 429:
                call.fault = "429"
                call.status = 429
                call.response = p.rate_limited_body(fault.retry_after, global_=fault.global_)
                return self._ratelimit_429(
                    fault.retry_after, route.bucket, fault.scope, fault.global_
                )
            if fault.status is not None:
                call.fault = str(fault.status)
                body = fault.body or p.error_body(
                    0, f"{fault.status}: {web.Response(status=fault.status).reason}"
                )
                return answer(fault.status, body)
            call.fault = f"delay {fault.delay}s"
        rl_headers, limited = self._rate_limit(route, params)
        headers.update(rl_headers)
        if limited is not None:
            call.status = 429
            call.fault = "rate-limited"
            call.response = p.rate_limited_body(round(limited, 3))
            return self._ratelimit_429(round(limited, 3), route.bucket, "user", False)
        req = Req(call.method, call.path, params, call.query, call.json, call.files, call)
        try:
            status, body = await route.handler(req)
        except ApiError as exc:
            return answer(exc.status, exc.body)
        return answer(status, body)

    # ------------------------------------------------------------------ attachments & state

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        try:
            aid = int(request.match_info["attachment_id"])
            data = self.world.attachment_data[aid]
        except (KeyError, ValueError):
            return web.Response(status=404, text="Not Found")
        self.attachment_downloads.append(aid)
        serving = self.world.attachment_serving.get(aid)
        if serving is None or not (serving.chunk_delay or serving.chunked):
            return web.Response(body=data, content_type="application/octet-stream")
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        if serving.chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = len(data)
        await response.prepare(request)
        for start in range(0, len(data), 64 * 1024):
            if serving.chunk_delay:
                await asyncio.sleep(serving.chunk_delay)
            await response.write(data[start : start + 64 * 1024])
        await response.write_eof()
        return response

    async def _state_endpoint(self, request: web.Request) -> web.Response:
        return web.json_response(self.summary())

    def summary(self) -> Json:
        """Counts a person (or the load benchmark) can read at a glance."""
        records = list(self.interactions.values())
        return {
            "api_base": self.api_base,
            "gateway_url": self.gateway_url,
            "rest_calls": len(self.rest_calls),
            "unknown_routes": [f"{c.method} {c.path}" for c in self.unknown_routes],
            "sessions": len(self.sessions),
            "identifies": len(self.identifies),
            "resumes": len(self.resumes),
            "interactions": len(records),
            "acked": sum(1 for r in records if r.acked),
            "late_acks": sum(1 for r in records if r.late),
            "double_acks": sum(r.double_acks for r in records),
            "command_syncs": len(self.command_syncs),
        }

    # ------------------------------------------------------------------ interactions lookup

    def _interaction_of(self, params: dict[str, str]) -> InteractionRecord | None:
        token = params.get("interaction_token") or params.get("webhook_token")
        return self._by_token.get(token) if token else None

    def _webhook_interaction(self, req: Req) -> InteractionRecord:
        """Interaction behind ``/webhooks/{application.id}/{interaction.token}`` (Discord: Unknown Webhook)."""
        record = self._by_token.get(req.params["webhook_token"])
        if (
            record is None
            or req.params["webhook_id"] != str(self.world.application_id)
            or not record.acked
        ):
            raise _not_found(UNKNOWN_WEBHOOK, "Webhook")
        return record

    # ------------------------------------------------------------------ gateway

    @property
    def heartbeat_timeout(self) -> float:
        if self.config.heartbeat_timeout is not None:
            return self.config.heartbeat_timeout
        return 3 * self.config.heartbeat_interval_ms / 1000 + 5.0

    def _record_frame(self, direction: str, conn: Connection, raw: str) -> None:
        session_id = conn.session.id if conn.session else None
        self.frames.append(GatewayFrame(direction, conn.id, session_id, raw, time.monotonic()))

    async def _send_frame(self, conn: Connection, raw: str) -> None:
        async with conn.lock:
            await conn.send_raw(raw)
            self._record_frame("send", conn, raw)
        self._bump()

    async def _send_op(self, conn: Connection, op: int, d: Any) -> None:
        await self._send_frame(conn, json.dumps({"op": op, "d": d, "s": None, "t": None}))

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        """Close a connection with a close frame (Discord's 4xxx codes) and note who closed it."""
        if conn.closed:
            return
        self.gateway_closes.append((conn.id, code, "server"))
        conn.closed = True
        with contextlib.suppress(Exception):
            await conn.ws.close(code=code, message=reason.encode())
        self._bump()

    def _abort(self, conn: Connection) -> None:
        """Drop the TCP connection without a close frame: the client sees 1006."""
        if conn.closed:
            return
        self.gateway_closes.append((conn.id, 1006, "server"))
        conn.closed = True
        transport = conn.request.transport
        if transport is not None:
            transport.abort()
        self._bump()

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        self._conn_seq += 1
        query = dict(request.query)
        conn = Connection(
            id=self._conn_seq,
            ws=ws,
            request=request,
            path=request.path,
            query=query,
            compress=self.config.compress and query.get("compress") == "zlib-stream",
            opened_at=time.monotonic(),
            last_heartbeat=time.monotonic(),
        )
        self.connections.append(conn)
        watchdog = asyncio.create_task(self._watch_heartbeats(conn))
        try:
            if query.get("v", "10") != "10":
                await self._close(conn, 4012, "Invalid API version.")
                return ws
            if query.get("encoding", "json") != "json":
                await self._close(conn, 4002, "Error while decoding payload.")
                return ws
            await self._send_op(
                conn,
                10,
                {
                    "heartbeat_interval": self.config.heartbeat_interval_ms,
                    "_trace": ['["standin-gateway",{"micros":0}]'],
                },
            )
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    raw = msg.data
                elif msg.type is WSMsgType.BINARY:
                    raw = msg.data.decode("utf-8", errors="replace")
                else:
                    continue
                self._record_frame("recv", conn, raw)
                self._bump()
                try:
                    frame = json.loads(raw)
                except ValueError:
                    self.protocol_errors.append(f"conn {conn.id}: undecodable frame")
                    await self._close(conn, 4002, "Error while decoding payload.")
                    break
                await self._handle_op(conn, frame)
                if conn.closed:
                    break
        except (ConnectionResetError, RuntimeError) as exc:
            log.debug("gateway connection %s ended: %r", conn.id, exc)
        finally:
            watchdog.cancel()
            if not conn.closed:
                conn.closed = True
                self.gateway_closes.append((conn.id, ws.close_code, "client"))
                session = conn.session
                # A client closing with 1000/1001 ends its session; any other code keeps it resumable.
                if session is not None and ws.close_code in (1000, 1001):
                    session.invalidated = True
            conn.close_code = ws.close_code
            if conn.session is not None and conn.session.connection is conn:
                conn.session.connection = None
            self._bump()
        return ws

    async def _watch_heartbeats(self, conn: Connection) -> None:
        """Close zombie connections like Discord does when heartbeats stop arriving."""
        timeout = self.heartbeat_timeout
        while not conn.closed:
            await asyncio.sleep(min(timeout / 4, 1.0))
            if time.monotonic() - conn.last_heartbeat > timeout and not conn.closed:
                self.protocol_errors.append(f"conn {conn.id}: no heartbeat for {timeout:.1f}s")
                await self._close(conn, 4009, "Session timed out.")

    async def _handle_op(self, conn: Connection, frame: Json) -> None:
        op, d = frame.get("op"), frame.get("d")
        if op == 1:
            conn.last_heartbeat = time.monotonic()
            conn.heartbeats += 1
            await self._send_op(conn, 11, None)
        elif op == 2:
            await self._identify(conn, d or {})
        elif op == 6:
            await self._resume(conn, d or {})
        elif conn.session is None:
            self.protocol_errors.append(f"conn {conn.id}: op {op} before IDENTIFY")
            await self._close(conn, 4003, "Not authenticated.")
        elif op == 3:
            pass  # presence update: recorded as a frame, nothing to change
        elif op == 4:
            pass  # voice state: the stand-in has no voice
        elif op == 8:
            await self._request_members(conn, d or {})
        else:
            self.protocol_errors.append(f"conn {conn.id}: unknown op {op}")
            await self._close(conn, 4001, "Unknown opcode.")

    def _token_ok(self, token: Any) -> bool:
        if not isinstance(token, str) or not token:
            return False
        token = token.removeprefix("Bot ")
        return self.config.token is None or token == self.config.token

    def _enabled_privileged(self) -> int:
        enabled = 0
        if self.config.message_content_enabled:
            enabled |= Intent.MESSAGE_CONTENT
        if self.config.members_intent_enabled:
            enabled |= Intent.GUILD_MEMBERS
        if self.config.presence_intent_enabled:
            enabled |= Intent.GUILD_PRESENCES
        return enabled

    def application_flags(self) -> int:
        flags = p.AppFlag.APPLICATION_COMMAND_BADGE
        if self.config.message_content_enabled:
            flags |= p.AppFlag.GATEWAY_MESSAGE_CONTENT
        if self.config.members_intent_enabled:
            flags |= p.AppFlag.GATEWAY_GUILD_MEMBERS
        if self.config.presence_intent_enabled:
            flags |= p.AppFlag.GATEWAY_PRESENCE
        return flags

    async def _identify(self, conn: Connection, d: Json) -> None:
        if conn.session is not None:
            self.protocol_errors.append(f"conn {conn.id}: second IDENTIFY")
            await self._close(conn, 4005, "Already authenticated.")
            return
        if not self._token_ok(d.get("token")):
            await self._close(conn, 4004, "Authentication failed.")
            return
        intents = d.get("intents")
        if not isinstance(intents, int):
            await self._close(conn, 4013, "Invalid intent(s).")
            return
        if intents & p.PRIVILEGED_INTENTS & ~self._enabled_privileged():
            await self._close(conn, 4014, "Disallowed intent(s).")
            return
        shard = d.get("shard") or [0, 1]
        if len(shard) != 2 or not 0 <= shard[0] < shard[1]:
            await self._close(conn, 4010, "Invalid shard.")
            return
        session = GatewaySession(
            id=secrets.token_hex(16),
            intents=intents,
            shard=(shard[0], shard[1]),
            token=d["token"],
            identified_at=time.monotonic(),
        )
        self.sessions[session.id] = session
        guild_ids = [gid for gid in self.world.guilds if session.wants(gid)]
        ready: Json = {
            "v": 10,
            "user_settings": {},
            "user": p.current_user(self.world.bot_user),
            "guilds": [{"id": str(gid), "unavailable": True} for gid in guild_ids],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {
                "id": str(self.world.application_id),
                "flags": self.application_flags(),
            },
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["standin"],
            "auth": {},
            "_trace": ['["standin-gateway",{"micros":0}]'],
        }
        if d.get("shard"):
            ready["shard"] = list(shard)
        async with session.lock:
            session.connection = conn
            conn.session = session
            await self._dispatch_locked(session, "READY", ready)
            if intents & Intent.GUILDS:
                for gid in guild_ids:
                    guild = self.world.guild_create(gid)
                    if not intents & Intent.GUILD_MEMBERS:
                        # Without the members intent Discord lists only the bot itself.
                        bot = str(self.world.bot_id)
                        guild["members"] = [m for m in guild["members"] if m["user"]["id"] == bot]
                    await self._dispatch_locked(session, "GUILD_CREATE", guild)
        self.identifies.append(session.id)
        self._bump()

    async def _resume(self, conn: Connection, d: Json) -> None:
        session = self.sessions.get(str(d.get("session_id")))
        seq = d.get("seq")
        if (
            session is None
            or session.invalidated
            or not self._token_ok(d.get("token"))
            or (isinstance(seq, int) and seq > session.seq)
        ):
            await self._send_op(conn, 9, False)
            return
        async with session.lock:
            first_kept = session.buffer[0][0] if session.buffer else session.seq + 1
            if isinstance(seq, int) and seq + 1 < first_kept:
                # Missed more than the replay buffer holds: Discord can't resume this session.
                session.invalidated = True
                await self._send_op(conn, 9, False)
                return
            old = session.connection
            if old is not None and old is not conn:
                await self._close(old, 4000, "Session resumed elsewhere.")
            session.connection = conn
            conn.session = session
            since = seq if isinstance(seq, int) else 0
            for s, raw in session.buffer:
                if s > since:
                    await self._send_frame(conn, raw)
            session.resumes += 1
            await self._dispatch_locked(
                session, "RESUMED", {"_trace": ['["standin-gateway",{"micros":0}]']}
            )
        self.resumes.append(session.id)
        self._bump()

    async def _request_members(self, conn: Connection, d: Json) -> None:
        assert conn.session is not None
        gid = int(d.get("guild_id", 0))
        guild = self.world.guilds.get(gid)
        if guild is None:
            return
        wanted = {int(u) for u in d.get("user_ids") or []}
        query = (d.get("query") or "").lower()
        members = [
            self.world.member_payload(gid, uid)
            for uid in guild.members
            if (not wanted or uid in wanted)
            and self.world.users[uid]["username"].lower().startswith(query)
        ]
        limit = d.get("limit") or 0
        if limit:
            members = members[:limit]
        chunk: Json = {"guild_id": str(gid), "members": members, "chunk_index": 0, "chunk_count": 1}
        if d.get("nonce"):
            chunk["nonce"] = d["nonce"]
        async with conn.session.lock:
            await self._dispatch_locked(conn.session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _dispatch_locked(self, session: GatewaySession, event: str, data: Any) -> None:
        session.seq += 1
        raw = json.dumps({"op": 0, "t": event, "s": session.seq, "d": data})
        session.buffer.append((session.seq, raw))
        if len(session.buffer) > self.config.replay_buffer:
            del session.buffer[: len(session.buffer) - self.config.replay_buffer]
        conn = session.connection
        if conn is not None and not conn.closed:
            # On failure the frame stays in the buffer; a RESUME replays it.
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await self._send_frame(conn, raw)

    def _intent_allows(self, session: GatewaySession, event: str, guild_id: int | None) -> bool:
        needed = EVENT_INTENTS.get(event)
        if needed is None:
            return True
        return bool(session.intents & needed[0 if guild_id is not None else 1])

    def _strip_content(self, data: Json) -> Json:
        stripped = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        stripped.pop("poll", None)
        if data.get("referenced_message"):
            stripped["referenced_message"] = self._strip_content_for(data["referenced_message"])
        return stripped

    def _strip_content_for(self, msg: Json) -> Json:
        bot = str(self.world.bot_id)
        if msg.get("author", {}).get("id") == bot or any(
            u.get("id") == bot for u in msg.get("mentions", [])
        ):
            return msg
        return self._strip_content(msg)

    async def dispatch(self, event: str, data: Json, *, guild_id: int | None = None) -> None:
        """Send a dispatch to every live session that would get it (intents, shard), numbering it."""
        for session in list(self.sessions.values()):
            if session.invalidated or not session.wants(guild_id):
                continue
            if not self._intent_allows(session, event, guild_id):
                continue
            payload = data
            if (
                event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
                and guild_id is not None
                and not session.intents & Intent.MESSAGE_CONTENT
            ):
                payload = self._strip_content_for(data)
            async with session.lock:
                await self._dispatch_locked(session, event, payload)

    # ------------------------------------------------------------------ gateway controls

    def live_connections(self) -> list[Connection]:
        return [
            c
            for c in self.connections
            if not c.closed and c.session is not None and not c.session.invalidated
        ]

    async def drop_connections(self, code: int = 1006) -> int:
        """Abruptly drop (1006) or close with ``code`` every identified connection."""
        conns = self.live_connections()
        for conn in conns:
            if code == 1006:
                self._abort(conn)
            else:
                await self._close(conn, code, "stand-in closed the connection")
        return len(conns)

    async def send_reconnect(self) -> int:
        """Send op 7 RECONNECT on every identified connection."""
        conns = self.live_connections()
        for conn in conns:
            await self._send_op(conn, 7, None)
        return len(conns)

    async def invalidate_sessions(self, resumable: bool) -> int:
        """Send op 9 INVALID_SESSION; when not resumable the session is gone for good."""
        conns = self.live_connections()
        for conn in conns:
            if not resumable and conn.session is not None:
                conn.session.invalidated = True
            await self._send_op(conn, 9, resumable)
        return len(conns)

    # ------------------------------------------------------------------ routes

    def _register_routes(self) -> None:
        r = self._route
        r("GET", "/users/@me", self.h_me)
        r("POST", "/users/@me/channels", self.h_create_dm)
        r("GET", "/users/{user_id}", self.h_user)
        r("GET", "/oauth2/applications/@me", self.h_application)
        r("GET", "/applications/@me", self.h_application)
        r("GET", "/gateway", self.h_gateway)
        r("GET", "/gateway/bot", self.h_gateway_bot)
        r("GET", "/applications/{application_id}/commands", self.h_get_commands)
        r("PUT", "/applications/{application_id}/commands", self.h_put_commands)
        r("POST", "/applications/{application_id}/commands", self.h_post_command)
        r(
            "GET",
            "/applications/{application_id}/guilds/{guild_id}/commands/permissions",
            self.h_command_permissions,
        )
        r("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self.h_get_commands)
        r("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self.h_put_commands)
        r("POST", "/applications/{application_id}/guilds/{guild_id}/commands", self.h_post_command)
        r("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self.h_callback)
        r("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", self.h_get_original)
        r(
            "PATCH",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            self.h_edit_original,
        )
        r(
            "DELETE",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            self.h_delete_original,
        )
        r(
            "GET",
            "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
            self.h_get_webhook_message,
        )
        r(
            "PATCH",
            "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
            self.h_edit_webhook_message,
        )
        r(
            "DELETE",
            "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
            self.h_delete_webhook_message,
        )
        r("POST", "/webhooks/{webhook_id}/{webhook_token}", self.h_followup)
        r("GET", "/channels/{channel_id}", self.h_get_channel)
        r("PATCH", "/channels/{channel_id}", self.h_edit_channel)
        r("GET", "/channels/{channel_id}/messages", self.h_history)
        r("POST", "/channels/{channel_id}/messages", self.h_send_message)
        r("GET", "/channels/{channel_id}/messages/{message_id}", self.h_get_message)
        r("PATCH", "/channels/{channel_id}/messages/{message_id}", self.h_edit_message)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}", self.h_delete_message)
        r("POST", "/channels/{channel_id}/typing", self.h_typing)
        r("POST", "/channels/{channel_id}/threads", self.h_create_thread)
        r(
            "POST",
            "/channels/{channel_id}/messages/{message_id}/threads",
            self.h_create_thread_from_message,
        )
        r("PUT", "/channels/{channel_id}/thread-members/@me", self.h_join_thread)
        r("DELETE", "/channels/{channel_id}/thread-members/@me", self.h_leave_thread)
        r("GET", "/channels/{channel_id}/thread-members/{user_id}", self.h_get_thread_member)
        r("PUT", "/channels/{channel_id}/thread-members/{user_id}", self.h_add_thread_member)
        r("DELETE", "/channels/{channel_id}/thread-members/{user_id}", self.h_remove_thread_member)
        r(
            "PUT",
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
            self.h_add_reaction,
        )
        r(
            "DELETE",
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
            self.h_remove_reaction,
        )
        r("GET", "/guilds/{guild_id}", self.h_get_guild)
        r("GET", "/guilds/{guild_id}/channels", self.h_guild_channels)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self.h_get_member)
        r("GET", "/guilds/{guild_id}/threads/active", self.h_active_threads)

    # ----- users, application, gateway

    async def h_me(self, req: Req) -> tuple[int, Any]:
        return 200, p.current_user(self.world.bot_user)

    async def h_user(self, req: Req) -> tuple[int, Any]:
        return 200, self.world.user(req.snowflake("user_id"))

    async def h_create_dm(self, req: Req) -> tuple[int, Any]:
        recipient = int(req.body().get("recipient_id", 0))
        self.world.user(recipient)
        return 200, self.world.channels[self.world.dm_channel_for(recipient)]

    async def h_application(self, req: Req) -> tuple[int, Any]:
        w = self.world
        return 200, p.application(
            w.application_id,
            self.config.bot_name,
            w.users[w.owner_id],
            w.bot_user,
            flags=self.application_flags(),
        )

    async def h_gateway(self, req: Req) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def h_gateway_bot(self, req: Req) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    # ----- application commands

    def _check_app(self, req: Req) -> int | None:
        if req.params["application_id"] != str(self.world.application_id):
            raise ApiError(403, p.error_body(50001, "Missing Access"))
        gid = req.params.get("guild_id")
        if gid is None:
            return None
        guild_id = req.snowflake("guild_id")
        if guild_id not in self.world.guilds:
            raise ApiError(403, p.error_body(50001, "Missing Access"))
        return guild_id

    async def h_get_commands(self, req: Req) -> tuple[int, Any]:
        return 200, self.world.commands.get(self._check_app(req), [])

    async def h_command_permissions(self, req: Req) -> tuple[int, Any]:
        self._check_app(req)
        return 200, []

    def _validate_command(self, cmd: Json, index: int) -> None:
        path = f"{index}"
        if not isinstance(cmd, dict):
            raise _form_error(
                path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
            )
        ctype = cmd.get("type", 1)
        name = cmd.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            raise _form_error(
                f"{path}.name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."
            )
        if ctype == 1:
            if name != name.lower() or not re.fullmatch(r"[-_\w]{1,32}", name):
                raise _form_error(
                    f"{path}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
                )
            desc = cmd.get("description")
            if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
                raise _form_error(
                    f"{path}.description",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
        self._validate_options(cmd.get("options") or [], f"{path}.options", depth=0)

    def _validate_options(self, options: list[Json], path: str, depth: int) -> None:
        if len(options) > 25:
            raise _form_error(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        seen_optional = False
        names: set[str] = set()
        for i, opt in enumerate(options):
            opath = f"{path}.{i}"
            name, otype = opt.get("name"), opt.get("type")
            if (
                not isinstance(name, str)
                or not re.fullmatch(r"[-_\w]{1,32}", name)
                or name != name.lower()
            ):
                raise _form_error(
                    f"{opath}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
                )
            if name in names:
                raise _form_error(
                    f"{opath}.name",
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    "Option names must be unique",
                )
            names.add(name)
            desc = opt.get("description")
            if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
                raise _form_error(
                    f"{opath}.description",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            if otype not in range(1, 12):
                raise _form_error(
                    f"{opath}.type", "BASE_TYPE_CHOICES", "Value must be one of (1..11)."
                )
            if otype in (1, 2):
                if depth >= (1 if otype == 2 else 2) or (otype == 2 and depth > 0):
                    raise _form_error(
                        opath,
                        "APPLICATION_COMMAND_OPTION_INVALID_SUBCOMMAND_NESTING",
                        "Sub-command groups cannot be nested",
                    )
                self._validate_options(opt.get("options") or [], f"{opath}.options", depth + 1)
                continue
            if opt.get("required"):
                if seen_optional:
                    raise _form_error(
                        opath,
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                seen_optional = True
            choices = opt.get("choices") or []
            if len(choices) > 25:
                raise _form_error(
                    f"{opath}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            if choices and opt.get("autocomplete"):
                raise _form_error(
                    f"{opath}.autocomplete",
                    "APPLICATION_COMMAND_OPTION_CHOICES_AUTOCOMPLETE",
                    "Autocomplete cannot be set if there are choices present.",
                )

    def _stored_command(
        self, cmd: Json, guild_id: int | None, existing: dict[tuple[str, int], Json]
    ) -> Json:
        ctype = cmd.get("type", 1)
        old = existing.get((cmd["name"], ctype))
        stored: Json = {
            "id": old["id"] if old else str(self.world.ids.next()),
            "application_id": str(self.world.application_id),
            "version": str(self.world.ids.next()),
            "type": ctype,
            "name": cmd["name"],
            "name_localizations": cmd.get("name_localizations"),
            "description": cmd.get("description", ""),
            "description_localizations": cmd.get("description_localizations"),
            "default_member_permissions": cmd.get("default_member_permissions"),
            "dm_permission": cmd.get("dm_permission", True),
            "contexts": cmd.get("contexts"),
            "integration_types": cmd.get("integration_types", [0]),
            "nsfw": cmd.get("nsfw", False),
        }
        if cmd.get("options"):
            stored["options"] = copy.deepcopy(cmd["options"])
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    async def h_put_commands(self, req: Req) -> tuple[int, Any]:
        guild_id = self._check_app(req)
        body = req.json
        if not isinstance(body, list):
            raise _form_error("_", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        if len(body) > 100:
            raise _form_error("_", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        seen: set[tuple[str, int]] = set()
        for i, cmd in enumerate(body):
            self._validate_command(cmd, i)
            key = (cmd["name"], cmd.get("type", 1))
            if key in seen:
                raise _form_error(
                    f"{i}.name",
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique (name {cmd['name']})",
                )
            seen.add(key)
        existing = {(c["name"], c["type"]): c for c in self.world.commands.get(guild_id, [])}
        self.world.commands[guild_id] = [self._stored_command(c, guild_id, existing) for c in body]
        self.command_syncs.append(req.call)
        return 200, self.world.commands[guild_id]

    async def h_post_command(self, req: Req) -> tuple[int, Any]:
        guild_id = self._check_app(req)
        cmd = req.body()
        self._validate_command(cmd, 0)
        current = self.world.commands.setdefault(guild_id, [])
        existing = {(c["name"], c["type"]): c for c in current}
        stored = self._stored_command(cmd, guild_id, existing)
        current[:] = [c for c in current if c["id"] != stored["id"]] + [stored]
        self.command_syncs.append(req.call)
        return (200 if (cmd["name"], cmd.get("type", 1)) in existing else 201), stored

    # ----- message validation & creation

    def _validate_message(
        self, body: Json, files: Sequence[UploadedFile], *, creating: bool, prefix: str = ""
    ) -> None:
        """Discord's checks on a message body (limits from the message, embed, component docs)."""

        def err(path: str, code: str, message: str) -> ApiError:
            return _form_error(prefix + path, code, message)

        content = body.get("content")
        if content is not None and not isinstance(content, str):
            raise err("content", "STRING_TYPE_CONVERT", "Could not interpret value as string.")
        if content and len(content) > 2000:
            raise err("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        flags = int(body.get("flags") or 0)
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            raise err("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        total = 0
        for i, embed in enumerate(embeds):
            limits = {"title": 256, "description": 4096}
            for key, limit in limits.items():
                value = embed.get(key) or ""
                if len(value) > limit:
                    raise err(
                        f"embeds.{i}.{key}",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {limit} or fewer in length.",
                    )
                total += len(value)
            fields = embed.get("fields") or []
            if len(fields) > 25:
                raise err(
                    f"embeds.{i}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            for j, fld in enumerate(fields):
                for key, limit in (("name", 256), ("value", 1024)):
                    value = fld.get(key)
                    if not value or not str(value).strip():
                        raise err(
                            f"embeds.{i}.fields.{j}.{key}",
                            "BASE_TYPE_REQUIRED",
                            "This field is required",
                        )
                    if len(str(value)) > limit:
                        raise err(
                            f"embeds.{i}.fields.{j}.{key}",
                            "BASE_TYPE_MAX_LENGTH",
                            f"Must be {limit} or fewer in length.",
                        )
                    total += len(str(value))
            footer = (embed.get("footer") or {}).get("text") or ""
            author = (embed.get("author") or {}).get("name") or ""
            if len(footer) > 2048:
                raise err(
                    f"embeds.{i}.footer.text",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 2048 or fewer in length.",
                )
            if len(author) > 256:
                raise err(
                    f"embeds.{i}.author.name",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 256 or fewer in length.",
                )
            total += len(footer) + len(author)
        if total > 6000:
            raise err(
                "embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
            )
        components = body.get("components") or []
        if flags & MessageFlag.IS_COMPONENTS_V2:
            if content or embeds:
                raise err(
                    "content",
                    "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                    "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2",
                )
        else:
            self._validate_action_rows(components, err)
        allowed = body.get("allowed_mentions")
        if isinstance(allowed, dict):
            parse = allowed.get("parse") or []
            for kind in ("users", "roles"):
                if kind in parse and allowed.get(kind):
                    raise err(
                        f"allowed_mentions.{kind}",
                        "ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                        f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                    )
        if creating:
            has_body = (
                bool((content or "").strip())
                or embeds
                or files
                or components
                or body.get("sticker_ids")
                or body.get("poll")
            )
            if not has_body:
                raise ApiError(
                    400, p.error_body(CANNOT_SEND_EMPTY_MESSAGE, "Cannot send an empty message")
                )

    @staticmethod
    def _validate_action_rows(
        components: list[Json], err: Callable[[str, str, str], ApiError]
    ) -> None:
        if len(components) > 5:
            raise err("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
        custom_ids: set[str] = set()
        for i, row in enumerate(components):
            if row.get("type") != 1:
                raise err(
                    f"components.{i}.type",
                    "UNION_TYPE_CHOICES",
                    'Value of field "type" must be one of (1,).',
                )
            children = row.get("components") or []
            if not 1 <= len(children) <= 5:
                raise err(
                    f"components.{i}.components",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 5 in length.",
                )
            for j, child in enumerate(children):
                path = f"components.{i}.components.{j}"
                if child.get("type") == 2:
                    if len(child.get("label") or "") > 80:
                        raise err(
                            f"{path}.label",
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 80 or fewer in length.",
                        )
                    if child.get("style") == 5:
                        if not child.get("url"):
                            raise err(f"{path}.url", "BASE_TYPE_REQUIRED", "This field is required")
                        continue
                    if child.get("style") == 6:
                        continue
                    cid = child.get("custom_id")
                    if not cid:
                        raise err(
                            f"{path}.custom_id", "BASE_TYPE_REQUIRED", "This field is required"
                        )
                elif child.get("type") in (3, 5, 6, 7, 8):
                    if len(children) != 1:
                        raise err(
                            f"components.{i}.components",
                            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                            "The specified component exceeds the maximum width",
                        )
                    if len(child.get("options") or []) > 25:
                        raise err(
                            f"{path}.options",
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 25 or fewer in length.",
                        )
                    cid = child.get("custom_id")
                else:
                    raise err(f"{path}.type", "UNION_TYPE_CHOICES", "Invalid component type")
                if cid is not None:
                    if len(cid) > 100:
                        raise err(
                            f"{path}.custom_id",
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 100 or fewer in length.",
                        )
                    if cid in custom_ids:
                        raise err(
                            f"{path}.custom_id",
                            "COMPONENT_CUSTOM_ID_DUPLICATED",
                            "Component custom id cannot be duplicated",
                        )
                    custom_ids.add(cid)

    def _number_components(self, components: list[Json]) -> list[Json]:
        """Give components the numeric ``id`` Discord assigns when the app leaves it out."""
        out = copy.deepcopy(components)

        def walk(items: list[Json]) -> None:
            for item in items:
                if "id" not in item:
                    self._component_seq += 1
                    item["id"] = self._component_seq
                for key in ("components", "items"):
                    if isinstance(item.get(key), list):
                        walk(item[key])
                for key in ("accessory", "component"):
                    if isinstance(item.get(key), dict):
                        walk([item[key]])

        walk(out)
        return out

    def _attachments(
        self,
        channel_id: int,
        body: Json,
        files: Sequence[UploadedFile],
        keep: Sequence[Json] = (),
        ephemeral: bool = False,
    ) -> list[Json]:
        described = {
            str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)
        }
        out = list(keep)
        for index, f in enumerate(files):
            m = re.match(r"files\[(\d+)\]", f.field)
            key = m.group(1) if m else str(index)
            desc = described.get(key, {})
            aid = self.world.ids.next()
            self.world.attachment_data[aid] = f.data
            filename = desc.get("filename") or f.filename
            url = f"{self.base_url}/attachments/{channel_id}/{aid}/{filename}"
            out.append(
                p.attachment(
                    aid,
                    filename,
                    size=len(f.data),
                    url=url,
                    content_type=f.content_type,
                    description=desc.get("description"),
                    ephemeral=ephemeral,
                )
            )
        return out

    def _mentions(
        self, content: str, guild_id: int | None, allowed: Json | None, replied_author: int | None
    ) -> tuple[list[int], list[int], bool]:
        """Who actually gets pinged: mentions parsed from content, filtered by allowed_mentions."""
        users = [int(u) for u in MENTION_USER.findall(content) if int(u) in self.world.users]
        roles = [int(r) for r in MENTION_ROLE.findall(content)]
        everyone = "@everyone" in content or "@here" in content
        if guild_id is not None:
            roles = [r for r in roles if r in self.world.guilds[guild_id].roles]
        else:
            roles, everyone = [], False
        if allowed is None:
            if replied_author is not None:
                users.append(replied_author)
        else:
            parse = set(allowed.get("parse") or [])
            if "users" not in parse:
                allowed_users = {int(u) for u in allowed.get("users") or []}
                users = [u for u in users if u in allowed_users]
            if "roles" not in parse:
                allowed_roles = {int(r) for r in allowed.get("roles") or []}
                roles = [r for r in roles if r in allowed_roles]
            everyone = everyone and "everyone" in parse
            if allowed.get("replied_user") and replied_author is not None:
                users.append(replied_author)
        return list(dict.fromkeys(users)), list(dict.fromkeys(roles)), everyone

    def _mention_payloads(self, user_ids: Iterable[int], guild_id: int | None) -> list[Json]:
        out = []
        for uid in user_ids:
            entry = dict(self.world.users[uid])
            if guild_id is not None and uid in self.world.guilds[guild_id].members:
                entry["member"] = self.world.member_payload(guild_id, uid, with_user=False)
            out.append(entry)
        return out

    def build_message(
        self,
        *,
        channel_id: int,
        author_id: int,
        body: Json,
        files: Sequence[UploadedFile] = (),
        call: RestCall | None = None,
        interaction: InteractionRecord | None = None,
        message_type: int | None = None,
        extra_flags: int = 0,
    ) -> tuple[Json, MessageMeta]:
        """Make (but do not store) a message as Discord would from a create-message body."""
        world = self.world
        channel = world.channel(channel_id)
        guild_id = world.guild_id_of(channel)
        content = body.get("content") or ""
        flags = (int(body.get("flags") or 0) & ~MessageFlag.LOADING) | extra_flags
        if interaction is None:
            flags &= ~MessageFlag.EPHEMERAL
        ephemeral = bool(flags & MessageFlag.EPHEMERAL)
        ref_payload = body.get("message_reference")
        reference = referenced = None
        replied_author = None
        mtype = message_type if message_type is not None else MessageType.DEFAULT
        if isinstance(ref_payload, dict) and ref_payload.get("message_id"):
            target = world.messages.get(int(ref_payload["message_id"]))
            if target is None or (
                ref_payload.get("channel_id")
                and int(ref_payload["channel_id"]) != int(target["channel_id"])
            ):
                if ref_payload.get("fail_if_not_exists", True):
                    raise _form_error(
                        "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                    )
            else:
                reference = p.message_reference(
                    int(target["id"]),
                    int(target["channel_id"]),
                    world.guild_id_of(world.channel(int(target["channel_id"]))),
                )
                referenced = copy.deepcopy(target)
                referenced.pop("referenced_message", None)
                replied_author = int(target["author"]["id"])
                if message_type is None:
                    mtype = MessageType.REPLY
        allowed = (
            body.get("allowed_mentions") if isinstance(body.get("allowed_mentions"), dict) else None
        )
        users, roles, everyone = self._mentions(content, guild_id, allowed, replied_author)
        mid = world.ids.next()
        embeds = [{"type": "rich", **e} for e in body.get("embeds") or []]
        msg = p.message(
            mid,
            channel_id,
            world.users[author_id],
            content,
            guild_id=guild_id,
            member=(
                world.member_payload(guild_id, author_id, with_user=False)
                if guild_id is not None and author_id in world.guilds[guild_id].members
                else None
            ),
            embeds=embeds,
            components=self._number_components(body.get("components") or []),
            attachments=self._attachments(channel_id, body, files, ephemeral=ephemeral),
            mentions=self._mention_payloads(users, guild_id),
            mention_roles=roles,
            mention_everyone=everyone,
            flags=flags,
            type=mtype,
            message_reference=reference,
            referenced_message=referenced,
            tts=bool(body.get("tts")),
            nonce=body.get("nonce"),
        )
        if interaction is not None:
            msg["webhook_id"] = str(world.application_id)
            msg["application_id"] = str(world.application_id)
            invoker = world.users[interaction.user_id]
            msg["interaction_metadata"] = p.interaction_metadata(
                interaction.id,
                interaction.type,
                invoker,
                name=interaction.command_name if interaction.type == 2 else None,
                interacted_message_id=interaction.target_message_id,
                guild_id=interaction.guild_id,
            )
            if interaction.type == 2:
                msg["interaction"] = {
                    "id": str(interaction.id),
                    "type": 2,
                    "name": interaction.command_name,
                    "user": invoker,
                }
        meta = MessageMeta(
            allowed_mentions=allowed,
            pinged_user_ids=users,
            files=list(files),
            calls=[call] if call else [],
            interaction_id=interaction.id if interaction else None,
            created_at=time.monotonic(),
        )
        return msg, meta

    async def publish_message(self, msg: Json, meta: MessageMeta) -> Json:
        """Store a message and dispatch MESSAGE_CREATE (ephemeral ones stay off the gateway)."""
        self.world.store_message(msg, meta)
        if not int(msg.get("flags", 0)) & MessageFlag.EPHEMERAL:
            await self.dispatch(
                "MESSAGE_CREATE",
                msg,
                guild_id=self.world.guild_id_of(self.world.channel(int(msg["channel_id"]))),
            )
        self._bump()
        return msg

    async def edit_message(
        self,
        msg: Json,
        body: Json,
        files: Sequence[UploadedFile],
        call: RestCall | None,
        *,
        clear_loading: bool = True,
    ) -> Json:
        """Apply a PATCH body to a stored message and dispatch MESSAGE_UPDATE."""
        self._validate_message(body, files, creating=False)
        meta = self.world.meta[int(msg["id"])]
        was_loading = bool(int(msg["flags"]) & MessageFlag.LOADING)
        channel_id = int(msg["channel_id"])
        guild_id = self.world.guild_id_of(self.world.channel(channel_id))
        if "content" in body:
            msg["content"] = body["content"] or ""
        if "embeds" in body:
            msg["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "components" in body:
            msg["components"] = self._number_components(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            keep = int(msg["flags"]) & (
                MessageFlag.EPHEMERAL | MessageFlag.HAS_THREAD | MessageFlag.LOADING
            )
            msg["flags"] = keep | (
                int(body["flags"]) & (MessageFlag.SUPPRESS_EMBEDS | MessageFlag.IS_COMPONENTS_V2)
            )
        ephemeral = bool(int(msg["flags"]) & MessageFlag.EPHEMERAL)
        if "attachments" in body or files:
            kept_ids = {
                str(a.get("id")) for a in body.get("attachments") or [] if isinstance(a, dict)
            }
            keep = (
                msg["attachments"]
                if "attachments" not in body
                else [a for a in msg["attachments"] if a["id"] in kept_ids]
            )
            msg["attachments"] = self._attachments(
                channel_id, body, files, keep=keep, ephemeral=ephemeral
            )
        if clear_loading:
            msg["flags"] = int(msg["flags"]) & ~MessageFlag.LOADING
        if isinstance(body.get("allowed_mentions"), dict):
            meta.allowed_mentions = body["allowed_mentions"]
        users, roles, everyone = self._mentions(
            msg["content"], guild_id, meta.allowed_mentions, None
        )
        msg["mentions"] = self._mention_payloads(users, guild_id)
        msg["mention_roles"] = [str(r) for r in roles]
        msg["mention_everyone"] = everyone
        if not was_loading:
            msg["edited_timestamp"] = p.iso()
        meta.files.extend(files)
        if call is not None:
            meta.calls.append(call)
        if not ephemeral:
            await self.dispatch("MESSAGE_UPDATE", msg, guild_id=guild_id)
        self._bump()
        return msg

    async def delete_message(self, msg: Json) -> None:
        mid, cid = int(msg["id"]), int(msg["channel_id"])
        self.world.messages.pop(mid, None)
        self.world.meta[mid].deleted = True
        with contextlib.suppress(ValueError):
            self.world.channel_messages[cid].remove(mid)
        guild_id = self.world.guild_id_of(self.world.channel(cid))
        if not int(msg.get("flags", 0)) & MessageFlag.EPHEMERAL:
            data: Json = {"id": str(mid), "channel_id": str(cid)}
            if guild_id is not None:
                data["guild_id"] = str(guild_id)
            await self.dispatch("MESSAGE_DELETE", data, guild_id=guild_id)
        self._bump()

    # ----- interaction callback & webhooks

    def _validate_choices(self, record: InteractionRecord, data: Json) -> None:
        choices = data.get("choices")
        if not isinstance(choices, list):
            raise _form_error("data.choices", "BASE_TYPE_REQUIRED", "This field is required")
        if len(choices) > 25:
            raise _form_error(
                "data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for i, choice in enumerate(choices):
            name = choice.get("name")
            if not isinstance(name, str) or not 1 <= len(name) <= 100:
                raise _form_error(
                    f"data.choices.{i}.name",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            value = choice.get("value")
            if isinstance(value, str) and len(value) > 100:
                raise _form_error(
                    f"data.choices.{i}.value",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 100 or fewer in length.",
                )

    async def h_callback(self, req: Req) -> tuple[int, Any]:
        record = self.interactions.get(req.snowflake("interaction_id"))
        if record is None or record.token != req.params["interaction_token"]:
            raise _not_found(UNKNOWN_INTERACTION, "interaction")
        elapsed = req.call.received_at - record.created_at
        if record.acked:
            record.rejected_callbacks.append(req.call)
            raise ApiError(
                400,
                p.error_body(
                    INTERACTION_ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged."
                ),
            )
        if elapsed > self.config.ack_deadline:
            record.late_attempts.append(elapsed)
            if self.config.reject_late_acks:
                record.rejected_callbacks.append(req.call)
                raise _not_found(UNKNOWN_INTERACTION, "interaction")
        body = req.body()
        ctype = body.get("type")
        if ctype not in VALID_CALLBACKS.get(record.type, frozenset()):
            raise _form_error(
                "type",
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Interaction response type {ctype} is not valid for interaction type {record.type}",
            )
        data = body.get("data") or {}
        if ctype in (4, 7):
            self._validate_message(data, req.files, creating=ctype == 4, prefix="data.")
        elif ctype == 8:
            self._validate_choices(record, data)
        elif ctype == 9:
            title = data.get("title") or ""
            if (
                not data.get("custom_id")
                or not 1 <= len(title) <= 45
                or not 1 <= len(data.get("components") or []) <= 5
            ):
                raise _form_error("data", "MODAL_INVALID", "Invalid modal")
        # Accepted: this is the acknowledgement.
        record.acked_at = req.call.received_at
        record.ack_type = ctype
        record.ack_call = req.call
        record.callbacks.append(req.call)
        message: Json | None = None
        response_id: int | None = None
        if ctype == 4:
            message, meta = self.build_message(
                channel_id=record.channel_id,
                author_id=self.world.bot_id,
                body=data,
                files=req.files,
                call=req.call,
                interaction=record,
                message_type=self._response_type(record),
            )
            record.original_message_id = response_id = int(message["id"])
            record.ephemeral = bool(int(message["flags"]) & MessageFlag.EPHEMERAL)
            record.mark_answered(req.call)
            await self.publish_message(message, meta)
        elif ctype == 5:
            flags = MessageFlag.LOADING | (int(data.get("flags") or 0) & MessageFlag.EPHEMERAL)
            message, meta = self.build_message(
                channel_id=record.channel_id,
                author_id=self.world.bot_id,
                body={"content": ""},
                call=req.call,
                interaction=record,
                message_type=self._response_type(record),
                extra_flags=flags,
            )
            message["flags"] = flags
            record.original_message_id = response_id = int(message["id"])
            record.loading = True
            record.ephemeral = bool(flags & MessageFlag.EPHEMERAL)
            await self.publish_message(message, meta)
        elif ctype in (6, 7) and record.target_message_id is not None:
            response_id = record.target_message_id
            target = self.world.messages.get(record.target_message_id)
            if ctype == 7 and target is not None:
                message = await self.edit_message(target, data, req.files, req.call)
            record.ephemeral = bool(target and int(target["flags"]) & MessageFlag.EPHEMERAL)
        elif ctype == 8:
            record.choices = list(data.get("choices") or [])
        elif ctype == 9:
            record.modal = data
        self._bump()
        if not req.flag("with_response"):
            return 204, None
        return 200, p.callback_response(
            record.id,
            record.type,
            callback_type=ctype,
            message_payload=message,
            response_message_id=response_id,
            loading=record.loading and ctype == 5,
            ephemeral=record.ephemeral,
        )

    @staticmethod
    def _response_type(record: InteractionRecord) -> int:
        return MessageType.CHAT_INPUT_COMMAND if record.type == 2 else MessageType.DEFAULT

    def _original(self, record: InteractionRecord) -> Json:
        mid = record.original_message_id
        if mid is None and record.ack_type in (6, 7):
            mid = record.target_message_id
        msg = self.world.messages.get(mid) if mid is not None else None
        if msg is None:
            raise _not_found(UNKNOWN_MESSAGE, "Message")
        return msg

    async def h_get_original(self, req: Req) -> tuple[int, Any]:
        return 200, self._original(self._webhook_interaction(req))

    async def h_edit_original(self, req: Req) -> tuple[int, Any]:
        record = self._webhook_interaction(req)
        msg = self._original(record)
        updated = await self.edit_message(msg, req.body(), req.files, req.call)
        if int(msg["id"]) == record.original_message_id:
            record.loading = False
            record.mark_answered(req.call)
        return 200, updated

    async def h_delete_original(self, req: Req) -> tuple[int, Any]:
        record = self._webhook_interaction(req)
        await self.delete_message(self._original(record))
        record.loading = False
        return 204, None

    def _followup_message(self, record: InteractionRecord, req: Req) -> Json:
        mid = req.snowflake("message_id")
        if (
            mid not in record.followup_ids
            and mid != record.original_message_id
            and not (record.ack_type in (6, 7) and mid == record.target_message_id)
        ):
            raise _not_found(UNKNOWN_MESSAGE, "Message")
        return self.world.message(mid)

    async def h_get_webhook_message(self, req: Req) -> tuple[int, Any]:
        return 200, self._followup_message(self._webhook_interaction(req), req)

    async def h_edit_webhook_message(self, req: Req) -> tuple[int, Any]:
        record = self._webhook_interaction(req)
        msg = self._followup_message(record, req)
        updated = await self.edit_message(msg, req.body(), req.files, req.call)
        if int(msg["id"]) == record.original_message_id:
            record.loading = False
            record.mark_answered(req.call)
        return 200, updated

    async def h_delete_webhook_message(self, req: Req) -> tuple[int, Any]:
        record = self._webhook_interaction(req)
        await self.delete_message(self._followup_message(record, req))
        return 204, None

    async def h_followup(self, req: Req) -> tuple[int, Any]:
        record = self._webhook_interaction(req)
        body = req.body()
        if record.loading and record.ack_type == 5 and record.original_message_id is not None:
            # Documented legacy behaviour: the first follow-up after a deferral edits the loading message.
            msg = self.world.message(record.original_message_id)
            self._validate_message(body, req.files, creating=True)
            updated = await self.edit_message(msg, body, req.files, req.call)
            record.loading = False
            record.mark_answered(req.call)
            return 200, updated
        self._validate_message(body, req.files, creating=True)
        msg, meta = self.build_message(
            channel_id=record.channel_id,
            author_id=self.world.bot_id,
            body=body,
            files=req.files,
            call=req.call,
            interaction=record,
            message_type=self._response_type(record),
        )
        record.followup_ids.append(int(msg["id"]))
        record.mark_answered(req.call)
        await self.publish_message(msg, meta)
        return 200, msg  # for interaction follow-ups `wait` is always true (Discord docs)

    # ----- channels & messages

    def _visible_channel(self, channel_id: int) -> Json:
        channel = self.world.channel(channel_id)
        if self.world.guild_id_of(channel) is not None and not self.world.permissions(
            self.world.bot_id, channel_id
        ):
            raise ApiError(403, p.error_body(MISSING_ACCESS, "Missing Access"))
        return channel

    async def h_get_channel(self, req: Req) -> tuple[int, Any]:
        return 200, self._visible_channel(req.snowflake("channel_id"))

    async def h_history(self, req: Req) -> tuple[int, Any]:
        cid = req.snowflake("channel_id")
        self._visible_channel(cid)
        if self.world.guild_id_of(self.world.channel(cid)) is not None:
            self.world.require(self.world.bot_id, cid, Perm.READ_MESSAGE_HISTORY)
        limit = max(1, min(100, int(req.query.get("limit", "50"))))
        ids = sorted(self.world.channel_messages.get(cid, []))
        if "before" in req.query:
            ids = [i for i in ids if i < int(req.query["before"])]
        if "after" in req.query:
            ids = [i for i in ids if i > int(req.query["after"])][:limit]
        if "around" in req.query:
            around = int(req.query["around"])
            older = [i for i in ids if i <= around][-(limit // 2 + 1) :]
            newer = [i for i in ids if i > around][: limit - len(older)]
            ids = older + newer
        ids = ids[-limit:]
        return 200, [self._rest_view(self.world.messages[i]) for i in reversed(ids)]

    def _rest_view(self, msg: Json) -> Json:
        """Messages read over REST obey the app's Message Content setting like gateway events."""
        channel = self.world.channels.get(int(msg["channel_id"]))
        if (
            self.config.message_content_enabled
            or channel is None
            or self.world.guild_id_of(channel) is None
        ):
            return msg
        return self._strip_content_for(msg)

    async def h_get_message(self, req: Req) -> tuple[int, Any]:
        cid = req.snowflake("channel_id")
        self._visible_channel(cid)
        if self.world.guild_id_of(self.world.channel(cid)) is not None:
            self.world.require(self.world.bot_id, cid, Perm.READ_MESSAGE_HISTORY)
        return 200, self._rest_view(self.world.message(req.snowflake("message_id"), cid))

    async def _ensure_thread_open(self, channel: Json, actor: int) -> None:
        """Sending into an archived thread unarchives it; a locked one needs Manage Threads."""
        meta = channel["thread_metadata"]
        if (
            meta.get("locked")
            and not self.world.permissions(actor, int(channel["id"])) & Perm.MANAGE_THREADS
        ):
            raise ApiError(403, p.error_body(THREAD_LOCKED, "This thread is locked"))
        if meta.get("archived"):
            meta["archived"] = False
            meta["archive_timestamp"] = p.iso()
            await self.dispatch("THREAD_UPDATE", channel, guild_id=int(channel["guild_id"]))

    async def h_send_message(self, req: Req) -> tuple[int, Any]:
        cid = req.snowflake("channel_id")
        channel = self._visible_channel(cid)
        body = req.body()
        if self.world.guild_id_of(channel) is not None:
            is_thread = self.world.is_thread(channel)
            needed = Perm.SEND_MESSAGES_IN_THREADS if is_thread else Perm.SEND_MESSAGES
            if req.files:
                needed |= Perm.ATTACH_FILES
            if body.get("message_reference"):
                needed |= Perm.READ_MESSAGE_HISTORY
            self.world.require(self.world.bot_id, cid, needed)
            if is_thread:
                await self._ensure_thread_open(channel, self.world.bot_id)
        elif channel["type"] not in (ChannelType.DM,):
            raise ApiError(403, p.error_body(50008, "Cannot send messages in a non-text channel"))
        self._validate_message(body, req.files, creating=True)
        msg, meta = self.build_message(
            channel_id=cid, author_id=self.world.bot_id, body=body, files=req.files, call=req.call
        )
        await self.publish_message(msg, meta)
        return 200, msg

    async def h_edit_message(self, req: Req) -> tuple[int, Any]:
        cid = req.snowflake("channel_id")
        self._visible_channel(cid)
        msg = self.world.message(req.snowflake("message_id"), cid)
        body = req.body()
        if msg["author"]["id"] != str(self.world.bot_id):
            if set(body) - {"flags"}:
                raise ApiError(
                    403,
                    p.error_body(
                        CANNOT_EDIT_OTHERS_MESSAGE, "Cannot edit a message authored by another user"
                    ),
                )
            self.world.require(self.world.bot_id, cid, Perm.MANAGE_MESSAGES)
        return 200, await self.edit_message(msg, body, req.files, req.call)

    async def h_delete_message(self, req: Req) -> tuple[int, Any]:
        cid = req.snowflake("channel_id")
        self._visible_channel(cid)
        msg = self.world.message(req.snowflake("message_id"), cid)
        if msg["author"]["id"] != str(self.world.bot_id):
            self.world.require(self.world.bot_id, cid, Perm.MANAGE_MESSAGES)
        await self.delete_message(msg)
        return 204, None

    async def h_typing(self, req: Req) -> tuple[int, Any]:
        cid = req.snowflake("channel_id")
        channel = self._visible_channel(cid)
        if self.world.guild_id_of(channel) is not None:
            needed = (
                Perm.SEND_MESSAGES_IN_THREADS
                if self.world.is_thread(channel)
                else Perm.SEND_MESSAGES
            )
            self.world.require(self.world.bot_id, cid, needed)
        return 204, None

    async def h_edit_channel(self, req: Req) -> tuple[int, Any]:
        cid = req.snowflake("channel_id")
        channel = self._visible_channel(cid)
        body = req.body()
        guild_id = self.world.guild_id_of(channel)
        if guild_id is None:
            raise ApiError(403, p.error_body(MISSING_PERMISSIONS, "Missing Permissions"))
        perms = self.world.permissions(self.world.bot_id, cid)
        if not self.world.is_thread(channel):
            if not perms & Perm.MANAGE_CHANNELS:
                raise ApiError(403, p.error_body(MISSING_PERMISSIONS, "Missing Permissions"))
            for key in ("name", "topic", "rate_limit_per_user", "nsfw", "position"):
                if key in body:
                    channel[key] = body[key]
            await self.dispatch("CHANNEL_UPDATE", channel, guild_id=guild_id)
            return 200, channel
        meta = channel["thread_metadata"]
        is_owner = channel.get("owner_id") == str(self.world.bot_id)
        manage = bool(perms & Perm.MANAGE_THREADS)
        if "locked" in body and body["locked"] != meta.get("locked") and not manage:
            raise ApiError(403, p.error_body(MISSING_PERMISSIONS, "Missing Permissions"))
        if meta.get("locked") and not manage:
            raise ApiError(403, p.error_body(THREAD_LOCKED, "This thread is locked"))
        if set(body) & {
            "name",
            "archived",
            "auto_archive_duration",
            "rate_limit_per_user",
            "invitable",
        } and not (is_owner or manage):
            raise ApiError(403, p.error_body(MISSING_PERMISSIONS, "Missing Permissions"))
        if "name" in body:
            name = body["name"] or ""
            if not 1 <= len(name) <= 100:
                raise _form_error(
                    "name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
            channel["name"] = name
        for key in ("archived", "locked", "auto_archive_duration", "invitable"):
            if key in body:
                meta[key] = body[key]
        if "archived" in body:
            meta["archive_timestamp"] = p.iso()
        if "rate_limit_per_user" in body:
            channel["rate_limit_per_user"] = body["rate_limit_per_user"]
        await self.dispatch("THREAD_UPDATE", channel, guild_id=guild_id)
        return 200, channel

    # ----- threads

    async def _announce_thread(self, thread: Json, creator: int) -> None:
        guild_id = int(thread["guild_id"])
        event = {
            **copy.deepcopy(thread),
            "newly_created": True,
            "member": p.thread_member(int(thread["id"]), creator),
        }
        await self.dispatch("THREAD_CREATE", event, guild_id=guild_id)

    async def create_thread(
        self,
        parent_id: int,
        creator: int,
        body: Json,
        *,
        from_message: Json | None = None,
        check_permissions: bool = True,
    ) -> Json:
        """Create a thread as ``creator`` (the bot over REST, or a person from the harness)."""
        parent = self.world.channel(parent_id)
        if self.world.is_thread(parent) or parent["type"] != ChannelType.GUILD_TEXT:
            raise ApiError(400, p.error_body(50024, "Cannot execute action on this channel type"))
        name = body.get("name") or ""
        if not 1 <= len(name) <= 100:
            raise _form_error(
                "name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        if from_message is not None:
            private = False
            if (
                from_message.get("thread")
                or int(from_message.get("flags", 0)) & MessageFlag.HAS_THREAD
            ):
                raise ApiError(
                    400,
                    p.error_body(
                        THREAD_ALREADY_CREATED, "A thread has already been created for this message"
                    ),
                )
        else:
            private = (
                int(body.get("type") or ChannelType.PRIVATE_THREAD) == ChannelType.PRIVATE_THREAD
            )
        if check_permissions:
            needed = Perm.CREATE_PRIVATE_THREADS if private else Perm.CREATE_PUBLIC_THREADS
            if from_message is not None:
                needed |= Perm.READ_MESSAGE_HISTORY
            self.world.require(creator, parent_id, needed)
        tid = self.world.add_thread(
            parent_id,
            name,
            creator,
            private=private,
            thread_id=int(from_message["id"]) if from_message is not None else None,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            invitable=bool(body.get("invitable", True)),
        )
        thread = self.world.channels[tid]
        if body.get("rate_limit_per_user"):
            thread["rate_limit_per_user"] = int(body["rate_limit_per_user"])
        await self._announce_thread(thread, creator)
        guild_id = int(thread["guild_id"])
        if from_message is not None:
            from_message["thread"] = copy.deepcopy(thread)
            from_message["flags"] = int(from_message.get("flags", 0)) | MessageFlag.HAS_THREAD
            await self.dispatch("MESSAGE_UPDATE", from_message, guild_id=guild_id)
        elif not private:
            # Discord posts a "started a thread" system message in the parent channel.
            system, meta = self.build_message(
                channel_id=parent_id,
                author_id=creator,
                body={"content": name},
                message_type=MessageType.THREAD_CREATED,
            )
            system["message_reference"] = {
                "type": 0,
                "channel_id": str(tid),
                "guild_id": str(guild_id),
            }
            await self.publish_message(system, meta)
        self._bump()
        return thread

    async def h_create_thread(self, req: Req) -> tuple[int, Any]:
        cid = req.snowflake("channel_id")
        self._visible_channel(cid)
        return 201, await self.create_thread(cid, self.world.bot_id, req.body())

    async def h_create_thread_from_message(self, req: Req) -> tuple[int, Any]:
        cid = req.snowflake("channel_id")
        self._visible_channel(cid)
        msg = self.world.message(req.snowflake("message_id"), cid)
        return 201, await self.create_thread(cid, self.world.bot_id, req.body(), from_message=msg)

    def _thread(self, req: Req) -> Json:
        channel = self._visible_channel(req.snowflake("channel_id"))
        if not self.world.is_thread(channel):
            raise ApiError(400, p.error_body(50024, "Cannot execute action on this channel type"))
        return channel

    async def _thread_member_change(self, thread: Json, user_id: int, *, add: bool) -> None:
        tid = int(thread["id"])
        members = self.world.thread_members.setdefault(tid, set())
        if add:
            if thread["thread_metadata"].get("archived"):
                raise ApiError(400, p.error_body(50083, "Thread is archived"))
            members.add(user_id)
        else:
            members.discard(user_id)
        thread["member_count"] = len(members)
        guild_id = int(thread["guild_id"])
        update: Json = {"id": str(tid), "guild_id": str(guild_id), "member_count": len(members)}
        if add:
            update["added_members"] = [
                {
                    **p.thread_member(tid, user_id),
                    "member": self.world.member_payload(guild_id, user_id),
                }
            ]
        else:
            update["removed_member_ids"] = [str(user_id)]
        if add and user_id == self.world.bot_id:
            await self.dispatch(
                "THREAD_MEMBER_UPDATE",
                {**p.thread_member(tid, user_id), "guild_id": str(guild_id)},
                guild_id=guild_id,
            )
        else:
            await self.dispatch("THREAD_MEMBERS_UPDATE", update, guild_id=guild_id)
        self._bump()

    async def h_join_thread(self, req: Req) -> tuple[int, Any]:
        await self._thread_member_change(self._thread(req), self.world.bot_id, add=True)
        return 204, None

    async def h_leave_thread(self, req: Req) -> tuple[int, Any]:
        await self._thread_member_change(self._thread(req), self.world.bot_id, add=False)
        return 204, None

    async def h_get_thread_member(self, req: Req) -> tuple[int, Any]:
        """A thread member object if the user is a member of the thread, else 404 (Discord)."""
        thread = self._thread(req)
        uid = req.snowflake("user_id")
        if uid not in self.world.thread_members.get(int(thread["id"]), set()):
            raise _not_found(UNKNOWN_MEMBER, "Member")
        return 200, p.thread_member(int(thread["id"]), uid)

    async def join_thread(self, thread_id: int, user_id: int) -> None:
        """A person joins a thread (the Join button, or by posting in it, as Discord does)."""
        if user_id not in self.world.thread_members.get(thread_id, set()):
            await self._thread_member_change(self.world.channel(thread_id), user_id, add=True)

    async def h_add_thread_member(self, req: Req) -> tuple[int, Any]:
        thread = self._thread(req)
        uid = req.snowflake("user_id")
        self.world.member_payload(int(thread["guild_id"]), uid)  # 404 Unknown Member
        self.world.require(self.world.bot_id, int(thread["id"]), Perm.SEND_MESSAGES_IN_THREADS)
        await self._thread_member_change(thread, uid, add=True)
        return 204, None

    async def h_remove_thread_member(self, req: Req) -> tuple[int, Any]:
        thread = self._thread(req)
        uid = req.snowflake("user_id")
        if thread.get("owner_id") != str(self.world.bot_id):
            self.world.require(self.world.bot_id, int(thread["id"]), Perm.MANAGE_THREADS)
        await self._thread_member_change(thread, uid, add=False)
        return 204, None

    # ----- reactions & guilds

    async def h_add_reaction(self, req: Req) -> tuple[int, Any]:
        cid = req.snowflake("channel_id")
        self._visible_channel(cid)
        msg = self.world.message(req.snowflake("message_id"), cid)
        if self.world.guild_id_of(self.world.channel(cid)) is not None:
            self.world.require(
                self.world.bot_id, cid, Perm.ADD_REACTIONS | Perm.READ_MESSAGE_HISTORY
            )
        self.world.meta[int(msg["id"])].reactions.append(req.params["emoji"])
        self._bump()
        return 204, None

    async def h_remove_reaction(self, req: Req) -> tuple[int, Any]:
        cid = req.snowflake("channel_id")
        msg = self.world.message(req.snowflake("message_id"), cid)
        with contextlib.suppress(ValueError):
            self.world.meta[int(msg["id"])].reactions.remove(req.params["emoji"])
        self._bump()
        return 204, None

    def _guild(self, req: Req) -> GuildState:
        guild = self.world.guilds.get(req.snowflake("guild_id"))
        if guild is None:
            raise _not_found(UNKNOWN_GUILD, "Guild")
        return guild

    async def h_get_guild(self, req: Req) -> tuple[int, Any]:
        guild = self.world.guild_create(self._guild(req).id)
        for key in (
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "large",
            "unavailable",
            "member_count",
            "stage_instances",
            "guild_scheduled_events",
            "soundboard_sounds",
        ):
            guild.pop(key, None)
        return 200, guild

    async def h_guild_channels(self, req: Req) -> tuple[int, Any]:
        guild = self._guild(req)
        return 200, [
            self.world.channels[c]
            for c in guild.channel_ids
            if not self.world.is_thread(self.world.channels[c])
        ]

    async def h_get_member(self, req: Req) -> tuple[int, Any]:
        guild = self._guild(req)
        return 200, self.world.member_payload(guild.id, req.snowflake("user_id"))

    async def h_active_threads(self, req: Req) -> tuple[int, Any]:
        guild = self._guild(req)
        threads = [
            self.world.channels[c]
            for c in guild.channel_ids
            if self.world.is_thread(self.world.channels[c])
            and not self.world.channels[c]["thread_metadata"]["archived"]
        ]
        members = [
            p.thread_member(int(t["id"]), self.world.bot_id)
            for t in threads
            if self.world.bot_id in self.world.thread_members.get(int(t["id"]), set())
        ]
        return 200, {"threads": threads, "members": members}

    # ------------------------------------------------------------------ what people do (harness side)

    def find_command(
        self,
        path: str,
        guild_id: int | None,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
    ) -> tuple[Json, list[str], list[Json]]:
        """Resolve ``"study start"`` to (command, [names], leaf options) as the Discord client would."""
        names = path.split()
        if not names:
            raise ValueError("empty command name")
        candidates = list(self.world.commands.get(guild_id, [])) if guild_id is not None else []
        candidates += [
            c
            for c in self.world.commands.get(None, [])
            if guild_id is not None or self._dm_allowed(c)
        ]
        command = next(
            (c for c in candidates if c["name"] == names[0] and c.get("type", 1) == 1), None
        )
        if command is None:
            known = sorted({c["name"] for c in candidates})
            raise LookupError(
                f"/{names[0]} is not registered for this place (synced commands: {known})"
            )
        perms = command.get("default_member_permissions")
        if (
            perms is not None
            and user_id is not None
            and channel_id is not None
            and guild_id is not None
        ):
            have = self.world.permissions(user_id, channel_id)
            if int(perms) & have != int(perms):
                raise PermissionError(
                    f"/{names[0]} is hidden from this member (needs permissions {perms})"
                )
        options = command.get("options") or []
        for name in names[1:]:
            sub = next((o for o in options if o["name"] == name and o["type"] in (1, 2)), None)
            if sub is None:
                raise LookupError(f"/{path}: no subcommand {name!r}")
            options = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in options):
            raise LookupError(f"/{path} needs a subcommand: {[o['name'] for o in options]}")
        return command, names, options

    @staticmethod
    def _dm_allowed(command: Json) -> bool:
        contexts = command.get("contexts")
        if contexts is not None:
            return 1 in contexts
        return command.get("dm_permission", True) is not False

    def _option_value(self, spec: Json, value: Any, guild_id: int | None, resolved: Json) -> Any:
        otype, name = spec["type"], spec["name"]
        raw_id = getattr(value, "id", value)
        if otype == 3:
            value = str(value)
            if "min_length" in spec and len(value) < spec["min_length"]:
                raise ValueError(f"option {name}: shorter than {spec['min_length']}")
            if "max_length" in spec and len(value) > spec["max_length"]:
                raise ValueError(f"option {name}: longer than {spec['max_length']}")
        elif otype in (4, 10):
            value = int(value) if otype == 4 else float(value)
            if "min_value" in spec and value < spec["min_value"]:
                raise ValueError(f"option {name}: below {spec['min_value']}")
            if "max_value" in spec and value > spec["max_value"]:
                raise ValueError(f"option {name}: above {spec['max_value']}")
        elif otype == 5:
            value = bool(value)
        elif otype in (6, 9) and int(raw_id) in self.world.users:
            uid = int(raw_id)
            resolved.setdefault("users", {})[str(uid)] = self.world.users[uid]
            if guild_id is not None and uid in self.world.guilds[guild_id].members:
                resolved.setdefault("members", {})[str(uid)] = self.world.member_payload(
                    guild_id, uid, with_user=False
                )
            value = str(uid)
        elif otype == 7:
            channel = self.world.channel(int(raw_id))
            types = spec.get("channel_types")
            if types and channel["type"] not in types:
                raise ValueError(f"option {name}: channel type {channel['type']} not in {types}")
            resolved.setdefault("channels", {})[str(raw_id)] = {
                **channel,
                "permissions": str(p.ALL_PERMISSIONS),
            }
            value = str(raw_id)
        elif otype in (8, 9):
            if guild_id is None or int(raw_id) not in self.world.guilds[guild_id].roles:
                raise ValueError(f"option {name}: unknown role {raw_id}")
            resolved.setdefault("roles", {})[str(raw_id)] = self.world.guilds[guild_id].roles[
                int(raw_id)
            ]
            value = str(raw_id)
        elif otype == 11:
            upload = (
                value
                if isinstance(value, UploadedFile | Attachment)
                else UploadedFile("files[0]", value[0], None, value[1])
            )
            aid = self.world.ids.next()
            self.world.attachment_data[aid] = upload.data
            declared = len(upload.data)
            if isinstance(upload, Attachment):
                self.world.attachment_serving[aid] = upload
                declared = upload.size if upload.size is not None else declared
            url = f"{self.base_url}/attachments/0/{aid}/{upload.filename}"
            resolved.setdefault("attachments", {})[str(aid)] = p.attachment(
                aid,
                upload.filename,
                size=declared,
                url=url,
                content_type=upload.content_type,
                ephemeral=True,
            )
            value = str(aid)
        else:
            raise ValueError(f"option {name}: cannot use {value!r} for option type {otype}")
        choices = spec.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(
                f"option {name}: {value!r} is not one of the choices {[c['value'] for c in choices]}"
            )
        return value

    def command_data(
        self,
        path: str,
        options: dict[str, Any],
        *,
        guild_id: int | None,
        user_id: int | None = None,
        channel_id: int | None = None,
        focused: str | None = None,
    ) -> tuple[Json, str]:
        """The ``data`` of an APPLICATION_COMMAND (or autocomplete, with ``focused``) interaction."""
        command, names, specs = self.find_command(
            path, guild_id, user_id=user_id, channel_id=channel_id
        )
        by_name = {s["name"]: s for s in specs}
        unknown = set(options) - set(by_name)
        if unknown:
            raise ValueError(
                f"/{path} has no option(s) {sorted(unknown)}; it has {sorted(by_name)}"
            )
        resolved: Json = {}
        leaf: list[Json] = []
        for spec in specs:
            name = spec["name"]
            if name not in options or options[name] is None:
                if spec.get("required") and focused is None:
                    raise ValueError(f"/{path}: required option {name!r} missing")
                continue
            if focused is not None:
                if name == focused and not spec.get("autocomplete"):
                    raise ValueError(f"/{path}: option {name!r} has no autocomplete")
                value = str(options[name]) if name == focused else options[name]
                entry: Json = {"name": name, "type": spec["type"], "value": value}
                if name == focused:
                    entry["focused"] = True
            else:
                entry = {
                    "name": name,
                    "type": spec["type"],
                    "value": self._option_value(spec, options[name], guild_id, resolved),
                }
            leaf.append(entry)
        if focused is not None and focused not in options:
            raise ValueError(f"autocomplete: focused option {focused!r} needs a typed value")
        tree: list[Json] = leaf
        command_specs = command.get("options") or []
        chain = []
        for name in names[1:]:
            spec = next(o for o in command_specs if o["name"] == name)
            chain.append(spec)
            command_specs = spec.get("options") or []
        for spec in reversed(chain):
            tree = [{"name": spec["name"], "type": spec["type"], "options": tree}]
        data: Json = {"id": command["id"], "name": command["name"], "type": 1, "options": tree}
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return data, " ".join(names)

    def _interaction_channel(self, channel_id: int, user_id: int) -> Json:
        channel = copy.deepcopy(self.world.channel(channel_id))
        if self.world.guild_id_of(channel) is not None:
            channel["permissions"] = str(self.world.permissions(user_id, channel_id))
        return channel

    async def start_interaction(
        self,
        *,
        type: int,
        user_id: int,
        channel_id: int,
        data: Json | None,
        message: Json | None = None,
        command_name: str | None = None,
    ) -> InteractionRecord:
        """Create an interaction the way Discord does when a person acts, and dispatch INTERACTION_CREATE."""
        world = self.world
        channel = world.channel(channel_id)
        guild_id = world.guild_id_of(channel)
        if guild_id is not None and not world.permissions(user_id, channel_id) & Perm.VIEW_CHANNEL:
            raise PermissionError(f"user {user_id} cannot see channel {channel_id}")
        iid = world.ids.next()
        token = p.new_token()
        invoker_member = None
        if guild_id is not None:
            invoker_member = world.member_payload(
                guild_id, user_id, with_user=False, perms_in=channel_id
            )
        app_perms = (
            world.permissions(world.bot_id, channel_id)
            if guild_id is not None
            else p.ALL_PERMISSIONS
        )
        payload = p.interaction(
            interaction_id=iid,
            application_id=world.application_id,
            type=type,
            token=token,
            data=data,
            channel=self._interaction_channel(channel_id, user_id),
            invoker=world.users[user_id],
            invoker_member=invoker_member,
            guild_id=guild_id,
            app_permissions=app_perms,
            message=message,
        )
        record = InteractionRecord(
            id=iid,
            token=token,
            type=type,
            payload=payload,
            user_id=user_id,
            channel_id=channel_id,
            guild_id=guild_id,
            created_at=time.monotonic(),
            command_name=command_name,
            target_message_id=int(message["id"]) if message is not None else None,
        )
        record.last_activity = record.created_at
        self.interactions[iid] = record
        self._by_token[token] = record
        await self.dispatch("INTERACTION_CREATE", payload, guild_id=guild_id)
        self._bump()
        return record

    async def user_message(
        self,
        user_id: int,
        channel_id: int,
        content: str,
        *,
        reply_to: int | None = None,
        reply_ping: bool = True,
        files: Sequence[UploadedFile] = (),
        embeds: Sequence[Json] = (),
    ) -> Json:
        """A person posts a message (as the Discord client would send it) and MESSAGE_CREATE goes out."""
        world = self.world
        channel = world.channel(channel_id)
        guild_id = world.guild_id_of(channel)
        if guild_id is not None:
            needed = (
                Perm.SEND_MESSAGES_IN_THREADS if world.is_thread(channel) else Perm.SEND_MESSAGES
            )
            if (
                world.permissions(user_id, channel_id) & (needed | Perm.VIEW_CHANNEL)
                != needed | Perm.VIEW_CHANNEL
            ):
                raise PermissionError(
                    f"user {user_id} cannot send messages in {channel.get('name', channel_id)}"
                )
            if world.is_thread(channel):
                await self._ensure_thread_open(channel, user_id)
                await self.join_thread(channel_id, user_id)  # posting in a thread joins it
        body: Json = {
            "content": content,
            "embeds": list(embeds),
            "tts": False,
            "nonce": str(world.ids.next()),
            "flags": 0,
        }
        if files:
            body["attachments"] = [
                {"id": str(i), "filename": f.filename} for i, f in enumerate(files)
            ]
        if reply_to is not None:
            body["message_reference"] = {
                "message_id": str(reply_to),
                "channel_id": str(channel_id),
                "fail_if_not_exists": True,
            }
            if not reply_ping:
                body["allowed_mentions"] = {
                    "parse": ["users", "roles", "everyone"],
                    "replied_user": False,
                }
        self._validate_message(body, files, creating=True)
        msg, meta = self.build_message(
            channel_id=channel_id, author_id=user_id, body=body, files=files
        )
        return await self.publish_message(msg, meta)
