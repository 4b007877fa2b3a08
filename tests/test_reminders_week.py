"""A whole week of reminders through SimCord: local times in two zones (one across DST), audiences, opt-out,
restarts, downtime, closed DMs, retries, pause/resume, send now, and rescheduling after /nexus setup."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import discord
import pytest
import simcord

from bot import Settings
from tests.conftest import World, build_world, restart
from tests.reminders_helpers import (
    advance_to,
    announce,
    at,
    dm_reminders,
    match,
    posts,
    reminders_in,
    staff_reply,
)

START = datetime(2026, 1, 1, tzinfo=UTC)  # SimCord's virtual clock starts here; `world` is set up for this day


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_every_reminder_fires_at_its_local_time_in_two_zones_one_across_dst(simcord_env: Any) -> None:
    env = simcord_env
    # New York springs forward on Sunday 2026-03-08, day 3 of this cohort; Lagos has no daylight saving.
    new_york = await build_world(env, cohort_start="2026-03-05", timezone="America/New_York", learners=2)
    lagos = await build_world(env, cohort_start="2026-03-05", timezone="Africa/Lagos", learners=2)
    for world in (new_york, lagos):
        await announce(world, world.learners[1], "backend")  # so day 3's "unmatched" DM has someone to go to

    await advance_to(env, utc("2026-03-05T00:00"), step_days=7)  # two idle months
    await advance_to(env, utc("2026-03-13T00:00"))

    expected = {
        # reminder: (New York UTC instant, Lagos UTC instant) for the local times in content/reminders.yaml
        "kickoff": ("2026-03-05T14:00", "2026-03-05T08:00"),  # 09:00 EST / WAT
        "announce-nudge": ("2026-03-06T15:00", "2026-03-06T09:00"),  # 10:00 EST
        "digest": ("2026-03-07T17:00", "2026-03-07T11:00"),  # 12:00 EST
        "partner-nudge": ("2026-03-08T14:00", "2026-03-08T09:00"),  # 10:00 EDT: an hour earlier in UTC
        "two-days-left": ("2026-03-10T14:00", "2026-03-10T09:00"),  # 10:00 EDT
        "final-call": ("2026-03-11T16:00", "2026-03-11T11:00"),  # 12:00 EDT
        "staff-summary": ("2026-03-12T13:00", "2026-03-12T08:00"),  # 09:00 EDT, the morning after week one
    }
    for index, world in enumerate((new_york, lagos)):
        seen = (
            reminders_in(world.channel)
            + reminders_in(world.learners[0].user.dm_channel)
            + reminders_in(world.learners[1].user.dm_channel)
            + reminders_in(world.staff.user.dm_channel)
        )
        assert sorted(seen) == sorted((rid, utc(times[index])) for rid, times in expected.items()), world.guild
    # Audiences: the unannounced learner got the two "not announced" DMs, the announced one the partner nudge.
    assert dm_reminders(new_york.learners[0]) == ["announce-nudge", "two-days-left"]
    assert dm_reminders(new_york.learners[1]) == ["partner-nudge"]
    assert env.errors == []


async def test_announcing_and_matching_between_days_change_the_audience(world: World) -> None:
    env = world.env
    ada, bo, cy, di = world.learners
    await advance_to(env, at(START, days=1, hours=11))
    assert [dm_reminders(m) for m in world.learners] == [["announce-nudge"]] * 4

    # Day 1 afternoon: ada and bo announce on Job Board and team up; cy announces alone; di does nothing.
    await announce(world, ada, "backend")
    await announce(world, bo, "frontend")
    await match(world, ada, bo)
    await announce(world, cy, "backend", project="ecommerce")
    await advance_to(env, at(START, days=5, hours=11))

    assert dm_reminders(ada) == ["announce-nudge"]
    assert dm_reminders(bo) == ["announce-nudge"]
    assert dm_reminders(cy) == ["announce-nudge", "partner-nudge"]
    assert dm_reminders(di) == ["announce-nudge", "two-days-left"]
    day3 = cy.user.dm_channel.history()[-1].content
    assert "You announced **E-Commerce**" in day3
    assert "No frontend learner on E-Commerce is waiting right now" in day3
    day5 = di.user.dm_channel.history()[-1].content
    assert "**2 days left** in week one" in day5 and "Hi learner3" in day5

    digest = next(m for m in world.channel.history() if "Midweek check" in m.content)
    board = digest.embeds[0].description or ""
    assert "backend 1 (all paired) · frontend 1 (all paired)" in board
    assert "**E-Commerce** — backend 1 (1 waiting: learner2)" in board
    assert "**Job Board** — backend 1 (all paired)" in board

    await advance_to(env, at(START, days=7, hours=10))
    summary = world.staff.user.dm_channel.history()[-1]
    fields = {field.name: field.value for field in summary.embeds[0].fields}
    assert "Learners: **4** · announced: **3** · in a team: **2**" in fields["Week one in numbers"]
    assert fields["Not announced yet (1)"] == "learner3"
    assert fields["Announced, no partner yet (1)"] == "learner2"
    assert env.errors == []


async def test_opt_out_stops_dms_but_not_channel_posts(world: World) -> None:
    env = world.env
    ada = world.learners[0]
    off = await ada.slash(world.channel, "reminders off")
    assert off.ephemeral and "will not DM you" in off.response.content
    await advance_to(env, at(START, days=4))
    assert dm_reminders(ada) == []
    assert dm_reminders(world.learners[1]) == ["announce-nudge"]
    assert posts(world) == ["kickoff", "digest"]

    on = await ada.slash(world.channel, "reminders on")
    assert on.ephemeral and "again" in on.response.content
    await advance_to(env, at(START, days=8))
    assert dm_reminders(ada) == ["two-days-left"]
    assert posts(world) == ["kickoff", "digest", "final-call"]


async def test_restart_mid_week_fires_pending_reminders_once(simcord_env: Any, settings: Settings) -> None:
    env = simcord_env
    world = await build_world(env)
    await advance_to(env, at(START, days=2, hours=13))
    assert posts(world) == ["kickoff", "digest"]
    await restart(env, settings)
    await advance_to(env, at(START, days=3))
    await restart(env, settings)  # twice, for good measure: nothing is sent again
    await advance_to(env, at(START, days=8))

    assert posts(world) == ["kickoff", "digest", "final-call"]
    for learner in world.learners:
        assert dm_reminders(learner) == ["announce-nudge", "two-days-left"]
    assert Counter(r for r, _ in reminders_in(world.staff.user.dm_channel)) == {"staff-summary": 1}


async def test_downtime_past_the_grace_window_skips_and_reports(simcord_env: Any, settings: Settings) -> None:
    env = simcord_env
    world = await build_world(env)
    # "Down" from 08:00 on day 0 to 20:00 on day 1: kickoff (day 0 09:00) is 35 h late, the day-1 DM 10 h late.
    await advance_to(env, at(START, hours=8))
    env.bot.scheduler.shutdown()
    await advance_to(env, at(START, days=1, hours=20))
    await restart(env, settings)
    await env.advance_time(60)

    assert posts(world) == []
    for learner in world.learners:
        ((reminder_id, sent_at),) = reminders_in(learner.user.dm_channel)
        assert reminder_id == "announce-nudge" and sent_at == at(START, days=1, hours=20)
        text = learner.user.dm_channel.history()[-1].content.lower()
        assert "sorry" not in text and "late" not in text  # sent as if on time: no apology noise

    schedule = (await staff_reply(world, "reminders schedule")).embeds[0].description
    assert "`kickoff`" in schedule and "**skipped (missed by 35 h" in schedule
    assert "`announce-nudge`" in schedule and "**sent**" in schedule

    await advance_to(env, at(START, days=7, hours=10))
    summary = world.staff.user.dm_channel.history()[-1]
    fields = {field.name: field.value for field in summary.embeds[0].fields}
    assert fields["Skipped reminders (1)"].startswith("`kickoff` — missed by 35 h")


async def test_closed_dms_are_recorded_and_listed_in_the_next_channel_post(world: World) -> None:
    env = world.env
    ada = world.learners[0]
    env.inject_error("POST", f"/channels/{ada.user.dm_channel.id}/messages", status=403, code=50007, times=None)
    await advance_to(env, at(START, days=2, hours=13))

    assert dm_reminders(ada) == []
    assert all(dm_reminders(m) == ["announce-nudge"] for m in world.learners[1:])
    digest = next(m for m in world.channel.history() if "Midweek check" in m.content)
    assert "Could not reach by DM: " + ada.mention in digest.content
    assert "Privacy Settings" in digest.content
    assert digest.content.count("<@") == 1  # only the person whose DMs are closed

    schedule = (await staff_reply(world, "reminders schedule")).embeds[0].description
    assert "**sent, 1 not delivered**" in schedule  # the reminder went to everyone else and was not dropped

    await advance_to(env, at(START, days=7, hours=10))
    final = next(m for m in world.channel.history() if "Final call" in m.content)
    assert ada.mention in final.content  # the day-5 DM failed too: listed again, once
    summary = world.staff.user.dm_channel.history()[-1]
    failed = next(f.value for f in summary.embeds[0].fields if f.name.startswith("Could not deliver"))
    assert "learner0 — DMs closed (`announce-nudge`)" in failed
    assert "learner0 — DMs closed (`two-days-left`)" in failed


async def test_a_transient_failure_is_retried_and_delivered_once(world: World) -> None:
    env = world.env
    bo = world.learners[1]
    route = f"/channels/{bo.user.dm_channel.id}/messages"
    env.inject_error("POST", route, status=500, times=1)
    await advance_to(env, at(START, days=1, hours=11))
    assert dm_reminders(bo) == ["announce-nudge"]
    attempts = [r for r in env.http_requests if r.method == "POST" and r.path == route]
    assert len(attempts) == 2
    assert attempts[0].json["nonce"] == attempts[1].json["nonce"]  # the retry carries the same nonce
    ((_, sent_at),) = reminders_in(bo.user.dm_channel)
    assert sent_at == at(START, days=1, hours=10, minutes=0.5)  # after the first 30 s backoff
    assert all(dm_reminders(m) == ["announce-nudge"] for m in world.learners)


async def test_pause_holds_everything_and_resume_sends_or_skips(world: World) -> None:
    env = world.env
    await advance_to(env, at(START, hours=12))
    paused = await world.staff.slash(world.channel, "reminders pause")
    assert paused.ephemeral and "Paused" in paused.response.content
    await advance_to(env, at(START, days=1, hours=12))
    assert all(dm_reminders(m) == [] for m in world.learners)
    schedule = (await staff_reply(world, "reminders schedule")).embeds[0].description
    assert "`announce-nudge`" in schedule and "**paused**" in schedule

    resumed = await staff_reply(world, "reminders resume")
    assert "Resumed" in resumed.content and "Sending now: `announce-nudge`" in resumed.content
    await env.advance_time(60)
    assert all(dm_reminders(m) == ["announce-nudge"] for m in world.learners)

    await world.staff.slash(world.channel, "reminders pause")
    await advance_to(env, at(START, days=4))
    resumed = await staff_reply(world, "reminders resume")
    assert "Skipped as more than 12 h late: `digest`" in resumed.content
    await advance_to(env, at(START, days=8))
    assert posts(world) == ["kickoff", "final-call"]


async def test_staff_commands_are_checked_server_side(world: World) -> None:
    learner = world.learners[0]
    for command in ("reminders schedule", "reminders pause", "reminders resume"):
        denied = await learner.slash(world.channel, command)
        assert denied.ephemeral and "Manage Server" in denied.response.content
        simcord.assert_error(world.env, discord.app_commands.CheckFailure)
    denied = await learner.slash(world.channel, "reminders send", id="kickoff")
    assert "Manage Server" in denied.response.content
    simcord.assert_error(world.env, discord.app_commands.CheckFailure)
    assert posts(world) == []


async def test_send_now_delivers_once_and_never_again(world: World) -> None:
    env = world.env
    sent = await staff_reply(world, "reminders send", id="two-days-left")
    assert "Sending `two-days-left` now" in sent.content
    await env.advance_time(60)
    assert all(dm_reminders(m) == ["two-days-left"] for m in world.learners)
    again = await staff_reply(world, "reminders send", id="two-days-left")
    assert "already sent" in again.content
    unknown = await staff_reply(world, "reminders send", id="nope")
    assert "There is no reminder `nope`" in unknown.content

    await advance_to(env, at(START, days=8))
    assert all(dm_reminders(m) == ["two-days-left", "announce-nudge"] for m in world.learners)
    schedule = (await staff_reply(world, "reminders schedule")).embeds[0].description
    assert schedule.count("**sent**") == 7


async def test_preview_fills_placeholders_for_the_staff_member(world: World) -> None:
    await announce(world, world.learners[1], "frontend")
    preview = await staff_reply(world, "reminders preview", id="two-days-left")
    assert "Hi coordinator, **2 days left**" in preview.content
    assert world.channel.mention in preview.content
    assert preview.embeds[0].title == "Preview: two-days-left"
    assert "learners who have not announced: 3" in (preview.embeds[0].description or "")
    digest = await staff_reply(world, "reminders preview", id="digest")
    assert "Job Board" in (digest.embeds[1].description or "")
    choices = await world.staff.autocomplete(world.channel, "reminders preview", "id", "nudge")
    assert [c["value"] for c in choices] == ["announce-nudge", "partner-nudge"]
    assert len(await world.staff.autocomplete(world.channel, "reminders send", "id", "")) == 7
    assert posts(world) == [] and all(dm_reminders(m) == [] for m in world.learners)


async def test_second_setup_reschedules_what_was_not_sent(world: World) -> None:
    env = world.env
    await advance_to(env, at(START, hours=10))
    assert posts(world) == ["kickoff"]

    async def setup(start: str, timezone: str) -> None:
        result = await world.staff.slash(
            world.channel,
            "nexus setup",
            channel=world.channel,
            cohort_start=start,
            timezone=timezone,
            learner_role=world.learner_role,
            staff_role=world.staff_role,
        )
        assert "Saved" in result.response.content

    # A correction: start a day later, in Tokyo (UTC+9). Kickoff was sent and stays sent.
    await setup("2026-01-02", "Asia/Tokyo")
    schedule = (await staff_reply(world, "reminders schedule")).embeds[0].description
    assert "`announce-nudge` · day 1 · Sat 03 Jan 10:00 Asia/Tokyo (03 Jan 01:00 UTC)" in schedule
    await advance_to(env, utc("2026-01-10T00:00"))
    assert reminders_in(world.channel) == [
        ("kickoff", utc("2026-01-01T09:00")),
        ("digest", utc("2026-01-04T03:00")),  # 12:00 JST
        ("final-call", utc("2026-01-08T03:00")),
    ]
    assert reminders_in(world.learners[0].user.dm_channel) == [
        ("announce-nudge", utc("2026-01-03T01:00")),
        ("two-days-left", utc("2026-01-07T01:00")),
    ]

    # The next cohort, weeks later: a fresh week, kickoff included.
    await setup("2026-01-19", "Asia/Tokyo")
    await advance_to(env, utc("2026-01-19T01:00"))
    assert posts(world) == ["kickoff", "digest", "final-call", "kickoff"]


@pytest.mark.parametrize("learners", [25])
async def test_schedule_shows_audience_sizes_now(simcord_env: Any, learners: int) -> None:
    world = await build_world(simcord_env, learners=learners)
    await announce(world, world.learners[0], "backend")
    await world.learners[1].slash(world.channel, "reminders off")
    schedule = (await staff_reply(world, "reminders schedule")).embeds[0].description
    assert f"learners who have not announced: {learners - 2}" in schedule
    assert "announced learners without a partner: 1" in schedule
    assert "the channel" in schedule and "staff: 2" in schedule
    assert "`kickoff` · day 0 · Thu 01 Jan 09:00 UTC (01 Jan 09:00 UTC)" in schedule
