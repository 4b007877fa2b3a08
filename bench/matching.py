"""Section 3: `/match find` with 50,000 learners waiting over 200 projects, bot-side, on disk.

Each sample is a new learner who announces a random project and track and asks for a partner, so every find
scans a long line and (almost always) proposes someone. The baseline command is timed in the same run.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from bench.harness import BASELINE, CONTENT_DIR, VIRTUAL_EPOCH, BenchError, bench_settings, running_bot
from bench.report import Goal, Report, Spread, number, ratio
from bench.seed import Population, ProjectSlot, cohort_start, create_schema, seed

SECTION = "matching"
GOAL_P99_MS = 10.0
GUILD_ID = 900_000_000_000_000_001
TIMEZONES = ("Africa/Lagos", "Africa/Nairobi", "Europe/London", "UTC+1", "Asia/Kolkata", "America/New_York")


@dataclass(frozen=True)
class Sizes:
    waiting: int
    projects: int
    finds: int


FULL = Sizes(waiting=50_000, projects=200, finds=300)
QUICK = Sizes(waiting=5_000, projects=200, finds=15)


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
