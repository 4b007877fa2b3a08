"""Discord surface for cohorts: /nexus cohort create, edit, list and close."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.admin import parse_cohort_start
from bot.cohorts import (
    Cohort,
    check_new_name,
    ensure_live,
    parse_cohort_name,
    staff_cohort,
)
from bot.errors import InvalidInput, NotConfigured
from bot.storage.cohorts import CohortClosing, CohortCounts
from bot.text import clip
from bot.timezones import normalise_timezone
from cogs.admin import check_channel, timezone_autocomplete
from cogs.common import Interaction, NexusBot, cohort_autocomplete, ensure_staff, guild_of, respond, staff_command
from cogs.views import ConfirmView

log = logging.getLogger(__name__)

NO_COHORTS = "This server has no cohorts yet: run `/nexus cohort create` (or `/nexus setup`) first."


def check_role(role: discord.Role | None) -> int | None:
    if role is None:
        return None
    if role.is_default() or role.managed:
        raise InvalidInput(f"{role.mention} cannot be used here: pick a normal role.")
    return role.id


def cohort_line(cohort: Cohort, counts: CohortCounts, now_state: str) -> str:
    role = f" · role <@&{cohort.learner_role_id}>" if cohort.learner_role_id else ""
    return (
        f"**{cohort.label}** — {now_state} · starts {cohort.start_date.isoformat()} ({cohort.timezone})"
        f" · <#{cohort.channel_id}>{role}\n"
        f"  {counts.announced} announced · {counts.waiting} waiting · {counts.teams} teams"
    )


def format_cohort(cohort: Cohort, heading: str) -> str:
    role = f"<@&{cohort.learner_role_id}>" if cohort.learner_role_id else "none (channel or only open cohort)"
    return (
        f"{heading} **{cohort.label}**: starts {cohort.start_date.isoformat()} ({cohort.timezone}), "
        f"channel <#{cohort.channel_id}>, learner role {role}."
    )


def format_closing(closing: CohortClosing) -> str:
    return (
        f"Closed **{closing.cohort.label}**. {len(closing.waiting)} learner(s) waiting for a partner were told "
        f"privately; {len(closing.proposals)} open proposal(s) ended; {closing.reminders_cancelled} reminder(s) "
        "cancelled. Its board stays readable and its data can still be exported."
    )


class CohortsCog(commands.Cog):
    def __init__(self, bot: NexusBot) -> None:
        self.bot = bot
        self.store = bot.cohort_store
        self.group = app_commands.Group(
            name="cohort", description="Staff: the server's cohorts", extras=staff_command()
        )
        for name, description, callback in (
            ("create", "Staff: start a new cohort with its own channel, start date and timezone", self.create),
            ("edit", "Staff: change a cohort's name, start date, timezone, channel or role", self.edit),
            ("list", "Staff: every cohort of this server, its state, dates and counts", self.list_command),
            ("close", "Staff: close a cohort (its pool empties; its board stays readable)", self.close),
        ):
            self.group.add_command(
                app_commands.Command(name=name, description=description, callback=callback, extras=staff_command())
            )

    async def cog_load(self) -> None:
        self.bot.nexus_group.add_command(self.group)

    async def _pick(self, interaction: Interaction, named: str | None) -> Cohort:
        guild = guild_of(interaction)
        cohort = staff_cohort(await self.store.cohorts(guild.id), named=named, channel_id=interaction.channel_id)
        if cohort is None:
            raise NotConfigured(NO_COHORTS)
        return cohort

    @app_commands.describe(
        name="What staff and learners call it, e.g. ProDev BE Cohort 5",
        start="The cohort's first day, YYYY-MM-DD",
        timezone="The cohort's timezone (IANA name like Africa/Lagos, or UTC+1)",
        channel="The text channel this cohort's learners use",
        learner_role="Role that marks this cohort's learners (needed when cohorts share a channel)",
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    @app_commands.check(ensure_staff)
    async def create(
        self,
        interaction: Interaction,
        name: app_commands.Range[str, 1, 200],
        start: app_commands.Range[str, 1, 40],
        timezone: app_commands.Range[str, 1, 100],
        channel: discord.TextChannel,
        learner_role: discord.Role | None = None,
    ) -> None:
        guild = guild_of(interaction)
        check_channel(channel, guild.me)
        cleaned = parse_cohort_name(name)
        check_new_name(await self.store.cohorts(guild.id), cleaned)
        draft = Cohort(
            id=0,
            guild_id=guild.id,
            name=cleaned,
            start_date=parse_cohort_start(start),
            timezone=normalise_timezone(timezone),
            channel_id=channel.id,
            learner_role_id=check_role(learner_role),
        )
        cohort = await self.store.create(draft, by=interaction.user.id, now=self.bot.now())
        log.info("cohort created guild=%s cohort=%s by=%s", guild.id, cohort.id, interaction.user.id)
        await interaction.response.send_message(format_cohort(cohort, "Created"), ephemeral=True)
        await self.changed(guild.id)

    @app_commands.describe(
        cohort="Which cohort (default: this channel's, or the only open one)",
        name="A new name",
        start="A new first day, YYYY-MM-DD",
        timezone="A new timezone",
        channel="A new channel for its learners",
        learner_role="A new learner role",
    )
    @app_commands.autocomplete(cohort=cohort_autocomplete, timezone=timezone_autocomplete)
    @app_commands.check(ensure_staff)
    async def edit(
        self,
        interaction: Interaction,
        cohort: app_commands.Range[str, 1, 200] | None = None,
        name: app_commands.Range[str, 1, 200] | None = None,
        start: app_commands.Range[str, 1, 40] | None = None,
        timezone: app_commands.Range[str, 1, 100] | None = None,
        channel: discord.TextChannel | None = None,
        learner_role: discord.Role | None = None,
    ) -> None:
        guild = guild_of(interaction)
        current = await self._pick(interaction, cohort)
        ensure_live(current)
        if channel is not None:
            check_channel(channel, guild.me)
        new_name = current.name
        if name is not None:
            new_name = parse_cohort_name(name)
            check_new_name(await self.store.cohorts(guild.id), new_name, except_id=current.id)
        edited = Cohort(
            id=current.id,
            guild_id=guild.id,
            name=new_name,
            start_date=current.start_date if start is None else parse_cohort_start(start),
            timezone=current.timezone if timezone is None else normalise_timezone(timezone),
            channel_id=current.channel_id if channel is None else channel.id,
            learner_role_id=current.learner_role_id if learner_role is None else check_role(learner_role),
        )
        await self.store.edit(edited)
        await interaction.response.send_message(format_cohort(edited, "Saved"), ephemeral=True)
        await self.changed(guild.id)

    async def changed(self, guild_id: int) -> None:
        """Reminders follow each cohort's dates, and announcements waiting for a channel are posted in theirs."""
        config = await self.bot.admin_store.get_config(guild_id)
        if config is not None:
            self.bot.dispatch("nexus_config_changed", config)

    @app_commands.check(ensure_staff)
    async def list_command(self, interaction: Interaction) -> None:
        cohorts = await self.store.cohorts(guild_of(interaction).id)
        if not cohorts:
            await interaction.response.send_message(NO_COHORTS, ephemeral=True)
            return
        now = self.bot.now()
        lines = [cohort_line(cohort, await self.store.counts(cohort.id), cohort.state(now)) for cohort in cohorts]
        embed = discord.Embed(
            title="Cohorts in this server", description=clip("\n".join(lines), 4000), colour=discord.Colour.blurple()
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.describe(cohort="Which cohort (default: this channel's, or the only open one)")
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.check(ensure_staff)
    async def close(self, interaction: Interaction, cohort: app_commands.Range[str, 1, 200] | None = None) -> None:
        chosen = await self._pick(interaction, cohort)
        ensure_live(chosen)
        counts = await self.store.counts(chosen.id)

        async def confirmed(click: Interaction) -> None:
            closing = await self.store.close(chosen, by=click.user.id, now=self.bot.now())
            if closing is None:
                await respond(click, f"**{chosen.label}** was already closed.", edit=True, view=None)
                return
            log.info("cohort closed guild=%s cohort=%s by=%s", chosen.guild_id, chosen.id, click.user.id)
            await respond(click, format_closing(closing), edit=True, view=None)
            # Matching tells those who were waiting, and takes the buttons off the proposals that ended.
            self.bot.dispatch("nexus_cohort_closed", closing)

        view = ConfirmView(
            interaction.user.id,
            confirmed,
            kept=f"Nothing changed: **{chosen.label}** stays open.",
            yes_label="Close it",
        )
        await interaction.response.send_message(
            f"Close **{chosen.label}**? Its {counts.waiting} waiting learner(s) leave the pool (each is told "
            "privately), open proposals end and the reminders still to come are cancelled. Announcements and teams "
            "stay; the board is frozen and readable. This cannot be undone.",
            view=view,
            ephemeral=True,
        )


async def setup(bot: NexusBot) -> None:
    await bot.add_cog(CohortsCog(bot))
