"""/announce, /withdraw, /projects, /project, /me and /nexus export through SimCord, end to end."""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta
from typing import Any

import discord
import pytest
import simcord

from bot import Settings
from bot.storage.projects import ProjectsStore
from bot.text import shown
from bot.timezones import timezone_names
from tests.conftest import World, build_world, restart
from tests.storage_helpers import raw_writes


def posts(world: World) -> list[discord.Message]:
    """Public announcement posts in the channel (ephemeral replies and week-one reminder posts excluded)."""
    return [
        message
        for message in world.channel.history()
        if not message.flags.ephemeral and message.embeds and message.embeds[0].fields
    ]


def fields(embed: discord.Embed) -> dict[str, str]:
    return {field.name or "": field.value or "" for field in embed.fields}


def headlines(messages: list[discord.Message]) -> list[tuple[str, str]]:
    """Each announcement post's title (the project's display name) and its track."""
    return [(message.embeds[0].title or "", fields(message.embeds[0])["Track"]) for message in messages]


def record_events(bot: Any, name: str) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []

    async def listener(*args: Any) -> None:
        seen.append(args)

    bot.add_listener(listener, f"on_{name}")
    return seen


async def export(world: World) -> dict[str, list[dict[str, str]]]:
    result = await world.staff.slash(world.channel, "nexus export")
    assert result.ephemeral
    files = {attachment.filename: await attachment.read() for attachment in result.response.attachments}
    assert set(files) == {"current.csv", "history.csv"}
    return {name: list(csv.DictReader(io.StringIO(data.decode("utf-8")))) for name, data in files.items()}


async def test_announce_posts_publicly_and_replies_privately(world: World) -> None:
    ada = world.learners[0]
    changed = record_events(world.env.bot, "nexus_announcement_changed")
    result = await ada.slash(
        world.channel,
        "announce",
        project="Job Board Backend",
        track="frontend",
        summary="React + TypeScript, consuming a DRF API",
        repo="https://github.com/ada/jobs-ui",
        timezone="africa/lagos",
    )
    assert result.ephemeral
    assert result.response.content.startswith("Recorded. Posted in")
    [post] = posts(world)
    embed = post.embeds[0]
    # The project's one display name, whatever title she typed; her track's brief title only as detail.
    assert embed.title == "Job Board"
    assert (embed.description or "").startswith(
        f"{ada.mention} is building **Job Board** on the frontend track (Job Board Platform)."
    )
    assert "React + TypeScript, consuming a DRF API" in (embed.description or "")
    assert fields(embed)["Track"] == "Frontend"
    assert fields(embed)["Timezone"] == "Africa/Lagos"
    assert fields(embed)["Repository"] == "<https://github.com/ada/jobs-ui>"
    assert "No backend learners on this project yet" in fields(embed)["Find your partner"]
    assert "/match find" in fields(embed)["Find your partner"]
    assert "Late" not in fields(embed)
    assert result.response.embeds[0].title == "Job Board"
    assert result.response.embeds[0].description == embed.description
    assert changed == [(world.guild.id, ada.id, None)]


async def test_counterpart_hint_counts_the_other_track(world: World) -> None:
    ada, grace, linus = world.learners[:3]
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    await grace.slash(world.channel, "announce", project="job board", track="backend")
    await linus.slash(world.channel, "announce", project="Job Board Platform", track="frontend")
    hint = fields(posts(world)[-1].embeds[0])["Find your partner"]
    assert hint.startswith("2 backend learners on this project")


async def test_identical_reannounce_posts_nothing_new(world: World) -> None:
    ada = world.learners[0]
    changed = record_events(world.env.bot, "nexus_announcement_changed")
    options = {"project": "movies", "track": "backend", "summary": "TMDB + Redis", "timezone": "UTC"}
    await ada.slash(world.channel, "announce", **options)
    again = await ada.slash(world.channel, "announce", **{**options, "project": "Movie Recommendation Backend"})
    assert again.ephemeral
    assert again.response.content.startswith("Nothing changed")
    assert len(posts(world)) == 1
    assert len(changed) == 1


