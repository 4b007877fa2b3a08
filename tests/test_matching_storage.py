"""Matching storage on real SQLite files: the pool, claims, answers, expiry, teams, and 50 concurrent finds."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.errors import InvalidInput, NotFound
from bot.matching import Track
from bot.storage.db import Database
from bot.storage.matching import MatchingStore
from tests.storage_helpers import raw_writes

GUILD = 1
NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[MatchingStore]:
    db = Database(tmp_path / "matching.db")
    await db.connect()
    yield MatchingStore(db, proposal_ttl_hours=48)
    await db.close()


async def announce(
    store: MatchingStore,
    user: int,
    track: Track,
    project: str = "job-board",
    timezone: str | None = None,
    *,
    name: str = "Job Board",
) -> None:
    """What the projects feature writes; tests may use SQL, the bot's matching code may not write these tables."""
    with raw_writes(store.db) as conn:
        conn.execute(
            "INSERT OR IGNORE INTO learners (guild_id, user_id, display_name, first_seen_at) VALUES (?, ?, ?, ?)",
            (GUILD, user, f"user{user}", NOW.isoformat()),
        )
        conn.execute(
            "UPDATE announcements SET ended_at = ?, end_reason = 'replaced'"
            " WHERE guild_id = ? AND user_id = ? AND ended_at IS NULL",
            (NOW.isoformat(), GUILD, user),
        )
        conn.execute(
            "INSERT INTO announcements (guild_id, user_id, project_key, project_name, track, timezone, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (GUILD, user, project, f"{name} {track}", track, timezone, NOW.isoformat()),
        )


async def mark_left(store: MatchingStore, user: int) -> None:
    with raw_writes(store.db) as conn:
        conn.execute(
            "UPDATE learners SET left_at = ? WHERE guild_id = ? AND user_id = ?", (NOW.isoformat(), GUILD, user)
        )


async def withdraw_announcement(store: MatchingStore, user: int) -> None:
    with raw_writes(store.db) as conn:
        conn.execute(
            "UPDATE announcements SET ended_at = ?, end_reason = 'withdrawn' WHERE guild_id = ? AND user_id = ?",
            (NOW.isoformat(), GUILD, user),
        )


async def pool(store: MatchingStore) -> dict[int, tuple[str, str]]:
    rows = await store.db.fetchall("SELECT user_id, state, queued_at FROM match_pool ORDER BY user_id")
    return {row["user_id"]: (row["state"], row["queued_at"]) for row in rows}


def minutes(n: int) -> datetime:
    return NOW + timedelta(minutes=n)


async def test_find_without_announcement_points_to_announce(store: MatchingStore) -> None:
    with pytest.raises(NotFound, match="/announce"):
        await store.find(GUILD, 1, NOW)


async def test_first_find_waits_and_reports_the_line(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 2, "backend")
    first = await store.find(GUILD, 1, minutes(0))
    second = await store.find(GUILD, 2, minutes(1))
    assert first.kind == second.kind == "waiting"
    assert second.line is not None
    assert (second.line.position, second.line.backend_waiting, second.line.frontend_waiting) == (2, 2, 0)
    again = await store.find(GUILD, 1, minutes(5))
    assert again.rejoined and again.line is not None and again.line.position == 1  # kept their place


async def test_find_proposes_the_earliest_counterpart_and_locks_both(store: MatchingStore) -> None:
    for user in (1, 2):
        await announce(store, user, "backend")
    await announce(store, 10, "frontend")
    await store.find(GUILD, 1, minutes(0))
    await store.find(GUILD, 2, minutes(1))
    result = await store.find(GUILD, 10, minutes(2))
    assert result.kind == "proposed" and result.proposal is not None
    assert (result.proposal.frontend_id, result.proposal.backend_id) == (10, 1)
    assert result.proposal.expires_at == minutes(2) + timedelta(hours=48)
    assert result.partner is not None and result.partner.user_id == 1
    states = await pool(store)
    assert (states[1][0], states[2][0], states[10][0]) == ("proposed", "waiting", "proposed")
    repeat = await store.find(GUILD, 10, minutes(3))
    assert repeat.kind == "already_proposed"


async def test_timezone_preference_picks_a_later_but_closer_learner(store: MatchingStore) -> None:
    await announce(store, 1, "backend", timezone="America/Los_Angeles")
    await announce(store, 2, "backend", timezone="Europe/Paris")
    await announce(store, 10, "frontend", timezone="Africa/Lagos")
    await store.find(GUILD, 1, minutes(0))
    await store.find(GUILD, 2, minutes(1))
    result = await store.find(GUILD, 10, minutes(2))
    assert result.proposal is not None and result.proposal.backend_id == 2


