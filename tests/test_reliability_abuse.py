"""Abuse: per-person cooldowns on the commands that post publicly or DM others, and no way to make the bot DM the
same learner again and again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot import Settings
from tests.conftest import CONTENT_DIR, World

COOLDOWN = 10.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        db_path=tmp_path / "nexus.db",
        content_dir=CONTENT_DIR,
        dm_pace_seconds=0.0,
        command_cooldown_seconds=COOLDOWN,
        heartbeat_path=tmp_path / "heartbeat",
    )


def texts(result: Any) -> str:
    parts = [result.response.content if result.response else ""]
    return "\n".join(parts + [followup.content for followup in result.followups])


def public_posts(world: World) -> int:
    return len([m for m in world.channel.history() if m.embeds and not m.flags.ephemeral])


def dm_count(member: Any) -> int:
    return len(member.user.dm_channel.history())


async def test_announce_is_rate_limited_per_person(world: World) -> None:
    ada, grace = world.learners[:2]
    first = await ada.slash(world.channel, "announce", project="job-board", track="backend")
    assert "Recorded" in texts(first)

    again = await ada.slash(world.channel, "announce", project="ecommerce", track="backend")
    assert again.ephemeral and texts(again) == "Slow down a little: try again in 10 s."
    assert public_posts(world) == 1
    # Someone else is not slowed down by Ada.
    assert "Recorded" in texts(await grace.slash(world.channel, "announce", project="job-board", track="frontend"))

    await world.env.advance_time(COOLDOWN)
    assert "replaces your previous choice" in texts(
        await ada.slash(world.channel, "announce", project="ecommerce", track="backend")
    )
    assert public_posts(world) == 3
    assert world.env.errors == []


async def test_a_rejected_option_does_not_use_up_the_cooldown(world: World) -> None:
    ada = world.learners[0]
    typo = await ada.slash(world.channel, "announce", project="job-board", track="backend", repo="github.com/ada")
    assert "not a link I can post" in texts(typo)
    fixed = await ada.slash(
        world.channel, "announce", project="job-board", track="backend", repo="https://github.com/ada/jobs"
    )
    assert "Recorded" in texts(fixed)


async def test_match_find_is_rate_limited_per_person(world: World) -> None:
    ada, grace = world.learners[:2]
    await ada.slash(world.channel, "announce", project="job-board", track="backend")
    await world.env.advance_time(COOLDOWN)
    assert "in the pool" in texts(await ada.slash(world.channel, "match find"))
    slowed = await ada.slash(world.channel, "match find")
    assert slowed.ephemeral and texts(slowed).startswith("Slow down a little: try again in ")
    await world.env.advance_time(4)
    assert "try again in 6 s" in texts(await ada.slash(world.channel, "match find"))
    await world.env.advance_time(6)
    assert "still in the pool" in texts(await ada.slash(world.channel, "match find"))
    await grace.slash(world.channel, "announce", project="job-board", track="frontend")
    assert "Found you a possible partner" in texts(await grace.slash(world.channel, "match find"))


async def test_find_and_leave_in_a_loop_does_not_dm_the_same_learner_again(world: World) -> None:
    ada, grace, linus = world.learners[:3]
    await grace.slash(world.channel, "announce", project="job-board", track="frontend")
    await ada.slash(world.channel, "announce", project="job-board", track="backend")
    await world.env.advance_time(COOLDOWN)
    await grace.slash(world.channel, "match find")

    assert "Found you a possible partner" in texts(await ada.slash(world.channel, "match find"))
    await ada.slash(world.channel, "match leave")
    told = dm_count(grace)
    assert told == 2  # the proposal, then "Ada withdrew"
    for _ in range(5):
        await world.env.advance_time(COOLDOWN)
        answer = texts(await ada.slash(world.channel, "match find"))
        assert "already met you, so I won't propose them again" in answer
        await ada.slash(world.channel, "match leave")
    assert dm_count(grace) == told
    # Grace still gets a new partner when one arrives.
    await linus.slash(world.channel, "announce", project="job-board", track="backend")
    await world.env.advance_time(COOLDOWN)
    assert "Found you a possible partner" in texts(await linus.slash(world.channel, "match find"))
    assert dm_count(grace) == told + 1


async def test_withdraw_and_announce_again_does_not_dm_the_same_learner_again(world: World) -> None:
    ada, grace = world.learners[:2]
    await grace.slash(world.channel, "announce", project="job-board", track="frontend")
    await ada.slash(world.channel, "announce", project="job-board", track="backend")
    await world.env.advance_time(COOLDOWN)
    await grace.slash(world.channel, "match find")
    await ada.slash(world.channel, "match find")
    for _ in range(3):
        prompt = await ada.slash(world.channel, "withdraw")
        await ada.click(prompt.response, label="Confirm")
        await world.env.advance_time(COOLDOWN)
        await ada.slash(world.channel, "announce", project="job-board", track="backend")
        await world.env.advance_time(COOLDOWN)
        await ada.slash(world.channel, "match find")
    # One proposal and one "withdrew" notice, however often Ada goes round.
    assert dm_count(grace) == 2


async def test_topic_in_public_is_rate_limited_per_person(world: World) -> None:
    ada, grace = world.learners[:2]
    first = await ada.slash(world.channel, "topic", name="celery")
    assert not first.ephemeral and first.response.embeds
    for _ in range(19):
        again = await ada.slash(world.channel, "topic", name="celery")
        # Answered, but only to Ada, with the wait: nothing lost, nothing flooded.
        assert again.ephemeral and again.response.embeds
        assert again.response.content.startswith("Slow down a little: try again in ")
    # A "did you mean" button of a public look-up posts publicly too, so it shares the cooldown.
    typo = await ada.slash(world.channel, "topic", name="celeryy")
    label = typo.response.message.components[0].children[0].label
    clicked = await ada.click(typo.response, label=label)
    assert clicked.ephemeral and "Slow down" in texts(clicked)
    public = [m for m in world.channel.history() if m.embeds and m.interaction_metadata is not None]
    assert len(public) == 1
    # Someone else is not slowed down by Ada, and Ada may post again after the period.
    assert not (await grace.slash(world.channel, "topic", name="celery")).ephemeral
    await world.env.advance_time(COOLDOWN)
    assert not (await ada.slash(world.channel, "topic", name="celery")).ephemeral
    assert world.env.errors == []


async def test_switching_back_and_forth_leaves_one_current_post(world: World) -> None:
    ada = world.learners[0]
    for project in ("job-board", "ecommerce", "job-board", "ecommerce"):
        await ada.slash(world.channel, "announce", project=project, track="backend")
        await world.env.advance_time(COOLDOWN)
    posts = [m for m in world.channel.history() if m.embeds]
    assert len(posts) == 4
    # Every older post says it is out of date (its project struck through); only the newest looks current.
    for old in posts[:-1]:
        assert "out of date" in (old.embeds[0].description or "")
        assert (old.embeds[0].title or "").startswith("~~")
    assert "is building" in (posts[-1].embeds[0].description or "")

    prompt = await ada.slash(world.channel, "withdraw")
    await ada.click(prompt.response, label="Confirm")
    newest = [m for m in world.channel.history() if m.embeds][-1]
    assert "withdrew this announcement" in (newest.embeds[0].description or "")
    assert not [m for m in world.channel.history() if "is building" in (m.embeds[0].description or "")]
    assert world.env.errors == []
