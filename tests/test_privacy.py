"""Data rights through SimCord: /me forget:true and /forget-me delete a learner's data after Confirm."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from bot import Settings
from tests.conftest import World
from tests.reminders_helpers import advance_to, dm_reminders
from tests.test_matching_flow import dms, pair_up, proposal_dm
from tests.test_projects_commands import export, fields, posts

SECRET = "My very personal take on the job board"


def rows(settings: Settings, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(settings.db_path) as conn:
        return conn.execute(sql, params).fetchall()


async def test_forget_after_partnering_deletes_and_anonymises(world: World, settings: Settings) -> None:
    ada, bob = world.learners[:2]
    # The announce-nudge (day 1, 10:00) gives every learner a reminder delivery first.
    await advance_to(world.env, world.env.now() + timedelta(days=1, hours=12))
    assert "announce-nudge" in dm_reminders(ada)
    assert rows(settings, "SELECT 1 FROM reminder_deliveries WHERE recipient = ?", (ada.id,))
    await ada.slash(world.channel, "announce", project="jobs", track="backend", summary=SECRET)
    await bob.slash(world.channel, "announce", project="jobs", track="frontend")
    await pair_up(world, ada, bob)
    [(team_id,)] = rows(settings, "SELECT team_id FROM team_members WHERE user_id = ?", (ada.id,))
    assert len(posts(world)) == 2

    asked = await ada.slash(world.channel, "me", forget=True)
    assert asked.ephemeral
    assert "1 announcements" in asked.response.content and "1 team memberships" in asked.response.content
    done = await ada.click(asked.response, label="Confirm")
    assert done.response.content.startswith("Done: deleted")
    assert done.response.components == []

    me = await ada.slash(world.channel, "me")
    status = fields(me.response.embeds[0])
    assert "Not announced yet" in status["Project"]
    assert "Partnered" not in status["Partner"]
    exported = await export(world)
    assert SECRET not in str(exported)
    assert all(row.get("user_id") != str(ada.id) for table in exported.values() for row in table)
    # The public post with her summary is taken down; bob's stays.
    assert len(posts(world)) == 1
    assert all(SECRET not in (post.embeds[0].description or "") for post in posts(world))

    # The partner's team is still there, without the forgetter's id.
    assert rows(settings, "SELECT id FROM teams WHERE id = ?", (team_id,)) == [(team_id,)]
    members = [
        user_id for (user_id,) in rows(settings, "SELECT user_id FROM team_members WHERE team_id = ?", (team_id,))
    ]
    assert bob.id in members and ada.id not in members and len(members) == 2
    assert all(user_id < 0 for user_id in members if user_id != bob.id)
    for table, column in (
        ("announcements", "user_id"),
        ("learners", "user_id"),
        ("match_pool", "user_id"),
        ("reminder_deliveries", "recipient"),
        ("team_members", "user_id"),
        ("proposals", "frontend_id"),
        ("proposals", "backend_id"),
        ("pair_blocks", "user_low"),
        ("pair_blocks", "user_high"),
    ):
        sql = f"SELECT 1 FROM {table} WHERE {column} = ?"  # noqa: S608 - names from the fixed list above
        assert rows(settings, sql, (ada.id,)) == [], table
    # The partner hears only that the partnership is over, nothing of what ada wrote.
    assert all(SECRET not in message.content for message in dms(bob))


async def test_forget_withdraws_a_pending_proposal_and_requeues_the_other(world: World, settings: Settings) -> None:
    ada, bob = world.learners[:2]
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    await bob.slash(world.channel, "announce", project="jobs", track="frontend")
    await ada.slash(world.channel, "match find")
    await bob.slash(world.channel, "match find")
    proposal_dm(bob)
    asked = await ada.slash(world.channel, "forget-me")
    done = await ada.click(asked.response, label="Confirm")
    assert done.response.content.startswith("Done: deleted")
    assert rows(settings, "SELECT state FROM proposals") == [("withdrawn",)]
    assert rows(settings, "SELECT user_id, state FROM match_pool") == [(bob.id, "waiting")]
    assert "back at the front of the line" in dms(bob)[-1].content


async def test_cancel_deletes_nothing(world: World, settings: Settings) -> None:
    ada = world.learners[0]
    await ada.slash(world.channel, "announce", project="jobs", track="backend", summary=SECRET)
    before = rows(settings, "SELECT * FROM announcements")
    asked = await ada.slash(world.channel, "me", forget=True)
    kept = await ada.click(asked.response, label="Cancel")
    assert kept.response.content == "Kept: nothing was deleted."
    assert rows(settings, "SELECT * FROM announcements") == before
    assert rows(settings, "SELECT 1 FROM learners WHERE user_id = ?", (ada.id,)) == [(1,)]
    me = await ada.slash(world.channel, "me")
    assert SECRET in fields(me.response.embeds[0])["Project"]


async def test_me_without_options_is_unchanged(world: World) -> None:
    ada = world.learners[0]
    await ada.slash(world.channel, "announce", project="jobs", track="backend")
    me = await ada.slash(world.channel, "me")
    assert me.ephemeral
    assert me.response.embeds[0].title == "Your Nexus status"
    assert me.response.components == []
    assert fields(me.response.embeds[0])["Project"].startswith("**Job Board** — backend")


async def test_forget_with_no_data_says_so(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "forget-me")
    assert result.ephemeral
    assert "nothing to delete" in result.response.content