async def test_decline_requeues_at_the_front_blocks_the_pair_and_reproposes_the_decliner(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 2, "backend")
    await announce(store, 10, "frontend")
    await announce(store, 11, "frontend")
    await store.find(GUILD, 1, minutes(0))
    await store.find(GUILD, 2, minutes(1))
    proposed = await store.find(GUILD, 10, minutes(2))
    assert proposed.proposal is not None and proposed.proposal.backend_id == 1
    queued_before = (await pool(store))[1][1]

    update = await store.answer(proposed.proposal.id, 10, "declined", minutes(3))
    assert update.proposal.state == "declined"
    # The decliner stays in the pool and is proposed to the next backend at once; learner 1 waits at the front.
    assert [(p.frontend_id, p.backend_id) for p in update.new_proposals] == [(10, 2)]
    states = await pool(store)
    assert states[1] == ("waiting", queued_before)

    later = await store.find(GUILD, 11, minutes(4))
    assert later.proposal is not None and later.proposal.backend_id == 1  # front of the line
    blocks = await store.db.fetchall("SELECT user_low, user_high, reason FROM pair_blocks")
    assert [tuple(row) for row in blocks] == [(1, 10, "declined")]


async def test_a_blocked_pair_is_never_proposed_again(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 10, "frontend")
    await store.find(GUILD, 1, minutes(0))
    first = await store.find(GUILD, 10, minutes(1))
    assert first.proposal is not None
    update = await store.answer(first.proposal.id, 1, "declined", minutes(2))
    assert update.new_proposals == ()
    again = await store.find(GUILD, 10, minutes(3))
    assert again.kind == "waiting" and again.line is not None
    assert again.line.counterparts_skipped == 1


async def test_decline_and_leave_takes_the_decliner_out(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 10, "frontend")
    await store.find(GUILD, 1, minutes(0))
    proposed = await store.find(GUILD, 10, minutes(1))
    assert proposed.proposal is not None
    await store.answer(proposed.proposal.id, 10, "declined", minutes(2), leave_pool=True)
    assert set(await pool(store)) == {1}


async def test_both_accept_forms_a_team_and_empties_the_pool(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 10, "frontend")
    await store.find(GUILD, 1, minutes(0))
    proposed = await store.find(GUILD, 10, minutes(1))
    assert proposed.proposal is not None
    first = await store.answer(proposed.proposal.id, 1, "accepted", minutes(2))
    assert first.proposal.state == "pending" and first.team is None
    with pytest.raises(NotFound):
        await store.answer(proposed.proposal.id, 99, "accepted", minutes(2))
    second = await store.answer(proposed.proposal.id, 10, "accepted", minutes(3))
    assert second.team is not None and second.team.member_ids == (1, 10)
    assert [(m.track, m.joined_at) for m in second.team.members] == [("backend", minutes(3)), ("frontend", minutes(3))]
    assert (second.team.proposal_id, second.team.created_at, second.team.thread_id) == (
        proposed.proposal.id,
        minutes(3),
        None,
    )
    # The team handed back is the team as it reads back from the file.
    assert await store.team(second.team.id) == second.team
    assert await pool(store) == {}
    with pytest.raises(InvalidInput, match="no longer open"):
        await store.answer(proposed.proposal.id, 10, "declined", minutes(4))
    partnered = await store.find(GUILD, 1, minutes(5))
    assert partnered.kind == "partnered"
    await store.set_team_thread(second.team.id, 555)
    status = await store.status(GUILD, 1)
    assert status.team is not None and status.team.thread_id == 555 and set(status.people) == {10}


async def test_expiry_requeues_who_accepted_and_removes_who_did_not(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 10, "frontend")
    await store.find(GUILD, 1, minutes(0))
    proposed = await store.find(GUILD, 10, minutes(1))
    assert proposed.proposal is not None
    await store.answer(proposed.proposal.id, 1, "accepted", minutes(2))
    assert await store.expire(proposed.proposal.id, minutes(60)) is None  # not due yet
    assert [p.id for p in await store.pending_proposals()] == [proposed.proposal.id]
    update = await store.expire(proposed.proposal.id, proposed.proposal.expires_at)
    assert update is not None
    assert (update.proposal.state, update.settlement.requeue, update.settlement.leave) == ("expired", (1,), (10,))
    assert (await pool(store))[1][0] == "waiting" and 10 not in await pool(store)
    assert await store.pending_proposals() == []
    assert await store.expire(proposed.proposal.id, minutes(5000)) is None  # only once


