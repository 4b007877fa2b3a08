"""Section 3: `/match find` with 50,000 learners waiting over 200 projects, bot-side, on disk.

Each sample is a new learner who announces a random project and track and asks for a partner, so every find
scans a long line and (almost always) proposes someone. The baseline command is timed in the same run.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import discord

from bench.harness import BASELINE, CONTENT_DIR, VIRTUAL_EPOCH, BenchError, bench_settings, running_bot
from bench.report import Goal, Report, Spread, number, ratio
from bench.seed import Population, ProjectSlot, cohort_start, create_schema, seed
from bot.checkins import CheckinRules, TeamPlan, plan_team
from bot.storage.checkins import PAGE, CheckinStore
from bot.storage.db import Database, Params, Session
from bot.storage.matching import MatchingStore, iso

SECTION = "matching"
T = TypeVar("T")
GOAL_P99_MS = 10.0
# One check-in pass reads every active team with its rounds, answers and offers, a page of teams per read, and
# decides what is due. It runs in the background; what commands feel is the database held for one page.
GOAL_PAGE_MS = 100.0
PASS_RUNS = 5
GUILD_ID = 900_000_000_000_000_001
TIMEZONES = ("Africa/Lagos", "Africa/Nairobi", "Europe/London", "UTC+1", "Asia/Kolkata", "America/New_York")


@dataclass(frozen=True)
class Sizes:
    waiting: int
    projects: int
    finds: int
    teams: int = 0


FULL = Sizes(waiting=50_000, projects=200, finds=300, teams=10_000)
QUICK = Sizes(waiting=5_000, projects=200, finds=15, teams=1_000)


def typed_name(slot: ProjectSlot) -> str:
    """What a learner types for this project: the official key, or the custom project's name."""
    return slot.custom_name or slot.key


async def measure_matching(report: Report, sizes: Sizes) -> None:
    report.say(
        f"== 3. /match find at scale: {sizes.waiting:,} learners waiting over {sizes.projects} projects, on disk, "
        f"{sizes.finds} finds"
    )
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="nexus-bench-") as folder:
        settings = bench_settings(Path(folder))
        await create_schema(settings.db_path)
        population = Population(
            learners=sizes.waiting,
            announced=sizes.waiting,
            pairs=0,
            pending=0,
            waiting=sizes.waiting,
            projects=sizes.projects,
        )
        seeded = seed(settings.db_path, GUILD_ID, population, content_dir=CONTENT_DIR, now=VIRTUAL_EPOCH)
        async with running_bot(settings) as run:
            env = run.env
            guild = env.create_guild("Project Nexus (bench)", id=GUILD_ID)
            channel = guild.create_text_channel("prodevprojectnexus")
            learner_role = guild.create_role("Learner")
            admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
            staff = guild.add_member(env.create_user("coordinator"), roles=[admin_role])
            await env.settle()
            result = await staff.slash(
                channel,
                "nexus setup",
                channel=channel,
                cohort_start=cohort_start(env.now()).isoformat(),
                timezone="UTC",
                learner_role=learner_role,
            )
            if result.response is None or "Saved" not in (result.response.content or ""):
                raise BenchError(f"/nexus setup failed: {result.response}")
            proposed = 0
            for number_ in range(sizes.finds):
                seeker: Any = guild.add_member(env.create_user(f"seeker{number_}"), roles=[learner_role])
                await env.settle()
                slot = rng.choice(seeded.projects)
                track = rng.choice(("frontend", "backend"))
                options = {"project": typed_name(slot), "track": track, "timezone": rng.choice(TIMEZONES)}
                await seeker.slash(channel, "announce", **options)
                await run.measure(BASELINE, lambda: seeker.slash(channel, BASELINE))  # noqa: B023 - awaited at once
                answer = await run.measure("/match find", lambda: seeker.slash(channel, "match find"))  # noqa: B023
                if "possible partner" in (answer.response.content or ""):
                    proposed += 1
                run.forget_transcript()
                await run.tick()
            errors = run.errors()
            if errors:
                raise BenchError(f"the bot raised {len(errors)} errors, first: {errors[0]!r}")
            samples = dict(run.samples)
    baseline = Spread.of(samples[BASELINE])
    find = Spread.of(samples["/match find"])
    report.detail(
        f"baseline /{BASELINE}: p50 {number(baseline.p50)} ms, p99 {number(baseline.p99)} ms "
        f"({baseline.count} samples, interleaved)"
    )
    report.detail(
        f"/match find: p50 {number(find.p50)} ms ({number(ratio(find.p50, baseline.p50))} x baseline), "
        f"p99 {number(find.p99)} ms ({number(ratio(find.p99, baseline.p99))} x baseline); "
        f"{proposed} of {find.count} proposed a partner"
    )
    report.check(Goal(SECTION, "/match find p99", find.p99, GOAL_P99_MS, "ms"))
    report.summary(f"match find p99 ({sizes.waiting:,} waiting)", find.p99, "ms", ratio(find.p99, baseline.p99))
    await measure_checkin_pass(report, sizes, baseline)