async def test_different_reannounce_replaces_and_keeps_history(world: World) -> None:
    ada = world.learners[0]
    changed = record_events(world.env.bot, "nexus_announcement_changed")
    await ada.slash(world.channel, "announce", project="movies", track="backend")
    result = await ada.slash(world.channel, "announce", project="polls", track="backend", summary="now polls")
    assert "replaces your previous choice (Movie Recommendation, backend)" in result.response.content
    assert [post.embeds[0].title for post in posts(world)] == ["~~Movie Recommendation~~", "Online Poll System"]
    assert changed[-1] == (world.guild.id, ada.id, "movie-recommendation")
    exported = await export(world)
    assert [row["project_key"] for row in exported["current.csv"]] == ["online-poll"]
    assert [(row["project_key"], row["end_reason"]) for row in exported["history.csv"]] == [
        ("movie-recommendation", "replaced"),
        ("online-poll", ""),
    ]


async def test_track_change_is_a_replacement(world: World) -> None:
    ada = world.learners[0]
    await ada.slash(world.channel, "announce", project="feed", track="backend")
    await ada.slash(world.channel, "announce", project="feed", track="frontend")
    result = await ada.slash(world.channel, "announce", project="feed", track="backend")
    assert "replaces your previous choice (Social Media Feed, frontend)" in result.response.content
    # One project under one name; the track (and its brief's title) is what changed.
    assert [(post.embeds[0].title, fields(post.embeds[0])["Track"]) for post in posts(world)] == [
        ("~~Social Media Feed~~", "Backend"),
        ("~~Social Media Feed~~", "Frontend"),
        ("Social Media Feed", "Backend"),
    ]
    assert "on the backend track (Social Media Feed Backend)." in (posts(world)[-1].embeds[0].description or "")


async def test_custom_projects_meet_under_one_key(world: World) -> None:
    ada, grace = world.learners[:2]
    await ada.slash(world.channel, "announce", project="Pionus Safaris", track="backend")
    await grace.slash(world.channel, "announce", project="the pionus-safaris app", track="frontend")
    last = posts(world)[-1].embeds[0]
    assert last.title == "the pionus-safaris app (custom project)"
    assert fields(last)["Find your partner"].startswith("1 backend learner on this project")
    exported = await export(world)
    assert {row["project_key"] for row in exported["current.csv"]} == {"custom:pionus-safaris"}


async def test_announcing_after_week_one_is_marked_late(simcord_env: Any) -> None:
    start = (simcord_env.now().date() - timedelta(days=10)).isoformat()
    world = await build_world(simcord_env, cohort_start=start)
    result = await world.learners[0].slash(world.channel, "announce", project="shop", track="frontend")
    assert "marked late" in result.response.content
    assert fields(posts(world)[0].embeds[0])["Late"] == "Announced after week one."
    assert (await export(world))["current.csv"][0]["late"] == "yes"


async def test_late_marking_follows_virtual_time(world: World) -> None:
    ada = world.learners[0]
    await ada.slash(world.channel, "announce", project="shop", track="frontend")
    await world.env.advance_time(timedelta(days=7, minutes=1).total_seconds())
    await ada.slash(world.channel, "announce", project="shop", track="backend")
    first, second = posts(world)
    assert "Late" not in fields(first.embeds[0])
    assert "Late" in fields(second.embeds[0])
    assert [row["late"] for row in (await export(world))["history.csv"]] == ["no", "yes"]


