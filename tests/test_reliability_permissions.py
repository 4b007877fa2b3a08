"""Who may run every command: learners, the staff role, Manage Server, bots, members without the learner role and
DMs, walked over the whole command tree; staff checks hold on the server side whatever a guild admin shows."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import discord
import pytest
import simcord
from discord import app_commands

from bot.app import BOTS_REFUSED
from cogs.common import STAFF_NEEDED
from tests.conftest import World
from tests.test_matching_checkins import DAY, checkins
from tests.test_matching_flow import announce, pair_up

# What each kind of member gets: ok (answered), denied (told what they need), refused (bots), hidden (Discord
# does not offer the command there: not visible, or not in DMs).
KINDS = ("learner", "staff_role", "manage_server", "bot", "no_learner_role", "dm")
ANYWHERE = {"learner": "ok", "staff_role": "ok", "manage_server": "ok", "bot": "refused", "no_learner_role": "ok"}
EVERYONE = {**ANYWHERE, "dm": "ok"}
MEMBERS = {**ANYWHERE, "dm": "hidden"}
STAFF = {**MEMBERS, "learner": "denied", "no_learner_role": "denied"}
# /nexus is shown only to Manage Server by default (a server admin may show it to the staff role too).
STAFF_HIDDEN = {**STAFF, "learner": "hidden", "staff_role": "hidden", "no_learner_role": "hidden"}

Options = Callable[[World, dict[str, Any]], dict[str, Any]]


def no_options(world: World, members: dict[str, Any]) -> dict[str, Any]:
    return {}


def fixed(**options: Any) -> Options:
    return lambda world, members: options


def pair_options(world: World, members: dict[str, Any]) -> dict[str, Any]:
    return {"first": world.learners[0], "second": world.learners[1]}


def setup_options(world: World, members: dict[str, Any]) -> dict[str, Any]:
    # The same configuration again, so every later row runs against the same setup.
    return {
        "channel": world.channel,
        "cohort_start": "2026-01-01",
        "timezone": "UTC",
        "learner_role": world.learner_role,
        "staff_role": world.staff_role,
    }


NEW_COHORTS = itertools.count(1)


def cohort_options(world: World, members: dict[str, Any]) -> dict[str, Any]:
    # A fresh name and channel each time, so learners in the world's channel still have exactly one cohort there.
    number = next(NEW_COHORTS)
    channel = world.guild.create_text_channel(f"cohort-{number}")
    return {"name": f"Cohort {number}", "start": "2026-06-01", "timezone": "UTC", "channel": channel}


POLICY: dict[str, tuple[dict[str, str], Options]] = {
    "help": (EVERYONE, no_options),
    "topic": (EVERYONE, fixed(name="django")),
    "search": (EVERYONE, fixed(query="jwt")),
    "topics": (EVERYONE, no_options),
    "announce": (MEMBERS, fixed(project="ecommerce", track="backend")),
    "withdraw": (MEMBERS, no_options),
    "projects": (MEMBERS, no_options),
    "project": (MEMBERS, fixed(name="ecommerce")),
    "me": (MEMBERS, no_options),
    "forget-me": (MEMBERS, no_options),
    "match find": (MEMBERS, no_options),
    "match status": (MEMBERS, no_options),
    "match leave": (MEMBERS, no_options),
    "match unpair": (MEMBERS, no_options),
    "match pair": (STAFF, pair_options),
    "match board": (STAFF, no_options),
    "match run": (STAFF, no_options),
    "reminders off": (MEMBERS, no_options),
    "reminders on": (MEMBERS, no_options),
    "reminders schedule": (STAFF, no_options),
    "reminders preview": (STAFF, fixed(id="kickoff")),
    "reminders send": (STAFF, fixed(id="kickoff")),
    "reminders pause": (STAFF, no_options),
    "reminders resume": (STAFF, no_options),
    "nexus setup": (STAFF_HIDDEN, setup_options),
    "nexus config": (STAFF_HIDDEN, no_options),
    "nexus export": (STAFF_HIDDEN, no_options),
    "nexus reload": (STAFF_HIDDEN, no_options),
    "nexus gaps": (STAFF_HIDDEN, no_options),
    "nexus stats": (STAFF_HIDDEN, no_options),
    "nexus cohort create": (STAFF_HIDDEN, cohort_options),
    "nexus cohort edit": (STAFF_HIDDEN, no_options),
    "nexus cohort list": (STAFF_HIDDEN, no_options),
    "nexus cohort close": (STAFF_HIDDEN, no_options),
    "nexus cohort move": (STAFF_HIDDEN, lambda world, members: {"member": world.learners[0], "to": "Cohort 1"}),
}
LEARNER_NEEDED = "Only learners"


def leaf_commands(tree: app_commands.CommandTree[Any]) -> list[str]:
    return sorted(c.qualified_name for c in tree.walk_commands() if isinstance(c, app_commands.Command))


def texts(result: Any) -> str:
    parts = [result.response.content if result.response else ""]
    return "\n".join(parts + [followup.content for followup in result.followups])


async def outcome(world: World, member: Any, kind: str, command: str, options: dict[str, Any]) -> str:
    try:
        if kind == "dm":
            result = await member.user.slash(command, **options)
        else:
            result = await member.slash(world.channel, command, **options)
    except simcord.SetupError:
        return "hidden"
    answer = texts(result)
    if not result.acknowledged:
        return "silent"
    if BOTS_REFUSED in answer:
        return "refused"
    if STAFF_NEEDED in answer or LEARNER_NEEDED in answer:
        return "denied"
    return "ok"


async def kinds_of_member(world: World) -> dict[str, Any]:
    guild, env = world.guild, world.env
    manager_role = guild.create_role("Server manager", permissions=discord.Permissions(manage_guild=True))
    return {
        "learner": world.learners[2],
        "staff_role": guild.add_member(env.create_user("mentor"), roles=[world.staff_role]),
        "manage_server": guild.add_member(env.create_user("owner-helper"), roles=[manager_role]),
        # The worst case: a bot account holding every role that grants something.
        "bot": guild.add_member(
            env.create_user("otherbot", bot=True), roles=[world.learner_role, world.staff_role, manager_role]
        ),
        "no_learner_role": guild.add_member(env.create_user("visitor")),
        "dm": world.learners[3],
    }


def only_staff_denials(world: World) -> None:
    """Denials by the staff check are CheckFailures the tree answered; anything else would be a crash."""
    unexpected = [error for error in world.env.errors if not isinstance(error, app_commands.CheckFailure)]
    assert unexpected == []


async def test_every_command_has_a_permission_policy(world: World) -> None:
    assert leaf_commands(world.env.bot.tree) == sorted(POLICY)


@pytest.mark.parametrize("kind", KINDS)
async def test_who_may_run_each_command(world: World, kind: str) -> None:
    members = await kinds_of_member(world)
    # Two announced learners on opposite tracks, so staff pairing has someone to pair.
    await world.learners[0].slash(world.channel, "announce", project="ecommerce", track="backend")
    await world.learners[1].slash(world.channel, "announce", project="ecommerce", track="frontend")
    got: dict[str, str] = {}
    expected: dict[str, str] = {}
    for command, (policy, options) in POLICY.items():
        expected[command] = policy[kind]
        got[command] = await outcome(world, members[kind], kind, command, options(world, members))
    assert got == expected
    only_staff_denials(world)


async def test_staff_commands_are_checked_on_the_server_even_when_shown_to_everyone(world: World) -> None:
    members = await kinds_of_member(world)
    # A guild admin shows /nexus to everyone (Server Settings → Integrations); Discord then offers it to all.
    commands = await world.env.bot.tree.fetch_commands()
    nexus = next(command for command in commands if command.name == "nexus")
    world.guild.set_command_permissions(nexus, {world.guild.default_role: True})
    expected = {"learner": "denied", "staff_role": "ok", "manage_server": "ok", "bot": "refused"}
    expected["no_learner_role"] = "denied"
    for command, (_, options) in POLICY.items():
        if not command.startswith("nexus "):
            continue
        got = {
            kind: await outcome(world, members[kind], kind, command, options(world, members))
            for kind in ("learner", "staff_role", "manage_server", "bot", "no_learner_role")
        }
        assert got == expected, command
    only_staff_denials(world)
    # Nothing a denied member tried changed the configuration.
    config = await world.env.bot.admin_store.get_config(world.guild.id)
    assert config is not None and config.learner_role_id == world.learner_role.id


async def test_a_bot_account_gets_nothing_from_autocomplete(world: World) -> None:
    robot = world.guild.add_member(world.env.create_user("autobot", bot=True), roles=[world.learner_role])
    assert await robot.autocomplete(world.channel, "topic", "name", "dj") == []
    assert await world.learners[0].autocomplete(world.channel, "topic", "name", "dj") != []


async def test_who_may_answer_a_team_check_in(world: World) -> None:
    """Check-in buttons live in the team's private thread: its members answer; someone who left the team (still
    in the thread) is told it is not theirs; anyone else cannot see the thread at all."""
    backend, frontend, third = world.learners[0], world.learners[1], world.learners[2]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    thread = await pair_up(world, backend, frontend)
    await announce(world, third, "backend")
    await third.slash(world.channel, "match find")
    await world.staff.slash(world.channel, "match run")
    asked = await third.slash(world.channel, "match unpair")
    await third.click(asked.response, label="Unpair")
    await world.env.advance_time(3 * DAY + 60)
    [post] = checkins(thread)
    got: dict[str, str] = {}
    for kind, member in (
        ("member", backend),
        ("other member", frontend),
        ("left the team", third),
        ("other learner", world.learners[3]),
    ):
        try:
            result = await member.click(post, label="Going well")
        except simcord.SetupError:
            got[kind] = "hidden"
            continue
        answer = result.response.content if result.response else ""
        got[kind] = "ok" if "recorded" in answer else "denied" if "for the members" in answer else answer
    assert got == {"member": "ok", "other member": "ok", "left the team": "denied", "other learner": "hidden"}
