"""Cohorts through SimCord: /nexus cohort create, list, close; two cohorts side by side in one server never cross."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import Settings
from tests.conftest import World, build_world, restart
from tests.reminders_helpers import advance_to, announce, match, reminders_in
from tests.test_matching_flow import announce as announce_on
from tests.test_matching_flow import pair_up, status


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


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Local times from content/reminders.yaml. Cohort A: New York from Thursday 2026-03-05, which springs forward on
# day 3; cohort B: Lagos (no daylight saving) from Saturday 2026-03-07, overlapping A's week by five days.
WEEK_A = {
    "kickoff": "2026-03-05T14:00",
    "announce-nudge": "2026-03-06T15:00",
    "digest": "2026-03-07T17:00",
    "partner-nudge": "2026-03-08T14:00",  # 10:00 EDT: an hour earlier in UTC than before the change
    "two-days-left": "2026-03-10T14:00",
    "final-call": "2026-03-11T16:00",
    "staff-summary": "2026-03-12T13:00",
}
WEEK_B = {
    "kickoff": "2026-03-07T08:00",
    "announce-nudge": "2026-03-08T09:00",
    "digest": "2026-03-09T11:00",
    "partner-nudge": "2026-03-10T09:00",
    "two-days-left": "2026-03-12T09:00",
    "final-call": "2026-03-13T11:00",
    "staff-summary": "2026-03-14T08:00",
}


async def test_two_overlapping_cohorts_each_get_their_own_week_in_their_own_zone_with_restarts(
    simcord_env: Any, settings: Settings
) -> None:
    env = simcord_env
    world = await build_world(env, cohort_start="2026-03-05", timezone="America/New_York", learners=2)
    channel_b = world.guild.create_text_channel("cohort-b")
    role_b = world.guild.create_role("Learner B")
    b_front, b_quiet = (world.guild.add_member(env.create_user(f"b{i}"), roles=[role_b]) for i in range(2))
    made = await world.staff.slash(
        world.channel,
        "nexus cohort create",
        name="Cohort B",
        start="2026-03-07",
        timezone="Africa/Lagos",
        channel=channel_b,
        learner_role=role_b,
    )
    assert "Created" in made.response.content
    a_back, a_quiet = world.learners
    # Same project, opposite tracks, one in each cohort: they must never be proposed to each other.
    await announce(world, a_back, "backend")
    assert (await b_front.slash(channel_b, "announce", project="job-board", track="frontend")).acknowledged
    await a_back.slash(world.channel, "match find")
    await b_front.slash(channel_b, "match find")

    await advance_to(env, utc("2026-03-05T00:00"), step_days=7)
    await advance_to(env, utc("2026-03-09T00:00"))
    await restart(env, settings)
    await advance_to(env, utc("2026-03-11T00:00"))
    await restart(env, settings)
    await advance_to(env, utc("2026-03-15T00:00"))

    def seen(*channels: Any) -> list[tuple[str, datetime]]:
        return sorted(item for channel in channels for item in reminders_in(channel))

    posts_a = {"kickoff", "digest", "final-call"}
    assert seen(world.channel) == sorted((rid, utc(WEEK_A[rid])) for rid in posts_a)
    assert seen(channel_b) == sorted((rid, utc(WEEK_B[rid])) for rid in posts_a)
    # Audiences stay in their cohort: the quiet learner of each is nudged by their own cohort only, at its times.
    nudges = ("announce-nudge", "two-days-left")
    assert seen(a_quiet.user.dm_channel) == sorted((rid, utc(WEEK_A[rid])) for rid in nudges)
    assert seen(b_quiet.user.dm_channel) == sorted((rid, utc(WEEK_B[rid])) for rid in nudges)
    assert seen(a_back.user.dm_channel) == [("partner-nudge", utc(WEEK_A["partner-nudge"]))]
    assert seen(b_front.user.dm_channel) == [("partner-nudge", utc(WEEK_B["partner-nudge"]))]
    summaries = [when for rid, when in seen(world.staff.user.dm_channel) if rid == "staff-summary"]
    assert summaries == [utc(WEEK_A["staff-summary"]), utc(WEEK_B["staff-summary"])]
    # Nothing crossed in matching either: nobody was proposed to, both still wait in their own cohort.
    assert await env.bot.db.fetchall("SELECT id FROM proposals") == []
    assert await waiting_in(world, "Cohort B") == {b_front.id}
    assert await waiting_in(world, "Cohort 2026-03-05") == {a_back.id}
    # Each cohort's board shows its own learners only.
    board_a = (await a_back.slash(world.channel, "projects")).response.embeds[0]
    board_b = (await b_front.slash(channel_b, "projects")).response.embeds[0]
    job_board_a = next(field.value for field in board_a.fields if field.name == "Job Board")
    job_board_b = next(field.value for field in board_b.fields if field.name == "Job Board")
    assert job_board_a.startswith("Backend 1 · Frontend 0") and job_board_b.startswith("Backend 0 · Frontend 1")
    assert env.errors == []


RETENTION_DAYS = 14


class TestRetention:
    # A short retention keeps the virtual weeks few; the rule is the same at the default 180 days (rules tests).
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_overrides(retention_days=RETENTION_DAYS)

    async def test_a_closed_cohort_is_purged_after_retention_with_a_notice_first_and_the_other_kept(
        self, world: World, settings: Settings
    ) -> None:
        env = world.env
        channel_b, _, (b_front, _) = await second_cohort(world)
        a_back = world.learners[0]
        await a_back.slash(world.channel, "announce", project="job-board", track="backend")
        await b_front.slash(channel_b, "announce", project="ecommerce", track="frontend")
        await world.staff.slash(channel_b, "nexus cohort close")
        dialog = next(m for m in channel_b.history(viewer=world.staff) if m.components)
        await world.staff.click(dialog, label="Close it")

        def staff_dms() -> list[str]:
            return [m.content for m in world.staff.user.dm_channel.history()] if world.staff.user.dm_channel else []

        await advance_to(env, env.now() + timedelta(days=RETENTION_DAYS - 8), step_days=1)
        assert not [text for text in staff_dms() if "ProDev BE Cohort 6" in text]
        await restart(env, settings)  # retention is kept in the database, not in memory
        await advance_to(env, env.now() + timedelta(days=2), step_days=1)
        notices = [text for text in staff_dms() if "will delete the personal data" in text]
        assert len(notices) == 1 and "ProDev BE Cohort 6" in notices[0] and "/nexus export" in notices[0]
        # Still there until the day comes: staff can export.
        exported = await world.staff.slash(channel_b, "nexus export")
        answer = exported.followups[-1] if exported.followups else exported.response
        assert answer.content.startswith("1 current announcement,"), exported

        await advance_to(env, env.now() + timedelta(days=8), step_days=1)
        left = {row["user_id"] for row in await env.bot.db.fetchall("SELECT user_id FROM announcements")}
        assert left == {a_back.id}
        assert await env.bot.db.fetchone("SELECT 1 FROM learners WHERE user_id = ?", (b_front.id,)) is None
        kept = await env.bot.cohort_store.purged_counts((await env.bot.cohort_store.cohorts(world.guild.id))[-1].id)
        assert kept == {"announced": 1, "proposals": 0, "reminders_sent": 0, "teams": 0}
        assert any("Deleted the personal data" in text for text in staff_dms())
        listed = (await world.staff.slash(world.channel, "nexus cohort list")).response.embeds[0].description
        assert "personal data deleted" in listed and "1 announced · 0 teams (counts kept, no names)" in listed
        # The open cohort is untouched, and /me says which cohort a learner is in.
        me = (await a_back.slash(world.channel, "me")).response.embeds[0]
        assert any(field.name == "Cohort" and "Cohort " in (field.value or "") for field in me.fields)


async def test_moving_a_deferred_learner_moves_their_announcement_and_frees_their_proposal_partner(
    world: World,
) -> None:
    channel_b, _, (b_front, _) = await second_cohort(world)
    a_back, a_front = world.learners[0], world.learners[1]
    await a_back.slash(world.channel, "announce", project="job-board", track="backend")
    await a_front.slash(world.channel, "announce", project="job-board", track="frontend")
    await a_back.slash(world.channel, "match find")
    await a_front.slash(world.channel, "match find")  # proposed to a_back
    assert len(await world.env.bot.db.fetchall("SELECT id FROM proposals WHERE state = 'pending'")) == 1

    moved = await world.staff.slash(world.channel, "nexus cohort move", member=a_front, to="ProDev BE Cohort 6")
    assert moved.ephemeral and "Moved" in moved.response.content and "ProDev BE Cohort 6" in moved.response.content
    # The proposal ended and the other side is back in line, told why; the mover was told where they are now.
    assert await world.env.bot.db.fetchall("SELECT id FROM proposals WHERE state = 'pending'") == []
    assert a_back.id in await waiting_in(world, f"Cohort {world.env.now().date().isoformat()}")
    assert any("moved to another cohort" in m.content for m in a_back.user.dm_channel.history())
    assert any("Staff moved you to" in m.content for m in a_front.user.dm_channel.history())
    # Their announcement is posted in the new cohort's channel and counts on its board, not the old one's.
    assert any(m.embeds for m in channel_b.history() if m.author.bot)
    board_b = (await b_front.slash(channel_b, "projects")).response.embeds[0]
    job_board_b = next(field.value for field in board_b.fields if field.name == "Job Board")
    assert job_board_b.startswith("Backend 0 · Frontend 1")
    board_a = (await a_back.slash(world.channel, "projects")).response.embeds[0]
    job_board_a = next(field.value for field in board_a.fields if field.name == "Job Board")
    assert job_board_a.startswith("Backend 1 · Frontend 0")
    # Moving again to where they are is refused, privately.
    again = await world.staff.slash(world.channel, "nexus cohort move", member=a_front, to="ProDev BE Cohort 6")
    assert "already in" in again.response.content


async def test_moving_a_learner_out_of_a_team_needs_a_confirm_and_tells_the_partner(world: World) -> None:
    await second_cohort(world)
    a_back, a_front = world.learners[0], world.learners[1]
    await announce(world, a_back, "backend")
    await announce(world, a_front, "frontend")
    await match(world, a_back, a_front)
    assert await world.env.bot.cohort_store.in_team(world.guild.id, a_front.id)

    asked = await world.staff.slash(world.channel, "nexus cohort move", member=a_front, to="ProDev BE Cohort 6")
    assert "ends that partnership" in asked.response.content
    dialog = next(m for m in world.channel.history(viewer=world.staff) if m.components)
    await world.staff.click(dialog, label="Cancel")
    assert await world.env.bot.cohort_store.in_team(world.guild.id, a_front.id)  # nothing changed

    await world.staff.slash(world.channel, "nexus cohort move", member=a_front, to="ProDev BE Cohort 6")
    dialog = [m for m in world.channel.history(viewer=world.staff) if m.components][-1]
    done = await world.staff.click(dialog, label="Move")
    assert "Moved" in str(done.response.content if done.response else done)
    assert not await world.env.bot.cohort_store.in_team(world.guild.id, a_front.id)
    assert any("moved to another cohort" in m.content for m in a_back.user.dm_channel.history())
    moved_to = await world.env.bot.cohort_store.of_learner(world.guild.id, a_front.id)
    assert moved_to is not None and moved_to.name == "ProDev BE Cohort 6"


async def test_a_cohorts_team_thread_opens_in_its_channel_and_staff_cannot_pair_across(world: World) -> None:
    channel_b, _, (b_front, b_back) = await second_cohort(world)
    await b_front.slash(channel_b, "announce", project="job-board", track="frontend")
    await b_back.slash(channel_b, "announce", project="job-board", track="backend")
    await b_back.slash(channel_b, "match find")
    await b_front.slash(channel_b, "match find")
    for member in (b_back, b_front):
        proposal = [m for m in member.user.dm_channel.history() if m.components][-1]
        await member.user.click(proposal, label="Accept")
    assert [thread for thread in channel_b.threads if " & " in (thread.name or "")]
    assert not [thread for thread in world.channel.threads if " & " in (thread.name or "")]

    a_back = world.learners[0]
    await a_back.slash(world.channel, "announce", project="job-board", track="backend")
    refused = await world.staff.slash(world.channel, "match pair", first=a_back, second=b_front)
    assert refused.ephemeral and "teams stay within a cohort" in refused.response.content


async def test_automatic_seating_seats_each_cohorts_leftovers_only_in_its_own_teams(world: World) -> None:
    channel_b, _, (b_back, _) = await second_cohort(world, timezone="UTC")
    a_back, a_front, a_extra = world.learners[0], world.learners[1], world.learners[2]
    await announce_on(world, a_back, "backend")
    await announce_on(world, a_front, "frontend")
    await pair_up(world, a_back, a_front)
    p_back, p_front = world.add_learner("pollback"), world.add_learner("pollfront")
    await announce_on(world, p_back, "backend", project="online-poll")
    await announce_on(world, p_front, "frontend", project="online-poll")
    await pair_up(world, p_back, p_front)
    await announce_on(world, a_extra, "backend", project="online-poll")
    await a_extra.slash(world.channel, "match find")
    # Cohort B's backend learner on the project of cohort A's job-board team, which has room for a third.
    await b_back.slash(channel_b, "announce", project="job-board", track="backend")
    await b_back.slash(channel_b, "match find")

    await world.env.advance_time(6 * 24 * 3_600)
    # Cohort A's leftover was seated, so seating ran; cohort B's waits for a team of its own cohort.
    assert "Waiting" not in await status(world, a_extra)
    assert await waiting_in(world, "ProDev BE Cohort 6") == {b_back.id}
    rows = await world.env.bot.db.fetchall("SELECT user_id FROM team_members WHERE left_at IS NULL")
    assert {row["user_id"] for row in rows} == {a_back.id, a_front.id, p_back.id, p_front.id, a_extra.id}


async def test_me_names_the_cohort_an_unannounced_learner_would_join(world: World) -> None:
    channel_b, _, (b_front, _) = await second_cohort(world)
    me = (await b_front.slash(channel_b, "me")).response.embeds[0]
    cohort = [field.value or "" for field in me.fields if field.name == "Cohort"]
    assert len(cohort) == 1 and "ProDev BE Cohort 6" in cohort[0] and "once you `/announce`" in cohort[0]
    # Announced, the field names the cohort they are in, without the "once".
    await b_front.slash(channel_b, "announce", project="job-board", track="frontend")
    me = (await b_front.slash(channel_b, "me")).response.embeds[0]
    cohort = [field.value or "" for field in me.fields if field.name == "Cohort"]
    assert len(cohort) == 1 and "ProDev BE Cohort 6" in cohort[0] and "once" not in cohort[0]
