"""Faults around the bot rather than in one call: a gateway reconnect, a database that refuses writes, a deleted
configured channel, and a stop between two writes (repaired at the next start-up)."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from bot import Settings, create_bot
from bot.matching import DELIVERY_TRIES, RETRY_DELAY
from bot.projects import AnnouncementDraft
from bot.storage.matching import MatchingStore
from bot.storage.projects import ProjectsStore
from tests.conftest import World, build_world, restart
from tests.reliability_helpers import request_problems, unexpected_errors

READ_ONLY = "read-only right now, so nothing was saved"
DISK_FULL = "disk is full, so nothing was saved"


def texts(result: Any) -> str:
    parts = [result.response.content if result.response else ""]
    parts += [followup.content for followup in result.followups]
    return "\n".join(parts)


def with_buttons(channel: Any) -> list[discord.Message]:
    return [message for message in channel.history() if message.components]


async def announce(world: World, member: Any, track: str, project: str = "job-board") -> Any:
    return await member.slash(world.channel, "announce", project=project, track=track)


async def proposed(world: World) -> tuple[Any, Any]:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    return backend, frontend


# ------------------------------------------------------------------------------------ gateway reconnect


def background_tasks() -> list[str]:
    names = ("nexus-", "matching-", "reminders-")
    return sorted(task.get_name() for task in asyncio.all_tasks() if task.get_name().startswith(names))


async def test_ready_firing_again_starts_nothing_twice(world: World) -> None:
    bot = world.env.bot
    await proposed(world)
    await world.staff.slash(world.channel, "reminders send", id="kickoff")
    jobs, tasks = bot.scheduler.job_names(), background_tasks()
    heartbeat = bot.get_cog("OpsCog").heartbeat_task
    assert any(name.startswith("proposal-expiry:") for name in jobs) and "nexus-heartbeat" in tasks
    sent_before = len([entry for entry in world.env.http_requests if entry.method == "POST"])

    # A reconnect: READY again (and RESUMED), as the gateway does after a dropped connection.
    for event in ("ready", "resumed", "ready"):
        bot.dispatch(event)
    await world.env.settle()

    assert bot.scheduler.job_names() == jobs
    assert background_tasks() == tasks
    assert bot.get_cog("OpsCog").heartbeat_task is heartbeat and not heartbeat.done()
    # Nothing was sent again: no proposal copies, no reminder posts, no recovery run.
    assert len([entry for entry in world.env.http_requests if entry.method == "POST"]) == sent_before
    assert world.env.bot.is_ready()


# ------------------------------------------------------------------------------------ storage refusing writes


async def make_read_only(world: World) -> None:
    await world.env.bot.db.set_pragma("query_only = ON")


async def allow_writes(world: World) -> None:
    await world.env.bot.db.set_pragma("query_only = OFF")


async def test_read_only_database_gives_clear_private_errors_and_the_bot_stays_up(world: World) -> None:
    backend, frontend = await proposed(world)
    ada = world.learners[2]
    withdraw_prompt = await backend.slash(world.channel, "withdraw")
    await make_read_only(world)

    attempts = {
        "announce": await announce(world, ada, "backend"),
        "match find": await ada.slash(world.channel, "match find"),
        "reminders off": await ada.slash(world.channel, "reminders off"),
        "nexus setup": await world.staff.slash(
            world.channel, "nexus setup", channel=world.channel, cohort_start="2026-01-05", timezone="UTC"
        ),
        "accept button": await frontend.user.click(with_buttons(frontend.user.dm_channel)[-1], label="Accept"),
        "withdraw button": await backend.click(withdraw_prompt.response, label="Confirm"),
    }
    for name, result in attempts.items():
        assert READ_ONLY in texts(result), (name, texts(result))
        assert result.ephemeral or name.endswith("button"), name
    # Reads still work: look-ups answer (their counter is skipped), and /me shows what is kept.
    topic = await ada.slash(world.channel, "topic", name="django")
    assert topic.response.embeds
    me = await backend.slash(world.channel, "me")
    assert "Job Board" in (me.response.embeds[0].fields[0].value or "")

    await allow_writes(world)
    assert "Recorded" in texts(await announce(world, ada, "backend"))
    store = ProjectsStore(world.env.bot.db)
    assert (await store.current(world.guild.id, backend.id)) is not None  # the refused withdrawal changed nothing
    proposal = await MatchingStore(world.env.bot.db).pending_proposal_for(world.guild.id, frontend.id)
    assert proposal is not None and proposal.answer_of(frontend.id) is None
    assert world.env.errors == []


async def test_full_disk_refuses_the_write_that_needs_space_and_the_bot_stays_up(world: World) -> None:
    db = world.env.bot.db
    pages = (await db.fetchone("PRAGMA page_count"))[0]
    await db.set_pragma(f"max_page_count = {pages}")
    store = ProjectsStore(db)
    refused = None
    for index in range(60):
        member = world.add_learner(f"filler{index}")
        result = await member.slash(
            world.channel, "announce", project=f"Project number {index}", track="backend", summary="x" * 300
        )
        if DISK_FULL in texts(result):
            refused = member
            break
        assert "Recorded" in texts(result), texts(result)
    assert refused is not None, "the database never filled up"
    assert await store.current(world.guild.id, refused.id) is None

    await db.set_pragma("max_page_count = 1073741823")
    again = await refused.slash(world.channel, "announce", project="Project again", track="backend")
    assert "Recorded" in texts(again)
    assert [tuple(row) for row in await db.fetchall("PRAGMA integrity_check")] == [("ok",)]
    assert world.env.errors == []


# ------------------------------------------------------------------------------------ deleted channel


async def test_deleted_channel_staff_are_told_and_nothing_is_lost(world: World) -> None:
    ada, grace = world.learners[:2]
    elsewhere = world.guild.create_text_channel("general")
    await world.env.bot.get_channel(world.channel.id).delete()
    await world.env.settle()

    result = await announce_in(elsewhere, ada, "backend")
    assert "the channel no longer exists" in texts(result) and "It is saved" in texts(result)
    # A learner's command carries no staff warning; every staff command does.
    assert "Heads up" not in texts(await grace.slash(elsewhere, "me"))
    for command in ("nexus stats", "nexus config", "match board"):
        reply = await world.staff.slash(elsewhere, command)
        assert "configured announcement channel" in texts(reply) and "no longer exists" in texts(reply), command
        assert "/nexus setup" in texts(reply)

    fresh = world.guild.create_text_channel("prodevprojectnexus-2")
    setup = await world.staff.slash(elsewhere, "nexus setup", channel=fresh, cohort_start="2026-01-01", timezone="UTC")
    assert "Saved" in texts(setup) and "Heads up" not in texts(setup)
    public = [m for m in fresh.history() if m.embeds and not m.flags.ephemeral]
    assert [(m.embeds[0].title, m.embeds[0].fields[0].value) for m in public] == [("Job Board", "Backend")]
    assert "Heads up" not in texts(await world.staff.slash(fresh, "nexus stats"))
    assert request_problems(world.env.http_requests, may_ping=[m.id for m in world.learners]) == []


async def announce_in(channel: Any, member: Any, track: str) -> Any:
    return await member.slash(channel, "announce", project="job-board", track=track)


# ------------------------------------------------------------------------------------ stop between two writes


async def test_withdrawal_whose_event_was_lost_is_repaired_at_the_next_start(
    simcord_env: Any, settings: Settings
) -> None:
    world = await build_world(simcord_env)
    backend, frontend = await proposed(world)
    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Accept")
    await frontend.user.click(with_buttons(frontend.user.dm_channel)[-1], label="Accept")
    matching = MatchingStore(simcord_env.bot.db)
    assert await matching.active_team_for(world.guild.id, frontend.id) is not None
    # The projects write landed; the bot stopped before matching heard about it.
    await ProjectsStore(simcord_env.bot.db).withdraw(world.guild.id, frontend.id, now=simcord_env.now())
    assert await matching.drifted() != []

    await restart(simcord_env, settings)

    matching = MatchingStore(simcord_env.bot.db)
    assert await matching.active_team_for(world.guild.id, backend.id) is None
    assert await matching.drifted() == []
    told = backend.user.dm_channel.history()[-1].content
    assert "withdrew their project choice" in told and "team on Job Board has ended" in told
    assert simcord_env.errors == []


async def test_project_change_whose_event_was_lost_is_repaired_at_the_next_start(
    simcord_env: Any, settings: Settings
) -> None:
    world = await build_world(simcord_env)
    backend, frontend = await proposed(world)
    draft = AnnouncementDraft(world.guild.id, frontend.id, "online-poll", "Polls", "frontend", None, None, None, False)
    await ProjectsStore(simcord_env.bot.db).announce(draft, display_name="learner1", now=simcord_env.now())

    await restart(simcord_env, settings)

    matching = MatchingStore(simcord_env.bot.db)
    assert await matching.pending_proposal_for(world.guild.id, backend.id) is None
    assert "changed their project or track" in backend.user.dm_channel.history()[-1].content
    status = await backend.slash(world.channel, "match status")
    assert "Waiting" in texts(status)
    assert simcord_env.errors == []


async def test_proposal_recorded_but_never_delivered_is_delivered_at_the_next_start(
    simcord_env: Any, settings: Settings
) -> None:
    world = await build_world(simcord_env)
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    # /match find committed, then the bot stopped before the DMs went out.
    found = await MatchingStore(simcord_env.bot.db).find(world.guild.id, frontend.id, simcord_env.now())
    assert found.kind == "proposed" and not with_buttons(backend.user.dm_channel)

    await restart(simcord_env, settings)
    for member in (backend, frontend):
        assert len(with_buttons(member.user.dm_channel)) == 1, member.name
    # Once recorded as delivered, a later start sends nothing again.
    await restart(simcord_env, settings)
    for member in (backend, frontend):
        assert len(with_buttons(member.user.dm_channel)) == 1, member.name
    answered = await frontend.user.click(with_buttons(frontend.user.dm_channel)[-1], label="Accept")
    assert "You accepted" in (answered.response.embeds[0].description or "")
    assert simcord_env.errors == []


@pytest.mark.parametrize("answer", ["Accept", "Decline"])
async def test_match_status_offers_the_proposal_buttons_when_the_dm_is_gone(world: World, answer: str) -> None:
    backend, frontend = await proposed(world)
    status = await frontend.slash(world.channel, "match status")
    assert status.ephemeral and "Answer here or in your DMs" in status.response.content
    clicked = await frontend.click(status.response, label=answer)
    assert clicked.response.embeds
    proposal_state = await MatchingStore(world.env.bot.db).status(world.guild.id, frontend.id)
    if answer == "Accept":
        assert proposal_state.proposal is not None and proposal_state.proposal.answer_of(frontend.id) == "accepted"
        # Answered: the status no longer offers buttons.
        again = await frontend.slash(world.channel, "match status")
        assert not again.response.components
    else:
        assert proposal_state.proposal is None
        # Closed: the DM copies lost their buttons too.
        assert not with_buttons(frontend.user.dm_channel) and not with_buttons(backend.user.dm_channel)


# ------------------------------------------------------------------------------------ left while Nexus was down


async def leave_while_down(env: Any, settings: Settings, world: World, member: Any) -> None:
    """Stop Nexus, let the member leave (no bot is connected, so no event reaches it), start Nexus again."""
    old = env.bot
    old.scheduler.shutdown()
    await old.db.close()
    # What Discord's side looks like after a leave nobody was there to hear: the member is simply gone.
    del env.backend.get_guild(world.guild.id).members[member.id]
    await env.restart_bot(create_bot(settings))


async def test_a_waiting_learner_who_left_while_down_is_never_proposed(simcord_env: Any, settings: Settings) -> None:
    world = await build_world(simcord_env)
    gone, newcomer = world.learners[0], world.learners[1]
    await announce(world, gone, "backend")
    await gone.slash(world.channel, "match find")
    await announce(world, newcomer, "frontend")

    await leave_while_down(simcord_env, settings, world, gone)

    found = await newcomer.slash(world.channel, "match find")
    assert "in the pool" in texts(found) and "Found you" not in texts(found)
    assert not with_buttons(newcomer.user.dm_channel)
    # What /me would read: out of the pool, and marked as gone (so /project lists them as left), as after a leave.
    status = await ProjectsStore(simcord_env.bot.db).status(world.guild.id, gone.id)
    assert status.match.state == "none" and status.left
    assert simcord_env.errors == []


async def test_a_partner_or_proposal_whose_learner_left_while_down_is_ended_with_the_usual_notice(
    simcord_env: Any, settings: Settings
) -> None:
    world = await build_world(simcord_env)
    backend, frontend = await proposed(world)
    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Accept")
    await frontend.user.click(with_buttons(frontend.user.dm_channel)[-1], label="Accept")
    other, waiting = world.learners[2], world.learners[3]
    await announce(world, other, "backend", project="online-poll")
    await announce(world, waiting, "frontend", project="online-poll")
    await other.slash(world.channel, "match find")
    await waiting.slash(world.channel, "match find")

    await leave_while_down(simcord_env, settings, world, frontend)
    await leave_while_down(simcord_env, settings, world, other)

    matching = MatchingStore(simcord_env.bot.db)
    assert await matching.active_team_for(world.guild.id, backend.id) is None
    told = backend.user.dm_channel.history()[-1].content
    assert "left the server" in told and "team on Job Board has ended" in told
    assert await matching.pending_proposal_for(world.guild.id, waiting.id) is None
    assert "left the server" in waiting.user.dm_channel.history()[-1].content
    assert not with_buttons(waiting.user.dm_channel)  # the open proposal's buttons were taken away
    assert "Waiting" in texts(await waiting.slash(world.channel, "match status"))
    # A later start finds nothing more to do: nobody is told twice.
    before = len(backend.user.dm_channel.history())
    await restart(simcord_env, settings)
    assert len(backend.user.dm_channel.history()) == before
    assert simcord_env.errors == []


async def test_a_refused_dm_to_someone_no_longer_in_the_server_counts_as_leaving(world: World) -> None:
    gone, finder = world.learners[0], world.learners[1]
    await announce(world, gone, "frontend")  # a proposal DMs the frontend learner first
    await gone.slash(world.channel, "match find")
    await announce(world, finder, "backend")
    # They left and the event was lost; Discord now refuses a DM to them (50007: no shared server).
    del world.env.backend.get_guild(world.guild.id).members[gone.id]
    world.env.inject_error("POST", "/channels/*/messages", status=403, code=50007, times=1)

    await finder.slash(world.channel, "match find")
    await world.env.settle()

    matching = MatchingStore(world.env.bot.db)
    assert await matching.pending_proposal_for(world.guild.id, finder.id) is None
    assert (await ProjectsStore(world.env.bot.db).status(world.guild.id, gone.id)).match.state == "none"
    assert "left the server" in finder.user.dm_channel.history()[-1].content
    assert not with_buttons(finder.user.dm_channel)
    assert "Waiting" in texts(await finder.slash(world.channel, "match status"))
    acknowledged = [error for error in world.env.errors if not isinstance(error, discord.HTTPException)]
    assert acknowledged == []


async def test_a_team_member_discord_calls_unknown_on_the_thread_add_counts_as_leaving(world: World) -> None:
    backend, frontend = await proposed(world)
    await frontend.user.click(with_buttons(frontend.user.dm_channel)[-1], label="Accept")
    # Frontend accepted, then left; the leave event was lost. Adding them to the team thread gets 10007.
    del world.env.backend.get_guild(world.guild.id).members[frontend.id]
    world.env.inject_error("PUT", f"/channels/*/thread-members/{frontend.id}", status=404, code=10007, times=1)
    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Accept")
    await world.env.settle()

    matching = MatchingStore(world.env.bot.db)
    assert await matching.active_team_for(world.guild.id, backend.id) is None
    told = backend.user.dm_channel.history()[-1].content
    assert "left the server" in told and "team on Job Board has ended" in told
    assert "not in the matching pool" in texts(await backend.slash(world.channel, "match status"))
    acknowledged = [error for error in world.env.errors if not isinstance(error, discord.HTTPException)]
    assert acknowledged == []


async def test_a_team_thread_discord_refused_is_opened_on_a_later_try(world: World) -> None:
    backend, frontend = await proposed(world)
    # Discord refuses to open the thread (500), at set-up and at the first retry.
    world.env.inject_error("POST", f"/channels/{world.channel.id}/threads", status=500, times=2)
    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Accept")
    await frontend.user.click(with_buttons(frontend.user.dm_channel)[-1], label="Accept")
    matching = MatchingStore(world.env.bot.db)
    team = await matching.active_team_for(world.guild.id, backend.id)
    assert team is not None and team.thread_id is None

    await world.env.advance_time(300)  # the first retry is refused too
    assert (await matching.team(team.id)).thread_id is None  # type: ignore[union-attr]
    await world.env.advance_time(300)
    opened = await matching.team(team.id)
    assert opened is not None and opened.thread_id is not None
    for member in (backend, frontend):
        told = member.user.dm_channel.history()[-1].content
        assert "team thread on Job Board is ready now" in told and f"<#{opened.thread_id}>" in told
    assert f"<#{opened.thread_id}>" in texts(await backend.slash(world.channel, "match status"))
    acknowledged = [error for error in world.env.errors if not isinstance(error, discord.HTTPException)]
    assert acknowledged == []


# ------------------------------------------------------------------------------------ a team whose set-up half failed


def thread_tries(world: World) -> int:
    """How often the bot asked Discord to open a thread in the configured channel (refused or not)."""
    path = f"/channels/{world.channel.id}/threads"
    return sum(1 for entry in world.env.http_requests if entry.method == "POST" and entry.path == path)


def partnership_dms(member: Any) -> list[discord.Message]:
    return [m for m in member.user.dm_channel.history() if "now partners on Job Board" in m.content]


async def test_a_team_whose_thread_and_intro_dm_were_refused_gets_both_after_a_restart(
    simcord_env: Any, settings: Settings
) -> None:
    world = await build_world(simcord_env)
    backend, frontend = await proposed(world)
    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Accept")
    # Both halves of the set-up are refused: the thread (500), and the DM telling the partner (500).
    simcord_env.inject_error("POST", f"/channels/{world.channel.id}/threads", status=500, times=1)
    simcord_env.inject_error("POST", f"/channels/{frontend.user.dm_channel.id}/messages", status=500, times=1)
    await frontend.user.click(with_buttons(frontend.user.dm_channel)[-1], label="Accept")
    team = await MatchingStore(simcord_env.bot.db).active_team_for(world.guild.id, frontend.id)
    assert team is not None and team.thread_id is None and not partnership_dms(frontend)

    # Stopped before the retry came round: the next start picks both up from the database.
    await restart(simcord_env, settings)

    [told] = partnership_dms(frontend)
    assert told.embeds and told.embeds[0].title == "Team Job Board"  # the intro, while there is no thread
    opened = await MatchingStore(simcord_env.bot.db).team(team.id)
    assert opened is not None and opened.thread_id is not None
    thread = next(t for t in world.channel.threads if t.id == opened.thread_id)
    [intro] = thread.history(viewer=frontend)
    assert f"<@{backend.id}>" in intro.content and f"<@{frontend.id}>" in intro.content
    for member in (backend, frontend):
        ready = [m for m in member.user.dm_channel.history() if "team thread on Job Board is ready now" in m.content]
        assert len(ready) == 1 and f"<#{opened.thread_id}>" in ready[0].content, member.name
    assert len(partnership_dms(backend)) == 1  # nobody is told twice
    # A later start has nothing left to do.
    before = thread_tries(world), len(frontend.user.dm_channel.history())
    await restart(simcord_env, settings)
    assert (thread_tries(world), len(frontend.user.dm_channel.history())) == before
    assert unexpected_errors(simcord_env) == []


async def test_a_team_saved_just_before_a_stop_is_set_up_at_the_next_start(
    simcord_env: Any, settings: Settings
) -> None:
    world = await build_world(simcord_env)
    backend, frontend = await proposed(world)
    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Accept")
    # The second Accept committed, then the bot stopped before the thread, the DMs and the closing of the copies.
    matching = MatchingStore(simcord_env.bot.db)
    proposal = await matching.pending_proposal_for(world.guild.id, frontend.id)
    assert proposal is not None
    update = await matching.answer(proposal.id, frontend.id, "accepted", simcord_env.now())
    assert update.team is not None

    await restart(simcord_env, settings)

    opened = await MatchingStore(simcord_env.bot.db).team(update.team.id)
    assert opened is not None and opened.thread_id is not None
    for member in (backend, frontend):
        ready = [m for m in member.user.dm_channel.history() if "is ready now" in m.content]
        assert len(ready) == 1 and "you're partners with" in ready[0].content, member.name
    assert not with_buttons(frontend.user.dm_channel)  # the stale copy was closed too
    assert unexpected_errors(simcord_env) == []


async def test_team_thread_retries_are_bounded_and_survive_a_restart(simcord_env: Any, settings: Settings) -> None:
    world = await build_world(simcord_env)
    backend, frontend = await proposed(world)
    simcord_env.inject_error("POST", f"/channels/{world.channel.id}/threads", status=500, times=DELIVERY_TRIES)
    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Accept")
    await frontend.user.click(with_buttons(frontend.user.dm_channel)[-1], label="Accept")
    assert thread_tries(world) == 1
    await simcord_env.advance_time(RETRY_DELAY.total_seconds() + 1)
    assert thread_tries(world) == 2  # the second try is refused too

    await restart(simcord_env, settings)  # the count is kept: the start makes the third try, not a first
    assert thread_tries(world) == 3
    for _ in range(4):
        await simcord_env.advance_time(RETRY_DELAY.total_seconds() + 1)
    assert thread_tries(world) == DELIVERY_TRIES  # and then it stops
    await restart(simcord_env, settings)
    assert thread_tries(world) == DELIVERY_TRIES
    team = await MatchingStore(simcord_env.bot.db).active_team_for(world.guild.id, backend.id)
    assert team is not None and team.thread_id is None
    assert unexpected_errors(simcord_env) == []


async def test_match_status_offers_create_our_thread_when_the_thread_is_missing(world: World) -> None:
    backend, frontend = await proposed(world)
    world.env.inject_error("POST", f"/channels/{world.channel.id}/threads", status=500, times=DELIVERY_TRIES + 1)
    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Accept")
    await frontend.user.click(with_buttons(frontend.user.dm_channel)[-1], label="Accept")
    for _ in range(DELIVERY_TRIES):
        await world.env.advance_time(RETRY_DELAY.total_seconds() + 1)
    assert thread_tries(world) == DELIVERY_TRIES

    status = await backend.slash(world.channel, "match status")
    assert status.ephemeral and "Create our thread" in texts(status)
    partner_status = await frontend.slash(world.channel, "match status")
    # Discord still refuses (the last injected failure): the learner is told privately, nothing else happens.
    first = await backend.click(status.response, label="Create our thread")
    assert first.ephemeral and "Discord refused to open your team thread" in texts(first)
    second = await backend.click(status.response, label="Create our thread")
    assert second.ephemeral

    team = await MatchingStore(world.env.bot.db).active_team_for(world.guild.id, backend.id)
    assert team is not None and team.thread_id is not None
    assert f"<#{team.thread_id}>" in texts(second)
    for member in (backend, frontend):
        ready = [m for m in member.user.dm_channel.history() if "is ready now" in m.content]
        assert len(ready) == 1 and f"<#{team.thread_id}>" in ready[0].content, member.name
    # The partner's older status button now just gives the link; no second thread is opened.
    tries = thread_tries(world)
    late = await frontend.click(partner_status.response, label="Create our thread")
    assert late.ephemeral and f"<#{team.thread_id}>" in texts(late)
    assert thread_tries(world) == tries
    again = await frontend.slash(world.channel, "match status")
    assert f"<#{team.thread_id}>" in texts(again) and not again.response.components
    # Once the team has ended, the button says so.
    confirm = await backend.slash(world.channel, "match unpair")
    await backend.click(confirm.response, label="Unpair")
    ended = await frontend.click(partner_status.response, label="Create our thread")
    assert ended.ephemeral and "That team has ended" in texts(ended)
    assert unexpected_errors(world.env) == []
