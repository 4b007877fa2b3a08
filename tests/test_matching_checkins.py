"""Team check-ins end to end through SimCord: rounds in the team thread, private answers, a quiet partner and the
re-match, restarts, and members who leave or withdraw."""

from __future__ import annotations

import itertools
from typing import Any

import discord
import pytest
import simcord

from bot import Settings
from tests.conftest import World, restart
from tests.test_matching_flow import announce, dms, pair_up, proposal_dm, status

# Each test advances weeks of virtual time through the week-one reminders and daily passes: room for a busy
# machine (below the 30 s heartbeat, which would then run in real time).
pytestmark = pytest.mark.simcord(settle_timeout=20)

HOUR = 3600
DAY = 24 * HOUR
ANSWER_LABELS = ("Going well", "We haven't started yet", "My partner isn't answering")


def checkins(thread: discord.Thread) -> list[discord.Message]:
    return [message for message in thread.history() if "Check-in #" in (message.content or "")]


def labels(message: discord.Message) -> list[str]:
    return [child.label for row in message.components for child in row.children]  # type: ignore[union-attr]


def choice_dm(member: Any) -> discord.Message:
    offers = [m for m in dms(member) if m.components and "gone quiet" in (m.content or "")]
    assert offers, [m.content for m in dms(member)]
    return offers[-1]


async def team(world: World) -> tuple[Any, Any, discord.Thread]:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    return backend, frontend, await pair_up(world, backend, frontend)


async def test_first_check_in_comes_after_the_delay_in_the_thread_with_three_buttons(world: World) -> None:
    backend, frontend, thread = await team(world)
    await world.env.advance_time(3 * DAY - HOUR)
    assert checkins(thread) == []
    await world.env.advance_time(2 * HOUR)
    [post] = checkins(thread)
    assert post.content.startswith("Check-in #1") is False  # the members are mentioned first, so they notice
    assert backend.mention in post.content and frontend.mention in post.content
    assert labels(post) == list(ANSWER_LABELS)
    answered = await backend.click(post, label="Going well")
    assert answered.ephemeral and "Going well" in answered.response.content
    assert "only you and staff" in answered.response.content.lower()
    # Private: nothing about the answer shows in the thread.
    assert [m for m in thread.history() if "Going well" in (m.content or "")] == []
    await world.env.advance_time(7 * DAY)
    assert [m.content.split("Check-in ")[1][:2] for m in checkins(thread)] == ["#1", "#2"]
    simcord.assert_no_errors(world.env)


SILENT = "silent"
OPTIONS = ("Going well", "We haven't started yet", "My partner isn't answering", SILENT)


async def answer(member: Any, post: discord.Message, choice: str) -> None:
    if choice != SILENT:
        result = await member.click(post, label=choice)
        assert result.ephemeral and choice in result.response.content


def offered(member: Any) -> bool:
    return any(m.components and "gone quiet" in (m.content or "") for m in dms(member))


@pytest.mark.parametrize(("backend_says", "frontend_says"), list(itertools.product(OPTIONS, OPTIONS)))
async def test_two_check_ins_with_every_combination_of_answers(
    world: World, backend_says: str, frontend_says: str
) -> None:
    """Each member gives the same answer (or none) to both rounds; only silence makes someone quiet, and the
    choice goes to the member left behind: after round one when they reported it, else after round two."""
    backend, frontend, thread = await team(world)
    await world.env.advance_time(3 * DAY + 60)
    [first] = checkins(thread)
    await answer(backend, first, backend_says)
    await answer(frontend, first, frontend_says)
    await world.env.advance_time(2 * DAY + 60)

    def expected(me: str, partner: str, *, round_two: bool) -> bool:
        if me == SILENT or partner != SILENT:
            return False
        return round_two or me == "My partner isn't answering"

    assert offered(backend) is expected(backend_says, frontend_says, round_two=False)
    assert offered(frontend) is expected(frontend_says, backend_says, round_two=False)

    await world.env.advance_time(5 * DAY)
    [_, second] = checkins(thread)
    await answer(backend, second, backend_says)
    await answer(frontend, second, frontend_says)
    await world.env.advance_time(2 * DAY + 60)
    assert offered(backend) is expected(backend_says, frontend_says, round_two=True)
    assert offered(frontend) is expected(frontend_says, backend_says, round_two=True)
    # Nobody is offered the choice twice while the first one is open.
    for member in (backend, frontend):
        assert sum(1 for m in dms(member) if "gone quiet" in (m.content or "")) <= 1

    board = (await world.staff.slash(world.channel, "match board")).response.embeds[0]
    attention = {field.name: field.value for field in board.fields}
    silent = [name for name, said in (("learner0", backend_says), ("learner1", frontend_says)) if said == SILENT]
    if silent:
        [value] = [v for name, v in attention.items() if name.startswith("Needs attention")]
        assert all(name in value for name in silent)
        assert "went quiet" in value
    else:
        assert not [name for name in attention if name.startswith("Needs attention")]
    simcord.assert_no_errors(world.env)


