"""Staff matching commands through SimCord: /match pair, /match board, /match run, and who may use them."""

from __future__ import annotations

from typing import Any

import discord
import pytest
import simcord

from tests.conftest import World
from tests.test_matching_flow import announce, dms, pair_up, proposal_dm, status


@pytest.mark.parametrize(("command", "options"), [("match board", {}), ("match run", {}), ("match pair", "members")])
async def test_learners_cannot_use_staff_commands(world: World, command: str, options: Any) -> None:
    learner = world.learners[0]
    if options == "members":
        options = {"first": world.learners[1], "second": world.learners[2]}
    result = await learner.slash(world.channel, command, **options)
    assert result.ephemeral and result.response.content.startswith("You need")
    simcord.assert_error(world.env, discord.app_commands.CheckFailure)


async def test_staff_pair_skips_consent_and_is_logged(world: World) -> None:
    backend, frontend, other = world.learners[0], world.learners[1], world.learners[2]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await announce(world, other, "backend")
    await other.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")  # proposed to `other`, who joined first

    result = await world.staff.slash(world.channel, "match pair", first=frontend, second=backend)
    assert result.ephemeral
    reply = result.response.content
    assert "Paired learner1 and learner0" in reply and "team #" in reply
    [thread] = [thread for thread in world.channel.threads if " & " in (thread.name or "")]
    assert "paired you directly" in thread.history()[0].content
    for member in (backend, frontend):
        assert "now partners" in dms(member)[-1].content and thread.mention in dms(member)[-1].content
    # The pending proposal with `other` was withdrawn: they are told and back at the front.
    assert "paired with someone else by staff" in dms(other)[-1].content
    assert "Waiting" in await status(world, other)

    entries = await world.env.bot.get_cog("MatchingCog").store.log_entries(world.guild.id)
    assert [(actor, action) for actor, action, _, _ in entries] == [(world.staff.id, "pair")]


@pytest.mark.parametrize(
    ("tracks", "projects", "expected"),
    [
        (("backend", "backend"), ("job-board", "job-board"), "Both learners are on the backend track"),
        (
            ("frontend", "backend"),
            ("job-board", "online-poll"),
            "different projects (Job Board and Online Poll System)",
        ),
    ],
)
async def test_staff_pair_refuses_what_makes_no_sense(
    world: World, tracks: tuple[str, str], projects: tuple[str, str], expected: str
) -> None:
    first, second = world.learners[0], world.learners[1]
    await announce(world, first, tracks[0], project=projects[0])
    await announce(world, second, tracks[1], project=projects[1])
    result = await world.staff.slash(world.channel, "match pair", first=first, second=second)
    assert expected in result.response.content
    assert not world.channel.threads


async def test_board_shows_waiting_counts_and_oldest_wait(world: World) -> None:
    empty = await world.staff.slash(world.channel, "match board")
    assert "Nobody is waiting" in empty.response.embeds[0].description
    first, second, third = world.learners[0], world.learners[1], world.learners[2]
    await announce(world, first, "backend")
    await announce(world, second, "backend")
    await announce(world, third, "frontend", project="online-poll")
    for member in (first, second, third):
        await member.slash(world.channel, "match find")
        await world.env.advance_time(600)
    result = await world.staff.slash(world.channel, "match board")
    assert result.ephemeral
    embed = result.response.embeds[0]
    lines = embed.description.splitlines()
    assert lines[0].startswith("**Job Board** — frontend 0 · backend 2 · oldest wait <t:")
    assert lines[1].startswith("**Online Poll System** — frontend 1 · backend 0")
    assert embed.footer.text == "3 learners waiting across 2 projects"


async def test_board_stays_within_discord_limits(world: World) -> None:
    members = [world.add_learner(f"crowd{i}") for i in range(70)]
    for index, member in enumerate(members):
        await announce(world, member, "backend", project=f"Side project number {index:02d}")
        await member.slash(world.channel, "match find")
    embed = (await world.staff.slash(world.channel, "match board")).response.embeds[0]
    assert len(embed.description) <= 4096 and len(embed) <= 6000
    assert "more project" in embed.description.splitlines()[-1]


