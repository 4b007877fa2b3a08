"""Matching end to end through SimCord: find, proposal DMs, answers, teams, expiry, closed DMs and restarts."""

from __future__ import annotations

from typing import Any

import discord
import pytest
import simcord

from bot import Settings
from tests.conftest import World, build_world, restart

HOURS = 3600


async def announce(
    world: World,
    member: Any,
    track: str,
    project: str = "job-board",
    timezone: str | None = None,
    repo: str | None = None,
) -> None:
    options: dict[str, Any] = {"project": project, "track": track}
    if timezone is not None:
        options["timezone"] = timezone
    if repo is not None:
        options["repo"] = repo
    result = await member.slash(world.channel, "announce", **options)
    assert result.acknowledged, result


def dms(member: Any) -> list[discord.Message]:
    return list(member.user.dm_channel.history())


def proposal_dm(member: Any) -> discord.Message:
    """The learner's latest DM that still carries proposal buttons."""
    with_buttons = [message for message in dms(member) if message.components]
    assert with_buttons, f"no proposal DM for {member.name}: {[m.content for m in dms(member)]}"
    return with_buttons[-1]


def button_labels(message: discord.Message) -> list[str]:
    return [child.label for row in message.components for child in row.children]  # type: ignore[union-attr]


async def status(world: World, member: Any) -> str:
    result = await member.slash(world.channel, "match status")
    assert result.ephemeral
    return str(result.response.content)


async def pair_up(world: World, backend: Any, frontend: Any) -> discord.Thread:
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    await backend.user.click(proposal_dm(backend), label="Accept")
    await frontend.user.click(proposal_dm(frontend), label="Accept")
    threads = [thread for thread in world.channel.threads if " & " in (thread.name or "")]
    assert threads
    return threads[-1]


