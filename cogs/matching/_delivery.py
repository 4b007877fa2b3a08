"""How matching reaches people: DMs, the private fallback thread when DMs are closed, redelivery of refused
proposal copies, team threads, expiry timers, and the notices that follow an answer, an expiry or a departure."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import discord

from bot.matching import (
    RETRY_DELAY,
    Choice,
    Departure,
    LeftoverRun,
    Notice,
    Proposal,
    ProposalUpdate,
    Team,
    other_track,
    worth_retrying,
)
from bot.projects import ProjectNames
from bot.storage.cohorts import CohortClosing
from bot.storage.matching import MatchingStore
from bot.text import plain, shown
from cogs.common import NexusBot, clip
from cogs.matching._formatting import (
    CLOSED_TEXT,
    OPEN_DMS_HINT,
    format_closed,
    format_intro,
    format_proposal,
    format_proposal_label,
)
from cogs.matching._views import ProposalButton, proposal_view

log = logging.getLogger(__name__)
CANNOT_DM = 50007  # Discord: "Cannot send messages to this user"
UNKNOWN_MEMBER = 10007  # Discord: the user is not a member of this server

EXPIRY_JOB = "proposal-expiry:{}"
REDELIVER_JOB = "proposal-redeliver:{}"
# One pass over everything else Discord refused (notices, closing proposal copies, team threads); the database says
# what is left, so the same pass runs at start-up.
RETRY_JOB = "matching-retries"
# A proposal copy Discord refused (500, 429, no permission for the fallback thread) is tried again this often.
REDELIVER_SECONDS = 300
REDELIVER_ATTEMPTS = 3


def expiry_job(proposal_id: int) -> str:
    return EXPIRY_JOB.format(proposal_id)


class MatchingDelivery:
    """Everything matching sends after the database has changed; the cog calls it, it never decides who matches."""

    def __init__(
        self,
        bot: NexusBot,
        store: MatchingStore,
        proposal_button: type[ProposalButton],
        project_names: ProjectNames,
    ) -> None:
        self.bot = bot
        self.store = store
        self.proposal_button = proposal_button
        self.project_names = project_names
        # Serialise opening team threads (set-up, retries, the "Create our thread" button): one thread per team.
        self.thread_lock = asyncio.Lock()
        self.retry_lock = asyncio.Lock()
        self.sending: set[int] = set()  # notices being sent right now, which a retry pass must not send again
        self.started_at = bot.now()

    def cancel_timers(self) -> None:
        """Expiry and redelivery timers; the database keeps what they were for, and start-up re-arms them."""
        for name in self.bot.scheduler.job_names():
            if name == RETRY_JOB or name.startswith((EXPIRY_JOB.format(""), REDELIVER_JOB.format(""))):
                self.bot.scheduler.cancel(name)

    # -------------------------------------------------------------------------------------- expiry

    def arm_expiry(self, proposal: Proposal) -> None:
        when = max(proposal.expires_at, self.bot.now())
        self.bot.scheduler.schedule_at(expiry_job(proposal.id), when, self.expire_proposal, proposal.id)

    async def expire_proposal(self, proposal_id: int) -> None:
        await self.bot.wait_until_ready()
        try:
            update = await self.store.expire(proposal_id, self.bot.now())
            if update is None:
                # Already answered, or the scheduler's clock disagrees with ours: never spin re-arming; the
                # proposal stays open and the next start-up re-arms it from the database.
                log.info("expiry timer found nothing due proposal=%s", proposal_id)
                return
            await self.after_proposal(update, reason="expired")
        except Exception:
            # A job's exception would only reach APScheduler's log; record it with the proposal it concerns.
            log.exception("proposal expiry failed proposal=%s", proposal_id)

    # -------------------------------------------------------------------------------------- consequences

    async def after_proposal(self, update: ProposalUpdate, *, reason: str, skip_message: int | None = None) -> None:
        """Tell people what an answer, expiry or withdrawal meant for them, and deliver any new proposals."""
        proposal, settlement = update.proposal, update.settlement
        if settlement.state == "pending":
            return
        self.bot.scheduler.cancel(expiry_job(proposal.id))
        guild_id = proposal.guild_id
        label = shown(
            self.project_names(proposal.project_key, await self.store.project_label(guild_id, proposal.project_key)),
            100,
        )
        await self.close_deliveries(proposal, CLOSED_TEXT[settlement.state], skip_message)
        if settlement.partnered and update.team is not None:
            await self.start_team(update.team)
        for user in settlement.requeue:
            if proposal.answer_of(user) == "declined":
                continue  # the decliner already saw their own answer on the button
            other = proposal.other(user)
            other_name = self.name_of(guild_id, other)
            if settlement.state == "expired":
                text = f"{other_name} didn't answer the proposal on {label} in time."
            elif settlement.state == "declined":
                text = f"{other_name} declined the proposal on {label}."
            else:
                text = f"{other_name} {reason}, so the proposal on {label} is off."
            text += " You're back at the front of the line, and I'll DM you the moment there's someone new."
            await self.notify(guild_id, user, text)
        if settlement.state == "expired":
            for user in settlement.leave:
                channel = await self.channel_mention(guild_id, user)
                await self.notify(
                    guild_id,
                    user,
                    f"Your partner proposal on {label} expired without your answer, so you've left the pool. "
                    f"Run `/match find`{channel} whenever you want back in.",
                )
        await self.send_proposals(update.new_proposals)

    async def after_departure(self, guild_id: int, departure: Departure, reason: str) -> None:
        for update in departure.withdrawn:
            await self.after_proposal(update, reason=reason)
        change, team = departure.team_change, departure.team
        if change is None or team is None:
            return
        leaver = self.name_of(guild_id, departure.user_id)
        label = shown(
            self.project_names(team.project_key, await self.store.project_label(guild_id, team.project_key)), 100
        )
        for member in change.remaining:
            if change.ends:
                text = f"{leaver} {reason}, so your team on {label} has ended. Run `/match find` for a new partner."
            else:
                others = ", ".join(self.name_of(guild_id, m.user_id) for m in change.remaining if m != member)
                text = f"{leaver} {reason} and left your team on {label}; you're still a team with {others}."
            await self.notify(guild_id, member.user_id, text)
        if team.thread_id is not None:
            await self.post_in_thread(team.thread_id, f"{leaver} {reason} and left this team.")

    async def after_cohort_closed(self, closing: CohortClosing) -> None:
        """Take the buttons off the proposals a closing cohort ended, and tell everyone who was waiting, privately."""
        for proposal_id in closing.proposals:
            self.bot.scheduler.cancel(expiry_job(proposal_id))
            proposal = await self.store.proposal(proposal_id)
            if proposal is not None:
                await self.close_deliveries(proposal, CLOSED_TEXT["withdrawn"], None)
        for user_id in closing.waiting:
            await self.notify(
                closing.cohort.guild_id,
                user_id,
                f"{closing.cohort.label} has closed, so you're no longer waiting for a partner (and any open "
                "proposal has ended). If you're continuing in a later cohort, staff will move you there.",
            )

    async def close_deliveries(self, proposal: Proposal, text: str, skip_message: int | None) -> None:
        """Take the buttons off each learner's copy so nobody answers a closed proposal (retried if refused)."""
        for copy in await self.store.open_copies(proposal.id):
            if copy.message_id == skip_message:
                # The click's own answer already replaced that copy.
                await self.store.copy_tried(copy.proposal_id, copy.message_id, self.bot.now(), closed=True)
                continue
            await self.close_copy(copy.proposal_id, copy.channel_id, copy.message_id, copy.tries, text, copy.closed_at)

    async def close_copy(
        self, proposal_id: int, channel_id: int, message_id: int, tries: int, text: str, since: datetime
    ) -> None:
        message = self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)
        try:
            await message.edit(
                embed=format_closed("Partner proposal (closed)", text),
                view=None,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.NotFound:
            log.info("proposal copy already gone proposal=%s message=%s", proposal_id, message_id)
        except discord.HTTPException:
            log.info("could not close proposal copy proposal=%s message=%s", proposal_id, message_id)
            await self.store.copy_tried(proposal_id, message_id, self.bot.now(), closed=False)
            if worth_retrying(tries + 1, since, self.bot.now()):
                self.arm_retry()
            return
        await self.store.copy_tried(proposal_id, message_id, self.bot.now(), closed=True)

    # -------------------------------------------------------------------------------------- delivery

    def proposal_view(self, proposal_id: int, user_id: int) -> discord.ui.View:
        return proposal_view(self.proposal_button, proposal_id, user_id)

    async def send_proposals(self, proposals: Iterable[Proposal]) -> set[int]:
        """Deliver both copies of each new proposal; returns the learners whose copy Discord refused."""
        failed: set[int] = set()
        for proposal in proposals:
            self.arm_expiry(proposal)
            missed = await self.send_copies(proposal, proposal.members)
            if missed:
                self.arm_redelivery(proposal.id, 1)
            failed.update(missed)
        return failed

    async def send_copies(self, proposal: Proposal, users: Iterable[int]) -> list[int]:
        """Send these learners their copy and record where it went (so it can be closed later)."""
        people = await self.store.choices(proposal.guild_id, proposal.members)
        missed: list[int] = []
        for user in users:
            other = proposal.other(user)
            partner = people.get(other)
            name = self.name_of(proposal.guild_id, other, partner)
            sent = await self.deliver(
                proposal.guild_id,
                user,
                embed=format_proposal(proposal, partner, name, self.project_names),
                view=self.proposal_view(proposal.id, user),
                content=f"New partner proposal on {format_proposal_label(proposal, partner, self.project_names)}.",
            )
            if sent is None:
                missed.append(user)
                continue
            message, via = sent
            await self.store.record_delivery(proposal.id, user, message.channel.id, message.id, via)
        return missed

    async def deliver_missing(self, proposal: Proposal) -> list[int]:
        """Send the copies of a pending proposal that were never delivered; returns who is still missing one."""
        delivered = {user for user, _, _ in await self.store.deliveries(proposal.id)}
        missing = [user for user in proposal.members if user not in delivered]
        if not missing:
            return []
        log.info("delivering missing proposal copies proposal=%s to=%s", proposal.id, missing)
        return await self.send_copies(proposal, missing)

    def arm_redelivery(self, proposal_id: int, attempt: int) -> None:
        when = self.bot.now() + timedelta(seconds=REDELIVER_SECONDS)
        self.bot.scheduler.schedule_at(REDELIVER_JOB.format(proposal_id), when, self.redeliver, proposal_id, attempt)

    async def redeliver(self, proposal_id: int, attempt: int) -> None:
        try:
            proposal = await self.store.proposal(proposal_id)
            if proposal is None or proposal.state != "pending":
                return
            missing = await self.deliver_missing(proposal)
            if not missing:
                return
            if attempt < REDELIVER_ATTEMPTS:
                self.arm_redelivery(proposal_id, attempt + 1)
            else:
                log.warning(
                    "gave up delivering proposal copies proposal=%s to=%s; /match status still shows it",
                    proposal_id,
                    missing,
                )
        except Exception:
            log.exception("proposal redelivery failed proposal=%s", proposal_id)

    async def deliver(
        self,
        guild_id: int,
        user_id: int,
        *,
        content: str | None = None,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
    ) -> tuple[discord.Message, str] | None:
        """DM a learner; if their DMs are closed, post in their private fallback thread instead."""
        sent, _gone = await self.reach(guild_id, user_id, content=content, embed=embed, view=view)
        return sent

    async def reach(
        self,
        guild_id: int,
        user_id: int,
        *,
        content: str | None = None,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
    ) -> tuple[tuple[discord.Message, str] | None, bool]:
        """`deliver`, and whether Discord said the learner is no longer a member (nothing to try again then)."""
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            kwargs: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
            if embed is not None:
                kwargs["embed"] = embed
            if view is not None:
                kwargs["view"] = view
            return (await user.send(content=clip(content, 2000) if content else None, **kwargs), "dm"), False
        except discord.Forbidden as error:
            if error.code == CANNOT_DM and await self.is_gone(guild_id, user_id):
                # 50007 to someone who shares no server with Nexus: they left and the event never came.
                log.warning("DM refused and not a member guild=%s user=%s: treating as left", guild_id, user_id)
                self.bot.dispatch("nexus_member_gone", guild_id, user_id)
                return None, True
            log.info("DMs closed guild=%s user=%s code=%s; using the fallback thread", guild_id, user_id, error.code)
        except discord.HTTPException:
            log.warning("could not DM guild=%s user=%s", guild_id, user_id, exc_info=True)
            return None, False
        return await self.deliver_in_thread(guild_id, user_id, content=content, embed=embed, view=view), False

    async def deliver_in_thread(
        self,
        guild_id: int,
        user_id: int,
        *,
        content: str | None,
        embed: discord.Embed | None,
        view: discord.ui.View | None,
    ) -> tuple[discord.Message, str] | None:
        try:
            thread = await self.fallback_thread(guild_id, user_id)
            if thread is None:
                return None
            text = clip(f"<@{user_id}> {content or ''}".rstrip(), 2000 - len(OPEN_DMS_HINT) - 1) + "\n" + OPEN_DMS_HINT
            kwargs: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions(users=[discord.Object(user_id)])}
            if embed is not None:
                kwargs["embed"] = embed
            if view is not None:
                kwargs["view"] = view
            return await thread.send(text, **kwargs), "thread"
        except discord.HTTPException:
            log.warning("could not reach guild=%s user=%s by DM or fallback thread", guild_id, user_id, exc_info=True)
            return None

    async def fallback_thread(self, guild_id: int, user_id: int) -> discord.Thread | None:
        known = await self.store.fallback_thread(guild_id, user_id)
        if known is not None:
            try:
                channel = self.bot.get_channel(known) or await self.bot.fetch_channel(known)
                if isinstance(channel, discord.Thread):
                    return channel
            except (discord.NotFound, discord.Forbidden):
                log.info("fallback thread %s is gone; opening a new one", known)
        parent = await self.configured_channel(guild_id, user_id)
        if parent is None:
            return None
        name = plain(self.display_name(guild_id, user_id), 80)
        thread = await parent.create_thread(
            name=clip(f"Nexus · {name}", 100), type=discord.ChannelType.private_thread, invitable=False
        )
        await thread.add_user(discord.Object(user_id))
        await self.store.save_fallback_thread(guild_id, user_id, thread.id, self.bot.now())
        return thread

    async def start_team(self, team: Team, note: str = "") -> Team:
        """Open the team's private thread with the intro, and tell everyone (the intro too while there is no thread)."""
        guild_id = team.guild_id
        names, label, _intro = await self.team_intro(team)
        async with self.thread_lock:
            thread, gone = await self.open_thread(team, note)
            if thread is None:
                await self.thread_refused(team, 0)
        for member in team.members:
            if member.user_id in gone:
                continue
            others = " and ".join(names[m.user_id] for m in team.others(member.user_id))
            where = f" Your private thread: {thread.mention}." if thread else ""
            text = f"You and {others} are now partners on {shown(label, 100)}!{where} {note}".strip()
            await self.notify(guild_id, member.user_id, text, team_id=None if thread else team.id)
        self.members_gone(team, gone)
        if thread is None:
            return team
        return replace(team, thread_id=thread.id)

    async def team_intro(self, team: Team) -> tuple[dict[int, str], str, discord.Embed]:
        """Each member's shown name, the project's name, and the intro embed."""
        people = await self.store.choices(team.guild_id, team.member_ids)
        names = {m.user_id: self.name_of(team.guild_id, m.user_id, people.get(m.user_id)) for m in team.members}
        label = self.project_names(team.project_key, next((c.project_name for c in people.values()), None))
        return names, label, format_intro(team, people, names, self.project_names)

    def members_gone(self, team: Team, gone: Iterable[int]) -> None:
        for user_id in gone:
            # Discord says they are not in the server: they left and the event never came. Same path as a leave.
            log.warning("team member is not in the server guild=%s team=%s user=%s", team.guild_id, team.id, user_id)
            self.bot.dispatch("nexus_member_gone", team.guild_id, user_id)

    async def open_thread(self, team: Team, note: str = "") -> tuple[discord.Thread | None, list[int]]:
        """The team's private thread with everyone in it and the intro; None if Discord refused (then retried)."""
        gone: list[int] = []
        parent = await self.configured_channel(team.guild_id, team.member_ids[0] if team.member_ids else None)
        if parent is None:
            return None, gone
        people = await self.store.choices(team.guild_id, team.member_ids)
        _names, label, intro = await self.team_intro(team)
        thread_name = " & ".join(
            plain(self.display_name(team.guild_id, m.user_id, people.get(m.user_id)), 40) for m in team.members
        )
        try:
            opened = await parent.create_thread(
                name=clip(f"{plain(label, 50)} · {thread_name}", 100),
                type=discord.ChannelType.private_thread,
                invitable=False,
            )
            for member in team.members:
                try:
                    await opened.add_user(discord.Object(member.user_id))
                except discord.NotFound as error:
                    if error.code != UNKNOWN_MEMBER:
                        raise
                    gone.append(member.user_id)
            mentions = " ".join(f"<@{member.user_id}>" for member in team.members)
            await opened.send(
                f"{mentions} meet your partner! {note}".strip(),
                embed=intro,
                allowed_mentions=discord.AllowedMentions(users=[discord.Object(m.user_id) for m in team.members]),
            )
            await self.store.set_team_thread(team.id, opened.id)
        except discord.HTTPException:
            # Half a thread is no thread: everyone gets the intro by DM instead, and the thread is tried again.
            log.warning("could not open the team thread guild=%s team=%s", team.guild_id, team.id, exc_info=True)
            return None, gone
        return opened, gone

    async def thread_refused(self, team: Team, tries: int) -> None:
        await self.store.thread_refused(team.id)
        if worth_retrying(tries + 1, team.created_at, self.bot.now()):
            self.arm_retry()
        else:
            log.warning("gave up opening the team thread team=%s; /match status offers a button", team.id)

    async def ensure_thread(self, team_id: int, tries: int = 0) -> tuple[Team | None, bool]:
        """The team's thread, opened now if it is missing: (the team as it is now, whether this call opened it).
        Everyone is told the link when it opens; a refusal is counted and tried again."""
        async with self.thread_lock:
            team = await self.store.team(team_id)
            if team is None or team.ended_at is not None or team.thread_id is not None:
                return team, False
            thread, gone = await self.open_thread(team)
            if thread is None:
                await self.thread_refused(team, tries)
                return team, False
        names, label, _intro = await self.team_intro(team)
        for member in team.members:
            if member.user_id in gone:
                continue
            others = " and ".join(names[m.user_id] for m in team.others(member.user_id))
            text = (
                f"Your team thread on {shown(label, 100)} is ready now: {thread.mention} "
                f"(you're partners with {others})."
            )
            await self.notify(team.guild_id, member.user_id, text)
        self.members_gone(team, gone)
        return replace(team, thread_id=thread.id), True

    # -------------------------------------------------------------------------------------- retried notices

    async def notify(self, guild_id: int, user_id: int, text: str, team_id: int | None = None) -> None:
        """A notice that is kept until Discord accepts it: tried now, then again later (and after a restart)."""
        notice = await self.store.add_notice(guild_id, user_id, text, self.bot.now(), team_id)
        await self.send_notice(notice)

    async def send_notice(self, notice: Notice) -> bool:
        self.sending.add(notice.id)
        try:
            embed = None
            if notice.team_id is not None:
                team = await self.store.team(notice.team_id)
                if team is not None and team.ended_at is None and team.thread_id is None:
                    embed = (await self.team_intro(team))[2]
            sent, gone = await self.reach(notice.guild_id, notice.user_id, content=notice.content, embed=embed)
            if sent is not None or gone:
                await self.store.notice_tried(notice.id, done=True)
                return True
            again = worth_retrying(notice.tries + 1, notice.created_at, self.bot.now())
            if not again:
                log.warning("gave up on a matching notice guild=%s user=%s", notice.guild_id, notice.user_id)
            await self.store.notice_tried(notice.id, done=not again)
            if again:
                self.arm_retry()
            return False
        finally:
            self.sending.discard(notice.id)

    def arm_retry(self) -> None:
        if RETRY_JOB not in self.bot.scheduler.job_names():
            self.bot.scheduler.schedule_at(RETRY_JOB, self.bot.now() + RETRY_DELAY, self.retry_failed)

    async def retry_failed(self) -> None:
        """One pass over what Discord refused, as the database records it: at start-up and RETRY_DELAY after a
        refusal. Each refusal is counted, so a pass never tries anything more often than `worth_retrying` allows."""
        await self.bot.wait_until_ready()
        async with self.retry_lock:
            try:
                now = self.bot.now()
                for notice in await self.store.unsent_notices():
                    # Never tried yet: being sent right now, unless it was left over from before this start.
                    fresh = notice.tries == 0 and notice.created_at > self.started_at
                    if fresh or notice.id in self.sending:
                        continue
                    if worth_retrying(notice.tries, notice.created_at, now):
                        await self.send_notice(notice)
                    else:
                        await self.store.notice_tried(notice.id, done=True)
                for copy in await self.store.open_copies():
                    proposal = await self.store.proposal(copy.proposal_id)
                    if proposal is not None and worth_retrying(copy.tries, copy.closed_at, now):
                        text = CLOSED_TEXT.get(proposal.state, CLOSED_TEXT["withdrawn"])
                        await self.close_copy(
                            copy.proposal_id, copy.channel_id, copy.message_id, copy.tries, text, copy.closed_at
                        )
                for team, tries in await self.store.threadless_teams():
                    if worth_retrying(tries, team.created_at, now):
                        await self.ensure_thread(team.id, tries)
            except Exception:
                # A job's exception would only reach APScheduler's log; the next pass (or start) resumes.
                log.exception("matching retry pass failed")

    async def announce_joins(self, run: LeftoverRun) -> None:
        for join in run.plan.joins:
            team = run.teams.get(join.team_id)
            if team is None:
                continue
            guild_id = team.guild_id
            label = shown(self.project_names(team.project_key, run.label(team.project_key)), 100)
            newcomer = self.name_of(guild_id, join.user_id)
            others = [m for m in team.members if m.user_id != join.user_id]
            names = " and ".join(self.name_of(guild_id, m.user_id) for m in others)
            where = ""
            if team.thread_id is not None:
                try:
                    thread = self.bot.get_channel(team.thread_id) or await self.bot.fetch_channel(team.thread_id)
                    if isinstance(thread, discord.Thread):
                        await thread.add_user(discord.Object(join.user_id))
                        people = await self.store.choices(guild_id, team.member_ids)
                        display = {
                            m.user_id: self.name_of(guild_id, m.user_id, people.get(m.user_id)) for m in team.members
                        }
                        await thread.send(
                            f"<@{join.user_id}> joins this team as a third member ({join.track}). Welcome!",
                            embed=format_intro(team, people, display, self.project_names),
                            allowed_mentions=discord.AllowedMentions(users=[discord.Object(join.user_id)]),
                        )
                        where = f" Thread: {thread.mention}."
                except discord.HTTPException:
                    log.warning("could not post the join in team thread team=%s", team.id, exc_info=True)
            await self.notify(
                guild_id,
                join.user_id,
                f"Nobody on the {other_track(join.track)} track was free on {label}, so you've joined "
                f"{names}'s team as a third member.{where}",
            )
            for member in others:
                await self.notify(
                    guild_id,
                    member.user_id,
                    f"{newcomer} ({join.track}) joins your team on {label} as a third member.{where}",
                )

    # -------------------------------------------------------------------------------------- helpers

    def name_of(self, guild_id: int, user_id: int | None, choice: Choice | None = None) -> str:
        """A learner's name for a Markdown place: another learner typed it, so it cannot link, ping or style."""
        return shown(self.display_name(guild_id, user_id, choice), 80)

    def display_name(self, guild_id: int, user_id: int | None, choice: Choice | None = None) -> str:
        """The name as typed (for `plain` places such as thread names)."""
        if user_id is None:
            return "a learner"
        guild = self.bot.get_guild(guild_id)
        member = guild.get_member(user_id) if guild else None
        if member is not None:
            return member.display_name
        if choice is not None and choice.display_name:
            return choice.display_name
        user = self.bot.get_user(user_id)
        return user.display_name if user else "a learner"

    async def is_gone(self, guild_id: int, user_id: int) -> bool:
        """True only when Discord itself says this user is not a member (an outage is not a departure). Asked of
        Discord, not the cache: the cache is exactly what a lost leave event left stale."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return False
        try:
            await guild.fetch_member(user_id)
        except discord.NotFound:
            return True
        except discord.HTTPException:
            return False
        return False

    async def configured_channel(self, guild_id: int, user_id: int | None = None) -> discord.TextChannel | None:
        """The channel of the learner's cohort (threads and pointers stay in their cohort's channel); without one,
        the configured channel."""
        channel_id = await self.channel_id_for(guild_id, user_id)
        if channel_id is None:
            return None
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.bot.fetch_channel(channel_id)
            except discord.HTTPException:
                return None
        return channel if isinstance(channel, discord.TextChannel) else None

    async def channel_mention(self, guild_id: int, user_id: int | None = None) -> str:
        channel_id = await self.channel_id_for(guild_id, user_id)
        return f" in <#{channel_id}>" if channel_id else ""

    async def channel_id_for(self, guild_id: int, user_id: int | None) -> int | None:
        config = await self.bot.admin_store.get_config(guild_id)
        if config is None:
            return None
        cohort = None if user_id is None else await self.bot.cohort_store.of_learner(guild_id, user_id)
        return config.channel_id if cohort is None else cohort.channel_id

    async def post_in_thread(self, thread_id: int, text: str) -> None:
        try:
            await self.bot.get_partial_messageable(thread_id).send(
                text, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException:
            log.info("could not post in team thread %s", thread_id)
