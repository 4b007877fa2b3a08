"""The pure rules and storage behind the reliability fixes: cooldowns, withdrawals that block re-proposals, and
finding matching that drifted from the announcements (on a real SQLite file)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.cooldowns import Cooldown, CoolingDown, wait_text
from bot.matching import (
    DELIVERY_TRIES,
    RETRY_DELAY,
    RETRY_WINDOW,
    Drift,
    Proposal,
    settle_withdrawal,
    worth_retrying,
)
from bot.storage.db import LATEST_VERSION, Database, load_migrations
from bot.storage.matching import MatchingStore
from tests.test_matching_storage import GUILD, announce, mark_left, withdraw_announcement

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("period", "uses", "refused"),
    [
        (10, [("ada", 0), ("ada", 9.5)], [9.5]),  # too soon
        (10, [("ada", 0), ("ada", 10)], []),  # exactly one period later is fine
        (10, [("ada", 0), ("grace", 1)], []),  # per person
        (10, [("ada", 0), ("ada", 5), ("ada", 10)], [5]),  # a refused use does not restart the wait
        (0, [("ada", 0), ("ada", 0)], []),  # 0 turns it off
    ],
)
def test_cooldown(period: float, uses: list[tuple[str, float]], refused: list[float]) -> None:
    cooldown = Cooldown(period)
    got = []
    for who, when in uses:
        try:
            cooldown.use(who, at(when))
        except CoolingDown:
            got.append(when)
    assert got == refused


@pytest.mark.parametrize(("seconds", "text"), [(9.2, "10 s"), (0.01, "1 s"), (3.0, "3 s")])
def test_wait_text_rounds_up(seconds: float, text: str) -> None:
    assert wait_text(seconds) == f"Slow down a little: try again in {text}."


def test_cooldown_forgets_old_entries() -> None:
    cooldown = Cooldown(10)
    for user in range(600):
        cooldown.use(user, at(0))
    cooldown.use("late", at(60))
    assert len(cooldown._last) < 600


@pytest.mark.parametrize("leaver", [10, 20])
def test_pulling_out_of_a_proposal_blocks_the_pair(leaver: int) -> None:
    proposal = Proposal(1, GUILD, "job-board", 10, 20, None, None, "pending", NOW, NOW + timedelta(hours=48))
    settled = settle_withdrawal(proposal, leaver)
    assert settled.block == "declined"
    assert settled.leave == (leaver,) and settled.requeue == (30 - leaver,)


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[MatchingStore]:
    db = Database(tmp_path / "matching.db")
    await db.connect()
    yield MatchingStore(db, proposal_ttl_hours=48)
    await db.close()


async def test_nothing_drifted_in_normal_use(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 2, "frontend")
    await store.find(GUILD, 1, NOW)
    await store.find(GUILD, 2, NOW)
    assert await store.drifted() == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [("withdraw", "withdrawn"), ("move", "moved"), ("retrack", "moved"), ("leave", "left")],
)
async def test_drift_after_a_lost_event(store: MatchingStore, change: str, reason: str) -> None:
    await announce(store, 1, "backend")
    await announce(store, 2, "frontend")
    await store.find(GUILD, 1, NOW)
    await store.find(GUILD, 2, NOW)  # a pending proposal between 1 and 2
    if change == "withdraw":
        await withdraw_announcement(store, 2)
    elif change == "move":
        await announce(store, 2, "frontend", project="ecommerce")
    elif change == "retrack":
        await announce(store, 2, "backend")
    else:
        await mark_left(store, 2)
    assert await store.drifted() == [Drift(GUILD, 2, reason)]  # type: ignore[arg-type]


async def test_a_team_survives_a_project_change_but_not_a_withdrawal(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 2, "frontend")
    await store.pair(GUILD, 1, 2, 99, NOW)
    await announce(store, 2, "frontend", project="ecommerce")
    assert await store.drifted() == []  # by design: partners keep their team when one renames the project
    await withdraw_announcement(store, 1)
    # Leaving the server outranks a withdrawal when both happened.
    await mark_left(store, 1)
    assert await store.drifted() == [Drift(GUILD, 1, "left")]


@pytest.mark.parametrize(
    ("tries", "age", "again"),
    [
        (0, timedelta(0), True),  # left over from before a stop: try it
        (1, RETRY_DELAY, True),
        (DELIVERY_TRIES - 1, RETRY_DELAY * 3, True),
        (DELIVERY_TRIES, RETRY_DELAY * 4, False),  # the last try was refused: give up
        (0, RETRY_WINDOW, False),  # too old to be news (a team from long ago without a thread)
        (1, RETRY_WINDOW - timedelta(seconds=1), True),
    ],
)
def test_worth_retrying(tries: int, age: timedelta, again: bool) -> None:
    assert worth_retrying(tries, NOW, NOW + age) is again


async def test_a_notice_is_kept_until_sent_and_its_refusals_are_counted(store: MatchingStore) -> None:
    notice = await store.add_notice(GUILD, 1, "You're partners", NOW, team_id=None)
    await store.notice_tried(notice.id, done=False)
    await store.notice_tried(notice.id, done=False)
    [kept] = await store.unsent_notices()
    assert (kept.id, kept.user_id, kept.content, kept.tries, kept.created_at) == (
        notice.id,
        1,
        "You're partners",
        2,
        NOW,
    )
    await store.notice_tried(notice.id, done=True)
    assert await store.unsent_notices() == []


async def test_copies_of_closed_proposals_stay_open_until_closed(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 2, "frontend")
    await store.find(GUILD, 1, NOW)
    found = await store.find(GUILD, 2, NOW)
    assert found.proposal is not None
    proposal_id = found.proposal.id
    await store.record_delivery(proposal_id, 1, 100, 1001, "dm")
    await store.record_delivery(proposal_id, 2, 200, 2001, "dm")
    assert await store.open_copies() == []  # pending: its buttons are meant to be there
    await store.answer(proposal_id, 1, "declined", at(60))
    assert [(c.user_id, c.message_id, c.tries) for c in await store.open_copies(proposal_id)] == [
        (1, 1001, 0),
        (2, 2001, 0),
    ]
    await store.copy_tried(proposal_id, 1001, at(61), closed=True)
    await store.copy_tried(proposal_id, 2001, at(61), closed=False)
    [left] = await store.open_copies()
    assert (left.user_id, left.tries, left.closed_at) == (2, 1, at(60))


async def test_teams_without_a_thread_and_their_refusals(store: MatchingStore) -> None:
    await announce(store, 1, "backend")
    await announce(store, 2, "frontend")
    paired = await store.pair(GUILD, 1, 2, 99, NOW)
    await store.thread_refused(paired.team.id)
    assert [(team.id, tries) for team, tries in await store.threadless_teams()] == [(paired.team.id, 1)]
    await store.set_team_thread(paired.team.id, 555)
    assert await store.threadless_teams() == []


RETRIES_MIGRATION = 80  # kept notices, counted thread tries, and when each proposal copy was closed


async def test_copies_closed_before_the_upgrade_are_not_closed_again(tmp_path: Path) -> None:
    path = tmp_path / "v70.db"
    raw = sqlite3.connect(path, isolation_level=None)
    for version, _, sql in load_migrations():
        if version < RETRIES_MIGRATION:
            raw.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;")
    # What an older Nexus left: one declined proposal whose copies it closed, and one pending proposal.
    stamp, later = NOW.isoformat(), (NOW + timedelta(hours=48)).isoformat()
    raw.executemany(
        "INSERT INTO proposals (id, guild_id, project_key, frontend_id, backend_id, state, created_at, expires_at,"
        " closed_at) VALUES (?, ?, 'job-board', ?, ?, ?, ?, ?, ?)",
        [(1, GUILD, 2, 1, "declined", stamp, later, stamp), (2, GUILD, 4, 3, "pending", stamp, later, None)],
    )
    raw.executemany(
        "INSERT INTO proposal_deliveries (proposal_id, user_id, channel_id, message_id, via) VALUES (?, ?, ?, ?, 'dm')",
        [(1, 1, 101, 1001), (1, 2, 102, 1002), (2, 3, 103, 1003), (2, 4, 104, 1004)],
    )
    raw.close()

    db = Database(path)
    assert await db.connect() == LATEST_VERSION
    try:
        upgraded = MatchingStore(db)
        # Copies closed before the upgrade are not edited again; the pending proposal's copies keep their buttons.
        assert await upgraded.open_copies() == []
        await upgraded.db.transact(
            lambda conn: conn.execute("UPDATE proposals SET state = 'expired', closed_at = ? WHERE id = 2", (stamp,))
        )
        assert [copy.user_id for copy in await upgraded.open_copies()] == [3, 4]
    finally:
        await db.close()
