"""A Discord stand-in on loopback for end-to-end tests of discord.py bots.

The unmodified discord.py client connects to :class:`StandinServer` over real sockets
(REST under ``/api/v10``, the gateway websocket). Tests drive it through :class:`Discord`
(see ``harness.py``); the pytest fixtures live in ``standin.plugin``.
"""

from .harness import (
    ChannelRef,
    Discord,
    GuildRef,
    InteractionNotAnswered,
    Msg,
    NoReply,
    Reply,
    UserRef,
)
from .payloads import Intent, Perm
from .server import (
    Attachment,
    Fault,
    GatewayFrame,
    InteractionRecord,
    RestCall,
    StandinConfig,
    StandinServer,
    UploadedFile,
)

__all__ = [
    "Attachment",
    "ChannelRef",
    "Discord",
    "Fault",
    "GatewayFrame",
    "GuildRef",
    "Intent",
    "InteractionNotAnswered",
    "InteractionRecord",
    "Msg",
    "NoReply",
    "Perm",
    "Reply",
    "RestCall",
    "StandinConfig",
    "StandinServer",
    "UploadedFile",
    "UserRef",
]
