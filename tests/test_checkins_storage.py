"""Check-in storage on a real SQLite file: a round is claimed once, answers are each member's own, stopping a
guild's check-ins, and a re-match that puts the one left behind at the front of the line in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.checkins import CheckinRules
from bot.errors import InvalidInput
from bot.storage.checkins import CheckinStore
from bot.storage.db import Database
from bot.storage.matching import MatchingStore
from tests.storage_helpers import raw_writes
from tests.test_matching_storage import GUILD, NOW, announce

RULES = CheckinRules()


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[CheckinStore]:
    db = Database(tmp_path / "checkins.db")
    await db.connect()
    yield CheckinStore(db, MatchingStore(db, proposal_ttl_hours=48))
    await db.close()


async def paired(store: CheckinStore, frontend: int = 1, backend: int = 2) -> int:
    await announce(store.matching, frontend, "frontend")
    await announce(store.matching, backend, "backend")
    return (await store.matching.pair(GUILD, frontend, backend, staff_id=777, now=NOW)).team.id


async def test_a_round_is_claimed_once_and_answered_by_members_only(store: CheckinStore) -> None:
    team = await paired(store)
    due = NOW + RULES.first_after
    first = await store.claim_round(team, 1, due, "nonce-a")
    assert first is not None and first.state == "claimed"
    assert await store.claim_round(team, 1, due, "nonce-b") is None
    await store.round_posted(first.id, 999, due)
    answered = await store.answer(first.id, 1, "going_well", due)
    assert answered.checkins[0].answers == {1: "going_well"}
    changed = await store.answer(first.id, 1, "not_started", due + timedelta(hours=1))
    assert changed.checkins[0].answers == {1: "not_started"}
    with pytest.raises(InvalidInput, match="members of that team"):
        await store.answer(first.id, 3, "going_well", due)


async def test_stop_checkins_stops_one_guild_or_just_some_teams(store: CheckinStore) -> None:
    first = await paired(store, 1, 2)
    second = await paired(store, 3, 4)
    assert {t.team.id for t in await store.active(GUILD)} == {first, second}
    assert await store.stop_checkins(GUILD, NOW, team_ids=[first]) == 1
    assert {t.team.id for t in await store.active(GUILD)} == {second}
    assert await store.claim_round(first, 1, NOW, "n") is None
    assert await store.stop_checkins(GUILD, NOW) == 1  # the first was stopped already
    assert await store.active(GUILD) == []
    assert await store.stop_checkins(GUILD + 1, NOW) == 0


async def test_rematch_requeues_at_the_front_and_blocks_the_quiet_partner(store: CheckinStore) -> None:
    team = await paired(store)
    await announce(store.matching, 5, "backend")
    waiting = await store.matching.find(GUILD, 5, NOW)
    assert waiting.kind == "waiting"
    posted = NOW + RULES.first_after
    checkin = await store.claim_round(team, 1, posted, "n")
    assert checkin is not None
    await store.round_posted(checkin.id, 1, posted)
    await store.answer(checkin.id, 2, "partner_quiet", posted)
    later = posted + RULES.quiet_after
    offer = await store.claim_offer(team, 2, "o", later)
    assert offer is not None and offer.state == "claimed"
    await store.offer_sent(team, 2)
    assert await store.claim_offer(team, 2, "o2", later) is None  # open already: never offered twice
    result = await store.rematch(team, 2, later, RULES)
    assert (result.removed, result.requeued, result.ends) == ((1,), (2,), True)
    line = await store.matching.status(GUILD, 2)
    assert line.line is not None and line.line.position == 1
    assert (await store.matching.status(GUILD, 5)).line.position == 2  # type: ignore[union-attr]
    with pytest.raises(InvalidInput):
        await store.rematch(team, 2, later, RULES)
    # The quiet partner looking again is never proposed to the one they left behind.
    again = await store.matching.find(GUILD, 1, later)
    assert again.kind == "proposed" and again.proposal is not None and 2 not in again.proposal.members


async def test_stop_checkins_of_one_cohort_leaves_the_other_cohorts_teams_running(store: CheckinStore) -> None:
    first = await paired(store, 1, 2)
    second = await paired(store, 3, 4)
    with raw_writes(store.db) as conn:
        # Two cohorts of one server, as /nexus cohort create makes them; each team in its own.
        conn.execute(
            "INSERT INTO cohorts (id, guild_id, name, start_date, timezone, channel_id, created_at)"
            " VALUES (41, ?, 'Cohort A', '2026-01-05', 'UTC', 1, ?), (42, ?, 'Cohort B', '2026-01-12', 'UTC', 2, ?)",
            (GUILD, NOW.isoformat(), GUILD, NOW.isoformat()),
        )
        conn.execute("UPDATE teams SET cohort_id = CASE id WHEN ? THEN 41 ELSE 42 END", (first,))
    assert await store.stop_checkins(GUILD, NOW, cohort_id=41) == 1
    assert {t.team.id for t in await store.active(GUILD)} == {second}
    assert {t.team.id for t in await store.active(GUILD, cohort_id=42)} == {second}
    assert await store.active(GUILD, cohort_id=41) == []
