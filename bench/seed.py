"""Seeded databases for the benchmarks: the documented schema written in bulk with raw sqlite3.

The schema itself comes from the bot's own migrations (`Database.connect()`); only the rows are written here,
in a few large transactions, because going through the stores one learner at a time would take minutes.
Timestamps use the same text formats as the stores, so the bot reads these rows exactly like its own.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from bot.content import load_topics
from bot.knowledge import compact
from bot.projects import Catalogue, resolve_project
from bot.projects_content import PROJECTS_FILE, load_projects
from bot.storage.db import Database
from bot.storage.matching import iso

Track = Literal["frontend", "backend"]
TRACKS: tuple[Track, Track] = ("frontend", "backend")
# Share of learner repositories per official project (docs: PRODUCT.md); custom projects take the rest.
OFFICIAL_SHARES = {"ecommerce": 44, "job-board": 19, "movie-recommendation": 12, "online-poll": 8, "social-feed": 8}
CUSTOM_SHARE = 9
TIMEZONES: tuple[str | None, ...] = (
    "Africa/Lagos",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Accra",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "America/New_York",
    "UTC+01:00",
    None,
)
SYNTHETIC_USER_BASE = 700_000_000_000_000_000
# A healthy database: every team has its thread and every open proposal its two delivered copies (what a stop
# leaves undone is repaired at start-up, and that is not what a benchmark of a normal start or command measures).
SYNTHETIC_CHANNEL_BASE = 710_000_000_000_000_000
SYNTHETIC_MESSAGE_BASE = 720_000_000_000_000_000
MISS_QUERIES = (
    "kubernetes",
    "terraform",
    "kafka streams",
    "websockets",
    "grpc",
    "elasticsearch",
    "sentry",
    "mongodb",
    "rust",
    "nextjs server actions",
)


@dataclass(frozen=True)
class Population:
    """How many learners of each kind one guild holds."""

    learners: int
    announced: int
    pairs: int  # teams of one frontend and one backend learner on the same project
    pending: int  # open proposals (two learners each)
    waiting: int  # in the matching pool, waiting
    projects: int = 0  # 0: the official catalogue plus a few custom projects, by real-world share

    def __post_init__(self) -> None:
        matched = 2 * self.pairs + 2 * self.pending + self.waiting
        if matched > self.announced or self.announced > self.learners:
            raise ValueError(f"inconsistent population: {self}")


@dataclass(frozen=True)
class ProjectSlot:
    key: str
    custom_name: str | None  # None for an official project
    weight: float

    def name_for(self, catalogue: Catalogue, track: Track) -> str:
        if self.custom_name is not None:
            return self.custom_name
        project = catalogue.get(self.key)
        assert project is not None
        return project.title_for(track)


@dataclass
class Seeded:
    """What was written, so a benchmark can pick people and projects that are in a known state."""

    guild_id: int
    projects: list[ProjectSlot]
    learners: list[int] = field(default_factory=list)
    choice: dict[int, tuple[str, Track]] = field(default_factory=dict)  # announced: (project key, track)
    zone: dict[int, str | None] = field(default_factory=dict)
    teamed: list[tuple[int, int]] = field(default_factory=list)  # (frontend, backend)
    threads: list[int] = field(default_factory=list)  # the teams' (synthetic) thread ids
    waiting: list[int] = field(default_factory=list)
    proposed: list[int] = field(default_factory=list)
    unmatched: list[int] = field(default_factory=list)  # announced, never ran /match find
    not_announced: list[int] = field(default_factory=list)


def project_slots(catalogue: Catalogue, count: int) -> list[ProjectSlot]:
    """`count` == 0: the official projects by their real share plus ten custom ones; else `count` equal projects."""
    if count == 0:
        slots = [ProjectSlot(key, None, share) for key, share in OFFICIAL_SHARES.items() if catalogue.get(key)]
        names = [f"Custom Project {number}" for number in range(1, 11)]
        slots += [ProjectSlot(_custom_key(catalogue, name), name, CUSTOM_SHARE / len(names)) for name in names]
        return slots
    slots = [ProjectSlot(project.key, None, 1.0) for project in catalogue.projects[:count]]
    names = [f"Bench Project {number}" for number in range(1, count - len(slots) + 1)]
    return slots + [ProjectSlot(_custom_key(catalogue, name), name, 1.0) for name in names]


def _custom_key(catalogue: Catalogue, name: str) -> str:
    # The key /announce would give the same typed name, so learners who announce it in a benchmark meet these.
    return resolve_project(name, "backend", catalogue).key


async def create_schema(path: Path) -> None:
    """A new database file at the latest schema, made by the bot's own migrations."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    database = Database(path)
    await database.connect()
    await database.close()


