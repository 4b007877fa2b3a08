"""DM runs with pacing through SimCord: a restart or a pause in the middle of a run, progress for staff, and a
claim left by a crash resent with its own nonce."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot import Settings
from bot.storage.reminders import RemindersStore
from tests.conftest import World, build_world, restart
from tests.reminders_helpers import advance_to, at, dm_reminders, reminders_in, staff_reply

START = datetime(2026, 1, 1, tzinfo=UTC)
DAY1_DM = at(START, days=1, hours=10)  # announce-nudge, to every learner who has not announced
PACE = 60.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """One DM a minute, so a run to a handful of learners takes long enough to interrupt in virtual time.

    (Longer than SimCord's settle budget on purpose: a shorter real sleep would run to the end in real time.)
    """
    from tests.conftest import CONTENT_DIR

    return Settings(
        db_path=tmp_path / "nexus.db",
        content_dir=CONTENT_DIR,
        dm_pace_seconds=PACE,
        command_cooldown_seconds=0.0,
        heartbeat_path=tmp_path / "heartbeat",
    )


def nudged(world: World) -> list[int]:
    """How many day-1 DMs each learner has."""
    return [dm_reminders(m).count("announce-nudge") for m in world.learners]


async def test_restart_in_the_middle_of_a_dm_run_sends_to_everyone_once(simcord_env: Any, settings: Settings) -> None:
    env = simcord_env
    world = await build_world(env, learners=5)
    await advance_to(env, at(DAY1_DM, minutes=1.5))
    assert sum(nudged(world)) == 2  # 10:00 and 10:01; the next one waits for 10:02

    await restart(env, settings)
    await advance_to(env, at(DAY1_DM, minutes=2.5))
    await restart(env, settings)  # and once more while the resumed run is still going
    await advance_to(env, at(DAY1_DM, minutes=30))

    assert nudged(world) == [1, 1, 1, 1, 1]
    sent_at = sorted(t for m in world.learners for r, t in reminders_in(m.user.dm_channel) if r == "announce-nudge")
    assert (sent_at[1] - sent_at[0]).total_seconds() == PACE  # paced before the restart
    schedule = (await staff_reply(world, "reminders schedule")).embeds[0].description
    assert "`announce-nudge`" in schedule and "**sent**" in schedule


async def test_pause_in_the_middle_of_a_run_stops_it_and_resume_finishes_it(simcord_env: Any) -> None:
    env = simcord_env
    world = await build_world(env, learners=4)
    await advance_to(env, at(DAY1_DM, minutes=0.5))
    assert sum(nudged(world)) == 1
    await world.staff.slash(world.channel, "reminders pause")
    await advance_to(env, at(DAY1_DM, hours=1))
    assert sum(nudged(world)) == 1
    schedule = (await staff_reply(world, "reminders schedule")).embeds[0].description
    assert "**paused while sending 1/4**" in schedule

    resumed = await staff_reply(world, "reminders resume")
    assert "Resumed" in resumed.content
    await advance_to(env, at(DAY1_DM, hours=2))
    assert nudged(world) == [1, 1, 1, 1]


async def test_progress_is_reported_to_the_staff_channel_and_the_summary_goes_there(simcord_env: Any) -> None:
    env = simcord_env
    world = await build_world(env, learners=3)
    staff_channel = world.guild.create_text_channel("staff-only")
    result = await world.staff.slash(
        world.channel,
        "nexus setup",
        channel=world.channel,
        cohort_start="2026-01-01",
        timezone="UTC",
        learner_role=world.learner_role,
        staff_role=world.staff_role,
        staff_channel=staff_channel,
    )
    assert "Saved" in result.response.content
    await advance_to(env, at(DAY1_DM, minutes=1.5))
    (progress,) = [m for m in staff_channel.history() if "announce-nudge" in m.content]
    assert "sending 2/3" in progress.content or "sending 1/3" in progress.content

    await advance_to(env, at(START, days=8))
    (progress,) = [m for m in staff_channel.history() if "`announce-nudge`" in m.content]
    assert "done, 3/3 delivered" in progress.content
    summaries = [m for m in staff_channel.history() if "Week one is over" in m.content]
    assert len(summaries) == 1 and summaries[0].embeds[0].title == "Week one summary"
    assert reminders_in(world.staff.user.dm_channel) == []  # the staff channel replaces the DMs


async def test_a_claim_left_by_a_crash_is_resent_with_its_nonce_and_a_leaver_is_recorded(
    simcord_env: Any, settings: Settings
) -> None:
    env = simcord_env
    world = await build_world(env, learners=3)
    ada, bo, cy = world.learners
    # As if the bot died right after claiming ada and cy, before it could send or mark anything.
    store = RemindersStore(env.bot.db)
    cohort = await store.active_cohort(world.guild.id)
    assert cohort is not None
    assert await store.begin_sending(world.guild.id, cohort.key, "announce-nudge", env.now(), manual=True)
    await store.claim(world.guild.id, cohort.key, "announce-nudge", ada.id, "crash-nonce-0001", env.now())
    await store.claim(world.guild.id, cohort.key, "announce-nudge", cy.id, "crash-nonce-0002", env.now())
    world.guild.remove_member(cy)
    await env.settle()  # let every feature handle the departure before the database closes

    await restart(env, settings)
    await env.advance_time(10 * 60)

    assert dm_reminders(ada) == ["announce-nudge"] and dm_reminders(bo) == ["announce-nudge"]
    route = f"/channels/{ada.user.dm_channel.id}/messages"
    (request,) = [r for r in env.http_requests if r.method == "POST" and r.path == route]
    assert request.json["nonce"] == "crash-nonce-0001"
    assert request.json["enforce_nonce"] is True
    failures = await RemindersStore(env.bot.db).failures(world.guild.id, cohort.key)
    assert [(f.recipient, f.reason) for f in failures] == [(cy.id, "left the server")]

    await advance_to(env, at(START, days=8))
    # ada and bo each get it once: the day-1 run was already done, so 10:00 on day 1 sends nothing more.
    assert dm_reminders(ada) == ["announce-nudge", "two-days-left"]
    summary = world.staff.user.dm_channel.history()[-1]
    failed = next(f.value for f in summary.embeds[0].fields if f.name.startswith("Could not deliver"))
    assert "left the server (`announce-nudge`)" in failed
