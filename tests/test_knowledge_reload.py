"""/nexus reload against a copy of content/: a broken file keeps the old knowledge base, a fixed one swaps it."""

from __future__ import annotations

import shutil
from pathlib import Path

import discord
import pytest
import simcord

from bot import Settings
from tests.conftest import CONTENT_DIR, World

NEW_ENTRY = """\
id: kubernetes
title: Kubernetes basics
category: technology
aliases: [k8s]
tags: [deployment]
summary: What Kubernetes does and why a capstone rarely needs it.
body: |
  A container orchestrator. For a capstone, Docker Compose on one server is enough.
related: [docker]
"""


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, copy)
    return copy


@pytest.fixture
def settings(settings: Settings, content_dir: Path) -> Settings:
    return settings.with_overrides(content_dir=content_dir)


async def test_reload_with_a_broken_file_keeps_the_old_knowledge_base(world: World, content_dir: Path) -> None:
    celery = content_dir / "topics" / "technology" / "celery.yaml"
    celery.write_text(celery.read_text(encoding="utf-8").replace("category: technology", "category: tech"))
    (content_dir / "topics" / "technology" / "kubernetes.yaml").write_text(
        NEW_ENTRY.replace("related: [docker]", "related: [helm]"), encoding="utf-8"
    )

    result = await world.staff.slash(world.channel, "nexus reload")
    assert result.ephemeral
    embed = result.response.embeds[0]
    assert embed.title == "Content has 2 problems: nothing was reloaded"
    assert embed.description is not None
    assert "content/topics/technology/celery.yaml:3:1: category: must be one of" in embed.description
    assert "content/topics/technology/kubernetes.yaml:9:11: related[0]: no entry has the id 'helm'" in embed.description
    assert embed.footer.text is not None and embed.footer.text.startswith("Still serving the previous knowledge base")

    # Learners still get the old entries, and the half-written new one is not served.
    found = await world.learners[0].slash(world.channel, "topic", name="celery")
    assert found.response.embeds[0].title.startswith("Celery")
    missing = await world.learners[0].slash(world.channel, "topic", name="k8s")
    assert missing.response.content.startswith("No entry named")
    searched = await world.learners[0].slash(world.channel, "search", query="orchestrator")
    assert searched.response.content.startswith("Nothing in the knowledge base matches")


async def test_reload_picks_up_a_new_entry_and_reports_counts(world: World, content_dir: Path) -> None:
    (content_dir / "topics" / "technology" / "kubernetes.yaml").write_text(NEW_ENTRY, encoding="utf-8")
    (content_dir / "topics" / "technology" / "python-f-strings.yaml").unlink()
    # The remaining entries that pointed at the removed one would now be broken: drop those references.
    for path in (content_dir / "topics").rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(", python-f-strings", "").replace("python-f-strings, ", ""), encoding="utf-8")

    result = await world.staff.slash(world.channel, "nexus reload")
    assert result.ephemeral
    total = len(list((content_dir / "topics").rglob("*.yaml")))
    assert result.response.content.startswith(f"Reloaded the knowledge base: {total} entries (technology ")
    assert result.response.content.endswith("; 1 added, 1 removed.")

    learner = world.learners[0]
    found = await learner.slash(world.channel, "topic", name="k8s")
    assert found.response.embeds[0].title == "Kubernetes basics"
    choices = await learner.autocomplete(world.channel, "topic", "name", "kube")
    assert choices[0]["value"] == "kubernetes"
    searched = await learner.slash(world.channel, "search", query="orchestrator")
    assert searched.response.embeds[0].fields[0].name == "1. Kubernetes basics"
    gone = await learner.slash(world.channel, "topic", name="fstring")
    assert gone.response.content.startswith("No entry named")


async def test_a_button_for_a_removed_entry_answers_politely(world: World, content_dir: Path) -> None:
    learner = world.learners[0]
    answer = await learner.slash(world.channel, "topic", name="python")
    assert any(
        button.label == "Python f-strings" for row in answer.response.message.components for button in row.children
    )
    (content_dir / "topics" / "technology" / "python-f-strings.yaml").unlink()
    for path in (content_dir / "topics").rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(", python-f-strings", "").replace("python-f-strings, ", ""), encoding="utf-8")
    await world.staff.slash(world.channel, "nexus reload")

    clicked = await learner.click(answer.response, label="Python f-strings")
    assert clicked.ephemeral
    assert "no longer in the knowledge base" in clicked.response.content


async def test_reload_is_staff_only(world: World) -> None:
    commands = await world.env.bot.tree.fetch_commands()
    nexus = next(command for command in commands if command.name == "nexus")
    world.guild.set_command_permissions(nexus, {world.guild.default_role: True})
    denied = await world.learners[0].slash(world.channel, "nexus reload")
    assert denied.ephemeral
    assert "Manage Server" in denied.response.content
    simcord.assert_error(world.env, discord.app_commands.CheckFailure)


async def test_long_titles_and_aliases_still_fit_autocomplete(world: World, content_dir: Path) -> None:
    title = "A" * 100
    text = NEW_ENTRY.replace("title: Kubernetes basics", f"title: {title}").replace(
        "aliases: [k8s]", f"aliases: [k8s, {'kubernetes cluster orchestration ' * 3}]"
    )
    (content_dir / "topics" / "technology" / "kubernetes.yaml").write_text(text, encoding="utf-8")
    reloaded = await world.staff.slash(world.channel, "nexus reload")
    assert reloaded.response.content.startswith("Reloaded")
    choices = await world.learners[0].autocomplete(world.channel, "topic", "name", "kubernetes cluster")
    assert choices[0]["value"] == "kubernetes"
    assert all(len(choice["name"]) <= 100 for choice in choices)
