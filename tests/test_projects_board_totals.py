"""The /projects board counted by SQLite equals the board the domain computes from every member, on a real file."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.projects import AnnouncementDraft, ProjectTotals, board_from_totals, compute_board, project_totals
from bot.projects_content import PROJECTS_FILE, load_projects
from bot.storage.db import Database
from bot.storage.projects import ProjectsStore
from tests.conftest import CONTENT_DIR

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
GUILD = 10
CATALOGUE = load_projects(CONTENT_DIR / PROJECTS_FILE)


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "board.db")
    await database.connect()
    yield database
    await database.close()


def draft(user_id: int, key: str, name: str, track: str) -> AnnouncementDraft:
    return AnnouncementDraft(
        guild_id=GUILD,
        user_id=user_id,
        project_key=key,
        project_name=name,
        track=track,  # type: ignore[arg-type]
        summary=None,
        repo_url=None,
        timezone=None,
        late=False,
    )


async def test_counted_board_matches_the_board_computed_from_members(db: Database) -> None:
    store = ProjectsStore(db)
    people = [
        (1, "job-board", "Job Board Backend", "backend"),
        (2, "job-board", "Job Board Platform", "frontend"),
        (3, "job-board", "Job Board Platform", "frontend"),
        (4, "custom:pionus-safaris", "Pionus Safaris", "backend"),
        (5, "custom:pionus-safaris", "Pionus SAFARIS app", "frontend"),  # the latest name wins
        (6, "ecommerce", "E-Commerce Backend", "backend"),
        (7, "ecommerce", "E-Commerce Product Catalog", "frontend"),  # leaves the server: not counted
    ]
    for minute, (user, key, name, track) in enumerate(people):
        await store.announce(
            draft(user, key, name, track), display_name=f"learner{user}", now=NOW + timedelta(minutes=minute)
        )
    await store.member_left(GUILD, 7, now=NOW + timedelta(hours=1))

    def matching(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO match_pool (guild_id, user_id, project_key, track, queued_at, state)"
            " VALUES (?, 2, 'job-board', 'frontend', ?, 'waiting'), (?, 4, 'custom:pionus-safaris', 'backend', ?,"
            " 'proposed')",
            (GUILD, NOW.isoformat(), GUILD, NOW.isoformat()),
        )
        team = conn.execute(
            "INSERT INTO teams (guild_id, project_key, created_at) VALUES (?, 'ecommerce', ?)", (GUILD, NOW.isoformat())
        ).lastrowid
        conn.execute(
            "INSERT INTO team_members (team_id, guild_id, user_id, track, joined_at) VALUES (?, ?, 6, 'backend', ?)",
            (team, GUILD, NOW.isoformat()),
        )

    await db.transact(matching)

    counted = await store.board_totals(GUILD)
    assert sorted(counted, key=lambda total: total.key) == sorted(
        project_totals(await store.members(GUILD)), key=lambda total: total.key
    )
    assert board_from_totals(counted, CATALOGUE) == compute_board(await store.members(GUILD), CATALOGUE)
    by_key = {total.key: total for total in counted}
    assert by_key["custom:pionus-safaris"].latest_name == "Pionus SAFARIS app"
    assert by_key["job-board"] == ProjectTotals(
        "job-board", "Job Board Platform", NOW + timedelta(minutes=2), frontend=2, backend=1, waiting=1
    )
    assert (by_key["ecommerce"].backend, by_key["ecommerce"].frontend, by_key["ecommerce"].paired) == (1, 0, 1)


@pytest.mark.parametrize("count", [0, 1])
async def test_an_empty_guild_still_lists_every_official_project(db: Database, count: int) -> None:
    store = ProjectsStore(db)
    if count:
        await store.announce(draft(1, "job-board", "Job Board Backend", "backend"), display_name="ada", now=NOW)
    rows = board_from_totals(await store.board_totals(GUILD), CATALOGUE)
    assert {row.key for row in rows} == {project.key for project in CATALOGUE.projects}
    assert sum(row.total for row in rows) == count
