"""The /projects board as storage counts it, against counts written out by hand, on a real file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.projects import AnnouncementDraft, ProjectTotals, board_from_totals
from bot.projects_content import PROJECTS_FILE, load_projects
from bot.storage.db import Database
from bot.storage.projects import ProjectsStore
from tests.conftest import CONTENT_DIR
from tests.storage_helpers import raw_writes

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
GUILD = 10
CATALOGUE = load_projects(CONTENT_DIR / PROJECTS_FILE)


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


async def test_the_board_counts_present_learners_paired_and_waiting(db: Database) -> None:
    store = ProjectsStore(db)
    people = [
        (1, "job-board", "Job Board Backend", "backend"),
        (2, "job-board", "Job Board Platform", "frontend"),
        (3, "job-board", "Job Board Platform", "frontend"),
        (4, "custom:pionus-safaris", "Pionus Safaris", "backend"),
        (5, "custom:pionus-safaris", "Pionus SAFARIS app", "frontend"),  # the latest name wins
        (6, "ecommerce", "E-Commerce Backend", "backend"),
        (7, "ecommerce", "E-Commerce Product Catalog", "frontend"),  # leaves the server: not counted
        (8, "ecommerce", "E-Commerce Backend", "backend"),  # was in a team that ended: not paired
        (9, "online-poll", "Online Poll Backend", "backend"),  # withdraws: not counted
    ]
    for minute, (user, key, name, track) in enumerate(people):
        await store.announce(
            draft(user, key, name, track), display_name=f"learner{user}", now=NOW + timedelta(minutes=minute)
        )
    await store.member_left(GUILD, 7, now=NOW + timedelta(hours=1))
    await store.withdraw(GUILD, 9, now=NOW + timedelta(hours=1))
    when = NOW.isoformat()
    with raw_writes(db) as conn:
        # Waiting for the project announced counts; proposed, or waiting for another project, does not.
        conn.execute(
            "INSERT INTO match_pool (guild_id, user_id, project_key, track, queued_at, state) VALUES"
            " (?, 2, 'job-board', 'frontend', ?, 'waiting'), (?, 4, 'custom:pionus-safaris', 'backend', ?, 'proposed'),"
            " (?, 3, 'ecommerce', 'frontend', ?, 'waiting')",
            (GUILD, when, GUILD, when, GUILD, when),
        )
        team = conn.execute(
            "INSERT INTO teams (guild_id, project_key, created_at) VALUES (?, 'ecommerce', ?)", (GUILD, when)
        ).lastrowid
        ended = conn.execute(
            "INSERT INTO teams (guild_id, project_key, created_at, ended_at) VALUES (?, 'ecommerce', ?, ?)",
            (GUILD, when, when),
        ).lastrowid
        # A team ends by marking every member as left, as the matching store does.
        conn.execute(
            "INSERT INTO team_members (team_id, guild_id, user_id, track, joined_at, left_at) VALUES"
            " (?, ?, 6, 'backend', ?, NULL), (?, ?, 8, 'backend', ?, ?)",
            (team, GUILD, when, ended, GUILD, when, when),
        )

    counted = sorted(await store.board_totals(GUILD), key=lambda total: total.key)
    assert counted == [
        ProjectTotals("custom:pionus-safaris", "Pionus SAFARIS app", NOW + timedelta(minutes=4), frontend=1, backend=1),
        ProjectTotals("ecommerce", "E-Commerce Backend", NOW + timedelta(minutes=7), backend=2, paired=1),
        ProjectTotals("job-board", "Job Board Platform", NOW + timedelta(minutes=2), frontend=2, backend=1, waiting=1),
    ]
    assert await store.board_total(GUILD, "job-board") == counted[2]
    assert await store.board_total(GUILD, "online-poll") is None
    rows = board_from_totals(counted, CATALOGUE)
    assert [(row.key, row.total) for row in rows[:3]] == [
        ("job-board", 3),
        ("ecommerce", 2),  # two learners each: the more recent activity first (minute 7 against 4)
        ("custom:pionus-safaris", 2),
    ]


@pytest.mark.parametrize("count", [0, 1])
async def test_an_empty_guild_still_lists_every_official_project(db: Database, count: int) -> None:
    store = ProjectsStore(db)
    if count:
        await store.announce(draft(1, "job-board", "Job Board Backend", "backend"), display_name="ada", now=NOW)
    rows = board_from_totals(await store.board_totals(GUILD), CATALOGUE)
    assert {row.key for row in rows} == {project.key for project in CATALOGUE.projects}
    assert sum(row.total for row in rows) == count
