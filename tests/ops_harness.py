"""The real bot under SimCord on an on-disk database, until SIGTERM: driven by the graceful-shutdown test.

Usage: python -m tests.ops_harness DB_PATH HEARTBEAT_PATH. Prints READY once a command has run, SLOW-STARTED when a
deliberately slow command is in flight, then waits for a signal and shuts down the way production does.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import discord
import simcord

from bot import Settings, create_bot
from bot.health import run_until_signalled
from bot.playground import scheduler_follows_virtual_clock
from tests.conftest import CONTENT_DIR, build_world

SLOW_SECONDS = 1.5


async def main(db_path: Path, heartbeat_path: Path) -> int:
    settings = Settings(
        db_path=db_path,
        content_dir=CONTENT_DIR,
        heartbeat_path=heartbeat_path,
        dm_pace_seconds=0.0,
        command_cooldown_seconds=0.0,
    )
    bot = create_bot(settings)

    @bot.tree.command(name="slow", description="Harness: a command still running when SIGTERM arrives")
    async def slow(interaction: discord.Interaction) -> None:
        print("SLOW-STARTED", flush=True)
        await asyncio.sleep(SLOW_SECONDS)
        await bot.admin_store.set_meta("harness_slow", "finished")
        await interaction.response.send_message("done", ephemeral=True)

    with scheduler_follows_virtual_clock():
        async with simcord.run(bot, check_errors=False) as env:
            world = await build_world(env)
            print("READY", flush=True)
            in_flight = asyncio.ensure_future(world.learners[0].slash(world.channel, "slow"))
            await run_until_signalled(asyncio.Event().wait(), bot.shutdown_gracefully)
            await asyncio.gather(in_flight, return_exceptions=True)
            print(f"CLOSED db_open={bot.db.is_open}", flush=True)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    sys.exit(asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]))))
