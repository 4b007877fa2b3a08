"""Builds the real bot for SimCord, a configured world to act in, and makes APScheduler follow virtual time."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio

from bot import Settings, create_bot, playground
from bot.app import NexusBot
from bot.content import load_topics
from bot.knowledge import KnowledgeBase
from bot.storage.db import Database
from bot.storage.knowledge import KnowledgeStore
from tests.nexus_env import NexusEnv

pytest_plugins = ["pytester", "tests.discord_api.plugin", "tests.warm_imports"]

REPO = Path(__file__).resolve().parent.parent
CONTENT_DIR = REPO / "content"


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file the bot's own migrations brought to the latest schema, once per test process.

    Each test starts from a copy: the same file a first start would make, without re-running every migration for
    every test (about 40 ms each). tests/test_storage_db.py and the upgrade tests still migrate files themselves.
    """
    path = tmp_path_factory.mktemp("migrated") / "nexus.db"

    async def migrate() -> None:
        database = Database(path)
        await database.connect()
        await database.close()

    asyncio.run(migrate())
    # Closing the last connection folds the write-ahead log into the file: the copy is the whole database.
    assert not path.with_name(f"{path.name}-wal").exists()
    return path


def fresh_database(migrated_file: Path, path: Path) -> Path:
    shutil.copyfile(migrated_file, path)
    return path


@pytest_asyncio.fixture
async def db(tmp_path: Path, migrated_file: Path) -> AsyncIterator[Database]:
    """A real SQLite file with every migration applied, for the storage tests."""
    database = Database(fresh_database(migrated_file, tmp_path / "nexus.db"))
    await database.connect()
    yield database
    await database.close()


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeBase:
    return load_topics(CONTENT_DIR / "topics")


@pytest_asyncio.fixture
async def knowledge_store(db: Database, knowledge: KnowledgeBase) -> KnowledgeStore:
    store = KnowledgeStore(db)
    await store.rebuild_index(knowledge.entries)
    return store


@pytest.fixture(autouse=True)
def scheduler_follows_virtual_clock() -> Iterator[None]:
    # APScheduler 3.x reads the wall clock with datetime.now(); under SimCord, time is virtual.
    with playground.scheduler_follows_virtual_clock():
        yield


@pytest_asyncio.fixture
async def simcord_env(simcord_bot: NexusBot, request: pytest.FixtureRequest) -> AsyncIterator[NexusEnv]:
    """SimCord's own fixture, with NexusEnv: per-test options still come from `@pytest.mark.simcord(...)`."""
    marker = request.node.get_closest_marker("simcord")
    env = NexusEnv(simcord_bot, **(marker.kwargs if marker else {}))
    await env.start()
    try:
        yield env
    finally:
        await env.shutdown()
        if env.check_errors:
            env.raise_unacknowledged()


@pytest.fixture
def settings(tmp_path: Path, migrated_file: Path) -> Settings:
    return Settings(
        db_path=fresh_database(migrated_file, tmp_path / "nexus.db"),
        content_dir=CONTENT_DIR,
        dm_pace_seconds=0.0,
        command_cooldown_seconds=0.0,
        heartbeat_path=tmp_path / "heartbeat",
    )


@pytest_asyncio.fixture
async def simcord_bot(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[NexusBot]:
    bot = create_bot(settings)
    yield bot
    # SimCord never calls bot.close(); an open aiosqlite thread would keep pytest alive. A test that restarted
    # the bot left the newest one attached to its env (already shut down by now): close that one as well.
    env = request.node.funcargs.get("simcord_env")
    for each in {bot, getattr(env, "bot", bot)}:
        if isinstance(each, NexusBot):
            await each.db.close()
            each.scheduler.shutdown()


async def restart(env: Any, settings: Settings) -> NexusBot:
    """Restart on the same database: close the old bot's connection first, as production would."""
    old: NexusBot = env.bot
    old.scheduler.shutdown()
    await old.db.close()
    new = create_bot(settings)
    await env.restart_bot(new)
    return new


@dataclass
class World:
    env: Any
    guild: Any
    channel: Any
    staff_role: Any
    learner_role: Any
    staff: Any
    learners: list[Any]

    def add_learner(self, name: str) -> Any:
        member = self.guild.add_member(self.env.create_user(name), roles=[self.learner_role])
        self.learners.append(member)
        return member


async def build_world(env: Any, *, cohort_start: str | None = None, timezone: str = "UTC", learners: int = 4) -> World:
    guild = env.create_guild("Nexus Test")
    channel = guild.create_text_channel("prodevprojectnexus")
    staff_role = guild.create_role("Staff")
    learner_role = guild.create_role("Learner")
    admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
    staff = guild.add_member(env.create_user("coordinator"), roles=[admin_role, staff_role])
    members = [guild.add_member(env.create_user(f"learner{i}"), roles=[learner_role]) for i in range(learners)]
    start = cohort_start or env.now().date().isoformat()
    result = await staff.slash(
        channel,
        "nexus setup",
        channel=channel,
        cohort_start=start,
        timezone=timezone,
        learner_role=learner_role,
        staff_role=staff_role,
    )
    assert result.response is not None and "Saved" in result.response.content, result.response
    return World(env, guild, channel, staff_role, learner_role, staff, members)


@pytest_asyncio.fixture
async def world(simcord_env: Any) -> World:
    """A guild with #prodevprojectnexus, a staff member, four learners, and /nexus setup done (UTC, today)."""
    return await build_world(simcord_env)
