"""The bot under SimCord for benchmarks: the bench-only baseline command, the latency probe, the virtual clock tick.

Bot-side latency is the time from SimCord handing an interaction to the bot (its dispatch observer, called right
before the gateway event) to the bot's first response call to Discord (the `/interactions/{id}/{token}/callback`
request), read with `time.perf_counter_ns()`, which SimCord does not virtualise. Interaction responses travel
through discord.py's webhook adapter rather than `bot.http.request`, so the probe wraps SimCord's request router,
where both transports meet. An actor call's own wall time is not used: it includes SimCord settling the world.

SimCord settles the world right after emitting an interaction, in the same event loop as the bot: each time the
bot awaits (a database round trip), the settling loop runs a scan of every task, timer and view before the bot
can continue, a cost production never pays. So while an interaction is unanswered the probe holds that scan back
until the answer (or ANSWER_TIMEOUT) and lets it run afterwards; nothing else about settling changes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import simcord
from discord import app_commands
from simcord.http import router

from bot.app import NexusBot, create_bot
from bot.playground import scheduler_follows_virtual_clock
from bot.settings import Settings

REPO = Path(__file__).resolve().parent.parent
CONTENT_DIR = REPO / "content"
BASELINE = "benchping"
# SimCord's virtual clock starts here; databases seeded before a run use it as "now".
VIRTUAL_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
# Virtual seconds to move the clock between rounds. Two reasons. SimCord fires a timer in real time if the virtual
# clock has not reached it first, and such a timer firing in the middle of another operation can time that
# operation out: keeping the virtual clock ahead makes every timer (heartbeat, view timeouts, the hourly stats
# line) fire in order, between measurements. And SimCord's settling loop, which runs whenever the bot awaits,
# scans every live view once per pending task: left to pile up over hundreds of rounds, views with a timeout (the
# longest is 300 s) make that scan, not the bot, the largest part of an awaiting command's measured latency.
TICK_SECONDS = 301.0
ANSWER_TIMEOUT = 5.0
# How long SimCord may take to settle the world after an actor call. SimCord waits for a sleeping bot task whose
# timer falls inside that deadline, and the bot's heartbeat sleeps HEARTBEAT_INTERVAL_SECONDS (30 s) on the loop
# clock until the virtual clock outruns the wall clock: with a deadline longer than that, every settle waited for
# the heartbeat, which slept again, until the deadline ran out. So operations keep a short deadline, and only
# whole-cohort work, which runs after its deferral while SimCord settles, gets the long one.
SETTLE_TIMEOUT = 5.0
WHOLE_COHORT_SETTLE_TIMEOUT = 120.0
CALLBACK_PATH = re.compile(r"^/interactions/(\d+)/[^/]+/callback$")


class BenchError(RuntimeError):
    """The benchmark itself could not measure what it meant to (not a slow bot: a broken scenario)."""


async def baseline_command(interaction: discord.Interaction[Any]) -> None:
    """The trivial command every ratio is measured against: it answers at once."""
    await interaction.response.send_message("pong", ephemeral=True)


def bench_settings(folder: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db_path": folder / "nexus.db",
        "content_dir": CONTENT_DIR,
        "heartbeat_path": folder / "heartbeat",
        "dm_pace_seconds": 0.0,
        "command_cooldown_seconds": 0.0,
        "sync_commands": "always",
        "log_level": "ERROR",
    }
    values.update(overrides)
    return Settings(**values)


def build_bot(settings: Settings) -> NexusBot:
    """The real bot plus the bench-only baseline command, added before start so setup_hook syncs it too."""
    bot = create_bot(settings)
    bot.tree.add_command(
        app_commands.Command(
            name=BASELINE, description="Benchmark baseline: answers at once", callback=baseline_command
        )
    )
    return bot


def quiet_logs() -> None:
    """Thousands of commands would log a line each; only errors matter here."""
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    for name in ("bot", "cogs", "discord", "apscheduler", "simcord", "aiosqlite"):
        logging.getLogger(name).setLevel(logging.ERROR)


class LatencyProbe:
    """Times interactions from dispatch to the bot's first callback request."""

    def __init__(self, env: Any) -> None:
        self._dispatched: dict[int, int] = {}
        self._answered: dict[int, int] = {}
        self._answer = asyncio.Event()
        self._unregister = env._register_dispatch_observer(self._on_dispatch)
        self._env = env
        self._settle = env._settle_internal
        env._settle_internal = self._settle_after_answer
        # Full garbage collections (start, end): each walks the whole heap, SimCord's model of Discord included, and
        # one landing inside a timed command is told apart in the report (it is not the command's own work).
        self.collections: list[tuple[int, int]] = []
        self._collecting = 0
        gc.callbacks.append(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._collecting = time.perf_counter_ns()
        else:
            self.collections.append((self._collecting, time.perf_counter_ns()))

    def _on_dispatch(self, record: Any) -> None:
        self._answer.clear()
        self._dispatched[int(record.id)] = time.perf_counter_ns()

    def on_request(self, path: str) -> None:
        match = CALLBACK_PATH.match(path)
        if match is None:
            return
        interaction_id = int(match.group(1))
        if interaction_id in self._dispatched and interaction_id not in self._answered:
            self._answered[interaction_id] = time.perf_counter_ns()
            self._answer.set()

    async def _settle_after_answer(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("dispatch") == "INTERACTION_CREATE" and not self._answer.is_set():
            waiting = asyncio.ensure_future(self._answer.wait())
            await asyncio.wait({waiting}, timeout=ANSWER_TIMEOUT)
            waiting.cancel()
        return await self._settle(*args, **kwargs)

    def reset(self) -> None:
        self._dispatched.clear()
        self._answered.clear()
        self.collections.clear()

    def latency_ms(self, what: str) -> float:
        """The one interaction dispatched since reset(): its latency in milliseconds."""
        if len(self._dispatched) != 1:
            raise BenchError(f"{what}: expected one interaction, SimCord dispatched {len(self._dispatched)}")
        ((interaction_id, started),) = self._dispatched.items()
        answered = self._answered.get(interaction_id)
        if answered is None:
            raise BenchError(f"{what}: the bot never answered the interaction")
        return (answered - started) / 1e6

    def collected_ms(self) -> float:
        """Of the one interaction since reset(), the time full garbage collections took before it was answered."""
        ((interaction_id, started),) = self._dispatched.items()
        answered = self._answered.get(interaction_id, started)
        overlap = sum(max(0, min(end, answered) - max(begin, started)) for begin, end in self.collections)
        return overlap / 1e6

    def close(self) -> None:
        self._unregister()
        self._env._settle_internal = self._settle
        gc.callbacks.remove(self._on_collection)


@contextmanager
def probing_requests(probe: LatencyProbe) -> Iterator[None]:
    """Route every REST call the bot makes past the probe first (both HTTP transports use this router)."""
    original = router.dispatch

    def dispatch(backend: Any, method: str, path: str, **kwargs: Any) -> Any:
        probe.on_request(path)
        return original(backend, method, path, **kwargs)

    router.dispatch = dispatch
    try:
        yield
    finally:
        router.dispatch = original


@dataclass
class Running:
    env: Any
    bot: NexusBot
    probe: LatencyProbe
    samples: dict[str, list[float]] = field(default_factory=dict)
    collected: dict[str, list[float]] = field(default_factory=dict)  # per sample: full garbage collections, ms

    async def measure(
        self, label: str, action: Callable[[], Awaitable[Any]], *, settle_timeout: float = SETTLE_TIMEOUT
    ) -> Any:
        """Run one actor call and record its bot-side latency under `label`."""
        self.probe.reset()
        self.env.settle_timeout = settle_timeout
        try:
            result = await action()
        finally:
            self.env.settle_timeout = SETTLE_TIMEOUT
        self.samples.setdefault(label, []).append(self.probe.latency_ms(label))
        self.collected.setdefault(label, []).append(self.probe.collected_ms())
        return result

    async def tick(self) -> None:
        await self.env.advance_time(TICK_SECONDS)

    def forget_transcript(self) -> None:
        # SimCord keeps a copy of every request for assertions; a benchmark makes tens of thousands.
        self.env.backend.http_requests.clear()
        self.env.backend.transcript.clear()

    def errors(self) -> list[BaseException]:
        return list(self.env.errors)


@asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[Running]:
    """The bot (with the baseline command) started under SimCord; the database is closed on the way out."""
    bot = build_bot(settings)
    try:
        with scheduler_follows_virtual_clock():
            async with simcord.run(bot, check_errors=False, settle_timeout=SETTLE_TIMEOUT) as env:
                probe = LatencyProbe(env)
                try:
                    with probing_requests(probe):
                        yield Running(env, bot, probe)
                finally:
                    probe.close()
    finally:
        bot.scheduler.shutdown()
        await bot.db.close()
