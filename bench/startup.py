"""Section 5: start-up, from process start to ready, and peak RSS, on a seeded 50,000-learner database.

Each start is a fresh `python -m bench.startup_child` process running the bot under SimCord; it prints `ready`
once the bot has started (migrations checked, cogs loaded, knowledge index built, timers re-armed) and READY has
been dispatched, and `settled` once the background work start-up began (the catch-up check-in pass, delivery
recovery, board counts) is done. `bench.startup_probe` spawns it, times it from just before the spawn to each
line and reads its peak RSS with `getrusage(RUSAGE_CHILDREN)`. The baseline is a bare discord.py bot started the
same way: the interpreter, discord.py and SimCord with nothing of Nexus.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.harness import CONTENT_DIR, REPO, VIRTUAL_EPOCH, BenchError
from bench.report import Goal, Report, number, ratio
from bench.seed import Population, create_schema, seed

SECTION = "start-up"
GOAL_READY_S = 2.0
GOAL_RSS_MB = 150.0
GUILD_ID = 900_000_000_000_000_003
CHILD_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Sizes:
    learners: int
    starts: int
    warm_up: bool = True


FULL = Sizes(learners=50_000, starts=3)
QUICK = Sizes(learners=5_000, starts=1, warm_up=False)


@dataclass(frozen=True)
class Start:
    ready_s: float
    settled_s: float | None  # None: the start did not settle within SimCord's 5 s
    rss_mb: float


def start_once(db_path: Path, *, bare: bool) -> Start:
    command = [sys.executable, "-m", "bench.startup_probe", "--db", str(db_path)]
    if bare:
        command.append("--bare")
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        result = {"ok": False}
    if done.returncode != 0 or not result["ok"]:
        raise BenchError(f"start-up failed (exit {done.returncode}): {done.stdout[-500:]} {done.stderr[-2000:]}")
    settled = result["settled_s"]
    return Start(
        ready_s=float(result["ready_s"]),
        settled_s=None if settled is None else float(settled),
        rss_mb=float(result["rss_mb"]),
    )


def median_start(db_path: Path, starts: int, *, bare: bool, warm_up: bool = True) -> Start:
    if warm_up:
        start_once(db_path, bare=bare)  # warm the page cache and the command-sync hash, as any restart finds them
    runs = [start_once(db_path, bare=bare) for _ in range(starts)]
    settled = [run.settled_s for run in runs if run.settled_s is not None]
    return Start(
        statistics.median(run.ready_s for run in runs),
        statistics.median(settled) if len(settled) == len(runs) else None,
        max(run.rss_mb for run in runs),
    )


async def seeded_database(folder: Path, learners: int) -> Path:
    path = folder / "nexus.db"
    await create_schema(path)
    announced = learners * 2 // 5
    population = Population(
        learners=learners,
        announced=announced,
        pairs=announced // 4,
        pending=announced // 40,
        waiting=announced * 3 // 10,
    )
    seed(path, GUILD_ID, population, content_dir=CONTENT_DIR, now=VIRTUAL_EPOCH, config_channel_id=GUILD_ID + 1)
    return path


def settled_after(start: Start) -> str:
    if start.settled_s is None:
        return "not within SimCord's 5 s in at least one start"
    return f"{number(start.settled_s)} s"


async def measure_startup(report: Report, sizes: Sizes) -> None:
    report.say(f"== 5. start-up: process start to ready, peak RSS; {sizes.learners:,} learners on disk")
    with tempfile.TemporaryDirectory(prefix="nexus-bench-") as folder:
        db_path = await seeded_database(Path(folder), sizes.learners)
        nexus = median_start(db_path, sizes.starts, bare=False, warm_up=sizes.warm_up)
        bare = median_start(db_path, sizes.starts, bare=True, warm_up=sizes.warm_up)
    report.detail(
        f"bare discord.py bot under SimCord (baseline): ready {number(bare.ready_s)} s, "
        f"peak RSS {number(bare.rss_mb)} MB"
    )
    report.detail(
        f"peak RSS: {number(nexus.rss_mb)} MB ({number(ratio(nexus.rss_mb, bare.rss_mb))} x baseline); "
        f"ready: median of {sizes.starts} starts after one warm-up"
    )
    report.detail(
        f"background start-up work done (catch-up check-in pass, recovery, board counts; commands are answered "
        f"meanwhile): {settled_after(nexus)} after the process started (bare: {settled_after(bare)})"
    )
    report.check(Goal(SECTION, "ready", nexus.ready_s, GOAL_READY_S, "s"))
    report.check(Goal(SECTION, "peak RSS", nexus.rss_mb, GOAL_RSS_MB, "MB"))
    report.summary(
        f"start-up to ready ({sizes.learners:,} learners)", nexus.ready_s, "s", ratio(nexus.ready_s, bare.ready_s)
    )