async def test_mentions_in_summary_never_ping(world: World) -> None:
    ada, grace = world.learners[:2]
    summary = f"@everyone @here {world.learner_role.mention} {grace.mention} look at this"
    await ada.slash(world.channel, "announce", project="jobs", track="backend", summary=summary)
    [post] = posts(world)
    assert post.mention_everyone is False
    assert post.role_mentions == []
    assert post.mentions == []
    assert post.raw_mentions == [] and post.raw_role_mentions == []
    sent = [
        request
        for request in world.env.http_requests
        if request.method == "POST" and request.path == f"/channels/{world.channel.id}/messages"
    ]
    assert sent[-1].json["allowed_mentions"] == {"parse": []}
    # Shown as typed: not even drawn as a (silent) mention.
    assert shown(summary) in (post.embeds[0].description or "")
    stored = await ProjectsStore(world.env.bot.db).current(world.guild.id, ada.id)
    assert stored is not None and stored.summary == summary
    # In the spreadsheet a leading @ would start a formula: the export quotes it, the record stays exact.
    assert (await export(world))["current.csv"][0]["summary"] == "'" + summary


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"repo": "javascript:alert(1)"}, "not a link I can post"),
        ({"repo": "github.com/ada/jobs"}, "not a link I can post"),
        ({"timezone": "Mars/Olympus"}, "not a timezone I know"),
        ({"timezone": "UTC+15"}, "not a real UTC offset"),
        ({"summary": "x" * 301}, "keep it to 300"),
        ({"project": "The Backend App"}, "only says which side"),
    ],
)
async def test_bad_values_get_a_private_error_and_nothing_is_recorded(
    world: World, options: dict[str, str], message: str
) -> None:
    ada = world.learners[0]
    result = await ada.slash(world.channel, "announce", **{"project": "jobs", "track": "backend", **options})
    assert result.ephemeral
    assert message in result.response.content
    assert posts(world) == []
    me = await ada.slash(world.channel, "me")
    assert "Not announced yet" in fields(me.response.embeds[0])["Project"]


async def test_track_outside_the_choices_is_refused_by_discord(world: World) -> None:
    with pytest.raises(simcord.OptionError):
        await world.learners[0].slash(world.channel, "announce", project="jobs", track="fullstack")


async def test_announce_before_setup_records_then_posts_after_setup(simcord_env: Any) -> None:
    guild = simcord_env.create_guild("Fresh")
    channel = guild.create_text_channel("prodevprojectnexus")
    admin = guild.add_member(
        simcord_env.create_user("admin"),
        roles=[guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))],
    )
    ada = guild.add_member(simcord_env.create_user("ada"))
    grace = guild.add_member(simcord_env.create_user("grace"))
    result = await ada.slash(channel, "announce", project="jobs", track="backend", summary="first")
    assert result.ephemeral
    assert "staff have not run `/nexus setup`" in result.response.content.lower()
    await grace.slash(channel, "announce", project="jobs", track="frontend")
    assert [m for m in channel.history() if not m.flags.ephemeral] == []

    await admin.slash(channel, "nexus setup", channel=channel, cohort_start="2026-01-01", timezone="UTC")
    public = [m for m in channel.history() if not m.flags.ephemeral]
    assert headlines(public) == [("Job Board", "Backend"), ("Job Board", "Frontend")]
    assert ada.mention in (public[0].embeds[0].description or "")
    # Posted once: a second setup finds nothing pending.
    await admin.slash(channel, "nexus setup", channel=channel, cohort_start="2026-01-01", timezone="UTC")
    assert len([m for m in channel.history() if not m.flags.ephemeral]) == 2


@pytest.mark.parametrize(("status", "code", "reason"), [(500, 0, "Discord error 500"), (403, 50013, "permission")])
async def test_channel_post_failure_keeps_the_record_and_tells_the_learner(
    world: World, caplog: pytest.LogCaptureFixture, status: int, code: int, reason: str
) -> None:
    ada, grace = world.learners[:2]
    world.env.inject_error("POST", f"/channels/{world.channel.id}/messages", status=status, code=code, times=1)
    with caplog.at_level(logging.WARNING, logger="cogs.projects"):
        result = await ada.slash(world.channel, "announce", project="jobs", track="backend")
    assert result.ephemeral
    assert "I could not post it" in result.response.content
    assert reason in result.response.content
    assert posts(world) == []
    assert any("could not post announcement" in record.getMessage() for record in caplog.records)
    me = await ada.slash(world.channel, "me")
    assert "Not posted in the channel yet" in fields(me.response.embeds[0])["Project"]

    # The next announcement posts the pending one first: nothing is lost.
    await grace.slash(world.channel, "announce", project="jobs", track="frontend")
    assert headlines(posts(world)) == [("Job Board", "Backend"), ("Job Board", "Frontend")]
    assert [row["posted"] for row in (await export(world))["current.csv"]] == ["yes", "yes"]


