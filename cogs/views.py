"""Views shared by cogs: OwnerView (only the person who asked may press) and ConfirmView, the one "are you sure?"."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from cogs.common import Interaction, answer_user_errors, send_private

log = logging.getLogger(__name__)

VIEW_TIMEOUT_SECONDS = 300
NOT_FOR_YOU = "This isn't for you: these buttons belong to someone else's command."


class OwnerView(discord.ui.View):
    """A private view only the person who ran the command may use; its buttons go away when it times out."""

    def __init__(self, owner_id: int, *, timeout: float = VIEW_TIMEOUT_SECONDS) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.origin: Interaction | None = None

    async def send(self, interaction: Interaction, content: str | None = None, **kwargs: Any) -> None:
        """Send this view as the private answer to `interaction`, remembered so a timeout can remove the buttons."""
        await interaction.response.send_message(content, view=self, ephemeral=True, **kwargs)
        self.origin = interaction

    async def on_timeout(self) -> None:
        # Dead buttons would only answer "interaction failed": take them away.
        if self.origin is not None:
            try:
                await self.origin.edit_original_response(view=None)
            except discord.HTTPException:
                log.debug("could not remove expired buttons", exc_info=True)

    def add_button(
        self, label: str, style: discord.ButtonStyle, callback: Callable[[Interaction], Awaitable[None]]
    ) -> discord.ui.Button[OwnerView]:
        button: discord.ui.Button[OwnerView] = discord.ui.Button(label=label, style=style)
        button.callback = answer_user_errors(callback)  # type: ignore[method-assign,assignment]
        self.add_item(button)
        return button

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id != self.owner_id:
            await send_private(interaction, NOT_FOR_YOU)
            return False
        return True


class ConfirmView(OwnerView):
    """The one "are you sure?" dialog, for a step that cannot be undone.

    It ends one of three ways: yes runs `on_yes` with the click (which answers it, usually by editing the dialog;
    a UserError it raises becomes a private reply), no replaces the dialog with `kept`, and a time-out takes the
    buttons away. Anyone else who presses is told it isn't for them.
    """

    def __init__(
        self,
        owner_id: int,
        on_yes: Callable[[Interaction], Awaitable[None]],
        *,
        kept: str,
        yes_label: str = "Confirm",
        timeout: float = VIEW_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(owner_id, timeout=timeout)
        self.on_yes = on_yes
        self.kept = kept
        self.add_button(yes_label, discord.ButtonStyle.danger, self.yes)
        self.add_button("Cancel", discord.ButtonStyle.secondary, self.no)

    async def yes(self, interaction: Interaction) -> None:
        self.stop()
        await self.on_yes(interaction)

    async def no(self, interaction: Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(content=self.kept, view=None)
