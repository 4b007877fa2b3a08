"""NexusBot and create_bot(): wiring of settings, database, scheduler and cogs; the tree-level error handler."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cooldowns import wait_text
from bot.errors import UserError
from bot.projects import Catalogue
from bot.projects_content import PROJECTS_FILE, load_projects
from bot.scheduler import NexusScheduler
from bot.settings import Settings
from bot.storage.admin import AdminStore
from bot.storage.cohorts import CohortStore
from bot.storage.db import Database

log = logging.getLogger(__name__)

# Each feature's Discord surface. A cog's setup() builds its stores from the bot's shared Database.
EXTENSIONS: tuple[str, ...] = (
    "cogs.admin",
    "cogs.cohorts",
    "cogs.projects",
    "cogs.knowledge",
    "cogs.matching",
    "cogs.reminders",
    "cogs.ops",
)

COMMANDS_HASH_KEY = "commands_hash"
GENERIC_APOLOGY = "Sorry, something went wrong on my side. It has been logged; please try again in a moment."
RESTARTING = "Nexus is restarting right now, so nothing was done. Please try again in a minute."
BOTS_REFUSED = "Nexus is for people: bot accounts cannot use its commands."
SHUTDOWN_GRACE_SECONDS = 10.0
STARTED_AT = "nexus_started_at"


@functools.cache  # reading the installed metadata takes milliseconds, at every start of a bot
def package_version() -> str:
    try:
        return version("nexus-bot")
    except PackageNotFoundError:
        return "0+unknown"


class NexusTree(app_commands.CommandTree["NexusBot"]):
    async def interaction_check(self, interaction: discord.Interaction[NexusBot], /) -> bool:
        """Every slash command and autocomplete passes here first: none while shutting down; time the rest."""
        bot = self.client
        is_command = interaction.type is discord.InteractionType.application_command
        if bot.draining:
            if is_command:
                await send_private(interaction, RESTARTING)
            return False
        if interaction.user.bot:
            # Discord does not let bots run slash commands; if one ever does, it gets nothing done.
            if is_command:
                await send_private(interaction, BOTS_REFUSED)
            return False
        if is_command:
            interaction.extras[STARTED_AT] = time.monotonic()
            # This task runs the whole command (checks, callback, error handler): shutdown waits for it.
            task = asyncio.current_task()
            if task is not None:
                bot.in_flight.add(task)
                task.add_done_callback(bot.in_flight.discard)
        return True

    async def on_error(self, interaction: discord.Interaction[NexusBot], error: app_commands.AppCommandError) -> None:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        log_command(interaction, f"error:{type(original).__name__}")
        # A UserError is an answer, not a failure: its message is written for the person who asked. (The staff
        # check raises one too: cogs.common.StaffOnly is both a CheckFailure and a UserError.)
        if isinstance(original, UserError):
            await send_private(interaction, str(original))
            return
        if isinstance(original, app_commands.CommandOnCooldown):
            await send_private(interaction, wait_text(original.retry_after))
            return
        if isinstance(original, discord.HTTPException):
            # Discord refused one of our calls (often the answer itself): an outage, not a bug in Nexus.
            command = interaction.command.qualified_name if interaction.command else "?"
            log.warning(
                "discord refused a call guild=%s command=%s status=%s code=%s: %s",
                interaction.guild_id,
                command,
                original.status,
                original.code,
                original.text,
            )
            await send_private(interaction, discord_refused(original))
            return
        if isinstance(original, app_commands.NoPrivateMessage):
            await send_private(interaction, "You need to use this in a server channel, not in DMs.")
            return
        if isinstance(original, app_commands.MissingPermissions):
            needed = ", ".join(p.replace("_", " ").title() for p in original.missing_permissions)
            await send_private(interaction, f"You need the {needed} permission to use this.")
            return
        if isinstance(original, app_commands.CheckFailure):
            await send_private(interaction, "You need more permissions to use this.")
            return
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error("command failed guild=%s command=%s", interaction.guild_id, command, exc_info=original)
        await send_private(interaction, GENERIC_APOLOGY)


def discord_refused(error: discord.HTTPException) -> str:
    return (
        f"Discord did not accept part of my answer (error {error.status}), so you may not have seen all of it. "
        "What you asked may still have gone through: check with `/me` or `/match status` before trying again."
    )


def log_command(interaction: discord.Interaction[Any], outcome: str) -> None:
    """One structured line per command: guild, command, outcome, duration; never who or what they typed."""
    started = interaction.extras.get(STARTED_AT)
    duration_ms = (time.monotonic() - started) * 1000 if isinstance(started, float) else -1.0
    command = interaction.command.qualified_name if interaction.command else "?"
    log.info(
        "command guild=%s command=%s outcome=%s duration_ms=%.0f", interaction.guild_id, command, outcome, duration_ms
    )


async def send_private(interaction: discord.Interaction[Any], content: str) -> None:
    """Answer privately whether or not the interaction was already acknowledged."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content[:2000], ephemeral=True)
        else:
            await interaction.response.send_message(content[:2000], ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver an error reply guild=%s", interaction.guild_id, exc_info=True)


class NexusBot(commands.Bot):
    """The bot with its dependencies attached; cogs receive these through setup(bot)."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        # Privileged: learner-role membership decides reminder audiences, and leaving removes people from matching.
        intents.members = True
        intents.dm_messages = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=NexusTree,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.settings = settings
        self._catalogue: Catalogue | None = None
        self.clock: Callable[[], datetime] = clock or discord.utils.utcnow
        self.db = Database(settings.db_path)
        self.admin_store = AdminStore(self.db)
        self.cohort_store = CohortStore(self.db)
        self.scheduler = NexusScheduler()
        self.started_monotonic = time.monotonic()
        self.ready_once = False
        # Set by shutdown_gracefully(): new commands get a "restarting" answer; in_flight are the running ones.
        self.draining = False
        self.in_flight: set[asyncio.Task[Any]] = set()
        # Staff subcommands from several cogs live under one /nexus group; each cog adds its own in cog_load.
        self.nexus_group = app_commands.Group(
            name="nexus",
            description="Staff: set up and run Nexus in this server",
            guild_only=True,
            default_permissions=discord.Permissions(manage_guild=True),
            extras={"staff": True},
        )

    def now(self) -> datetime:
        return self.clock()

    def project_catalogue(self) -> Catalogue:
        """content/projects.yaml, read once per bot: four cogs share it (a restart builds a new bot, and reads it)."""
        if self._catalogue is None:
            self._catalogue = load_projects(self.settings.content_dir / PROJECTS_FILE)
        return self._catalogue

    async def setup_hook(self) -> None:
        schema = await self.db.connect()
        self.scheduler.start()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.tree.add_command(self.nexus_group, override=True)
        await self.sync_commands()
        log.info(
            "Nexus %s starting: database %s at schema v%d; %d commands",
            package_version(),
            self.settings.db_path,
            schema,
            len(list(self.tree.walk_commands())),
        )

    async def sync_commands(self) -> None:
        """Sync only when definitions changed (Discord rate-limits registration); a dev guild syncs instantly."""
        mode = self.settings.sync_commands
        if mode == "never":
            return
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands()]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
        guild_id = self.settings.dev_guild_id
        key = f"{COMMANDS_HASH_KEY}:{guild_id or 'global'}"
        if mode == "auto" and await self.admin_store.get_meta(key) == digest:
            log.info("application commands unchanged; not syncing")
            return
        try:
            if guild_id is not None:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
            else:
                await self.tree.sync()
        except discord.HTTPException as error:
            # Discord keeps the last synced definitions, so the bot still works; the next start tries again.
            log.error("could not sync application commands (status=%s code=%s); continuing", error.status, error.code)
            return
        await self.admin_store.set_meta(key, digest)
        log.info("application commands synced (%s)", f"guild {guild_id}" if guild_id else "global")

    async def on_ready(self) -> None:
        # on_ready fires again after every reconnect: it must never start work, only log.
        if not self.ready_once:
            self.ready_once = True
            log.info("ready as %s in %d guilds", self.user, len(self.guilds))
        else:
            log.info("reconnected; %d guilds", len(self.guilds))

    async def on_app_command_completion(
        self, interaction: discord.Interaction[NexusBot], command: app_commands.Command[Any, ..., Any]
    ) -> None:
        log_command(interaction, "ok")

    async def drain(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> int:
        """Refuse new commands, wait at most `grace` s for the running ones; returns how many are still running."""
        self.draining = True
        current = asyncio.current_task()
        running = {task for task in self.in_flight if task is not current and not task.done()}
        if not running:
            return 0
        log.info("shutdown: waiting up to %.0f s for %d command(s) in flight", grace, len(running))
        _, unfinished = await asyncio.wait(running, timeout=grace)
        if unfinished:
            log.warning("shutdown: %d command(s) still running after %.0f s; closing", len(unfinished), grace)
        return len(unfinished)

    async def shutdown_gracefully(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """SIGTERM: drain commands, then close() stops the scheduler, the gateway and HTTP, and the database."""
        await self.drain(grace)
        await self.close()
        log.info("shutdown complete; database closed")

    async def close(self) -> None:
        self.scheduler.shutdown()
        await super().close()
        await self.db.close()


def create_bot(settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None) -> NexusBot:
    """Build the bot with its stores and scheduler; nothing touches the network or disk until it starts."""
    return NexusBot(settings or Settings(), clock=clock)
