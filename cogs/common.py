"""Shared glue for cogs: the staff check, answering privately (and the view error helper), member kinds, text."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Concatenate, ParamSpec

import discord
from discord import app_commands

from bot.admin import GuildConfig
from bot.app import NexusBot, send_private
from bot.cohorts import Cohort, learner_cohort, staff_cohort, suggest_cohorts
from bot.errors import NotConfigured, UserError

__all__ = ["NexusBot", "send_private"]  # re-exported: cogs take everything shared from here, never from bot.app

log = logging.getLogger(__name__)

Interaction = discord.Interaction[NexusBot]
P = ParamSpec("P")

STAFF_NEEDED = "You need the Manage Server permission or the configured staff role to use this."


class StaffOnly(app_commands.CheckFailure, UserError):
    """Raised by the staff check. A CheckFailure to discord.py; a UserError to the tree, which shows its message."""


def answer_user_errors(
    callback: Callable[Concatenate[Interaction, P], Awaitable[None]],
) -> Callable[Concatenate[Interaction, P], Awaitable[None]]:
    """The one error helper for buttons: the tree's error handler only sees slash commands, so a button's work runs
    through this and a UserError it raises becomes the same private reply a command would get."""

    @functools.wraps(callback)
    async def guarded(interaction: Interaction, /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await callback(interaction, *args, **kwargs)
        except UserError as error:
            await send_private(interaction, str(error))

    return guarded


async def respond(
    interaction: Interaction,
    content: str | None = None,
    *,
    edit: bool = False,
    fallback: str | None = None,
    **kwargs: Any,
) -> bool:
    """Answer privately (or, for a button, edit its message) without letting a refused answer stop the caller.

    Commands that answer first and then notify other people (a proposal's DMs, a partner's notice) use this, so
    a failed reply never cancels the work that follows. On failure the text (`fallback`, else `content`) is tried
    once more as a plain private message. False if Discord refused the answer.
    """
    try:
        if edit:
            await interaction.response.edit_message(content=content, **kwargs)
        elif interaction.response.is_done():
            await interaction.followup.send(content or "", ephemeral=True, **kwargs)
        else:
            await interaction.response.send_message(content, ephemeral=True, **kwargs)
        return True
    except discord.HTTPException as error:
        log.warning(
            "could not answer guild=%s status=%s code=%s; carrying on", interaction.guild_id, error.status, error.code
        )
    # One more try as a plain private message: a transient failure (500, 429) often passes the second time.
    text = fallback or content
    if text:
        await send_private(interaction, text)
    return False


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


async def learner_scope(interaction: Interaction) -> Cohort | None:
    """The cohort a learner's command is about (bot.cohorts.learner_cohort); None on a server with no cohort yet."""
    guild = guild_of(interaction)
    return learner_cohort(
        await interaction.client.cohort_store.cohorts(guild.id),
        channel_id=interaction.channel_id,
        role_ids=[role.id for role in getattr(interaction.user, "roles", [])],
        now=interaction.client.now(),
    )


async def staff_scope(interaction: Interaction, named: str | None) -> Cohort | None:
    """The cohort a staff command acts on (bot.cohorts.staff_cohort); None on a server with no cohort yet."""
    guild = guild_of(interaction)
    cohorts = await interaction.client.cohort_store.cohorts(guild.id)
    if named is not None and named.strip() and not cohorts:
        raise NotConfigured("This server has no cohorts yet: staff need to run `/nexus setup` first.")
    return staff_cohort(cohorts, named=named, channel_id=interaction.channel_id)


def cohort_config(config: GuildConfig | None, cohort: Cohort | None) -> GuildConfig | None:
    """The server's configuration as one cohort sees it: its channel, start date, timezone and learner role."""
    if config is None or cohort is None:
        return config
    return replace(
        config,
        channel_id=cohort.channel_id,
        cohort_start=cohort.start_date,
        timezone=cohort.timezone,
        learner_role_id=cohort.learner_role_id,
    )


def cohort_id_of(cohort: Cohort | None) -> int | None:
    return None if cohort is None else cohort.id


async def cohort_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The `cohort:` option of every staff command that takes one: live cohorts first, then newest."""
    if interaction.guild is None:
        return []
    cohorts = await interaction.client.cohort_store.cohorts(interaction.guild.id)
    return [
        app_commands.Choice(name=label, value=value)
        for label, value in suggest_cohorts(cohorts, current, interaction.client.now())
    ]
