"""Projects' words: announcement posts, the board, one project, /me, and the forgetting dialog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.privacy import Forgotten
from bot.projects import (
    Announcement,
    AnnounceOutcome,
    BoardRow,
    LearnerStatus,
    Page,
    ProjectMember,
    ProjectNames,
    Roster,
    Track,
    is_custom_key,
    other_track,
)
from bot.text import link, shown
from cogs.common import clip

TRACK_COLOURS = {"backend": discord.Colour.dark_teal(), "frontend": discord.Colour.orange()}
NOT_SET_UP = (
    "Staff have not run `/nexus setup` yet, so there is no announcement channel: "
    "your announcement will be posted there as soon as they do."
)


def track_label(track: Track) -> str:
    return track.capitalize()


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def safe_text(text: str) -> str:
    """User text shown as written: one rule (`bot.text.shown`) for every name and summary a message shows."""
    return shown(text, multiline=True)


def project_name(item: Announcement, names: ProjectNames) -> str:
    """The project's one display name, as every projects reply shows it (official: neutral; custom: as typed)."""
    return names(item.project_key, item.project_name)


def track_detail(item: Announcement, names: ProjectNames) -> str:
    """` (E-Commerce Product Catalog)`: the brief's title for the learner's track, secondary to the name."""
    title = names.track_title(item.project_key, item.track)
    return f" ({safe_text(title)})" if title else ""


@dataclass(frozen=True)
class Delivery:
    """What became of the public post for the learner's announcement."""

    posted: discord.Message | None = None
    error: str | None = None
    unconfigured: bool = False


def counterpart_hint(row: BoardRow, track: Track) -> str:
    other = other_track(track)
    count = row.count(other)
    if count:
        learners = plural(count, f"{other} learner")
        return f"{learners} on this project — use `/match find` to pair up."
    return f"No {other} learners on this project yet — use `/match find` to join the line and hear when one arrives."


RETIRED_REPLACED = "changed their announcement: this one is out of date, see their newer post."
RETIRED_WITHDRAWN = "withdrew this announcement."


def format_retired(item: Announcement, how: str, names: ProjectNames) -> discord.Embed:
    """What an ended announcement's public post becomes: the old choice struck through, and why."""
    custom = " (custom project)" if is_custom_key(item.project_key) else ""
    embed = discord.Embed(
        title=clip(f"~~{shown(project_name(item, names), 150)}~~{custom}", 256),
        description=f"<@{item.user_id}> {how}",
        colour=discord.Colour.light_grey(),
    )
    # What it said stays readable as history; the call to action ("find your partner") goes.
    embed.add_field(name="Track", value=track_label(item.track), inline=True)
    if item.late:
        embed.add_field(name="Late", value="Announced after week one.", inline=True)
    return embed


def format_announcement(item: Announcement, row: BoardRow, names: ProjectNames) -> discord.Embed:
    """The public post, and the learner's private copy of what was recorded."""
    custom = " (custom project)" if is_custom_key(item.project_key) else ""
    name = project_name(item, names)
    lines = [
        f"<@{item.user_id}> is building **{safe_text(name)}**{custom} on the {item.track} track"
        f"{track_detail(item, names)}."
    ]
    if item.summary:
        lines.append(f"\n{safe_text(item.summary)}")
    embed = discord.Embed(
        title=clip(f"{shown(name, 150)}{custom}", 256),
        description=clip("\n".join(lines), 4096),
        colour=TRACK_COLOURS[item.track],
    )
    embed.add_field(name="Track", value=track_label(item.track), inline=True)
    if item.timezone:
        embed.add_field(name="Timezone", value=shown(item.timezone, 100), inline=True)
    if item.repo_url:
        embed.add_field(name="Repository", value=clip(link(item.repo_url), 1024), inline=False)
    if item.late:
        embed.add_field(name="Late", value="Announced after week one.", inline=True)
    embed.add_field(name="Find your partner", value=counterpart_hint(row, item.track), inline=False)
    return embed


def format_recorded(outcome: AnnounceOutcome, delivery: Delivery, channel_id: int | None, names: ProjectNames) -> str:
    item = outcome.announcement
    where = f"<#{channel_id}>" if channel_id else "the announcement channel"
    if not outcome.changed:
        head = "Nothing changed: this is already your current announcement."
    elif outcome.previous is not None:
        previous = f"{safe_text(project_name(outcome.previous, names))}, {outcome.previous.track}"
        head = f"Recorded. It replaces your previous choice ({previous}); history is kept."
    else:
        head = "Recorded."
    if delivery.unconfigured:
        tail = NOT_SET_UP
    elif delivery.error:
        tail = (
            f"I could not post it in {where} ({delivery.error}). It is saved, staff can see the problem in the "
            "log, and I will post it with the next announcement or after staff re-run `/nexus setup`."
        )
    elif delivery.posted is not None:
        tail = f"Posted in {where}: {delivery.posted.jump_url}"
    else:
        tail = f"It is already posted in {where}."
    late = " It is marked late (after week one) — that is fine, go and find your partner." if item.late else ""
    return f"{head} {tail}{late}"


