"""Section 1: bot-side latency of every slash command, the proposal buttons and two autocompletes, at three sizes.

Every command runs once per round, interleaved with the baseline, on a seeded on-disk database. Commands that
change state run as a learner would: a new learner announces, finds a partner, looks at their status and leaves;
two new learners get a proposal and one declines; two more both accept.

Goals are absolute: every command's p99 within BUDGET_MS of its cohort size (10 ms for a realistic cohort of
5,000 learners, 50 ms at ten times that). Whole-cohort work (WHOLE_COHORT) is measured to its first answer,
which is a deferral: the work itself runs after it. The 200,000-learner size has no goal; it shows how cost grows.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from bench.harness import (
    BASELINE,
    CONTENT_DIR,
    SETTLE_TIMEOUT,
    WHOLE_COHORT_SETTLE_TIMEOUT,
    BenchError,
    Running,
    bench_settings,
    running_bot,
)
from bench.report import Goal, Report, Spread, number, ratio
from bench.seed import SYNTHETIC_USER_BASE, Population, Seeded, cohort_start, seed
from bot.content import load_topics
from cogs.projects._cog import ProjectsCog

SECTION = "commands"
MEMBER_BATCH = 100
# Guild members SimCord simulates; the rest of a larger cohort exists only in the database (the commands measured
# read the database, never the member list, so they cannot tell the difference).
SIMULATED_MEMBERS = 5000
# Answered with a deferral at once; the work over the whole cohort runs after it and reports progress.
WHOLE_COHORT = ("/nexus export", "/match run", "/reminders send")
BUTTON_PROJECT = "Bench Buttons"

TOPIC_TYPING = ("d", "dj", "djan", "celry", "jwt ref", "n+1", "dock", "redis cach", "", "pagin", "grahpql", "ci")
SEARCHES = (
    "refresh token rotation",
    "slow endpoint",
    "n+1 queries",
    "celery retry",
    "docker compose",
    "rate limiting",
    "swagger",
    "kubernetes operators",
)
PROJECT_TYPING = ("", "e", "job", "cust", "Custom Pro", "movie rec", "poll", "social")
PROJECT_NAMES = ("ecommerce", "Job Board Platform", "movie recommendation", "Custom Project 2", "social feed")
SEEKER_PROJECTS = ("ecommerce", "job-board", "movie-recommendation", "Custom Project 1", "online-poll")
TIMEZONES = ("Africa/Lagos", "Africa/Nairobi", "Europe/London", "UTC+1", "Asia/Kolkata")
CATEGORIES = (None, "technology", "concept", "challenge", "practice", "program")


@dataclass(frozen=True)
class Scale:
    name: str
    rounds: int
    population: Population
    budget_ms: float | None  # every command's p99; None: measured for the scale table only


# At 5k, 100 rounds: a p99 of 40 samples is their maximum, so one sample a full garbage collection or a machine
# hiccup landed in decided it; of 100 it is the 99th (nearest rank), what a p99 means.
FULL = (
    Scale("5k", 100, Population(learners=5000, announced=2000, pairs=500, pending=50, waiting=600), 10.0),
    Scale("50k", 20, Population(learners=50_000, announced=20_000, pairs=5000, pending=500, waiting=6000), 50.0),
    Scale("200k", 8, Population(learners=200_000, announced=80_000, pairs=20_000, pending=2000, waiting=24_000), None),
)
QUICK = (Scale("400", 3, Population(learners=400, announced=160, pairs=40, pending=4, waiting=48), 10.0),)


def sizes(quick: bool, rounds: int | None = None, only: Sequence[str] | None = None) -> tuple[Scale, ...]:
    """The quick or full scales; `--rounds N` keeps the populations and changes only the number of rounds.

    `only` (`--scale`) keeps the full scales of those names.
    """
    chosen = QUICK if quick else FULL
    if only and not quick:
        chosen = tuple(scale for scale in chosen if scale.name in only)
    return chosen if rounds is None else tuple(replace(scale, rounds=rounds) for scale in chosen)


@dataclass
class World:
    run: Running
    guild: Any
    channel: Any
    staff_channel: Any
    learner_role: Any
    staff_role: Any
    staff: Any
    reader: Any
    crowd: dict[int, Any]
    seeded: Seeded
    cohort_start: str
    _joined: int = 0

    async def newcomer(self, kind: str) -> Any:
        """A new learner joins the server (and the bot has finished noticing)."""
        self._joined += 1
        env = self.run.env
        member = self.guild.add_member(env.create_user(f"{kind}{self._joined}"), roles=[self.learner_role])
        await env.settle()
        return member


def leaf_commands(tree: app_commands.CommandTree[Any]) -> list[str]:
    return sorted(
        command.qualified_name for command in tree.walk_commands() if isinstance(command, app_commands.Command)
    )


async def build_world(run: Running, population: Population) -> World:
    env = run.env
    guild = env.create_guild("Project Nexus (bench)")
    channel = guild.create_text_channel("prodevprojectnexus")
    staff_channel = guild.create_text_channel("nexus-staff")
    staff_role = guild.create_role("Staff")
    learner_role = guild.create_role("Learner")
    admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
    staff = guild.add_member(env.create_user("coordinator"), roles=[admin_role, staff_role])
    crowd: dict[int, Any] = {}
    names: list[str] = []
    simulated = min(population.learners, SIMULATED_MEMBERS)
    for start in range(0, simulated, MEMBER_BATCH):
        for number_ in range(start, min(start + MEMBER_BATCH, simulated)):
            name = f"crowd{number_}"
            member = guild.add_member(env.create_user(name), roles=[learner_role])
            crowd[member.id] = member
            names.append(name)
        await env.settle()
        await run.tick()
    reader = guild.add_member(env.create_user("reader"), roles=[learner_role])
    await env.settle()
    start = cohort_start(env.now()).isoformat()
    result = await staff.slash(
        channel,
        "nexus setup",
        channel=channel,
        cohort_start=start,
        timezone="UTC",
        learner_role=learner_role,
        staff_role=staff_role,
        staff_channel=staff_channel,
    )
    if result.response is None or "Saved" not in (result.response.content or ""):
        raise BenchError(f"/nexus setup failed: {result.response}")
    people = spread(list(zip(crowd, names, strict=True)), population.learners)
    seeded = seed(
        run.bot.settings.db_path,
        guild.id,
        population,
        content_dir=CONTENT_DIR,
        now=env.now(),
        user_ids=[user for user, _ in people],
        names=[name for _, name in people],
    )
    # Seeded on a second connection behind the running bot's back: drop any board counts it kept (BoardCache), then
    # count them as a start on this database would (ProjectsCog.reconcile_members).
    run.bot.db.board.clear()
    projects = run.bot.get_cog("ProjectsCog")
    if not isinstance(projects, ProjectsCog):
        raise BenchError("the projects cog is not loaded")
    await projects.count_boards(guild.id)
    world = World(run, guild, channel, staff_channel, learner_role, staff_role, staff, reader, crowd, seeded, start)
    await expect_ok(reader.slash(channel, "announce", project="ecommerce", track="frontend"), "reader /announce")
    return world


def spread(members: list[tuple[int, str]], learners: int) -> list[tuple[int, str]]:
    """The simulated members spread evenly among database-only learners, so every kind of learner has some."""
    stride = max(1, learners // max(1, len(members)))
    real, synthetic = iter(members), (SYNTHETIC_USER_BASE + n for n in itertools.count())
    people: list[tuple[int, str]] = []
    for position in range(learners):
        member = next(real, None) if position % stride == 0 else None
        if member is None:
            number_ = next(synthetic)
            member = (number_, f"learner{number_ - SYNTHETIC_USER_BASE}")
        people.append(member)
    return people


async def expect_ok(call: Any, what: str) -> Any:
    result = await call
    if not getattr(result, "acknowledged", True):
        raise BenchError(f"{what}: not answered")
    return result


def proposal_message(member: Any) -> discord.Message:
    with_buttons = [message for message in member.user.dm_channel.history() if message.components]
    if not with_buttons:
        raise BenchError(f"{member.name} has no proposal DM")
    return with_buttons[-1]


def staff_pairs(world: World) -> Iterator[tuple[Any, Any]]:
    """Announced learners who never asked for a partner, two by two on the same project (for /match pair)."""
    by_line: dict[tuple[str, str], list[int]] = {}
    for user in world.seeded.unmatched:
        if user not in world.crowd:
            continue  # only in the database: nobody to pick in Discord
        key, track = world.seeded.choice[user]
        by_line.setdefault((key, track), []).append(user)
    pairs = []
    for (key, track), users in sorted(by_line.items()):
        if track != "frontend":
            continue
        for frontend, backend in zip(users, by_line.get((key, "backend"), []), strict=False):
            pairs.append((world.crowd[frontend], world.crowd[backend]))
    if not pairs:
        raise BenchError("no learners to pair by hand")
    # Once every pair is used, the same requests are refused after the deferral: the latency path is the same.
    return itertools.chain(pairs, itertools.repeat(pairs[-1]))


class Script:
    """One round runs every command once; `run.measure` keeps each latency under the command's name."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.run = world.run
        self.entries = [entry.id for entry in load_topics(CONTENT_DIR / "topics").entries]
        self.reminders = list(world.run.bot.cogs["RemindersCog"].by_id)  # type: ignore[attr-defined]
        self.pairs = staff_pairs(world)
        self.partnered: Any = None

    async def slash(self, member: Any, command: str, /, **options: Any) -> Any:
        channel = self.world.channel
        label = f"/{command}"
        # Whole-cohort work (an export of 80,000 announcements) runs after its deferral, while SimCord settles.
        patience = WHOLE_COHORT_SETTLE_TIMEOUT if label in WHOLE_COHORT else SETTLE_TIMEOUT
        return await self.run.measure(label, lambda: member.slash(channel, command, **options), settle_timeout=patience)

    async def round(self, number_: int) -> None:
        world = self.world
        reader, staff = world.reader, world.staff
        await self.slash(reader, BASELINE)
        await self.slash(reader, "help")
        category = CATEGORIES[number_ % len(CATEGORIES)]
        await self.slash(reader, "topics", **({"category": category} if category else {}))
        await self.slash(reader, "topic", name=self.entries[number_ % len(self.entries)])
        typed = TOPIC_TYPING[number_ % len(TOPIC_TYPING)]
        await self.run.measure(
            "autocomplete /topic name", lambda: reader.autocomplete(world.channel, "topic", "name", typed)
        )
        await self.slash(reader, "search", query=SEARCHES[number_ % len(SEARCHES)])
        await self.slash(reader, "projects")
        await self.slash(reader, "project", name=PROJECT_NAMES[number_ % len(PROJECT_NAMES)])
        project = PROJECT_TYPING[number_ % len(PROJECT_TYPING)]
        await self.run.measure(
            "autocomplete /announce project",
            lambda: reader.autocomplete(world.channel, "announce", "project", project, track="backend"),
        )
        await self.slash(reader, "withdraw")
        await self.slash(reader, "forget-me")
        await self.slash(reader, "reminders off" if number_ % 2 == 0 else "reminders on")
        await self.seeker_round(number_)
        await self.decline_round()
        await self.accept_round()
        if self.partnered is not None:
            await self.slash(self.partnered, "match unpair")
        await self.staff_round(staff, number_)
        self.run.forget_transcript()
        await self.run.tick()

    async def seeker_round(self, number_: int) -> None:
        """A new learner announces, asks for a partner (usually proposed one from the crowd), looks, leaves."""
        seeker = await self.world.newcomer("seeker")
        await self.slash(
            seeker,
            "announce",
            project=SEEKER_PROJECTS[number_ % len(SEEKER_PROJECTS)],
            track="frontend" if number_ % 2 == 0 else "backend",
            summary="Building it with Django REST Framework and PostgreSQL.",
            timezone=TIMEZONES[number_ % len(TIMEZONES)],
        )
        await self.slash(seeker, "match find")
        await self.slash(seeker, "match status")
        await self.slash(seeker, "me")
        await self.slash(seeker, "match leave")

    async def proposed_pair(self) -> tuple[Any, Any]:
        """Two new learners on a project nobody else builds: the second one's /match find proposes the first."""
        frontend = await self.world.newcomer("frontend")
        backend = await self.world.newcomer("backend")
        for member, track in ((frontend, "frontend"), (backend, "backend")):
            await self.slash(member, "announce", project=BUTTON_PROJECT, track=track)
            await self.slash(member, "match find")
        return frontend, backend

    async def decline_round(self) -> None:
        frontend, backend = await self.proposed_pair()
        message = proposal_message(frontend)
        await self.run.measure("Decline button", lambda: frontend.user.click(message, label="Decline"))
        # Both are back in the pool and blocked from each other: out they go, so the next pair meets.
        await self.slash(frontend, "match leave")
        await self.slash(backend, "match leave")

    async def accept_round(self) -> None:
        frontend, backend = await self.proposed_pair()
        first = proposal_message(frontend)
        await self.run.measure("Accept button", lambda: frontend.user.click(first, label="Accept"))
        second = proposal_message(backend)
        await self.run.measure("Accept button", lambda: backend.user.click(second, label="Accept"))
        if self.partnered is None:
            self.partnered = frontend

    async def staff_round(self, staff: Any, number_: int) -> None:
        world = self.world
        await self.slash(staff, "nexus config")
        await self.slash(staff, "nexus stats")
        await self.slash(staff, "nexus gaps")
        await self.slash(staff, "nexus export")
        await self.slash(staff, "nexus reload")
        await self.slash(
            staff,
            "nexus setup",
            channel=world.channel,
            cohort_start=world.cohort_start,
            timezone="UTC",
            learner_role=world.learner_role,
            staff_role=world.staff_role,
            staff_channel=world.staff_channel,
        )
        await self.slash(staff, "nexus cohort list")
        await self.slash(staff, "nexus cohort edit")
        await self.slash(staff, "nexus cohort close")  # the "are you sure?" only: the cohort stays open
        # Each round one more cohort, in a channel of its own, so the world's channel keeps exactly one.
        await self.slash(
            staff,
            "nexus cohort create",
            name=f"Bench cohort {number_}",
            start=world.cohort_start,
            timezone="UTC",
            channel=world.guild.create_text_channel(f"bench-cohort-{number_}"),
        )
        # The reader is deferred to the newest cohort each round: their announcement moves and is posted there.
        await self.slash(staff, "nexus cohort move", member=world.reader, to=f"Bench cohort {number_}")
        await self.slash(staff, "match board")
        first, second = next(self.pairs)
        await self.slash(staff, "match pair", first=first, second=second)
        await self.slash(staff, "reminders schedule")
        reminder = self.reminders[number_ % len(self.reminders)]
        await self.slash(staff, "reminders preview", id=reminder)
        await self.slash(staff, "reminders send", id="kickoff")
        await self.slash(staff, "reminders pause")
        await self.slash(staff, "reminders resume")

    async def closing(self, rounds: int) -> None:
        """/match run last: the first one seats the leftovers, which would change every round after it."""
        for _ in range(rounds):
            await self.slash(self.world.staff, "match run")
            self.run.forget_transcript()
            await self.run.tick()


