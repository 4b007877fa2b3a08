"""Pure matching rules, table-tested: fairness, timezone preference, blocks, answers, expiry, teams, leftovers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import InvalidInput, NotFound
from bot.matching import (
    BlockReason,
    Candidate,
    Choice,
    CounterpartSearch,
    PoolEntry,
    Proposal,
    Team,
    TeamMember,
    Track,
    check_manual_pair,
    pair_key,
    plan_leftovers,
    project_label,
    settle_answer,
    settle_expiry,
    settle_withdrawal,
    team_after_leaving,
    timezone_gap,
    timezones_close,
)


def choose_counterpart(seeker: PoolEntry, candidates: Sequence[Candidate], now: datetime) -> Candidate | None:
    """Run production's CounterpartSearch over a line given in any order, as the store feeds it in line order."""
    ordered = sorted(candidates, key=lambda candidate: (candidate.queued_at, candidate.user_id))
    search = CounterpartSearch(seeker, now)
    search.offer(ordered)
    return search.choice


WINTER = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def seeker(track: Track = "backend", timezone: str | None = None, user_id: int = 1) -> PoolEntry:
    return PoolEntry(1, user_id, "job-board", track, timezone, at(1000))


def candidate(
    user_id: int,
    minute: int,
    timezone: str | None = None,
    *,
    track: Track = "frontend",
    blocked: bool = False,
    gone: bool = False,
) -> Candidate:
    return Candidate(user_id, track, timezone, at(minute), blocked=blocked, gone=gone)


# ------------------------------------------------------------------------------------------ choosing


@pytest.mark.parametrize(
    ("case", "me", "line", "expected"),
    [
        ("first come, first served", seeker(), [candidate(10, 0), candidate(11, 5)], 10),
        ("line order comes from queued_at, not list order", seeker(), [candidate(11, 5), candidate(10, 0)], 10),
        ("same instant: lower user id first", seeker(), [candidate(12, 0), candidate(11, 0)], 11),
        (
            "a requeued learner keeps their original, earlier place",
            seeker(),
            [candidate(20, 30), candidate(21, 40), candidate(5, 1)],
            5,
        ),
        (
            "prefers the earliest within ±3 h",
            seeker(timezone="Africa/Lagos"),
            [candidate(10, 0, "America/New_York"), candidate(11, 5, "Europe/Berlin"), candidate(12, 9, "UTC")],
            11,
        ),
        (
            "preference, never a wall: nobody close → the earliest overall",
            seeker(timezone="Africa/Lagos"),
            [candidate(10, 0, "America/New_York"), candidate(11, 5, "Asia/Tokyo")],
            10,
        ),
        (
            "exactly 3 h apart counts as close",
            seeker(timezone="Africa/Lagos"),
            [candidate(10, 0, "America/Sao_Paulo"), candidate(11, 5, "Asia/Dubai")],
            11,
        ),
        (
            "3 h 30 is too far",
            seeker(timezone="UTC+02:00"),
            [candidate(10, 0, "America/New_York"), candidate(11, 5, "Asia/Kolkata")],
            10,
        ),
        (
            "an unknown timezone is never preferred",
            seeker(timezone="UTC"),
            [candidate(10, 0, "America/Los_Angeles"), candidate(11, 5, None), candidate(12, 9, "Europe/London")],
            12,
        ),
        (
            "without a timezone of my own: the earliest",
            seeker(timezone=None),
            [candidate(10, 0, "America/New_York"), candidate(11, 5, "UTC")],
            10,
        ),
        (
            "the clock wraps round: UTC+14 and UTC-11 are an hour apart",
            seeker(timezone="UTC+14:00"),
            [candidate(10, 0, "UTC"), candidate(11, 5, "UTC-11:00")],
            11,
        ),
        ("a blocked pair is never proposed", seeker(), [candidate(10, 0, blocked=True), candidate(11, 5)], 11),
        (
            "a blocked pair is skipped even when it is the only close one",
            seeker(timezone="UTC"),
            [candidate(10, 0, "UTC", blocked=True), candidate(11, 5, "Asia/Tokyo")],
            11,
        ),
        ("same track never", seeker(), [candidate(10, 0, track="backend"), candidate(11, 5)], 11),
        ("left or withdrew: skipped", seeker(), [candidate(10, 0, gone=True), candidate(11, 5)], 11),
        ("never oneself", seeker(user_id=10), [candidate(10, 0), candidate(11, 5)], 11),
        ("nobody eligible", seeker(), [candidate(10, 0, blocked=True), candidate(11, 5, gone=True)], None),
        ("empty line", seeker(), [], None),
    ],
)
def test_choose_counterpart(case: str, me: PoolEntry, line: list[Candidate], expected: int | None) -> None:
    chosen = choose_counterpart(me, line, WINTER)
    assert (chosen.user_id if chosen else None) == expected, case