async def test_answering_again_after_two_misses_ends_the_quiet_spell(world: World) -> None:
    backend, frontend, thread = await team(world)
    await world.env.advance_time(3 * DAY + 60)
    await backend.click(checkins(thread)[0], label="Going well")
    await world.env.advance_time(7 * DAY)
    await backend.click(checkins(thread)[1], label="Going well")
    await world.env.advance_time(2 * DAY + 60)
    offer = choice_dm(backend)
    # The quiet partner turns up and answers the next round: the open choice lapses.
    await world.env.advance_time(5 * DAY)
    await frontend.click(checkins(thread)[2], label="We haven't started yet")
    await world.env.advance_time(HOUR)
    lapsed = await backend.user.click(offer, label="Find me someone else")
    assert lapsed.ephemeral and "has answered a check-in since" in lapsed.response.content
    assert "Partnered" in await status(world, backend) and "Partnered" in await status(world, frontend)


class TestLineWithoutAutomaticSeating:
    # By day 5 automatic seating would have seated the waiting learner as a third member; this is about the line.
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_overrides(auto_seat_day=None, seat_after_hours=None)

    async def test_quiet_partner_rematch_puts_the_one_left_behind_at_the_front_of_the_line(self, world: World) -> None:
        backend, frontend, thread = await team(world)
        waiting = world.learners[2]
        await announce(world, waiting, "backend")
        assert "#1 in line" in (await waiting.slash(world.channel, "match find")).response.content
        await world.env.advance_time(3 * DAY + 60)
        await backend.click(checkins(thread)[0], label="My partner isn't answering")
        await world.env.advance_time(2 * DAY + 60)

        offer = choice_dm(backend)
        assert labels(offer) == ["Keep waiting", "Find me someone else"]
        assert "learner1" in offer.content

        done = await backend.user.click(offer, label="Find me someone else")
        assert "front of the line" in done.response.content and "learner1" in done.response.content
        assert not done.response.components
        assert "you are #1 in line" in await status(world, backend)
        assert "you are #2 in line" in await status(world, waiting)
        told = dms(frontend)[-1].content
        assert "No hard feelings" in told and "/match find" in told
        assert "This team has ended" in thread.history()[-1].content

        # A new frontend learner is proposed to the one left behind, who was queued after the other backend learner.
        newcomer = world.add_learner("newcomer")
        await announce(world, newcomer, "frontend")
        found = await newcomer.slash(world.channel, "match find")
        assert "learner0" in found.response.content
        # The quiet partner is never proposed to them again: they get the other backend learner.
        await frontend.slash(world.channel, "match find")
        assert "learner2" in proposal_dm(frontend).embeds[0].description
        # Check-ins stop with the team.
        await world.env.advance_time(8 * DAY)
        assert len(checkins(thread)) == 1
        simcord.assert_no_errors(world.env)


async def test_keep_waiting_asks_again_three_days_later(world: World) -> None:
    backend, _frontend, thread = await team(world)
    await world.env.advance_time(3 * DAY + 60)
    await backend.click(checkins(thread)[0], label="My partner isn't answering")
    await world.env.advance_time(2 * DAY + 60)
    kept = await backend.user.click(choice_dm(backend), label="Keep waiting")
    assert "ask you again" in kept.response.content and not kept.response.components
    assert not offered(backend)  # the answered choice lost its buttons
    await world.env.advance_time(3 * DAY - HOUR)
    assert not offered(backend)
    await world.env.advance_time(2 * HOUR)
    assert labels(choice_dm(backend)) == ["Keep waiting", "Find me someone else"]


async def test_a_trio_with_one_quiet_member_stays_a_pair(world: World) -> None:
    backend, frontend, thread = await team(world)
    third = world.learners[2]
    await announce(world, third, "backend")
    await third.slash(world.channel, "match find")
    ran = await world.staff.slash(world.channel, "match run")
    assert "Seated 1 learner" in ran.response.content
    await world.env.advance_time(3 * DAY + 60)
    await frontend.click(checkins(thread)[0], label="Going well")
    await third.click(checkins(thread)[0], label="Going well")
    await world.env.advance_time(7 * DAY)
    await frontend.click(checkins(thread)[1], label="Going well")
    await third.click(checkins(thread)[1], label="Going well")
    await world.env.advance_time(2 * DAY + 60)
    assert offered(frontend) and offered(third) and not offered(backend)
    done = await frontend.user.click(choice_dm(frontend), label="Find me someone else")
    assert "carry on as a team with learner2" in done.response.content
    assert "Partnered" in await status(world, frontend) and "Partnered" in await status(world, third)
    assert "not in the matching pool" in await status(world, backend)
    # The other member's choice is closed with it.
    late = await third.user.click(choice_dm(third), label="Find me someone else")
    assert "already answered" in late.response.content


