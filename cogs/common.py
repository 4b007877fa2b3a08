"""Shared glue for cogs: the server-side staff check, member-kind helpers and safe text for embeds."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.admin import GuildConfig
from bot.app import NexusBot, StaffOnly
from bot.errors import NotConfigured

Interaction = discord.Interaction[NexusBot]

STAFF_NEEDED = "You need the Manage Server permission or the configured staff role to use this."


def is_staff(member: discord.Member | discord.User, config: GuildConfig | None) -> bool:
    if not isinstance(member, discord.Member) or member.bot:
        return False
    if member.guild_permissions.manage_guild:
        return True
    return config is not None and config.staff_role_id is not None and member.get_role(config.staff_role_id) is not None


def is_learner(member: discord.Member, config: GuildConfig | None) -> bool:
    """Members with the learner role, or (with no role configured) every member who is not staff or a bot."""
    if member.bot:
        return False
    if config is not None and config.learner_role_id is not None:
        return member.get_role(config.learner_role_id) is not None
    return not is_staff(member, config)


async def ensure_staff(interaction: Interaction) -> bool:
    """Server-side staff check: holds even if a guild admin changed the command's visibility."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    config = await interaction.client.admin_store.get_config(interaction.guild.id)
    if not is_staff(interaction.user, config):
        raise StaffOnly(STAFF_NEEDED)
    return True


staff_only = app_commands.check(ensure_staff)


def guild_of(interaction: Interaction) -> discord.Guild:
    """The guild the command ran in; guild-only commands never reach here from a DM."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    return interaction.guild


async def require_config(interaction: Interaction) -> GuildConfig:
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    config: GuildConfig | None = await interaction.client.admin_store.get_config(interaction.guild.id)
    if config is None:
        raise NotConfigured("Nexus is not set up in this server yet: staff need to run `/nexus setup` first.")
    return config


def clip(text: str, limit: int) -> str:
    """Trim to a Discord limit, marking the cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def staff_command(**kwargs: Any) -> dict[str, Any]:
    """`extras` marking a command as staff-only for /help."""
    return {"staff": True, **kwargs}