async def test_failed_post_is_retried_by_an_identical_reannounce(world: World) -> None:
    ada = world.learners[0]
    world.env.inject_error("POST", "/channels/*/messages", status=500, times=1)
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    assert posts(world) == []
    again = await ada.slash(world.channel, "announce", project="jobs", track="backend")
    assert again.response.content.startswith("Nothing changed")
    assert "Posted in" in again.response.content
    assert len(posts(world)) == 1


async def test_project_autocomplete_uses_the_chosen_track_and_custom_projects(world: World) -> None:
    ada, grace = world.learners[:2]
    backend = await ada.autocomplete(world.channel, "announce", "project", "", track="backend")
    # The display name leads; the brief's title for the chosen track follows, so people recognise it.
    assert [choice["name"] for choice in backend] == [
        "E-Commerce — E-Commerce Backend",
        "Job Board — Job Board Backend",
        "Movie Recommendation — Movie Recommendation Backend",
        "Online Poll System — Online Poll System Backend",
        "Social Media Feed — Social Media Feed Backend",
    ]
    frontend = await ada.autocomplete(world.channel, "announce", "project", "poll", track="frontend")
    assert frontend == [{"name": "Online Poll System — Interactive Online Polling Platform", "value": "online-poll"}]
    unfilled = await ada.autocomplete(world.channel, "announce", "project", "feed")
    assert unfilled[0]["name"] == "Social Media Feed — Social Media Feed Backend / Dynamic Social Media Feed"

    brand_new = await ada.autocomplete(world.channel, "announce", "project", "Pionus Safaris")
    assert brand_new == [{"name": "Pionus Safaris (new custom project)", "value": "Pionus Safaris"}]
    await ada.slash(world.channel, "announce", project="Pionus Safaris", track="backend")
    existing = await grace.autocomplete(world.channel, "announce", "project", "pionus", track="frontend")
    assert existing == [{"name": "Pionus Safaris (custom)", "value": "Pionus Safaris"}]
    # A spelling that only normalisation connects still offers the existing project, not a new one.
    spelled = await grace.autocomplete(world.channel, "announce", "project", "The Pionus-Safaris Backend")
    assert spelled == [{"name": "Pionus Safaris (custom)", "value": "Pionus Safaris"}]


async def test_project_autocomplete_stays_within_discord_limits(world: World) -> None:
    for index in range(30):
        member = world.add_learner(f"extra{index}")
        await member.slash(world.channel, "announce", project=f"Tracker {index}", track="backend")
    choices = await world.learners[0].autocomplete(world.channel, "announce", "project", "")
    assert len(choices) == 25
    long = await world.learners[0].autocomplete(world.channel, "announce", "project", "y" * 80)
    assert all(len(choice["name"]) <= 100 and len(choice["value"]) <= 100 for choice in long)


async def test_timezone_autocomplete(world: World) -> None:
    choices = await world.learners[0].autocomplete(world.channel, "announce", "timezone", "nairobi")
    assert {"name": "Africa/Nairobi", "value": "Africa/Nairobi"} in choices


async def test_withdraw_asks_then_withdraws(world: World) -> None:
    ada = world.learners[0]
    withdrawn = record_events(world.env.bot, "nexus_announcement_withdrawn")
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    asked = await ada.slash(world.channel, "withdraw")
    assert asked.ephemeral
    assert "Withdraw your announcement of **Job Board** (backend)?" in asked.response.content
    assert withdrawn == []
    done = await ada.click(asked.response, label="Confirm")
    assert done.response.content.startswith("Withdrawn: you are no longer announced on **Job Board**.")
    assert done.response.components == []
    assert withdrawn == [(world.guild.id, ada.id)]
    me = await ada.slash(world.channel, "me")
    assert "Not announced yet" in fields(me.response.embeds[0])["Project"]
    exported = await export(world)
    assert exported["current.csv"] == []
    assert exported["history.csv"][0]["end_reason"] == "withdrawn"


