"""/topic, /search, /topics, autocomplete and /nexus gaps through SimCord, as learners and staff see them."""

from __future__ import annotations

from typing import Any

import discord
import pytest
import simcord

from bot import Settings
from tests.conftest import CONTENT_DIR, World, build_world, restart


def buttons(message: Any) -> list[discord.Button]:
    """Every button on a message (or an interaction's response message), in order."""
    target = message.message if hasattr(message, "message") else message
    found: list[discord.Button] = []
    for row in target.components:
        found += [child for child in getattr(row, "children", []) if isinstance(child, discord.Button)]
    return found


# ---------------------------------------------------------------- /topic


async def test_topic_found_is_public_with_summary_and_key_points_only(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "topic", name="n-plus-one")
    assert not result.ephemeral
    [embed] = result.response.embeds
    assert embed.title == "Query optimisation and the N+1 problem"
    assert embed.description is not None and "select_related" in embed.description
    assert "How it sneaks in" not in embed.description  # the body waits behind "Show everything"
    assert [field.name for field in embed.fields] == ["Key points"]
    assert embed.footer.text == "Concepts · /topic n-plus-one"
    assert len(embed) <= 1200
    assert buttons(result.response)[0].label == "Show everything"
    # Everyone in the channel sees it.
    assert world.channel.last_message.embeds[0].title == embed.title


async def test_show_everything_opens_the_whole_entry_for_the_clicker_only(world: World) -> None:
    asker, clicker = world.learners[0], world.learners[1]
    result = await asker.slash(world.channel, "topic", name="n-plus-one")
    opened = await clicker.click(result.response, label="Show everything")
    assert opened.ephemeral
    [embed] = opened.response.embeds
    assert embed.description is not None and "How it sneaks in" in embed.description
    assert [field.name for field in embed.fields] == ["Key points", "Example", "Pitfalls", "Links"]
    assert embed.fields[1].value.startswith("```python")
    assert len(embed) <= 6000
    # The whole entry went to the clicker only: the asker still sees one short post in the channel.
    seen_by_asker = [m.embeds[0] for m in world.channel.history(viewer=asker) if m.embeds]
    assert [len(seen.fields) for seen in seen_by_asker] == [1]
    # The private answer has no "Show everything" of its own: it already is everything.
    assert "Show everything" not in [button.label for button in buttons(opened.response)]


async def test_show_everything_still_works_after_a_restart(simcord_env: Any, settings: Settings) -> None:
    world = await build_world(simcord_env)
    await world.learners[0].slash(world.channel, "topic", name="celery")
    message = world.channel.last_message
    await restart(simcord_env, settings)
    opened = await world.learners[1].click(message, label="Show everything")
    assert opened.ephemeral
    assert [field.name for field in opened.response.embeds[0].fields][:2] == ["Key points", "Example"]


async def test_topic_private_gives_the_whole_entry(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "topic", name="n-plus-one", private=True)
    assert result.ephemeral
    assert [field.name for field in result.response.embeds[0].fields] == ["Key points", "Example", "Pitfalls", "Links"]


async def test_public_post_of_every_entry_fits_1200_characters(world: World) -> None:
    learner = world.learners[0]
    ids = sorted(path.stem for path in (CONTENT_DIR / "topics").rglob("*.yaml"))
    sizes = {}
    for entry_id in ids:
        result = await learner.slash(world.channel, "topic", name=entry_id)
        assert not result.ephemeral
        sizes[entry_id] = len(result.response.embeds[0])
    assert max(sizes.values()) <= 1200, sorted(sizes.items(), key=lambda item: -item[1])[:3]


async def test_topic_typed_by_alias_in_another_spelling(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "topic", name="F-Strings")
    assert result.response.embeds[0].title == "Python f-strings"


async def test_topic_private_answers_only_the_asker(world: World) -> None:
    learner, other = world.learners[0], world.learners[1]
    result = await learner.slash(world.channel, "topic", name="celery", private=True)
    assert result.ephemeral
    assert result.response.embeds[0].title.startswith("Celery")
    assert all(not message.embeds for message in world.channel.history(viewer=other))


async def test_related_buttons_open_the_entry_privately_for_whoever_clicks(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "topic", name="celery")
    related = buttons(result.response)[1:]
    assert [button.label for button in related] == ["RabbitMQ", "Redis", "Emails and long tasks blocking requests"]
    assert all(button.custom_id.startswith("nexus:kb:open:priv:") for button in related)

    clicker = world.learners[1]
    opened = await clicker.click(result.response, label="Redis")
    assert opened.ephemeral
    assert opened.response.embeds[0].title == "Redis"
    # It opened for the clicker only: the asker's view of the channel has no Redis answer.
    titles = [m.embeds[0].title for m in world.channel.history(viewer=world.learners[0]) if m.embeds]
    assert "Redis" not in titles


