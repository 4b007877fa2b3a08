"""Cohorts through SimCord: /nexus cohort create, list, close; two cohorts side by side in one server never cross."""

from __future__ import annotations

from typing import Any

import pytest

from bot import Settings
from tests.conftest import World, restart


async def second_cohort(world: World, *, timezone: str = "America/New_York") -> tuple[Any, Any, list[Any]]:
    """Cohort B: its own channel, role and two learners, created by staff next to the world's cohort."""
    channel = world.guild.create_text_channel("cohort-b")
    role = world.guild.create_role("Learner B")
    learners = [world.guild.add_member(world.env.create_user(f"b{i}"), roles=[role]) for i in range(2)]
    result = await world.staff.slash(
        world.channel,
        "nexus cohort create",
        name="ProDev BE Cohort 6",
        start=world.env.now().date().isoformat(),
        timezone=timezone,
        channel=channel,
        learner_role=role,
    )
    assert result.ephemeral and "Created **ProDev BE Cohort 6**" in result.response.content, result.response
    return channel, role, learners


async def waiting_in(world: World, cohort_name: str) -> set[int]:
    rows = await world.env.bot.db.fetchall(
        "SELECT p.user_id FROM match_pool p JOIN cohorts c ON c.id = p.cohort_id WHERE c.name = ?", (cohort_name,)
    )
    return {row["user_id"] for row in rows}


async def test_setup_made_the_only_cohort_and_list_shows_both(world: World) -> None:
    listed = await world.staff.slash(world.channel, "nexus cohort list")
    assert listed.ephemeral
    first = listed.response.embeds[0].description
    assert f"Cohort {world.env.now().date().isoformat()}" in first and "open" in first
    await second_cohort(world)
    both = (await world.staff.slash(world.channel, "nexus cohort list")).response.embeds[0].description
    assert "ProDev BE Cohort 6" in both and "<#" in both and "0 announced" in both


async def test_two_cohorts_side_by_side_never_match_across_and_survive_a_restart(
    world: World, settings: Settings
) -> None:
    channel_b, _, (b_front, b_back) = await second_cohort(world)
    a_back = world.learners[0]
    await a_back.slash(world.channel, "announce", project="job-board", track="backend")
    await b_front.slash(channel_b, "announce", project="job-board", track="frontend")
    await a_back.slash(world.channel, "match find")
    found = await b_front.slash(channel_b, "match find")
    # Same project, opposite tracks, but different cohorts: both wait, nobody is proposed to.
    assert not [m for m in b_front.user.dm_channel.history() if m.components] if b_front.user.dm_channel else True
    assert "waiting" in found.response.content.lower() or "line" in found.response.content.lower(), found.response
    assert await waiting_in(world, "ProDev BE Cohort 6") == {b_front.id}

    await restart(world.env, settings)
    await b_back.slash(channel_b, "announce", project="job-board", track="backend")
    await b_back.slash(channel_b, "match find")
    proposals = await world.env.bot.db.fetchall("SELECT frontend_id, backend_id, cohort_id FROM proposals")
    assert [(row["frontend_id"], row["backend_id"]) for row in proposals] == [(b_front.id, b_back.id)]
    # The post went to cohort B's channel, not to the first cohort's.
    assert any("b1" in (m.content or "") or m.embeds for m in channel_b.history())


async def test_closing_a_cohort_empties_its_pool_tells_those_waiting_and_leaves_the_other(world: World) -> None:
    channel_b, _, (b_front, _) = await second_cohort(world)
    a_back = world.learners[0]
    await a_back.slash(world.channel, "announce", project="job-board", track="backend")
    await a_back.slash(world.channel, "match find")
    await b_front.slash(channel_b, "announce", project="ecommerce", track="frontend")
    await b_front.slash(channel_b, "match find")

    asked = await world.staff.slash(channel_b, "nexus cohort close")
    assert asked.ephemeral and "Close **ProDev BE Cohort 6**" in asked.response.content
    dialog = next(m for m in channel_b.history(viewer=world.staff) if m.components)
    done = await world.staff.click(dialog, label="Close it")
    assert "Closed **ProDev BE Cohort 6**" in str(done.response.content if done.response else done)

    assert await waiting_in(world, "ProDev BE Cohort 6") == set()
    assert a_back.id in await waiting_in(world, f"Cohort {world.env.now().date().isoformat()}")
    told = [m.content for m in b_front.user.dm_channel.history()]
    assert any("has closed" in text for text in told), told
    # Closed: nothing changes any more there, and staff are told so.
    again = await b_front.slash(channel_b, "announce", project="job-board", track="frontend")
    assert again.ephemeral and "has closed" in again.response.content


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"name": "   "}, "needs a name"),
        ({"name": "x" * 61}, "at most 60"),
        ({"name": "Cohort @everyone <@&1>", "timezone": "Mars/Olympus"}, "not a timezone I know"),
        ({"start": "someday"}, "not a real date"),
    ],
)
async def test_create_refuses_bad_values_privately_and_saves_nothing(
    world: World, options: dict[str, str], expected: str
) -> None:
    channel = world.guild.create_text_channel("cohort-x")
    values = {"name": "Cohort X", "start": "2026-06-01", "timezone": "UTC", "channel": channel, **options}
    result = await world.staff.slash(world.channel, "nexus cohort create", **values)
    assert result.ephemeral and expected in result.response.content, result.response
    assert len(await world.env.bot.cohort_store.cohorts(world.guild.id)) == 1


async def test_hostile_names_are_shown_inert_and_unknown_cohorts_listed(world: World) -> None:
    channel = world.guild.create_text_channel("cohort-y")
    made = await world.staff.slash(
        world.channel,
        "nexus cohort create",
        name="@everyone [x](https://evil)",
        start="2026-06-01",
        timezone="UTC",
        channel=channel,
    )
    assert "\\@everyone" in made.response.content and "\\[x\\]" in made.response.content
    duplicate = await world.staff.slash(
        world.channel,
        "nexus cohort create",
        name="@EVERYONE [x](https://evil)",
        start="2026-06-01",
        timezone="UTC",
        channel=channel,
    )
    assert "already has a cohort" in duplicate.response.content
    unknown = await world.staff.slash(world.channel, "nexus cohort edit", cohort="<@1> " + "z" * 150)
    assert unknown.ephemeral and "no cohort called" in unknown.response.content
    assert "<@1>" not in unknown.response.content
    offered = await world.staff.autocomplete(world.channel, "nexus cohort edit", "cohort", "every")
    assert [choice["name"] for choice in offered] == ["@everyone [x](https://evil) (upcoming, starts 2026-06-01)"]
