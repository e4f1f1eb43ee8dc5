"""Builders of Discord-shaped JSON objects (users, guilds, channels, messages, interactions).

Every builder returns a plain ``dict`` shaped like the objects in Discord's API documentation
(API v10), because the point of the stand-in is that the *unmodified* discord.py parses them.
Only the fields Discord documents are produced; optional ones are filled with Discord's usual
defaults so discord.py takes the same code paths it takes against the real service.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from enum import IntFlag
from typing import Any

Json = dict[str, Any]

DISCORD_EPOCH_MS = 1420070400000
API_VERSION = 10
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class Perm(IntFlag):
    """Permission bits (Discord's ``permissions`` bitfield) the stand-in reasons about."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38


ALL_PERMISSIONS = (1 << 53) - 1

#: What @everyone may do in a freshly made community guild.
EVERYONE_PERMISSIONS = (
    Perm.CREATE_INSTANT_INVITE
    | Perm.ADD_REACTIONS
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.CREATE_PUBLIC_THREADS
    | Perm.SEND_MESSAGES_IN_THREADS
)

#: What a bot's managed role gets from a typical invite link for a study bot.
BOT_PERMISSIONS = (
    EVERYONE_PERMISSIONS | Perm.MANAGE_THREADS | Perm.CREATE_PRIVATE_THREADS | Perm.MANAGE_MESSAGES
)


class ChannelType:
    """Channel type numbers from the channel object docs."""

    GUILD_TEXT = 0
    DM = 1
    GUILD_CATEGORY = 4
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_FORUM = 15

    THREADS = frozenset({10, 11, 12})


class MessageType:
    """Message type numbers the stand-in produces."""

    DEFAULT = 0
    THREAD_CREATED = 18
    REPLY = 19
    CHAT_INPUT_COMMAND = 20
    THREAD_STARTER_MESSAGE = 21


class MessageFlag:
    """Message flag bits the stand-in produces or checks."""

    SUPPRESS_EMBEDS = 1 << 2
    HAS_THREAD = 1 << 5
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


class Intent(IntFlag):
    """Gateway intents that change what the stand-in dispatches."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15
    GUILD_PRESENCES = 1 << 8


PRIVILEGED_INTENTS = Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT


class AppFlag:
    """Application flags that tell a client which privileged intents the portal enabled."""

    GATEWAY_PRESENCE = 1 << 12
    GATEWAY_GUILD_MEMBERS = 1 << 14
    GATEWAY_MESSAGE_CONTENT = 1 << 18
    APPLICATION_COMMAND_BADGE = 1 << 23


# --------------------------------------------------------------------------- ids and times


class SnowflakeFactory:
    """Makes Discord snowflakes: time-ordered, unique, and decodable by ``discord.utils``."""

    def __init__(self, worker: int = 1, process: int = 0) -> None:
        self._worker = worker & 0x1F
        self._process = process & 0x1F
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = itertools.count()
        self._increment = 0

    def next(self) -> int:
        """Return a new snowflake whose timestamp is "now" (never going backwards)."""
        with self._lock:
            ms = max(int(time.time() * 1000), self._last_ms)
            if ms == self._last_ms:
                self._increment += 1
                if self._increment > 0xFFF:  # 4096 ids in one millisecond: borrow the next
                    ms += 1
                    self._increment = 0
            else:
                self._increment = 0
            self._last_ms = ms
            return (
                ((ms - DISCORD_EPOCH_MS) << 22)
                | (self._worker << 17)
                | (self._process << 12)
                | self._increment
            )


def snowflake_time(snowflake: int) -> float:
    """Unix time (seconds) encoded in a snowflake."""
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000.0


def iso(ts: float | None = None) -> str:
    """ISO-8601 timestamp the way Discord writes them (UTC, microseconds, +00:00)."""
    moment = dt.datetime.fromtimestamp(time.time() if ts is None else ts, tz=dt.UTC)
    return moment.isoformat(timespec="microseconds")


def new_token(prefix: str = "aW50ZXJhY3Rpb24") -> str:
    """An opaque interaction token (Discord's are long url-safe strings)."""
    return f"{prefix}:{secrets.token_urlsafe(48)}"


# --------------------------------------------------------------------------- users & guild


def user(
    user_id: int,
    username: str,
    *,
    bot: bool = False,
    global_name: str | None = None,
    avatar: str | None = None,
    system: bool = False,
) -> Json:
    """A user object (new username system: discriminator "0")."""
    payload: Json = {
        "id": str(user_id),
        "username": username,
        "discriminator": "0",
        "global_name": global_name if global_name is not None else (None if bot else username),
        "avatar": avatar,
        "avatar_decoration_data": None,
        "banner": None,
        "accent_color": None,
        "public_flags": 0,
        "flags": 0,
        "bot": bot,
    }
    if system:
        payload["system"] = True
    return payload


def current_user(user_payload: Json) -> Json:
    """The ``GET /users/@me`` / READY ``user`` shape: a user plus account fields."""
    return {
        **user_payload,
        "verified": True,
        "mfa_enabled": False,
        "email": None,
        "locale": "en-US",
        "premium_type": 0,
    }


def role(
    role_id: int,
    name: str,
    *,
    permissions: int,
    position: int,
    managed: bool = False,
    bot_id: int | None = None,
    color: int = 0,
    hoist: bool = False,
    mentionable: bool = False,
) -> Json:
    """A role object; ``bot_id`` makes it the managed role of a bot."""
    payload: Json = {
        "id": str(role_id),
        "name": name,
        "color": color,
        "colors": {"primary_color": color, "secondary_color": None, "tertiary_color": None},
        "hoist": hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(int(permissions)),
        "managed": managed,
        "mentionable": mentionable,
        "flags": 0,
    }
    if bot_id is not None:
        payload["tags"] = {"bot_id": str(bot_id)}
    return payload


def member(
    user_payload: Json | None,
    *,
    roles: Iterable[int],
    joined_at: str,
    nick: str | None = None,
    permissions: int | None = None,
) -> Json:
    """A guild member; ``user_payload=None`` gives the partial member used in messages."""
    payload: Json = {
        "nick": nick,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in roles],
        "joined_at": joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if user_payload is not None:
        payload["user"] = user_payload
    if permissions is not None:
        payload["permissions"] = str(int(permissions))
    return payload


def overwrite(target_id: int, *, kind: int, allow: int = 0, deny: int = 0) -> Json:
    """A permission overwrite; ``kind`` 0 = role, 1 = member."""
    return {"id": str(target_id), "type": kind, "allow": str(int(allow)), "deny": str(int(deny))}


def text_channel(
    channel_id: int,
    guild_id: int,
    name: str,
    *,
    position: int = 0,
    parent_id: int | None = None,
    topic: str | None = None,
    overwrites: Sequence[Json] = (),
    last_message_id: int | None = None,
    rate_limit_per_user: int = 0,
) -> Json:
    """A guild text channel."""
    return {
        "id": str(channel_id),
        "type": ChannelType.GUILD_TEXT,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": list(overwrites),
        "parent_id": str(parent_id) if parent_id else None,
        "topic": topic,
        "nsfw": False,
        "last_message_id": str(last_message_id) if last_message_id else None,
        "rate_limit_per_user": rate_limit_per_user,
        "default_auto_archive_duration": 1440,
        "default_thread_rate_limit_per_user": 0,
        "flags": 0,
        "last_pin_timestamp": None,
    }


def category_channel(channel_id: int, guild_id: int, name: str, *, position: int = 0) -> Json:
    """A guild category."""
    return {
        "id": str(channel_id),
        "type": ChannelType.GUILD_CATEGORY,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "parent_id": None,
        "nsfw": False,
        "flags": 0,
    }


def thread_channel(
    thread_id: int,
    guild_id: int,
    parent_id: int,
    owner_id: int,
    name: str,
    *,
    private: bool = False,
    archived: bool = False,
    locked: bool = False,
    auto_archive_duration: int = 1440,
    invitable: bool = True,
    created: str | None = None,
    message_count: int = 0,
    member_count: int = 1,
    last_message_id: int | None = None,
    rate_limit_per_user: int = 0,
) -> Json:
    """A public (type 11) or private (type 12) thread channel with thread_metadata."""
    created = created or iso()
    metadata: Json = {
        "archived": archived,
        "auto_archive_duration": auto_archive_duration,
        "archive_timestamp": created,
        "locked": locked,
        "create_timestamp": created,
    }
    if private:
        metadata["invitable"] = invitable
    return {
        "id": str(thread_id),
        "type": ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD,
        "guild_id": str(guild_id),
        "parent_id": str(parent_id),
        "owner_id": str(owner_id),
        "name": name,
        "last_message_id": str(last_message_id) if last_message_id else None,
        "message_count": message_count,
        "total_message_sent": message_count,
        "member_count": member_count,
        "rate_limit_per_user": rate_limit_per_user,
        "thread_metadata": metadata,
        "flags": 0,
        "applied_tags": [],
    }


def thread_member(thread_id: int, user_id: int, *, joined: str | None = None) -> Json:
    """A thread member object."""
    return {
        "id": str(thread_id),
        "user_id": str(user_id),
        "join_timestamp": joined or iso(),
        "flags": 1,
    }


def dm_channel(channel_id: int, recipient: Json, *, last_message_id: int | None = None) -> Json:
    """A DM channel with one recipient."""
    return {
        "id": str(channel_id),
        "type": ChannelType.DM,
        "last_message_id": str(last_message_id) if last_message_id else None,
        "recipients": [recipient],
        "flags": 0,
    }


def guild(
    guild_id: int,
    name: str,
    owner_id: int,
    *,
    roles: Sequence[Json],
    channels: Sequence[Json],
    threads: Sequence[Json],
    members: Sequence[Json],
    joined_at: str,
    system_channel_id: int | None = None,
) -> Json:
    """The full GUILD_CREATE payload (guild object plus the gateway-only extra fields)."""
    return {
        "id": str(guild_id),
        "name": name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(owner_id),
        "region": None,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "roles": list(roles),
        "emojis": [],
        "stickers": [],
        "features": ["COMMUNITY"],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": str(system_channel_id) if system_channel_id else None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "max_presences": None,
        "max_members": 500000,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "incidents_data": None,
        # GUILD_CREATE extras
        "joined_at": joined_at,
        "large": False,
        "unavailable": False,
        "member_count": len(members),
        "voice_states": [],
        "members": list(members),
        "channels": list(channels),
        "threads": list(threads),
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def partial_guild(guild_id: int) -> Json:
    """The partial guild an interaction carries."""
    return {"id": str(guild_id), "locale": "en-US", "features": ["COMMUNITY"]}


def application(app_id: int, name: str, owner: Json, bot_user: Json, *, flags: int) -> Json:
    """The ``GET /oauth2/applications/@me`` application object."""
    return {
        "id": str(app_id),
        "name": name,
        "icon": None,
        "description": "A study bot (loopback stand-in).",
        "summary": "",
        "type": None,
        "bot": bot_user,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "owner": owner,
        "team": None,
        "flags": flags,
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
        "integration_types_config": {"0": {}},
        "approximate_guild_count": 1,
        "hook": True,
        "is_monetized": False,
    }


# --------------------------------------------------------------------------- messages


def attachment(
    attachment_id: int,
    filename: str,
    *,
    size: int,
    url: str,
    content_type: str | None,
    description: str | None = None,
    ephemeral: bool = False,
) -> Json:
    """An attachment object whose ``url`` is served by the stand-in."""
    payload: Json = {
        "id": str(attachment_id),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
    }
    if description is not None:
        payload["description"] = description
    if ephemeral:
        payload["ephemeral"] = True
    return payload


def message(
    message_id: int,
    channel_id: int,
    author: Json,
    content: str,
    *,
    guild_id: int | None = None,
    member: Json | None = None,
    embeds: Sequence[Json] = (),
    components: Sequence[Json] = (),
    attachments: Sequence[Json] = (),
    mentions: Sequence[Json] = (),
    mention_roles: Sequence[int] = (),
    mention_everyone: bool = False,
    flags: int = 0,
    type: int = MessageType.DEFAULT,
    message_reference: Json | None = None,
    referenced_message: Json | None = None,
    webhook_id: int | None = None,
    application_id: int | None = None,
    interaction_metadata: Json | None = None,
    tts: bool = False,
    nonce: str | int | None = None,
    timestamp: str | None = None,
) -> Json:
    """A message object (MESSAGE_CREATE adds ``guild_id``/``member`` for guild messages)."""
    payload: Json = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "author": author,
        "content": content,
        "timestamp": timestamp or iso(snowflake_time(message_id)),
        "edited_timestamp": None,
        "tts": tts,
        "mention_everyone": mention_everyone,
        "mentions": list(mentions),
        "mention_roles": [str(r) for r in mention_roles],
        "attachments": list(attachments),
        "embeds": list(embeds),
        "components": list(components),
        "pinned": False,
        "type": type,
        "flags": flags,
    }
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
    if member is not None:
        payload["member"] = member
    if message_reference is not None:
        payload["message_reference"] = message_reference
        payload["referenced_message"] = referenced_message
    if webhook_id is not None:
        payload["webhook_id"] = str(webhook_id)
    if application_id is not None:
        payload["application_id"] = str(application_id)
    if interaction_metadata is not None:
        payload["interaction_metadata"] = interaction_metadata
    if nonce is not None:
        payload["nonce"] = nonce
    return payload


def message_reference(
    message_id: int, channel_id: int, guild_id: int | None, *, fail_if_not_exists: bool = True
) -> Json:
    """A reply's ``message_reference`` (type 0 = DEFAULT, i.e. a reply)."""
    ref: Json = {
        "type": 0,
        "message_id": str(message_id),
        "channel_id": str(channel_id),
        "fail_if_not_exists": fail_if_not_exists,
    }
    if guild_id is not None:
        ref["guild_id"] = str(guild_id)
    return ref


# --------------------------------------------------------------------------- interactions


def interaction(
    *,
    interaction_id: int,
    application_id: int,
    type: int,
    token: str,
    data: Json | None,
    channel: Json,
    invoker: Json,
    invoker_member: Json | None,
    guild_id: int | None,
    app_permissions: int,
    message: Json | None = None,
    locale: str = "en-US",
) -> Json:
    """An INTERACTION_CREATE payload; ``invoker_member`` (with permissions) for guilds."""
    payload: Json = {
        "id": str(interaction_id),
        "application_id": str(application_id),
        "type": type,
        "token": token,
        "version": 1,
        "channel": channel,
        "channel_id": channel["id"],
        "locale": locale,
        "app_permissions": str(int(app_permissions)),
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if data is not None:
        payload["data"] = data
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
        payload["guild"] = partial_guild(guild_id)
        payload["guild_locale"] = "en-US"
        payload["member"] = {**(invoker_member or {}), "user": invoker}
        payload["authorizing_integration_owners"] = {"0": str(guild_id)}
        payload["context"] = 0
    else:
        payload["user"] = invoker
        payload["authorizing_integration_owners"] = {"0": "0"}
        payload["context"] = 1
    if message is not None:
        payload["message"] = message
    return payload


def interaction_metadata(
    interaction_id: int,
    type: int,
    invoker: Json,
    *,
    name: str | None = None,
    interacted_message_id: int | None = None,
    guild_id: int | None = None,
) -> Json:
    """``interaction_metadata`` on a message created by an interaction response."""
    meta: Json = {
        "id": str(interaction_id),
        "type": type,
        "user": invoker,
        "authorizing_integration_owners": {"0": str(guild_id) if guild_id else "0"},
    }
    if name is not None:
        meta["name"] = name
        meta["command_type"] = 1
    if interacted_message_id is not None:
        meta["interacted_message_id"] = str(interacted_message_id)
    return meta


def callback_response(
    interaction_id: int,
    interaction_type: int,
    *,
    callback_type: int,
    message_payload: Json | None,
    response_message_id: int | None,
    loading: bool,
    ephemeral: bool,
) -> Json:
    """The ``?with_response=true`` body of ``POST /interactions/{id}/{token}/callback``."""
    inner: Json = {"id": str(interaction_id), "type": interaction_type}
    if response_message_id is not None:
        inner["response_message_id"] = str(response_message_id)
        inner["response_message_loading"] = loading
        inner["response_message_ephemeral"] = ephemeral
    body: Json = {"interaction": inner}
    resource: Json = {"type": callback_type}
    if message_payload is not None and callback_type in (4, 7):
        resource["message"] = message_payload
    body["resource"] = resource
    return body


# --------------------------------------------------------------------------- errors


def error_body(code: int, message: str, errors: Mapping[str, Any] | None = None) -> Json:
    """Discord's JSON error body (``code`` is a JSON error code, not the HTTP status)."""
    body: Json = {"message": message, "code": code}
    if errors:
        body["errors"] = dict(errors)
    return body


def form_error(field_path: str, code: str, message: str) -> Json:
    """A 50035 Invalid Form Body error for one field (dotted path, e.g. ``embeds.0.title``)."""
    tree: Json = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(field_path.split(".")):
        tree = {part: tree}
    return error_body(50035, "Invalid Form Body", tree)


def rate_limited_body(retry_after: float, *, global_: bool = False) -> Json:
    """The 429 body discord.py reads ``retry_after`` and ``global`` from."""
    return {"message": "You are being rate limited.", "retry_after": retry_after, "global": global_}