async def test_related_buttons_still_work_after_a_restart(simcord_env: Any, settings: Settings) -> None:
    world = await build_world(simcord_env)
    result = await world.learners[0].slash(world.channel, "topic", name="docker")
    message = world.channel.last_message
    await restart(simcord_env, settings)
    opened = await world.learners[1].click(message, label=buttons(result.response)[1].label)
    assert opened.ephemeral
    assert opened.response.embeds[0].title == buttons(result.response)[1].label


async def test_unknown_topic_answers_privately_with_did_you_mean_buttons(world: World) -> None:
    learner = world.learners[0]
    result = await learner.slash(world.channel, "topic", name="celry")
    assert result.ephemeral
    assert result.response.content.startswith("No entry named “celry”.")
    suggestions = buttons(result.response)
    assert 1 <= len(suggestions) <= 3
    assert suggestions[0].label == "Celery (background tasks and Celery Beat)"

    # The learner asked publicly, so the answer they meant is posted for the channel.
    chosen = await learner.click(result.response, label=suggestions[0].label)
    assert not chosen.ephemeral
    assert chosen.response.embeds[0].title == "Celery (background tasks and Celery Beat)"


async def test_unknown_private_topic_keeps_the_suggestion_private(world: World) -> None:
    learner = world.learners[0]
    result = await learner.slash(world.channel, "topic", name="postgress", private=True)
    chosen = await learner.click(result.response, label="PostgreSQL")
    assert chosen.ephemeral
    assert chosen.response.embeds[0].title == "PostgreSQL"


async def test_unknown_topic_without_suggestions_points_to_browse(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "topic", name="kubernetes")
    assert result.ephemeral
    assert "No entry named “kubernetes”" in result.response.content
    assert "/topics" in result.response.content
    assert buttons(result.response) == []


async def test_topic_works_in_a_direct_message(world: World) -> None:
    result = await world.learners[0].user.slash("topic", name="redis")
    assert result.response.embeds[0].title == "Redis"


# ---------------------------------------------------------------- autocomplete


async def test_autocomplete_ranks_and_respects_discord_limits(world: World) -> None:
    learner = world.learners[0]
    choices = await learner.autocomplete(world.channel, "topic", "name", "djan")
    assert choices[0] == {"name": "Django", "value": "django"}
    assert choices[1]["value"] == "django-rest-framework"
    for typed in ("", "a", "e", "django", "celry", "n+1", "x" * 100):
        offered = await learner.autocomplete(world.channel, "topic", "name", typed)
        assert len(offered) <= 25
        assert all(len(choice["name"]) <= 100 and len(choice["value"]) <= 100 for choice in offered)
    assert len(await learner.autocomplete(world.channel, "topic", "name", "")) == 25
    typo = await learner.autocomplete(world.channel, "topic", "name", "celry")
    assert typo[0]["value"] == "celery"


async def test_autocomplete_value_opens_the_entry(world: World) -> None:
    learner = world.learners[0]
    [first, *_] = await learner.autocomplete(world.channel, "topic", "name", "swagger")
    result = await learner.slash(world.channel, "topic", name=first["value"])
    assert result.response.embeds[0].title.startswith("Swagger/OpenAPI")


# ---------------------------------------------------------------- /search


async def test_search_lists_best_hits_with_snippets_and_open_buttons(world: World) -> None:
    learner = world.learners[0]
    result = await learner.slash(world.channel, "search", query="refresh token rotation")
    assert result.ephemeral
    [embed] = result.response.embeds
    assert 1 <= len(embed.fields) <= 5
    assert embed.fields[0].name == "1. JWT authentication (access and refresh tokens)"
    assert "**" in embed.fields[0].value and "\n" not in embed.fields[0].value
    opened = await learner.click(result.response, label="JWT authentication (access and refresh tokens)")
    assert opened.ephemeral
    assert opened.response.embeds[0].title == "JWT authentication (access and refresh tokens)"


async def test_search_without_hit_suggests_and_is_recorded_for_staff(world: World) -> None:
    learner = world.learners[0]
    result = await learner.slash(world.channel, "search", query="kubernetes helm")
    assert result.ephemeral
    assert result.response.content.startswith("Nothing in the knowledge base matches “kubernetes helm”.")
    await learner.slash(world.channel, "search", query="Kubernetes  Helm")
    await learner.slash(world.channel, "topic", name="terraform")

    gaps = await world.staff.slash(world.channel, "nexus gaps")
    assert gaps.ephemeral
    description = gaps.response.embeds[0].description
    assert description is not None
    lines = description.splitlines()[1:]
    # Grouped by normalised text, shown as most recently typed.
    assert lines[0].startswith("**2×** Kubernetes  Helm (last ")
    assert lines[1].startswith("**1×** terraform")
    assert learner.user.name not in description


