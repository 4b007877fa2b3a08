"""Cohorts on real SQLite files: the upgrade that turns a guild's configuration into its first cohort, and the store."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from bot.cohorts import Cohort
from bot.ops import ProjectCount
from bot.projects import AnnouncementDraft
from bot.storage.cohorts import CohortCounts, CohortStore
from bot.storage.db import LATEST_VERSION, Database, load_migrations
from bot.storage.matching import MatchingStore
from bot.storage.ops import OpsStore
from bot.storage.projects import ProjectsStore
from bot.storage.reminders import RemindersStore
from tests.test_ops_stats import GUILD, OTHER_GUILD, seed

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
COHORTS = 90  # the migration that made cohorts
# Every table that names a learner's cohort, and the tables reached through one of them.
COHORT_TABLES = (
    "announcements",
    "match_pool",
    "proposals",
    "teams",
    "matching_log",
    "matching_notices",
    "reminder_cohorts",
    "reminder_runs",
    "reminder_deliveries",
)


def _schema_before_cohorts(path: Path) -> None:
    raw = sqlite3.connect(path, isolation_level=None)
    for version, _, sql in load_migrations():
        if version < COHORTS:
            raw.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;")
    raw.close()


async def test_a_populated_database_from_before_cohorts_upgrades_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "v80.db"
    _schema_before_cohorts(path)
    await seed(Database(path), GUILD)
    await seed(Database(path), OTHER_GUILD)  # rows of a guild that never ran /nexus setup
    raw = sqlite3.connect(path)
    raw.execute(
        "INSERT INTO guild_config (guild_id, channel_id, cohort_start, timezone, learner_role_id, staff_role_id,"
        " updated_at, updated_by) VALUES (?, 555, '2026-01-05', 'Africa/Lagos', 777, 888, ?, 1)",
        (GUILD, NOW.isoformat()),
    )
    raw.execute(
        "INSERT INTO matching_log (guild_id, actor_id, action, details, created_at) VALUES (?, 1, 'run', '{}', ?)",
        (GUILD, NOW.isoformat()),
    )
    raw.execute(
        "INSERT INTO matching_notices (guild_id, user_id, content, created_at) VALUES (?, 3, 'hello', ?)",
        (GUILD, NOW.isoformat()),
    )
    raw.execute(
        "INSERT INTO reminder_pauses (guild_id, paused_at, paused_by) VALUES (?, ?, 1)", (GUILD, NOW.isoformat())
    )
    raw.commit()
    tables = [name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    rows_before = {table: sorted(raw.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in tables}  # noqa: S608
    assert raw.execute("PRAGMA user_version").fetchone()[0] < COHORTS
    raw.close()

    db = Database(path)
    assert await db.connect() == LATEST_VERSION
    try:
        cohorts = [dict(row) for row in await db.fetchall("SELECT * FROM cohorts ORDER BY id")]
        assert len(cohorts) == 1
        first = cohorts[0]
        assert (first["guild_id"], first["start_date"], first["timezone"]) == (GUILD, "2026-01-05", "Africa/Lagos")
        assert (first["channel_id"], first["learner_role_id"], first["closed_at"]) == (555, 777, None)
        assert first["name"] == "Cohort 2026-01-05"

        # Nothing lost: every row of every table is still there with the values it had (new columns appended);
        # a pause now belongs to the guild's cohort (0092 rebuilt that table with the cohort first).
        pauses = [tuple(row) for row in await db.fetchall("SELECT guild_id, cohort_id, paused_by FROM reminder_pauses")]
        assert pauses == [(GUILD, first["id"], 1)]
        for table, before in rows_before.items():
            if table == "reminder_pauses":
                continue
            width = len(before[0]) if before else 0
            after = await db.fetchall(f"SELECT * FROM {table}")  # noqa: S608 - names read from the schema
            assert sorted((tuple(row)[:width] for row in after), key=repr) == before, table

        # ... and every per-learner row of the configured guild belongs to its first cohort; the other guild's rows
        # wait (NULL) for the cohort its /nexus setup will make.
        for table in COHORT_TABLES:
            owners = {
                (row["guild_id"], row["cohort_id"])
                for row in await db.fetchall(f"SELECT guild_id, cohort_id FROM {table}")  # noqa: S608
            }
            assert owners <= {(GUILD, first["id"]), (OTHER_GUILD, None)}, table
            assert (GUILD, first["id"]) in owners, table
        assert [tuple(row) for row in await db.fetchall("PRAGMA integrity_check")] == [("ok",)]
        assert list(await db.fetchall("PRAGMA foreign_key_check")) == []

        # The bot reads the upgraded file as before.
        stats = await OpsStore(db).guild_stats(GUILD)
        assert (stats.learners, stats.waiting, stats.pending_proposals, stats.paired, stats.teams) == (4, 1, 1, 2, 1)
        assert (stats.reminders_sent, stats.reminders_failed) == (2, 1)
        assert sorted(stats.projects, key=lambda p: p.project_key) == [
            ProjectCount("custom:pionus", "Pionus Safaris (custom)", 1, 0),
            ProjectCount("ecommerce", "ecommerce", 1, 1),
        ]
        board = sorted(await ProjectsStore(db).board_totals(GUILD), key=lambda total: total.key)
        assert [(t.key, t.frontend, t.backend, t.paired, t.waiting) for t in board] == [
            ("custom:pionus", 1, 0, 0, 1),
            ("ecommerce", 1, 1, 2, 0),
        ]
        match_board = await MatchingStore(db).board(GUILD)
        assert [(row.project_key, row.frontend_waiting) for row in match_board] == [("custom:pionus", 1)]
    finally:
        await db.close()


async def test_closing_then_purging_one_cohort_leaves_the_other_whole(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    await db.connect()
    try:
        await seed(db, GUILD)  # written before any cohort: the first cohort adopts it all
        store = CohortStore(db)
        first = await store.create(Cohort(0, GUILD, "Cohort A", date(2026, 1, 5), "UTC", 555), by=1, now=NOW)
        second = await store.create(Cohort(0, GUILD, "Cohort B", date(2026, 3, 2), "Africa/Lagos", 666), by=1, now=NOW)
        await db.execute(
            "INSERT INTO learners (guild_id, user_id, display_name, first_seen_at) VALUES (?, 7, 'b', ?)",
            (GUILD, NOW.isoformat()),
        )
        await db.execute(
            "INSERT INTO announcements (guild_id, user_id, project_key, project_name, track, created_at, cohort_id)"
            " VALUES (?, 7, 'ecommerce', 'E-Commerce', 'frontend', ?, ?)",
            (GUILD, NOW.isoformat(), second.id),
        )
        await db.execute(
            "INSERT INTO match_pool (guild_id, user_id, project_key, track, queued_at, cohort_id)"
            " VALUES (?, 7, 'ecommerce', 'frontend', ?, ?)",
            (GUILD, NOW.isoformat(), second.id),
        )
        assert await store.counts(second.id) == CohortCounts(announced=1, waiting=1, teams=0)

        closing = await store.close(first, by=1, now=NOW)
        assert closing is not None and closing.waiting == (3, 4) and len(closing.proposals) == 1
        assert closing.reminders_cancelled == 1
        assert await store.close(first, by=1, now=NOW) is None  # once
        assert await store.counts(first.id) == CohortCounts(announced=3, waiting=0, teams=1)  # frozen, readable
        assert await store.counts(second.id) == CohortCounts(announced=1, waiting=1, teams=0)
        assert await store.counts_by_cohort(GUILD) == {
            first.id: CohortCounts(announced=3, waiting=0, teams=1),
            second.id: CohortCounts(announced=1, waiting=1, teams=0),
        }
        assert await store.counts_by_cohort(OTHER_GUILD) == {}

        kept = await store.purge(first, NOW)
        assert kept == {"announced": 4, "proposals": 1, "reminders_sent": 2, "teams": 1}
        assert await store.purged_counts(first.id) == kept
        users = {row["user_id"] for row in await db.fetchall("SELECT user_id FROM announcements")}
        assert users == {7}
        assert {row["user_id"] for row in await db.fetchall("SELECT user_id FROM learners")} == {5, 7}
        assert await store.counts(second.id) == CohortCounts(announced=1, waiting=1, teams=0)
        assert list(await db.fetchall("PRAGMA foreign_key_check")) == []
        assert await store.purge(first, NOW) is None  # once
    finally:
        await db.close()


def _draft(user_id: int, track: str, cohort_id: int | None) -> AnnouncementDraft:
    return AnnouncementDraft(
        guild_id=GUILD,
        user_id=user_id,
        project_key="ecommerce",
        project_name="E-Commerce",
        track=track,  # type: ignore[arg-type]
        summary=None,
        repo_url=None,
        timezone=None,
        late=False,
        cohort_id=cohort_id,
    )


async def _cohort_of(db: Database, sql: str, *params: object) -> list[int | None]:
    return [row[0] for row in await db.fetchall(sql, params)]


async def test_every_write_names_the_cohort_of_its_learner(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    await db.connect()
    try:
        cohorts = CohortStore(db)
        first = await cohorts.create(Cohort(0, GUILD, "Cohort A", date(2026, 1, 5), "UTC", 555), by=1, now=NOW)
        second = await cohorts.create(Cohort(0, GUILD, "Cohort B", date(2026, 3, 2), "UTC", 666), by=1, now=NOW)
        projects, matching = ProjectsStore(db), MatchingStore(db)
        announced = {}
        for user, track, cohort_id in [(1, "frontend", second.id), (2, "backend", None), (3, "backend", second.id)]:
            outcome = await projects.announce(_draft(user, track, cohort_id), display_name=f"u{user}", now=NOW)
            announced[user] = outcome.announcement.cohort_id
        # Named by the writer, else (two live cohorts, none before) the guild's first.
        assert announced == {1: second.id, 2: first.id, 3: second.id}
        again = await projects.announce(
            replace(_draft(2, "frontend", None), summary="changed"), display_name="u2", now=NOW
        )
        assert again.announcement.cohort_id == first.id  # a new choice keeps the live cohort the learner was in

        assert (await matching.find(GUILD, 3, NOW)).kind == "waiting"
        found = await matching.find(GUILD, 1, NOW)
        assert found.kind == "proposed" and found.proposal is not None and found.proposal.backend_id == 3
        assert (await matching.find(GUILD, 2, NOW)).kind == "waiting"  # 3 waits in the other cohort
        pool = "SELECT cohort_id FROM match_pool WHERE guild_id = ? AND user_id = ?"
        assert [await _cohort_of(db, pool, GUILD, user) for user in (1, 2, 3)] == [[second.id], [first.id], [second.id]]
        proposal = "SELECT cohort_id FROM proposals WHERE id = ?"
        assert await _cohort_of(db, proposal, found.proposal.id) == [second.id]

        await matching.answer(found.proposal.id, 1, "accepted", NOW)
        update = await matching.answer(found.proposal.id, 3, "accepted", NOW)
        assert update.team is not None
        await projects.announce(_draft(4, "backend", first.id), display_name="u4", now=NOW)
        staff_team = (await matching.pair(GUILD, 4, 2, staff_id=9, now=NOW)).team
        team = "SELECT cohort_id FROM teams WHERE id = ?"
        assert await _cohort_of(db, team, update.team.id) == [second.id]  # the proposal's
        assert await _cohort_of(db, team, staff_team.id) == [first.id]  # its first member's

        notice = await matching.add_notice(GUILD, 3, "hello", NOW)
        assert await _cohort_of(db, "SELECT cohort_id FROM matching_notices WHERE id = ?", notice.id) == [second.id]

        reminders = RemindersStore(db)
        due = {"r1": datetime(2026, 3, 2, 9, 0, tzinfo=UTC)}
        schedule = await reminders.apply_schedule(GUILD, date(2026, 3, 2), "UTC", due, NOW, cohort_id=second.id)
        await reminders.claim(GUILD, schedule.key, "r1", 1, "nonce", NOW)
        for table in ("reminder_cohorts", "reminder_runs", "reminder_deliveries"):
            assert await _cohort_of(db, f"SELECT cohort_id FROM {table}") == [second.id], table  # noqa: S608
        # A schedule written without a cohort is a single-cohort server's: its first cohort's.
        only = await cohorts.create(Cohort(0, OTHER_GUILD, "Solo", date(2026, 1, 5), "UTC", 777), by=1, now=NOW)
        await reminders.apply_schedule(OTHER_GUILD, date(2026, 1, 5), "UTC", due, NOW)
        schedules = "SELECT cohort_id FROM reminder_cohorts WHERE guild_id = ?"
        assert await _cohort_of(db, schedules, OTHER_GUILD) == [only.id]
    finally:
        await db.close()
