"""/nexus setup and /nexus config through SimCord: happy path, each bad value, visibility and restarts."""

from __future__ import annotations

from typing import Any

import discord
import pytest
import simcord
from discord import app_commands

from bot import Settings
from cogs.admin import REQUIRED_CHANNEL_PERMISSIONS
from tests.conftest import REPO, World, build_world, restart

# Everything Nexus does in a server: posts with embeds, files (stats chart, CSV export), private team threads it
# adds both partners to. The README's invite URL carries this value as its permissions integer.
BOT_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    create_private_threads=True,
    send_messages_in_threads=True,
    manage_threads=True,
)


async def test_setup_happy_path_saves_and_shows_config(world: World) -> None:
    result = await world.staff.slash(world.channel, "nexus config")
    assert result.ephemeral
    embed = result.response.embeds[0]
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Channel"] == world.channel.mention
    assert fields["Timezone"] == "UTC"
    assert fields["Learner role"] == world.learner_role.mention
    assert fields["Staff role"] == world.staff_role.mention


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"cohort_start": "2026-02-30"}, "not a real date"),
        ({"cohort_start": "next monday"}, "not a real date"),
        ({"timezone": "Mars/Olympus"}, "not a timezone I know"),
        ({"timezone": "UTC+15"}, "not a real UTC offset"),
    ],
)
async def test_setup_rejects_bad_values_and_saves_nothing(
    simcord_env: Any, options: dict[str, str], expected: str
) -> None:
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("prodevprojectnexus")
    admin = guild.add_member(
        simcord_env.create_user("admin"),
        roles=[guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))],
    )
    values = {"channel": channel, "cohort_start": "2026-01-05", "timezone": "Africa/Lagos", **options}
    result = await admin.slash(channel, "nexus setup", **values)
    assert result.ephemeral
    assert expected in result.response.content
    config = await admin.slash(channel, "nexus config")
    assert "not set up" in config.response.content


@pytest.mark.parametrize("kind", ["voice", "stage", "category", "forum"])
async def test_setup_offers_only_text_channels(simcord_env: Any, kind: str) -> None:
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("prodevprojectnexus")
    other = getattr(guild, f"create_{kind}_channel" if kind != "category" else "create_category")("standup")
    admin = guild.add_member(
        simcord_env.create_user("admin"),
        roles=[guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))],
    )
    # The option is typed as a text channel, so Discord's picker never offers the others: refused before dispatch.
    for option in ("channel", "staff_channel"):
        values = {"channel": channel, "cohort_start": "2026-01-05", "timezone": "UTC", option: other}
        with pytest.raises(simcord.OptionError):
            await admin.slash(channel, "nexus setup", **values)
    assert (await admin.slash(channel, "nexus config")).response.content.startswith("Nexus is not set up")


async def test_setup_rejects_channel_the_bot_cannot_post_in(simcord_env: Any) -> None:
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("prodevprojectnexus")
    bot_member = guild.me
    locked = guild.create_text_channel(
        "locked", overwrites={bot_member: discord.PermissionOverwrite(send_messages=False)}
    )
    admin = guild.add_member(
        simcord_env.create_user("admin"),
        roles=[guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))],
    )
    result = await admin.slash(channel, "nexus setup", channel=locked, cohort_start="2026-01-05", timezone="UTC")
    assert result.ephemeral
    assert "cannot post" in result.response.content
    assert "send messages" in result.response.content


async def test_plain_member_cannot_see_nexus(world: World) -> None:
    assert not any(name.startswith("nexus") for name in world.learners[0].available_commands(world.channel))
    with pytest.raises(simcord.SetupError):
        await world.learners[0].slash(world.channel, "nexus config")


async def test_staff_role_without_manage_server_is_rechecked_server_side(world: World) -> None:
    # A guild admin opens /nexus to everyone in Integrations settings; the bot still checks on its side.
    commands = await world.env.bot.tree.fetch_commands()
    nexus = next(command for command in commands if command.name == "nexus")
    world.guild.set_command_permissions(nexus, {world.guild.default_role: True})

    helper = world.guild.add_member(world.env.create_user("mentor"), roles=[world.staff_role])
    allowed = await helper.slash(world.channel, "nexus config")
    assert allowed.ephemeral and allowed.response.embeds

    learner = world.learners[0]
    denied = await learner.slash(world.channel, "nexus config")
    assert denied.ephemeral
    assert "Manage Server" in denied.response.content
    simcord.assert_error(world.env, discord.app_commands.CheckFailure)


async def test_timezone_autocomplete_offers_iana_names(world: World) -> None:
    choices = await world.staff.autocomplete(world.channel, "nexus setup", "timezone", "lagos")
    assert "Africa/Lagos" in [choice["value"] for choice in choices]
    assert len(choices) <= 25


async def test_configuration_survives_restart(simcord_env: Any, settings: Settings) -> None:
    world = await build_world(simcord_env, cohort_start="2026-03-02", timezone="Africa/Nairobi")
    await restart(simcord_env, settings)
    result = await world.staff.slash(world.channel, "nexus config")
    fields = {field.name: field.value for field in result.response.embeds[0].fields}
    assert fields["Cohort start"] == "2026-03-02"
    assert fields["Timezone"] == "Africa/Nairobi"
    # Discord leaves <t:…> raw in footers: the end of week one is a field, where it renders.
    embed = result.response.embeds[0]
    assert embed.footer.text is None
    assert fields["Week one ends"] == "<t:1773003600:F> (<t:1773003600:R>; Africa/Nairobi)"


async def test_help_lists_learner_and_staff_commands(world: World) -> None:
    result = await world.learners[0].slash(world.channel, "help")
    assert result.ephemeral
    embed = result.response.embeds[0]
    learner_text = "\n".join(f.value or "" for f in embed.fields if (f.name or "").startswith("For learners"))
    staff_text = "\n".join(f.value or "" for f in embed.fields if (f.name or "").startswith("For staff"))
    assert "/help" in learner_text
    assert "/nexus setup" in staff_text
    # Every command is listed somewhere, and the embed stays within Discord's limits.
    leaves = [c.qualified_name for c in world.env.bot.tree.walk_commands() if not isinstance(c, app_commands.Group)]
    for name in leaves:
        assert f"`/{name}`" in learner_text + staff_text, name
    assert len(embed) <= 6000
    assert all(len(field.value or "") <= 1024 for field in embed.fields)
    # Grouped by what people do; each section whole (no "(continued)" overflow holding one command).
    assert [field.name for field in embed.fields] == [
        "For learners · Knowledge",
        "For learners · Your project",
        "For learners · Your partner",
        "For learners · Reminders",
        "For staff · Setup",
        "For staff · Cohort",
        "For staff · Matching",
        "For staff · Reminders",
    ]
    fields = {field.name: field.value or "" for field in embed.fields}
    assert fields["For learners · Reminders"].splitlines() == [
        "`/reminders off` — Stop week-one reminder DMs to you (channel posts are not affected)",
        "`/reminders on` — Get week-one reminder DMs again",
    ]
    assert "`/withdraw`" in fields["For learners · Your project"]
    assert "`/reminders send`" in fields["For staff · Reminders"]


def test_the_readme_invite_asks_for_exactly_the_permissions_nexus_uses() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"&permissions={BOT_PERMISSIONS.value}`" in readme
    assert "scope=bot+applications.commands" in readme
    # What /nexus setup checks in the channel is part of what the invite grants.
    assert all(getattr(BOT_PERMISSIONS, name) for name in REQUIRED_CHANNEL_PERMISSIONS)