async def measure_checkin_pass(report: Report, sizes: Sizes, baseline: Spread) -> None:
    """The scheduled check-in pass over `sizes.teams` active teams, each with two posted rounds and some answers:
    its reads and decisions, on disk (what it then posts is one Discord call per due team, not measured here)."""
    with tempfile.TemporaryDirectory(prefix="nexus-bench-") as folder:
        settings = bench_settings(Path(folder))
        await create_schema(settings.db_path)
        population = Population(
            learners=2 * sizes.teams, announced=2 * sizes.teams, pairs=sizes.teams, pending=0, waiting=0
        )
        seed(settings.db_path, GUILD_ID, population, content_dir=CONTENT_DIR, now=VIRTUAL_EPOCH)
        rules = CheckinRules()
        seed_checkins(settings.db_path, rules)
        database = HoldTimer(settings.db_path)
        await database.connect()
        try:
            store = CheckinStore(database, MatchingStore(database))
            now = VIRTUAL_EPOCH + rules.first_after + rules.every + rules.quiet_after
            samples: list[float] = []
            page_reads: list[float] = []
            page_holds: list[float] = []
            for _ in range(PASS_RUNS):
                started = time.perf_counter()
                pages = store.pages()
                due = 0
                while True:
                    reading, held = time.perf_counter(), database.held_ms
                    try:
                        page = await anext(pages)
                    except StopAsyncIteration:
                        break
                    page_reads.append((time.perf_counter() - reading) * 1000)
                    page_holds.append(database.held_ms - held)
                    # Like the bot's pass, each page is decided and let go before the next is read.
                    due += sum(1 for team in page if _has_work(plan_team(team, now, rules)))
                samples.append((time.perf_counter() - started) * 1000)
        finally:
            await database.close()
    spread = Spread.of(samples)
    reads = Spread.of(page_reads)
    holds = Spread.of(page_holds)
    report.detail(
        f"check-in pass over {sizes.teams:,} teams (2 rounds each): p50 {number(spread.p50)} ms, "
        f"slowest {number(max(samples))} ms ({spread.count} passes); {due} teams had something to post or offer; "
        f"one page of {PAGE} teams holds the database p50 {number(holds.p50)} ms, p99 {number(holds.p99)} ms, "
        f"at most {number(max(page_holds))} ms; reading and building it takes p50 {number(reads.p50)} ms, "
        f"p99 {number(reads.p99)} ms"
    )
    report.check(Goal(SECTION, "check-in pass: database held per page p99", holds.p99, GOAL_PAGE_MS, "ms"))
    report.summary(f"check-in pass ({sizes.teams:,} teams)", spread.p50, "ms", ratio(spread.p50, baseline.p50))


class HoldTimer(Database):
    """The database, counting how long its callers hold it (its one lock) through the two calls a page makes."""

    held_ms = 0.0

    async def query(self, body: Callable[[Session], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            return await super().query(body)
        finally:
            self.held_ms += (time.perf_counter() - started) * 1000

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        started = time.perf_counter()
        try:
            return await super().fetchall(sql, params)
        finally:
            self.held_ms += (time.perf_counter() - started) * 1000


def _has_work(plan: TeamPlan) -> bool:
    return plan.post_round is not None or bool(plan.offer_to)


def seed_checkins(path: Path, rules: CheckinRules) -> None:
    """Two posted rounds per seeded team; the frontend learner answered both, the backend learner only the first
    (and, in one team in ten, neither: quiet, so the pass offers the choice there)."""
    with sqlite3.connect(path) as connection:
        teams = connection.execute(
            "SELECT t.id, t.created_at, m.user_id, m.track FROM teams t JOIN team_members m ON m.team_id = t.id"
        ).fetchall()
        members: dict[int, dict[str, int]] = {}
        formed: dict[int, str] = {}
        for team_id, created_at, user_id, track in teams:
            members.setdefault(team_id, {})[track] = user_id
            formed[team_id] = created_at
        for team_id, created_at in formed.items():
            start = datetime.fromisoformat(created_at)
            for number_ in (1, 2):
                posted = start + rules.first_after + (number_ - 1) * rules.every
                checkin = connection.execute(
                    "INSERT INTO checkins (team_id, round, due_at, nonce, state, message_id, posted_at)"
                    " VALUES (?, ?, ?, ?, 'posted', 1, ?)",
                    (team_id, number_, iso(posted), f"n{team_id}-{number_}", iso(posted)),
                ).lastrowid
                backend_answered = number_ == 1 and team_id % 10 != 0
                answers = [members[team_id]["frontend"]] + ([members[team_id]["backend"]] if backend_answered else [])
                connection.executemany(
                    "INSERT INTO checkin_answers (checkin_id, user_id, answer, answered_at) VALUES (?, ?, ?, ?)",
                    [(checkin, user, "going_well", iso(posted)) for user in answers],
                )
