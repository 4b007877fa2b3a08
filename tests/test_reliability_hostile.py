"""Hostile and odd text in every free-text option and autocomplete (property-based): no unhandled exception, no
mention ever pings, every reply within Discord's limits, stored text round-trips exactly, SQL stays data.

Hypothesis drives a plain (sync) test; the examples run one after another on a single SimCord world in an event
loop this module owns, so each option costs one bot start-up, not one per example.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot import Settings, create_bot
from bot.app import NexusBot
from bot.projects import PROJECT_NAME_LIMIT, SUMMARY_LIMIT
from bot.storage.projects import ProjectsStore
from tests.conftest import CONTENT_DIR, NexusEnv, World, build_world
from tests.reliability_helpers import request_problems
from tests.test_matching_checkins import DAY, checkins, choice_dm
from tests.test_matching_flow import announce, dms, pair_up

T = TypeVar("T")
EXAMPLES = int(os.environ.get("NEXUS_HOSTILE_EXAMPLES", "20"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
SQL_INJECTIONS = (
    "'); DROP TABLE announcements; --",
    "Robert'); DELETE FROM learners WHERE ('1'='1",
    '" OR 1=1 --',
    "x' UNION SELECT sql FROM sqlite_master --",
    'NEAR(django jwt) OR "*" AND -- ',
)
TABLES = ("announcements", "learners", "guild_config", "match_pool", "proposals", "knowledge_misses")


def hostile_pieces(world: World) -> list[str]:
    role, user, channel = world.learner_role.id, world.learners[1].id, world.channel.id
    return [
        "@everyone",
        "@here",
        f"<@&{role}>",
        f"<@{user}>",
        f"<@!{user}>",
        f"<#{channel}>",
        "javascript:alert(1)",
        "[click me](javascript:alert(document.cookie))",
        "```",
        "```py\nprint('x')\n```",
        "**bold** __under__ ~~strike~~ ||spoiler|| `code`",
        "> quote\n# Heading\n- list",
        "\u200b\u200c\u200d\u2060\ufeff",  # zero-width characters
        "\u202e\u2066\u2067\u202d",  # right-to-left overrides and isolates
        "مرحبا بالعالم",
        "עברית",
        "🧑\u200d💻🏳️\u200d🌈",
        "e\u0301 é",
        "\x00\x01\x1b[31m",
        "\n\r\t",
        *SQL_INJECTIONS,
        "{name} {0} %s %(x)s",
        "<script>alert(1)</script>",
        "\\\\",
    ]


def hostile_text(world: World, *, max_size: int = 4000) -> st.SearchStrategy[str]:
    pieces = st.sampled_from(hostile_pieces(world))
    mixed = st.lists(st.one_of(pieces, st.text(max_size=12)), max_size=10).map("".join)
    long = st.builds(lambda piece, times: (piece * times)[:4000], pieces, st.integers(min_value=1, max_value=800))
    strategy = st.one_of(st.text(max_size=60), mixed, mixed, long)
    return strategy.map(lambda text: text[:max_size])


def bounded(strategy: st.SearchStrategy[str], low: int, high: int) -> st.SearchStrategy[str]:
    """Discord itself refuses an option outside its declared length, so only lengths it would send are tried."""
    return strategy.map(lambda text: (text or "x")[:high]).filter(lambda text: len(text) >= low)


@dataclass
class Harness:
    """One running bot and world, driven from synchronous code."""

    loop: asyncio.AbstractEventLoop
    env: Any
    bot: NexusBot
    world: World

    def run(self, awaitable: Awaitable[T]) -> T:
        with self.env.time_context():
            return self.loop.run_until_complete(awaitable)

    def example(self, check: Callable[[str], Awaitable[None]], text: str) -> None:
        """Run one example and check what every example must satisfy."""
        requests, errors = len(self.env.http_requests), self.env.error_cursor
        self.run(check(text))
        assert self.env.errors_since(errors) == ()
        assert request_problems(self.env.http_requests[requests:]) == []

    @property
    def guild_id(self) -> int:
        return int(self.world.guild.id)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    loop = asyncio.new_event_loop()
    bot = create_bot(
        Settings(
            db_path=tmp_path / "nexus.db",
            content_dir=CONTENT_DIR,
            dm_pace_seconds=0.0,
            command_cooldown_seconds=0.0,
            heartbeat_path=tmp_path / "heartbeat",
        )
    )
    env = NexusEnv(bot)
    loop.run_until_complete(env.start())
    harness = Harness(loop, env, bot, None)  # type: ignore[arg-type]
    harness.world = harness.run(build_world(env, learners=3))
    try:
        yield harness
        # The schema is intact and SQL in the text stayed data.
        integrity = harness.run(bot.db.fetchall("PRAGMA integrity_check"))
        assert [tuple(row) for row in integrity] == [("ok",)]
        for table in TABLES:
            harness.run(bot.db.fetchone(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608 - fixed names
    finally:
        harness.run(env.shutdown())
        bot.scheduler.shutdown()
        loop.run_until_complete(bot.db.close())
        loop.close()


def texts(result: Any) -> str:
    parts = [result.response.content if result.response else ""]
    return "\n".join(parts + [followup.content for followup in result.followups])


def recorded(answer: str) -> bool:
    return "Recorded" in answer or "Nothing changed" in answer


# ------------------------------------------------------------------------------------ /announce


def test_announce_summary(harness: Harness) -> None:
    world, store = harness.world, ProjectsStore(harness.bot.db)
    ada = world.learners[0]

    async def check(text: str) -> None:
        result = await ada.slash(world.channel, "announce", project="job-board", track="backend", summary=text)
        answer = texts(result)
        current = await store.current(harness.guild_id, ada.id)
        if len(text.strip()) > SUMMARY_LIMIT:
            assert f"keep it to {SUMMARY_LIMIT}" in answer
            return
        assert recorded(answer), answer
        assert current is not None and current.summary == (text.strip() or None)

    @PROPERTY
    @given(hostile_text(world))
    @example("@everyone <@&1> ping")
    @example("x" * 4000)
    @example(SQL_INJECTIONS[0])
    def run(text: str) -> None:
        harness.example(check, text)

    run()
    # The export hands the text back exactly (a leading formula character gets the spreadsheet-safe quote).
    harness.example(check, SQL_INJECTIONS[1])
    exported = harness.run(export_rows(harness))
    assert exported[0]["summary"] == SQL_INJECTIONS[1]


async def export_rows(harness: Harness) -> list[dict[str, str]]:
    world = harness.world
    result = await world.staff.slash(world.channel, "nexus export")
    attachment = next(a for a in result.response.attachments if a.filename == "current.csv")
    return list(csv.DictReader(io.StringIO((await attachment.read()).decode("utf-8"))))


def test_announce_project(harness: Harness) -> None:
    world, store = harness.world, ProjectsStore(harness.bot.db)
    ada = world.learners[0]

    async def check(text: str) -> None:
        result = await ada.slash(world.channel, "announce", project=text, track="frontend")
        answer = texts(result)
        cleaned = " ".join(text.split())
        current = await store.current(harness.guild_id, ada.id)
        if not recorded(answer):
            reasons = ("Tell me which project", f"at most {PROJECT_NAME_LIMIT} characters", "only says which side")
            assert any(reason in answer for reason in reasons), answer
            assert cleaned == "" or len(cleaned) > PROJECT_NAME_LIMIT or "only says which side" in answer
            return
        assert current is not None
        if current.project_key.startswith("custom:"):
            assert current.project_name == cleaned

    @PROPERTY
    @given(hostile_text(world))
    @example(SQL_INJECTIONS[0])
    @example("<@&1> @everyone Store")
    def run(text: str) -> None:
        harness.example(check, text)

    run()


def test_announce_repo(harness: Harness) -> None:
    world, store = harness.world, ProjectsStore(harness.bot.db)
    ada = world.learners[0]

    async def check(text: str) -> None:
        result = await ada.slash(world.channel, "announce", project="job-board", track="backend", repo=text)
        answer = texts(result)
        current = await store.current(harness.guild_id, ada.id)
        if recorded(answer):
            assert current is not None and current.repo_url == (text.strip() or None)
            assert current.repo_url is None or current.repo_url.casefold().startswith(("http://", "https://"))
        else:
            assert "link" in answer, answer

    @PROPERTY
    @given(st.one_of(hostile_text(world), st.builds(lambda path: "https://github.com/" + path, hostile_text(world))))
    @example("javascript:alert(1)")
    @example("JaVaScRiPt:alert(1)//https://github.com")
    @example("https://github.com/ada/jobs?q=' OR 1=1 --")
    def run(text: str) -> None:
        harness.example(check, text)

    run()


def test_announce_timezone(harness: Harness) -> None:
    world, store = harness.world, ProjectsStore(harness.bot.db)
    ada = world.learners[0]

    async def check(text: str) -> None:
        result = await ada.slash(world.channel, "announce", project="job-board", track="backend", timezone=text)
        answer = texts(result)
        current = await store.current(harness.guild_id, ada.id)
        if recorded(answer):
            assert current is not None and (current.timezone is None) == (not text.strip())
        else:
            assert "timezone" in answer.casefold() or "offset" in answer, answer

    @PROPERTY
    @given(hostile_text(world))
    @example("UTC+99")
    @example("../../etc/passwd")
    def run(text: str) -> None:
        harness.example(check, text)

    run()


# ------------------------------------------------------------------------------------ read-only commands


@pytest.mark.parametrize(
    ("command", "option", "low", "high"),
    [("project", "name", 0, 4000), ("topic", "name", 1, 100), ("search", "query", 1, 100)],
)
def test_lookups(harness: Harness, command: str, option: str, low: int, high: int) -> None:
    world = harness.world
    ada = world.learners[0]

    async def check(text: str) -> None:
        result = await ada.slash(world.channel, command, **{option: text})
        assert result.acknowledged
        if command == "search" and result.response and not result.response.embeds:
            # Nothing found: the question is kept for staff exactly as asked (trimmed).
            row = await harness.bot.db.fetchone(
                "SELECT query FROM knowledge_misses WHERE source = 'search' ORDER BY id DESC LIMIT 1"
            )
            assert row is not None and row["query"] == text.strip()[:200]

    @PROPERTY
    @given(bounded(hostile_text(world), low, high))
    @example(SQL_INJECTIONS[4][:high])
    @example('"*" OR "a"*')
    def run(text: str) -> None:
        harness.example(check, text)

    run()


# ------------------------------------------------------------------------------------ staff commands


def test_setup_cohort_start_and_timezone(harness: Harness) -> None:
    world = harness.world

    async def check(text: str) -> None:
        for options in ({"cohort_start": text, "timezone": "UTC"}, {"cohort_start": "2026-01-01", "timezone": text}):
            result = await world.staff.slash(world.channel, "nexus setup", channel=world.channel, **options)
            answer = texts(result)
            assert result.ephemeral and ("Saved" in answer or "not a" in answer or "empty" in answer), answer
            config = await harness.bot.admin_store.get_config(harness.guild_id)
            assert config is not None and config.channel_id == world.channel.id

    @PROPERTY
    @given(hostile_text(world))
    @example("2026-13-45")
    @example("2026-01-01'); DROP TABLE guild_config; --")
    def run(text: str) -> None:
        harness.example(check, text)

    run()


@pytest.mark.parametrize("command", ["reminders preview", "reminders send"])
def test_reminder_ids(harness: Harness, command: str) -> None:
    world = harness.world

    async def check(text: str) -> None:
        result = await world.staff.slash(world.channel, command, id=text)
        assert result.ephemeral and result.acknowledged

    @PROPERTY
    @given(hostile_text(world))
    @example("kickoff' --")
    def run(text: str) -> None:
        harness.example(check, text)

    run()


def test_cohort_names(harness: Harness) -> None:
    world = harness.world
    made = iter(range(10_000))

    async def check(text: str) -> None:
        channel = world.guild.create_text_channel(f"cohort-{next(made)}")
        options = {"name": text, "start": "2026-06-01", "timezone": "UTC", "channel": channel}
        result = await world.staff.slash(world.channel, "nexus cohort create", **options)
        answer = texts(result)
        assert result.ephemeral, answer
        assert "Created" in answer or "needs a name" in answer or "at most" in answer or "already has" in answer
        # Whatever the name holds, the answer cannot ping or link.
        assert "@everyone" not in answer.replace("\\@", "") and "](" not in answer.replace("\\]\\(", "")

    @PROPERTY
    @given(bounded(hostile_text(world), 1, 200))
    @example("@everyone <@&1> [x](https://evil)")
    @example("Cohort'); DROP TABLE cohorts; --")
    def run(text: str) -> None:
        harness.example(check, text)

    run()


@pytest.mark.parametrize("command", ["nexus export", "match board", "reminders schedule", "nexus cohort edit"])
def test_cohort_option(harness: Harness, command: str) -> None:
    world = harness.world

    async def check(text: str) -> None:
        result = await world.staff.slash(world.channel, command, cohort=text)
        answer = texts(result)
        assert result.ephemeral and result.acknowledged, answer
        assert "@everyone" not in answer.replace("\\@", "")

    @PROPERTY
    @given(bounded(hostile_text(world), 1, 200))
    @example("1' OR '1'='1")
    @example("99999999999999999999999")
    def run(text: str) -> None:
        harness.example(check, text)

    run()


# ------------------------------------------------------------------------------------ autocomplete


@pytest.mark.parametrize(
    ("command", "option", "staff"),
    [
        ("announce", "project", False),
        ("announce", "timezone", False),
        ("project", "name", False),
        ("topic", "name", False),
        ("nexus setup", "timezone", True),
        ("reminders preview", "id", True),
        ("reminders send", "id", True),
        ("nexus export", "cohort", True),
        ("nexus cohort close", "cohort", True),
    ],
)
def test_autocomplete(harness: Harness, command: str, option: str, staff: bool) -> None:
    world = harness.world
    member = world.staff if staff else world.learners[0]

    async def check(text: str) -> None:
        choices = await member.autocomplete(world.channel, command, option, text)
        assert len(choices) <= 25
        for choice in choices:
            assert 1 <= len(choice["name"]) <= 100 and 1 <= len(str(choice["value"])) <= 100

    @PROPERTY
    @given(hostile_text(world))
    @example("")
    @example("custom" * 700)
    def run(text: str) -> None:
        harness.example(check, text)

    run()


async def test_hostile_names_in_check_ins_and_the_quiet_choice_never_ping(world: World) -> None:
    """Display names and custom project names are typed by people: the check-in post pings only the team, the
    choice and the notices that follow ping nobody, and the names are shown as typed, never as formatting."""
    nasty = "@everyone **boss** <@&1> `x`"
    backend = world.learners[0]
    frontend = world.guild.add_member(world.env.create_user(nasty), roles=[world.learner_role])
    project = "Poll @here **app**"
    await announce(world, backend, "backend", project=project)
    await announce(world, frontend, "frontend", project=project)
    thread = await pair_up(world, backend, frontend)
    since = len(world.env.http_requests)
    await world.env.advance_time(3 * DAY + 60)
    await backend.click(checkins(thread)[0], label="My partner isn't answering")
    await world.env.advance_time(2 * DAY + 60)
    offer = choice_dm(backend)
    assert "**boss**" not in offer.content and "boss" in offer.content
    done = await backend.user.click(offer, label="Find me someone else")
    assert "front of the line" in done.response.content
    assert "No hard feelings" in dms(frontend)[-1].content
    posts = [
        entry.json
        for entry in world.env.http_requests[since:]
        if entry.method in ("POST", "PATCH") and entry.json and "content" in entry.json
    ]
    assert posts
    for body in posts:
        mentions = body.get("allowed_mentions") or {}
        assert "everyone" not in mentions.get("parse", []) and "roles" not in mentions.get("parse", [])
        assert set(mentions.get("users", [])) <= {str(backend.id), str(frontend.id), backend.id, frontend.id}