async def test_withdraw_buttons_go_away_when_they_expire(world: World) -> None:
    ada = world.learners[0]
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    asked = await ada.slash(world.channel, "withdraw")
    assert asked.response.components
    await world.env.advance_time(301)
    assert asked.response.components == []
    assert len((await export(world))["current.csv"]) == 1


async def test_withdraw_cancel_keeps_the_announcement(world: World) -> None:
    ada = world.learners[0]
    withdrawn = record_events(world.env.bot, "nexus_announcement_withdrawn")
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    asked = await ada.slash(world.channel, "withdraw")
    kept = await ada.click(asked.response, label="Cancel")
    assert kept.response.content.startswith("Kept")
    assert withdrawn == []
    assert len((await export(world))["current.csv"]) == 1


async def test_withdraw_buttons_are_for_the_invoker_only(world: World) -> None:
    ada, grace = world.learners[:2]
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    asked = await ada.slash(world.channel, "withdraw")
    with pytest.raises(simcord.SetupError):
        await grace.click(asked.response, label="Confirm")
    assert len((await export(world))["current.csv"]) == 1


async def test_withdraw_twice_from_two_prompts(world: World) -> None:
    ada = world.learners[0]
    withdrawn = record_events(world.env.bot, "nexus_announcement_withdrawn")
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    first = await ada.slash(world.channel, "withdraw")
    second = await ada.slash(world.channel, "withdraw")
    await ada.click(first.response, label="Confirm")
    late = await ada.click(second.response, label="Confirm")
    assert "nothing to withdraw" in late.response.content
    assert len(withdrawn) == 1


async def test_withdraw_without_announcement(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "withdraw")
    assert result.ephemeral
    assert "no current announcement" in result.response.content


async def test_projects_board_counts_and_paginates(world: World) -> None:
    ada, grace, linus = world.learners[:3]
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    await grace.slash(world.channel, "announce", project="jobs", track="frontend")
    await linus.slash(world.channel, "announce", project="feed", track="frontend")
    with raw_writes(world.env.bot.db) as conn:
        conn.execute(
            "INSERT INTO match_pool (guild_id, user_id, project_key, track, queued_at) VALUES (?, ?, ?, ?, ?)",
            (world.guild.id, ada.id, "job-board", "backend", "2026-01-01T00:00:00+00:00"),
        )
    for index in range(5):
        await world.env.advance_time(60)
        member = world.add_learner(f"custom{index}")
        await member.slash(world.channel, "announce", project=f"Side Project {index}", track="backend")

    board = await ada.slash(world.channel, "projects")
    assert board.ephemeral
    first = board.response.embeds[0]
    assert first.footer.text == "Page 1/2"
    assert first.fields[0].value == "Backend 1 · Frontend 1 · paired 0 · waiting 1"
    with pytest.raises(simcord.SetupError):
        await ada.click(board.response, label="Previous")

    second = await ada.click(board.response, label="Next")
    page_two = second.response.embeds[0]
    assert page_two.footer.text == "Page 2/2"
    with pytest.raises(simcord.SetupError):
        await ada.click(second.response, label="Next")
    # Busiest first, then the most recent activity; projects nobody picked yet come last.
    assert [field.name for field in [*first.fields, *page_two.fields]] == [
        "Job Board",
        *(f"Side Project {index}" for index in (4, 3, 2, 1, 0)),
        "Social Media Feed",
        "E-Commerce",
        "Movie Recommendation",
        "Online Poll System",
    ]
    back = await ada.click(second.response, label="Previous")
    assert back.response.embeds[0].footer.text == "Page 1/2"


async def test_projects_board_fits_one_page_without_buttons(world: World) -> None:
    board = await world.learners[0].slash(world.channel, "projects")
    assert board.response.embeds[0].footer.text == "Page 1/1"
    assert board.response.components == []
    assert all("Nobody yet" in field.value for field in board.response.embeds[0].fields)


