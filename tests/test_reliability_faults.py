"""Discord refusing each kind of call the bot makes (500, 403 missing permissions, 404 unknown channel, 403 closed
DMs, 429): whoever waits gets a clear private answer, records are kept, work is retried or reported, and nothing but
the injected failure itself ever reaches an error handler."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from bot import Settings, create_bot
from bot.matching import DELIVERY_TRIES, RETRY_DELAY
from bot.storage.matching import MatchingStore
from bot.storage.projects import ProjectsStore
from bot.storage.reminders import RemindersStore
from cogs.matching._delivery import REDELIVER_SECONDS
from tests.conftest import World, restart
from tests.reliability_helpers import acknowledge_refusals, request_problems
from tests.reminders_helpers import MARKERS

FAULTS = [
    pytest.param(500, 0, id="500"),
    pytest.param(403, 50013, id="403-missing-permissions"),
    pytest.param(404, 10003, id="404-unknown-channel"),
    pytest.param(403, 50007, id="403-closed-dms"),
    pytest.param(429, 0, id="429"),
]


def texts(result: Any) -> str:
    """Everything the person saw in answer: the response and any follow-ups."""
    parts = [result.response.content if result.response else ""]
    parts += [followup.content for followup in result.followups]
    for message in [result.response, *result.followups]:
        for embed in message.embeds if message else []:
            parts.append(embed.description or "")
    return "\n".join(parts)


def with_buttons(channel: Any, viewer: Any = None) -> list[discord.Message]:
    history = channel.history(viewer=viewer) if viewer is not None else channel.history()
    return [message for message in history if message.components]


async def announce(world: World, member: Any, track: str) -> None:
    result = await member.slash(world.channel, "announce", project="job-board", track=track)
    assert "Recorded" in texts(result), texts(result)


async def proposed(world: World) -> tuple[Any, Any]:
    """learner0 (backend) waits, learner1 (frontend) finds: a pending proposal with both copies delivered."""
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    return backend, frontend


def answer_attempts(world: World, since: int) -> int:
    return sum(1 for entry in world.env.http_requests[since:] if entry.path.endswith("/callback"))


def only_injected(world: World) -> None:
    """The injected refusals may reach a handler (they are Discord's errors); nothing else may."""
    assert acknowledge_refusals(world.env) == []
    assert request_problems(world.env.http_requests, may_ping=[m.id for m in world.learners]) == []


async def store_of(world: World) -> MatchingStore:
    return MatchingStore(world.env.bot.db)


# ------------------------------------------------------------------------------------ interaction responses


@pytest.mark.parametrize(("status", "code"), FAULTS)
async def test_refused_answer_to_match_find_still_delivers_the_proposal(world: World, status: int, code: int) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    world.env.inject_error("POST", "/interactions/*/callback", status=status, code=code, times=1)
    before = len(world.env.http_requests)

    result = await frontend.slash(world.channel, "match find")

    # The first answer was refused; the second try got through, and the proposal went out regardless.
    assert answer_attempts(world, before) == 2
    assert "Found you a possible partner" in texts(result)
    assert with_buttons(backend.user.dm_channel) and with_buttons(frontend.user.dm_channel)
    proposal = await (await store_of(world)).pending_proposal_for(world.guild.id, frontend.id)
    assert proposal is not None and len(await (await store_of(world)).deliveries(proposal.id)) == 2
    only_injected(world)


@pytest.mark.parametrize(("status", "code"), FAULTS)
async def test_refused_button_answer_still_forms_the_team(world: World, status: int, code: int) -> None:
    backend, frontend = await proposed(world)
    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Accept")
    world.env.inject_error("POST", "/interactions/*/callback", status=status, code=code, times=1)
    before = len(world.env.http_requests)

    result = await frontend.user.click(with_buttons(frontend.user.dm_channel)[-1], label="Accept")

    assert answer_attempts(world, before) == 2
    assert "you're partners" in texts(result)
    team = await (await store_of(world)).active_team_for(world.guild.id, frontend.id)
    assert team is not None and team.thread_id is not None
    assert any("now partners" in message.content for message in backend.user.dm_channel.history())
    only_injected(world)


@pytest.mark.parametrize(("status", "code"), FAULTS)
async def test_refused_follow_up_to_announce_keeps_the_announcement(world: World, status: int, code: int) -> None:
    ada = world.learners[0]
    world.env.inject_error("POST", "/webhooks/*", status=status, code=code, times=1)

    result = await ada.slash(world.channel, "announce", project="job-board", track="backend", summary="kept")

    assert "Discord did not accept part of my answer" in texts(result)
    current = await ProjectsStore(world.env.bot.db).current(world.guild.id, ada.id)
    assert current is not None and current.summary == "kept" and current.is_posted
    # The bot is still up and answers normally.
    me = await ada.slash(world.channel, "me")
    assert "Job Board" in (me.response.embeds[0].fields[0].value or "")
    only_injected(world)


# ------------------------------------------------------------------------------------ channel posts


@pytest.mark.parametrize(("status", "code"), FAULTS)
async def test_refused_channel_post_keeps_the_announcement_and_posts_it_later(
    world: World, status: int, code: int
) -> None:
    ada, grace = world.learners[:2]
    world.env.inject_error("POST", f"/channels/{world.channel.id}/messages", status=status, code=code, times=1)

    result = await ada.slash(world.channel, "announce", project="job-board", track="backend")

    assert "I could not post it" in texts(result) and "It is saved" in texts(result)
    store = ProjectsStore(world.env.bot.db)
    assert [item.user_id for item in await store.unposted(world.guild.id)] == [ada.id]
    # Retried with the next announcement: both are in the channel now, oldest first.
    await grace.slash(world.channel, "announce", project="job-board", track="frontend")
    assert await store.unposted(world.guild.id) == []
    public = [m for m in world.channel.history() if m.embeds and not m.flags.ephemeral]
    # Title: the project's display name; first field: the track.
    assert [(m.embeds[0].title, m.embeds[0].fields[0].value) for m in public] == [
        ("Job Board", "Backend"),
        ("Job Board", "Frontend"),
    ]
    only_injected(world)


# ------------------------------------------------------------------------------------ DMs


@pytest.mark.parametrize(("status", "code"), FAULTS)
@pytest.mark.parametrize("route", ["message", "open-dm"])
async def test_refused_proposal_dm_reaches_the_partner_later(world: World, status: int, code: int, route: str) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    path = f"/channels/{backend.user.dm_channel.id}/messages" if route == "message" else "/users/@me/channels"
    world.env.inject_error("POST", path, status=status, code=code, times=1)

    result = await frontend.slash(world.channel, "match find")
    assert "Found you a possible partner" in texts(result)
    await world.env.advance_time(REDELIVER_SECONDS + 1)

    # Closed DMs (403) go to the learner's private fallback thread at once; other failures are tried again later.
    store = await store_of(world)
    proposal = await store.pending_proposal_for(world.guild.id, backend.id)
    assert proposal is not None
    assert {user for user, _, _ in await store.deliveries(proposal.id)} == {backend.id, frontend.id}
    for member in (backend, frontend):
        assert len(copies_of(world, member)) == 1, member.name
    only_injected(world)


def copies_of(world: World, member: Any) -> list[discord.Message]:
    """The learner's proposal copies: in their DMs, or in their private fallback thread when DMs failed."""
    threads = [thread for thread in world.channel.threads if thread.name == f"Nexus · {member.name}"]
    return with_buttons(member.user.dm_channel) + [m for t in threads for m in with_buttons(t, viewer=member)]


@pytest.mark.parametrize(("status", "code"), FAULTS)
async def test_the_finder_hears_when_their_own_copy_was_refused(world: World, status: int, code: int) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    # Refused everywhere for now: their DM, and (for a 403) their fallback thread as well.
    world.env.inject_error("POST", f"/channels/{frontend.user.dm_channel.id}/messages", status=status, code=code)
    world.env.inject_error("POST", f"/channels/{world.channel.id}/threads", status=status, code=code)

    result = await frontend.slash(world.channel, "match find")

    assert "`/match status` shows it with the Accept / Decline buttons" in texts(result)
    status_reply = await frontend.slash(world.channel, "match status")
    assert status_reply.ephemeral and with_buttons_in(status_reply)
    answered = await frontend.click(status_reply.response, label="Accept")
    assert "You accepted" in texts(answered)
    only_injected(world)


def with_buttons_in(result: Any) -> bool:
    return bool(result.response and result.response.components)


# ------------------------------------------------------------------------------------ threads and edits


@pytest.mark.parametrize(("status", "code"), FAULTS)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/channels/*/threads"), ("PUT", "/channels/*/thread-members/*")],
    ids=["create-thread", "add-thread-member"],
)
async def test_refused_team_thread_falls_back_to_the_intro_by_dm(
    world: World, status: int, code: int, method: str, path: str
) -> None:
    backend, frontend = await proposed(world)
    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Accept")
    world.env.inject_error(method, path, status=status, code=code, times=1)

    result = await frontend.user.click(with_buttons(frontend.user.dm_channel)[-1], label="Accept")

    assert "you're partners" in texts(result)
    team = await (await store_of(world)).active_team_for(world.guild.id, backend.id)
    assert team is not None and {m.user_id for m in team.members} == {backend.id, frontend.id}
    for member in (backend, frontend):
        intro = [m for m in member.user.dm_channel.history() if m.embeds and m.embeds[0].title.startswith("Team")]
        assert intro, f"{member.name} got no intro"
    only_injected(world)


@pytest.mark.parametrize(("status", "code"), FAULTS)
async def test_refused_edits_of_closed_proposals_change_nothing_else(world: World, status: int, code: int) -> None:
    backend, frontend = await proposed(world)
    world.env.inject_error("PATCH", "/channels/*/messages/*", status=status, code=code, times=None)

    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Decline")

    # The other learner's copy still shows buttons (the edit was refused), but the proposal is closed.
    stale = with_buttons(frontend.user.dm_channel)[-1]
    clicked = await frontend.user.click(stale, label="Accept")
    assert "no longer open" in texts(clicked)
    store = await store_of(world)
    assert await store.pending_proposal_for(world.guild.id, frontend.id) is None
    only_injected(world)


@pytest.mark.parametrize("later", ["retry", "restart"])
async def test_a_lost_decline_notice_and_closing_reach_the_other_learner_later(
    world: World, settings: Settings, later: str
) -> None:
    backend, frontend = await proposed(world)
    # Discord refuses both things the other learner should get: the closing of their copy and the notice.
    world.env.inject_error("PATCH", f"/channels/{frontend.user.dm_channel.id}/messages/*", status=500, times=1)
    world.env.inject_error("POST", f"/channels/{frontend.user.dm_channel.id}/messages", status=500, times=1)

    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Decline")
    assert with_buttons(frontend.user.dm_channel) and not declined_notices(frontend)

    if later == "retry":
        await world.env.advance_time(RETRY_DELAY.total_seconds() + 1)
    else:
        await restart(world.env, settings)
    assert not with_buttons(frontend.user.dm_channel)
    [closed] = [m for m in frontend.user.dm_channel.history() if m.embeds and "(closed)" in (m.embeds[0].title or "")]
    assert closed.embeds[0].description == "This proposal was declined."
    assert len(declined_notices(frontend)) == 1
    # Nothing is left to retry: later passes send nothing more.
    sent = len(world.env.http_requests)
    await world.env.advance_time(3 * RETRY_DELAY.total_seconds())
    assert len(world.env.http_requests) == sent
    only_injected(world)


def declined_notices(member: Any) -> list[discord.Message]:
    return [m for m in member.user.dm_channel.history() if "declined the proposal on Job Board" in m.content]


async def test_a_click_on_a_proposal_that_has_ended_answers_so_and_takes_the_buttons_away(world: World) -> None:
    backend, frontend = await proposed(world)
    # The closing of the other copy is refused every time, so it keeps its buttons.
    world.env.inject_error("PATCH", f"/channels/{frontend.user.dm_channel.id}/messages/*", status=500, times=None)
    await backend.user.click(with_buttons(backend.user.dm_channel)[-1], label="Decline")
    for _ in range(DELIVERY_TRIES + 1):
        await world.env.advance_time(RETRY_DELAY.total_seconds() + 1)
    patches = [e for e in world.env.http_requests if e.method == "PATCH" and "/messages/" in e.path]
    assert len(patches) == DELIVERY_TRIES  # tried, then given up: the click below is the last line of defence
    stale = with_buttons(frontend.user.dm_channel)[-1]

    clicked = await frontend.user.click(stale, label="Accept")

    assert "no longer open" in texts(clicked)
    assert not with_buttons(frontend.user.dm_channel)  # that message's buttons are gone
    store = await store_of(world)
    assert await store.pending_proposal_for(world.guild.id, frontend.id) is None
    assert await store.open_copies() == []
    only_injected(world)


# ------------------------------------------------------------------------------------ reminders


@pytest.mark.parametrize(("status", "code"), FAULTS)
async def test_refused_reminder_dm_is_retried_or_reported(world: World, status: int, code: int) -> None:
    ada = world.learners[0]
    world.env.inject_error("POST", f"/channels/{ada.user.dm_channel.id}/messages", status=status, code=code, times=1)

    sent = await world.staff.slash(world.channel, "reminders send", id="announce-nudge")
    assert "Sending `announce-nudge` now" in texts(sent)
    await world.env.advance_time(120)  # the first retry of a transient failure is due after 30 s

    deliveries = await RemindersStore(world.env.bot.db).deliveries(world.guild.id, "2026-01-01", "announce-nudge")
    transient = status in (429, 500)
    assert deliveries[ada.id].state == ("sent" if transient else "failed")
    got = [m for m in ada.user.dm_channel.history() if MARKERS["announce-nudge"] in m.content]
    assert len(got) == (1 if transient else 0)
    for other in world.learners[1:]:
        assert deliveries[other.id].state == "sent"
    # The run finished; a failure that will not pass is kept for the staff summary and the next channel post.
    store = RemindersStore(world.env.bot.db)
    run = await store.run(world.guild.id, "2026-01-01", "announce-nudge")
    assert run is not None and run.state == "sent"
    failures = [f.recipient for f in await store.failures(world.guild.id, "2026-01-01")]
    assert failures == ([] if transient else [ada.id])
    only_injected(world)


@pytest.mark.parametrize(("status", "code"), FAULTS)
async def test_refused_reminder_channel_post_is_retried_or_reported(world: World, status: int, code: int) -> None:
    world.env.inject_error("POST", f"/channels/{world.channel.id}/messages", status=status, code=code, times=1)

    await world.staff.slash(world.channel, "reminders send", id="kickoff")
    await world.env.advance_time(120)

    deliveries = await RemindersStore(world.env.bot.db).deliveries(world.guild.id, "2026-01-01", "kickoff")
    transient = status in (429, 500)
    assert [d.state for d in deliveries.values()] == ["sent" if transient else "failed"]
    posted = [m for m in world.channel.history() if MARKERS["kickoff"] in m.content]
    assert len(posted) == (1 if transient else 0)
    run = await RemindersStore(world.env.bot.db).run(world.guild.id, "2026-01-01", "kickoff")
    assert run is not None and run.state == "sent"
    only_injected(world)


# ------------------------------------------------------------------------------------ start-up


@pytest.mark.parametrize(("status", "code"), FAULTS)
async def test_refused_command_sync_at_start_up_does_not_stop_the_bot(
    world: World, settings: Settings, status: int, code: int
) -> None:
    world.env.inject_error("PUT", "/applications/*/commands", status=status, code=code, times=1)
    new_settings = settings.with_overrides(sync_commands="always")
    old = world.env.bot
    old.scheduler.shutdown()
    await old.db.close()
    new = create_bot(new_settings)
    await world.env.restart_bot(new)
    try:
        # Discord kept the definitions from the last successful sync, so commands still work.
        result = await world.learners[0].slash(world.channel, "me")
        assert result.ephemeral and result.response.embeds
        only_injected(world)
    finally:
        new.scheduler.shutdown()
        await new.db.close()
