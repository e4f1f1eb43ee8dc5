"""KeyedLocks: a waiter that fails or is cancelled never holds (or leaks) the lock."""

from __future__ import annotations

import asyncio

from bot.exts.study._locks import KeyedLocks


async def test_keyed_locks_never_leak_to_a_failed_or_cancelled_waiter():
    locks = KeyedLocks()
    order: list[str] = []

    async def worker(name: str, slow=None) -> None:
        async with locks.hold(1, slow=slow, after=0.01):
            order.append(name)
            await asyncio.sleep(0.05)

    async def fail() -> None:
        raise RuntimeError("could not acknowledge")

    first = asyncio.ensure_future(worker("first"))
    await asyncio.sleep(0)
    failing = asyncio.ensure_future(worker("failing", slow=fail))
    cancelled = asyncio.ensure_future(worker("cancelled"))
    waiting = asyncio.ensure_future(worker("waiting"))
    await asyncio.sleep(0.02)
    cancelled.cancel()
    results = await asyncio.gather(first, failing, cancelled, waiting, return_exceptions=True)
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], asyncio.CancelledError)
    assert order == ["first", "waiting"]
    assert len(locks) == 0
    async with locks.hold(1):  # free again
        assert len(locks) == 1
