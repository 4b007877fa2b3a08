"""The heartbeat while connected and `nexus-bot healthcheck`: pure rules, the bot under SimCord, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.health import (
    HEARTBEAT_INTERVAL_SECONDS,
    MAX_PAUSE_SECONDS,
    check_heartbeat,
    next_pause,
    write_heartbeat,
)
from tests.conftest import REPO, World

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("previous", "wall_elapsed", "expected"),
    [
        # Production: a 30 s pause takes 30 s of wall time, so the interval never changes.
        (30.0, 30.0, 30.0),
        (30.0, 31.5, 30.0),
        (30.0, 15.0, 30.0),
        # A simulated clock jumped: back off, doubling up to the cap.
        (30.0, 0.001, 60.0),
        (60.0, 0.001, 120.0),
        (MAX_PAUSE_SECONDS, 0.001, MAX_PAUSE_SECONDS),
        # As soon as a pause takes real time again, the normal interval is back.
        (1920.0, 1920.0, 30.0),
    ],
)
def test_next_pause(previous: float, wall_elapsed: float, expected: float) -> None:
    assert next_pause(previous, HEARTBEAT_INTERVAL_SECONDS, wall_elapsed) == expected


def test_fresh_heartbeat_is_healthy(tmp_path: Path) -> None:
    path = tmp_path / "data" / "heartbeat"
    write_heartbeat(path, NOW)
    assert path.read_text(encoding="utf-8").strip() == NOW.isoformat()
    verdict = check_heartbeat(path, max_age=120, wall_now=time.time())
    assert verdict.healthy
    assert verdict.reason.startswith("healthy")


@pytest.mark.parametrize(("age", "healthy"), [(0, True), (119, True), (121, False), (3600, False)])
def test_heartbeat_age_against_the_limit(tmp_path: Path, age: float, healthy: bool) -> None:
    path = tmp_path / "heartbeat"
    write_heartbeat(path, NOW)
    os.utime(path, (1_000_000.0, 1_000_000.0))
    verdict = check_heartbeat(path, max_age=120, wall_now=1_000_000.0 + age)
    assert verdict.healthy is healthy
    if not healthy:
        assert f"{age} s old (limit 120 s)" in verdict.reason


def test_missing_heartbeat_is_unhealthy_and_says_why(tmp_path: Path) -> None:
    verdict = check_heartbeat(tmp_path / "nope", max_age=120, wall_now=time.time())
    assert not verdict.healthy
    assert "no heartbeat file" in verdict.reason


def test_writing_leaves_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat"
    write_heartbeat(path, NOW)
    write_heartbeat(path, NOW)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heartbeat"]


def beat(world: World) -> str:
    return world.env.bot.settings.heartbeat_path.read_text(encoding="utf-8").strip()


async def test_bot_writes_the_heartbeat_once_ready_and_keeps_it_fresh(world: World) -> None:
    first = beat(world)
    assert datetime.fromisoformat(first) == world.env.now()
    await world.env.advance_time(HEARTBEAT_INTERVAL_SECONDS + 1)
    assert datetime.fromisoformat(beat(world)) > datetime.fromisoformat(first)


async def test_heartbeat_stops_while_disconnected_and_resumes(world: World) -> None:
    bot = world.env.bot
    bot.dispatch("disconnect")
    await world.env.advance_time(1)
    stopped_at = beat(world)
    await world.env.advance_time(2 * 86400)
    assert beat(world) == stopped_at
    bot.dispatch("resumed")
    await world.env.advance_time(1)
    assert datetime.fromisoformat(beat(world)) > datetime.fromisoformat(stopped_at)


async def test_a_simulated_week_costs_few_heartbeat_wakeups(world: World) -> None:
    started = time.perf_counter()
    await world.env.advance_time(7 * 86400)
    assert time.perf_counter() - started < 3.0
    # Backed off under the simulated clock, but never more than a day between beats.
    assert datetime.fromisoformat(beat(world)) >= world.env.now() - timedelta(seconds=MAX_PAUSE_SECONDS)


def healthcheck(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEXUS_HEARTBEAT_PATH": str(tmp_path / "heartbeat"), "PYTHONPATH": str(REPO)}
    env.pop("DISCORD_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "healthcheck", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_healthcheck_cli_exit_codes(tmp_path: Path) -> None:
    missing = healthcheck(tmp_path)
    assert missing.returncode == 1
    assert "no heartbeat file" in missing.stdout

    write_heartbeat(tmp_path / "heartbeat", NOW)
    fresh = healthcheck(tmp_path)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert fresh.stdout.startswith("healthy")

    old = time.time() - 300
    os.utime(tmp_path / "heartbeat", (old, old))
    stale = healthcheck(tmp_path)
    assert stale.returncode == 1
    assert "old (limit 120 s)" in stale.stdout
    assert healthcheck(tmp_path, "--max-age", "600").returncode == 0
