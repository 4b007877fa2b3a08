"""Process health: the heartbeat file kept fresh while connected, the healthcheck verdict, signal-driven shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_SECONDS = 30.0
DEFAULT_MAX_AGE_SECONDS = 120.0
# Upper bound of the back-off used only when the loop clock runs ahead of the wall clock (see next_pause).
MAX_PAUSE_SECONDS = 86400.0
SHUTDOWN_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class HealthVerdict:
    healthy: bool
    reason: str


def write_heartbeat(path: Path, now: datetime) -> None:
    """Replace the heartbeat atomically, so a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(f"{now.isoformat()}\n", encoding="utf-8")
    os.replace(partial, path)


def remove_heartbeat(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def check_heartbeat(path: Path, *, max_age: float, wall_now: float) -> HealthVerdict:
    """Judge freshness by the file's modification time: the wall clock of this machine, whatever the bot's clock."""
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return HealthVerdict(False, f"unhealthy: no heartbeat file at {path} (the bot is not running or not connected)")
    except OSError as error:
        return HealthVerdict(False, f"unhealthy: cannot read {path}: {error.strerror or error}")
    age = max(0.0, wall_now - modified)
    if age > max_age:
        return HealthVerdict(
            False,
            f"unhealthy: heartbeat {path} is {age:.0f} s old (limit {max_age:.0f} s): "
            "the bot is disconnected, stuck or stopped",
        )
    return HealthVerdict(True, f"healthy: heartbeat {age:.0f} s old (limit {max_age:.0f} s)")


def next_pause(previous: float, interval: float, wall_elapsed: float) -> float:
    """How long the heartbeat loop sleeps next.

    In production the loop clock is the wall clock, a pause of `interval` takes `interval` seconds and this always
    returns `interval`. Under a simulated clock that jumps through days (the test suite), a pause ends almost at
    once in wall time; the heartbeat then backs off, so a simulated week costs about twenty wake-ups instead of
    twenty thousand. The heartbeat is about wall-clock liveness, so nothing is lost.
    """
    if wall_elapsed >= previous / 2:
        return interval
    return min(previous * 2, max(MAX_PAUSE_SECONDS, interval))


async def keep_heartbeat(
    path: Path,
    *,
    is_live: Callable[[], bool],
    now: Callable[[], datetime],
    interval: float = HEARTBEAT_INTERVAL_SECONDS,
) -> None:
    """Rewrite the heartbeat every `interval` seconds while `is_live()`; sleeps on a timer between beats."""
    pause = interval
    failing = False
    while True:
        if is_live():
            try:
                write_heartbeat(path, now())
            except OSError as error:
                # Logged once per outage: a full disk would otherwise log every 30 s.
                if not failing:
                    log.error("cannot write heartbeat %s: %s", path, error)
                failing = True
            else:
                failing = False
        started = time.perf_counter()
        await asyncio.sleep(pause)
        pause = next_pause(pause, interval, time.perf_counter() - started)


async def run_until_signalled(
    work: Awaitable[Any],
    shutdown: Callable[[], Awaitable[None]],
    *,
    signals: Iterable[signal.Signals] = SHUTDOWN_SIGNALS,
) -> signal.Signals | None:
    """Run `work` until it ends or one of `signals` arrives, then await `shutdown()` once.

    Returns the signal that stopped it, or None when `work` ended by itself. An exception from `work` propagates
    after `shutdown()` ran. Used by the Discord run path, the playground and the shutdown test harness alike.
    """
    loop = asyncio.get_running_loop()
    received: list[signal.Signals] = []
    stop = asyncio.Event()

    def on_signal(signum: signal.Signals) -> None:
        if received:
            log.warning("%s received again; still shutting down", signum.name)
            return
        received.append(signum)
        stop.set()

    installed = list(signals)
    for signum in installed:
        loop.add_signal_handler(signum, on_signal, signum)
    work_task = asyncio.ensure_future(work)
    stop_task = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        if received:
            log.info("%s received: shutting down", received[0].name)
        await shutdown()
        if not work_task.done():
            # shutdown() normally ends the work (closing the bot ends bot.start()); don't wait forever if not.
            work_task.cancel()
        results = await asyncio.gather(work_task, return_exceptions=True)
        failure = results[0]
        if isinstance(failure, BaseException) and not isinstance(failure, asyncio.CancelledError):
            raise failure
    finally:
        stop_task.cancel()
        for signum in installed:
            loop.remove_signal_handler(signum)
    return received[0] if received else None
