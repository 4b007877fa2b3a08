"""Pure rules for per-guild setup: the cohort's configuration and its week-one window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.errors import InvalidInput
from bot.timezones import to_tzinfo

WEEK_ONE_DAYS = 7


@dataclass(frozen=True)
class GuildConfig:
    guild_id: int
    channel_id: int
    cohort_start: date
    timezone: str
    learner_role_id: int | None = None
    staff_role_id: int | None = None
    staff_channel_id: int | None = None

    def cohort_start_utc(self) -> datetime:
        """Midnight of the start date in the cohort's zone, as an aware UTC instant."""
        local = datetime.combine(self.cohort_start, time(0, 0), tzinfo=to_tzinfo(self.timezone))
        return local.astimezone(to_tzinfo("UTC"))

    def week_one_ends_utc(self) -> datetime:
        return week_one_ends(self.cohort_start, self.timezone)

    def is_after_week_one(self, now: datetime) -> bool:
        return now >= self.week_one_ends_utc()


def week_one_ends(cohort_start: date, timezone: str) -> datetime:
    """Midnight after week one's last day in the cohort's zone, as an aware UTC instant."""
    local = datetime.combine(cohort_start + timedelta(days=WEEK_ONE_DAYS), time(0, 0), tzinfo=to_tzinfo(timezone))
    return local.astimezone(to_tzinfo("UTC"))


def parse_cohort_start(text: str) -> date:
    """`YYYY-MM-DD` only; anything else (including impossible dates) is a clear error."""
    cleaned = text.strip()
    try:
        if len(cleaned) != 10:
            raise ValueError
        return date.fromisoformat(cleaned)
    except ValueError:
        raise InvalidInput(f"`{cleaned[:20]}` is not a real date. Use YYYY-MM-DD, e.g. 2026-12-07.") from None
