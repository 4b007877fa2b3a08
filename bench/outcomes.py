"""Section 6: a cohort's week of matching, simulated on the real rules and the real store, on disk.

Learners arrive over the week, announce a project and run `/match find`; they answer proposals late, decline,
never answer or withdraw, as people do. Every step is a call into `bot.storage.matching.MatchingStore` (whose
decisions are `bot.matching`'s pure rules) on a real SQLite file, under a virtual clock: nothing about matching is
re-implemented here, only the people. Discord is left out (going through SimCord for 2,000 learners would take
minutes, and what Discord shows is tested in tests/test_matching_*.py).

`python -m bench --only outcomes` runs the six scenarios with the rules as they are; `python -m bench.outcomes
--rules before` runs them with the rules of the first release (no automatic seating, fixed expiry, no offers of
a seat elsewhere), the "before" column of docs/matching.md.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any, Literal

from bench.harness import CONTENT_DIR
from bench.report import Goal, Report, number, percentile
from bench.seed import OFFICIAL_SHARES, create_schema
from bot.errors import InvalidInput
from bot.matching import (
    LeftoverRun,
    Proposal,
    ProposalUpdate,
    Track,
    alone_to_tell,
    auto_seat_times,
    seat_cutoff,
    timezone_gap,
)
from bot.projects import resolve_project
from bot.projects_content import PROJECTS_FILE, load_projects
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.matching import MatchingStore, iso
from bot.timezones import to_tzinfo

SECTION = "outcomes"
GUILD_ID = 900_000_000_000_000_018
USER_BASE = 710_000_000_000_000_000
STAFF_ID = 0
# A Monday at midnight UTC: the cohort's day 0.
WEEK_START = datetime(2026, 3, 2, tzinfo=UTC)
WEEK = timedelta(days=7)
GOAL_TEAMED = 0.98
GOAL_MEDIAN_HOURS = 12.0

# Arrivals: share of learners whose first `/match find` falls on each day of the week (most in the first three).
ARRIVAL_DAYS = (0.30, 0.25, 0.18, 0.10, 0.08, 0.06, 0.03)
# Mostly UTC+0..+3, some far away (India, the Americas, East Asia).
NEAR_ZONES = ("Africa/Lagos", "Africa/Lagos", "Africa/Nairobi", "Africa/Cairo", "Africa/Accra", "Europe/London")
FAR_ZONES = ("Asia/Kolkata", "America/New_York", "Asia/Manila", "America/Sao_Paulo")
FAR_SHARE = 0.12
CUSTOM_PROJECTS = ("Budget Tracker", "Recipe Finder", "Event Tickets")
CUSTOM_SHARE = 9.0  # percent of learners, split over the custom projects
# Behaviour, drawn once per learner.
SILENT_SHARE = 0.10  # never answer a proposal
WITHDRAW_SHARE = 0.03  # `/match leave` some hours after asking, and don't come back
DECLINE_SHARE = 0.05  # of answers: a decline (the learner stays in the pool)
TAKES_OFFER_SHARE = 0.5  # of learners offered a seat on another project: take it
# Answer delays: log-normal, median 2.5 h, a long tail (p95 about 13 h); nobody answers while asleep.
ANSWER_MEDIAN_HOURS = 2.5
ANSWER_SIGMA = 1.0
AWAKE_FROM, AWAKE_UNTIL = 8, 23  # local hours

Behaviour = Literal["active", "silent", "withdraws"]


@dataclass(frozen=True)
class Scenario:
    learners: int
    backend_per_frontend: int
    seed: int = 18

    @property
    def name(self) -> str:
        return f"{self.learners:,} learners, backend:frontend {self.backend_per_frontend}:1"


FULL = tuple(Scenario(size, ratio) for size in (200, 2000) for ratio in (1, 2, 3))
QUICK = (Scenario(60, 1), Scenario(60, 3))


@dataclass(frozen=True)
class Rules:
    """The matching rules a run uses: the bot's settings that shape a week."""

    name: str
    auto_seat_day: float | None  # None: leftovers wait for staff to run `/match run` (never, here)
    seat_after_hours: float | None
    proposal_ttl_hours: float
    shorten_expiry: bool
    offers_seats: bool  # alone learners are offered a seat in a team on another project


BEFORE = Rules("before", None, None, proposal_ttl_hours=48.0, shorten_expiry=False, offers_seats=False)


