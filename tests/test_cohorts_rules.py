"""Pure cohort rules, table-tested: state, which cohort a learner or a staff command means, names, retention."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.cohorts import (
    Cohort,
    CohortClosed,
    CohortUnclear,
    check_new_name,
    cohort_state,
    ensure_live,
    find_cohort,
    learner_cohort,
    parse_cohort_name,
    retention_step,
    staff_cohort,
    suggest_cohorts,
)
from bot.errors import InvalidInput, NotFound

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CLOSED = datetime(2026, 3, 1, tzinfo=UTC)
ROLE_A, ROLE_B = 901, 902


def cohort(
    cid: int,
    name: str,
    channel: int,
    *,
    start: str = "2026-03-02",
    role: int | None = None,
    closed: datetime | None = None,
    tz: str = "UTC",
) -> Cohort:
    return Cohort(cid, 1, name, date.fromisoformat(start), tz, channel, role, closed)


A = cohort(1, "Cohort A", 10, role=ROLE_A)
B = cohort(2, "Cohort B", 20, role=ROLE_B)
SHARED_A = cohort(3, "Shared A", 30, role=ROLE_A)
SHARED_B = cohort(4, "Shared B", 30, role=ROLE_B)
OLD = cohort(5, "Old", 50, start="2025-12-01", closed=CLOSED)
NEXT = cohort(6, "Next", 60, start="2026-05-04")


@pytest.mark.parametrize(
    ("start", "tz", "closed", "now", "expected"),
    [
        ("2026-03-10", "UTC", None, NOW, "open"),
        ("2026-03-11", "UTC", None, NOW, "upcoming"),
        # Midnight in the cohort's own zone: Lagos (UTC+1) starts an hour before UTC does.
        ("2026-03-11", "Africa/Lagos", None, datetime(2026, 3, 10, 23, 0, tzinfo=UTC), "open"),
        ("2026-03-11", "Africa/Lagos", None, datetime(2026, 3, 10, 22, 59, tzinfo=UTC), "upcoming"),
        # Across a daylight-saving change (New York moved to UTC-4 on 2026-03-08).
        ("2026-03-09", "America/New_York", None, datetime(2026, 3, 9, 3, 59, tzinfo=UTC), "upcoming"),
        ("2026-03-09", "America/New_York", None, datetime(2026, 3, 9, 4, 0, tzinfo=UTC), "open"),
        ("2026-03-11", "UTC", CLOSED, NOW, "closed"),
        ("2026-03-01", "UTC", CLOSED, NOW, "closed"),
    ],
)
def test_state_follows_the_start_in_its_zone_and_the_closed_flag(
    start: str, tz: str, closed: datetime | None, now: datetime, expected: str
) -> None:
    assert cohort_state(date.fromisoformat(start), tz, closed, now) == expected


@pytest.mark.parametrize(
    ("cohorts", "channel", "roles", "expected"),
    [
        ([A, B], 10, [], A),  # the channel decides
        ([A, B], 20, [ROLE_A], B),  # ... even over a role
        ([SHARED_A, SHARED_B], 30, [ROLE_B], SHARED_B),  # one channel, told apart by role
        ([A, B], 99, [ROLE_B], B),  # elsewhere: the role decides
        ([A], 99, [], A),  # the only open cohort
        ([A, NEXT], 99, [], A),  # the only open one; the other has not started
        ([NEXT], 99, [], NEXT),  # before any opens, the only live one
        ([A, OLD], 99, [], A),  # closed cohorts are not candidates elsewhere
        ([A, OLD], 50, [], OLD),  # ... but their own channel shows them (the frozen board)
        ([OLD, cohort(7, "New in old channel", 50)], 50, [], cohort(7, "New in old channel", 50)),
    ],
)
def test_which_cohort_a_learner_is_in(cohorts: list[Cohort], channel: int, roles: list[int], expected: Cohort) -> None:
    assert learner_cohort(cohorts, channel_id=channel, role_ids=roles, now=NOW) == expected


@pytest.mark.parametrize(
    ("cohorts", "channel", "roles", "listed"),
    [
        ([A, B], 99, [], ["Cohort A", "Cohort B"]),
        ([SHARED_A, SHARED_B], 30, [], ["Shared A", "Shared B"]),
        ([A, B], 99, [ROLE_A, ROLE_B], ["Cohort A", "Cohort B"]),
    ],
)
def test_an_unclear_learner_cohort_is_a_private_error_listing_the_open_ones(
    cohorts: list[Cohort], channel: int, roles: list[int], listed: list[str]
) -> None:
    with pytest.raises(CohortUnclear) as caught:
        learner_cohort(cohorts, channel_id=channel, role_ids=roles, now=NOW)
    message = str(caught.value)
    for name in listed:
        assert name in message
    assert "ask staff" in message


def test_no_open_cohort_and_no_cohort_at_all() -> None:
    with pytest.raises(CohortUnclear, match="No cohort is open"):
        learner_cohort([OLD], channel_id=99, role_ids=[], now=NOW)
    assert learner_cohort([], channel_id=99, role_ids=[], now=NOW) is None
    assert staff_cohort([], named=None, channel_id=99) is None


@pytest.mark.parametrize(
    ("cohorts", "named", "channel", "expected"),
    [
        ([A, B], "cohort b", 10, B),  # explicit option first, any letter case
        ([A, B], "2", 10, B),  # autocomplete sends the id
        ([A, B], None, 20, B),  # then the channel
        ([A, OLD], None, 50, OLD),  # a closed cohort through its channel (export, frozen board)
        ([A, OLD], None, 99, A),  # then the only live one
        ([OLD], None, 99, OLD),  # or the only one
        ([A, B], "  ", 20, B),  # a blank option is no option
    ],
)
def test_which_cohort_a_staff_command_acts_on(
    cohorts: list[Cohort], named: str | None, channel: int, expected: Cohort
) -> None:
    assert staff_cohort(cohorts, named=named, channel_id=channel) == expected


def test_staff_are_asked_when_several_could_be_meant() -> None:
    with pytest.raises(CohortUnclear, match="cohort:") as caught:
        staff_cohort([A, B, OLD], named=None, channel_id=99)
    assert "Cohort A" in str(caught.value) and "Old" not in str(caught.value)


@pytest.mark.parametrize("named", ["Cohort C", "99", "<@&1> @everyone", "x" * 500])
def test_an_unknown_cohort_name_is_not_found_and_shown_inert(named: str) -> None:
    with pytest.raises(NotFound) as caught:
        find_cohort([A, B], named)
    message = str(caught.value)
    assert "Cohort A" in message and len(message) < 400
    assert "<@&1>" not in message and "@everyone" not in message.replace("\\@", "")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("  ProDev   BE Cohort 5 ", "ProDev BE Cohort 5"),
        ("Cohort\u202e 6", "Cohort 6"),  # direction override removed
        ("x" * 60, "x" * 60),
    ],
)
def test_names_are_one_visible_line(typed: str, expected: str) -> None:
    assert parse_cohort_name(typed) == expected


@pytest.mark.parametrize("typed", ["", "   ", "\u200b", "x" * 61])
def test_bad_names_are_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_cohort_name(typed)


def test_names_are_unique_per_server_whatever_the_case() -> None:
    with pytest.raises(InvalidInput, match="already has"):
        check_new_name([A, B], "COHORT a")
    check_new_name([A, B], "Cohort A", except_id=A.id)  # renaming to itself is fine
    check_new_name([A, B], "Cohort C")


def test_a_closed_cohort_refuses_changes() -> None:
    ensure_live(A)
    with pytest.raises(CohortClosed, match="Old"):
        ensure_live(OLD)


def test_autocomplete_lists_live_cohorts_first_then_newest() -> None:
    choices = suggest_cohorts([OLD, A, NEXT], "", NOW)
    assert [value for _, value in choices] == ["6", "1", "5"]
    assert choices[0][0] == "Next (upcoming, starts 2026-05-04)"
    assert suggest_cohorts([OLD, A, NEXT], "ol", NOW) == [("Old (closed, starts 2025-12-01)", "5")]


@pytest.mark.parametrize(
    ("days", "since_close", "noticed", "purged", "expected"),
    [
        (180, timedelta(days=100), False, False, None),
        (180, timedelta(days=173), False, False, "notice"),
        (180, timedelta(days=175), True, False, None),  # told once
        (180, timedelta(days=180), True, False, "purge"),
        (180, timedelta(days=180), False, False, "purge"),  # late start: purge is not held back by the notice
        (180, timedelta(days=400), True, True, None),  # done
        (0, timedelta(days=4000), False, False, None),  # 0 keeps forever
    ],
)
def test_retention_notice_then_purge(
    days: int, since_close: timedelta, noticed: bool, purged: bool, expected: str | None
) -> None:
    closed = cohort(9, "Closed", 90, closed=CLOSED)
    closed = Cohort(
        closed.id,
        closed.guild_id,
        closed.name,
        closed.start_date,
        closed.timezone,
        closed.channel_id,
        None,
        CLOSED,
        CLOSED if noticed else None,
        CLOSED if purged else None,
    )
    assert retention_step(closed, days, CLOSED + since_close) == expected
    assert retention_step(A, days, CLOSED + since_close) is None  # never for an open cohort
