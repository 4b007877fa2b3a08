"""Command sync at start-up: only when the definitions changed (hash in the database), or to one dev guild."""

from __future__ import annotations

from typing import Any

import discord

from bot import Settings, create_bot
from bot.app import NexusBot
from tests.conftest import restart


def command_syncs(env: Any) -> list[str]:
    return [entry.path for entry in env.http_requests if entry.method == "PUT" and entry.path.endswith("/commands")]


async def test_unchanged_commands_are_not_synced_again_after_a_restart(simcord_env: Any, settings: Settings) -> None:
    assert len(command_syncs(simcord_env)) == 1
    new = await restart(simcord_env, settings)
    try:
        assert len(command_syncs(simcord_env)) == 1
    finally:
        new.scheduler.shutdown()
        await new.db.close()


async def test_changed_commands_are_synced_at_the_next_start(simcord_env: Any, settings: Settings) -> None:
    old: NexusBot = simcord_env.bot
    old.scheduler.shutdown()
    await old.db.close()
    changed = create_bot(settings)

    @changed.tree.command(name="ping", description="Test: a new command")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    await simcord_env.restart_bot(changed)
    try:
        assert len(command_syncs(simcord_env)) == 2
    finally:
        changed.scheduler.shutdown()
        await changed.db.close()


async def test_a_dev_guild_gets_its_commands_at_once(simcord_env: Any, settings: Settings) -> None:
    guild = simcord_env.create_guild("Dev")
    old: NexusBot = simcord_env.bot
    old.scheduler.shutdown()
    await old.db.close()
    dev = create_bot(settings.with_overrides(dev_guild_id=guild.id))
    await simcord_env.restart_bot(dev)
    try:
        assert command_syncs(simcord_env)[-1].endswith(f"/guilds/{guild.id}/commands")
    finally:
        dev.scheduler.shutdown()
        await dev.db.close()
