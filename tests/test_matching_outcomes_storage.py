"""The week-one rules in the store, on real SQLite files: late proposals expire sooner, automatic runs seat only
leftovers who waited long enough, and name the seats open elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.storage.db import Database
from bot.storage.matching import MatchingStore
from tests.storage_helpers import raw_writes
from tests.test_matching_storage import GUILD, announce

WEEK_STARTS = datetime(2026, 3, 2, tzinfo=UTC)


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[MatchingStore]:
    db = Database(tmp_path / "matching.db")
    await db.connect()
    with raw_writes(db) as conn:
        conn.execute(
            "INSERT INTO guild_config (guild_id, channel_id, cohort_start, timezone, updated_at, updated_by)"
            " VALUES (?, 1, ?, 'UTC', ?, 0)",
            (GUILD, WEEK_STARTS.date().isoformat(), WEEK_STARTS.isoformat()),
        )
    yield MatchingStore(db, proposal_ttl_hours=48)
    await db.close()


@pytest.mark.parametrize(("day", "hours"), [(0, 48), (4, 24), (6, 8), (9, 48)])
async def test_proposal_expiry_shrinks_as_week_one_runs_out(store: MatchingStore, day: int, hours: int) -> None:
    now = WEEK_STARTS + timedelta(days=day)
    await announce(store, 1, "backend")
    await announce(store, 2, "frontend")
    await store.find(GUILD, 1, now)
    result = await store.find(GUILD, 2, now)
    assert result.proposal is not None
    assert result.proposal.expires_at - now == timedelta(hours=hours)


async def test_without_shortening_the_setting_holds(store: MatchingStore) -> None:
    fixed = MatchingStore(store.db, proposal_ttl_hours=48, shorten_expiry=False)
    now = WEEK_STARTS + timedelta(days=6)
    await announce(store, 1, "backend")
    await announce(store, 2, "frontend")
    await fixed.find(GUILD, 1, now)
    result = await fixed.find(GUILD, 2, now)
    assert result.proposal is not None and result.proposal.expires_at - now == timedelta(hours=48)


async def team_on(store: MatchingStore, frontend: int, backend: int, project: str, name: str, now: datetime) -> None:
    await announce(store, frontend, "frontend", project, name=name)
    await announce(store, backend, "backend", project, name=name)
    await store.find(GUILD, backend, now)
    result = await store.find(GUILD, frontend, now)
    assert result.proposal is not None
    for user in (frontend, backend):
        await store.answer(result.proposal.id, user, "accepted", now)


async def test_automatic_run_seats_long_waits_and_names_seats_elsewhere(store: MatchingStore) -> None:
    start = WEEK_STARTS + timedelta(hours=1)
    await team_on(store, 10, 20, "job-board", "Job Board", start)
    await team_on(store, 11, 21, "custom:budget-tracker", "Budget Tracker", start)
    for user, hours in ((30, 0), (31, 0), (32, 10)):
        await announce(store, user, "backend")
        await store.find(GUILD, user, start + timedelta(hours=hours))
    now = start + timedelta(hours=12)

    run = await store.run_leftovers(GUILD, 0, now, queued_by=now - timedelta(hours=6))
    # 30 waited longest and takes the Job Board seat; 31 waited as long but the team is full; 32 has not waited 6 h.
    assert [(join.user_id, join.team_id) for join in run.plan.joins] == [(30, 1)]
    [alone] = run.plan.alone
    assert alone.user_id == 31
    assert [(seat.project_key, seat.waiting) for seat in alone.seats] == [("custom:budget-tracker", 1)]
    assert run.label("custom:budget-tracker").startswith("Budget Tracker")  # the name its learners announced
    entries = await store.log_entries(GUILD)
    assert entries[-1][1:3] == ("run", {"joined": [[30, 1]], "alone": [31], "automatic": True})
