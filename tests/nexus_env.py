"""SimCord's environment for Nexus: a UserError the tree answered is an answer, not a bot error."""

from __future__ import annotations

from typing import Any

import discord
import simcord
from discord import app_commands

from bot.errors import UserError


class NexusEnv(simcord.Env):
    """SimCord's environment, where a UserError that a command raised and the tree answered is not a bot error.

    SimCord records everything that reaches the tree's error handler and fails the test unless it is acknowledged.
    For a UserError that handler *is* the answer (a private reply with its message), so it answers without the
    record. Anything else, check failures included, is still recorded exactly as SimCord does.
    """

    acknowledged = 0

    async def start(self) -> None:
        await super().start()
        answer_user_errors_unrecorded(self.bot)

    async def restart_bot(self, bot: discord.Client | None = None) -> None:
        await super().restart_bot(bot)
        answer_user_errors_unrecorded(self.bot)

    # SimCord acknowledges errors when a test reads them; the teardown below needs to know how far that went.
    @property
    def errors(self) -> list[BaseException]:
        self.acknowledged = self.error_cursor
        return super().errors

    def raise_errors(self) -> None:
        self.acknowledged = self.error_cursor
        super().raise_errors()

    def raise_unacknowledged(self) -> None:
        pending = self.errors_since(self.acknowledged)
        self.acknowledged = self.error_cursor
        if pending:
            raise BaseExceptionGroup(f"bot raised {len(pending)} error(s) during the test", pending)


def answer_user_errors_unrecorded(bot: Any) -> None:
    tree = bot.tree
    recorded = tree.on_error  # SimCord's recorder around the tree's own handler

    async def on_error(interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.CommandInvokeError) and isinstance(error.original, UserError):
            await type(tree).on_error(tree, interaction, error)
        else:
            await recorded(interaction, error)

    tree.on_error = on_error
