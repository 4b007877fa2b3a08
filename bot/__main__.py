"""`python -m bot` / `nexus-bot`: run against Discord with a token, or the local playground without one."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import discord

from bot.app import create_bot
from bot.content import check_content
from bot.health import DEFAULT_MAX_AGE_SECONDS, check_heartbeat, run_until_signalled
from bot.settings import Settings, SettingsError
from bot.storage.ops import BackupError, backup_database

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
    playground.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: settings; 0 = any)")
    health = sub.add_parser("healthcheck", help="exit 0 if the running bot's heartbeat is fresh, 1 if not")
    health.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE_SECONDS, help="seconds (default 120)")
    backup = sub.add_parser("backup", help="copy the database to PATH safely while the bot runs")
    backup.add_argument("path", type=Path, help="where to write the backup file")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")
    check = sub.add_parser("check-content", help="validate content/ (knowledge base) without starting the bot")
    check.add_argument("--content-dir", type=Path, default=None, help="the content folder (default: settings)")
    return parser


def log_configuration(settings: Settings) -> None:
    shown = " ".join(f"{name}={value}" for name, value in settings.describe().items())
    log.info("effective configuration: %s", shown)


def run(settings: Settings) -> int:
    if settings.discord_token:
        log_configuration(settings)
        return asyncio.run(run_discord(settings, settings.discord_token))
    print("No DISCORD_TOKEN found (environment or .env): starting the local playground instead.", flush=True)
    return run_playground(settings)


async def run_discord(settings: Settings, token: str) -> int:
    """Serve Discord until SIGTERM/SIGINT, then shut down gracefully (finish commands, close the database)."""
    bot = create_bot(settings)
    try:
        await run_until_signalled(bot.start(token), bot.shutdown_gracefully)
    except discord.LoginFailure:
        print("Discord rejected DISCORD_TOKEN: copy the bot token again from the Developer Portal.", file=sys.stderr)
        return 1
    except discord.PrivilegedIntentsRequired:
        print("Enable the Server Members Intent for the bot in the Developer Portal (Bot page).", file=sys.stderr)
        return 1
    return 0


def run_playground(settings: Settings, port: int | None = None) -> int:
    from bot.playground import PlaygroundUnavailable, playground_settings, serve

    log_configuration(playground_settings(settings))
    try:
        asyncio.run(serve(settings, port=settings.playground_port if port is None else port))
    except PlaygroundUnavailable as error:
        print(f"Cannot start the playground: {error}", file=sys.stderr)
        return 1
    print("Playground stopped.", flush=True)
    return 0


def healthcheck(settings: Settings, max_age: float) -> int:
    verdict = check_heartbeat(settings.heartbeat_path, max_age=max_age, wall_now=time.time())
    print(verdict.reason)
    return 0 if verdict.healthy else 1


def backup(settings: Settings, target: Path, *, force: bool) -> int:
    try:
        report = backup_database(settings.db_path, target, overwrite=force)
    except BackupError as error:
        print(f"Backup failed: {error}", file=sys.stderr)
        return 1
    print(
        f"Backed up {report.source} to {report.target} "
        f"(schema v{report.schema_version}, {report.size_bytes} bytes, integrity ok)."
    )
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
    if args.command == "healthcheck":
        return healthcheck(settings, args.max_age)
    if args.command == "backup":
        return backup(settings, args.path, force=args.force)
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