async def test_learners_who_left_or_withdrew_are_skipped_and_tidied(store: MatchingStore) -> None:
    for user in (1, 2, 3):
        await announce(store, user, "backend")
        await store.find(GUILD, user, minutes(user))
    await mark_left(store, 1)
    await withdraw_announcement(store, 2)
    await announce(store, 10, "frontend")
    result = await store.find(GUILD, 10, minutes(9))
    assert result.proposal is not None and result.proposal.backend_id == 3
    assert set(await pool(store)) == {3, 10}


async def test_changing_track_drops_the_learner_and_requeues_the_other(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 10, "frontend")
    await store.find(GUILD, 1, minutes(0))
    proposed = await store.find(GUILD, 10, minutes(1))
    assert proposed.proposal is not None
    await announce(store, 10, "frontend", timezone="Africa/Lagos")  # same project and track
    assert await store.drop_if_moved(GUILD, 10, minutes(2)) is None
    await announce(store, 10, "backend")
    departure = await store.drop_if_moved(GUILD, 10, minutes(3))
    assert departure is not None and [u.proposal.state for u in departure.withdrawn] == ["withdrawn"]
    assert await pool(store) == {1: ("waiting", (await pool(store))[1][1])}


async def test_leave_while_proposed_requeues_the_other(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 10, "frontend")
    await store.find(GUILD, 1, minutes(0))
    await store.find(GUILD, 10, minutes(1))
    departure = await store.leave(GUILD, 10, minutes(2))
    assert departure.changed_anything and departure.withdrawn[0].settlement.requeue == (1,)
    assert set(await pool(store)) == {1}
    nothing = await store.leave(GUILD, 10, minutes(3))
    assert not nothing.changed_anything


async def team_of(store: MatchingStore, frontend: int, backend: int) -> int:
    await store.find(GUILD, backend, minutes(0))
    proposed = await store.find(GUILD, frontend, minutes(1))
    assert proposed.proposal is not None
    await store.answer(proposed.proposal.id, frontend, "accepted", minutes(2))
    update = await store.answer(proposed.proposal.id, backend, "accepted", minutes(2))
    assert update.team is not None
    return update.team.id


async def test_unpair_blocks_and_frees_both(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 10, "frontend")
    await team_of(store, 10, 1)
    with pytest.raises(NotFound):
        await store.unpair(GUILD, 99, minutes(3))
    departure = await store.unpair(GUILD, 1, minutes(3))
    assert departure.team_change is not None and departure.team_change.ends
    assert await store.active_team_for(GUILD, 10) is None
    blocks = await store.db.fetchall("SELECT reason FROM pair_blocks")
    assert [row["reason"] for row in blocks] == ["unpaired"]
    await store.find(GUILD, 1, minutes(4))
    again = await store.find(GUILD, 10, minutes(5))
    assert again.kind == "waiting"  # free to look again, never with each other


async def test_staff_pair_withdraws_pending_proposals_and_is_logged(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 2, "backend")
    await announce(store, 10, "frontend")
    await store.find(GUILD, 1, minutes(0))
    proposed = await store.find(GUILD, 10, minutes(1))
    assert proposed.proposal is not None and proposed.proposal.backend_id == 1
    result = await store.pair(GUILD, 10, 2, staff_id=777, now=minutes(2))
    assert set(result.team.member_ids) == {10, 2} and result.team.created_by == 777
    assert [u.settlement.requeue for u in result.withdrawn] == [(1,)]
    assert (await pool(store)) == {1: ("waiting", (await pool(store))[1][1])}
    entries = await store.log_entries(GUILD)
    assert [(actor, action, details["members"]) for actor, action, details, _ in entries] == [(777, "pair", [10, 2])]
    with pytest.raises(InvalidInput, match="already has a partner"):
        await store.pair(GUILD, 10, 1, staff_id=777, now=minutes(3))


async def test_staff_pair_refuses_a_pair_that_declined(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 10, "frontend")
    await store.find(GUILD, 1, minutes(0))
    proposed = await store.find(GUILD, 10, minutes(1))
    assert proposed.proposal is not None
    await store.answer(proposed.proposal.id, 1, "declined", minutes(2))
    with pytest.raises(InvalidInput, match="declined each other"):
        await store.pair(GUILD, 1, 10, staff_id=777, now=minutes(3))
    assert await store.log_entries(GUILD) == []


