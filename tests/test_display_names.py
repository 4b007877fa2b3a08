"""One display name per project, whichever reply names it: pool replies, proposals, team threads, stats."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import discord
import pytest

from bot.projects import Catalogue, Project, ProjectNames, Track, choice_label, display_name
from tests.conftest import World
from tests.reminders_helpers import advance_to, at

START = datetime(2026, 1, 1, tzinfo=UTC)  # SimCord's virtual clock starts here; `world`'s cohort starts this day

CATALOGUE = Catalogue(
    [
        Project("ecommerce", "E-Commerce Backend", "E-Commerce Product Catalog", "A store"),
        Project("online-poll", "Online Poll System Backend", "Interactive Online Polling Platform", "Polls"),
        Project("blog", "Blog API", "Blog Reader", "Posts"),
    ]
)


@pytest.mark.parametrize(
    ("key", "announced", "expected"),
    [
        # Official projects: the catalogue's neutral name, never a track title or the raw key.
        ("ecommerce", None, "E-Commerce"),
        ("ecommerce", "E-Commerce Product Catalog", "E-Commerce"),
        ("ecommerce", "E-Commerce Backend", "E-Commerce"),
        ("online-poll", "Interactive Online Polling Platform", "Online Poll System"),
        ("blog", None, "Blog API"),  # a backend title without "Backend" is kept whole
        # Custom projects: the name a learner typed, or their normalised key.
        ("custom:pionus-safaris", "Pionus Safaris", "Pionus Safaris"),
        ("custom:pionus-safaris", None, "pionus safaris"),
    ],
)
def test_display_name(key: str, announced: str | None, expected: str) -> None:
    assert display_name(key, CATALOGUE, announced) == expected
    assert ProjectNames(CATALOGUE)(key, announced) == expected


async def test_every_reply_names_the_project_the_same_way(world: World) -> None:
    ada, grace = world.learners[:2]
    await ada.slash(world.channel, "announce", project="ecommerce", track="backend")
    await grace.slash(world.channel, "announce", project="ecommerce", track="frontend")
    waiting = await grace.slash(world.channel, "match find")
    assert "You're in the pool for **E-Commerce** (frontend)" in waiting.response.content
    await ada.slash(world.channel, "match find")
    proposal = [m for m in ada.user.dm_channel.history() if m.components][-1]
    assert proposal.content == "New partner proposal on E-Commerce."
    assert proposal.embeds[0].title == "Partner proposal: E-Commerce"
    # Grace announced the frontend title ("E-Commerce Product Catalog"); the proposal still names one project.
    fields = {field.name: field.value for field in proposal.embeds[0].fields}
    assert fields["Their project"] == "E-Commerce"
    assert "Product Catalog" not in str(proposal.embeds[0].to_dict())
    for person in (ada, grace):
        await person.user.click([m for m in person.user.dm_channel.history() if m.components][-1], label="Accept")
    [thread] = world.channel.threads
    assert thread.name is not None and thread.name.startswith("E-Commerce · ")
    intro = thread.history()[0].embeds[0]
    assert intro.title == "Team E-Commerce"
    assert all("**Project:** E-Commerce\n" in (field.value or "") for field in intro.fields[:2])
    stats = await world.staff.slash(world.channel, "nexus stats")
    fields = {field.name: field.value for field in stats.response.embeds[0].fields}
    assert fields["Announcements by project and track"] == "E-Commerce — 1 frontend, 1 backend"


@pytest.mark.parametrize(
    ("key", "track", "expected"),
    [
        ("ecommerce", "frontend", "E-Commerce Product Catalog"),
        ("ecommerce", "backend", "E-Commerce Backend"),
        ("blog", "backend", None),  # the title is the display name: nothing to add
        ("blog", "frontend", "Blog Reader"),
        ("custom:pionus-safaris", "backend", None),  # a custom project has no brief
    ],
)
def test_track_title_is_detail_only_when_it_adds_something(key: str, track: Track, expected: str | None) -> None:
    assert ProjectNames(CATALOGUE).track_title(key, track) == expected


@pytest.mark.parametrize(
    ("key", "track", "expected"),
    [
        ("ecommerce", "frontend", "E-Commerce — E-Commerce Product Catalog"),
        ("ecommerce", None, "E-Commerce — E-Commerce Backend / E-Commerce Product Catalog"),
        ("blog", "backend", "Blog API"),
    ],
)
def test_choice_label_leads_with_the_display_name(key: str, track: Track | None, expected: str) -> None:
    project = CATALOGUE.get(key)
    assert project is not None
    assert choice_label(project, track) == expected


BOLD = re.compile(r"\*\*(.+?)\*\*")
TITLES = {"backend": "E-Commerce Backend", "frontend": "E-Commerce Product Catalog"}


def named(texts: list[str]) -> set[str]:
    """Every bold phrase: where these replies put a project's name."""
    return {found for text in texts for found in BOLD.findall(text)}