async def test_project_details_show_names_tracks_and_who_is_looking(world: World) -> None:
    ada, grace, linus = world.learners[:3]
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    await grace.slash(world.channel, "announce", project="jobs", track="frontend")
    await linus.slash(world.channel, "announce", project="jobs", track="frontend")
    with raw_writes(world.env.bot.db) as conn:
        conn.execute(
            "INSERT INTO match_pool (guild_id, user_id, project_key, track, queued_at) VALUES (?, ?, ?, ?, ?)",
            (world.guild.id, grace.id, "job-board", "frontend", "2026-01-01T00:00:00+00:00"),
        )
    result = await ada.slash(world.channel, "project", name="Job Board Platform")
    assert result.ephemeral
    embed = result.response.embeds[0]
    # Asked by its frontend title, named by its one display name; both briefs' titles are detail underneath.
    assert embed.title == "Job Board"
    assert "Job postings" in (embed.description or "")
    assert (embed.description or "").endswith(
        "Brief titles: Job Board Backend (backend), Job Board Platform (frontend)."
    )
    shown = fields(embed)
    assert shown["Backend (1)"] == "learner0"
    assert shown["Frontend (2)"] == "learner1 (looking)\nlearner2"
    assert shown["Looking for a partner"] == "learner1 (looking)"
    assert "<@" not in str(embed.to_dict())


async def test_project_details_for_custom_and_unknown_projects(world: World) -> None:
    ada = world.learners[0]
    await ada.slash(world.channel, "announce", project="Pionus Safaris", track="backend")
    custom = await ada.slash(world.channel, "project", name="pionus-safaris app")
    assert custom.response.embeds[0].title == "Pionus Safaris"
    assert fields(custom.response.embeds[0])["Backend (1)"] == "learner0"
    empty = await ada.slash(world.channel, "project", name="movies")
    assert fields(empty.response.embeds[0])["Backend (0)"] == "Nobody yet."
    unknown = await ada.slash(world.channel, "project", name="Nobody's Thing")
    assert unknown.ephemeral
    assert "Nobody has announced a project called" in unknown.response.content
    choices = await ada.autocomplete(world.channel, "project", "name", "pio")
    assert choices == [{"name": "Pionus Safaris (custom)", "value": "Pionus Safaris"}]


async def test_member_who_leaves_is_shown_as_left(world: World) -> None:
    ada, grace = world.learners[:2]
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    await grace.slash(world.channel, "announce", project="jobs", track="frontend")
    world.guild.remove_member(grace)
    await world.env.settle()
    detail = await ada.slash(world.channel, "project", name="jobs")
    shown = fields(detail.response.embeds[0])
    assert shown["Frontend (0)"] == "learner1 (left)"
    board = await ada.slash(world.channel, "projects")
    assert board.response.embeds[0].fields[0].value.startswith("Backend 1 · Frontend 0")
    exported = await export(world)
    assert [row["member_status"] for row in exported["current.csv"]] == ["member", "left"]

    # Coming back clears the mark; the record was never lost.
    world.guild.add_member(grace.user, roles=[world.learner_role])
    await world.env.settle()
    assert [row["member_status"] for row in (await export(world))["current.csv"]] == ["member", "member"]


async def test_me_shows_choice_match_state_and_reminders(world: World) -> None:
    ada, grace = world.learners[:2]
    before = await ada.slash(world.channel, "me")
    assert before.ephemeral
    assert "Announce first" in fields(before.response.embeds[0])["Partner"]
    await ada.slash(
        world.channel, "announce", project="jobs", track="backend", summary="DRF", repo="https://gitlab.com/a/b"
    )
    await grace.slash(world.channel, "announce", project="jobs", track="frontend")
    with raw_writes(world.env.bot.db) as conn:
        cursor = conn.execute(
            "INSERT INTO teams (guild_id, project_key, thread_id, created_at) VALUES (?, 'job-board', 4242, ?)",
            (world.guild.id, "2026-01-01T00:00:00+00:00"),
        )
        for user_id, track in ((ada.id, "backend"), (grace.id, "frontend")):
            conn.execute(
                "INSERT INTO team_members (team_id, guild_id, user_id, track, joined_at) VALUES (?, ?, ?, ?, ?)",
                (cursor.lastrowid, world.guild.id, user_id, track, "2026-01-01T00:00:00+00:00"),
            )
        conn.execute("UPDATE learners SET reminders_opt_out = 1 WHERE user_id = ?", (ada.id,))
    me = await ada.slash(world.channel, "me")
    shown = fields(me.response.embeds[0])
    assert shown["Project"].startswith("**Job Board** — backend (Job Board Backend)\nDRF\n<https://gitlab.com/a/b>")
    assert shown["Partner"] == f"Partnered with {grace.mention} in <#4242>."
    assert shown["Reminders"].startswith("Off")
    assert not any(
        m.flags.ephemeral is False and m.embeds and m.embeds[0].title == "Your Nexus status"
        for m in world.channel.history()
    )


