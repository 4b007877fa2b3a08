"""Matching's words: what learners and staff read about proposals, teams, the pool and the leftover run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import discord
from discord.utils import format_dt

from bot.checkins import Attention
from bot.matching import (
    AloneLearner,
    BoardRow,
    Choice,
    FindResult,
    LeftoverRun,
    LineStats,
    MatchStatus,
    Proposal,
    Team,
    other_track,
)
from bot.projects import ProjectNames
from bot.text import link, shown
from cogs.common import clip

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
OWN_COPY_FAILED = (
    "I couldn't deliver your copy of the proposal just now (Discord refused it). `/match status` shows it with the "
    "Accept / Decline buttons, and I'll try your DMs again in a few minutes."
)
THREAD_REFUSED = (
    "Discord refused to open your team thread just now; nothing else changed. Try the button again in a few "
    "minutes: when the thread opens, I'll DM you both the link."
)
NO_THREAD_YET = "Your team thread isn't open yet: **Create our thread** opens it now."
EMBED_DESCRIPTION_LIMIT = 4096
COLOUR = discord.Colour.blurple()


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def describe(choice: Choice | None, name: str) -> str:
    """'**Ada** (frontend, Africa/Lagos)'. Partners share one project; the reply names it once, by display name."""
    if choice is None:
        return f"**{name}**"
    zone = f", {shown(choice.timezone)}" if choice.timezone else ""
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
    label = shown(project_names(choice.project_key, choice.project_name), 100)
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
        title=f"Partner proposal: {shown(label, 150)}",
        description=(
            f"{describe(partner, partner_name)} could be your partner. Accept if you'd like to build together; "
            "when you both accept, I'll open a private thread for the two of you."
        ),
        colour=COLOUR,
    )
    if partner is not None:
        embed.add_field(name="Their project", value=shown(label, 500), inline=True)
        embed.add_field(name="Their track", value=partner.track, inline=True)
        embed.add_field(name="Their timezone", value=shown(partner.timezone or "not given", 100), inline=True)
        if partner.repo_url:
            embed.add_field(name="Their repo", value=clip(link(partner.repo_url), 1024), inline=False)
    embed.add_field(
        name="Answer by",
        value=f"{format_dt(proposal.expires_at, 'f')} ({format_dt(proposal.expires_at, 'R')})",
        inline=False,
    )
    embed.set_footer(text="Decline keeps you in the pool for someone else; you two won't be proposed again.")
    return embed


def format_proposal_label(proposal: Proposal, partner: Choice | None, project_names: ProjectNames) -> str:
    return shown(project_names(proposal.project_key, partner.project_name if partner else None), 100)


def format_closed(title: str, text: str) -> discord.Embed:
    return discord.Embed(title=clip(title, 256), description=clip(text, EMBED_DESCRIPTION_LIMIT), colour=COLOUR)


def format_intro(
    team: Team, people: Mapping[int, Choice], names: Mapping[int, str], project_names: ProjectNames
) -> discord.Embed:
    label = project_names(team.project_key, next((c.project_name for c in people.values()), None))
    embed = discord.Embed(
        title=f"Team {shown(label, 150)}",
        description="You're partners now. Here is who is who, and a checklist to get going.",
        colour=COLOUR,
    )
    for member in team.members:
        choice = people.get(member.user_id)
        lines = [f"**Track:** {member.track}"]
        if choice is not None:
            lines.append(f"**Project:** {shown(label, 300)}")
            lines.append(f"**Timezone:** {shown(choice.timezone or 'not given', 100)}")
            lines.append(f"**Repo:** {link(choice.repo_url) if choice.repo_url else 'not shared yet'}")
        embed.add_field(name=clip(names.get(member.user_id, "learner"), 256), value=clip("\n".join(lines), 1024))
    embed.add_field(name="First steps", value=FIRST_STEPS, inline=False)
    return embed


def format_status(status: MatchStatus, user_id: int, names: Mapping[int, str], project_names: ProjectNames) -> str:
    if status.team is not None:
        partners = ", ".join(
            describe(status.people.get(member.user_id), names.get(member.user_id, "learner"))
            for member in status.team.others(user_id)
        )
        thread = f" Your thread: <#{status.team.thread_id}>." if status.team.thread_id else f" {NO_THREAD_YET}"
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
        label = shown(
            project_names(status.entry.project_key, status.choice.project_name if status.choice else None), 100
        )
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
            f"**{shown(project_names(row.project_key, row.label), 80)}** — "
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
    label = shown(project_names(alone.project_key, run.label(alone.project_key)), 100)
    wanted = other_track(alone.track)
    text = (
        f"No partner yet on **{label}**: nobody on the {wanted} track is waiting there, and every team on it is "
        "full (or you've already worked with them). You stay in the pool and I'll DM you the moment someone joins."
    )
    if alone.pointers:
        options = ", ".join(
            f"{shown(project_names(p.project_key, run.label(p.project_key)), 100)} ({p.waiting} {wanted} waiting)"
            for p in alone.pointers
        )
        text += f" If you're open to another project, {wanted} learners are waiting on: {options}."
    elif alone.seats:
        options = ", ".join(
            f"{shown(project_names(p.project_key, run.label(p.project_key)), 100)} ({plural(p.waiting, 'team')})"
            for p in alone.seats
        )
        text += (
            f" If you're open to another project, teams there have room for a {alone.track} learner: {options}. "
            "Announce it with `/announce`, run `/match find`, and Nexus seats you at its next round."
        )
    return text


def format_run_progress(run: LeftoverRun, told: int) -> str:
    """The line staff watch while /match run tells each learner still alone where they stand, one DM at a time;
    the summary (format_run) replaces it at the end."""
    total = len(run.plan.alone)
    seated = f"Seated {plural(len(run.plan.joins), 'learner')} as third members."
    return f"⏳ {seated} Telling the {total} still alone where they stand: {told}/{total}…"


def format_run(run: LeftoverRun, names: Mapping[int, str], project_names: ProjectNames) -> str:
    lines = [f"Seated {plural(len(run.plan.joins), 'learner')} as third members; {len(run.plan.alone)} still alone."]
    for join in run.plan.joins:
        team = run.teams.get(join.team_id)
        label = shown(project_names(team.project_key, run.label(team.project_key)), 100) if team else "their project"
        lines.append(f"• {names.get(join.user_id, 'learner')} ({join.track}) joined team #{join.team_id} on {label}")
    for alone in run.plan.alone:
        lines.append(
            f"• {names.get(alone.user_id, 'learner')} ({alone.track}) is still alone on "
            f"{shown(project_names(alone.project_key, run.label(alone.project_key)), 100)}"
        )
    return clip("\n".join(lines), 2000)


def format_attention(
    embed: discord.Embed, items: Sequence[Attention], names: Mapping[int, str], project_names: ProjectNames
) -> discord.Embed:
    """The board's "needs attention" list: teams with a quiet member or an unanswered check-in."""
    if not items:
        return embed
    lines: list[str] = []
    for item in items:
        who = ", ".join(names.get(user, "a learner") for user in item.user_ids)
        label = shown(project_names(item.project_key, None), 80)
        thread = f" · <#{item.thread_id}>" if item.thread_id else ""
        if item.reason == "quiet":
            lines.append(f"• **{label}** team #{item.team_id}: {who} went quiet{thread}")
        else:
            since = format_dt(item.since, "R")
            lines.append(f"• **{label}** team #{item.team_id}: check-in from {since} unanswered by {who}{thread}")
    text = "\n".join(lines)
    if len(text) > 1024:
        text = clip(text, 1000) + f"\n…{plural(len(items), 'team')} in all"
    embed.add_field(name=f"Needs attention ({len(items)})", value=text, inline=False)
    return embed