def seed(
    path: Path,
    guild_id: int,
    population: Population,
    *,
    content_dir: Path,
    now: datetime,
    user_ids: Sequence[int] | None = None,
    names: Sequence[str] | None = None,
    config_channel_id: int | None = None,
    rng: random.Random | None = None,
) -> Seeded:
    """Write one guild's learners, announcements, teams, proposals, pool and knowledge logs into `path`.

    `user_ids` are the learners' ids (members of a simulated guild); without them, synthetic ids are used.
    `config_channel_id` also writes the guild's configuration, as `/nexus setup` would.
    """
    rng = rng or random.Random(7)
    catalogue = load_projects(content_dir / PROJECTS_FILE)
    slots = project_slots(catalogue, population.projects)
    weights = [slot.weight for slot in slots]
    ids = list(user_ids) if user_ids is not None else [SYNTHETIC_USER_BASE + n for n in range(population.learners)]
    if len(ids) < population.learners:
        raise ValueError(f"{population.learners} learners need as many user ids, got {len(ids)}")
    ids = ids[: population.learners]
    shown = list(names) if names is not None else [f"learner{n}" for n in range(len(ids))]
    seeded = Seeded(guild_id=guild_id, projects=slots, learners=ids)

    def moment(days_back: float) -> datetime:
        return now - timedelta(days=days_back, seconds=rng.randrange(86_400))

    learners = [(guild_id, user, shown[n], moment(6).isoformat()) for n, user in enumerate(ids)]
    people = iter(ids)
    announcements: list[tuple[object, ...]] = []
    history: list[tuple[object, ...]] = []

    def announce(user: int, slot: ProjectSlot, track: Track) -> None:
        created = moment(4)
        seeded.choice[user] = (slot.key, track)
        zone = seeded.zone[user] = rng.choice(TIMEZONES)
        announcements.append(
            (
                guild_id,
                user,
                slot.key,
                slot.name_for(catalogue, track),
                track,
                "Seeded for the benchmarks.",
                None,
                zone,
                created.isoformat(),
                1,
                created.isoformat(),
            )
        )
        if rng.random() < 0.1:
            # An earlier choice, replaced: /nexus export and the history queries see some.
            older = rng.choices(slots, weights)[0]
            history.append(
                (
                    guild_id,
                    user,
                    older.key,
                    older.name_for(catalogue, track),
                    track,
                    (created - timedelta(days=1)).isoformat(),
                    created.isoformat(),
                )
            )

    teams: list[tuple[int, int, str]] = []
    for _ in range(population.pairs):
        slot = rng.choices(slots, weights)[0]
        pair = (next(people), next(people))
        for user, track in zip(pair, TRACKS, strict=True):
            announce(user, slot, track)
        teams.append((*pair, slot.key))
        seeded.teamed.append(pair)
    pending: list[tuple[int, int, str]] = []
    for _ in range(population.pending):
        slot = rng.choices(slots, weights)[0]
        pair = (next(people), next(people))
        for user, track in zip(pair, TRACKS, strict=True):
            announce(user, slot, track)
        pending.append((*pair, slot.key))
        seeded.proposed += pair
    for _ in range(population.waiting):
        user = next(people)
        announce(user, rng.choices(slots, weights)[0], rng.choice(TRACKS))
        seeded.waiting.append(user)
    for _ in range(population.announced - 2 * population.pairs - 2 * population.pending - population.waiting):
        user = next(people)
        announce(user, rng.choices(slots, weights)[0], rng.choice(TRACKS))
        seeded.unmatched.append(user)
    seeded.not_announced = list(people)

    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT INTO learners (guild_id, user_id, display_name, first_seen_at) VALUES (?, ?, ?, ?)", learners
        )
        connection.executemany(
            "INSERT INTO announcements (guild_id, user_id, project_key, project_name, track, created_at, ended_at,"
            " end_reason) VALUES (?, ?, ?, ?, ?, ?, ?, 'replaced')",
            history,
        )
        connection.executemany(
            "INSERT INTO announcements (guild_id, user_id, project_key, project_name, track, summary, repo_url,"
            " timezone, created_at, message_id, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            announcements,
        )
        _seed_matching(connection, guild_id, seeded, teams, pending, now, rng)
        _seed_knowledge(connection, guild_id, content_dir, now, rng)
        if config_channel_id is not None:
            connection.execute(
                "INSERT INTO guild_config (guild_id, channel_id, cohort_start, timezone, updated_at, updated_by)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (guild_id, config_channel_id, cohort_start(now).isoformat(), "UTC", now.isoformat(), 0),
            )
            connection.execute(
                "INSERT INTO cohorts (guild_id, name, start_date, timezone, channel_id, created_at, created_by)"
                " VALUES (?, ?, ?, 'UTC', ?, ?, 0)",
                (guild_id, f"Cohort {cohort_start(now)}", cohort_start(now).isoformat(), config_channel_id, iso(now)),
            )
        # Every row in the guild's cohort (made above, or by /nexus setup before seeding), as the bot writes them; a
        # guild without one keeps NULL, as the bot does.
        for table in COHORT_TABLES:
            connection.execute(
                f"UPDATE {table} SET cohort_id = (SELECT MIN(c.id) FROM cohorts c WHERE c.guild_id = ?)"  # noqa: S608
                " WHERE guild_id = ?",
                (guild_id, guild_id),
            )
        connection.execute("COMMIT")
    finally:
        connection.close()
    return seeded


