"""Text one learner types, as another learner (or staff) sees it: never a disguised link, heading, spoiler, code
block, mention or direction override, on every path that shows it; and look-alike letters cannot make a second
"same" project."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import discord
import pytest

from bot.projects import csv_safe, normalise_project_name
from tests.conftest import World

# A custom project name and a display name as a phisher would type them.
PROJECT = "[Claim your certificate](https://evil.example)"
NICK = "# [Free Nitro](https://evil.example) ||x|| ```\u202e"
REPO = "https://github.com/mallory/app"
ESCAPED = re.compile(r"\\.", re.DOTALL)
MASKED_LINK = re.compile(r"\[[^\]]*\]\(\s*<?https?:", re.IGNORECASE)


def markdown_problems(text: str) -> list[str]:
    """What Discord would draw as something other than the typed text (escaped characters are shown as typed)."""
    bare = ESCAPED.sub("", text)
    problems = []
    if MASKED_LINK.search(bare):
        problems.append("masked link")
    if re.search(r"^\s*#", bare, re.MULTILINE):
        problems.append("heading")
    for marker, what in (("||", "spoiler"), ("```", "code block"), ("\u202e", "direction override")):
        if marker in bare:
            problems.append(what)
    return [f"{what} in {text!r}" for what in problems]


def visible_texts(message: discord.Message) -> Iterable[str]:
    kind = getattr(message, "type", discord.MessageType.default)
    if kind not in (discord.MessageType.default, discord.MessageType.reply, discord.MessageType.chat_input_command):
        return  # a system line (a thread's name) is not Markdown: Discord shows it literally
    yield message.content or ""
    for embed in message.embeds:
        yield embed.title or ""
        yield embed.description or ""
        yield embed.footer.text or ""
        for field in embed.fields:
            yield field.name or ""
            yield field.value or ""


def problems_in(messages: Iterable[discord.Message]) -> list[str]:
    return [problem for message in messages for text in visible_texts(message) for problem in markdown_problems(text)]


def dms(member: Any) -> list[discord.Message]:
    return list(member.user.dm_channel.history())


async def announce(world: World, member: Any, track: str, project: str, **extra: str) -> None:
    result = await member.slash(world.channel, "announce", project=project, track=track, **extra)
    replies = [result.response.content if result.response else ""] + [f.content for f in result.followups]
    assert any("Recorded" in reply for reply in replies), replies


def proposal(member: Any) -> discord.Message:
    return [message for message in dms(member) if message.components][-1]


def test_the_check_itself_sees_a_raw_masked_link() -> None:
    # Without escapes every problem is seen; with `bot.text.shown` none is.
    from bot.text import shown

    assert len(markdown_problems(f"{NICK} {PROJECT}")) == 5
    assert markdown_problems(f"{shown(NICK)} {shown(PROJECT)}") == []


async def test_hostile_names_reach_the_other_learner_as_plain_text(world: World) -> None:
    victim, staff = world.learners[0], world.staff
    phisher = world.guild.add_member(world.env.create_user("mallory"), roles=[world.learner_role], nick=NICK)
    second = world.guild.add_member(world.env.create_user("trent"), roles=[world.learner_role], nick=NICK)
    await announce(world, phisher, "backend", PROJECT, repo=REPO)
    await announce(world, victim, "frontend", PROJECT, timezone="Europe/Paris")

    # The proposal DM (content and embed), then the decline notice.
    await phisher.slash(world.channel, "match find")
    await victim.slash(world.channel, "match find")
    assert proposal(victim).embeds and proposal(victim).embeds[0].fields
    await phisher.user.click(proposal(phisher), label="Decline")
    assert "declined" in dms(victim)[-1].content

    # A second hostile partner: proposal, both accept, the team thread's intro and the partnership DM.
    await announce(world, second, "backend", PROJECT)
    await second.slash(world.channel, "match find")
    await victim.user.click(proposal(victim), label="Accept")
    await second.user.click(proposal(second), label="Accept")
    threads = [thread for thread in world.channel.threads if thread.history(viewer=victim)]
    assert threads and "partners" in dms(victim)[-1].content

    seen = dms(victim) + [message for thread in threads for message in thread.history(viewer=victim)]
    # What staff and everyone else see: the board, one project, the matching board, the status line.
    views = [
        await victim.slash(world.channel, "projects"),
        await victim.slash(world.channel, "project", name=PROJECT),
        await victim.slash(world.channel, "match status"),
        await phisher.slash(world.channel, "match find"),
        await staff.slash(world.channel, "match board"),
    ]
    answers = [view.response for view in views]
    assert all(answer is not None for answer in answers)
    assert problems_in(seen + answers) == [], "\n".join(problems_in(seen + answers))
    assert problems_in(world.channel.history()) == []
    assert not world.env.errors


async def test_look_alike_letters_join_the_existing_custom_project(world: World) -> None:
    first, second = world.learners[:2]
    await announce(world, first, "backend", "Plant Swap")
    # Cyrillic а and р: looks the same, and must not become a second "Plant Swap" beside the first.
    await announce(world, second, "frontend", "Plаnt Swaр")
    board = await first.slash(world.channel, "projects")
    names = [field.name for field in board.response.embeds[0].fields]
    assert sum("Plant Swap" in name or "Plаnt Swaр" in name for name in names) == 1
    await first.slash(world.channel, "match find")
    found = await second.slash(world.channel, "match find")
    assert "Found you a possible partner" in found.response.content


@pytest.mark.parametrize(
    "cell",
    ["=1+1", '＝HYPERLINK("https://evil.example")', "＋1", "－1", "＠SUM(A1)", "\u200b=1+1", "\u2060\ufeff+1", " =1"],
)
def test_csv_formula_triggers_in_disguise_are_quoted(cell: str) -> None:
    assert csv_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Job Board", "", "a=b", "café", "1-2"])
def test_csv_ordinary_cells_are_left_alone(cell: str) -> None:
    assert csv_safe(cell) == cell


@pytest.mark.parametrize(
    ("typed", "same_as"),
    [("Jоb Bоard", "Job Board"), ("Рlant Ѕwap", "Plant Swap"), ("Ρlant Swαp", "Plant Swap"), ("Ｐｌａｎｔ", "Plant")],
)
def test_look_alike_letters_fold_to_the_same_custom_project(typed: str, same_as: str) -> None:
    assert typed != same_as
    assert normalise_project_name(typed) == normalise_project_name(same_as)
