"""Discord surface for operations: /nexus stats, the heartbeat file while connected, the hourly stats log line."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.admin import WEEK_ONE_DAYS, GuildConfig
from bot.charts import CHART_FILENAME, stats_chart
from bot.health import keep_heartbeat, remove_heartbeat, write_heartbeat
from bot.ops import (
    RuntimeStats,
    StatsReport,
    chart_description,
    format_count,
    format_duration,
    format_latency,
    funnel_line,
    has_missing_features,
    plural,
    project_lines,
    stats_log_line,
    week_one_line,
    week_one_per_day,
    with_project_names,
)
from bot.projects import Catalogue, display_name
from bot.storage.db import Database
from bot.storage.ops import OpsStore
from bot.timezones import to_tzinfo
from cogs.common import (
    Interaction,
    NexusBot,
    cohort_autocomplete,
    cohort_config,
    cohort_id_of,
    ensure_staff,
    guild_of,
    staff_command,
    staff_scope,
)

log = logging.getLogger(__name__)

STATS_LOG_JOB = "ops:stats-log"
STATS_LOG_SECONDS = 3600.0


def format_stats(report: StatsReport, runtime: RuntimeStats) -> discord.Embed:
    stats = report.stats
    frontend, backend = stats.track_totals()
    embed = discord.Embed(title="Nexus stats for this server", colour=discord.Colour.blurple())
    embed.add_field(
        name="Learners",
        value=f"{plural(stats.learners, 'learner')} known · {stats.announced} announced "
        f"({frontend} frontend, {backend} backend)",
        inline=False,
    )
    embed.add_field(name="Week one", value=week_one_line(report.week_one, stats.learners), inline=False)
    embed.add_field(name="Announcements by project and track", value=project_lines(stats.projects), inline=False)
    embed.add_field(
        name="Matching",
        value=(
            f"{stats.waiting} waiting · {plural(stats.pending_proposals, 'proposal')} pending · "
            f"{stats.paired} paired in {plural(stats.teams, 'team')}\nFunnel: {funnel_line(report.funnel)}"
        ),
        inline=False,
    )
    embed.add_field(
        name="Reminders",
        value=f"{format_count(stats.reminders_sent)} sent · {format_count(stats.reminders_failed)} failed",
        inline=True,
    )
    embed.add_field(
        name="Knowledge base",
        value=(
            f"{plural(stats.knowledge_lookups, 'look-up')} · "
            f"{plural(stats.knowledge_misses, 'search', 'searches')} with no hit"
        ),
        inline=True,
    )
    embed.add_field(
        name="Bot",
        value=f"up {format_duration(runtime.uptime_seconds)} · latency {format_latency(runtime.latency_seconds)}",
        inline=True,
    )
    embed.set_image(url=f"attachment://{CHART_FILENAME}")
    footer = "The same numbers are logged every hour; the chart draws them."
    if has_missing_features(stats):
        footer = "n/a: that feature is not deployed yet. " + footer
    embed.set_footer(text=footer)
    return embed


def chart_file(report: StatsReport, png: bytes) -> discord.File:
    """The chart as an attachment whose alt text states the numbers it draws."""
    return discord.File(io.BytesIO(png), filename=CHART_FILENAME, description=chart_description(report))


class StaffCharts:
    """The numbers staff see and their chart, read once per picture: /nexus stats and the week-one staff summary."""

    def __init__(self, db: Database, catalogue: Catalogue) -> None:
        self.store = OpsStore(db)
        self.project_names = {project.key: display_name(project.key, catalogue) for project in catalogue.projects}

    async def report(self, guild_id: int, config: GuildConfig | None, cohort_id: int | None = None) -> StatsReport:
        """Every number the picture and its text show; both are formatted from this one object.

        Of one cohort, if given: `config` is then the server's configuration as that cohort sees it (its start date
        and timezone decide its week one).
        """
        stats = with_project_names(await self.store.guild_stats(guild_id, cohort_id=cohort_id), self.project_names)
        if config is None:
            return StatsReport(stats=stats, week_one=None)
        announced = await self.store.announced_since(guild_id, config.cohort_start_utc(), cohort_id=cohort_id)
        week = week_one_per_day(announced, config.cohort_start, to_tzinfo(config.timezone), WEEK_ONE_DAYS)
        return StatsReport(stats=stats, week_one=week)

    async def chart(self, report: StatsReport) -> discord.File:
        # Drawing is CPU work of a few hundred milliseconds: off the event loop, and once per set of numbers
        # (stats_chart keeps what it drew); each staff member gets a file of their own (a file is sent only once).
        return chart_file(report, await asyncio.to_thread(stats_chart, report))


class OpsCog(commands.Cog):
    def __init__(self, bot: NexusBot, catalogue: Catalogue) -> None:
        self.bot = bot
        self.store = OpsStore(bot.db)
        self.charts = StaffCharts(bot.db, catalogue)
        # True between READY/RESUMED and a disconnect: the heartbeat claims "connected", so it must be true.
        self.connected = False
        self.heartbeat_task: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.nexus_group.add_command(
            app_commands.Command(
                name="stats",
                description="Staff: learners, announcements, matching, reminders, look-ups, uptime and latency",
                callback=self.stats_command,
                extras=staff_command(),
            )
        )
        # Started here (during setup_hook), never in on_ready, which fires again after every reconnect.
        self.heartbeat_task = asyncio.create_task(
            keep_heartbeat(self.bot.settings.heartbeat_path, is_live=self.is_live, now=self.bot.now),
            name="nexus-heartbeat",
        )
        self.arm_stats_log()

    async def cog_unload(self) -> None:
        self.connected = False
        if self.heartbeat_task is not None:
            self.heartbeat_task.cancel()
        self.bot.scheduler.cancel(STATS_LOG_JOB)
        # A bot that shut down cleanly reads as down at once, not two minutes later.
        remove_heartbeat(self.bot.settings.heartbeat_path)

    def is_live(self) -> bool:
        return self.connected and not self.bot.is_closed()

    def set_connected(self, connected: bool) -> None:
        self.connected = connected
        if self.is_live():
            try:
                write_heartbeat(self.bot.settings.heartbeat_path, self.bot.now())
            except OSError as error:
                log.error("cannot write heartbeat %s: %s", self.bot.settings.heartbeat_path, error)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.set_connected(True)

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        self.set_connected(True)

    @commands.Cog.listener()
    async def on_disconnect(self) -> None:
        self.set_connected(False)

    def runtime(self) -> RuntimeStats:
        # discord.py reports NaN or infinity before the first gateway heartbeat; format_latency shows "n/a".
        return RuntimeStats(
            uptime_seconds=time.monotonic() - self.bot.started_monotonic, latency_seconds=self.bot.latency
        )

    @app_commands.describe(cohort="Which cohort (default: this channel's, or the only open one)")
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.check(ensure_staff)
    async def stats_command(
        self, interaction: Interaction, cohort: app_commands.Range[str, 1, 200] | None = None
    ) -> None:
        guild_id = guild_of(interaction).id
        scope = await staff_scope(interaction, cohort)
        # Drawing takes a moment (and the first chart loads matplotlib): answer within Discord's 3 s first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        config = cohort_config(await self.bot.admin_store.get_config(guild_id), scope)
        report = await self.charts.report(guild_id, config, cohort_id_of(scope))
        chart = await self.charts.chart(report)
        await interaction.followup.send(embed=format_stats(report, self.runtime()), file=chart, ephemeral=True)

    def arm_stats_log(self) -> None:
        # A one-shot job re-armed from the bot's clock rather than an interval job: APScheduler's interval trigger
        # reads the system clock itself, which would put the first run in the wrong place under a simulated clock.
        when = self.bot.now() + timedelta(seconds=STATS_LOG_SECONDS)
        self.bot.scheduler.schedule_at(STATS_LOG_JOB, when, self.log_stats)

    async def log_stats(self) -> None:
        """The hourly `stats key=value …` line per configured guild, for log search and alerting."""
        if self.bot.is_closed() or not self.bot.db.is_open:
            return
        try:
            # Each line costs a few queries per guild: skip them when the line would be dropped anyway.
            if not log.isEnabledFor(logging.INFO):
                return
            runtime = self.runtime()
            for guild_id in await self.store.configured_guilds():
                stats = await self.store.guild_stats(guild_id)
                log.info("stats %s", stats_log_line(stats, runtime))
        finally:
            self.arm_stats_log()


async def setup(bot: NexusBot) -> None:
    catalogue = bot.project_catalogue()
    await bot.add_cog(OpsCog(bot, catalogue))
