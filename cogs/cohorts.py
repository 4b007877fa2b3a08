"""Discord surface for cohorts: /nexus cohort create, edit, list, close and move, and retention."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.admin import parse_cohort_start
from bot.cohorts import (
    PURGE_NOTICE_DAYS,
    Cohort,
    check_new_name,
    ensure_live,
    parse_cohort_name,
    purge_due_at,
    retention_step,
    staff_cohort,
)
from bot.errors import InvalidInput, NotConfigured
from bot.storage.cohorts import CohortClosing, CohortCounts
from bot.text import clip, shown
from bot.timezones import normalise_timezone
from cogs.admin import check_channel, timezone_autocomplete
from cogs.common import (
    Interaction,
    NexusBot,
    cohort_autocomplete,
    ensure_staff,
    guild_of,
    is_staff,
    respond,
    staff_command,
)
from cogs.views import ConfirmView

log = logging.getLogger(__name__)

NO_COHORTS = "This server has no cohorts yet: run `/nexus cohort create` (or `/nexus setup`) first."
RETENTION_JOB = "cohorts:retention"
# Retention is a matter of days: one look a day (and one at start-up) is plenty.
RETENTION_EVERY = timedelta(days=1)


def check_role(role: discord.Role | None) -> int | None:
    if role is None:
        return None
    if role.is_default() or role.managed:
        raise InvalidInput(f"{role.mention} cannot be used here: pick a normal role.")
    return role.id


def cohort_line(cohort: Cohort, counts: CohortCounts, now_state: str, kept: dict[str, int] | None = None) -> str:
    """One cohort for /nexus cohort list; `kept`: the counts retention kept when it deleted the personal data."""
    role = f" · role <@&{cohort.learner_role_id}>" if cohort.learner_role_id else ""
    numbers = f"{counts.announced} announced · {counts.waiting} waiting · {counts.teams} teams"
    if cohort.purged_at is not None:
        now_state += f", personal data deleted {cohort.purged_at.date().isoformat()}"
        if kept is not None:
            numbers = f"{kept.get('announced', 0)} announced · {kept.get('teams', 0)} teams (counts kept, no names)"
    return (
        f"**{cohort.label}** — {now_state} · starts {cohort.start_date.isoformat()} ({cohort.timezone})"
        f" · <#{cohort.channel_id}>{role}\n  {numbers}"
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
            ("move", "Staff: move a learner to another cohort (e.g. deferred to the next one)", self.move),
        ):
            self.group.add_command(
                app_commands.Command(name=name, description=description, callback=callback, extras=staff_command())
            )

    async def cog_load(self) -> None:
        self.bot.nexus_group.add_command(self.group)
        # Armed here, never in on_ready (which fires again after a reconnect); the database says what is due.
        self.arm_retention(self.bot.now() + timedelta(minutes=1))

    async def cog_unload(self) -> None:
        self.bot.scheduler.cancel(RETENTION_JOB)

    def arm_retention(self, when: datetime) -> None:
        self.bot.scheduler.schedule_at(RETENTION_JOB, when, self.retention_pass)

    async def retention_pass(self) -> None:
        """Tell staff a week before a closed cohort's personal data goes, then delete it (retention_days)."""
        await self.bot.wait_until_ready()
        try:
            days = self.bot.settings.retention_days
            for cohort in await self.store.awaiting_purge():
                now = self.bot.now()
                step = retention_step(cohort, days, now)
                if step == "notice" and cohort.closed_at is not None:
                    due = purge_due_at(cohort.closed_at, days)
                    when = discord.utils.format_dt(due, "D") if due else "soon"
                    await self.tell_staff(
                        cohort.guild_id,
                        f"In {PURGE_NOTICE_DAYS} days ({when}) I will delete the personal data of the closed cohort "
                        f"**{cohort.label}** (announcements, matching history, reminder deliveries), as the "
                        "retention setting says. Export it first if you need it: "
                        f"`/nexus export cohort:{cohort.id}`.",
                    )
                    await self.store.purge_noticed(cohort, now)
                elif step == "purge":
                    counts = await self.store.purge(cohort, now)
                    if counts is not None:
                        log.info("cohort data purged guild=%s cohort=%s %s", cohort.guild_id, cohort.id, counts)
                        await self.tell_staff(
                            cohort.guild_id,
                            f"Deleted the personal data of the closed cohort **{cohort.label}** (retention). Kept, "
                            f"without names: {counts.get('announced', 0)} learners announced, "
                            f"{counts.get('teams', 0)} teams.",
                        )
        except Exception:
            # A job's exception would only reach APScheduler's log; tomorrow's pass tries again.
            log.exception("retention pass failed")
        finally:
            self.arm_retention(self.bot.now() + RETENTION_EVERY)

    async def tell_staff(self, guild_id: int, text: str) -> None:
        """The staff channel if there is one, else a DM to every staff member."""
        guild = self.bot.get_guild(guild_id)
        config = await self.bot.admin_store.get_config(guild_id)
        if guild is None:
            return
        channel = guild.get_channel(config.staff_channel_id) if config and config.staff_channel_id else None
        try:
            if isinstance(channel, discord.TextChannel):
                await channel.send(text)
                return
        except discord.HTTPException:
            log.warning("could not post a retention notice guild=%s", guild_id)
        if not guild.chunked:
            await guild.chunk()
        for member in guild.members:
            if is_staff(member, config):
                try:
                    await member.send(text)
                except discord.HTTPException:
                    log.info("could not DM a retention notice guild=%s member=%s", guild_id, member.id)

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
        counts = await self.store.counts_by_cohort(guild_of(interaction).id)
        lines = [
            cohort_line(
                cohort,
                counts.get(cohort.id, CohortCounts(0, 0, 0)),
                cohort.state(now),
                await self.store.purged_counts(cohort.id) if cohort.purged_at is not None else None,
            )
            for cohort in cohorts
        ]
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

    @app_commands.describe(member="The learner to move", to="The cohort they continue in")
    @app_commands.autocomplete(to=cohort_autocomplete)
    @app_commands.check(ensure_staff)
    async def move(self, interaction: Interaction, member: discord.Member, to: app_commands.Range[str, 1, 200]) -> None:
        guild = guild_of(interaction)
        cohorts = await self.store.cohorts(guild.id)
        target = staff_cohort(cohorts, named=to, channel_id=interaction.channel_id)
        if target is None:
            raise NotConfigured(NO_COHORTS)
        ensure_live(target)
        name = shown(member.display_name, 80)
        current = await self.store.of_learner(guild.id, member.id)
        if current is None:
            raise InvalidInput(
                f"{name} has no current announcement, so there is nothing to move: they join **{target.label}** by "
                f"announcing in <#{target.channel_id}>"
                + (f" (give them <@&{target.learner_role_id}>)." if target.learner_role_id else ".")
            )
        if current.id == target.id:
            raise InvalidInput(f"{name} is already in **{target.label}**.")

        async def do_move(click: Interaction, *, edit: bool = True) -> None:
            dialog: dict[str, Any] = {"edit": True, "view": None} if edit else {}
            moved = await self.store.move(guild.id, member.id, target)
            if moved is None:
                await respond(click, f"{name} withdrew meanwhile: nothing to move.", **dialog)
                return
            log.info("learner moved guild=%s cohort=%s by=%s", guild.id, target.id, click.user.id)
            await respond(click, format_moved(name, current, target), **dialog)
            # Matching takes them out of the old pool, proposal or team and tells everyone; projects re-posts.
            self.bot.dispatch("nexus_member_moved", moved)

        if not await self.store.in_team(guild.id, member.id):
            await do_move(interaction, edit=False)
            return
        view = ConfirmView(
            interaction.user.id,
            do_move,
            kept=f"Nothing changed: {name} stays in **{current.label}**.",
            yes_label="Move",
        )
        await interaction.response.send_message(
            f"{name} is in a team in **{current.label}**. Moving them to **{target.label}** ends that partnership "
            "(their partner is told). Move them?",
            view=view,
            ephemeral=True,
        )


def format_moved(name: str, source: Cohort, target: Cohort) -> str:
    return (
        f"Moved {name} from **{source.label}** to **{target.label}**: their announcement is posted in "
        f"<#{target.channel_id}> (history kept), they left the old pool, proposal or team, and they were told."
    )


async def setup(bot: NexusBot) -> None:
    await bot.add_cog(CohortsCog(bot))
