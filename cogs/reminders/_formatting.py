"""Reminders' words: the staff schedule and preview, progress lines, the digest and summary embeds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from bot.reminders import (
    AUDIENCE_LABELS,
    Cohort,
    DeliveryFailure,
    Reminder,
    Roster,
    SkippedRun,
    clip,
    digest_text,
    local_time,
    staff_summary,
)

if TYPE_CHECKING:
    from cogs.reminders._delivery import Outcome

DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1000


def format_opt_out(opt_out: bool) -> str:
    if opt_out:
        return (
            "Done: Nexus will not DM you week-one reminders. Posts in the channel still appear there. "
            "`/reminders on` turns the DMs back on."
        )
    return "Done: you will get week-one reminder DMs again. `/reminders off` stops them."


def format_schedule(cohort: Cohort, lines: list[str], *, paused: bool) -> discord.Embed:
    embed = discord.Embed(
        title=f"Week-one reminders · cohort starting {cohort.cohort_start.isoformat()} ({cohort.timezone})",
        description=clip("\n".join(lines) or "No reminders in content/reminders.yaml.", DESCRIPTION_LIMIT),
        colour=discord.Colour.orange() if paused else discord.Colour.blurple(),
    )
    footer = "Paused: nothing is sent until /reminders resume." if paused else "Times are the cohort's local time."
    embed.set_footer(text=footer + " Audience sizes are as of now.")
    return embed


def format_preview_header(reminder: Reminder, cohort: Cohort, due_at: datetime | None, audience: str) -> discord.Embed:
    when = "not scheduled"
    if due_at is not None:
        when = f"{local_time(due_at, cohort.timezone):%a %d %b %H:%M} {cohort.timezone} ({due_at:%d %b %H:%M} UTC)"
    embed = discord.Embed(title=f"Preview: {reminder.id}", colour=discord.Colour.light_grey())
    embed.description = f"Day {reminder.day} · {when}\nAudience: {audience}"
    if reminder.is_dm:
        embed.description += "\nPlaceholders are filled in for you, as if you were one of the recipients."
    return embed


def format_digest(roster: Roster) -> discord.Embed:
    return discord.Embed(
        title="Who is building what", description=digest_text(roster, DESCRIPTION_LIMIT), colour=discord.Colour.green()
    )


def format_summary(roster: Roster, failures: list[DeliveryFailure], skipped: list[SkippedRun]) -> discord.Embed:
    embed = discord.Embed(title="Week one summary", colour=discord.Colour.gold())
    for section in staff_summary(roster, failures, skipped, FIELD_LIMIT):
        embed.add_field(name=section.title, value=section.text or "none", inline=False)
    return embed


def format_progress(reminder: Reminder, done: int, failed: int, total: int, *, final: bool) -> str:
    audience = AUDIENCE_LABELS[reminder.audience]
    if not final:
        return f"⏳ Reminder `{reminder.id}` to {audience}: sending {done}/{total}…"
    text = f"✅ Reminder `{reminder.id}` to {audience}: done, {done - failed}/{total} delivered."
    if failed:
        text += f" {failed} could not be reached by DM: they are listed in the next channel post and the staff summary."
    return text


def format_when(instant: datetime | None) -> str:
    return "" if instant is None else f" on {instant:%d %b %H:%M} UTC"


def format_paused(changed: bool) -> str:
    if not changed:
        return "Reminders were already paused here. `/reminders resume` starts them again."
    return (
        "Paused: no reminder is sent in this server until `/reminders resume` (a DM run in progress stops after "
        "the current message)."
    )


def format_resumed(changed: bool, outcome: Outcome, grace: timedelta) -> str:
    text = "Resumed." if changed else "Reminders were not paused."
    if outcome.started:
        text += " Sending now: " + ", ".join(f"`{r}`" for r in outcome.started) + "."
    if outcome.skipped:
        hours = grace.total_seconds() / 3600
        text += (
            f" Skipped as more than {hours:g} h late: " + ", ".join(f"`{r}`" for r in outcome.skipped) + "."
            " `/reminders send` still sends one by hand."
        )
    return text