def current_rules() -> Rules:
    """The rules as the bot runs them with its default settings."""
    defaults = Settings()
    return Rules(
        "after",
        defaults.auto_seat_day,
        defaults.seat_after_hours,
        proposal_ttl_hours=defaults.proposal_ttl_hours,
        shorten_expiry=True,
        offers_seats=True,
    )


@dataclass
class Learner:
    user_id: int
    track: Track
    project_key: str
    project_name: str
    timezone: str
    arrives: datetime
    behaviour: Behaviour
    asked_at: datetime | None = None
    teamed_at: datetime | None = None
    withdrew: bool = False
    proposals: int = 0
    offer: str = ""  # something concrete Nexus offered them: a proposal, a waiting counterpart, a seat


@dataclass
class Outcome:
    scenario: Scenario
    rules: Rules
    asked: int
    teamed: int
    kept_asking: int
    teamed_kept_asking: int
    wait_hours: list[float]
    teams: int
    teams_close: int
    trios: int
    proposals: int
    expired: int
    seatable_left: int
    alone: list[tuple[Learner, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def share(self) -> float:
        return self.teamed_kept_asking / self.kept_asking if self.kept_asking else 1.0

    @property
    def median(self) -> float:
        return statistics.median(self.wait_hours) if self.wait_hours else math.inf

    @property
    def p90(self) -> float:
        return percentile(self.wait_hours, 0.90) if self.wait_hours else math.inf

    @property
    def silently_alone(self) -> list[Learner]:
        """Still asking, alone at the end, and never offered anything concrete."""
        return [learner for learner, reason in self.alone if not learner.offer and reason not in OPTED_OUT]


OPTED_OUT = ("withdrew (/match leave)", "never answered a proposal")


def _awake(moment: datetime, zone: str) -> datetime:
    """The first moment at or after `moment` when someone in `zone` is awake and may look at Discord."""
    tzinfo = to_tzinfo(zone)
    local = moment.astimezone(tzinfo)
    if AWAKE_FROM <= local.hour < AWAKE_UNTIL:
        return moment
    day = local.date() if local.hour < AWAKE_FROM else local.date() + timedelta(days=1)
    return datetime.combine(day, dt_time(AWAKE_FROM), tzinfo=tzinfo).astimezone(UTC)


class Week:
    """One scenario's week: the people, the event queue and the store they act on."""

    def __init__(self, scenario: Scenario, rules: Rules, store: MatchingStore, db: Database) -> None:
        self.scenario = scenario
        self.rules = rules
        self.store = store
        self.db = db
        self.rng = random.Random(scenario.seed * 1000 + scenario.learners + scenario.backend_per_frontend)
        self.people: dict[int, Learner] = {}
        self.queue: list[tuple[datetime, int, str, tuple[Any, ...]]] = []
        self.counter = itertools.count()
        self.answering: set[tuple[int, int]] = set()  # (proposal, learner) answers already scheduled
        self.expiring: set[int] = set()
        self.catalogue = load_projects(CONTENT_DIR / PROJECTS_FILE)
        self.now = WEEK_START

    # ------------------------------------------------------------------------------------------ people

    def populate(self) -> list[Learner]:
        rng, scenario = self.rng, self.scenario
        backend = round(scenario.learners * scenario.backend_per_frontend / (scenario.backend_per_frontend + 1))
        tracks: list[Track] = ["backend"] * backend + ["frontend"] * (scenario.learners - backend)
        rng.shuffle(tracks)
        slots = [(key, share) for key, share in OFFICIAL_SHARES.items()]
        slots += [(name, CUSTOM_SHARE / len(CUSTOM_PROJECTS)) for name in CUSTOM_PROJECTS]
        learners = []
        for number_, track in enumerate(tracks):
            typed = rng.choices([slot for slot, _ in slots], [share for _, share in slots])[0]
            project = resolve_project(typed, track, self.catalogue)
            zone = rng.choice(FAR_ZONES) if rng.random() < FAR_SHARE else rng.choice(NEAR_ZONES)
            day = rng.choices(range(7), ARRIVAL_DAYS)[0]
            arrives = _awake(WEEK_START + timedelta(days=day, seconds=rng.randrange(86_400)), zone)
            draw = rng.random()
            behaviour: Behaviour = (
                "silent" if draw < SILENT_SHARE else "withdraws" if draw < SILENT_SHARE + WITHDRAW_SHARE else "active"
            )
            learner = Learner(USER_BASE + number_, track, project.key, project.name, zone, arrives, behaviour)
            learners.append(learner)
            self.people[learner.user_id] = learner
        return learners

    def write_people(self, learners: Sequence[Learner]) -> None:
        """Learners and their announcements, as `/announce` leaves them (the matching store reads these rows)."""
        connection = sqlite3.connect(self.db.path, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(
                "INSERT INTO learners (guild_id, user_id, display_name, first_seen_at) VALUES (?, ?, ?, ?)",
                [(GUILD_ID, p.user_id, f"learner{p.user_id - USER_BASE}", iso(WEEK_START)) for p in learners],
            )
            connection.executemany(
                "INSERT INTO announcements (guild_id, user_id, project_key, project_name, track, summary, timezone,"
                " created_at, message_id, posted_at) VALUES (?, ?, ?, ?, ?, '', ?, ?7, 1, ?7)",
                [
                    (GUILD_ID, p.user_id, p.project_key, p.project_name, p.track, p.timezone, iso(p.arrives))
                    for p in learners
                ],
            )
            # The cohort's week one, as `/nexus setup` saves it: the store shortens late proposals' expiry from it.
            connection.execute(
                "INSERT INTO guild_config (guild_id, channel_id, cohort_start, timezone, updated_at, updated_by)"
                " VALUES (?, 1, ?, 'UTC', ?, 0)",
                (GUILD_ID, WEEK_START.date().isoformat(), iso(WEEK_START)),
            )
            connection.execute("COMMIT")
        finally:
            connection.close()

    async def move(self, learner: Learner, project_key: str, project_name: str) -> None:
        """The learner takes an offer on another project: a new announcement (as `/announce` writes it)."""

        async def body(conn: Any) -> None:
            await conn.execute(
                "UPDATE announcements SET ended_at = ?, end_reason = 'replaced' WHERE guild_id = ? AND user_id = ?"
                " AND ended_at IS NULL",
                (iso(self.now), GUILD_ID, learner.user_id),
            )
            await conn.execute(
                "INSERT INTO announcements (guild_id, user_id, project_key, project_name, track, summary, timezone,"
                " created_at, message_id, posted_at) VALUES (?, ?, ?, ?, ?, '', ?, ?, 1, ?)",
                (
                    GUILD_ID,
                    learner.user_id,
                    project_key,
                    project_name,
                    learner.track,
                    learner.timezone,
                    iso(self.now),
                    iso(self.now),
                ),
            )

        await self.db.transact(body)
        learner.project_key, learner.project_name = project_key, project_name
        departure = await self.store.drop_if_moved(GUILD_ID, learner.user_id, self.now)
        for update in departure.withdrawn if departure is not None else ():
            self.updated(update)

    # ------------------------------------------------------------------------------------------ events

    def at(self, when: datetime, kind: str, *args: Any) -> None:
        heapq.heappush(self.queue, (when, next(self.counter), kind, args))

    def answer_delay(self) -> timedelta:
        hours = self.rng.lognormvariate(math.log(ANSWER_MEDIAN_HOURS), ANSWER_SIGMA)
        return timedelta(hours=hours)

    def proposed(self, proposals: Sequence[Proposal]) -> None:
        """People see a proposal some time after it is made, while awake, and answer (or never do)."""
        for proposal in proposals:
            if proposal.id not in self.expiring:
                self.expiring.add(proposal.id)
                self.at(proposal.expires_at, "expire", proposal.id)
            for user in proposal.members:
                if (proposal.id, user) in self.answering:
                    continue
                self.answering.add((proposal.id, user))
                learner = self.people[user]
                learner.proposals += 1
                if learner.behaviour == "silent":
                    continue
                when = _awake(self.now + self.answer_delay(), learner.timezone)
                self.at(when, "answer", proposal.id, user)

    def updated(self, update: ProposalUpdate | None) -> None:
        if update is None:
            return
        if update.team is not None:
            for user in update.team.member_ids:
                self.people[user].teamed_at = self.now
        self.proposed(update.new_proposals)

    async def run(self) -> None:
        for learner in self.people.values():
            self.at(learner.arrives, "find", learner.user_id)
            if learner.behaviour == "withdraws":
                self.at(learner.arrives + timedelta(hours=self.rng.uniform(4, 60)), "withdraw", learner.user_id)
        if self.rules.auto_seat_day is not None or self.rules.seat_after_hours is not None:
            for when in auto_seat_times(WEEK_START, WEEK_START + WEEK):
                self.at(when, "seat")
        end = WEEK_START + WEEK
        while self.queue and self.queue[0][0] < end:
            when, _, kind, args = heapq.heappop(self.queue)
            self.now = when
            await getattr(self, f"on_{kind}")(*args)
        self.now = end

    async def on_find(self, user: int) -> None:
        learner = self.people[user]
        if learner.withdrew:
            return
        if learner.asked_at is None:
            learner.asked_at = self.now
        result = await self.store.find(GUILD_ID, user, self.now)
        if result.kind == "proposed" and result.proposal is not None:
            self.proposed([result.proposal])

    async def on_answer(self, proposal_id: int, user: int) -> None:
        learner = self.people[user]
        proposal = await self.store.proposal(proposal_id)
        if proposal is None or learner.withdrew:
            return
        if proposal.state != "pending":
            if proposal.state == "expired" and proposal.answer_of(user) is None and learner.teamed_at is None:
                # They open the proposal too late: Nexus told them it expired, so they ask again.
                await self.on_find(user)
            return
        decline = self.rng.random() < DECLINE_SHARE
        try:
            update = await self.store.answer(proposal_id, user, "declined" if decline else "accepted", self.now)
        except InvalidInput:
            return
        self.updated(update)

    async def on_expire(self, proposal_id: int) -> None:
        self.updated(await self.store.expire(proposal_id, self.now))

    async def on_withdraw(self, user: int) -> None:
        learner = self.people[user]
        if learner.teamed_at is not None:
            return
        learner.withdrew = True
        departure = await self.store.leave(GUILD_ID, user, self.now)
        for update in departure.withdrawn:
            self.updated(update)

    async def on_seat(self) -> None:
        cutoff = seat_cutoff(self.now, WEEK_START, self.rules.auto_seat_day, self.rules.seat_after_hours)
        if cutoff is not None:
            run = await self.store.run_leftovers(GUILD_ID, STAFF_ID, self.now, queued_by=cutoff)
            # Only those the bot tells (alone_to_tell) hear of what is open to them.
            told = alone_to_tell(
                run.plan.alone, self.now, WEEK_START, self.rules.auto_seat_day, self.rules.seat_after_hours
            )
            self.seated(replace(run, plan=replace(run.plan, alone=told)))

    def seated(self, run: LeftoverRun) -> None:
        for join in run.plan.joins:
            self.people[join.user_id].teamed_at = self.now
        for alone in run.plan.alone:
            learner = self.people[alone.user_id]
            seats = alone.seats
            if alone.pointers:
                learner.offer = "projects with a waiting counterpart: " + ", ".join(
                    p.project_key for p in alone.pointers
                )
            elif self.rules.offers_seats and seats:
                learner.offer = "a seat as third member on: " + ", ".join(p.project_key for p in seats)
            offered = alone.pointers or (seats if self.rules.offers_seats else ())
            if offered and learner.behaviour == "active" and self.rng.random() < TAKES_OFFER_SHARE:
                target = offered[0].project_key
                name = self.project_name(target, learner.track)
                when = _awake(self.now + self.answer_delay(), learner.timezone)
                self.at(when, "take_offer", learner.user_id, target, name)

    def project_name(self, key: str, track: Track) -> str:
        project = self.catalogue.get(key)
        if project is not None:
            return project.title_for(track)
        for name in CUSTOM_PROJECTS:
            if resolve_project(name, track, self.catalogue).key == key:
                return name
        return key

    async def on_take_offer(self, user: int, project_key: str, project_name: str) -> None:
        learner = self.people[user]
        if learner.teamed_at is not None or learner.withdrew:
            return
        if await self.store.pending_proposal_for(GUILD_ID, user) is not None:
            return  # proposed a partner on their own project meanwhile: no reason to move
        await self.move(learner, project_key, project_name)
        await self.on_find(user)


async def _reasons(week: Week) -> tuple[list[tuple[Learner, str]], int]:
    """Everyone who asked and is alone at the end, with why; and how many of them a team on their project could
    still seat in a team on their project (what `/match run` would do now)."""
    conn = week.db
    pool = {
        row["user_id"]: (row["project_key"], row["track"], row["state"])
        for row in await conn.fetchall(
            "SELECT user_id, project_key, track, state FROM match_pool WHERE guild_id = ?", (GUILD_ID,)
        )
    }
    blocks = {
        (row["user_low"], row["user_high"])
        for row in await conn.fetchall("SELECT user_low, user_high FROM pair_blocks WHERE guild_id = ?", (GUILD_ID,))
    }

    def met(first: int, second: int) -> bool:
        return (min(first, second), max(first, second)) in blocks

    alone: list[tuple[Learner, str]] = []
    for learner in week.people.values():
        if learner.asked_at is None or learner.teamed_at is not None:
            continue
        entry = pool.get(learner.user_id)
        if learner.withdrew:
            reason = OPTED_OUT[0]
        elif learner.behaviour == "silent" and entry is None:
            reason = OPTED_OUT[1]
        elif entry is None:
            reason = "missed a proposal, not back in the pool yet"
        elif entry[2] == "proposed":
            reason = "proposal still open"
        else:
            others = [
                user
                for user, (key, track, state) in pool.items()
                if key == entry[0] and track != entry[1] and state == "waiting"
            ]
            if not others:
                reason = "no counterpart waiting on their project"
            elif all(met(learner.user_id, other) for other in others):
                reason = "declined or met everyone waiting on their project"
            else:
                reason = "waiting with an untried counterpart"
        if not learner.offer and learner.proposals:
            learner.offer = "a proposal (declined, expired or still open)"
        alone.append((learner, reason))
    # Whom a `/match run` now would still seat: nobody, if the rules seated everyone who could be.
    final = await week.store.run_leftovers(GUILD_ID, STAFF_ID, week.now)
    return alone, len(final.plan.joins)


async def simulate(scenario: Scenario, rules: Rules, folder: Path) -> Outcome:
    began = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once per scenario, before any await
    path = folder / f"outcomes-{scenario.learners}-{scenario.backend_per_frontend}-{rules.name}.db"
    await create_schema(path)
    db = Database(path)
    await db.connect()
    try:
        store = MatchingStore(db, proposal_ttl_hours=rules.proposal_ttl_hours, shorten_expiry=rules.shorten_expiry)
        week = Week(scenario, rules, store, db)
        learners = week.populate()
        week.write_people(learners)
        await week.run()
        teams = await db.fetchall(
            "SELECT t.id, group_concat(m.user_id) AS members FROM teams t JOIN team_members m ON m.team_id = t.id"
            " WHERE t.guild_id = ? AND t.ended_at IS NULL AND m.left_at IS NULL GROUP BY t.id",
            (GUILD_ID,),
        )
        counts = await db.fetchone(
            "SELECT COUNT(*) AS made, COALESCE(SUM(state = 'expired'), 0) AS expired FROM proposals WHERE guild_id = ?",
            (GUILD_ID,),
        )
        alone, seatable = await _reasons(week)
    finally:
        await db.close()
    assert counts is not None  # an aggregate always returns one row
    end = WEEK_START + WEEK
    close = 0
    trios = 0
    for row in teams:
        members = [week.people[int(user)] for user in str(row["members"]).split(",")]
        trios += len(members) == 3
        gaps = [timezone_gap(a.timezone, b.timezone, end) for a, b in itertools.combinations(members, 2)]
        close += all(gap is not None and gap <= timedelta(hours=3) for gap in gaps)
    asked = [learner for learner in week.people.values() if learner.asked_at is not None]
    opted_out = {learner.user_id for learner, reason in alone if reason in OPTED_OUT}
    kept = [learner for learner in asked if learner.user_id not in opted_out]
    teamed = [learner for learner in asked if learner.teamed_at is not None]
    waits = [
        (learner.teamed_at - learner.asked_at).total_seconds() / 3600
        for learner in teamed
        if learner.teamed_at is not None and learner.asked_at is not None
    ]
    return Outcome(
        scenario=scenario,
        rules=rules,
        asked=len(asked),
        teamed=len(teamed),
        kept_asking=len(kept),
        teamed_kept_asking=sum(learner.teamed_at is not None for learner in kept),
        wait_hours=waits,
        teams=len(teams),
        teams_close=close,
        trios=trios,
        proposals=int(counts["made"]),
        expired=int(counts["expired"]),
        seatable_left=seatable,
        alone=alone,
        seconds=time.perf_counter() - began,
    )


def describe(outcome: Outcome, report: Report) -> None:
    report.say(f"-- {outcome.scenario.name} ({outcome.rules.name}; {outcome.seconds:.1f} s)")
    report.detail(
        f"asked {outcome.asked}; teamed {outcome.teamed} ({number(100 * outcome.teamed / max(outcome.asked, 1))} %);"
        f" of the {outcome.kept_asking} who kept asking: {number(100 * outcome.share)} % teamed by day 7"
    )
    report.detail(
        f"hours to a team: median {number(outcome.median)}, p90 {number(outcome.p90)}; teams {outcome.teams}"
        f" ({outcome.trios} trios), {number(100 * outcome.teams_close / max(outcome.teams, 1))} % within ±3 h"
    )
    report.detail(
        f"proposals {outcome.proposals}, expired {outcome.expired}; alone at the end {len(outcome.alone)}"
        f" (a seat on their project was free for {outcome.seatable_left})"
    )
    reasons = Counter(reason for _, reason in outcome.alone)
    for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
        offered = Counter(
            (learner.offer.split(":")[0] if learner.offer else "nothing")
            for learner, why in outcome.alone
            if why == reason
        )
        offers = ", ".join(f"{count_} offered {what}" for what, count_ in sorted(offered.items()))
        report.detail(f"  alone: {count} {reason} ({offers})")


def check(outcome: Outcome, report: Report) -> None:
    scenario = outcome.scenario
    label = f"{scenario.learners} learners {scenario.backend_per_frontend}:1"
    if scenario.backend_per_frontend <= 2:
        report.check(Goal(SECTION, f"{label}: teamed by day 7", 100 * outcome.share, 100 * GOAL_TEAMED, "%", True))
        report.check(Goal(SECTION, f"{label}: median hours to a team", outcome.median, GOAL_MEDIAN_HOURS, "h"))
    else:
        report.check(Goal(SECTION, f"{label}: alone with a free seat on their project", outcome.seatable_left, 0, ""))
    report.check(Goal(SECTION, f"{label}: alone without an offer", len(outcome.silently_alone), 0, ""))


async def run_outcomes(report: Report, scenarios: Sequence[Scenario], rules: Rules | None = None) -> list[Outcome]:
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="nexus-outcomes-") as folder:
        for scenario in scenarios:
            outcome = await simulate(scenario, rules or current_rules(), Path(folder))
            describe(outcome, report)
            outcomes.append(outcome)
    return outcomes


async def measure_outcomes(report: Report, scenarios: Sequence[Scenario]) -> None:
    report.say(f"== 6. matching outcomes: a cohort's week on the real rules and store, {len(scenarios)} scenarios")
    began = time.perf_counter()
    outcomes = await run_outcomes(report, scenarios)
    for outcome in outcomes:
        check(outcome, report)
    # The share goal is set for 1:1 and 2:1 (at 3:1 a quarter of the cohort cannot be seated in any trio).
    goaled = [outcome for outcome in outcomes if outcome.scenario.backend_per_frontend <= 2] or outcomes
    worst = min(goaled, key=lambda outcome: outcome.share)
    report.detail(f"all scenarios in {time.perf_counter() - began:.0f} s; the ratio below is against the 98 % goal")
    report.summary("week teamed (worst 1:1 or 2:1)", 100 * worst.share, "%", worst.share / GOAL_TEAMED)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outcomes", description=__doc__)
    parser.add_argument("--rules", choices=("before", "after"), default="after")
    parser.add_argument(
        "--seat-after-hours", type=float, metavar="H", help="with the current rules: also seat early (a trial)"
    )
    parser.add_argument("--only", metavar="LEARNERS:RATIO", help="one scenario, e.g. 2000:2")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    report = Report()
    rules = BEFORE if args.rules == "before" else current_rules()
    if args.seat_after_hours is not None:
        rules = replace(rules, name=f"after, early {args.seat_after_hours:g} h", seat_after_hours=args.seat_after_hours)
    scenarios: Sequence[Scenario] = QUICK if args.quick else FULL
    if args.only:
        size, ratio = args.only.split(":")
        scenarios = (Scenario(int(size), int(ratio)),)
    outcomes = asyncio.run(run_outcomes(report, scenarios, rules))
    for outcome in outcomes:
        check(outcome, report)
    for goal in report.goals:
        report.say(goal.describe())
    return 1 if report.missed else 0


if __name__ == "__main__":
    sys.exit(main())
