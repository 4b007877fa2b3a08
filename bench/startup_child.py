"""`python -m bench.startup_child --db PATH [--bare]`: start the bot under SimCord, print `ready`, then `settled`, stop.

`ready` is printed when discord.py dispatches READY: from then on the bot answers commands. `settled` is printed
once SimCord's start returns, which waits until every task the bot started is done or asleep: at 50,000 learners
that includes the catch-up check-in pass over 10,000 teams, whole-cohort work that runs in the background, page by
page, while commands are answered (section 3 times it). Imports only what the bot itself imports (or, with
--bare, only discord.py and SimCord), so the start-up measured is the bot's own.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import discord
import simcord
from discord.ext import commands

READY = "ready"
SETTLED = "settled"
CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"


def say_when_ready(bot: commands.Bot) -> None:
    async def on_ready() -> None:
        print(READY, flush=True)

    bot.add_listener(on_ready, "on_ready")


async def start_bare() -> None:
    client = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    say_when_ready(client)
    async with simcord.run(client):
        print(SETTLED, flush=True)


async def start_nexus(db_path: Path) -> None:
    from bot.app import create_bot
    from bot.playground import scheduler_follows_virtual_clock
    from bot.settings import Settings

    # Production settings: sync commands only when their definitions changed.
    settings = Settings(
        db_path=db_path,
        content_dir=CONTENT_DIR,
        heartbeat_path=db_path.parent / "heartbeat",
        sync_commands="auto",
        log_level="ERROR",
    )
    bot = create_bot(settings)
    say_when_ready(bot)
    try:
        with scheduler_follows_virtual_clock():
            async with simcord.run(bot, check_errors=False):
                print(SETTLED, flush=True)
    finally:
        bot.scheduler.shutdown()
        await bot.db.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup_child")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--bare", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(start_bare() if args.bare else start_nexus(args.db))
    return 0


if __name__ == "__main__":
    sys.exit(main())
