"""Matching's cog: /match commands, proposal button clicks, and the events that take learners out of matching."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import format_dt

from bot.admin import GuildConfig
from bot.cohorts import ensure_live
from bot.cooldowns import Cooldown
from bot.errors import InvalidInput, NotFound
from bot.matching import AUTO_SEAT_EVERY, DRIFT_TEXT, Answer, Drift, alone_to_tell, next_auto_seat, seat_cutoff
from bot.projects import ProjectNames
from bot.reminders import progress_every
from bot.storage.checkins import CheckinStore
from bot.storage.cohorts import CohortClosing, CohortMove
from bot.storage.matching import MatchingStore
from bot.text import shown
from cogs.common import (
    Interaction,
    NexusBot,
    clip,
    cohort_autocomplete,
    cohort_config,
    cohort_id_of,
    ensure_staff,
    guild_of,
    require_config,
    respond,
    staff_command,
    staff_scope,
)
from cogs.matching._checkins import MatchingCheckins
from cogs.matching._delivery import MatchingDelivery
from cogs.matching._formatting import (
    OWN_COPY_FAILED,
    THREAD_REFUSED,
    format_alone,
    format_attention,
    format_board,
    format_closed,
    format_find,
    format_run,
    format_run_progress,
    format_status,
)
from cogs.matching._views import Action, bind_proposal_button, bind_thread_button, thread_view
from cogs.views import ConfirmView

log = logging.getLogger(__name__)

UNPAIR_CONFIRM_SECONDS = 120
# One job per run, named by guild and time: a date job re-armed under its own name from inside itself would be
# removed by the scheduler as it finishes.
AUTO_SEAT_JOB = "matching-auto-seat:{}:"
# /match run shows its progress once it has at least this many learners still alone to tell.
RUN_PROGRESS_FROM = 10


class MatchingCog(commands.Cog):
    match = app_commands.Group(
        name="match", description="Find a partner on the other track for your project", guild_only=True
    )

    def __init__(self, bot: NexusBot, project_names: ProjectNames) -> None:
        self.bot = bot
        self.project_names = project_names
        self.store = MatchingStore(bot.db, proposal_ttl_hours=bot.settings.proposal_ttl_hours)
        self.proposal_button = bind_proposal_button(self.on_proposal_button)
        self.thread_button = bind_thread_button(self.on_thread_button)
        self.delivery = MatchingDelivery(bot, self.store, self.proposal_button, project_names)
        self.checkins = MatchingCheckins(bot, CheckinStore(bot.db, self.store), self.delivery, project_names)
        self.find_cooldown = Cooldown(bot.settings.command_cooldown_seconds)
        self.recovery: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(self.proposal_button, self.thread_button, *self.checkins.buttons)
        # Check-ins: one pass at start-up finishes what a stop interrupted and arms the next wake.
        self.checkins.arm(self.bot.now())
        # The database is the source of truth: every open proposal gets its expiry timer back, and one that fell
        # due while the bot was down fires straight away.
        for proposal in await self.store.pending_proposals():
            self.delivery.arm_expiry(proposal)
        # Started here, not in on_ready (which fires again on every reconnect): once per start-up.
        self.recovery = asyncio.create_task(self.recover(), name="matching-recovery")
        for config in await self.bot.admin_store.all_configs():
            await self.arm_auto_seats(config)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(self.proposal_button, self.thread_button, *self.checkins.buttons)
        self.checkins.cancel()
        if self.recovery is not None:
            self.recovery.cancel()
        self.delivery.cancel_timers()
        for name in self.bot.scheduler.job_names():
            if name.startswith(AUTO_SEAT_JOB.split("{}")[0]):
                self.bot.scheduler.cancel(name)

    # -------------------------------------------------------------------------------------- automatic seating

    async def arm_auto_seats(self, config: GuildConfig) -> None:
        """Each live cohort's next automatic seating run, in its own week one (no cohort yet: the server's)."""
        prefix = AUTO_SEAT_JOB.format(config.guild_id)
        for name in self.bot.scheduler.job_names():
            if name.startswith(prefix):
                self.bot.scheduler.cancel(name)
        cohorts = await self.bot.cohort_store.cohorts(config.guild_id)
        if not cohorts:
            self.arm_auto_seat(config, None)
        for cohort in cohorts:
            if cohort.is_live():
                self.arm_auto_seat(cohort_config(config, cohort) or config, cohort.id)

    def arm_auto_seat(self, config: GuildConfig, cohort_id: int | None, *, after_run: bool = False) -> None:
        """A cohort's next automatic seating run (bot.matching.auto_seat_times), if its week one has one left;
        `config` as that cohort sees it (cogs.common.cohort_config)."""
        prefix = f"{AUTO_SEAT_JOB.format(config.guild_id)}{cohort_id}:"
        for name in self.bot.scheduler.job_names():
            if name.startswith(prefix):
                self.bot.scheduler.cancel(name)
        # Right after a run, the run that just happened is not "still to come".
        now = self.bot.now() + (AUTO_SEAT_EVERY / 2 if after_run else timedelta(0))
        when = next_auto_seat(now, config.cohort_start_utc(), config.week_one_ends_utc())
        if when is not None:
            self.bot.scheduler.schedule_at(
                f"{prefix}{when.isoformat()}", when, self.auto_seat, config.guild_id, cohort_id
            )

    async def auto_seat(self, guild_id: int, cohort_id: int | None) -> None:
        """Seat week one's leftovers without waiting for `/match run`, tell them, and tell staff what was done."""
        await self.bot.wait_until_ready()
        config = await self.bot.admin_store.get_config(guild_id)
        cohort = None if cohort_id is None else await self.bot.cohort_store.get(cohort_id)
        if config is None or (cohort_id is not None and (cohort is None or not cohort.is_live())):
            return
        config = cohort_config(config, cohort) or config
        try:
            await self.seat_leftovers(config, cohort_id)
        except Exception:
            # A job's exception would only reach APScheduler's log; the next run tries again.
            log.exception("automatic seating failed guild=%s cohort=%s", guild_id, cohort_id)
        self.arm_auto_seat(config, cohort_id, after_run=True)

    async def seat_leftovers(self, config: GuildConfig, cohort_id: int | None) -> None:
        now, settings = self.bot.now(), self.bot.settings
        week_starts = config.cohort_start_utc()
        cutoff = seat_cutoff(now, week_starts, settings.auto_seat_day, settings.seat_after_hours)
        if cutoff is None or now >= config.week_one_ends_utc():
            return
        actor = self.bot.user.id if self.bot.user else 0
        result = await self.store.run_leftovers(config.guild_id, actor, now, queued_by=cutoff, cohort_id=cohort_id)
        told = alone_to_tell(result.plan.alone, now, week_starts, settings.auto_seat_day, settings.seat_after_hours)
        log.info(
            "automatic seating guild=%s joined=%d alone=%d told=%d",
            config.guild_id,
            len(result.plan.joins),
            len(result.plan.alone),
            len(told),
        )
        await self.delivery.announce_joins(result)
        for alone in told:
            await self.delivery.notify(config.guild_id, alone.user_id, format_alone(alone, result, self.project_names))
        if config.staff_channel_id is None or not (result.plan.joins or told):
            return
        people = [join.user_id for join in result.plan.joins] + [alone.user_id for alone in result.plan.alone]
        names = {user: self.delivery.name_of(config.guild_id, user) for user in people}
        text = "Automatic seating (week one): " + format_run(result, names, self.project_names)
        try:
            await self.bot.get_partial_messageable(config.staff_channel_id).send(
                clip(text, 2000), allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException:
            log.warning("could not tell staff about automatic seating guild=%s", config.guild_id, exc_info=True)

    @commands.Cog.listener()
    async def on_nexus_config_changed(self, config: GuildConfig) -> None:
        await self.arm_auto_seats(config)

    async def recover(self) -> None:
        """Finish what a stop between two writes left undone: matching that no longer fits an announcement
        (the event was lost), proposal copies that were never delivered (stopped before the DMs), and whatever
        Discord refused before the stop (notices, closing proposal copies, team threads)."""
        await self.bot.wait_until_ready()
        try:
            for drift in await self.store.drifted():
                await self.repair(drift)
            for proposal in await self.store.pending_proposals():
                if await self.delivery.deliver_missing(proposal):
                    self.delivery.arm_redelivery(proposal.id, 1)
        except Exception:
            log.exception("matching recovery at start-up failed; it runs again at the next start")
        # Notices, closings of proposal copies and team threads that Discord refused before the stop.
        await self.delivery.retry_failed()

    async def repair(self, drift: Drift) -> None:
        log.warning("repairing matching guild=%s user=%s reason=%s", drift.guild_id, drift.user_id, drift.reason)
        now = self.bot.now()
        if drift.reason == "moved":
            departure = await self.store.drop_if_moved(drift.guild_id, drift.user_id, now)
        else:
            departure = await self.store.remove_learner(drift.guild_id, drift.user_id, now)
        if departure is not None:
            await self.delivery.after_departure(drift.guild_id, departure, DRIFT_TEXT[drift.reason])

    # -------------------------------------------------------------------------------------- commands

    @match.command(name="find", description="Join the pool for your announced project and get a partner proposal")
    async def find(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        cohort = await self.bot.cohort_store.of_learner(guild.id, interaction.user.id)
        if cohort is not None:
            ensure_live(cohort)  # a closed cohort matches nobody any more
        # It may DM another learner, so it is rate-limited per person.
        self.find_cooldown.use(interaction.user.id, self.bot.now())
        result = await self.store.find(guild.id, interaction.user.id, self.bot.now())
        partner = result.proposal.other(interaction.user.id) if result.proposal else None
        partner_name = self.delivery.name_of(guild.id, partner, result.partner) if partner else ""
        # The proposal is recorded: deliver it even if Discord refuses this answer.
        await respond(interaction, clip(format_find(result, partner_name, self.project_names), 2000))
        if result.kind == "proposed" and result.proposal is not None:
            failed = await self.delivery.send_proposals([result.proposal])
            if interaction.user.id in failed:
                await respond(interaction, OWN_COPY_FAILED)

    @match.command(name="status", description="Where you are in matching: waiting, proposed or partnered")
    async def status(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        status = await self.store.status(guild.id, interaction.user.id)
        names = {user: self.delivery.name_of(guild.id, user, choice) for user, choice in status.people.items()}
        text = format_status(status, interaction.user.id, names, self.project_names)
        if status.team is not None and status.team.thread_id is None:
            view = thread_view(self.thread_button, status.team.id)
            await interaction.response.send_message(clip(text, 2000), view=view, ephemeral=True)
            return
        proposal = status.proposal
        if proposal is None or proposal.answer_of(interaction.user.id) is not None:
            await interaction.response.send_message(clip(text, 2000), ephemeral=True)
            return
        # The same persistent buttons as the DM: a lost or deleted DM never strands a proposal.
        view = self.delivery.proposal_view(proposal.id, interaction.user.id)
        await interaction.response.send_message(
            clip(text + " Answer here or in your DMs.", 2000), view=view, ephemeral=True
        )

    @match.command(name="leave", description="Leave the matching pool, or withdraw from a pending proposal")
    async def leave(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        departure = await self.store.leave(guild.id, interaction.user.id, self.bot.now())
        if not departure.changed_anything:
            raise NotFound("You're not in the matching pool. (To end a partnership, use `/match unpair`.)")
        text = "You've left the matching pool."
        if departure.withdrawn:
            other = departure.withdrawn[0].proposal.other(interaction.user.id)
            text = f"You withdrew from the proposal with {self.delivery.name_of(guild.id, other)} and left the pool."
        await respond(interaction, text + " Run `/match find` whenever you want back in.")
        await self.delivery.after_departure(guild.id, departure, "withdrew from the proposal")

    @match.command(name="unpair", description="End your partnership (asks you to confirm)")
    async def unpair(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        team = await self.store.active_team_for(guild.id, interaction.user.id)
        if team is None:
            raise NotFound("You don't have a partner right now, so there is nothing to unpair.")
        others = ", ".join(
            self.delivery.name_of(guild.id, member.user_id) for member in team.others(interaction.user.id)
        )
        view = ConfirmView(
            interaction.user.id,
            self.confirm_unpair,
            kept="Nothing changed: you are still partners.",
            yes_label="Unpair",
            timeout=UNPAIR_CONFIRM_SECONDS,
        )
        await view.send(interaction, f"End your partnership with {others}? You won't be proposed to each other again.")

    @match.command(
        name="pair", description="Staff: pair two learners directly, skipping consent", extras=staff_command()
    )
    @app_commands.describe(first="A learner on one track", second="A learner on the other track, same project")
    @app_commands.check(ensure_staff)
    async def pair(self, interaction: Interaction, first: discord.Member, second: discord.Member) -> None:
        guild = guild_of(interaction)
        await require_config(interaction)
        # Teams never span cohorts: move one of them first (/nexus cohort move) if that is what is meant.
        first_cohort = await self.bot.cohort_store.of_learner(guild.id, first.id)
        second_cohort = await self.bot.cohort_store.of_learner(guild.id, second.id)
        if first_cohort is not None and second_cohort is not None and first_cohort.id != second_cohort.id:
            raise InvalidInput(
                f"{shown(first.display_name, 80)} is in **{first_cohort.label}** and {shown(second.display_name, 80)} "
                f"in **{second_cohort.label}**: teams stay within a cohort. Move one first with `/nexus cohort move`."
            )
        for cohort in (first_cohort, second_cohort):
            if cohort is not None:
                ensure_live(cohort)
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.store.pair(
            guild.id, first.id, second.id, interaction.user.id, self.bot.now(), names=self.project_names
        )
        log.info(
            "staff pair guild=%s by=%s team=%s members=%s,%s",
            guild.id,
            interaction.user.id,
            result.team.id,
            first.id,
            second.id,
        )
        for update in result.withdrawn:
            await self.delivery.after_proposal(update, reason="was paired with someone else by staff")
        team = await self.delivery.start_team(
            result.team, note=f"Staff ({shown(interaction.user.display_name, 80)}) paired you directly."
        )
        self.checkins.team_formed(team)
        await self.delivery.send_proposals(result.new_proposals)
        thread = (
            f" Thread: <#{team.thread_id}>."
            if team.thread_id
            else " (I couldn't open their thread; they were told by DM.)"
        )
        await interaction.followup.send(
            f"Paired {shown(first.display_name, 80)} and {shown(second.display_name, 80)}.{thread} "
            f"Logged as team #{team.id}.",
            ephemeral=True,
        )

    @match.command(
        name="board",
        description="Staff: waiting learners per project and track, and the oldest wait",
        extras=staff_command(),
    )
    @app_commands.describe(cohort="Which cohort (default: this channel's, or the only open one)")
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.check(ensure_staff)
    async def board(self, interaction: Interaction, cohort: app_commands.Range[str, 1, 200] | None = None) -> None:
        guild = guild_of(interaction)
        scope = await staff_scope(interaction, cohort)
        rows = await self.store.board(guild.id, cohort_id=cohort_id_of(scope))
        attention = await self.checkins.attention(guild.id, cohort_id=cohort_id_of(scope))
        names = {user: self.delivery.name_of(guild.id, user) for item in attention for user in item.user_ids}
        embed = format_attention(format_board(rows, self.project_names), attention, names, self.project_names)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @match.command(
        name="run",
        description="Staff: seat leftover learners in existing teams as third members",
        extras=staff_command(),
    )
    @app_commands.describe(cohort="Which cohort (default: this channel's, or the only open one)")
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.check(ensure_staff)
    async def run(self, interaction: Interaction, cohort: app_commands.Range[str, 1, 200] | None = None) -> None:
        guild = guild_of(interaction)
        await require_config(interaction)
        scope = await staff_scope(interaction, cohort)
        if scope is not None:
            ensure_live(scope)
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.store.run_leftovers(
            guild.id, interaction.user.id, self.bot.now(), cohort_id=cohort_id_of(scope)
        )
        log.info(
            "staff run guild=%s by=%s joined=%d alone=%d",
            guild.id,
            interaction.user.id,
            len(result.plan.joins),
            len(result.plan.alone),
        )
        await self.delivery.announce_joins(result)
        alone = result.plan.alone
        # One DM per learner still alone: past a handful, staff see how far it has got instead of "thinking…".
        progress = len(alone) >= RUN_PROGRESS_FROM
        every = progress_every(len(alone))
        for told, learner in enumerate(alone):
            if progress and told % every == 0:
                await self.show_run(interaction, format_run_progress(result, told))
            await self.delivery.notify(guild.id, learner.user_id, format_alone(learner, result, self.project_names))
        people = [join.user_id for join in result.plan.joins] + [learner.user_id for learner in alone]
        names = {user: self.delivery.name_of(guild.id, user) for user in people}
        await self.show_run(interaction, format_run(result, names, self.project_names), final=True)

    async def show_run(self, interaction: Interaction, text: str, *, final: bool = False) -> None:
        """/match run's one message: its progress, then its summary."""
        try:
            await interaction.edit_original_response(content=text)
        except discord.HTTPException:
            log.warning(
                "could not show /match run's %s guild=%s",
                "summary" if final else "progress",
                interaction.guild_id,
                exc_info=True,
            )
            if final:
                # Every DM was sent already; the summary still reaches staff as a message of its own if it can.
                await interaction.followup.send(text, ephemeral=True)

    # -------------------------------------------------------------------------------------- buttons

    async def on_proposal_button(
        self, interaction: Interaction, proposal_id: int, user_id: int, action: Action
    ) -> None:
        if interaction.user.id != user_id:
            raise InvalidInput("These buttons belong to the learner this proposal was sent to.")
        answer: Answer = "accepted" if action == "accept" else "declined"
        try:
            update = await self.store.answer(proposal_id, user_id, answer, self.bot.now(), leave_pool=action == "leave")
        except InvalidInput as closed:
            # Answered, expired or withdrawn meanwhile (and this copy's closing was lost): say so where they
            # clicked, and take the buttons away.
            embed = format_closed("Partner proposal", str(closed))
            edited = await respond(interaction, edit=True, fallback=str(closed), embed=embed, view=None)
            if edited and interaction.message is not None:
                await self.store.copy_tried(proposal_id, interaction.message.id, self.bot.now(), closed=True)
            return
        proposal = update.proposal
        other = proposal.other(user_id)
        other_name = self.delivery.name_of(proposal.guild_id, other)
        if update.settlement.partnered:
            text = f"You and {other_name} both accepted: you're partners! I'm opening your private thread now."
        elif update.settlement.state == "pending":
            until = format_dt(proposal.expires_at, "f")
            text = f"You accepted. Waiting for {other_name} to answer (until {until})."
        elif action == "leave":
            text = "You declined and left the pool. Run `/match find` whenever you want back in."
        else:
            text = "You declined. You stay in the pool, and I'll propose someone else when they're available."
        # The answer is recorded: the partner is told and the thread opened even if this edit is refused.
        await respond(interaction, edit=True, fallback=text, embed=format_closed("Partner proposal", text), view=None)
        skip = interaction.message.id if interaction.message else None
        await self.delivery.after_proposal(update, reason="declined", skip_message=skip)
        if update.team is not None:
            self.checkins.team_formed(update.team)

    async def on_thread_button(self, interaction: Interaction, team_id: int) -> None:
        team = await self.store.team(team_id)
        if team is None or team.ended_at is not None:
            raise NotFound("That team has ended, so it has no thread to open.")
        if interaction.user.id not in team.member_ids:
            raise InvalidInput("This button belongs to the members of that team.")
        if team.thread_id is None:
            # Opening a thread takes several calls to Discord: acknowledge the click first.
            await interaction.response.defer(ephemeral=True, thinking=True)
            team, _opened = await self.delivery.ensure_thread(team_id)
        if team is not None and team.thread_id is not None:
            await respond(interaction, f"Your team thread: <#{team.thread_id}>.")
        else:
            await respond(interaction, THREAD_REFUSED)

    async def confirm_unpair(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        departure = await self.store.unpair(guild.id, interaction.user.id, self.bot.now())
        await respond(
            interaction,
            "Done: you're no longer partners. Run `/match find` to look for someone new.",
            edit=True,
            view=None,
        )
        await self.delivery.after_departure(guild.id, departure, "ended the partnership")

    # -------------------------------------------------------------------------------------- events

    @commands.Cog.listener()
    async def on_nexus_announcement_changed(
        self, guild_id: int, user_id: int, _previous_project_key: str | None
    ) -> None:
        departure = await self.store.drop_if_moved(guild_id, user_id, self.bot.now())
        if departure is not None:
            await self.delivery.after_departure(guild_id, departure, "changed their project or track")

    @commands.Cog.listener()
    async def on_nexus_announcement_withdrawn(self, guild_id: int, user_id: int) -> None:
        departure = await self.store.remove_learner(guild_id, user_id, self.bot.now())
        await self.delivery.after_departure(guild_id, departure, "withdrew their project choice")

    @commands.Cog.listener()
    async def on_nexus_cohort_closed(self, closing: CohortClosing) -> None:
        """A cohort closed (cogs.cohorts): its pool and proposals ended in the database; say so to the people.
        Its teams live on, but their check-ins stop with the cohort."""
        await self.checkins.store.stop_checkins(closing.cohort.guild_id, self.bot.now(), cohort_id=closing.cohort.id)
        await self.delivery.after_cohort_closed(closing)

    @commands.Cog.listener()
    async def on_nexus_member_moved(self, moved: CohortMove) -> None:
        """Staff moved a learner to another cohort (cogs.cohorts): out of the old pool, proposal and team."""
        departure = await self.store.remove_learner(moved.guild_id, moved.user_id, self.bot.now())
        await self.delivery.after_departure(moved.guild_id, departure, "moved to another cohort")
        await self.delivery.notify(
            moved.guild_id,
            moved.user_id,
            f"Staff moved you to **{moved.to.label}**: your project announcement now shows in <#{moved.to.channel_id}> "
            "(your history is kept). You left the previous cohort's matching pool, proposal or team; run `/match find` "
            f"in <#{moved.to.channel_id}> to find a partner there.",
        )

    @commands.Cog.listener()
    async def on_nexus_member_gone(self, guild_id: int, user_id: int) -> None:
        """A learner left the server: told now by Discord, or found missing at start-up (cogs.projects)."""
        departure = await self.store.remove_learner(guild_id, user_id, self.bot.now())
        await self.delivery.after_departure(guild_id, departure, "left the server")
