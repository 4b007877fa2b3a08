"""Reminders' cog: /reminders commands for learners and staff; the runner in `_delivery` does the sending."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.admin import GuildConfig
from bot.cohorts import ensure_live
from bot.errors import NotFound
from bot.projects import ProjectNames
from bot.reminders import (
    AUDIENCE_LABELS,
    Reminder,
    Scheduled,
    audience_text,
    clip,
    plan_recipients,
    run_status,
    schedule_line,
)
from bot.storage.cohorts import CohortClosing
from bot.storage.reminders import RemindersStore
from cogs.common import (
    Interaction,
    NexusBot,
    cohort_autocomplete,
    cohort_config,
    cohort_id_of,
    ensure_staff,
    guild_of,
    require_config,
    staff_command,
    staff_scope,
)
from cogs.ops import StaffCharts
from cogs.reminders._delivery import ReminderRunner
from cogs.reminders._formatting import (
    format_opt_out,
    format_paused,
    format_preview_header,
    format_resumed,
    format_schedule,
)

log = logging.getLogger(__name__)

MAX_CHOICES = 25
COHORT_OPTION = "Which cohort (default: this channel's, or the only open one)"


class RemindersCog(commands.Cog):
    reminders = app_commands.Group(
        name="reminders",
        description="Week-one reminders: turn your DMs on or off; staff run the schedule",
        guild_only=True,
    )

    def __init__(
        self,
        bot: NexusBot,
        store: RemindersStore,
        week: tuple[Reminder, ...],
        charts: StaffCharts,
        names: ProjectNames,
    ) -> None:
        self.bot = bot
        self.store = store
        self.week = week
        self.runner = ReminderRunner(bot, store, week, charts, names)
        self.by_id = self.runner.by_id

    # --- lifecycle: the database is the source of truth, the scheduler only wakes us ------------------------

    async def cog_load(self) -> None:
        now = self.bot.now()
        for config in await self.bot.admin_store.all_configs():
            for cohort_id in await self.live_cohorts(config.guild_id):
                seen = await self.runner.unit_config(config.guild_id, cohort_id)
                if seen is None:
                    continue
                await self.runner.apply(seen, cohort_id)
                # Wake at once: send what came due while we were down (within grace), skip older, resume runs.
                self.runner.arm(config.guild_id, now, cohort_id)

    async def cog_unload(self) -> None:
        self.runner.stop()

    async def live_cohorts(self, guild_id: int) -> list[int | None]:
        """Each cohort not closed keeps its own schedule; a server with no cohort yet has the one (None)."""
        cohorts = await self.bot.cohort_store.cohorts(guild_id)
        if not cohorts:
            return [None]
        return [cohort.id for cohort in cohorts if cohort.is_live()]

    @commands.Cog.listener()
    async def on_nexus_config_changed(self, config: GuildConfig) -> None:
        for cohort_id in await self.live_cohorts(config.guild_id):
            seen = await self.runner.unit_config(config.guild_id, cohort_id)
            if seen is not None:
                await self.runner.apply(seen, cohort_id)
                await self.runner.process(config.guild_id, cohort_id)

    @commands.Cog.listener()
    async def on_nexus_cohort_closed(self, closing: CohortClosing) -> None:
        """Its runs still to come were cancelled in the database (cogs.cohorts); nothing is left to wake up for."""
        self.runner.cancel_wake(closing.cohort.guild_id, closing.cohort.id)

    async def scope(self, interaction: Interaction, named: str | None) -> tuple[GuildConfig, int | None]:
        """The server's configuration as the cohort the staff command acts on sees it, and that cohort's id."""
        config = await require_config(interaction)
        cohort = await staff_scope(interaction, named)
        if cohort is not None:
            ensure_live(cohort)
        return cohort_config(config, cohort) or config, cohort_id_of(cohort)

    # --- learner commands -----------------------------------------------------------------------------------

    @reminders.command(name="off", description="Stop week-one reminder DMs to you (channel posts are not affected)")
    async def off_command(self, interaction: Interaction) -> None:
        await self._set_opt_out(interaction, opt_out=True)

    @reminders.command(name="on", description="Get week-one reminder DMs again")
    async def on_command(self, interaction: Interaction) -> None:
        await self._set_opt_out(interaction, opt_out=False)

    async def _set_opt_out(self, interaction: Interaction, *, opt_out: bool) -> None:
        guild = guild_of(interaction)
        await self.store.set_opt_out(
            guild.id,
            interaction.user.id,
            display_name=interaction.user.display_name,
            opt_out=opt_out,
            now=self.bot.now(),
        )
        await interaction.response.send_message(format_opt_out(opt_out), ephemeral=True)

    # --- staff commands -------------------------------------------------------------------------------------

    @reminders.command(
        name="schedule", description="Staff: every reminder with its time, audience and state", extras=staff_command()
    )
    @app_commands.describe(cohort=COHORT_OPTION)
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.check(ensure_staff)
    async def schedule_command(
        self, interaction: Interaction, cohort: app_commands.Range[str, 1, 200] | None = None
    ) -> None:
        config, cohort_id = await self.scope(interaction, cohort)
        await interaction.response.defer(ephemeral=True, thinking=True)
        embed = await self._schedule_embed(guild_of(interaction), config, cohort_id)
        await interaction.followup.send(embed=embed, ephemeral=True)

    async def _schedule_embed(self, guild: discord.Guild, config: GuildConfig, cohort_id: int | None) -> discord.Embed:
        cohort = await self.store.active_cohort(guild.id, cohort_id) or await self.runner.apply(config, cohort_id)
        runs = {run.reminder_id: run for run in await self.store.runs(guild.id, cohort.key)}
        progress = await self.store.progress(guild.id, cohort.key)
        paused = await self.store.is_paused(guild.id, cohort_id)
        roster = await self.runner.roster(guild, config, cohort_id)
        lines: list[str] = []
        for reminder in self.week:
            run = runs.get(reminder.id)
            if run is None:
                continue
            recipients = plan_recipients(reminder.audience, roster, staff_channel=config.staff_channel_id is not None)
            status = run_status(run, progress[reminder.id], paused=paused)
            audience = audience_text(reminder, recipients)
            lines.append(schedule_line(Scheduled(reminder, run.due_at), cohort.timezone, audience, status))
        return format_schedule(cohort, lines, paused=paused)

    @reminders.command(
        name="preview", description="Staff: see a reminder as it will look, filled in for you", extras=staff_command()
    )
    @app_commands.rename(reminder_id="id")
    @app_commands.describe(reminder_id="The reminder's id (see /reminders schedule)", cohort=COHORT_OPTION)
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.check(ensure_staff)
    async def preview_command(
        self, interaction: Interaction, reminder_id: str, cohort: app_commands.Range[str, 1, 200] | None = None
    ) -> None:
        config, cohort_id = await self.scope(interaction, cohort)
        reminder = self._reminder(reminder_id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild = guild_of(interaction)
        schedule = await self.store.active_cohort(guild.id, cohort_id) or await self.runner.apply(config, cohort_id)
        roster = await self.runner.roster(guild, config, cohort_id)
        reader = interaction.user.id if reminder.is_dm else None
        payload = await self.runner.compose(config, schedule, reminder, roster, reader)
        recipients = plan_recipients(reminder.audience, roster, staff_channel=config.staff_channel_id is not None)
        run = await self.store.run(guild.id, schedule.key, reminder.id)
        header = format_preview_header(
            reminder, schedule, run.due_at if run else None, audience_text(reminder, recipients)
        )
        await interaction.followup.send(
            payload.content, embeds=[header, *payload.embeds], files=payload.files, ephemeral=True
        )

    @reminders.command(
        name="send", description="Staff: send a reminder now (each person still gets it once)", extras=staff_command()
    )
    @app_commands.rename(reminder_id="id")
    @app_commands.describe(reminder_id="The reminder's id (see /reminders schedule)", cohort=COHORT_OPTION)
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.check(ensure_staff)
    async def send_command(
        self, interaction: Interaction, reminder_id: str, cohort: app_commands.Range[str, 1, 200] | None = None
    ) -> None:
        config, cohort_id = await self.scope(interaction, cohort)
        reminder = self._reminder(reminder_id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await self.runner.send_now(config, reminder, cohort_id)
        await interaction.followup.send(text, ephemeral=True)

    @reminders.command(name="pause", description="Staff: pause all reminders in this server", extras=staff_command())
    @app_commands.describe(cohort=COHORT_OPTION)
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.check(ensure_staff)
    async def pause_command(
        self, interaction: Interaction, cohort: app_commands.Range[str, 1, 200] | None = None
    ) -> None:
        guild = guild_of(interaction)
        scope = await staff_scope(interaction, cohort)
        if scope is not None:
            ensure_live(scope)
        cohort_id = cohort_id_of(scope)
        changed = await self.store.set_paused(
            guild.id, True, by=interaction.user.id, now=self.bot.now(), cohort_id=cohort_id
        )
        self.runner.cancel_wake(guild.id, cohort_id)
        log.info("reminders paused guild=%s by=%s", guild.id, interaction.user.id)
        await interaction.response.send_message(format_paused(changed), ephemeral=True)

    @reminders.command(name="resume", description="Staff: resume reminders in this server", extras=staff_command())
    @app_commands.describe(cohort=COHORT_OPTION)
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.check(ensure_staff)
    async def resume_command(
        self, interaction: Interaction, cohort: app_commands.Range[str, 1, 200] | None = None
    ) -> None:
        guild = guild_of(interaction)
        _, cohort_id = await self.scope(interaction, cohort)
        await interaction.response.defer(ephemeral=True, thinking=True)
        changed = await self.store.set_paused(
            guild.id, False, by=interaction.user.id, now=self.bot.now(), cohort_id=cohort_id
        )
        outcome = await self.runner.process(guild.id, cohort_id)
        log.info("reminders resumed guild=%s by=%s", guild.id, interaction.user.id)
        await interaction.followup.send(format_resumed(changed, outcome, self.runner.grace), ephemeral=True)

    @preview_command.autocomplete("reminder_id")
    @send_command.autocomplete("reminder_id")
    async def reminder_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        folded = current.strip().casefold()
        matches = [r for r in self.week if folded in r.id or folded in AUDIENCE_LABELS[r.audience]]
        return [
            app_commands.Choice(
                name=clip(f"{r.id} · day {r.day} {r.at:%H:%M} · {AUDIENCE_LABELS[r.audience]}", 100), value=r.id
            )
            for r in matches[:MAX_CHOICES]
        ]

    def _reminder(self, reminder_id: str) -> Reminder:
        reminder = self.by_id.get(reminder_id.strip())
        if reminder is None:
            known = ", ".join(f"`{r.id}`" for r in self.week)
            raise NotFound(clip(f"There is no reminder `{reminder_id[:40]}`. Known: {known}.", 1900))
        return reminder