async def test_search_typo_gets_did_you_mean(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "search", query="rabitmq")
    assert "Did you mean" in result.response.content
    assert buttons(result.response)[0].label == "RabbitMQ"


async def test_gaps_shows_most_opened_entries_and_is_staff_only(world: World) -> None:
    learner = world.learners[0]
    await learner.slash(world.channel, "topic", name="redis")
    await learner.slash(world.channel, "topic", name="redis", private=True)
    await learner.slash(world.channel, "topic", name="docker")
    result = await world.staff.slash(world.channel, "nexus gaps")
    embed = result.response.embeds[0]
    assert "No unanswered questions yet" in (embed.description or "")
    assert embed.fields[0].name == "Most opened entries"
    assert embed.fields[0].value.splitlines() == ["2× Redis", "1× Docker & Docker Compose"]
    with pytest.raises(simcord.SetupError):
        await learner.slash(world.channel, "nexus gaps")


# ---------------------------------------------------------------- /topics


async def test_topics_paginates_with_previous_and_next(world: World) -> None:
    learner = world.learners[0]
    result = await learner.slash(world.channel, "topics")
    assert result.ephemeral
    first = result.response.embeds[0]
    assert first.footer.text is not None and first.footer.text.startswith("Page 1/")
    total = int(first.footer.text.split("/")[1])
    assert total >= 2
    assert first.description is not None and first.description.startswith("**Technologies**")
    previous, following = buttons(result.response)
    assert (previous.label, previous.disabled) == ("Previous", True)
    assert (following.label, following.disabled) == ("Next", False)

    second = await learner.click(result.response, label="Next")
    page = second.response.embeds[0]
    assert page.footer.text == f"Page 2/{total}"
    assert page.description != first.description
    assert [button.disabled for button in buttons(second.response)] == [False, total == 2]

    back = await learner.click(second.response, label="Previous")
    assert back.response.embeds[0].footer.text == f"Page 1/{total}"


async def test_topics_pages_cover_every_entry_once(world: World) -> None:
    learner = world.learners[0]
    result = await learner.slash(world.channel, "topics")
    seen: list[str] = []
    message: Any = result.response
    while True:
        embed = message.embeds[0]
        seen += [line for line in (embed.description or "").splitlines() if line.startswith("• ")]
        following = buttons(message)[1]
        if following.disabled:
            break
        message = (await learner.click(message, label="Next")).response
    assert len(seen) == len(set(seen)) == len(list((CONTENT_DIR / "topics").rglob("*.yaml")))


async def test_topics_for_one_category_fits_one_page(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "topics", category="program")
    embed = result.response.embeds[0]
    assert embed.title == "Knowledge base: The program"
    assert "`/topic week-one`" in (embed.description or "")
    assert buttons(result.response) == []


# ---------------------------------------------------------------- v2: questions, weak answers, forgiving names


async def test_search_takes_a_question_as_learners_ask_it(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "search", query="how do I stop n+1 queries")
    assert result.ephemeral
    [embed] = result.response.embeds
    assert embed.fields[0].name == "1. Query optimisation and the N+1 problem"
    # Fewer entries hold every word than a page holds: the rest is filled with the best partial matches.
    assert len(embed.fields) == 5
    assert len(buttons(result.response)) == 5


async def test_weak_answers_are_listed_for_staff_with_counts(world: World) -> None:
    learner = world.learners[0]
    for query in ("terraform state locking", "Terraform  state locking", "how do I stop n+1 queries"):
        result = await learner.slash(world.channel, "search", query=query)
        assert result.response.embeds  # a weak answer is still an answer for the learner
    gaps = await world.staff.slash(world.channel, "nexus gaps")
    embed = gaps.response.embeds[0]
    assert "No unanswered questions yet" in (embed.description or "")
    [weak] = [field for field in embed.fields if field.name.startswith("Weak answers")]
    lines = weak.value.splitlines()
    assert len(lines) == 1  # the N+1 question was answered well
    assert lines[0].startswith("**2×** Terraform  state locking → ")
    assert learner.user.name not in weak.value


async def test_autocomplete_forgives_long_names_and_one_letter_off(world: World) -> None:
    learner = world.learners[0]
    for typed, expected in (
        ("Database Design & Optimization", "database-design"),
        ("System Design Principles", "system-design"),
        ("asyncronous", "async-programming"),
        ("CI/CD Pipelines", "github-actions"),
    ):
        choices = await learner.autocomplete(world.channel, "topic", "name", typed)
        assert expected in [choice["value"] for choice in choices[:3]], (typed, choices[:3])
