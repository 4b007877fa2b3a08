"""One display name per project, whichever reply names it: pool replies, proposals, team threads, stats."""

from __future__ import annotations

import pytest

from bot.projects import Catalogue, Project, ProjectNames, display_name
from tests.conftest import World

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
