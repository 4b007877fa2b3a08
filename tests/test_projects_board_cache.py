"""The board's counts right after every kind of write, through SimCord, with the counts already read once before it.

The bot keeps the counts between writes and recounts only what a write marked stale, so each test first reads
/projects (filling what is kept), then writes as a learner or staff member would, then reads again and compares
with counts written out by hand: a write that forgot to mark its project would show the old counts.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.projects import AnnouncementDraft, ProjectTotals
from bot.storage.db import Database
from bot.storage.projects import ProjectsStore
from tests.conftest import World
from tests.test_matching_flow import HOURS, announce, button_labels, pair_up, proposal_dm
from tests.test_ops_stats import fields_of
from tests.test_projects_commands import fields

JOBS = "Job Board"
POLL = "Online Poll System"


def row(backend: int, frontend: int, paired: int = 0, waiting: int = 0) -> str:
    return f"Backend {backend} · Frontend {frontend} · paired {paired} · waiting {waiting}"


async def board(world: World) -> dict[str, str]:
    """The /projects rows anyone is on (the busiest come first, so a few always fit on page one)."""
    result = await world.staff.slash(world.channel, "projects")
    return {
        field.name or "": field.value or ""
        for field in result.response.embeds[0].fields
        if "Nobody yet" not in (field.value or "")
    }


async def project(world: World, name: str) -> dict[str, str]:
    result = await world.staff.slash(world.channel, "project", name=name)
    return fields(result.response.embeds[0])


async def test_announce_switch_project_switch_track_and_withdraw(world: World) -> None:
    ada, grace = world.learners[:2]
    assert await board(world) == {}
    await announce(world, ada, "backend")
    assert await board(world) == {JOBS: row(1, 0)}
    await announce(world, grace, "frontend")
    assert await board(world) == {JOBS: row(1, 1)}

    await announce(world, grace, "frontend", project="online-poll")
    assert await board(world) == {JOBS: row(1, 0), POLL: row(0, 1)}
    await announce(world, grace, "backend", project="online-poll")
    assert await board(world) == {JOBS: row(1, 0), POLL: row(1, 0)}
    assert "Backend (1)" in await project(world, "online-poll")

    asked = await ada.slash(world.channel, "withdraw")
    await ada.click(asked.response, label="Confirm")
    assert await board(world) == {POLL: row(1, 0)}
    shown = await project(world, "jobs")
    assert "Backend (0)" in shown and "Frontend (0)" in shown


async def test_a_member_leaving_and_coming_back(world: World) -> None:
    ada, grace = world.learners[:2]
    await announce(world, ada, "backend")
    await announce(world, grace, "frontend")
    await ada.slash(world.channel, "match find")
    assert await board(world) == {JOBS: row(1, 1, waiting=1)}
    assert "Backend (1)" in await project(world, "jobs")

    world.guild.remove_member(grace)
    await world.env.settle()
    assert await board(world) == {JOBS: row(1, 0, waiting=1)}
    assert "Frontend (0)" in await project(world, "jobs")
    stats = fields_of(await world.staff.slash(world.channel, "nexus stats"))
    assert stats["Announcements by project and track"] == "Job Board — 0 frontend, 1 backend"

    # Leaving also took ada out of the pool: coming back counts her choice again, not her place in line.
    world.guild.remove_member(ada)
    await world.env.settle()
    assert await board(world) == {}
    world.guild.add_member(grace.user, roles=[world.learner_role])
    world.guild.add_member(ada.user, roles=[world.learner_role])
    await world.env.settle()
    assert await board(world) == {JOBS: row(1, 1)}
    stats = fields_of(await world.staff.slash(world.channel, "nexus stats"))
    assert stats["Announcements by project and track"] == "Job Board — 1 frontend, 1 backend"


async def test_find_propose_accept_and_unpair(world: World) -> None:
    backend, frontend = world.learners[:2]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    assert await board(world) == {JOBS: row(1, 1)}

    await backend.slash(world.channel, "match find")
    assert await board(world) == {JOBS: row(1, 1, waiting=1)}
    await frontend.slash(world.channel, "match find")  # proposed to each other: nobody waits
    assert await board(world) == {JOBS: row(1, 1)}
    await backend.user.click(proposal_dm(backend), label="Accept")
    assert await board(world) == {JOBS: row(1, 1)}
    await frontend.user.click(proposal_dm(frontend), label="Accept")
    assert await board(world) == {JOBS: row(1, 1, paired=2)}

    asked = await backend.slash(world.channel, "match unpair")
    await backend.click(asked.response, label="Unpair")
    assert await board(world) == {JOBS: row(1, 1)}


async def test_decline_puts_both_back_in_line(world: World) -> None:
    backend, frontend = world.learners[:2]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    assert await board(world) == {JOBS: row(1, 1)}
    await frontend.user.click(proposal_dm(frontend), label="Decline")
    assert await board(world) == {JOBS: row(1, 1, waiting=2)}


async def test_expiry_requeues_the_one_who_accepted(world: World) -> None:
    backend, frontend = world.learners[:2]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await backend.slash(world.channel, "match find")
    await frontend.slash(world.channel, "match find")
    await backend.user.click(proposal_dm(backend), label="Accept")
    assert await board(world) == {JOBS: row(1, 1)}
    await world.env.advance_time(48 * HOURS + 1)
    assert await board(world) == {JOBS: row(1, 1, waiting=1)}


async def test_match_leave(world: World) -> None:
    ada = world.learners[0]
    await announce(world, ada, "backend")
    await ada.slash(world.channel, "match find")
    assert await board(world) == {JOBS: row(1, 0, waiting=1)}
    await ada.slash(world.channel, "match leave")
    assert await board(world) == {JOBS: row(1, 0)}


async def test_staff_pair_and_run_seating_a_third(world: World) -> None:
    backend, frontend, extra, spare = world.learners
    for member, track in ((backend, "backend"), (frontend, "frontend"), (extra, "backend"), (spare, "backend")):
        await announce(world, member, track)
    assert await board(world) == {JOBS: row(3, 1)}
    result = await world.staff.slash(world.channel, "match pair", first=frontend, second=backend)
    assert result.ephemeral
    assert await board(world) == {JOBS: row(3, 1, paired=2)}

    for member in (extra, spare):
        await member.slash(world.channel, "match find")
    assert await board(world) == {JOBS: row(3, 1, paired=2, waiting=2)}
    run = await world.staff.slash(world.channel, "match run")
    assert "Seated 1 learner as third members; 1 still alone." in run.response.content
    assert await board(world) == {JOBS: row(3, 1, paired=3, waiting=1)}


async def test_a_partner_counts_on_the_project_they_announce_now(world: World) -> None:
    """Teams survive a project change, so ending one changes the count of a project it was not formed on."""
    backend, frontend = world.learners[:2]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await pair_up(world, backend, frontend)
    assert await board(world) == {JOBS: row(1, 1, paired=2)}
    await announce(world, frontend, "frontend", project="online-poll")
    assert await board(world) == {JOBS: row(1, 0, paired=1), POLL: row(0, 1, paired=1)}

    asked = await backend.slash(world.channel, "match unpair")
    await backend.click(asked.response, label="Unpair")
    assert await board(world) == {JOBS: row(1, 0), POLL: row(0, 1)}


async def test_withdrawing_ends_the_team_for_the_partner_too(world: World) -> None:
    backend, frontend = world.learners[:2]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await pair_up(world, backend, frontend)
    assert await board(world) == {JOBS: row(1, 1, paired=2)}
    asked = await frontend.slash(world.channel, "withdraw")
    await frontend.click(asked.response, label=button_labels(asked.response.message)[0])
    assert await board(world) == {JOBS: row(1, 0)}


async def test_forget_me(world: World) -> None:
    ada, grace, linus = world.learners[:3]
    await announce(world, ada, "backend")
    await announce(world, grace, "frontend")
    await announce(world, linus, "backend", project="online-poll")
    await grace.slash(world.channel, "match find")
    assert await board(world) == {JOBS: row(1, 1, waiting=1), POLL: row(1, 0)}
    # Not in matching, so only forgetting itself changes the board.
    asked = await ada.slash(world.channel, "forget-me")
    await ada.click(asked.response, label="Confirm")
    assert await board(world) == {JOBS: row(0, 1, waiting=1), POLL: row(1, 0)}
    assert "Backend (0)" in await project(world, "jobs")

    asked = await grace.slash(world.channel, "forget-me")
    await grace.click(asked.response, label="Confirm")
    assert await board(world) == {POLL: row(1, 0)}


def draft(user_id: int, key: str, track: str) -> AnnouncementDraft:
    return AnnouncementDraft(
        guild_id=1,
        user_id=user_id,
        project_key=key,
        project_name=key,
        track=track,  # type: ignore[arg-type]
        summary=None,
        repo_url=None,
        timezone=None,
        late=False,
    )


async def test_reads_racing_writes_never_keep_old_counts(tmp_path: Path) -> None:
    """Reads and writes in flight together on one connection: the last read counts every write before it."""
    db = Database(tmp_path / "race.db")
    await db.connect()
    try:
        store = ProjectsStore(db)
        now = datetime(2026, 1, 5, tzinfo=UTC)
        assert await store.board_totals(1) == []
        calls: list[Any] = []
        for user in range(1, 41):
            track = "backend" if user % 2 else "frontend"
            calls.append(store.announce(draft(user, "job-board", track), display_name=f"l{user}", now=now))
            calls.append(store.board_totals(1))
            if user % 4 == 0:  # every fourth learner moves on to another project, and every eighth leaves
                calls.append(store.announce(draft(user, "online-poll", track), display_name=f"l{user}", now=now))
                calls.append(store.board_total(1, "job-board"))
            if user % 8 == 0:
                calls.append(store.member_left(1, user, now=now + timedelta(minutes=1)))
        await asyncio.gather(*calls)
        totals = {(total.key, total.frontend, total.backend) for total in await store.board_totals(1)}
        # 40 learners: 20 backend (odd), 20 frontend (even); the 10 multiples of 4 moved, and 5 of them left.
        assert totals == {("job-board", 10, 20), ("online-poll", 5, 0)}
        only: ProjectTotals | None = await store.board_total(1, "online-poll")
        assert only is not None and (only.frontend, only.backend) == (5, 0)
    finally:
        await db.close()
