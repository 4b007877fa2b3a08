"""The week-one rules the cohort simulator asked for: shorter expiry late in the week, automatic seating, seats
on other projects for learners alone."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.matching import (
    AUTO_SEAT_EVERY,
    AloneLearner,
    PoolEntry,
    Team,
    TeamMember,
    Track,
    alone_to_tell,
    auto_seat_times,
    early_tracks,
    next_auto_seat,
    plan_leftovers,
    proposal_ttl_hours,
    seat_cutoff,
    tells_alone,
)
from bot.settings import Settings, SettingsError

START = datetime(2026, 3, 2, tzinfo=UTC)
END = START + timedelta(days=7)


def day(days: float) -> datetime:
    return START + timedelta(days=days)


@pytest.mark.parametrize(
    ("now", "week_ends", "ttl", "expected"),
    [
        (day(0), END, 48.0, 48.0),  # 168 h left: a third is 56 h, the setting is shorter
        (day(4), END, 48.0, 24.0),  # 72 h left
        (day(6), END, 48.0, 8.0),  # 24 h left: never below the floor
        (day(6.9), END, 48.0, 8.0),
        (day(6), END, 6.0, 6.0),  # a shorter setting is never lengthened
        (day(8), END, 48.0, 48.0),  # after week one: the usual pace
        (day(6), None, 48.0, 48.0),  # no cohort configured
    ],
)
def test_proposal_ttl_hours(now: datetime, week_ends: datetime | None, ttl: float, expected: float) -> None:
    assert proposal_ttl_hours(now, week_ends, ttl) == pytest.approx(expected)


def test_auto_seat_times_cover_week_one_only() -> None:
    times = auto_seat_times(START, END)
    assert times[0] == START + AUTO_SEAT_EVERY
    assert times[-1] < END
    assert all(later - earlier == AUTO_SEAT_EVERY for earlier, later in itertools.pairwise(times))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (day(0), START + AUTO_SEAT_EVERY),
        (START + AUTO_SEAT_EVERY - timedelta(milliseconds=500), START + AUTO_SEAT_EVERY),  # a timer waking early
        (day(5) + timedelta(minutes=1), day(5) + AUTO_SEAT_EVERY),
        (END - timedelta(minutes=1), None),
        (day(9), None),
    ],
)
def test_next_auto_seat(now: datetime, expected: datetime | None) -> None:
    assert next_auto_seat(now, START, END) == expected


@pytest.mark.parametrize(
    ("now", "seat_day", "after", "expected"),
    [
        (day(5), 5.0, None, day(5)),  # from the seat day on: everyone left over
        (day(6), 5.0, 12.0, day(6)),
        (day(2), 5.0, None, None),  # before it, without early seating: nobody
        (day(2), 5.0, 12.0, day(2) - timedelta(hours=12)),  # before it: those who waited 12 hours
        (day(6), None, None, None),  # both off
        (day(6), None, 12.0, day(6) - timedelta(hours=12)),
    ],
)
def test_seat_cutoff(now: datetime, seat_day: float | None, after: float | None, expected: datetime | None) -> None:
    assert seat_cutoff(now, START, seat_day, after) == expected


@pytest.mark.parametrize(
    ("now", "seat_day", "expected"),
    [
        (day(5), 5.0, True),
        (day(5) + AUTO_SEAT_EVERY, 5.0, False),  # the next run does not repeat the DM
        (day(5) - AUTO_SEAT_EVERY, 5.0, False),
        (day(5.05), 5.05, True),
        (day(5), None, False),
    ],
)
def test_tells_alone_once(now: datetime, seat_day: float | None, expected: bool) -> None:
    assert tells_alone(now, START, seat_day) is expected


def entry(user: int, track: Track, hours: float, project: str = "job-board") -> PoolEntry:
    return PoolEntry(1, user, project, track, None, START + timedelta(hours=hours))


def team(team_id: int, *members: tuple[int, Track], project: str = "job-board") -> Team:
    return Team(
        team_id,
        1,
        project,
        None,
        None,
        None,
        START,
        members=tuple(TeamMember(user, track, START) for user, track in members),
    )


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        ([entry(1, "backend", 0), entry(2, "backend", 0), entry(3, "frontend", 0)], {"backend"}),
        ([entry(1, "frontend", 0), entry(2, "frontend", 0), entry(3, "backend", 0)], {"frontend"}),
        (
            [entry(1, "backend", 0), entry(2, "backend", 0), entry(4, "backend", 0), entry(3, "frontend", 0)],
            {"backend"},
        ),
        ([entry(1, "backend", 0), entry(3, "frontend", 0)], set()),  # close lines: a counterpart is likely to come
        ([entry(1, "backend", 0), entry(2, "backend", 0), entry(3, "frontend", 0), entry(4, "frontend", 0)], set()),
        ([entry(1, "backend", 0)], {"backend"}),
    ],
)
def test_early_tracks_are_a_line_twice_the_other(pool: list[PoolEntry], expected: set[str]) -> None:
    assert early_tracks(pool) == expected


def test_early_seating_takes_only_long_waits_of_the_longer_line() -> None:
    teams = [team(1, (10, "frontend"), (20, "backend")), team(2, (11, "frontend"), (21, "backend"))]
    pool = [
        entry(30, "backend", 0),  # waited 24 hours: seated
        entry(31, "backend", 20),  # waited 4 hours: not yet
        entry(40, "frontend", 0, project="online-poll"),  # the scarcer track: keeps waiting for a counterpart
        entry(32, "backend", 1, project="online-poll"),  # a counterpart waits on online-poll: not a leftover
    ]
    now = START + timedelta(hours=24)
    plan = plan_leftovers(pool, teams, set(), {}, now, queued_by=now - timedelta(hours=12))
    assert [(join.user_id, join.team_id) for join in plan.joins] == [(30, 1)]
    assert plan.alone == ()


def test_alone_learners_are_offered_seats_on_other_projects() -> None:
    teams = [
        team(1, (10, "frontend"), (20, "backend"), project="online-poll"),
        team(2, (11, "frontend"), (21, "backend"), project="online-poll"),
        team(3, (12, "frontend"), (22, "backend"), project="social-feed"),
        team(4, (13, "frontend"), (23, "backend"), (24, "backend"), project="ecommerce"),  # full
        team(5, (14, "frontend"), (25, "backend"), project="movie-recommendation"),
    ]
    pool = [entry(30, "backend", 0, project="custom:budget-tracker")]
    blocked = {(14, 30)}  # met the movie team's frontend before
    plan = plan_leftovers(pool, teams, blocked, {}, day(5))
    [alone] = plan.alone
    assert alone.pointers == ()
    assert [(seat.project_key, seat.waiting) for seat in alone.seats] == [("online-poll", 2), ("social-feed", 1)]


def test_seating_settings_from_the_environment(tmp_path: Path) -> None:
    environ = {"NEXUS_CONFIG": str(tmp_path / "none.yaml"), "NEXUS_AUTO_SEAT_DAY": "4.5", "NEXUS_SEAT_AFTER_HOURS": "8"}
    settings = Settings.from_env(environ, env_file=None)
    assert (settings.auto_seat_day, settings.seat_after_hours) == (4.5, 8.0)


@pytest.mark.parametrize(
    ("changes", "message"), [({"auto_seat_day": 8}, "auto_seat_day"), ({"seat_after_hours": -1}, "seat_after_hours")]
)
def test_seating_settings_refuse_nonsense(changes: dict[str, float], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings(**changes)  # type: ignore[arg-type]


def alone(user: int, queued: datetime) -> AloneLearner:
    return AloneLearner(user, "job-board", "backend", queued_at=queued)


@pytest.mark.parametrize(
    ("now", "seat_day", "after", "told"),
    [
        (day(5), 5.0, None, [1, 2, 3, 5]),  # the seat day's run: everyone in line by then
        (day(5) + AUTO_SEAT_EVERY, 5.0, None, [4]),  # later runs: only who joined the line since the run before
        (day(5) + AUTO_SEAT_EVERY, 5.0, 6.0, [4]),
        (day(4), 5.0, None, []),  # no early seating: nobody before the seat day
        (day(1) + timedelta(hours=7), 5.0, 6.0, [5]),  # early seating: whose wait crossed 6 hours since the run before
        (day(5) + AUTO_SEAT_EVERY, None, None, []),
    ],
)
def test_alone_to_tell(now: datetime, seat_day: float | None, after: float | None, told: list[int]) -> None:
    learners = [
        alone(1, day(1) - timedelta(hours=2)),
        alone(2, day(5) - timedelta(hours=4)),
        alone(3, day(5) - timedelta(minutes=1)),
        alone(4, day(5) + timedelta(hours=1)),
        alone(5, day(1)),
    ]
    queued_by = seat_cutoff(now, START, seat_day, after)
    considered = [learner for learner in learners if queued_by is not None and learner.queued_at <= queued_by]
    assert [learner.user_id for learner in alone_to_tell(considered, now, START, seat_day, after)] == told
