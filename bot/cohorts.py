"""Pure rules for cohorts: a cohort's state, which cohort a learner is in, which one a staff command acts on,
names, and when a closed cohort's personal data is due for deletion (retention)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from bot.errors import InvalidInput, NotFound, UserError
from bot.text import plain, shown
from bot.timezones import to_tzinfo

CohortState = Literal["upcoming", "open", "closed"]
NAME_MAX = 60
PURGE_NOTICE_DAYS = 7
# How many cohorts an error message lists before "and n more": the message must stay short and private.
LISTED = 10


class CohortUnclear(UserError):
    """Nexus cannot tell which cohort a command is about; the message says how to make it clear."""


class CohortClosed(UserError):
    """The cohort has closed: its board stays readable, nothing in it changes any more."""


@dataclass(frozen=True)
class Cohort:
    id: int
    guild_id: int
    name: str
    start_date: date
    timezone: str
    channel_id: int
    learner_role_id: int | None = None
    closed_at: datetime | None = None
    purge_notice_at: datetime | None = None
    purged_at: datetime | None = None

    def state(self, now: datetime) -> CohortState:
        return cohort_state(self.start_date, self.timezone, self.closed_at, now)

    def is_live(self) -> bool:
        """Not closed: learners may still announce and be matched (an upcoming cohort takes early announcements)."""
        return self.closed_at is None

    @property
    def label(self) -> str:
        """The name for a Markdown place."""
        return shown(self.name, NAME_MAX)


def cohort_state(start: date, timezone: str, closed_at: datetime | None, now: datetime) -> CohortState:
    """Closed once staff closed it; else upcoming until midnight of its start date in its zone; else open."""
    if closed_at is not None:
        return "closed"
    starts = datetime.combine(start, time(0, 0), tzinfo=to_tzinfo(timezone))
    return "upcoming" if now < starts else "open"


def parse_cohort_name(text: str) -> str:
    """One line of visible text, 1-NAME_MAX characters; what staff see and pick it by."""
    cleaned = plain(text)
    if not cleaned:
        raise InvalidInput("A cohort needs a name, e.g. `ProDev BE Cohort 5`.")
    if len(cleaned) > NAME_MAX:
        raise InvalidInput(f"A cohort name can be at most {NAME_MAX} characters (that one has {len(cleaned)}).")
    return cleaned


def same_name(first: str, second: str) -> bool:
    return plain(first).casefold() == plain(second).casefold()


def _listing(cohorts: Sequence[Cohort]) -> str:
    shown_ones = [f"**{cohort.label}** (<#{cohort.channel_id}>)" for cohort in cohorts[:LISTED]]
    more = len(cohorts) - LISTED
    return ", ".join(shown_ones) + (f" and {more} more" if more > 0 else "")


def _live(cohorts: Iterable[Cohort]) -> list[Cohort]:
    return [cohort for cohort in cohorts if cohort.is_live()]


def learner_cohort(
    cohorts: Sequence[Cohort], *, channel_id: int | None, role_ids: Iterable[int], now: datetime
) -> Cohort | None:
    """The cohort a learner's command is about; None when the server has no cohort at all (not set up).

    The cohort whose channel the command runs in (narrowed by learner role when cohorts share a channel); else the
    live cohort whose learner role they have; else the only open cohort (or the only live one, before any opens);
    else a private error listing the open cohorts. A closed cohort is found only through its own channel, so its
    frozen board stays readable there.
    """
    if not cohorts:
        return None
    roles = set(role_ids)
    here = [cohort for cohort in cohorts if cohort.channel_id == channel_id]
    live_here = _live(here)
    if len(live_here) == 1:
        return live_here[0]
    if len(live_here) > 1:
        with_role = [cohort for cohort in live_here if cohort.learner_role_id in roles]
        if len(with_role) == 1:
            return with_role[0]
    elif len(here) == 1:
        return here[0]
    live = _live(cohorts)
    with_role = [cohort for cohort in live if cohort.learner_role_id is not None and cohort.learner_role_id in roles]
    if len(with_role) == 1:
        return with_role[0]
    candidates = with_role or live_here or live
    open_now = [cohort for cohort in candidates if cohort.state(now) == "open"]
    if len(open_now) == 1:
        return open_now[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise CohortUnclear("No cohort is open in this server right now. Ask staff when the next one starts.")
    raise CohortUnclear(
        f"I can't tell which cohort you're in. Run the command in your cohort's channel: {_listing(candidates)}, "
        "or ask staff to give you your cohort's role."
    )


def staff_cohort(cohorts: Sequence[Cohort], *, named: str | None, channel_id: int | None) -> Cohort | None:
    """The cohort a staff command acts on; None when the server has no cohort at all (not set up).

    The one named in the `cohort:` option (by name, or by id as autocomplete sends it); else the one whose
    channel the command runs in (a live one before a closed one); else the only live cohort, or the only cohort;
    else a private question listing them.
    """
    if named is not None and named.strip():
        return find_cohort(cohorts, named)
    if not cohorts:
        return None
    here = [cohort for cohort in cohorts if cohort.channel_id == channel_id]
    for group in (_live(here), here):
        if len(group) == 1:
            return group[0]
    live = _live(cohorts)
    if len(live) == 1:
        return live[0]
    if len(cohorts) == 1:
        return cohorts[0]
    choices = live or list(cohorts)
    raise CohortUnclear(f"Which cohort? Several could be meant: {_listing(choices)}. Run it again with `cohort:`.")


def find_cohort(cohorts: Sequence[Cohort], named: str) -> Cohort:
    """The cohort staff named: its exact id (what autocomplete sends) or its name, whatever the letter case."""
    text = named.strip()
    if text.isdigit():
        for cohort in cohorts:
            if cohort.id == int(text):
                return cohort
    for cohort in cohorts:
        if same_name(cohort.name, text):
            return cohort
    known = f" Cohorts here: {_listing(list(cohorts))}." if cohorts else " This server has no cohorts yet."
    raise NotFound(f"There is no cohort called {shown(text, 40)}.{known}")


def suggest_cohorts(cohorts: Sequence[Cohort], typed: str, now: datetime, limit: int = 25) -> list[tuple[str, str]]:
    """Autocomplete: (label, value) pairs, live cohorts first then newest first, filtered by what was typed."""
    needle = plain(typed).casefold()
    found = [cohort for cohort in cohorts if needle in cohort.name.casefold()]
    found.sort(key=lambda cohort: (not cohort.is_live(), -cohort.start_date.toordinal(), cohort.id))
    return [
        (plain(f"{cohort.name} ({cohort.state(now)}, starts {cohort.start_date})", 100), str(cohort.id))
        for cohort in found[:limit]
    ]


def check_new_name(cohorts: Sequence[Cohort], name: str, *, except_id: int | None = None) -> None:
    """Two cohorts of a server never share a name: staff pick them by it."""
    for cohort in cohorts:
        if cohort.id != except_id and same_name(cohort.name, name):
            raise InvalidInput(f"This server already has a cohort called **{cohort.label}**. Pick another name.")


def ensure_live(cohort: Cohort) -> None:
    """Refuse a change to a closed cohort."""
    if not cohort.is_live():
        raise CohortClosed(f"**{cohort.label}** has closed: its board can still be read, but nothing in it changes.")


def purge_due_at(closed_at: datetime, retention_days: int) -> datetime | None:
    """When a closed cohort's personal data is deleted; None keeps it forever (retention_days 0)."""
    if retention_days <= 0:
        return None
    return closed_at + timedelta(days=retention_days)


RetentionStep = Literal["notice", "purge"]


def retention_step(cohort: Cohort, retention_days: int, now: datetime) -> RetentionStep | None:
    """What retention owes a cohort now: nothing, the staff notice (PURGE_NOTICE_DAYS ahead), or the deletion."""
    if cohort.closed_at is None or cohort.purged_at is not None:
        return None
    due = purge_due_at(cohort.closed_at, retention_days)
    if due is None:
        return None
    if now >= due:
        return "purge"
    if cohort.purge_notice_at is None and now >= due - timedelta(days=PURGE_NOTICE_DAYS):
        return "notice"
    return None