def test_search_page_by_page_matches_whole_line_and_stops_early() -> None:
    me = seeker(timezone="Africa/Lagos")
    line = [candidate(10 + i, i, "America/New_York") for i in range(5)] + [candidate(99, 50, "Europe/Paris")]
    search = CounterpartSearch(me, WINTER)
    assert search.offer(line[:3]) is False  # only far ones so far: keep reading
    assert search.offer(line[3:]) is True
    assert search.choice == choose_counterpart(me, line, WINTER) == line[-1]


def test_search_without_own_timezone_is_done_at_first_eligible() -> None:
    search = CounterpartSearch(seeker(timezone=None), WINTER)
    assert search.offer([candidate(10, 0, blocked=True)]) is False
    assert search.skipped == 1
    assert search.offer([candidate(11, 1)]) is True


@pytest.mark.parametrize(
    ("first", "second", "now", "hours", "close"),
    [
        ("Africa/Lagos", "Europe/Berlin", WINTER, 0, True),
        ("Africa/Lagos", "Europe/Berlin", SUMMER, 1, True),
        # Daylight saving moves London an hour closer to Dubai in summer, across the 3 h line.
        ("Europe/London", "Asia/Dubai", WINTER, 4, False),
        ("Europe/London", "Asia/Dubai", SUMMER, 3, True),
        ("UTC+14:00", "UTC-12:00", WINTER, 2, True),
        ("Africa/Nairobi", None, WINTER, None, False),
        ("Not/AZone", "UTC", WINTER, None, False),
    ],
)
def test_timezone_gap(first: str, second: str | None, now: datetime, hours: int | None, close: bool) -> None:
    gap = timezone_gap(first, second, now)
    assert gap == (None if hours is None else timedelta(hours=hours))
    assert timezones_close(first, second, now) is close


# ------------------------------------------------------------------------------------------ answers


def proposal(frontend_answer: str | None = None, backend_answer: str | None = None, state: str = "pending") -> Proposal:
    return Proposal(
        id=7,
        guild_id=1,
        project_key="job-board",
        frontend_id=100,
        backend_id=200,
        frontend_answer=frontend_answer,  # type: ignore[arg-type]
        backend_answer=backend_answer,  # type: ignore[arg-type]
        state=state,  # type: ignore[arg-type]
        created_at=T0,
        expires_at=T0 + timedelta(hours=48),
    )


@pytest.mark.parametrize(
    ("before", "user", "answer", "leave_pool", "state", "requeue", "leave", "block"),
    [
        (proposal(), 100, "accepted", False, "pending", (), (), None),
        (proposal(backend_answer="accepted"), 100, "accepted", False, "accepted", (), (100, 200), "partnered"),
        (proposal(), 100, "declined", False, "declined", (200, 100), (), "declined"),
        (proposal(), 100, "declined", True, "declined", (200,), (100,), "declined"),
        (proposal(frontend_answer="accepted"), 200, "declined", False, "declined", (100, 200), (), "declined"),
        (proposal(frontend_answer="accepted"), 100, "declined", False, "declined", (200, 100), (), "declined"),
    ],
)
def test_settle_answer(
    before: Proposal,
    user: int,
    answer: str,
    leave_pool: bool,
    state: str,
    requeue: tuple[int, ...],
    leave: tuple[int, ...],
    block: BlockReason | None,
) -> None:
    settled = settle_answer(before, user, answer, leave_pool=leave_pool)  # type: ignore[arg-type]
    assert (settled.state, settled.requeue, settled.leave, settled.block) == (state, requeue, leave, block)
    assert settled.partnered is (state == "accepted")


