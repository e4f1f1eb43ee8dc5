"""Per-user cooldowns, shared by every way of asking.

One cooldown per kind of request: "ask" (/ask, /study ask, mentions, questions in a study
thread) and "search" (/search), so a user cannot dodge one by asking another way. Each kind
is discord.py's own `CooldownMapping` of `app_commands.Cooldown` (one use per `per` seconds
per user), which also forgets users whose cooldown is over. A request is charged when it
starts and refunded when it could not be asked at all (a QueryError: an empty question,
only common words) — both in `Cooldowns.spend`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping

from discord import app_commands
from discord.ext import commands

from knowledge import QueryError


def _per_user(user_id: int) -> int:
    return user_id


class Cooldowns:
    """The cooldown of each kind ("ask", "search"), in seconds; 0 switches a kind off."""

    def __init__(
        self, seconds: Mapping[str, float], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._mappings = {
            kind: commands.CooldownMapping(app_commands.Cooldown(1, per), _per_user)
            for kind, per in seconds.items()
            if per > 0
        }

    @contextlib.contextmanager
    def spend(self, kind: str, user_id: int, *, charged: bool = False) -> Iterator[None]:
        """Charge one `kind` request to the user for the `with` block: CommandOnCooldown if
        they must wait; refunded if the block raises QueryError. `charged`: it was charged
        already (an interaction answered after a restart), so it is not charged again."""
        mapping = self._mappings.get(kind)
        if mapping is None or charged:
            yield
            return
        now = self._clock()
        bucket = mapping.get_bucket(user_id, now)
        assert bucket is not None
        retry_after = bucket.update_rate_limit(now)
        if retry_after is not None:
            raise app_commands.CommandOnCooldown(bucket, retry_after)
        try:
            yield
        except QueryError:
            bucket.reset()
            raise
