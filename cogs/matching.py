"""Discord surface for matching: /match, persistent proposal buttons, DM fallback threads and expiry timers."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Self, cast

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import format_dt

from bot.app import answer_user_errors, respond
from bot.cooldowns import Cooldown
from bot.errors import InvalidInput, NotFound
from bot.matching import (
    DRIFT_TEXT,
    AloneLearner,
    Answer,
    BoardRow,
    Choice,
    Departure,
    Drift,
    FindResult,
    LeftoverRun,
    LineStats,
    MatchStatus,
    Proposal,
    ProposalUpdate,
    Team,
    other_track,
)
from bot.projects import ProjectNames
from bot.projects_content import PROJECTS_FILE, load_projects
from bot.storage.matching import MatchingStore
from cogs.common import Interaction, clip, ensure_staff, guild_of, require_config, staff_command

if TYPE_CHECKING:
    from bot.app import NexusBot

log = logging.getLogger(__name__)

Action = Literal["accept", "decline", "leave"]
ButtonHandler = Callable[[Interaction, int, int, Action], Awaitable[None]]

PROPOSAL_BUTTON_TEMPLATE = re.compile(
    r"nexus:proposal:(?P<proposal>\d+):(?P<user>\d+):(?P<action>accept|decline|leave)"
)
BUTTONS: dict[Action, tuple[str, discord.ButtonStyle]] = {
    "accept": ("Accept", discord.ButtonStyle.success),
    "decline": ("Decline", discord.ButtonStyle.danger),
    "leave": ("Decline and leave the pool", discord.ButtonStyle.secondary),
}
OPEN_DMS_HINT = (
    "-# I couldn't DM you, so I'm posting here. To get these by DM: Server menu → Privacy Settings → "
    "Allow direct messages."
)
FIRST_STEPS = (
    "☐ Backend: share the OpenAPI (Swagger) spec, even a draft\n"
    "☐ Agree on the endpoints, fields and error shapes the frontend needs first\n"
    "☐ Set a first call this week (you have your timezones above)"
)
CLOSED_TEXT: dict[str, str] = {
    "accepted": "You both accepted: you're partners now.",
    "declined": "This proposal was declined.",
    "expired": "This proposal expired before both of you answered.",
    "withdrawn": "This proposal was withdrawn.",
}
EXPIRY_JOB = "proposal-expiry:{}"
REDELIVER_JOB = "proposal-redeliver:{}"
# A proposal copy Discord refused (500, 429, no permission for the fallback thread) is tried again this often.
REDELIVER_SECONDS = 300
REDELIVER_ATTEMPTS = 3
OWN_COPY_FAILED = (
    "I couldn't deliver your copy of the proposal just now (Discord refused it). `/match status` shows it with the "
    "Accept / Decline buttons, and I'll try your DMs again in a few minutes."
)
UNPAIR_CONFIRM_SECONDS = 120
EMBED_DESCRIPTION_LIMIT = 4096
COLOUR = discord.Colour.blurple()


def expiry_job(proposal_id: int) -> str:
    return EXPIRY_JOB.format(proposal_id)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# ------------------------------------------------------------------------------------------------ buttons


class ProposalButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=PROPOSAL_BUTTON_TEMPLATE):
    """A persistent Accept / Decline / Decline-and-leave button.

    Everything needed to act is in the custom id (proposal and learner) and the database, so a click works the
    same after a restart. `bind_proposal_button` attaches a cog's handler without module-level state.
    """

    def __init__(self, proposal_id: int, user_id: int, action: Action) -> None:
        label, style = BUTTONS[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"nexus:proposal:{proposal_id}:{user_id}:{action}")
        )
        self.proposal_id = proposal_id
        self.user_id = user_id
        self.action: Action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        # The template only matches known actions.
        return cls(int(match["proposal"]), int(match["user"]), cast(Action, match["action"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await answer_user_errors(self.handle)(interaction, self.proposal_id, self.user_id, self.action)

    async def handle(self, interaction: Interaction, proposal_id: int, user_id: int, action: Action) -> None:
        raise NotImplementedError("use bind_proposal_button()")


def bind_proposal_button(handler: ButtonHandler) -> type[ProposalButton]:
    class BoundProposalButton(ProposalButton, template=PROPOSAL_BUTTON_TEMPLATE):
        async def handle(self, interaction: Interaction, proposal_id: int, user_id: int, action: Action) -> None:
            await handler(interaction, proposal_id, user_id, action)

    return BoundProposalButton


class UnpairConfirm(discord.ui.View):
    """Confirm before ending a partnership; only the learner who asked can press it."""

    def __init__(self, owner_id: int, on_confirm: Callable[[Interaction], Awaitable[None]]) -> None:
        super().__init__(timeout=UNPAIR_CONFIRM_SECONDS)
        self.owner_id = owner_id
        self.on_confirm = answer_user_errors(on_confirm)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return interaction.user.id == self.owner_id

    @discord.ui.button(label="Unpair", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: Interaction, button: discord.ui.Button[UnpairConfirm]) -> None:
        self.stop()
        await self.on_confirm(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: Interaction, button: discord.ui.Button[UnpairConfirm]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing changed: you are still partners.", view=None)


# ------------------------------------------------------------------------------------------------ formatting


def describe(choice: Choice | None, name: str) -> str:
    """'**Ada** (frontend, Africa/Lagos)'. Partners share one project; the reply names it once, by display name."""
    if choice is None:
        return f"**{name}**"
    zone = f", {choice.timezone}" if choice.timezone else ""
    return f"**{name}** ({choice.track}{zone})"


def line_sentence(line: LineStats, label: str) -> str:
    """'2 backend learners waiting on Job Board, 0 frontend; you are #1 in line.'"""
    mine, theirs = line.track, other_track(line.track)
    sentence = (
        f"{plural(line.waiting_on(mine), mine + ' learner')} waiting on {label}, "
        f"{line.waiting_on(theirs)} {theirs}; you are #{line.position} in line."
    )
    if line.counterparts_skipped:
        sentence += (
            f" ({plural(line.counterparts_skipped, theirs + ' learner')} waiting already met you, so I won't"
            " propose them again.)"
        )
    return sentence


def format_find(result: FindResult, partner_name: str, project_names: ProjectNames) -> str:
    choice = result.choice
    label = project_names(choice.project_key, choice.project_name)
    if result.kind == "proposed" and result.proposal is not None:
        expires = format_dt(result.proposal.expires_at, "R")
        return (
            f"Found you a possible partner: {describe(result.partner, partner_name)}. I've sent you both a proposal "
            f"by DM with Accept / Decline buttons; it expires {expires}."
        )
    if result.kind == "already_proposed" and result.proposal is not None:
        expires = format_dt(result.proposal.expires_at, "R")
        return (
            f"You already have a pending proposal with {describe(result.partner, partner_name)}. "
            f"Answer it in your DMs (or with the buttons in `/match status`); it expires {expires}."
        )
    if result.kind == "partnered":
        return (
            "You already have a partner on this project. `/match status` shows your team thread; "
            "`/match unpair` ends the partnership if you need a new one."
        )
    assert result.line is not None  # noqa: S101 - "waiting" always carries the line
    opening = (
        "You're still in the pool." if result.rejoined else f"You're in the pool for **{label}** ({choice.track})."
    )
    return f"{opening} {line_sentence(result.line, label)} I'll DM you as soon as a partner appears."


def format_proposal(
    proposal: Proposal, partner: Choice | None, partner_name: str, project_names: ProjectNames
) -> discord.Embed:
    label = project_names(proposal.project_key, partner.project_name if partner else None)
    embed = discord.Embed(
        title=f"Partner proposal: {clip(label, 200)}",
        description=(
            f"{describe(partner, partner_name)} could be your partner. Accept if you'd like to build together; "
            "when you both accept, I'll open a private thread for the two of you."
        ),
        colour=COLOUR,
    )
    if partner is not None:
        embed.add_field(name="Their project", value=clip(label, 1024), inline=True)
        embed.add_field(name="Their track", value=partner.track, inline=True)
        embed.add_field(name="Their timezone", value=partner.timezone or "not given", inline=True)
        if partner.repo_url:
            embed.add_field(name="Their repo", value=clip(partner.repo_url, 1024), inline=False)
    embed.add_field(
        name="Answer by",
        value=f"{format_dt(proposal.expires_at, 'f')} ({format_dt(proposal.expires_at, 'R')})",
        inline=False,
    )
    embed.set_footer(text="Decline keeps you in the pool for someone else; you two won't be proposed again.")
    return embed


def format_proposal_label(proposal: Proposal, partner: Choice | None, project_names: ProjectNames) -> str:
    return project_names(proposal.project_key, partner.project_name if partner else None)


def format_closed(title: str, text: str) -> discord.Embed:
    return discord.Embed(title=clip(title, 256), description=clip(text, EMBED_DESCRIPTION_LIMIT), colour=COLOUR)


def format_intro(
    team: Team, people: Mapping[int, Choice], names: Mapping[int, str], project_names: ProjectNames
) -> discord.Embed:
    label = project_names(team.project_key, next((c.project_name for c in people.values()), None))
    embed = discord.Embed(
        title=f"Team {clip(label, 200)}",
        description="You're partners now. Here is who is who, and a checklist to get going.",
        colour=COLOUR,
    )
    for member in team.members:
        choice = people.get(member.user_id)
        lines = [f"**Track:** {member.track}"]
        if choice is not None:
            lines.append(f"**Project:** {label}")
            lines.append(f"**Timezone:** {choice.timezone or 'not given'}")
            lines.append(f"**Repo:** {choice.repo_url or 'not shared yet'}")
        embed.add_field(name=clip(names.get(member.user_id, "learner"), 256), value=clip("\n".join(lines), 1024))
    embed.add_field(name="First steps", value=FIRST_STEPS, inline=False)
    return embed


def format_status(
    status: MatchStatus, user_id: int, names: Mapping[int, str], project_names: ProjectNames, ttl_note: str = ""
) -> str:
    if status.team is not None:
        partners = ", ".join(
            describe(status.people.get(member.user_id), names.get(member.user_id, "learner"))
            for member in status.team.others(user_id)
        )
        thread = f" Your thread: <#{status.team.thread_id}>." if status.team.thread_id else ""
        since = format_dt(status.team.created_at, "D")
        return f"**Partnered** with {partners} since {since}.{thread} `/match unpair` ends it."
    if status.proposal is not None:
        proposal = status.proposal
        other = proposal.other(user_id)
        mine = proposal.answer_of(user_id) or "not answered yet"
        theirs = proposal.answer_of(other) or "not answered yet"
        expires = format_dt(proposal.expires_at, "f")
        return (
            f"**Proposed** with {describe(status.people.get(other), names.get(other, 'learner'))}. "
            f"You: {mine}; them: {theirs}. Expires {expires} ({format_dt(proposal.expires_at, 'R')})."
        )
    if status.entry is not None and status.line is not None:
        label = project_names(status.entry.project_key, status.choice.project_name if status.choice else None)
        since = format_dt(status.entry.queued_at, "R")
        return (
            f"**Waiting** for a {other_track(status.entry.track)} partner on {label} since {since}. "
            + line_sentence(status.line, label)
        )
    if status.choice is None:
        return "You're not in matching, and you haven't announced a project yet: run `/announce`, then `/match find`."
    return "You're not in the matching pool. Run `/match find` to look for a partner."


def format_board(rows: Sequence[BoardRow], project_names: ProjectNames) -> discord.Embed:
    embed = discord.Embed(title="Matching board: who is waiting", colour=COLOUR)
    if not rows:
        embed.description = "Nobody is waiting for a partner right now."
        return embed
    lines: list[str] = []
    size = 0
    for index, row in enumerate(rows):
        line = (
            f"**{clip(project_names(row.project_key, row.label), 80)}** — "
            f"frontend {row.frontend_waiting} · backend {row.backend_waiting} · "
            f"oldest wait {format_dt(row.oldest_wait, 'R')}"
        )
        rest = len(rows) - index
        if size + len(line) + 40 > EMBED_DESCRIPTION_LIMIT:
            lines.append(f"…and {plural(rest, 'more project')}.")
            break
        lines.append(line)
        size += len(line) + 1
    embed.description = "\n".join(lines)
    waiting = sum(row.frontend_waiting + row.backend_waiting for row in rows)
    embed.set_footer(text=f"{plural(waiting, 'learner')} waiting across {plural(len(rows), 'project')}")
    return embed


def format_alone(alone: AloneLearner, run: LeftoverRun, project_names: ProjectNames) -> str:
    label = project_names(alone.project_key, run.label(alone.project_key))
    wanted = other_track(alone.track)
    text = (
        f"No partner yet on **{label}**: nobody on the {wanted} track is waiting there, and every team on it is "
        "full (or you've already worked with them). You stay in the pool and I'll DM you the moment someone joins."
    )
    if alone.pointers:
        options = ", ".join(
            f"{project_names(p.project_key, run.label(p.project_key))} ({p.waiting} {wanted} waiting)"
            for p in alone.pointers
        )
        text += f" If you're open to another project, {wanted} learners are waiting on: {options}."
    return text


def format_run(run: LeftoverRun, names: Mapping[int, str], project_names: ProjectNames) -> str:
    lines = [f"Seated {plural(len(run.plan.joins), 'learner')} as third members; {len(run.plan.alone)} still alone."]
    for join in run.plan.joins:
        team = run.teams.get(join.team_id)
        label = project_names(team.project_key, run.label(team.project_key)) if team else "their project"
        lines.append(f"• {names.get(join.user_id, 'learner')} ({join.track}) joined team #{join.team_id} on {label}")
    for alone in run.plan.alone:
        lines.append(
            f"• {names.get(alone.user_id, 'learner')} ({alone.track}) is still alone on "
            f"{project_names(alone.project_key, run.label(alone.project_key))}"
        )
    return clip("\n".join(lines), 2000)


# ------------------------------------------------------------------------------------------------ the cog


class MatchingCog(commands.Cog):
    match = app_commands.Group(
        name="match", description="Find a partner on the other track for your project", guild_only=True
    )

    def __init__(self, bot: NexusBot, project_names: ProjectNames) -> None:
        self.bot = bot
        self.project_names = project_names
        self.store = MatchingStore(bot.db, proposal_ttl_hours=bot.settings.proposal_ttl_hours)
        self.proposal_button = bind_proposal_button(self.on_proposal_button)
        self.find_cooldown = Cooldown(bot.settings.command_cooldown_seconds)
        self.recovery: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(self.proposal_button)
        # The database is the source of truth: every open proposal gets its expiry timer back, and one that fell
        # due while the bot was down fires straight away.
        for proposal in await self.store.pending_proposals():
            self.arm_expiry(proposal)
        # Started here, not in on_ready (which fires again on every reconnect): once per start-up.
        self.recovery = asyncio.create_task(self.recover(), name="matching-recovery")

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(self.proposal_button)
        if self.recovery is not None:
            self.recovery.cancel()
        for name in self.bot.scheduler.job_names():
            if name.startswith((EXPIRY_JOB.format(""), REDELIVER_JOB.format(""))):
                self.bot.scheduler.cancel(name)

    async def recover(self) -> None:
        """Finish what a stop between two writes left undone: matching that no longer fits an announcement
        (the event was lost), and proposal copies that were never delivered (stopped before the DMs)."""
        await self.bot.wait_until_ready()
        try:
            for drift in await self.store.drifted():
                await self.repair(drift)
            for proposal in await self.store.pending_proposals():
                if await self.deliver_missing(proposal):
                    self.arm_redelivery(proposal.id, 1)
        except Exception:
            log.exception("matching recovery at start-up failed; it runs again at the next start")

    async def repair(self, drift: Drift) -> None:
        log.warning("repairing matching guild=%s user=%s reason=%s", drift.guild_id, drift.user_id, drift.reason)
        now = self.bot.now()
        if drift.reason == "moved":
            departure = await self.store.drop_if_moved(drift.guild_id, drift.user_id, now)
        else:
            departure = await self.store.remove_learner(drift.guild_id, drift.user_id, now)
        if departure is not None:
            await self.after_departure(drift.guild_id, departure, DRIFT_TEXT[drift.reason])

    # -------------------------------------------------------------------------------------- commands

    @match.command(name="find", description="Join the pool for your announced project and get a partner proposal")
    async def find(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        # It may DM another learner, so it is rate-limited per person.
        self.find_cooldown.use(interaction.user.id, self.bot.now())
        result = await self.store.find(guild.id, interaction.user.id, self.bot.now())
        partner = result.proposal.other(interaction.user.id) if result.proposal else None
        partner_name = self.name_of(guild.id, partner, result.partner) if partner else ""
        # The proposal is recorded: deliver it even if Discord refuses this answer.
        await respond(interaction, clip(format_find(result, partner_name, self.project_names), 2000))
        if result.kind == "proposed" and result.proposal is not None:
            failed = await self.send_proposals([result.proposal])
            if interaction.user.id in failed:
                await respond(interaction, OWN_COPY_FAILED)

    @match.command(name="status", description="Where you are in matching: waiting, proposed or partnered")
    async def status(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        status = await self.store.status(guild.id, interaction.user.id)
        names = {user: self.name_of(guild.id, user, choice) for user, choice in status.people.items()}
        text = format_status(status, interaction.user.id, names, self.project_names)
        proposal = status.proposal
        if proposal is None or proposal.answer_of(interaction.user.id) is not None:
            await interaction.response.send_message(clip(text, 2000), ephemeral=True)
            return
        # The same persistent buttons as the DM: a lost or deleted DM never strands a proposal.
        view = self.proposal_view(proposal.id, interaction.user.id)
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
            text = f"You withdrew from the proposal with {self.name_of(guild.id, other)} and left the pool."
        await respond(interaction, text + " Run `/match find` whenever you want back in.")
        await self.after_departure(guild.id, departure, "withdrew from the proposal")

    @match.command(name="unpair", description="End your partnership (asks you to confirm)")
    async def unpair(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        team = await self.store.active_team_for(guild.id, interaction.user.id)
        if team is None:
            raise NotFound("You don't have a partner right now, so there is nothing to unpair.")
        others = ", ".join(self.name_of(guild.id, member.user_id) for member in team.others(interaction.user.id))
        view = UnpairConfirm(interaction.user.id, self.confirm_unpair)
        await interaction.response.send_message(
            f"End your partnership with {others}? You won't be proposed to each other again.", view=view, ephemeral=True
        )

    @match.command(
        name="pair", description="Staff: pair two learners directly, skipping consent", extras=staff_command()
    )
    @app_commands.describe(first="A learner on one track", second="A learner on the other track, same project")
    @app_commands.check(ensure_staff)
    async def pair(self, interaction: Interaction, first: discord.Member, second: discord.Member) -> None:
        guild = guild_of(interaction)
        await require_config(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.store.pair(guild.id, first.id, second.id, interaction.user.id, self.bot.now())
        log.info(
            "staff pair guild=%s by=%s team=%s members=%s,%s",
            guild.id,
            interaction.user.id,
            result.team.id,
            first.id,
            second.id,
        )
        for update in result.withdrawn:
            await self.after_proposal(update, reason="was paired with someone else by staff")
        team = await self.start_team(result.team, note=f"Staff ({interaction.user.display_name}) paired you directly.")
        await self.send_proposals(result.new_proposals)
        thread = (
            f" Thread: <#{team.thread_id}>."
            if team.thread_id
            else " (I couldn't open their thread; they were told by DM.)"
        )
        await interaction.followup.send(
            f"Paired {first.display_name} and {second.display_name}.{thread} Logged as team #{team.id}.", ephemeral=True
        )

    @match.command(
        name="board",
        description="Staff: waiting learners per project and track, and the oldest wait",
        extras=staff_command(),
    )
    @app_commands.check(ensure_staff)
    async def board(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        rows = await self.store.board(guild.id)
        await interaction.response.send_message(embed=format_board(rows, self.project_names), ephemeral=True)

    @match.command(
        name="run",
        description="Staff: seat leftover learners in existing teams as third members",
        extras=staff_command(),
    )
    @app_commands.check(ensure_staff)
    async def run(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        await require_config(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.store.run_leftovers(guild.id, interaction.user.id, self.bot.now())
        log.info(
            "staff run guild=%s by=%s joined=%d alone=%d",
            guild.id,
            interaction.user.id,
            len(result.plan.joins),
            len(result.plan.alone),
        )
        await self.announce_joins(result)
        for alone in result.plan.alone:
            await self.deliver(guild.id, alone.user_id, content=format_alone(alone, result, self.project_names))
        people = [join.user_id for join in result.plan.joins] + [alone.user_id for alone in result.plan.alone]
        names = {user: self.name_of(guild.id, user) for user in people}
        await interaction.followup.send(format_run(result, names, self.project_names), ephemeral=True)

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
            # Answered, expired or withdrawn meanwhile: say so where they clicked, and take the buttons away.
            await interaction.response.edit_message(embed=format_closed("Partner proposal", str(closed)), view=None)
            return
        proposal = update.proposal
        other = proposal.other(user_id)
        other_name = self.name_of(proposal.guild_id, other)
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
        await self.after_proposal(update, reason="declined", skip_message=skip)

    async def confirm_unpair(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        departure = await self.store.unpair(guild.id, interaction.user.id, self.bot.now())
        await respond(
            interaction,
            "Done: you're no longer partners. Run `/match find` to look for someone new.",
            edit=True,
            view=None,
        )
        await self.after_departure(guild.id, departure, "ended the partnership")

    # -------------------------------------------------------------------------------------- events

    @commands.Cog.listener()
    async def on_nexus_announcement_changed(
        self, guild_id: int, user_id: int, previous_project_key: str | None
    ) -> None:
        departure = await self.store.drop_if_moved(guild_id, user_id, self.bot.now())
        if departure is not None:
            await self.after_departure(guild_id, departure, "changed their project or track")

    @commands.Cog.listener()
    async def on_nexus_announcement_withdrawn(self, guild_id: int, user_id: int) -> None:
        departure = await self.store.remove_learner(guild_id, user_id, self.bot.now())
        await self.after_departure(guild_id, departure, "withdrew their project choice")

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        if payload.user.bot:
            return
        departure = await self.store.remove_learner(payload.guild_id, payload.user.id, self.bot.now())
        await self.after_departure(payload.guild_id, departure, "left the server")

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
        label = self.project_names(proposal.project_key, await self.store.project_label(guild_id, proposal.project_key))
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
            await self.deliver(guild_id, user, content=text)
        if settlement.state == "expired":
            channel = await self.channel_mention(guild_id)
            for user in settlement.leave:
                await self.deliver(
                    guild_id,
                    user,
                    content=(
                        f"Your partner proposal on {label} expired without your answer, so you've left the pool. "
                        f"Run `/match find`{channel} whenever you want back in."
                    ),
                )
        await self.send_proposals(update.new_proposals)

    async def after_departure(self, guild_id: int, departure: Departure, reason: str) -> None:
        for update in departure.withdrawn:
            await self.after_proposal(update, reason=reason)
        change, team = departure.team_change, departure.team
        if change is None or team is None:
            return
        leaver = self.name_of(guild_id, departure.user_id)
        label = self.project_names(team.project_key, await self.store.project_label(guild_id, team.project_key))
        for member in change.remaining:
            if change.ends:
                text = f"{leaver} {reason}, so your team on {label} has ended. Run `/match find` for a new partner."
            else:
                others = ", ".join(self.name_of(guild_id, m.user_id) for m in change.remaining if m != member)
                text = f"{leaver} {reason} and left your team on {label}; you're still a team with {others}."
            await self.deliver(guild_id, member.user_id, content=text)
        if team.thread_id is not None:
            await self.post_in_thread(team.thread_id, f"{leaver} {reason} and left this team.")

    async def close_deliveries(self, proposal: Proposal, text: str, skip_message: int | None) -> None:
        """Take the buttons off each learner's copy so nobody answers a closed proposal."""
        for _user, channel_id, message_id in await self.store.deliveries(proposal.id):
            if message_id == skip_message:
                continue
            message = self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)
            try:
                await message.edit(
                    embed=format_closed("Partner proposal (closed)", text),
                    view=None,
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            except discord.HTTPException:
                log.info("could not close proposal message proposal=%s message=%s", proposal.id, message_id)

    # -------------------------------------------------------------------------------------- delivery

    def proposal_view(self, proposal_id: int, user_id: int) -> discord.ui.View:
        view = discord.ui.View(timeout=None)
        for action in BUTTONS:
            view.add_item(self.proposal_button(proposal_id, user_id, action))
        return view

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
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            kwargs: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
            if embed is not None:
                kwargs["embed"] = embed
            if view is not None:
                kwargs["view"] = view
            return await user.send(content=clip(content, 2000) if content else None, **kwargs), "dm"
        except discord.Forbidden as error:
            log.info("DMs closed guild=%s user=%s code=%s; using the fallback thread", guild_id, user_id, error.code)
        except discord.HTTPException:
            log.warning("could not DM guild=%s user=%s", guild_id, user_id, exc_info=True)
            return None
        return await self.deliver_in_thread(guild_id, user_id, content=content, embed=embed, view=view)

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
        parent = await self.configured_channel(guild_id)
        if parent is None:
            return None
        name = self.name_of(guild_id, user_id)
        thread = await parent.create_thread(
            name=clip(f"Nexus · {name}", 100), type=discord.ChannelType.private_thread, invitable=False
        )
        await thread.add_user(discord.Object(user_id))
        await self.store.save_fallback_thread(guild_id, user_id, thread.id, self.bot.now())
        return thread

    async def start_team(self, team: Team, note: str = "") -> Team:
        """Open the team's private thread with the intro, and DM everyone a link to it."""
        guild_id = team.guild_id
        people = await self.store.choices(guild_id, team.member_ids)
        names = {
            member.user_id: self.name_of(guild_id, member.user_id, people.get(member.user_id))
            for member in team.members
        }
        label = self.project_names(team.project_key, next((c.project_name for c in people.values()), None))
        intro = format_intro(team, people, names, self.project_names)
        thread: discord.Thread | None = None
        parent = await self.configured_channel(guild_id)
        try:
            if parent is not None:
                opened = await parent.create_thread(
                    name=clip(f"{label} · " + " & ".join(names.values()), 100),
                    type=discord.ChannelType.private_thread,
                    invitable=False,
                )
                for member in team.members:
                    await opened.add_user(discord.Object(member.user_id))
                mentions = " ".join(f"<@{member.user_id}>" for member in team.members)
                await opened.send(
                    f"{mentions} meet your partner! {note}".strip(),
                    embed=intro,
                    allowed_mentions=discord.AllowedMentions(users=[discord.Object(m.user_id) for m in team.members]),
                )
                await self.store.set_team_thread(team.id, opened.id)
                thread = opened
        except discord.HTTPException:
            # Half a thread is no thread: everyone gets the intro by DM instead.
            log.warning("could not open the team thread guild=%s team=%s", guild_id, team.id, exc_info=True)
        for member in team.members:
            others = " and ".join(names[m.user_id] for m in team.others(member.user_id))
            where = f" Your private thread: {thread.mention}." if thread else ""
            text = f"You and {others} are now partners on {label}!{where} {note}".strip()
            await self.deliver(guild_id, member.user_id, content=text, embed=None if thread else intro)
        if thread is None:
            return team
        return replace(team, thread_id=thread.id)

    async def announce_joins(self, run: LeftoverRun) -> None:
        for join in run.plan.joins:
            team = run.teams.get(join.team_id)
            if team is None:
                continue
            guild_id = team.guild_id
            label = self.project_names(team.project_key, run.label(team.project_key))
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
            await self.deliver(
                guild_id,
                join.user_id,
                content=(
                    f"Nobody on the {other_track(join.track)} track was free on {label}, so you've joined "
                    f"{names}'s team as a third member.{where}"
                ),
            )
            for member in others:
                await self.deliver(
                    guild_id,
                    member.user_id,
                    content=f"{newcomer} ({join.track}) joins your team on {label} as a third member.{where}",
                )

    # -------------------------------------------------------------------------------------- helpers

    def name_of(self, guild_id: int, user_id: int | None, choice: Choice | None = None) -> str:
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

    async def configured_channel(self, guild_id: int) -> discord.TextChannel | None:
        config = await self.bot.admin_store.get_config(guild_id)
        if config is None:
            return None
        channel = self.bot.get_channel(config.channel_id)
        if channel is None:
            try:
                channel = await self.bot.fetch_channel(config.channel_id)
            except discord.HTTPException:
                return None
        return channel if isinstance(channel, discord.TextChannel) else None

    async def channel_mention(self, guild_id: int) -> str:
        config = await self.bot.admin_store.get_config(guild_id)
        return f" in <#{config.channel_id}>" if config else ""

    async def post_in_thread(self, thread_id: int, text: str) -> None:
        try:
            await self.bot.get_partial_messageable(thread_id).send(
                text, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException:
            log.info("could not post in team thread %s", thread_id)


async def setup(bot: NexusBot) -> None:
    catalogue = load_projects(bot.settings.content_dir / PROJECTS_FILE)
    await bot.add_cog(MatchingCog(bot, ProjectNames(catalogue)))