async def test_run_seats_leftovers_and_points_the_rest_elsewhere(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend", timezone="Africa/Lagos")
    await announce(world, frontend, "frontend", timezone="Africa/Lagos")
    thread = await pair_up(world, backend, frontend)
    extra, spare = world.learners[2], world.learners[3]
    elsewhere = world.add_learner("pollster")
    await announce(world, extra, "backend")
    await announce(world, spare, "backend")
    await announce(world, elsewhere, "frontend", project="online-poll")
    for member in (extra, spare, elsewhere):
        await member.slash(world.channel, "match find")

    result = await world.staff.slash(world.channel, "match run")
    reply = result.response.content
    assert "Seated 1 learner as third members; 2 still alone." in reply
    assert "learner2 (backend) joined team" in reply

    # The third member is in the team's thread, introduced, and everyone is told.
    assert extra.mention in thread.history()[-1].content
    assert thread.history(viewer=extra)
    assert "third member" in dms(extra)[-1].content and thread.mention in dms(extra)[-1].content
    for member in (backend, frontend):
        assert "learner2 (backend) joins your team" in dms(member)[-1].content
    assert "Partnered" in await status(world, extra)
    # Never more than three: the next backend is told plainly, and pointed to a project with a waiting frontend.
    told = dms(spare)[-1].content
    assert "No partner yet on **Job Board**" in told and "Online Poll System (1 frontend waiting)" in told
    assert "Job Board (2 backend waiting)" not in dms(elsewhere)[-1].content
    assert "Waiting" in await status(world, spare)


async def test_staff_commands_are_listed_for_staff_in_help(world: World) -> None:
    result = await world.staff.slash(world.channel, "help")
    fields = {field.name: field.value for field in result.response.embeds[0].fields}
    assert "/match pair" in fields["For staff · Matching"] and "/match find" in fields["For learners · Your partner"]


async def test_proposal_dm_after_staff_run_is_untouched(world: World) -> None:
    # /match run never touches people who still have a counterpart waiting: they get proposals, not teams.
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    result = await world.staff.slash(world.channel, "match run")
    assert "Seated 0 learners as third members; 0 still alone." in result.response.content
    assert proposal_dm(backend).components


async def test_run_shows_staff_its_progress_while_it_tells_many_learners_still_alone(world: World) -> None:
    alone = [world.add_learner(f"solo{number}") for number in range(12)]
    for member in alone:
        await announce(world, member, "backend")
        await member.slash(world.channel, "match find")

    result = await world.staff.slash(world.channel, "match run")

    edits = [
        entry.json["content"]
        for entry in world.env.http_requests
        if entry.method == "PATCH" and entry.path.endswith("/messages/@original") and entry.json
    ]
    progress = [text for text in edits if text.startswith("⏳")]
    # A line before the first DM and one before each later one (12 is under twenty: no step is skipped).
    assert progress[0] == "⏳ Seated 0 learners as third members. Telling the 12 still alone where they stand: 0/12…"
    assert progress[-1].endswith("11/12…") and len(progress) == 12
    # The summary replaces the progress line, in the same private message.
    assert result.ephemeral and not result.followups
    assert result.response.content.startswith("Seated 0 learners as third members; 12 still alone.")
    for member in alone:
        assert "No partner yet on **Job Board**" in dms(member)[-1].content


async def test_run_progress_refused_by_discord_loses_no_dm_and_still_shows_the_summary(world: World) -> None:
    alone = [world.add_learner(f"solo{number}") for number in range(10)]
    for member in alone:
        await announce(world, member, "backend")
        await member.slash(world.channel, "match find")
    world.env.inject_error("PATCH", "/webhooks/*/*/messages/@original", status=500, times=100)

    result = await world.staff.slash(world.channel, "match run")

    # Still "thinking" (no edit was taken): the summary comes as the follow-up that replaces it.
    assert result.response.content.startswith("Seated 0 learners as third members; 10 still alone.")
    for member in alone:
        assert "No partner yet on **Job Board**" in dms(member)[-1].content
