"""Pure timezone rules: accept an IANA name or a UTC offset, and suggest names while someone types."""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import InvalidInput

OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
MAX_CHOICES = 25


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every IANA zone name (read from the tz database on disk once, ~10 ms: start-up calls it, not a learner)."""
    return tuple(sorted(name for name in available_timezones() if "/" in name or name == "UTC"))


@lru_cache(maxsize=1)
def _by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in timezone_names()}


def normalise_timezone(text: str) -> str:
    """A canonical label: the IANA name as spelled in the tz database, or `UTC+HH:MM`."""
    cleaned = text.strip().replace(" ", "_")
    if not cleaned:
        raise InvalidInput("Timezone is empty. Use an IANA name such as Africa/Lagos, or an offset like UTC+1.")
    if cleaned.casefold() in {"utc", "gmt", "z"}:
        return "UTC"
    match = OFFSET.match(text.strip())
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
            raise InvalidInput(f"`{text[:40]}` is not a real UTC offset (they run from UTC-12 to UTC+14).")
        return f"UTC{sign}{hours:02d}:{minutes:02d}"
    name = _by_folded_name().get(cleaned.casefold())
    if name is None:
        raise InvalidInput(
            f"`{text[:40]}` is not a timezone I know. Pick one from the list, e.g. Africa/Nairobi, "
            "Europe/London, or an offset like UTC+3."
        )
    return name


def to_tzinfo(label: str) -> tzinfo:
    """The tzinfo for a label produced by `normalise_timezone`."""
    if label == "UTC":
        return UTC
    match = OFFSET.match(label)
    if match and label.upper().startswith("UTC") and label != "UTC":
        sign = -1 if match.group(1) == "-" else 1
        delta = timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
        return timezone(sign * delta, label)
    try:
        return ZoneInfo(label)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"`{label[:40]}` is not a timezone I know.") from None


def suggest_timezones(query: str, limit: int = MAX_CHOICES) -> list[str]:
    """Names for autocomplete: prefix matches on the name or its city part first, then substrings."""
    folded = query.strip().casefold().replace(" ", "_")
    names = timezone_names()
    if not folded:
        popular = (
            "UTC",
            "Africa/Lagos",
            "Africa/Nairobi",
            "Africa/Cairo",
            "Africa/Johannesburg",
            "Europe/London",
            "Europe/Berlin",
            "Asia/Kolkata",
            "Asia/Dubai",
            "America/New_York",
        )
        return list(popular[:limit])
    offset = OFFSET.match(query.strip())
    head: list[str] = []
    if offset:
        try:
            head = [normalise_timezone(query)]
        except InvalidInput:
            head = []
    prefix = [n for n in names if n.casefold().startswith(folded) or n.casefold().split("/")[-1].startswith(folded)]
    contains = [n for n in names if folded in n.casefold() and n not in prefix]
    return (head + prefix + contains)[:limit]
