"""Week one's automatic seating through SimCord: leftovers become third members after a wait (or on the seat day)
without anyone running `/match run`, the rest are told where there is room, and staff get the summary."""

from __future__ import annotations

from typing import Any

import pytest

from bot.settings import Settings
from tests.conftest import World
from tests.test_matching_flow import announce, dms, pair_up, status

HOUR = 3_600
DAY = 24 * HOUR


def seating_summaries(channel: Any) -> list[str]:
    """The staff channel also gets reminder reports: only matching's summaries."""
    return [m.content for m in channel.history() if m.content.startswith("Automatic seating (week one)")]


async def with_staff_channel(world: World) -> Any:
    staff_channel = world.guild.create_text_channel("staff")
    result = await world.staff.slash(
        world.channel,
        "nexus setup",
        channel=world.channel,
        cohort_start=world.env.now().date().isoformat(),
        timezone="UTC",
        learner_role=world.learner_role,
        staff_role=world.staff_role,
        staff_channel=staff_channel,
    )
    assert "Saved" in result.response.content
    return staff_channel


async def test_leftovers_are_seated_on_the_seat_day_and_staff_told(world: World) -> None:
    staff_channel = await with_staff_channel(world)
    backend, frontend, extra, spare = world.learners
    await announce(world, backend, "backend", timezone="Africa/Lagos")
    await announce(world, frontend, "frontend", timezone="Africa/Lagos")
    thread = await pair_up(world, backend, frontend)
    polled = world.add_learner("pollster")
    pollteam = world.add_learner("pollfront")
    await announce(world, polled, "backend", project="online-poll")
    await announce(world, pollteam, "frontend", project="online-poll")
    await pair_up(world, polled, pollteam)
    for member in (extra, spare):
        await announce(world, member, "backend")
        await member.slash(world.channel, "match find")

    # A few hours in, nobody has been moved: a counterpart may still come.
    await world.env.advance_time(3 * HOUR)
    assert "Waiting" in await status(world, extra)
    assert not seating_summaries(staff_channel)

    # Six hours' wait on the longer line (backend): the earliest is seated, the next run after the wait.
    await world.env.advance_time(6 * HOUR + 60)
    assert "third member" in dms(extra)[-1].content
    assert "Partnered" in await status(world, extra)
    assert "learner2 (backend) joins your team" in dms(frontend)[-1].content
    assert extra.mention in thread.history()[-1].content
    [summary] = seating_summaries(staff_channel)
    assert "Seated 1 learner as third members; 1 still alone" in summary
    # The spare is not moved to another project without consent: they are told, once, that the Job Board team is
    # full and the Online Poll team has room.
    assert "Waiting" in await status(world, spare)
    told = dms(spare)[-1].content
    assert "No partner yet on **Job Board**" in told and "Online Poll System (1 team)" in told

    # Later runs do not repeat it; the seat day's run tells everyone still alone once more, and staff again.
    await world.env.advance_time(3 * HOUR)
    assert sum("No partner yet" in m.content for m in dms(spare)) == 1
    await world.env.advance_time(5 * DAY - 12 * HOUR)
    assert sum("No partner yet" in m.content for m in dms(spare)) == 2
    assert len(seating_summaries(staff_channel)) == 2
    entries = await world.env.bot.get_cog("MatchingCog").store.log_entries(world.guild.id)
    assert {(action, details.get("automatic")) for _, action, details, _ in entries} == {("run", True)}
    await world.env.advance_time(DAY)
    assert sum("No partner yet" in m.content for m in dms(spare)) == 2


class TestTurnedOff:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_overrides(auto_seat_day=None, seat_after_hours=None)

    async def test_leftovers_wait_for_staff(self, world: World) -> None:
        backend, frontend, extra, _ = world.learners
        await announce(world, backend, "backend")
        await announce(world, frontend, "frontend")
        await pair_up(world, backend, frontend)
        await announce(world, extra, "backend")
        await extra.slash(world.channel, "match find")
        await world.env.advance_time(6 * DAY)
        assert "Waiting" in await status(world, extra)
        # `/match run` still seats them.
        await world.staff.slash(world.channel, "match run")
        assert "Partnered" in await status(world, extra)
