"""ProjectsStore on real SQLite files: announce/replace/withdraw with history, posting, board facts, /me, export."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.projects import AnnouncementDraft
from bot.storage.db import Database
from bot.storage.projects import ProjectsStore
from tests.storage_helpers import raw_writes

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
GUILD = 10
ADA, GRACE, LINUS = 1, 2, 3


@pytest.fixture
def store(db: Database) -> ProjectsStore:
    return ProjectsStore(db)


def draft(user_id: int = ADA, **changes: object) -> AnnouncementDraft:
    values: dict[str, object] = {
        "guild_id": GUILD,
        "user_id": user_id,
        "project_key": "job-board",
        "project_name": "Job Board Backend",
        "track": "backend",
        "summary": "DRF, JWT and @everyone <@&5>",
        "repo_url": "https://github.com/ada/jobs",
        "timezone": "Africa/Lagos",
        "late": False,
    }
    values.update(changes)
    return AnnouncementDraft(**values)  # type: ignore[arg-type]


def later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


async def test_announce_records_and_round_trips_exactly(store: ProjectsStore) -> None:
    outcome = await store.announce(draft(), display_name="Ada", now=NOW)
    assert outcome.changed and outcome.previous is None
    current = await store.current(GUILD, ADA)
    assert current == outcome.announcement
    assert current is not None
    assert current.summary == "DRF, JWT and @everyone <@&5>"
    assert (current.project_key, current.track, current.late, current.created_at) == (
        "job-board",
        "backend",
        False,
        NOW,
    )
    assert not current.is_posted


async def test_identical_announcement_changes_nothing(store: ProjectsStore) -> None:
    first = await store.announce(draft(), display_name="Ada", now=NOW)
    again = await store.announce(draft(late=True), display_name="Ada L.", now=later(5))
    assert not again.changed
    assert again.announcement == first.announcement
    assert len(await store.export_rows(GUILD, history=True)) == 1
    assert (await store.export_rows(GUILD, history=False))[0].display_name == "Ada L."


async def test_new_announcement_replaces_and_keeps_history(store: ProjectsStore) -> None:
    first = await store.announce(draft(), display_name="Ada", now=NOW)
    second = await store.announce(
        draft(project_key="ecommerce", project_name="E-Commerce Backend"), display_name="Ada", now=later(1)
    )
    assert second.changed
    assert second.previous == first.announcement
    history = await store.export_rows(GUILD, history=True)
    assert [(row.announcement.project_key, row.announcement.end_reason) for row in history] == [
        ("job-board", "replaced"),
        ("ecommerce", None),
    ]
    assert history[0].announcement.ended_at == later(1)
    assert [row.announcement.project_key for row in await store.export_rows(GUILD, history=False)] == ["ecommerce"]


async def test_concurrent_announcements_leave_exactly_one_current(store: ProjectsStore) -> None:
    keys = [f"custom:p{i}" for i in range(10)]
    await asyncio.gather(
        *(
            store.announce(draft(project_key=key, project_name=key), display_name="Ada", now=later(i))
            for i, key in enumerate(keys)
        )
    )
    assert len(await store.export_rows(GUILD, history=False)) == 1
    assert len(await store.export_rows(GUILD, history=True)) == 10


async def test_withdraw_ends_with_reason_and_is_idempotent(store: ProjectsStore) -> None:
    await store.announce(draft(), display_name="Ada", now=NOW)
    withdrawn = await store.withdraw(GUILD, ADA, now=later(2))
    assert withdrawn is not None and withdrawn.end_reason == "withdrawn" and withdrawn.ended_at == later(2)
    assert await store.current(GUILD, ADA) is None
    assert await store.withdraw(GUILD, ADA, now=later(3)) is None
    assert len(await store.export_rows(GUILD, history=True)) == 1


async def test_unposted_until_marked_posted(store: ProjectsStore) -> None:
    ada = (await store.announce(draft(), display_name="Ada", now=NOW)).announcement
    grace = (await store.announce(draft(GRACE, track="frontend"), display_name="Grace", now=later(1))).announcement
    assert [item.id for item in await store.unposted(GUILD)] == [ada.id, grace.id]
    await store.mark_posted(ada.id, 999, now=later(2))
    assert [item.id for item in await store.unposted(GUILD)] == [grace.id]
    posted = await store.get(ada.id)
    assert posted is not None and posted.message_id == 999 and posted.posted_at == later(2)
    assert await store.unposted(GUILD + 1) == []


async def add_to_pool(db: Database, user_id: int, state: str = "waiting", project_key: str = "job-board") -> None:
    with raw_writes(db) as conn:
        conn.execute(
            "INSERT INTO match_pool (guild_id, user_id, project_key, track, queued_at, state)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (GUILD, user_id, project_key, "backend", NOW.isoformat(), state),
        )


async def add_team(db: Database, *members: int, thread_id: int = 77) -> None:
    with raw_writes(db) as conn:
        cursor = conn.execute(
            "INSERT INTO teams (guild_id, project_key, thread_id, created_at) VALUES (?, 'job-board', ?, ?)",
            (GUILD, thread_id, NOW.isoformat()),
        )
        team_id = cursor.lastrowid
        for user_id in members:
            conn.execute(
                "INSERT INTO team_members (team_id, guild_id, user_id, track, joined_at) VALUES (?, ?, ?, ?, ?)",
                (team_id, GUILD, user_id, "backend", later(user_id).isoformat()),
            )


async def test_roster_members_carry_waiting_paired_and_left(db: Database, store: ProjectsStore) -> None:
    await store.announce(draft(ADA), display_name="Ada", now=NOW)
    await store.announce(draft(GRACE, track="frontend"), display_name="Grace", now=later(1))
    await store.announce(draft(LINUS, track="frontend"), display_name="Linus", now=later(2))
    await store.announce(draft(4, project_key="ecommerce"), display_name="Other", now=later(3))
    await add_to_pool(db, ADA)
    await add_to_pool(db, 4, project_key="job-board")  # stale pool row for another project: not waiting here
    await add_team(db, GRACE, 9)
    assert await store.member_left(GUILD, LINUS, now=later(4))
    assert not await store.member_left(GUILD, LINUS, now=later(5))
    roster = await store.roster(GUILD, "job-board")
    members = {member.user_id: member for track in ("frontend", "backend") for member in roster.on_track[track]}
    assert set(members) == {ADA, GRACE, LINUS}
    assert (members[ADA].waiting, members[ADA].paired, members[ADA].left) == (True, False, False)
    assert (members[GRACE].waiting, members[GRACE].paired) == (False, True)
    assert members[LINUS].left
    assert [member.user_id for member in roster.looking] == [ADA]
    other = await store.roster(GUILD, "ecommerce")
    assert not other.on_track["backend"][0].waiting and other.looking == ()
    assert await store.member_rejoined(GUILD, LINUS)
    assert not (await store.roster(GUILD, "job-board")).on_track["frontend"][1].left


async def test_leaving_keeps_the_record_and_announcing_again_clears_left(store: ProjectsStore) -> None:
    await store.announce(draft(), display_name="Ada", now=NOW)
    await store.member_left(GUILD, ADA, now=later(1))
    assert (await store.export_rows(GUILD, history=False))[0].left
    await store.announce(draft(summary="back again"), display_name="Ada", now=later(2))
    assert not (await store.export_rows(GUILD, history=False))[0].left


async def test_unknown_member_leaving_is_ignored(store: ProjectsStore) -> None:
    assert not await store.member_left(GUILD, 12345, now=NOW)
    assert not await store.member_rejoined(GUILD, 12345)


async def test_custom_projects_in_use(store: ProjectsStore) -> None:
    await store.announce(
        draft(project_key="custom:pionus-safaris", project_name="Pionus Safaris"), display_name="Ada", now=NOW
    )
    await store.announce(
        draft(GRACE, project_key="custom:pionus-safaris", project_name="pionus safaris app"),
        display_name="Grace",
        now=later(1),
    )
    await store.announce(draft(LINUS, project_key="custom:gone", project_name="Gone"), display_name="L", now=NOW)
    await store.withdraw(GUILD, LINUS, now=later(2))
    assert await store.custom_projects(GUILD) == {"custom:pionus-safaris": "pionus safaris app"}


async def test_status_prefers_team_then_proposal_then_pool(db: Database, store: ProjectsStore) -> None:
    status = await store.status(GUILD, ADA)
    assert status.announcement is None and status.match.state == "none" and not status.reminders_opt_out

    await store.announce(draft(), display_name="Ada", now=NOW)
    await add_to_pool(db, ADA)
    status = await store.status(GUILD, ADA)
    assert status.announcement is not None and status.match.state == "waiting" and status.match.since == NOW

    with raw_writes(db) as conn:
        conn.execute(
            "INSERT INTO proposals (guild_id, project_key, frontend_id, backend_id, created_at, expires_at)"
            " VALUES (?, 'job-board', ?, ?, ?, ?)",
            (GUILD, GRACE, ADA, NOW.isoformat(), later(60).isoformat()),
        )
        conn.execute("UPDATE learners SET reminders_opt_out = 1 WHERE user_id = ?", (ADA,))
    status = await store.status(GUILD, ADA)
    assert (status.match.state, status.match.partner_ids, status.match.expires_at) == ("proposed", (GRACE,), later(60))
    assert status.reminders_opt_out

    await add_team(db, ADA, GRACE, LINUS, thread_id=55)
    status = await store.status(GUILD, ADA)
    assert (status.match.state, status.match.partner_ids, status.match.thread_id) == ("partnered", (GRACE, LINUS), 55)


async def test_guilds_are_kept_apart(store: ProjectsStore) -> None:
    await store.announce(draft(), display_name="Ada", now=NOW)
    await store.announce(draft(guild_id=GUILD + 1), display_name="Ada", now=NOW)
    await store.withdraw(GUILD + 1, ADA, now=later(1))
    assert await store.current(GUILD, ADA) is not None
    assert await store.current(GUILD + 1, ADA) is None
