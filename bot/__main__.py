"""`python -m bot` / `nexus-bot`: run against Discord with a token, or the local playground without one."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import create_bot
from bot.content import check_content
from bot.settings import Settings, SettingsError

log = logging.getLogger("bot")


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # discord.py's gateway chatter at INFO is noise for operators.
    logging.getLogger("discord").setLevel(max(logging.getLevelName(level), logging.WARNING))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nexus-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the bot (the default)")
    playground = sub.add_parser("playground", help="start the local simulated Discord even if a token is set")
    playground.add_argument("--port", type=int, default=None)
    check = sub.add_parser("check-content", help="validate content/ (knowledge base) without starting the bot")
    check.add_argument("--content-dir", type=Path, default=None, help="the content folder (default: settings)")
    return parser


def run(settings: Settings) -> int:
    if settings.discord_token:
        log.info("effective configuration: %s", settings.describe())
        bot = create_bot(settings)
        bot.run(settings.discord_token, log_handler=None)
        return 0
    print("No DISCORD_TOKEN found (environment or .env): starting the local playground instead.", flush=True)
    return run_playground(settings)


def run_playground(settings: Settings, port: int | None = None) -> int:
    from bot.playground import serve

    try:
        asyncio.run(serve(settings, port=port or settings.playground_port))
    except KeyboardInterrupt:
        print("Playground stopped.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"Invalid setting: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "check-content":
        return check_content(args.content_dir or settings.content_dir, sys.stdout, sys.stderr)
    if args.command == "playground":
        return run_playground(settings, args.port)
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