async def test_restart_between_check_ins_never_posts_one_twice(world: World, settings: Settings) -> None:
    backend, _frontend, thread = await team(world)
    await world.env.advance_time(3 * DAY + 60)
    assert len(checkins(thread)) == 1
    await restart(world.env, settings)
    await world.env.advance_time(HOUR)
    assert len(checkins(thread)) == 1
    # Buttons sent before the restart still work.
    result = await backend.click(checkins(thread)[0], label="Going well")
    assert "Going well" in result.response.content
    # Round two is refused once by Discord, then the bot restarts before the retry: posted exactly once.
    await world.env.advance_time(7 * DAY - 2 * HOUR)
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=1)
    await world.env.advance_time(HOUR + 120)
    assert len(checkins(thread)) == 1
    await restart(world.env, settings)
    await world.env.advance_time(60)
    assert [m.content.split("Check-in ")[1][:2] for m in checkins(thread)] == ["#1", "#2"]
    await restart(world.env, settings)
    await world.env.advance_time(DAY)
    assert len(checkins(thread)) == 2


async def test_a_member_who_left_the_server_ends_the_team_and_its_check_ins(world: World) -> None:
    backend, frontend, thread = await team(world)
    await world.env.advance_time(3 * DAY + 60)
    world.guild.remove_member(frontend)
    await world.env.settle()
    assert "left the server" in dms(backend)[-1].content
    # Their answer buttons no longer count, and no further rounds or quiet choices follow.
    late = await backend.click(checkins(thread)[0], label="Going well")
    assert late.ephemeral and "ended" in late.response.content
    await world.env.advance_time(10 * DAY)
    assert len(checkins(thread)) == 1
    assert not offered(backend)
    simcord.assert_no_errors(world.env)


async def test_a_withdrawn_announcement_ends_the_team_and_closes_the_choice(world: World) -> None:
    backend, frontend, thread = await team(world)
    await world.env.advance_time(3 * DAY + 60)
    await backend.click(checkins(thread)[0], label="My partner isn't answering")
    await world.env.advance_time(2 * DAY + 60)
    offer = choice_dm(backend)
    asked = await frontend.slash(world.channel, "withdraw")
    await frontend.click(asked.response, label=labels(asked.response.message)[0])
    assert "has ended" in dms(backend)[-1].content
    late = await backend.user.click(offer, label="Find me someone else")
    assert late.ephemeral and "ended already" in late.response.content
    await world.env.advance_time(10 * DAY)
    assert len(checkins(thread)) == 1


async def test_closed_dms_get_the_choice_in_the_fallback_thread(world: World) -> None:
    backend, _frontend, thread = await team(world)
    await world.env.advance_time(3 * DAY + 60)
    await backend.click(checkins(thread)[0], label="My partner isn't answering")
    world.env.inject_error("POST", f"/channels/{backend.user.dm_channel.id}/messages", status=403, code=50007)
    await world.env.advance_time(2 * DAY + 60)
    fallback = [t for t in world.channel.threads if t.name.startswith("Nexus ·")]
    assert fallback
    [offer] = [m for m in fallback[0].history() if "gone quiet" in (m.content or "")]
    done = await backend.click(offer, label="Find me someone else")
    assert "front of the line" in done.response.content


async def test_the_staff_summary_counts_check_in_answers(world: World) -> None:
    backend, frontend, thread = await team(world)
    await world.env.advance_time(3 * DAY + 60)
    await backend.click(checkins(thread)[0], label="Going well")
    await frontend.click(checkins(thread)[0], label="We haven't started yet")
    await world.env.advance_time(5 * DAY)
    summaries = [
        m for m in world.staff.user.dm_channel.history() if m.embeds and m.embeds[0].title == "Week one summary"
    ]
    assert summaries
    fields = {field.name: field.value for field in summaries[-1].embeds[0].fields}
    assert fields["Partnership check-ins"] == (
        "Going well: 1 · We haven't started yet: 1 · My partner isn't answering: 0 · no answer in time: 0"
    )


async def test_a_refused_choice_is_sent_again_once(world: World) -> None:
    backend, _frontend, thread = await team(world)
    await world.env.advance_time(3 * DAY + 60)
    await backend.click(checkins(thread)[0], label="My partner isn't answering")
    world.env.inject_error("POST", f"/channels/{backend.user.dm_channel.id}/messages", status=500, times=1)
    await world.env.advance_time(2 * DAY + 60)
    assert not offered(backend)
    await world.env.advance_time(10 * 60)
    assert sum(1 for m in dms(backend) if "gone quiet" in (m.content or "")) == 1
    await world.env.advance_time(DAY)
    assert sum(1 for m in dms(backend) if "gone quiet" in (m.content or "")) == 1
