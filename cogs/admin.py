"""Discord surface for admin: /nexus setup, /nexus config and /help."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.admin import GuildConfig, parse_cohort_start
from bot.errors import InvalidInput
from bot.timezones import normalise_timezone, suggest_timezones
from cogs.common import Interaction, NexusBot, clip, ensure_staff, guild_of, staff_command

log = logging.getLogger(__name__)

REQUIRED_CHANNEL_PERMISSIONS = ("view_channel", "send_messages", "embed_links")


async def timezone_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=name, value=name) for name in suggest_timezones(current)]


def format_config(config: GuildConfig) -> discord.Embed:
    embed = discord.Embed(title="Nexus configuration", colour=discord.Colour.blurple())
    embed.add_field(name="Channel", value=f"<#{config.channel_id}>", inline=True)
    embed.add_field(name="Cohort start", value=config.cohort_start.isoformat(), inline=True)
    embed.add_field(name="Timezone", value=config.timezone, inline=True)
    embed.add_field(
        name="Learner role",
        value=f"<@&{config.learner_role_id}>" if config.learner_role_id else "everyone who is not staff",
        inline=True,
    )
    embed.add_field(
        name="Staff role",
        value=f"<@&{config.staff_role_id}>" if config.staff_role_id else "Manage Server only",
        inline=True,
    )
    embed.add_field(
        name="Staff channel",
        value=f"<#{config.staff_channel_id}>" if config.staff_channel_id else "none (staff summaries by DM)",
        inline=True,
    )
    # Discord renders <t:…> timestamps in fields and descriptions, not in footers.
    ends = config.week_one_ends_utc()
    embed.add_field(
        name="Week one ends",
        value=f"{discord.utils.format_dt(ends, 'F')} ({discord.utils.format_dt(ends, 'R')}; {config.timezone})",
        inline=False,
    )
    return embed


def channel_problems(guild: discord.Guild, config: GuildConfig) -> list[str]:
    """What broke since /nexus setup: a configured channel deleted, or the bot no longer allowed to post there."""
    problems: list[str] = []
    for label, channel_id in (("announcement channel", config.channel_id), ("staff channel", config.staff_channel_id)):
        if channel_id is None:
            continue
        channel = guild.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            problems.append(f"the configured {label} (<#{channel_id}>) no longer exists")
            continue
        permissions = channel.permissions_for(guild.me)
        missing = [name.replace("_", " ") for name in REQUIRED_CHANNEL_PERMISSIONS if not getattr(permissions, name)]
        if missing:
            problems.append(f"I can no longer post in the {label} {channel.mention} (missing {', '.join(missing)})")
    return problems


def format_channel_problems(problems: list[str]) -> str:
    return (
        "⚠️ Heads up: "
        + "; ".join(problems)
        + ". Run `/nexus setup` to pick a channel I can use. Nothing is lost: announcements that could not be posted "
        "are kept and posted once the channel works again."
    )


def is_staff_command(command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu) -> bool:
    parent = getattr(command, "parent", None)
    return bool(command.extras.get("staff") or (parent is not None and parent.extras.get("staff")))


def check_channel(channel: app_commands.AppCommandChannel | discord.abc.GuildChannel, me: discord.Member) -> None:
    if not isinstance(channel, discord.TextChannel):
        raise InvalidInput(f"{channel.mention} is not a text channel. Pick the text channel learners post in.")
    permissions = channel.permissions_for(me)
    missing = [name.replace("_", " ") for name in REQUIRED_CHANNEL_PERMISSIONS if not getattr(permissions, name)]
    if missing:
        raise InvalidInput(f"I cannot post in {channel.mention}: I am missing {', '.join(missing)} there.")


class AdminCog(commands.Cog):
    def __init__(self, bot: NexusBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        group = self.bot.nexus_group
        group.add_command(
            app_commands.Command(
                name="setup",
                description="Staff: set the channel, cohort start date and timezone (and roles) for this server",
                callback=self.setup_command,
                extras=staff_command(),
            )
        )
        group.add_command(
            app_commands.Command(
                name="config",
                description="Staff: show this server's Nexus configuration",
                callback=self.config_command,
                extras=staff_command(),
            )
        )

    @app_commands.describe(
        channel="The text channel learners use (e.g. #prodevprojectnexus)",
        cohort_start="The cohort's first day, YYYY-MM-DD",
        timezone="The cohort's timezone (IANA name like Africa/Lagos, or UTC+1)",
        learner_role="Role that marks learners (default: everyone who is not staff)",
        staff_role="Role allowed to run staff commands besides Manage Server",
        staff_channel="Where staff summaries go (default: DM to staff)",
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    @app_commands.check(ensure_staff)
    async def setup_command(
        self,
        interaction: Interaction,
        channel: discord.TextChannel,
        cohort_start: str,
        timezone: str,
        learner_role: discord.Role | None = None,
        staff_role: discord.Role | None = None,
        staff_channel: discord.TextChannel | None = None,
    ) -> None:
        guild = guild_of(interaction)
        me = guild.me
        check_channel(channel, me)
        if staff_channel is not None:
            check_channel(staff_channel, me)
        for role in (learner_role, staff_role):
            if role is not None and (role.is_default() or role.managed):
                raise InvalidInput(f"{role.mention} cannot be used here: pick a normal role.")
        config = GuildConfig(
            guild_id=guild.id,
            channel_id=channel.id,
            cohort_start=parse_cohort_start(cohort_start),
            timezone=normalise_timezone(timezone),
            learner_role_id=learner_role.id if learner_role else None,
            staff_role_id=staff_role.id if staff_role else None,
            staff_channel_id=staff_channel.id if staff_channel else None,
        )
        await self.bot.admin_store.save_config(config, updated_by=interaction.user.id, now=self.bot.now())
        # A single-cohort server keeps its cohort in step with setup; with several, each is edited on its own.
        synced = await self.bot.cohort_store.sync_setup(
            guild.id,
            channel_id=config.channel_id,
            start=config.cohort_start,
            timezone=config.timezone,
            learner_role_id=config.learner_role_id,
            by=interaction.user.id,
            now=self.bot.now(),
        )
        self.bot.dispatch("nexus_config_changed", config)
        log.info("guild configured guild=%s by=%s", config.guild_id, interaction.user.id)
        note = (
            ""
            if synced is not None
            else " This server runs several cohorts: their channels, dates and roles are changed with "
            "`/nexus cohort edit`."
        )
        await interaction.response.send_message(
            "Saved. Nexus is set up for this server." + note, embed=format_config(config), ephemeral=True
        )

    @app_commands.check(ensure_staff)
    async def config_command(self, interaction: Interaction) -> None:
        config = await self.bot.admin_store.get_config(guild_of(interaction).id)
        if config is None:
            await interaction.response.send_message(
                "Nexus is not set up here yet. Run `/nexus setup` with the channel, cohort start and timezone.",
                ephemeral=True,
            )
            return
        await interaction.response.send_message(embed=format_config(config), ephemeral=True)

    @commands.Cog.listener()
    async def on_app_command_completion(
        self, interaction: Interaction, command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu
    ) -> None:
        """After any staff command: say so if a configured channel was deleted (or closed to the bot) since setup."""
        if interaction.guild is None or not is_staff_command(command):
            return
        config = await self.bot.admin_store.get_config(interaction.guild.id)
        problems = channel_problems(interaction.guild, config) if config is not None else []
        if not problems:
            return
        log.warning("configured channel problem guild=%s: %s", interaction.guild.id, "; ".join(problems))
        try:
            await interaction.followup.send(clip(format_channel_problems(problems), 2000), ephemeral=True)
        except discord.HTTPException:
            log.warning("could not warn staff about the channel guild=%s", interaction.guild.id)

    @app_commands.command(name="help", description="What Nexus can do, and the commands to use")
    async def help_command(self, interaction: Interaction) -> None:
        await interaction.response.send_message(embed=format_help(self.bot.tree), ephemeral=True)


# /help sections by what people do, each command in the order someone would use it. A command not listed here
# (a new one) still shows up, under "More", so help never hides a command.
LEARNER_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Knowledge", ("topic", "search", "topics", "help")),
    ("Your project", ("announce", "projects", "project", "withdraw", "me", "forget-me")),
    ("Your partner", ("match find", "match status", "match leave", "match unpair")),
    ("Reminders", ("reminders off", "reminders on")),
)
STAFF_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Setup", ("nexus setup", "nexus config", "nexus reload")),
    (
        "Cohort",
        (
            "nexus cohort list",
            "nexus cohort create",
            "nexus cohort edit",
            "nexus cohort close",
            "nexus cohort move",
            "nexus stats",
            "nexus export",
            "nexus gaps",
        ),
    ),
    ("Matching", ("match board", "match pair", "match run")),
    (
        "Reminders",
        ("reminders schedule", "reminders preview", "reminders send", "reminders pause", "reminders resume"),
    ),
)


def format_help(tree: app_commands.CommandTree[NexusBot]) -> discord.Embed:
    lines: dict[str, str] = {}
    staff: set[str] = set()
    for command in tree.walk_commands():
        if isinstance(command, app_commands.Group):
            continue
        name = command.qualified_name
        lines[name] = f"`/{name}` — {command.description.removeprefix('Staff: ')}"
        if command.extras.get("staff") or (command.parent is not None and command.parent.extras.get("staff")):
            staff.add(name)
    embed = discord.Embed(
        title="Nexus — find your project partner and answers, fast",
        description=(
            "Week one: **announce** your project and track, then **find a partner** on the other track. "
            "Stuck on something technical? Look it up in the knowledge base."
        ),
        colour=discord.Colour.blurple(),
    )
    for audience, sections, members in (
        ("For learners", LEARNER_SECTIONS, set(lines) - staff),
        ("For staff", STAFF_SECTIONS, staff),
    ):
        listed = {name for _, names in sections for name in names}
        more = tuple(sorted(members - listed))
        for title, names in (*sections, ("More", more)):
            shown = [lines[name] for name in names if name in members]
            if shown:
                # Each section is a handful of one-line commands: far below the 1024-character field limit.
                embed.add_field(name=f"{audience} · {title}", value=clip("\n".join(shown), 1024), inline=False)
    return embed


async def setup(bot: NexusBot) -> None:
    await bot.add_cog(AdminCog(bot))