@pytest.mark.parametrize(
    ("before", "user", "error"),
    [(proposal(state="expired"), 100, InvalidInput), (proposal(), 999, NotFound)],
)
def test_settle_answer_refuses(before: Proposal, user: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        settle_answer(before, user, "accepted")


@pytest.mark.parametrize(
    ("before", "requeue", "leave"),
    [
        (proposal(), (), (100, 200)),
        (proposal(frontend_answer="accepted"), (100,), (200,)),
        (proposal(backend_answer="accepted"), (200,), (100,)),
    ],
)
def test_settle_expiry(before: Proposal, requeue: tuple[int, ...], leave: tuple[int, ...]) -> None:
    settled = settle_expiry(before)
    assert (settled.state, settled.requeue, settled.leave) == ("expired", requeue, leave)
    assert settled.block is None


@pytest.mark.parametrize(("user", "requeue"), [(100, (200,)), (200, (100,))])
def test_settle_withdrawal(user: int, requeue: tuple[int, ...]) -> None:
    settled = settle_withdrawal(proposal(), user)
    assert (settled.state, settled.requeue, settled.leave) == ("withdrawn", requeue, (user,))


def test_is_due() -> None:
    assert not proposal().is_due(T0 + timedelta(hours=47, minutes=59, seconds=58))
    assert proposal().is_due(T0 + timedelta(hours=47, minutes=59, seconds=59))  # a timer waking a moment early
    assert proposal().is_due(T0 + timedelta(hours=48))
    assert not proposal(state="accepted").is_due(T0 + timedelta(hours=49))


# ------------------------------------------------------------------------------------------ teams


def team(team_id: int, *members: tuple[int, Track], project: str = "job-board", minute: int = 0) -> Team:
    return Team(
        id=team_id,
        guild_id=1,
        project_key=project,
        thread_id=None,
        proposal_id=None,
        created_by=None,
        created_at=at(minute),
        members=tuple(TeamMember(user, track, at(minute)) for user, track in members),
    )


@pytest.mark.parametrize(
    ("members", "leaver", "remaining", "ends"),
    [
        (((1, "frontend"), (2, "backend")), 1, (2,), True),
        (((1, "frontend"), (2, "backend"), (3, "backend")), 3, (1, 2), False),
        (((1, "frontend"), (2, "backend"), (3, "backend")), 1, (2, 3), True),
    ],
)
def test_team_after_leaving(
    members: tuple[tuple[int, Track], ...], leaver: int, remaining: tuple[int, ...], ends: bool
) -> None:
    change = team_after_leaving(team(1, *members), leaver)
    assert tuple(member.user_id for member in change.remaining) == remaining
    assert change.ends is ends


def entry(user: int, track: Track, minute: int, project: str = "job-board", tz: str | None = None) -> PoolEntry:
    return PoolEntry(1, user, project, track, tz, at(minute))


@pytest.mark.parametrize(
    ("case", "pool", "teams", "blocked", "joins", "alone"),
    [
        (
            "a leftover backend joins the only team as a third member",
            [entry(30, "backend", 0)],
            [team(1, (10, "frontend"), (20, "backend"))],
            set(),
            [(30, 1)],
            [],
        ),
        (
            "never more than three: the second leftover stays alone",
            [entry(30, "backend", 0), entry(31, "backend", 5)],
            [team(1, (10, "frontend"), (20, "backend"))],
            set(),
            [(30, 1)],
            [31],
        ),
        (
            "a full team takes nobody",
            [entry(30, "backend", 0)],
            [team(1, (10, "frontend"), (20, "backend"), (21, "backend"))],
            set(),
            [],
            [30],
        ),
        (
            "first come, first served between leftovers",
            [entry(31, "backend", 5), entry(30, "backend", 0)],
            [team(1, (10, "frontend"), (20, "backend"))],
            set(),
            [(30, 1)],
            [31],
        ),
        (
            "never with someone they met before",
            [entry(30, "backend", 0)],
            [team(1, (10, "frontend"), (20, "backend")), team(2, (11, "frontend"), (22, "backend"), minute=9)],
            {pair_key(30, 10)},
            [(30, 2)],
            [],
        ),
        (
            "only teams of the same project",
            [entry(30, "backend", 0)],
            [team(1, (10, "frontend"), (20, "backend"), project="online-poll")],
            set(),
            [],
            [30],
        ),
        (
            "not a leftover while a counterpart waits",
            [entry(30, "backend", 0), entry(40, "frontend", 1)],
            [team(1, (10, "frontend"), (20, "backend"))],
            set(),
            [],
            [],
        ),
        (
            "a waiting counterpart they declined does not count",
            [entry(30, "backend", 0), entry(40, "frontend", 1)],
            [team(1, (10, "frontend"), (20, "backend"))],
            {pair_key(30, 40)},
            [(30, 1)],
            [40],
        ),
    ],
)
def test_plan_leftovers(
    case: str,
    pool: list[PoolEntry],
    teams: list[Team],
    blocked: set[tuple[int, int]],
    joins: list[tuple[int, int]],
    alone: list[int],
) -> None:
    plan = plan_leftovers(pool, teams, blocked, {}, WINTER)
    assert [(join.user_id, join.team_id) for join in plan.joins] == joins, case
    assert [learner.user_id for learner in plan.alone] == alone, case


def test_plan_leftovers_prefers_a_team_in_a_close_timezone() -> None:
    pool = [entry(30, "backend", 0, tz="Africa/Lagos")]
    teams = [team(1, (10, "frontend"), (20, "backend")), team(2, (11, "frontend"), (21, "backend"), minute=5)]
    timezones = {10: "America/Los_Angeles", 11: "Europe/Berlin"}
    plan = plan_leftovers(pool, teams, set(), timezones, WINTER)
    assert [(join.user_id, join.team_id) for join in plan.joins] == [(30, 2)]


def test_plan_leftovers_points_the_alone_to_projects_with_a_waiting_counterpart() -> None:
    pool = [
        entry(30, "backend", 0),
        entry(40, "frontend", 1, project="online-poll"),
        entry(41, "frontend", 2, project="online-poll"),
        entry(50, "frontend", 3, project="social-feed"),
        entry(60, "backend", 4, project="movie-recommendation"),
    ]
    plan = plan_leftovers(pool, [], set(), {}, WINTER)
    alone = {learner.user_id: learner for learner in plan.alone}
    assert [(p.project_key, p.waiting) for p in alone[30].pointers] == [("online-poll", 2), ("social-feed", 1)]
    assert [(p.project_key, p.waiting) for p in alone[40].pointers] == [("job-board", 1), ("movie-recommendation", 1)]


# ------------------------------------------------------------------------------------------ staff pairing


def choice(user: int, track: Track, project: str = "job-board") -> Choice:
    return Choice(1, user, project, project.title(), track, display_name=f"user{user}")


@pytest.mark.parametrize(
    ("first", "second", "first_team", "block", "message"),
    [
        (None, choice(2, "backend"), None, None, "first learner has no current project"),
        (choice(1, "frontend"), None, None, None, "second learner has no current project"),
        (choice(1, "frontend"), choice(1, "frontend"), None, None, "two different learners"),
        (choice(1, "frontend"), choice(2, "frontend"), None, None, "Both learners are on the frontend track"),
        (choice(1, "frontend"), choice(2, "backend", "online-poll"), None, None, "different projects"),
        (choice(1, "frontend"), choice(2, "backend"), team(1, (1, "frontend"), (9, "backend")), None, "partner"),
        (choice(1, "frontend"), choice(2, "backend"), None, "declined", "declined each other"),
        (choice(1, "frontend"), choice(2, "backend"), None, "unpaired", "unpaired each other"),
    ],
)
def test_check_manual_pair_refuses(
    first: Choice | None, second: Choice | None, first_team: Team | None, block: BlockReason | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_manual_pair(first, second, first_team=first_team, second_team=None, block=block)


@pytest.mark.parametrize("block", [None, "expired", "partnered"])
def test_check_manual_pair_allows(block: BlockReason | None) -> None:
    check_manual_pair(choice(1, "frontend"), choice(2, "backend"), first_team=None, second_team=None, block=block)


@pytest.mark.parametrize(
    ("key", "name", "label"),
    [
        ("job-board", "Job Board Backend", "Job Board"),
        ("movie-recommendation", None, "Movie Recommendation"),
        ("custom:pionus-safaris", "Pionus Safaris", "Pionus Safaris"),
        ("custom:pionus-safaris", None, "pionus-safaris"),
    ],
)
def test_project_label(key: str, name: str | None, label: str) -> None:
    assert project_label(key, name) == label


@pytest.mark.parametrize(("first", "second", "key"), [(5, 3, (3, 5)), (3, 5, (3, 5))])
def test_pair_key(first: int, second: int, key: tuple[int, int]) -> None:
    assert pair_key(first, second) == key
