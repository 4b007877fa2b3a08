"""/nexus stats and the hourly stats line: pure wording, read-only counts on a real SQLite file, the command end
to end through SimCord."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord

from bot.ops import (
    GuildStats,
    ProjectCount,
    RuntimeStats,
    format_duration,
    format_latency,
    project_lines,
    stats_log_line,
)
from bot.storage.db import Database
from bot.storage.ops import OpsStore
from tests.conftest import World
from tests.storage_helpers import raw_writes

GUILD, OTHER_GUILD = 100, 200
NOW = "2026-01-05T09:00:00+00:00"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "less than a minute"),
        (59.9, "less than a minute"),
        (300, "5 min"),
        (725, "12 min"),
        (3600, "1 h 0 min"),
        (12_000, "3 h 20 min"),
        (187_200, "2 d 4 h"),
        (-5, "less than a minute"),
    ],
)
def test_format_duration(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


@pytest.mark.parametrize(
    ("latency", "expected"), [(0.0421, "42 ms"), (None, "n/a"), (float("nan"), "n/a"), (float("inf"), "n/a")]
)
def test_format_latency(latency: float | None, expected: str) -> None:
    assert format_latency(latency) == expected


def test_project_lines_busiest_first_and_within_one_field() -> None:
    projects = (
        ProjectCount("job-board", "job-board", 1, 0),
        ProjectCount("ecommerce", "ecommerce", 2, 3),
    )
    assert project_lines(projects) == "ecommerce — 2 frontend, 3 backend\njob-board — 1 frontend, 0 backend"
    many = tuple(ProjectCount(f"custom:p{i}", f"{'x' * 80} {i} (custom)", 1, 0) for i in range(40))
    text = project_lines(many)
    assert len(text) <= 1024
    assert text.endswith("more")
    assert project_lines(()) == "No announcements yet."


def make_stats(**changes: Any) -> GuildStats:
    values: dict[str, Any] = {
        "guild_id": GUILD,
        "learners": 5,
        "projects": (
            ProjectCount("ecommerce", "ecommerce", 2, 1),
            ProjectCount("custom:secret-app", "Secret App (custom)", 1, 0),
        ),
        "waiting": 2,
        "pending_proposals": 1,
        "paired": 2,
        "teams": 1,
        "reminders_sent": 7,
        "reminders_failed": 1,
        "knowledge_lookups": None,
        "knowledge_misses": None,
    }
    values.update(changes)
    return GuildStats(**values)


def test_stats_log_line_is_key_value_without_learner_text() -> None:
    line = stats_log_line(make_stats(), RuntimeStats(uptime_seconds=3725.4, latency_seconds=0.05))
    fields = dict(item.split("=", 1) for item in line.split(" "))
    assert fields["guild"] == str(GUILD)
    assert fields["learners"] == "5"
    assert fields["announced"] == "4"
    assert (fields["frontend"], fields["backend"]) == ("3", "1")
    assert fields["projects"] == "ecommerce:2/1,custom:1/0"
    assert fields["knowledge_lookups"] == "n/a"
    assert (fields["uptime_s"], fields["latency_ms"]) == ("3725", "50")
    assert "Secret" not in line and "secret" not in line


@pytest.fixture
async def database(tmp_path: Path) -> Any:
    db = Database(tmp_path / "nexus.db")
    await db.connect()
    yield db
    await db.close()


async def seed(db: Database, guild: int) -> None:
    with raw_writes(db) as conn:
        for user in (1, 2, 3, 4, 5):
            conn.execute(
                "INSERT INTO learners (guild_id, user_id, display_name, first_seen_at, left_at) VALUES (?, ?, ?, ?, ?)",
                (guild, user, f"user{user}", NOW, NOW if user == 5 else None),
            )
        for user, key, name, track, ended in (
            (1, "ecommerce", "E-Commerce Backend", "backend", None),
            (2, "ecommerce", "E-Commerce Product Catalog", "frontend", None),
            (3, "custom:pionus", "Pionus Safaris", "frontend", None),
            (4, "job-board", "Job Board Backend", "backend", NOW),  # withdrawn: not counted
        ):
            conn.execute(
                "INSERT INTO announcements (guild_id, user_id, project_key, project_name, track, created_at, ended_at,"
                " end_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (guild, user, key, name, track, NOW, ended, "withdrawn" if ended else None),
            )
        conn.execute(
            "INSERT INTO match_pool (guild_id, user_id, project_key, track, queued_at, state) VALUES"
            " (?, 3, 'custom:pionus', 'frontend', ?, 'waiting'), (?, 4, 'job-board', 'backend', ?, 'proposed')",
            (guild, NOW, guild, NOW),
        )
        conn.execute(
            "INSERT INTO proposals (guild_id, project_key, frontend_id, backend_id, state, created_at, expires_at)"
            " VALUES (?, 'job-board', 9, 4, 'pending', ?, ?)",
            (guild, NOW, NOW),
        )
        cursor = conn.execute(
            "INSERT INTO teams (guild_id, project_key, created_at) VALUES (?, 'ecommerce', ?)", (guild, NOW)
        )
        team = cursor.lastrowid
        for user, track in ((1, "backend"), (2, "frontend")):
            conn.execute(
                "INSERT INTO team_members (team_id, guild_id, user_id, track, joined_at) VALUES (?, ?, ?, ?, ?)",
                (team, guild, user, track, NOW),
            )
        conn.execute(
            "INSERT INTO reminder_cohorts (guild_id, cohort_key, cohort_start, timezone, created_at)"
            " VALUES (?, '2026-01-05', '2026-01-05', 'UTC', ?)",
            (guild, NOW),
        )
        conn.execute(
            "INSERT INTO reminder_runs (guild_id, cohort_key, reminder_id, due_at) VALUES (?, '2026-01-05', 'r1', ?)",
            (guild, NOW),
        )
        for recipient, state in ((1, "sent"), (2, "sent"), (3, "failed"), (4, "claimed")):
            conn.execute(
                "INSERT INTO reminder_deliveries (guild_id, cohort_key, reminder_id, recipient, nonce, state,"
                " claimed_at, updated_at) VALUES (?, '2026-01-05', 'r1', ?, ?, ?, ?, ?)",
                (guild, recipient, f"n{recipient}", state, NOW, NOW),
            )
        conn.execute(
            "INSERT INTO knowledge_lookups (guild_id, entry_id, count, last_at) VALUES (?, 'django', 3, ?),"
            " (?, 'jwt', 2, ?)",
            (guild, NOW, guild, NOW),
        )
        conn.execute(
            "INSERT INTO knowledge_misses (guild_id, query, query_key, source, asked_at)"
            " VALUES (?, 'kubernetes', 'kubernetes', 'search', ?)",
            (guild, NOW),
        )


async def test_counts_come_from_every_feature_and_only_this_guild(database: Database) -> None:
    await seed(database, GUILD)
    await seed(database, OTHER_GUILD)
    stats = await OpsStore(database).guild_stats(GUILD)
    assert stats.learners == 4
    assert sorted(stats.projects, key=lambda p: p.project_key) == [
        ProjectCount("custom:pionus", "Pionus Safaris (custom)", 1, 0),
        ProjectCount("ecommerce", "ecommerce", 1, 1),
    ]
    assert (stats.waiting, stats.pending_proposals, stats.paired, stats.teams) == (1, 1, 2, 1)
    assert (stats.reminders_sent, stats.reminders_failed) == (2, 1)
    assert (stats.knowledge_lookups, stats.knowledge_misses) == (5, 1)
    assert await OpsStore(database).configured_guilds() == []


async def test_an_empty_guild_counts_zero(database: Database) -> None:
    stats = await OpsStore(database).guild_stats(GUILD)
    assert (stats.learners, stats.projects, stats.reminders_sent, stats.knowledge_lookups) == (0, (), 0, 0)


async def test_features_not_deployed_count_as_not_available(database: Database) -> None:
    await seed(database, GUILD)
    with raw_writes(database) as conn:
        conn.execute("DROP TABLE reminder_deliveries")
        # Same name, another shape: as if that feature changed its schema without telling operations.
        conn.execute("DROP TABLE knowledge_lookups")
        conn.execute("CREATE TABLE knowledge_lookups (guild_id INTEGER, entry_id TEXT)")
    stats = await OpsStore(database).guild_stats(GUILD)
    assert (stats.reminders_sent, stats.reminders_failed, stats.knowledge_lookups) == (None, None, None)
    assert stats.knowledge_misses == 1
    assert stats.learners == 4


def fields_of(result: Any) -> dict[str, str]:
    return {field.name: field.value for field in result.response.embeds[0].fields}


async def test_staff_see_live_numbers_privately(world: World) -> None:
    ada, grace, linus = world.learners[:3]
    await ada.slash(world.channel, "announce", project="ecommerce", track="backend")
    await grace.slash(world.channel, "announce", project="ecommerce", track="frontend")
    await linus.slash(world.channel, "announce", project="job-board", track="backend")
    await grace.slash(world.channel, "match find")
    waiting = fields_of(await world.staff.slash(world.channel, "nexus stats"))["Matching"]
    assert waiting.startswith("1 waiting · 0 proposals pending · 0 paired in 0 teams")
    await ada.slash(world.channel, "match find")
    await world.learners[3].slash(world.channel, "topic", name="django")
    await world.learners[3].slash(world.channel, "search", query="qqxyzzy")

    result = await world.staff.slash(world.channel, "nexus stats")
    assert result.ephemeral
    embed: discord.Embed = result.response.embeds[0]
    assert len(embed) <= 6000 and len(embed.fields) <= 25
    assert all(len(field.value or "") <= 1024 for field in embed.fields)
    fields = fields_of(result)
    assert "3 announced (1 frontend, 2 backend)" in fields["Learners"]
    assert fields["Announcements by project and track"].splitlines() == [
        "E-Commerce — 1 frontend, 1 backend",
        "Job Board — 0 frontend, 1 backend",
    ]
    assert fields["Matching"].startswith("0 waiting · 1 proposal pending · 0 paired in 0 teams")
    assert fields["Matching"].endswith("Funnel: 3 announced → 2 looking → 2 proposed → 0 paired")
    assert fields["Knowledge base"] == "1 look-up · 1 search with no hit"
    assert fields["Reminders"] == "0 sent · 0 failed"
    assert fields["Bot"].startswith("up less than a minute · latency ")
    # Every feature is deployed here: no footer explaining "n/a".
    assert "n/a" not in (embed.footer.text or "")


async def test_learners_cannot_see_stats(world: World) -> None:
    with pytest.raises(simcord.SetupError):
        await world.learners[0].slash(world.channel, "nexus stats")


async def test_hourly_stats_line_is_logged(world: World, caplog: pytest.LogCaptureFixture) -> None:
    await world.learners[0].slash(world.channel, "announce", project="ecommerce", track="backend")
    caplog.set_level(logging.INFO, logger="cogs.ops")
    await world.env.advance_time(3600 + 1)
    lines = [record.getMessage() for record in caplog.records if record.getMessage().startswith("stats ")]
    assert len(lines) == 1
    assert f"guild={world.guild.id} " in lines[0]
    assert "learners=1 announced=1 frontend=0 backend=1 projects=ecommerce:0/1" in lines[0]
    await world.env.advance_time(2 * 3600)
    assert len([r for r in caplog.records if r.getMessage().startswith("stats ")]) == 3


def test_stats_store_is_read_only_sql() -> None:
    text = (Path(__file__).resolve().parent.parent / "bot" / "storage" / "ops.py").read_text(encoding="utf-8")
    statements = text.split("def backup_database")[0]
    for keyword in ("INSERT", "UPDATE ", "DELETE", "DROP", "CREATE"):
        assert keyword not in statements, keyword
