"""pytest fixtures for the Discord stand-in.

Register with ``pytest_plugins = ["standin.plugin"]`` in ``tests/conftest.py``
(or ``-p standin.plugin`` on the command line). The fixture is called ``standin``, not
``discord``, so that it never hides the discord.py package inside a test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .harness import Discord
from .server import StandinConfig


@pytest.fixture
def standin_config() -> StandinConfig:
    """Stand-in settings for one test; override this fixture to change them.

    Heartbeats every 0.5 s so the heartbeat/ACK path runs even in short tests.
    """
    return StandinConfig(heartbeat_interval_ms=500)


@pytest.fixture
async def standin(standin_config: StandinConfig) -> AsyncIterator[Discord]:
    """A running stand-in with the default world (guild, alice/bob/mod, channels, a thread).

    Everything started through it (clients, sockets, discord.py patches) is torn down after
    the test.
    """
    harness = await Discord.start(standin_config)
    try:
        yield harness
    finally:
        await harness.stop()
