"""Graceful shutdown: new commands are refused, running ones finish (bounded), and on SIGTERM a real process
exits 0 with an intact database."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio

from bot import Settings, create_bot
from bot.app import RESTARTING, NexusBot
from bot.health import run_until_signalled
from tests.conftest import REPO, World


@pytest_asyncio.fixture
async def simcord_bot(settings: Settings) -> AsyncIterator[NexusBot]:
    """The real bot plus one test-only command that takes `seconds` after deferring."""
    bot = create_bot(settings)

    @bot.tree.command(name="slow", description="Test: a command still running during shutdown")
    @discord.app_commands.describe(seconds="How long it runs")
    async def slow(interaction: discord.Interaction, seconds: float) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        # Short sleeps run in real time under SimCord once the bot has settled, like a slow database or API call.
        await asyncio.sleep(seconds)
        await bot.admin_store.set_meta("slow", "finished")
        await interaction.followup.send("slow done", ephemeral=True)

    yield bot
    await bot.db.close()
    bot.scheduler.shutdown()


async def start_in_background(bot: NexusBot, call: Any) -> asyncio.Future[Any]:
    """Issue a command without waiting for it, and return once the bot is running it."""
    task = asyncio.ensure_future(call)
    for _ in range(200):
        if bot.in_flight:
            return task
        await asyncio.sleep(0.01)
    raise AssertionError("the command never started")


async def test_draining_refuses_new_commands(world: World) -> None:
    bot: NexusBot = world.env.bot
    assert await bot.drain() == 0
    refused = await world.learners[0].slash(world.channel, "help")
    assert refused.ephemeral
    assert refused.response.content == RESTARTING


async def test_draining_waits_for_the_running_command(world: World) -> None:
    bot: NexusBot = world.env.bot
    running = await start_in_background(bot, world.learners[0].slash(world.channel, "slow", seconds=0.5))
    assert await asyncio.wait_for(bot.drain(grace=4), timeout=5) == 0
    assert await bot.admin_store.get_meta("slow") == "finished"
    result = await running
    assert "slow done" in (result.response.content if result.response else result.followups[-1].content)


async def test_draining_gives_up_after_the_grace_period(world: World) -> None:
    bot: NexusBot = world.env.bot
    running = await start_in_background(bot, world.learners[0].slash(world.channel, "slow", seconds=1.5))
    assert await asyncio.wait_for(bot.drain(grace=0.2), timeout=2) == 1
    assert await bot.admin_store.get_meta("slow") is None
    await running


async def test_run_until_signalled_stops_on_a_signal_and_shuts_down_once() -> None:
    calls: list[str] = []

    async def shutdown() -> None:
        calls.append("shutdown")

    async def send_sigterm() -> None:
        await asyncio.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    sender = asyncio.ensure_future(send_sigterm())
    received = await run_until_signalled(asyncio.Event().wait(), shutdown)
    await sender
    assert received is signal.SIGTERM
    assert calls == ["shutdown"]


async def test_run_until_signalled_shuts_down_and_reraises_when_the_work_fails() -> None:
    calls: list[str] = []

    async def shutdown() -> None:
        calls.append("shutdown")

    async def failing() -> None:
        raise discord.LoginFailure("bad token")

    with pytest.raises(discord.LoginFailure):
        await run_until_signalled(failing(), shutdown)
    assert calls == ["shutdown"]


def wait_for_output(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.strip() == marker:
            return lines
    raise AssertionError(f"{marker} never printed: {lines}")


def test_sigterm_lets_the_running_command_finish_and_exits_cleanly(tmp_path: Path) -> None:
    db_path, heartbeat = tmp_path / "nexus.db", tmp_path / "heartbeat"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.ops_harness", str(db_path), str(heartbeat)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_output(process, "READY", timeout=8)
        wait_for_output(process, "SLOW-STARTED", timeout=5)
        assert heartbeat.is_file()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=8)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "CLOSED db_open=False" in out
    assert "SIGTERM received" in err
    assert "Traceback" not in err
    assert not heartbeat.exists()  # a cleanly stopped bot reads as down at once
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # The command in flight when SIGTERM arrived finished and committed; /nexus setup from before is kept.
        assert conn.execute("SELECT value FROM bot_meta WHERE key = 'harness_slow'").fetchone() == ("finished",)
        assert conn.execute("SELECT COUNT(*) FROM guild_config").fetchone() == (1,)
    assert not Path(f"{db_path}-wal").exists() or Path(f"{db_path}-wal").stat().st_size == 0
