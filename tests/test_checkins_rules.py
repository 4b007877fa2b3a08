"""Check-in rules as tables: when a round is due, who is quiet, what the pass does, and what a re-match does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.checkins import (
    AnswerCounts,
    Checkin,
    CheckinRules,
    Offer,
    TeamCheckins,
    attention,
    checkin_due,
    count_answers,
    counts_text,
    front_of_line,
    left_behind,
    offer_due,
    plan_rematch,
    plan_team,
    quiet_members,
    round_to_post,
)
from bot.errors import InvalidInput
from bot.matching import Team, TeamMember

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = CheckinRules()  # 3 days, 48 h, weekly
FE, BE, BE2 = 1, 2, 3


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def make_team(*members: tuple[int, str, float]) -> Team:
    return Team(
        id=7,
        guild_id=100,
        project_key="job-board",
        thread_id=55,
        proposal_id=None,
        created_by=None,
        created_at=T0,
        members=tuple(TeamMember(user, track, day(joined)) for user, track, joined in members),  # type: ignore[arg-type]
    )


PAIR = make_team((FE, "frontend", 0), (BE, "backend", 0))
TRIO = make_team((FE, "frontend", 0), (BE, "backend", 0), (BE2, "backend", 0))


def rounds(*answers: dict[int, tuple[str, float]]) -> tuple[Checkin, ...]:
    """Round n posted on its due day, with {user: (answer, day answered)}."""
    made = []
    for number, given in enumerate(answers, start=1):
        posted = checkin_due(T0, number, RULES)
        made.append(
            Checkin(
                id=number,
                team_id=7,
                round=number,
                due_at=posted,
                posted_at=posted,
                answers={user: answer for user, (answer, _) in given.items()},  # type: ignore[misc]
                answered_at={user: day(when) for user, (_, when) in given.items()},
            )
        )
    return tuple(made)


@pytest.mark.parametrize(("round_number", "expected"), [(1, day(3)), (2, day(10)), (3, day(17)), (10, day(66))])
def test_check_ins_come_after_the_delay_then_weekly(round_number: int, expected: datetime) -> None:
    assert checkin_due(T0, round_number, RULES) == expected


def test_check_in_delay_comes_from_settings() -> None:
    rules = CheckinRules.from_settings(delay_days=1.5, quiet_hours=12)
    assert checkin_due(T0, 1, rules) == T0 + timedelta(hours=36)
    assert rules.quiet_after == timedelta(hours=12)


@pytest.mark.parametrize(
    ("last_round", "now", "expected"),
    [
        (0, day(2.9), None),
        (0, day(3), 1),
        (1, day(9), None),
        (1, day(10), 2),
        (2, day(10), None),  # posted already: never twice
        (0, day(25), 4),  # after downtime only the latest due round, not a burst of four
        (4, day(25), None),
    ],
)
def test_round_to_post(last_round: int, now: datetime, expected: int | None) -> None:
    assert round_to_post(T0, last_round, now, RULES) == expected


@pytest.mark.parametrize(
    ("checkins", "now", "expected"),
    [
        (rounds({}), day(4.9), {}),  # round one still open
        (rounds({}), day(5.1), {}),  # one miss is not quiet
        (rounds({}, {}), day(12.1), {FE: "silent", BE: "silent"}),
        (rounds({BE: ("going_well", 3.1)}, {BE: ("going_well", 10.1)}), day(12.1), {FE: "silent"}),
        (rounds({BE: ("going_well", 3.1)}, {BE: ("going_well", 10.1)}), day(11.9), {}),  # round two still open
        (rounds({BE: ("going_well", 3.1)}, {FE: ("not_started", 11), BE: ("going_well", 10.1)}), day(20), {}),
        (rounds({FE: ("going_well", 3.1)}, {}), day(12.1), {BE: "silent"}),
        # A report plus 48 h of silence is quiet at once, in round one.
        (rounds({BE: ("partner_quiet", 3.5)}), day(5.4), {}),
        (rounds({BE: ("partner_quiet", 3.5)}), day(5.5), {FE: "reported"}),
        # Answering after the report ends it; silence to the report goes on counting in the next round.
        (rounds({BE: ("partner_quiet", 3.5), FE: ("going_well", 4)}), day(6), {}),
        (rounds({BE: ("partner_quiet", 3.5)}, {}), day(10.5), {FE: "reported"}),
        (rounds({BE: ("partner_quiet", 3.5)}, {FE: ("going_well", 10.2)}), day(10.5), {}),
    ],
)
def test_who_is_quiet(checkins: tuple[Checkin, ...], now: datetime, expected: dict[int, str]) -> None:
    assert quiet_members(TeamCheckins(PAIR, checkins), now, RULES) == expected


def test_rounds_before_someone_joined_are_not_theirs() -> None:
    late = make_team((FE, "frontend", 0), (BE, "backend", 0), (BE2, "backend", 11))
    checkins = rounds({FE: ("going_well", 3.1), BE: ("going_well", 3.1)}, {FE: ("going_well", 10.1)})
    assert quiet_members(TeamCheckins(late, checkins), day(12.5), RULES) == {}


@pytest.mark.parametrize(
    ("team", "quiet", "expected"),
    [(PAIR, [], ()), (PAIR, [FE], (BE,)), (PAIR, [FE, BE], ()), (TRIO, [BE2], (FE, BE))],
)
def test_left_behind(team: Team, quiet: list[int], expected: tuple[int, ...]) -> None:
    assert left_behind(team, quiet) == expected


def offer(state: str, ask_again: float | None = None) -> Offer:
    return Offer(7, BE, state, "n", day(5), day(ask_again) if ask_again is not None else None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "now", "expected"),
    [
        (None, day(5), True),
        (offer("claimed"), day(5), False),
        (offer("open"), day(9), False),
        (offer("waiting", 8), day(7.9), False),
        (offer("waiting", 8), day(8), True),
        (offer("closed"), day(9), True),
        (offer("rematched"), day(9), True),
    ],
)
def test_offer_due(current: Offer | None, now: datetime, expected: bool) -> None:
    assert offer_due(current, now) is expected


def test_the_pass_posts_offers_and_says_when_to_look_again() -> None:
    reported = TeamCheckins(PAIR, rounds({BE: ("partner_quiet", 3.5)}))
    early = plan_team(reported, day(4), RULES)
    assert early.post_round is None and early.offer_to == () and early.wake == day(5)  # round one's timeout
    due = plan_team(reported, day(5.5), RULES)
    assert due.quiet == {FE: "reported"} and due.offer_to == (BE,) and due.wake == day(10)
    answered = TeamCheckins(PAIR, rounds({BE: ("partner_quiet", 3.5), FE: ("going_well", 6)}), {BE: offer("open")})
    assert plan_team(answered, day(6.5), RULES).close_offers == (BE,)
    fresh = TeamCheckins(PAIR)
    assert plan_team(fresh, day(3), RULES).post_round == 1
    assert plan_team(fresh, day(1), RULES).wake == day(3)


@pytest.mark.parametrize(
    ("team", "quiet", "chooser", "removed", "requeue", "ends"),
    [
        (PAIR, {FE}, BE, (FE,), (BE,), True),
        (TRIO, {BE2}, FE, (BE2,), (), False),  # a trio with one quiet member stays a pair
        (TRIO, {FE}, BE, (FE,), (BE, BE2), True),  # nobody left on the frontend track
    ],
)
def test_plan_rematch(
    team: Team, quiet: set[int], chooser: int, removed: tuple[int, ...], requeue: tuple[int, ...], ends: bool
) -> None:
    plan = plan_rematch(team, quiet, chooser)
    assert (plan.removed, plan.requeue, plan.ends) == (removed, requeue, ends)


@pytest.mark.parametrize(("quiet", "chooser"), [(set(), BE), ({FE}, FE), ({FE}, 99)])
def test_rematch_refuses_when_nobody_is_quiet_or_the_chooser_is(quiet: set[int], chooser: int) -> None:
    with pytest.raises(InvalidInput):
        plan_rematch(PAIR, quiet, chooser)


@pytest.mark.parametrize(
    ("front", "expected"),
    [(None, day(9)), (day(1), day(1) - timedelta(microseconds=1)), (day(10), day(9))],
)
def test_front_of_line_is_ahead_of_everyone_waiting(front: datetime | None, expected: datetime) -> None:
    assert front_of_line(front, day(9)) == expected


def test_attention_and_counts_for_staff() -> None:
    quiet = TeamCheckins(PAIR, rounds({BE: ("going_well", 3.1)}, {BE: ("going_well", 10.1)}))
    item = attention(quiet, day(12.5), RULES)
    assert item is not None and item.reason == "quiet" and item.user_ids == (FE,)
    once = TeamCheckins(PAIR, rounds({BE: ("not_started", 3.1)}))
    item = attention(once, day(5.5), RULES)
    assert item is not None and item.reason == "unanswered" and item.user_ids == (FE,)
    assert attention(TeamCheckins(PAIR), day(1), RULES) is None
    counts = count_answers([quiet, once], day(12.5), RULES)
    assert counts == AnswerCounts(going_well=2, not_started=1, partner_quiet=0, unanswered=3)
    assert "Going well: 2" in counts_text(counts) and "no answer in time: 3" in counts_text(counts)
    assert counts_text(AnswerCounts()) == "No check-ins answered yet."