async def test_export_csv_content_and_formula_escaping(world: World) -> None:
    ada = world.learners[0]
    sneaky = world.guild.add_member(
        world.env.create_user("sneaky"), roles=[world.learner_role], nick='=HYPERLINK("http://x")'
    )
    await ada.slash(world.channel, "announce", project="shop", track="backend", summary="+SUM(1,2) — naïve ✓")
    await sneaky.slash(
        world.channel, "announce", project="@cmd Store", track="frontend", summary="-1", timezone="UTC-3"
    )
    exported = await export(world)
    header = list(exported["current.csv"][0].keys())
    assert header[:6] == ["user_id", "display_name", "member_status", "project_key", "project_name", "track"]
    first, second = exported["current.csv"]
    assert first["user_id"] == str(ada.id)
    assert first["project_name"] == "E-Commerce Backend"
    assert first["summary"] == "'+SUM(1,2) — naïve ✓"
    assert second["display_name"] == '\'=HYPERLINK("http://x")'
    assert second["project_name"] == "'@cmd Store"
    assert second["summary"] == "'-1"
    assert second["timezone"] == "UTC-03:00"
    assert second["project_key"] == "custom:cmd-store"


async def test_export_is_staff_only(world: World) -> None:
    with pytest.raises(simcord.SetupError):
        await world.learners[0].slash(world.channel, "nexus export")


async def test_commands_are_guild_only(world: World) -> None:
    in_dm = world.learners[0].user.available_commands()
    in_guild = world.learners[0].available_commands(world.channel)
    for name in ("announce", "withdraw", "projects", "project", "me"):
        assert name in in_guild
        assert name not in in_dm


async def test_pending_announcements_survive_a_restart(simcord_env: Any, settings: Settings) -> None:
    guild = simcord_env.create_guild("Fresh")
    channel = guild.create_text_channel("prodevprojectnexus")
    admin = guild.add_member(
        simcord_env.create_user("admin"),
        roles=[guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))],
    )
    ada = guild.add_member(simcord_env.create_user("ada"))
    await ada.slash(channel, "announce", project="polls", track="frontend")
    await restart(simcord_env, settings)
    await admin.slash(channel, "nexus setup", channel=channel, cohort_start="2026-01-01", timezone="UTC")
    public = [m for m in channel.history() if not m.flags.ephemeral]
    assert headlines(public) == [("Online Poll System", "Frontend")]


async def test_start_up_reads_the_timezone_list_so_the_first_announce_does_not(
    simcord_env: Any, settings: Settings
) -> None:
    timezone_names.cache_clear()
    await restart(simcord_env, settings)
    # Read from the tz database on disk (~10 ms) by start-up, not by the first learner who names a timezone.
    assert timezone_names.cache_info().currsize == 1
    guild = simcord_env.create_guild("Fresh")
    channel = guild.create_text_channel("prodevprojectnexus")
    ada = guild.add_member(simcord_env.create_user("ada"))
    reply = await ada.slash(channel, "announce", project="polls", track="frontend", timezone="africa/lagos")
    assert reply.ephemeral
    assert timezone_names.cache_info().misses == 1
    row = await ProjectsStore(simcord_env.bot.db).current(guild.id, ada.id)
    assert row is not None and row.timezone == "Africa/Lagos"
