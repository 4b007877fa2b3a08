"""Helpers shared by the reminders SimCord tests: which reminder a message is, and time travel in day steps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import discord

from tests.conftest import World

DAY = 86400
# A phrase only that reminder's default text contains (content/reminders.yaml).
MARKERS = {
    "kickoff": "Welcome to week one",
    "announce-nudge": "You have not announced a project yet",
    "digest": "Midweek check",
    "partner-nudge": "Now find your partner",
    "two-days-left": "days left** in week one",
    "final-call": "Final call",
    "staff-summary": "Week one is over",
}


def reminder_of(message: discord.Message) -> str | None:
    for reminder_id, marker in MARKERS.items():
        if marker in message.content:
            return reminder_id
    return None


def reminders_in(channel: Any) -> list[tuple[str, datetime]]:
    """(reminder id, sent at) for every reminder the bot posted in a channel or DM, oldest first."""
    found = []
    for message in channel.history():
        reminder_id = reminder_of(message)
        if message.author.bot and reminder_id is not None:
            found.append((reminder_id, message.created_at))
    return found


def dm_reminders(member: Any) -> list[str]:
    return [reminder_id for reminder_id, _ in reminders_in(member.user.dm_channel)]


def posts(world: World) -> list[str]:
    return [reminder_id for reminder_id, _ in reminders_in(world.channel)]


async def advance_to(env: Any, when: datetime, *, step_days: float = 1) -> None:
    """Move the virtual clock to `when` in steps of at most `step_days` (each step has its own settle budget)."""
    while env.now() < when:
        step = min(DAY * step_days, (when - env.now()).total_seconds())
        await env.advance_time(step)


def at(world_start: datetime, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return world_start + timedelta(days=days, hours=hours, minutes=minutes)


async def match(world: World, backend: Any, frontend: Any) -> None:
    """Both run /match find on their (shared) project and accept the proposal: they are a team."""
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    for member in (backend, frontend):
        proposal = [m for m in member.user.dm_channel.history() if m.components][-1]
        await member.user.click(proposal, label="Accept")


async def announce(world: World, member: Any, track: str, project: str = "job-board") -> None:
    result = await member.slash(world.channel, "announce", project=project, track=track)
    assert result.followups or result.response, result


async def staff_reply(world: World, command: str, **options: Any) -> Any:
    """A staff command's private answer (they defer, so the answer may be a follow-up)."""
    result = await world.staff.slash(world.channel, command, **options)
    assert result.ephemeral, result
    return result.followups[-1] if result.followups else result.response