def embed_texts(embed: discord.Embed) -> list[str]:
    return [embed.title or "", embed.description or ""] + [f"{f.name}\n{f.value}" for f in embed.fields]


async def test_one_project_has_one_name_from_announce_to_reminders(world: World) -> None:
    """Walk one official project through every reply a learner meets in week one, on both tracks."""
    ada, grace = world.learners[:2]
    learners = {"backend": ada, "frontend": grace}
    for track, learner in learners.items():
        result = await learner.slash(world.channel, "announce", project=TITLES[track], track=track)
        copy = result.response.embeds[0]
        post = [m for m in world.channel.history() if not m.flags.ephemeral and m.embeds][-1].embeds[0]
        for embed in (copy, post):
            # The title is the display name; the learner's own brief title is detail after the track.
            assert embed.title == "E-Commerce"
            assert (embed.description or "").startswith(
                f"{learner.mention} is building **E-Commerce** on the {track} track ({TITLES[track]})."
            )

        me = (await learner.slash(world.channel, "me")).response.embeds[0]
        project = next(field.value or "" for field in me.fields if field.name == "Project")
        assert project.startswith(f"**E-Commerce** — {track} ({TITLES[track]})")
        assert named([project]) == {"E-Commerce"}

    board = (await ada.slash(world.channel, "projects")).response.embeds[0]
    assert board.fields[0].name == "E-Commerce"
    assert board.fields[0].value == "Backend 1 · Frontend 1 · paired 0 · waiting 0"
    assert not any(title in str(board.to_dict()) for title in TITLES.values())

    for track, learner in learners.items():
        # Asked for by the other track's title, the page still names the project once, the same way.
        other = TITLES["frontend" if track == "backend" else "backend"]
        page = (await learner.slash(world.channel, "project", name=other)).response.embeds[0]
        assert page.title == "E-Commerce"
        assert (page.description or "").endswith(
            "Brief titles: E-Commerce Backend (backend), E-Commerce Product Catalog (frontend)."
        )

    waiting = await grace.slash(world.channel, "match find")
    assert "You're in the pool for **E-Commerce** (frontend)" in waiting.response.content
    await ada.slash(world.channel, "match find")
    proposal = [m for m in ada.user.dm_channel.history() if m.components][-1]
    assert proposal.content == "New partner proposal on E-Commerce."
    assert proposal.embeds[0].title == "Partner proposal: E-Commerce"

    # Day 2 brings the channel digest, day 3 the partner nudge to both (the proposal is still unanswered).
    await advance_to(world.env, at(START, days=3, hours=11))
    digest = next(m for m in world.channel.history() if "Midweek check" in m.content).embeds[0]
    assert (digest.description or "").startswith(
        "**E-Commerce** — backend 1 (1 waiting: learner0) · frontend 1 (1 waiting: learner1)"
    )
    assert named(embed_texts(digest)) == {"E-Commerce"}
    names = {"backend": "learner0", "frontend": "learner1"}
    for track, learner in learners.items():
        other = "frontend" if track == "backend" else "backend"
        nudge = next(m for m in learner.user.dm_channel.history() if "Now find your partner" in m.content).content
        assert nudge.startswith(f"Hi {names[track]}! You announced **E-Commerce**.")
        assert f"1 {other} learner is waiting on E-Commerce: {names[other]}." in nudge

    # Nowhere in what the two learners saw does a track title stand as the project's name.
    seen: list[str] = []
    for learner in learners.values():
        for message in [*world.channel.history(viewer=learner), *learner.user.dm_channel.history()]:
            seen.append(message.content)
            for embed in message.embeds:
                seen.extend(embed_texts(embed))
                assert embed.title not in TITLES.values()
    assert "E-Commerce" in named(seen)
    assert not named(seen) & set(TITLES.values())
    assert not any(f"{verb} {title}" in text for text in seen for verb in ("on", "for") for title in TITLES.values())
