"""Per-person cooldowns for commands that post in public or make the bot DM other people."""

from __future__ import annotations

import math
from collections.abc import Hashable
from datetime import datetime, timedelta

from bot.errors import UserError

# Forgotten entries are swept once the table grows past this, so it stays small without a timer.
SWEEP_AT = 512


def wait_text(seconds: float) -> str:
    return f"Slow down a little: try again in {max(1, math.ceil(seconds))} s."


class CoolingDown(UserError):
    """The person used this command too recently; the message says how long to wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(wait_text(seconds))
        self.seconds = seconds


class Cooldown:
    """One use per `seconds` per key (a user id). 0 seconds turns it off."""

    def __init__(self, seconds: float) -> None:
        self.period = timedelta(seconds=seconds)
        self._last: dict[Hashable, datetime] = {}

    def use(self, key: Hashable, now: datetime) -> None:
        """Record a use now, or raise CoolingDown (recording nothing) if the last one was too recent."""
        if not self.period:
            return
        last = self._last.get(key)
        if last is not None and now < last + self.period:
            raise CoolingDown((last + self.period - now).total_seconds())
        if len(self._last) >= SWEEP_AT:
            self._last = {k: t for k, t in self._last.items() if now < t + self.period}
        self._last[key] = now