async def test_happy_path_find_propose_accept_team(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend", timezone="Africa/Lagos", repo="https://github.com/ada/job-board-api")
    await announce(world, frontend, "frontend", timezone="Europe/Berlin")

    waiting = await backend.slash(world.channel, "match find")
    assert waiting.ephemeral
    assert "1 backend learner waiting on Job Board, 0 frontend; you are #1 in line" in waiting.response.content
    assert dms(backend) == []

    found = await frontend.slash(world.channel, "match find")
    assert found.ephemeral and "learner0" in found.response.content

    for member, partner_track in ((backend, "frontend"), (frontend, "backend")):
        message = proposal_dm(member)
        assert button_labels(message) == ["Accept", "Decline", "Decline and leave the pool"]
        fields = {field.name: field.value for field in message.embeds[0].fields}
        assert fields["Their track"] == partner_track
    assert "<t:" in proposal_dm(backend).embeds[0].fields[-1].value  # expiry shown with a Discord timestamp
    assert "proposed" in (await status(world, backend)).lower()

    first = await backend.user.click(proposal_dm(backend), label="Accept")
    assert "Waiting for learner1" in first.response.embeds[0].description
    assert not first.response.components  # buttons gone once answered
    second = await frontend.user.click(proposal_dm(frontend), label="Accept")
    assert "partners" in second.response.embeds[0].description

    [thread] = world.channel.threads
    assert thread.is_thread
    intro = thread.history()[0]
    assert backend.mention in intro.content and frontend.mention in intro.content
    fields = {field.name: field.value for field in intro.embeds[0].fields}
    assert "**Project:** Job Board\n" in fields["learner0"] and "Africa/Lagos" in fields["learner0"]
    assert "https://github.com/ada/job-board-api" in fields["learner0"]
    assert "**Project:** Job Board\n" in fields["learner1"] and "Europe/Berlin" in fields["learner1"]
    assert (
        "OpenAPI" in fields["First steps"] and "endpoints" in fields["First steps"] and "call" in fields["First steps"]
    )
    # Private: the two partners see it, another learner does not.
    assert thread.history(viewer=backend) and thread.history(viewer=frontend)
    with pytest.raises(simcord.SetupError):
        thread.history(viewer=world.learners[2])
    for member in (backend, frontend):
        assert thread.mention in dms(member)[-1].content
        assert "Partnered" in await status(world, member) and thread.mention in await status(world, member)
    simcord.assert_no_errors(world.env)


async def test_find_without_announcement_points_to_announce(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "match find")
    assert result.ephemeral and "/announce" in result.response.content
    assert "not in matching" in await status(world, world.learners[0])


async def test_decline_requeues_the_other_and_keeps_the_decliner(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")

    declined = await frontend.user.click(proposal_dm(frontend), label="Decline")
    assert "You stay in the pool" in declined.response.embeds[0].description
    told = dms(backend)[-1]
    assert "declined" in told.content and "front of the line" in told.content
    assert not dms(backend)[-2].components  # their copy of the proposal is closed too
    assert "Waiting" in await status(world, backend) and "Waiting" in await status(world, frontend)

    # That pair is never proposed again, whoever asks.
    again = await frontend.slash(world.channel, "match find")
    assert "already met you" in again.response.content

    # The next backend learner is proposed to the decliner right away.
    newcomer = world.learners[2]
    await announce(world, newcomer, "backend")
    result = await newcomer.slash(world.channel, "match find")
    assert "learner1" in result.response.content
    assert proposal_dm(frontend).embeds[0].description.startswith("**learner2**")


async def test_decline_then_the_requeued_learner_is_proposed_again_at_once(world: World) -> None:
    first_backend, second_backend, frontend = world.learners[0], world.learners[1], world.learners[2]
    await announce(world, first_backend, "backend")
    await announce(world, second_backend, "backend")
    await announce(world, frontend, "frontend")
    await first_backend.slash(world.channel, "match find")
    await second_backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    await first_backend.user.click(proposal_dm(first_backend), label="Decline")
    # The frontend learner did nothing wrong: back to the front, and proposed to the next backend at once.
    assert proposal_dm(frontend).embeds[0].description.startswith("**learner1**")
    assert "Proposed" in await status(world, second_backend)


async def test_decline_and_leave_the_pool(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    result = await backend.user.click(proposal_dm(backend), label="Decline and leave the pool")
    assert "left the pool" in result.response.embeds[0].description
    assert "not in the matching pool" in await status(world, backend)
    assert "Waiting" in await status(world, frontend)


async def test_expiry_after_48_hours(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    await backend.user.click(proposal_dm(backend), label="Accept")

    await world.env.advance_time(47 * HOURS)
    assert "Proposed" in await status(world, frontend)
    await world.env.advance_time(1 * HOURS + 1)

    assert "didn't answer" in dms(backend)[-1].content and "front of the line" in dms(backend)[-1].content
    told = dms(frontend)[-1].content
    assert "expired without your answer" in told and "/match find" in told
    assert not [message for message in dms(frontend) if message.components]  # the buttons are gone
    assert "Waiting" in await status(world, backend)
    assert "not in the matching pool" in await status(world, frontend)


async def test_closed_dms_fall_back_to_a_private_thread(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    world.env.inject_error(
        "POST", f"/channels/{frontend.user.dm_channel.id}/messages", status=403, code=50007, times=None
    )
    await frontend.slash(world.channel, "match find")

    assert dms(frontend) == []
    [fallback] = [thread for thread in world.channel.threads if thread.name and "Nexus" in thread.name]
    message = fallback.history(viewer=frontend)[-1]
    assert frontend.mention in message.content
    assert "Privacy Settings" in message.content and "Allow direct messages" in message.content
    assert button_labels(message) == ["Accept", "Decline", "Decline and leave the pool"]
    with pytest.raises(simcord.SetupError):
        fallback.history(viewer=world.learners[2])  # private to them

    await backend.user.click(proposal_dm(backend), label="Accept")
    clicked = await frontend.click(message, label="Accept")
    assert "partners" in clicked.response.embeds[0].description
    # Later notices to them reuse the same fallback thread.
    assert "now partners" in fallback.history(viewer=frontend)[-1].content


async def test_buttons_check_who_clicks(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    world.env.inject_error(
        "POST", f"/channels/{frontend.user.dm_channel.id}/messages", status=403, code=50007, times=None
    )
    await frontend.slash(world.channel, "match find")
    [fallback] = [thread for thread in world.channel.threads if thread.name and "Nexus" in thread.name]
    moderator_role = world.guild.create_role("Moderator", permissions=discord.Permissions(manage_threads=True))
    moderator = world.guild.add_member(world.env.create_user("moderator"), roles=[moderator_role])
    result = await moderator.click(fallback.history(viewer=moderator)[-1], label="Accept")
    assert result.ephemeral and "belong to the learner" in result.response.content
    assert "not answered yet" in await status(world, frontend)


async def test_pending_proposal_survives_restart_and_buttons_still_work(simcord_env: Any, settings: Settings) -> None:
    world = await build_world(simcord_env)
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")

    bot = await restart(simcord_env, settings)
    assert any(name.startswith("proposal-expiry:") for name in bot.scheduler.job_names())
    await backend.user.click(proposal_dm(backend), label="Accept")
    result = await frontend.user.click(proposal_dm(frontend), label="Accept")
    assert "partners" in result.response.embeds[0].description
    assert [thread for thread in world.channel.threads if " & " in (thread.name or "")]
    assert not [name for name in bot.scheduler.job_names() if name.startswith("proposal-expiry:")]


async def test_expiry_timer_is_rearmed_after_restart(simcord_env: Any, settings: Settings) -> None:
    world = await build_world(simcord_env)
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    await restart(simcord_env, settings)
    await simcord_env.advance_time(48 * HOURS + 1)
    assert "expired without your answer" in dms(backend)[-1].content
    assert "expired without your answer" in dms(frontend)[-1].content


async def test_a_proposal_that_fell_due_while_down_expires_on_start_up(simcord_env: Any, settings: Settings) -> None:
    world = await build_world(simcord_env)
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    await frontend.user.click(proposal_dm(frontend), label="Accept")
    simcord_env.bot.scheduler.shutdown()  # the bot is "down": nothing fires while time passes
    await simcord_env.advance_time(50 * HOURS)
    assert "Proposed" in await status(world, backend)

    await restart(simcord_env, settings)
    assert "expired without your answer" in dms(backend)[-1].content
    assert "front of the line" in dms(frontend)[-1].content


async def test_leave_the_pool_and_withdraw_from_a_proposal(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    nobody = await backend.slash(world.channel, "match leave")
    assert nobody.ephemeral and "not in the matching pool" in nobody.response.content
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    left = await backend.slash(world.channel, "match leave")
    assert "left the matching pool" in left.response.content
    assert "not in the matching pool" in await status(world, backend)

    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    withdrawn = await frontend.slash(world.channel, "match leave")
    assert "withdrew from the proposal with learner0" in withdrawn.response.content
    told = dms(backend)[-1].content
    assert "learner1 withdrew" in told and "front of the line" in told
    assert "Waiting" in await status(world, backend)
    assert not [message for message in dms(backend) if message.components]


async def test_unpair_with_confirmation(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    nothing = await backend.slash(world.channel, "match unpair")
    assert "nothing to unpair" in nothing.response.content
    thread = await pair_up(world, backend, frontend)

    asked = await backend.slash(world.channel, "match unpair")
    assert asked.ephemeral and "learner1" in asked.response.content
    cancelled = await backend.click(asked.response, label="Cancel")
    assert "still partners" in cancelled.response.content
    assert "Partnered" in await status(world, backend)

    asked = await backend.slash(world.channel, "match unpair")
    done = await backend.click(asked.response, label="Unpair")
    assert "no longer partners" in done.response.content
    assert "learner0 ended the partnership" in dms(frontend)[-1].content
    assert "ended the partnership" in thread.history()[-1].content
    # Both may look again, and are never proposed to each other.
    await backend.slash(world.channel, "match find")
    again = await frontend.slash(world.channel, "match find")
    assert "already met you" in again.response.content


async def test_changing_project_drops_a_pending_proposal(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    await announce(world, frontend, "frontend", project="online-poll")
    assert "changed their project or track" in dms(backend)[-1].content
    assert "Waiting" in await status(world, backend)
    assert "not in the matching pool" in await status(world, frontend)


async def test_withdrawing_ends_the_team_and_tells_the_partner(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await pair_up(world, backend, frontend)
    asked = await frontend.slash(world.channel, "withdraw")
    await frontend.click(asked.response, label=button_labels(asked.response.message)[0])
    assert "withdrew their project choice" in dms(backend)[-1].content
    assert "has ended" in dms(backend)[-1].content
    assert "not in the matching pool" in await status(world, backend)


async def test_leaving_the_server_removes_them_from_matching(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    world.guild.remove_member(frontend)
    await world.env.settle()
    assert "left the server" in dms(backend)[-1].content
    assert "Waiting" in await status(world, backend)


async def test_fifty_simultaneous_finds_through_discord(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    members = [world.add_learner(f"crowd{i}") for i in range(50)]
    tracks = ["frontend"] * 20 + ["backend"] * 30
    for member, track in zip(members, tracks, strict=True):
        await announce(world, member, track)
    env = world.env

    async def no_settle(**_: Any) -> None:
        return None

    # Dispatch all fifty interactions before the bot handles any of them, then let them race.
    monkeypatch.setattr(env, "_settle_internal", no_settle)
    results = [await member.slash(world.channel, "match find") for member in members]
    monkeypatch.undo()
    await env.settle()

    assert all(result.acknowledged for result in results)
    proposed = [member for member in members if [m for m in dms(member) if m.components]]
    assert len(proposed) == 20 * 2
    per_member = {member.name: len([m for m in dms(member) if m.components]) for member in proposed}
    assert set(per_member.values()) == {1}
    simcord.assert_no_errors(env)


async def test_a_stale_copy_answers_that_the_proposal_is_closed(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    stale = proposal_dm(frontend)
    # Closing the frontend learner's copy fails, so its buttons survive the decline.
    world.env.inject_error("PATCH", f"/channels/{frontend.user.dm_channel.id}/messages/*", status=500)
    await backend.user.click(proposal_dm(backend), label="Decline")
    assert proposal_dm(frontend).id == stale.id

    result = await frontend.user.click(stale, label="Accept")
    assert "no longer open" in result.response.embeds[0].description
    assert not result.response.components
    assert "Waiting" in await status(world, frontend)


async def test_partners_get_the_intro_by_dm_when_the_thread_cannot_be_opened(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    world.env.inject_error("POST", f"/channels/{world.channel.id}/threads", status=403, code=50013)
    await backend.user.click(proposal_dm(backend), label="Accept")
    await frontend.user.click(proposal_dm(frontend), label="Accept")
    assert not world.channel.threads
    for member in (backend, frontend):
        told = dms(member)[-1]
        assert "now partners" in told.content
        assert "First steps" in [field.name for field in told.embeds[0].fields]
        assert "Partnered" in await status(world, member)
