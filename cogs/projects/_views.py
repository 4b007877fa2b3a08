"""The /projects board's Previous / Next pages, for the person who asked."""

from __future__ import annotations

import discord

from bot.projects import (
    BoardRow,
    board_page,
)
from cogs.common import Interaction
from cogs.projects._formatting import (
    format_board,
)
from cogs.views import OwnerView


class BoardView(OwnerView):
    def __init__(self, owner_id: int, rows: list[BoardRow]) -> None:
        super().__init__(owner_id)
        self.rows = rows
        self.page = board_page(rows, 0)
        self.previous = self.add_button("Previous", discord.ButtonStyle.secondary, self.go_previous)
        self.next = self.add_button("Next", discord.ButtonStyle.secondary, self.go_next)
        self.refresh()

    def refresh(self) -> None:
        self.previous.disabled = self.page.number == 0
        self.next.disabled = self.page.number >= self.page.count - 1

    async def turn(self, interaction: Interaction, step: int) -> None:
        self.page = board_page(self.rows, self.page.number + step)
        self.refresh()
        await interaction.response.edit_message(embed=format_board(self.page), view=self)

    async def go_previous(self, interaction: Interaction) -> None:
        await self.turn(interaction, -1)

    async def go_next(self, interaction: Interaction) -> None:
        await self.turn(interaction, 1)