async def test_run_seats_a_leftover_as_third_member_and_withdrawal_keeps_the_team(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 10, "frontend")
    team_id = await team_of(store, 10, 1)
    await announce(store, 2, "backend")
    await announce(store, 3, "backend")
    await store.find(GUILD, 2, minutes(5))
    await store.find(GUILD, 3, minutes(6))
    run = await store.run_leftovers(GUILD, staff_id=777, now=minutes(7))
    assert [(join.user_id, join.team_id) for join in run.plan.joins] == [(2, team_id)]
    assert [alone.user_id for alone in run.plan.alone] == [3]
    assert set(run.teams[team_id].member_ids) == {1, 10, 2}
    assert run.label("job-board") == "Job Board"
    assert set(await pool(store)) == {3}
    # A third member leaving keeps the pair; the only frontend leaving ends the team for everyone.
    departure = await store.remove_learner(GUILD, 2, minutes(8))
    assert departure.team_change is not None and not departure.team_change.ends
    departure = await store.remove_learner(GUILD, 10, minutes(9))
    assert departure.team_change is not None and departure.team_change.ends
    assert await store.active_team_for(GUILD, 1) is None


async def test_board_counts_waiting_per_project_and_track(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 2, "backend")
    await announce(store, 3, "frontend", project="custom:pionus-safaris", name="Pionus Safaris")
    await store.find(GUILD, 3, minutes(0))
    await store.find(GUILD, 1, minutes(1))
    await store.find(GUILD, 2, minutes(2))
    rows = await store.board(GUILD)
    assert [(row.label, row.frontend_waiting, row.backend_waiting, row.oldest_wait) for row in rows] == [
        ("Pionus Safaris frontend", 1, 0, minutes(0)),
        ("Job Board", 0, 2, minutes(1)),
    ]


async def test_a_custom_project_is_named_after_its_latest_announcement_current_first(store: MatchingStore) -> None:
    key = "custom:chat-app"
    await announce(store, 1, "backend", project=key, name="Chat App")
    await announce(store, 2, "frontend", project=key, name="chat app")
    assert await store.project_label(GUILD, key) == "chat app frontend"
    await announce(store, 2, "frontend")  # moves to Job Board: the older current announcement names it
    assert await store.project_label(GUILD, key) == "Chat App backend"
    await withdraw_announcement(store, 1)  # nobody is on it: the latest announcement ever made names it
    assert await store.project_label(GUILD, key) == "chat app frontend"
    assert await store.project_label(GUILD, "custom:never-announced") == "never-announced"


async def test_deliveries_and_fallback_threads_are_remembered(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 10, "frontend")
    await store.find(GUILD, 1, minutes(0))
    proposed = await store.find(GUILD, 10, minutes(1))
    assert proposed.proposal is not None
    await store.record_delivery(proposed.proposal.id, 1, 500, 501, "dm")
    await store.record_delivery(proposed.proposal.id, 10, 600, 601, "thread")
    assert await store.deliveries(proposed.proposal.id) == [(1, 500, 501), (10, 600, 601)]
    assert await store.fallback_thread(GUILD, 10) is None
    await store.save_fallback_thread(GUILD, 10, 600, NOW)
    assert await store.fallback_thread(GUILD, 10) == 600


@pytest.mark.parametrize(("frontend", "backend"), [(20, 30), (25, 25), (49, 1)])
async def test_fifty_concurrent_finds_make_exactly_min_proposals(
    store: MatchingStore, frontend: int, backend: int
) -> None:
    tracks: list[Track] = ["frontend"] * frontend + ["backend"] * backend
    for user, track in enumerate(tracks, start=1):
        await announce(store, user, track)
    # Every find at the same instant, all in flight together on one database.
    results = await asyncio.gather(*(store.find(GUILD, user, NOW) for user in range(1, len(tracks) + 1)))
    proposals = await store.db.fetchall("SELECT frontend_id, backend_id FROM proposals WHERE state = 'pending'")
    assert len(proposals) == min(frontend, backend)
    seen = Counter(user for row in proposals for user in (row["frontend_id"], row["backend_id"]))
    assert all(count == 1 for count in seen.values())
    assert sum(result.kind == "proposed" for result in results) == min(frontend, backend)
    states = Counter(state for state, _ in (await pool(store)).values())
    assert states == Counter({"proposed": 2 * min(frontend, backend), "waiting": abs(frontend - backend)})
