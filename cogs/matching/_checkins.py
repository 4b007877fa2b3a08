"""Team check-ins on Discord: the post in each team's thread with its answer buttons, the private choice offered
when a partner goes quiet, and the scheduled pass that asks bot.checkins what is due.

The database is the source of truth and the scheduler only wakes the pass: a round is claimed before it is posted
(with a nonce Discord uses to drop a repeat), so a restart between two check-ins never posts one twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Self, cast

import discord

from bot.checkins import (
    ANSWER_LABELS,
    ANSWERS,
    Attention,
    Checkin,
    CheckinAnswer,
    CheckinRules,
    Choice,
    QuietReason,
    Rematched,
    TeamCheckins,
    checkin_due,
    plan_team,
)
from bot.errors import InvalidInput
from bot.matching import RETRY_DELAY, Team, worth_retrying
from bot.projects import ProjectNames
from bot.storage.checkins import CheckinStore
from bot.text import shown
from cogs.common import Interaction, NexusBot, answer_user_errors, clip, respond
from cogs.matching._delivery import MatchingDelivery

log = logging.getLogger(__name__)

CHECKIN_JOB = "checkins-pass"
# However far the next known due time is, look again at least this often (a team formed without a hook, a clock
# that jumped): a pass that finds nothing due costs a few reads.
MAX_SLEEP = timedelta(hours=24)

# The custom ids are stored in Discord messages: changing a template strands every button already sent.
CHECKIN_BUTTON_TEMPLATE = re.compile(r"nexus:checkin:(?P<checkin>\d+):(?P<answer>going_well|not_started|partner_quiet)")
QUIET_BUTTON_TEMPLATE = re.compile(r"nexus:quiet:(?P<team>\d+):(?P<user>\d+):(?P<choice>wait|rematch)")
ANSWER_STYLES: dict[CheckinAnswer, discord.ButtonStyle] = {
    "going_well": discord.ButtonStyle.success,
    "not_started": discord.ButtonStyle.secondary,
    "partner_quiet": discord.ButtonStyle.danger,
}
CHOICE_BUTTONS: dict[Choice, tuple[str, discord.ButtonStyle]] = {
    "wait": ("Keep waiting", discord.ButtonStyle.secondary),
    "rematch": ("Find me someone else", discord.ButtonStyle.primary),
}

CheckinHandler = Callable[[Interaction, int, CheckinAnswer], Awaitable[None]]
QuietHandler = Callable[[Interaction, int, int, Choice], Awaitable[None]]


class CheckinButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=CHECKIN_BUTTON_TEMPLATE):
    """One answer to one check-in round; who clicked is checked against the team on click."""

    def __init__(self, checkin_id: int, answer: CheckinAnswer) -> None:
        super().__init__(
            discord.ui.Button(
                label=ANSWER_LABELS[answer],
                style=ANSWER_STYLES[answer],
                custom_id=f"nexus:checkin:{checkin_id}:{answer}",
            )
        )
        self.checkin_id = checkin_id
        self.answer: CheckinAnswer = answer

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["checkin"]), cast(CheckinAnswer, match["answer"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await answer_user_errors(self.handle)(interaction, self.checkin_id, self.answer)

    async def handle(self, interaction: Interaction, checkin_id: int, answer: CheckinAnswer) -> None:
        raise NotImplementedError("use bind_checkin_button()")


def bind_checkin_button(handler: CheckinHandler) -> type[CheckinButton]:
    class BoundCheckinButton(CheckinButton, template=CHECKIN_BUTTON_TEMPLATE):
        async def handle(self, interaction: Interaction, checkin_id: int, answer: CheckinAnswer) -> None:
            await handler(interaction, checkin_id, answer)

    return BoundCheckinButton


class QuietButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=QUIET_BUTTON_TEMPLATE):
    """ "Keep waiting" / "Find me someone else" for the member a quiet partner left behind."""

    def __init__(self, team_id: int, user_id: int, choice: Choice) -> None:
        label, style = CHOICE_BUTTONS[choice]
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"nexus:quiet:{team_id}:{user_id}:{choice}")
        )
        self.team_id = team_id
        self.user_id = user_id
        self.choice: Choice = choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["team"]), int(match["user"]), cast(Choice, match["choice"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await answer_user_errors(self.handle)(interaction, self.team_id, self.user_id, self.choice)

    async def handle(self, interaction: Interaction, team_id: int, user_id: int, choice: Choice) -> None:
        raise NotImplementedError("use bind_quiet_button()")


def bind_quiet_button(handler: QuietHandler) -> type[QuietButton]:
    class BoundQuietButton(QuietButton, template=QUIET_BUTTON_TEMPLATE):
        async def handle(self, interaction: Interaction, team_id: int, user_id: int, choice: Choice) -> None:
            await handler(interaction, team_id, user_id, choice)

    return BoundQuietButton


def hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} hours"


class MatchingCheckins:
    """Posts check-ins, records answers, offers the choice when a partner is quiet, and carries out re-matches."""

    def __init__(
        self, bot: NexusBot, store: CheckinStore, delivery: MatchingDelivery, project_names: ProjectNames
    ) -> None:
        self.bot = bot
        self.store = store
        self.delivery = delivery
        self.project_names = project_names
        self.rules = CheckinRules.from_settings(bot.settings.checkin_delay_days, bot.settings.quiet_timeout_hours)
        self.checkin_button = bind_checkin_button(self.on_checkin_button)
        self.quiet_button = bind_quiet_button(self.on_quiet_button)
        self.lock = asyncio.Lock()
        self.wake: datetime | None = None

    @property
    def buttons(self) -> tuple[type[CheckinButton], type[QuietButton]]:
        return self.checkin_button, self.quiet_button

    # -------------------------------------------------------------------------------------- the pass

    def arm(self, when: datetime) -> None:
        """Wake the pass at `when`, unless it is already due to wake sooner."""
        if self.wake is not None and self.wake <= when and CHECKIN_JOB in self.bot.scheduler.job_names():
            return
        self.wake = when
        self.bot.scheduler.schedule_at(CHECKIN_JOB, max(when, self.bot.now()), self.run_pass)

    def team_formed(self, team: Team) -> None:
        self.arm(checkin_due(team.created_at, 1, self.rules))

    def cancel(self) -> None:
        self.bot.scheduler.cancel(CHECKIN_JOB)
        self.wake = None

    async def run_pass(self) -> None:
        """Post what is due, offer the choice to members whose partner went quiet, retry what Discord refused."""
        await self.bot.wait_until_ready()
        async with self.lock:
            self.wake = None
            now = self.bot.now()
            wakes = [now + MAX_SLEEP]
            try:
                async for page in self.store.pages():
                    for team_checkins in page:
                        wakes.append(await self.pass_team(team_checkins, now))
            except Exception:
                # A job's exception would only reach APScheduler's log; the next pass resumes from the database.
                log.exception("check-in pass failed")
                wakes.append(now + RETRY_DELAY)
            self.arm(min(wakes))

    async def pass_team(self, team_checkins: TeamCheckins, now: datetime) -> datetime:
        team = team_checkins.team
        plan = plan_team(team_checkins, now, self.rules)
        later = plan.wake or now + MAX_SLEEP
        unposted = [checkin for checkin in team_checkins.checkins if checkin.state == "claimed"]
        for checkin in unposted:
            if plan.post_round is None and worth_retrying(checkin.tries, checkin.due_at, now):
                # Claimed before a stop or refused: the same nonce again, so Discord drops it if it has it.
                if not await self.send_round(team, checkin):
                    later = min(later, now + RETRY_DELAY)
            else:
                await self.store.round_refused(checkin.id, give_up=True)
        if plan.post_round is not None:
            due = checkin_due(team.created_at, plan.post_round, self.rules)
            claimed = await self.store.claim_round(team.id, plan.post_round, due, secrets.token_hex(12))
            if claimed is not None and not await self.send_round(team, claimed):
                later = min(later, now + RETRY_DELAY)
        if plan.close_offers:
            await self.store.close_offers(team.id, plan.close_offers)
        for user in plan.offer_to:
            if not await self.offer(team, user, plan.quiet):
                later = min(later, now + RETRY_DELAY)
        for offer in team_checkins.offers.values():
            if offer.state != "claimed":
                continue
            # Claimed before a stop, or refused: offered again while the partner is still quiet, else closed (a
            # later quiet spell offers a new one).
            still_quiet = bool(plan.quiet) and offer.user_id not in plan.quiet
            if still_quiet and worth_retrying(offer.tries, offer.offered_at, now):
                if not await self.send_offer(team, offer.user_id, plan.quiet, offer.tries, offer.offered_at):
                    later = min(later, now + RETRY_DELAY)
            else:
                await self.store.offer_refused(team.id, offer.user_id, give_up=True)
        return later

    async def send_round(self, team: Team, checkin: Checkin) -> bool:
        """Post one round in the team thread (opening the thread if it is missing). False if Discord refused and it
        is worth trying again soon."""
        thread_id = team.thread_id
        if thread_id is None:
            current, _opened = await self.delivery.ensure_thread(team.id)
            thread_id = current.thread_id if current is not None else None
        message: discord.Message | None = None
        if thread_id is not None:
            mentions = " ".join(f"<@{user}>" for user in team.member_ids)
            label = await self.label(team)
            text = clip(
                f"{mentions} Check-in #{checkin.round} on {label}: how is your partnership going? "
                "Each of you answers for yourself; only you and staff see your answer.",
                2000,
            )
            view = discord.ui.View(timeout=None)
            for answer in ANSWERS:
                view.add_item(self.checkin_button(checkin.id, answer))
            try:
                message = await self.bot.get_partial_messageable(thread_id).send(
                    text,
                    view=view,
                    nonce=checkin.nonce,
                    allowed_mentions=discord.AllowedMentions(users=[discord.Object(u) for u in team.member_ids]),
                )
            except discord.HTTPException:
                log.warning("could not post check-in team=%s round=%s", team.id, checkin.round, exc_info=True)
        if message is None:
            give_up = not worth_retrying(checkin.tries + 1, checkin.due_at, self.bot.now())
            await self.store.round_refused(checkin.id, give_up=give_up)
            return give_up
        await self.store.round_posted(checkin.id, message.id, self.bot.now())
        log.info("check-in posted team=%s round=%s", team.id, checkin.round)
        return True

    # -------------------------------------------------------------------------------------- a quiet partner

    async def offer(self, team: Team, user_id: int, quiet: Mapping[int, QuietReason]) -> bool:
        offer = await self.store.claim_offer(team.id, user_id, secrets.token_hex(12), self.bot.now())
        if offer is None:
            return True
        return await self.send_offer(team, user_id, quiet, offer.tries, offer.offered_at)

    async def send_offer(
        self, team: Team, user_id: int, quiet: Mapping[int, QuietReason], tries: int, since: datetime
    ) -> bool:
        """The private choice, by DM or the member's fallback thread. False if Discord refused and it is worth
        trying again soon."""
        names = " and ".join(self.delivery.name_of(team.guild_id, user) for user in quiet)
        label = await self.label(team)
        text = clip(
            f"It looks like {names} has gone quiet on your team for {label} (no answer to the check-ins). "
            f"You can keep waiting (I'll ask again in {self.rules.ask_again_after.days} days), or I can find you "
            "someone else: you'd go back to the pool at the front of the line, and you won't be proposed to "
            f"{names} again.",
            2000,
        )
        view = discord.ui.View(timeout=None)
        for choice in CHOICE_BUTTONS:
            view.add_item(self.quiet_button(team.id, user_id, choice))
        sent, gone = await self.delivery.reach(team.guild_id, user_id, content=text, view=view)
        if sent is not None:
            await self.store.offer_sent(team.id, user_id)
            log.info("quiet-partner choice sent team=%s user=%s", team.id, user_id)
            return True
        give_up = gone or not worth_retrying(tries + 1, since, self.bot.now())
        await self.store.offer_refused(team.id, user_id, give_up=give_up)
        return give_up

    # -------------------------------------------------------------------------------------- buttons

    async def on_checkin_button(self, interaction: Interaction, checkin_id: int, answer: CheckinAnswer) -> None:
        now = self.bot.now()
        await self.store.answer(checkin_id, interaction.user.id, answer, now)
        text = f"Thanks: recorded **{ANSWER_LABELS[answer]}**. Only you and staff see your answer."
        if answer == "partner_quiet":
            text += (
                f" If they don't answer within {hours(self.rules.quiet_after)}, I'll offer you a private choice: "
                "keep waiting, or find someone else."
            )
            self.arm(now + self.rules.quiet_after)
        elif answer == "not_started":
            text += " A first call this week helps: agree on the endpoints the frontend needs first."
        await respond(interaction, text)

    async def on_quiet_button(self, interaction: Interaction, team_id: int, user_id: int, choice: Choice) -> None:
        if interaction.user.id != user_id:
            raise InvalidInput("These buttons belong to the member they were sent to.")
        now = self.bot.now()
        if choice == "wait":
            until = await self.store.keep_waiting(team_id, user_id, now, self.rules)
            self.arm(until)
            text = (
                f"OK, we'll keep waiting. If your partner is still quiet, I'll ask you again "
                f"{discord.utils.format_dt(until, 'R')}."
            )
            await respond(interaction, text, edit=True, view=None)
            return
        result = await self.store.rematch(team_id, user_id, now, self.rules)
        await respond(interaction, await self.rematch_text(result, user_id), edit=True, view=None)
        await self.after_rematch(result, user_id)

    async def rematch_text(self, result: Rematched, chooser: int) -> str:
        guild_id = result.team.guild_id
        quiet = " and ".join(self.delivery.name_of(guild_id, user) for user in result.removed)
        label = await self.label(result.team)
        if not result.ends:
            others = ", ".join(
                self.delivery.name_of(guild_id, m.user_id)
                for m in result.team.members
                if m.user_id not in result.removed and m.user_id != chooser
            )
            return f"Done: {quiet} has left your team on {label}; you carry on as a team with {others}."
        if chooser in result.unannounced:
            return (
                f"Done: your team on {label} has ended. Run `/announce`, then `/match find`, to be matched again; "
                f"you won't be proposed to {quiet} again."
            )
        text = (
            f"Done: your team on {label} has ended and you're back in the pool at the front of the line. "
            f"You won't be proposed to {quiet} again."
        )
        if any(chooser in proposal.members for proposal in result.new_proposals):
            text += " I've just sent you a new partner proposal."
        else:
            text += " I'll DM you the moment there's someone new."
        return text

    async def after_rematch(self, result: Rematched, chooser: int) -> None:
        team = result.team
        guild_id = team.guild_id
        label = await self.label(team)
        for user in result.removed:
            text = (
                f"We didn't hear from you in the check-ins, so your team on {label} has ended."
                if result.ends
                else f"We didn't hear from you in the check-ins, so you're no longer on the team on {label}."
            )
            await self.delivery.notify(
                guild_id, user, text + " No hard feelings: run `/match find` whenever you're ready to build again."
            )
        leavers = " and ".join(self.delivery.name_of(guild_id, user) for user in result.removed)
        for member in team.members:
            if member.user_id in result.removed or member.user_id == chooser:
                continue
            if not result.ends:
                text = f"{leavers} went quiet and has left your team on {label}; you carry on as a team."
            elif member.user_id in result.requeued:
                text = (
                    f"{leavers} went quiet, so your team on {label} has ended. You're back in the pool at the front "
                    "of the line, and I'll DM you the moment there's someone new."
                )
            else:
                text = f"{leavers} went quiet, so your team on {label} has ended. Run `/match find` for a new partner."
            await self.delivery.notify(guild_id, member.user_id, text)
        if team.thread_id is not None:
            ending = " This team has ended." if result.ends else ""
            await self.delivery.post_in_thread(team.thread_id, f"{leavers} has left this team.{ending}")
        await self.delivery.send_proposals(result.new_proposals)

    # -------------------------------------------------------------------------------------- staff

    async def attention(self, guild_id: int, cohort_id: int | None = None) -> list[Attention]:
        return await self.store.attention(guild_id, self.bot.now(), self.rules, cohort_id)

    async def label(self, team: Team) -> str:
        name = await self.delivery.store.project_label(team.guild_id, team.project_key)
        return shown(self.project_names(team.project_key, name), 100)
