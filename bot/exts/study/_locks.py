"""A mutex per key, for one /study start per channel and one quiz being made per session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field


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