# The seeded tables that name a learner's cohort.
COHORT_TABLES = ("announcements", "match_pool", "proposals", "teams", "matching_log")


def cohort_start(now: datetime) -> date:
    """A cohort starting in a week: no reminder falls due while a benchmark runs."""
    return (now + timedelta(days=7)).date()


def _seed_matching(
    connection: sqlite3.Connection,
    guild_id: int,
    seeded: Seeded,
    teams: list[tuple[int, int, str]],
    pending: list[tuple[int, int, str]],
    now: datetime,
    rng: random.Random,
) -> None:
    zone = seeded.zone.get
    for frontend, backend, key in teams:
        formed = now - timedelta(days=2, seconds=rng.randrange(86_400))
        proposal = connection.execute(
            "INSERT INTO proposals (guild_id, project_key, frontend_id, backend_id, frontend_answer, backend_answer,"
            " state, created_at, expires_at, closed_at) VALUES (?, ?, ?, ?, 'accepted', 'accepted', 'accepted',"
            " ?, ?, ?)",
            (guild_id, key, frontend, backend, iso(formed), iso(formed + timedelta(hours=48)), iso(formed)),
        ).lastrowid
        team = connection.execute(
            "INSERT INTO teams (guild_id, project_key, proposal_id, created_at, thread_id) VALUES (?, ?, ?, ?, ?)",
            (guild_id, key, proposal, iso(formed), SYNTHETIC_CHANNEL_BASE + len(seeded.threads)),
        ).lastrowid
        seeded.threads.append(SYNTHETIC_CHANNEL_BASE + len(seeded.threads))
        connection.executemany(
            "INSERT INTO team_members (team_id, guild_id, user_id, track, joined_at) VALUES (?, ?, ?, ?, ?)",
            [(team, guild_id, frontend, "frontend", iso(formed)), (team, guild_id, backend, "backend", iso(formed))],
        )
        connection.execute(
            "INSERT INTO pair_blocks (guild_id, user_low, user_high, reason, created_at) VALUES (?, ?, ?, 'partnered',"
            " ?)",
            (guild_id, min(frontend, backend), max(frontend, backend), iso(formed)),
        )
    for frontend, backend, key in pending:
        made = now - timedelta(hours=rng.randrange(1, 24))
        proposal = connection.execute(
            "INSERT INTO proposals (guild_id, project_key, frontend_id, backend_id, state, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, 'pending', ?, ?)",
            (guild_id, key, frontend, backend, iso(made), iso(made + timedelta(hours=48))),
        ).lastrowid
        connection.executemany(
            "INSERT INTO proposal_deliveries (proposal_id, user_id, channel_id, message_id, via)"
            " VALUES (?, ?, ?, ?, 'dm')",
            [
                (proposal, user, SYNTHETIC_CHANNEL_BASE - user % 1_000_000, SYNTHETIC_MESSAGE_BASE + 2 * proposal + n)
                for n, user in enumerate((frontend, backend))
            ],
        )
        connection.executemany(
            "INSERT INTO match_pool (guild_id, user_id, project_key, track, timezone, queued_at, state)"
            " VALUES (?, ?, ?, ?, ?, ?, 'proposed')",
            [
                (guild_id, frontend, key, "frontend", zone(frontend), iso(made - timedelta(hours=1))),
                (guild_id, backend, key, "backend", zone(backend), iso(made - timedelta(hours=2))),
            ],
        )
    pool = []
    for user in seeded.waiting:
        key, track = seeded.choice[user]
        pool.append((guild_id, user, key, track, zone(user), iso(now - timedelta(seconds=rng.randrange(5 * 86_400)))))
    connection.executemany(
        "INSERT INTO match_pool (guild_id, user_id, project_key, track, timezone, queued_at, state)"
        " VALUES (?, ?, ?, ?, ?, ?, 'waiting')",
        pool,
    )
    # Some waiting learners already declined someone: the counterpart scan has blocks to skip.
    blocks = set()
    for user in rng.sample(seeded.waiting, min(len(seeded.waiting), len(seeded.waiting) // 10)):
        other = rng.choice(seeded.waiting)
        if other != user:
            blocks.add((min(user, other), max(user, other)))
    connection.executemany(
        "INSERT INTO pair_blocks (guild_id, user_low, user_high, reason, created_at) VALUES (?, ?, ?, 'declined', ?)",
        [(guild_id, low, high, iso(now - timedelta(days=1))) for low, high in sorted(blocks)],
    )
    connection.execute(
        "INSERT INTO matching_log (guild_id, actor_id, action, details, created_at) VALUES (?, 0, 'run', ?, ?)",
        (guild_id, json.dumps({"joined": [], "alone": []}), iso(now - timedelta(days=1))),
    )


def _seed_knowledge(
    connection: sqlite3.Connection, guild_id: int, content_dir: Path, now: datetime, rng: random.Random
) -> None:
    entries = load_topics(content_dir / "topics").entries
    connection.executemany(
        "INSERT INTO knowledge_lookups (guild_id, entry_id, count, last_at) VALUES (?, ?, ?, ?)",
        [(guild_id, entry.id, rng.randrange(1, 400), now.isoformat()) for entry in entries],
    )
    connection.executemany(
        "INSERT INTO knowledge_misses (guild_id, query, query_key, source, asked_at) VALUES (?, ?, ?, ?, ?)",
        [
            (guild_id, query, compact(query), rng.choice(("search", "topic")), moment.isoformat())
            for query in MISS_QUERIES
            for moment in (now - timedelta(hours=rng.randrange(1, 24 * 30)) for _ in range(rng.randrange(1, 40)))
        ],
    )
