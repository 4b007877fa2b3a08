"""RemindersStore on real SQLite files: cohorts and rescheduling, the exactly-once claim, restart resume, audiences."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.reminders import DeliveryFailure
from bot.storage.db import Database
from bot.storage.reminders import RemindersStore
from tests.storage_helpers import raw_writes

GUILD = 10
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def due(start: date, hour: int = 9) -> dict[str, datetime]:
    base = datetime(start.year, start.month, start.day, hour, tzinfo=UTC)
    return {"kickoff": base, "nudge": base + timedelta(days=1), "summary": base + timedelta(days=7)}


@pytest_asyncio.fixture
async def store(db: Database) -> RemindersStore:
    return RemindersStore(db)


async def test_first_setup_creates_the_cohort_and_its_runs(store: RemindersStore) -> None:
    cohort = await store.apply_schedule(GUILD, date(2026, 1, 5), "UTC", due(date(2026, 1, 5)), NOW)
    assert cohort.key == "2026-01-05"
    assert await store.active_cohort(GUILD) == cohort
    runs = await store.runs(GUILD, cohort.key)
    assert [(r.reminder_id, r.state) for r in runs] == [
        ("kickoff", "pending"),
        ("nudge", "pending"),
        ("summary", "pending"),
    ]
    assert await store.next_due(GUILD, cohort.key) == datetime(2026, 1, 5, 9, tzinfo=UTC)


async def test_a_correction_moves_only_what_was_not_sent(store: RemindersStore) -> None:
    cohort = await store.apply_schedule(GUILD, date(2026, 1, 5), "UTC", due(date(2026, 1, 5)), NOW)
    assert await store.begin_sending(GUILD, cohort.key, "kickoff", NOW)
    await store.finish(GUILD, cohort.key, "kickoff", NOW)
    await store.skip(GUILD, cohort.key, "nudge", "missed", NOW)

    moved = await store.apply_schedule(GUILD, date(2026, 1, 6), "Asia/Tokyo", due(date(2026, 1, 6), 0), NOW)
    assert moved.key == cohort.key and moved.cohort_start == date(2026, 1, 6) and moved.timezone == "Asia/Tokyo"
    runs = {r.reminder_id: r for r in await store.runs(GUILD, cohort.key)}
    assert runs["kickoff"].state == "sent" and runs["kickoff"].due_at == datetime(2026, 1, 5, 9, tzinfo=UTC)
    # A skipped run whose time moved is pending again at its new time.
    assert runs["nudge"].state == "pending" and runs["nudge"].due_at == datetime(2026, 1, 7, 0, tzinfo=UTC)
    assert runs["summary"].due_at == datetime(2026, 1, 13, 0, tzinfo=UTC)


async def test_reapplying_the_same_schedule_keeps_skipped_runs_skipped(store: RemindersStore) -> None:
    cohort = await store.apply_schedule(GUILD, date(2026, 1, 5), "UTC", due(date(2026, 1, 5)), NOW)
    await store.skip(GUILD, cohort.key, "kickoff", "missed by 14 h", NOW)
    await store.apply_schedule(GUILD, date(2026, 1, 5), "UTC", due(date(2026, 1, 5)), NOW)
    (skipped,) = await store.skipped(GUILD, cohort.key)
    assert (skipped.reminder_id, skipped.reason) == ("kickoff", "missed by 14 h")


async def test_a_new_cohort_gets_a_fresh_week_and_retires_the_old_one(store: RemindersStore) -> None:
    first = await store.apply_schedule(GUILD, date(2026, 1, 5), "UTC", due(date(2026, 1, 5)), NOW)
    await store.begin_sending(GUILD, first.key, "kickoff", NOW)
    await store.finish(GUILD, first.key, "kickoff", NOW)
    second = await store.apply_schedule(GUILD, date(2026, 3, 2), "UTC", due(date(2026, 3, 2)), NOW)
    assert second.key == "2026-03-02" and await store.active_cohort(GUILD) == second
    assert {r.state for r in await store.runs(GUILD, second.key)} == {"pending"}
    old = {r.reminder_id: r for r in await store.runs(GUILD, first.key)}
    assert old["kickoff"].state == "sent"
    assert old["nudge"].state == "skipped" and old["nudge"].reason == "replaced by the cohort starting 2026-03-02"


async def test_begin_sending_is_exclusive_and_manual_send_revives_a_skipped_run(store: RemindersStore) -> None:
    cohort = await store.apply_schedule(GUILD, date(2026, 1, 5), "UTC", due(date(2026, 1, 5)), NOW)
    assert await store.begin_sending(GUILD, cohort.key, "kickoff", NOW)
    assert not await store.begin_sending(GUILD, cohort.key, "kickoff", NOW)
    assert not await store.begin_sending(GUILD, cohort.key, "kickoff", NOW, manual=True)
    await store.skip(GUILD, cohort.key, "nudge", "missed", NOW)
    assert not await store.begin_sending(GUILD, cohort.key, "nudge", NOW)
    assert await store.begin_sending(GUILD, cohort.key, "nudge", NOW, manual=True)
    run = await store.run(GUILD, cohort.key, "nudge")
    assert run is not None and run.state == "sending" and run.started_at == NOW and run.reason is None


async def test_claim_is_unique_per_recipient_and_keeps_the_first_nonce(store: RemindersStore) -> None:
    cohort = await store.apply_schedule(GUILD, date(2026, 1, 5), "UTC", due(date(2026, 1, 5)), NOW)
    first = await store.claim(GUILD, cohort.key, "nudge", 42, "nonce-one", NOW)
    again = await store.claim(GUILD, cohort.key, "nudge", 42, "nonce-two", NOW)
    assert (first.state, first.nonce) == ("claimed", "nonce-one")
    assert (again.state, again.nonce) == ("claimed", "nonce-one")
    other = await store.claim(GUILD, cohort.key, "kickoff", 42, "nonce-three", NOW)
    assert other.nonce == "nonce-three"
    await store.mark_sent(GUILD, cohort.key, "nudge", 42, 777, NOW)
    after = await store.claim(GUILD, cohort.key, "nudge", 42, "nonce-four", NOW)
    assert (after.state, after.nonce, after.attempts) == ("sent", "nonce-one", 1)


async def test_the_unique_key_holds_even_against_raw_inserts(store: RemindersStore, db: Database) -> None:
    cohort = await store.apply_schedule(GUILD, date(2026, 1, 5), "UTC", due(date(2026, 1, 5)), NOW)
    await store.claim(GUILD, cohort.key, "nudge", 42, "n1", NOW)
    with pytest.raises(sqlite3.IntegrityError), raw_writes(db) as conn:
        conn.execute(
            "INSERT INTO reminder_deliveries (guild_id, cohort_key, reminder_id, recipient, nonce, state,"
            " claimed_at, updated_at) VALUES (?, ?, 'nudge', 42, 'n2', 'claimed', 'x', 'x')",
            (GUILD, cohort.key),
        )


async def test_a_claim_left_by_a_crash_is_resumed_with_its_nonce_after_restart(tmp_path: Path) -> None:
    path = tmp_path / "restart.db"
    first = Database(path)
    await first.connect()
    store = RemindersStore(first)
    cohort = await store.apply_schedule(GUILD, date(2026, 1, 5), "UTC", due(date(2026, 1, 5)), NOW)
    await store.begin_sending(GUILD, cohort.key, "nudge", NOW)
    await store.claim(GUILD, cohort.key, "nudge", 1, "sent-one", NOW)
    await store.mark_sent(GUILD, cohort.key, "nudge", 1, 501, NOW)
    await store.claim(GUILD, cohort.key, "nudge", 2, "crashed-mid-send", NOW)
    await first.close()

    second = Database(path)
    await second.connect()
    try:
        resumed = RemindersStore(second)
        assert (await resumed.active_cohort(GUILD)) == cohort
        run = await resumed.run(GUILD, cohort.key, "nudge")
        assert run is not None and run.state == "sending"
        deliveries = await resumed.deliveries(GUILD, cohort.key, "nudge")
        assert {r: d.state for r, d in deliveries.items()} == {1: "sent", 2: "claimed"}
        retry = await resumed.claim(GUILD, cohort.key, "nudge", 2, "a-new-nonce", NOW)
        assert (retry.state, retry.nonce) == ("claimed", "crashed-mid-send")
    finally:
        await second.close()


async def test_retry_then_failure_are_recorded_never_deleted(store: RemindersStore) -> None:
    cohort = await store.apply_schedule(GUILD, date(2026, 1, 5), "UTC", due(date(2026, 1, 5)), NOW)
    await store.begin_sending(GUILD, cohort.key, "nudge", NOW)
    await store.claim(GUILD, cohort.key, "nudge", 7, "n7", NOW)
    retry = await store.mark_retry(
        GUILD, cohort.key, "nudge", 7, reason="HTTP 500", next_attempt_at=NOW + timedelta(seconds=30), now=NOW
    )
    assert (retry.state, retry.attempts, retry.next_attempt_at) == ("retry", 1, NOW + timedelta(seconds=30))
    await store.claim(GUILD, cohort.key, "nudge", 8, "n8", NOW)
    await store.mark_failed(GUILD, cohort.key, "nudge", 8, kind="closed_dms", reason="DMs closed", now=NOW)
    await store.mark_sent(GUILD, cohort.key, "nudge", 7, 900, NOW)
    await store.set_total(GUILD, cohort.key, "nudge", 2)
    await store.finish(GUILD, cohort.key, "nudge", NOW)
    progress = (await store.progress(GUILD, cohort.key))["nudge"]
    assert (progress.done, progress.failed, progress.total) == (2, 1, 2)
    assert await store.failures(GUILD, cohort.key) == [DeliveryFailure("nudge", 8, "closed_dms", "DMs closed")]
    run = await store.run(GUILD, cohort.key, "nudge")
    assert run is not None and run.state == "sent"


async def test_closed_dm_failures_are_listed_once(store: RemindersStore) -> None:
    cohort = await store.apply_schedule(GUILD, date(2026, 1, 5), "UTC", due(date(2026, 1, 5)), NOW)
    for reminder_id, user, kind in (
        ("nudge", 5, "closed_dms"),
        ("nudge", 6, "left"),
        ("nudge", 7, "closed_dms"),
        ("summary", 8, "closed_dms"),
    ):
        await store.claim(GUILD, cohort.key, reminder_id, user, f"n{user}", NOW)
        await store.mark_failed(GUILD, cohort.key, reminder_id, user, kind=kind, reason=kind, now=NOW)
    kinds = ["closed_dms", "gave_up"]
    assert await store.unreported(GUILD, cohort.key, kinds, ["nudge"]) == [5, 7]
    assert await store.unreported(GUILD, cohort.key, kinds, ["nudge", "summary"]) == [5, 7, 8]
    await store.mark_reported(GUILD, cohort.key, [5], "digest")
    assert await store.unreported(GUILD, cohort.key, kinds, ["nudge"]) == [7]


async def test_pause_is_per_guild(store: RemindersStore) -> None:
    assert await store.set_paused(GUILD, True, by=1, now=NOW)
    assert not await store.set_paused(GUILD, True, by=1, now=NOW)
    assert await store.is_paused(GUILD) and not await store.is_paused(GUILD + 1)
    assert await store.set_paused(GUILD, False, by=1, now=NOW)
    assert not await store.is_paused(GUILD)


async def test_opt_out_creates_or_updates_the_learner_row(store: RemindersStore, db: Database) -> None:
    await store.set_opt_out(GUILD, 5, display_name="ada", opt_out=True, now=NOW)
    assert await store.opted_out(GUILD) == frozenset({5})
    await store.set_opt_out(GUILD, 5, display_name="ada again", opt_out=False, now=NOW)
    assert await store.opted_out(GUILD) == frozenset()
    row = await db.fetchone(
        "SELECT display_name, first_seen_at FROM learners WHERE guild_id = ? AND user_id = 5", (GUILD,)
    )
    assert row is not None and row["display_name"] == "ada" and row["first_seen_at"] == NOW.isoformat()


async def test_audience_data_reads_announcements_and_teams(store: RemindersStore, db: Database) -> None:
    with raw_writes(db) as conn:
        for user in (1, 2, 3):
            conn.execute(
                "INSERT INTO learners (guild_id, user_id, display_name, first_seen_at) VALUES (?, ?, ?, 'x')",
                (GUILD, user, f"u{user}"),
            )
        conn.execute(
            "INSERT INTO announcements (guild_id, user_id, project_key, project_name, track, created_at, ended_at,"
            " end_reason) VALUES (?, 1, 'job-board', 'Job Board Backend', 'backend', '1', '2', 'replaced')",
            (GUILD,),
        )
        for user, track, name in ((1, "frontend", "Job Board Platform"), (2, "backend", "Job Board Backend")):
            conn.execute(
                "INSERT INTO announcements (guild_id, user_id, project_key, project_name, track, created_at)"
                " VALUES (?, ?, 'job-board', ?, ?, '3')",
                (GUILD, user, name, track),
            )
        conn.execute(
            "INSERT INTO teams (id, guild_id, project_key, created_at) VALUES (1, ?, 'job-board', 'x')", (GUILD,)
        )
        conn.execute(
            "INSERT INTO team_members (team_id, guild_id, user_id, track, joined_at, left_at)"
            " VALUES (1, ?, 1, 'frontend', 'x', NULL), (1, ?, 2, 'backend', 'x', 'y')",
            (GUILD, GUILD),
        )
    announced = await store.announced(GUILD)
    assert [(a.user_id, a.track) for a in announced] == [(1, "frontend"), (2, "backend")]
    assert await store.teamed(GUILD) == frozenset({1})