async def measure_scale(report: Report, scale: Scale) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    population = scale.population
    report.say(
        f"== 1.{scale.name} bot-side latency per command: {scale.rounds} rounds; {population.learners:,} learners, "
        f"{population.announced:,} announced, {population.pairs:,} pairs, {population.waiting:,} waiting, on disk"
    )
    with tempfile.TemporaryDirectory(prefix="nexus-bench-") as folder:
        async with running_bot(bench_settings(Path(folder))) as run:
            world = await build_world(run, population)
            script = Script(world)
            for number_ in range(scale.rounds):
                await script.round(number_)
            await script.closing(scale.rounds)
            wanted = {f"/{name}" for name in leaf_commands(run.bot.tree)}
            missing = sorted(wanted - set(run.samples))
            if missing:
                raise BenchError(f"no scenario measures {', '.join(missing)}")
            errors = run.errors()
            if errors:
                raise BenchError(f"the bot raised {len(errors)} errors, first: {errors[0]!r}")
            return dict(run.samples), dict(run.collected)


def measure_commands(report: Report, scales: Sequence[Scale]) -> dict[str, dict[str, Spread]]:
    """Each scale in turn, then one table: every command's p99 per scale, and its ratio to the baseline's p99.

    Each scale runs in an event loop of its own: in one loop, what the 5k world left behind after its rounds
    kept the 50k world's first member joins from ever settling (SimCord parked the task holding the database).
    """
    table: dict[str, dict[str, Spread]] = {}
    worst_name, worst, worst_ratio = "", 0.0, 0.0
    for scale in scales:
        samples, collected = asyncio.run(measure_scale(report, scale))
        baseline = Spread.of(samples.pop(f"/{BASELINE}"))
        table.setdefault(f"/{BASELINE} (baseline)", {})[scale.name] = baseline
        budget = "no goal" if scale.budget_ms is None else f"goal p99 <= {scale.budget_ms:g} ms"
        report.detail(f"{'command':<34} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}  ({budget})")
        report.detail(f"{'baseline /' + BASELINE:<34} {baseline.count:>5} {baseline.p50:>8.3f} {baseline.p99:>8.3f}")
        inside = [ms for name, values in collected.items() if name != f"/{BASELINE}" for ms in values if ms]
        report.detail(
            f"full garbage collections inside a timed command: {len(inside)} of "
            f"{sum(map(len, samples.values())):,} samples" + (f", {number(max(inside))} ms at most" if inside else "")
        )
        for name in sorted(samples):
            spread = Spread.of(samples[name])
            table.setdefault(name, {})[scale.name] = spread
            over = scale.budget_ms is not None and spread.p99 > scale.budget_ms
            note = " (first answer: a deferral)" if name in WHOLE_COHORT else ""
            report.detail(
                f"{name:<34} {spread.count:>5} {spread.p50:>8.3f} {spread.p99:>8.3f}{note}"
                f"{over_goal(samples[name], collected[name]) if over else ''}"
            )
            if scale.budget_ms is not None:
                what = f"{name} p99 at {scale.name} learners{note}"
                report.check(Goal(SECTION, what, spread.p99, scale.budget_ms, "ms"))
                if spread.p99 >= worst:
                    worst_name, worst, worst_ratio = (
                        f"{name} at {scale.name}",
                        spread.p99,
                        ratio(spread.p99, baseline.p99),
                    )
    report.say(scale_table(table, [scale.name for scale in scales]))
    report.detail(f"slowest p99 under a goal: {worst_name}")
    report.summary("commands (slowest p99)", worst, "ms", worst_ratio)
    return table


def over_goal(samples: Sequence[float], collected: Sequence[float]) -> str:
    """The miss flag, saying how much of the slowest sample was a full garbage collection."""
    slowest = max(range(len(samples)), key=samples.__getitem__)
    if not collected[slowest]:
        return "  > goal"
    return f"  > goal (slowest {number(samples[slowest])} ms, {number(collected[slowest])} ms of it a full collection)"


def scale_table(table: dict[str, dict[str, Spread]], scales: Sequence[str]) -> str:
    """Markdown, ready for docs/benchmarks.md: p99 (ms) per scale, and its ratio to the baseline's p99."""
    baseline = table[f"/{BASELINE} (baseline)"]
    head = "| command | " + " | ".join(f"p99 ms at {name}" for name in scales) + " | "
    head += " | ".join(f"x baseline at {name}" for name in scales) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(scales))]
    for name in sorted(table, key=lambda key: (not key.endswith("(baseline)"), key)):
        cells = [number(table[name][s].p99) if s in table[name] else "-" for s in scales]
        ratios = [number(ratio(table[name][s].p99, baseline[s].p99)) if s in table[name] else "-" for s in scales]
        label = f"{name} (defers)" if name in WHOLE_COHORT else name
        lines.append(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    return "\n".join(lines)