def format_board(page: Page) -> discord.Embed:
    embed = discord.Embed(
        title="Projects in this cohort",
        description="Learners per project and track; `/project name:` shows who they are.",
        colour=discord.Colour.blurple(),
    )
    for row in page.rows:
        counts = (
            f"Backend {row.backend} · Frontend {row.frontend} · paired {row.paired} · waiting {row.waiting}"
            if row.total
            else "Nobody yet — be the first with `/announce`."
        )
        embed.add_field(name=shown(row.name, 200), value=counts, inline=False)
    embed.set_footer(text=f"Page {page.number + 1}/{page.count}")
    return embed


def _names(members: Sequence[ProjectMember], total: int, limit: int = 1024) -> str:
    """One name per line, as many as fit in `limit` characters, then how many of `total` are left out."""
    lines: list[str] = []
    used = 0  # characters so far, newlines included
    for index, member in enumerate(members):
        marks = [
            label for label, on in (("left", member.left), ("paired", member.paired), ("looking", member.waiting)) if on
        ]
        line = shown(member.display_name, 80) + (f" ({', '.join(marks)})" if marks else "")
        rest = f"… and {total - index} more"
        if used + len(line) + len(rest) + 2 > limit:
            lines.append(rest)
            break
        lines.append(line)
        used += len(line) + 1
    else:
        if total > len(members):
            lines.append(f"… and {total - len(members)} more")
    return "\n".join(lines) or "Nobody yet."


def format_project(name: str, description: str, roster: Roster) -> discord.Embed:
    embed = discord.Embed(title=shown(name, 150), description=clip(description, 4096), colour=discord.Colour.blurple())
    for track in ("backend", "frontend"):
        embed.add_field(
            name=f"{track_label(track)} ({roster.present(track)})",
            value=_names(roster.on_track[track], roster.on_track_count[track]),
            inline=True,
        )
    embed.add_field(
        name="Looking for a partner",
        value=_names(roster.looking, roster.looking_count) if roster.looking else "Nobody is waiting right now.",
        inline=False,
    )
    return embed


def format_status(status: LearnerStatus, names: ProjectNames) -> discord.Embed:
    embed = discord.Embed(title="Your Nexus status", colour=discord.Colour.blurple())
    item = status.announcement
    if item is None:
        embed.add_field(name="Project", value="Not announced yet — use `/announce`.", inline=False)
    else:
        details = [f"**{safe_text(project_name(item, names))}** — {item.track}{track_detail(item, names)}"]
        if item.summary:
            details.append(safe_text(item.summary))
        if item.repo_url:
            details.append(link(item.repo_url))
        if item.timezone:
            details.append(f"Timezone: {item.timezone}")
        details.append(f"Announced {discord.utils.format_dt(item.created_at, 'R')}" + (" (late)" if item.late else ""))
        if not item.is_posted:
            details.append("Not posted in the channel yet.")
        embed.add_field(name="Project", value=clip("\n".join(details), 1024), inline=False)
    match = status.match
    partners = ", ".join(f"<@{user_id}>" for user_id in match.partner_ids)
    if match.state == "partnered":
        thread = f" in <#{match.thread_id}>" if match.thread_id else ""
        text = f"Partnered with {partners}{thread}."
    elif match.state == "proposed":
        expires = f", answer {discord.utils.format_dt(match.expires_at, 'R')}" if match.expires_at else ""
        text = f"Proposed to {partners}{expires}."
    elif match.state == "waiting":
        since = f" since {discord.utils.format_dt(match.since, 'R')}" if match.since else ""
        text = f"Waiting for a partner{since}."
    else:
        text = "Not looking yet — use `/match find`." if item else "Announce first, then use `/match find`."
    embed.add_field(name="Partner", value=text, inline=False)
    reminders = "Off — turn them on with `/reminders on`." if status.reminders_opt_out else "On."
    embed.add_field(name="Reminders", value=reminders, inline=False)
    return embed


def format_forget_preview(found: Forgotten) -> str:
    return (
        f"Delete your Nexus data in this server? That is: {found.describe()}. Your public announcement posts are "
        "taken down, any pending proposal is withdrawn and any team ends; your partner's team record stays, "
        "without your name or id. This cannot be undone."
    )


def format_forgotten(forgotten: Forgotten) -> str:
    return f"Done: deleted {forgotten.describe()}. Nexus no longer holds data about you in this server."
