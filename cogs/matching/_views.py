"""Matching's persistent proposal buttons: everything a click needs is in its custom id and the database."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Self, cast

import discord

from cogs.common import Interaction, answer_user_errors

Action = Literal["accept", "decline", "leave"]
ButtonHandler = Callable[[Interaction, int, int, Action], Awaitable[None]]

# The custom ids are stored in Discord messages: changing this template strands every button already sent.
PROPOSAL_BUTTON_TEMPLATE = re.compile(
    r"nexus:proposal:(?P<proposal>\d+):(?P<user>\d+):(?P<action>accept|decline|leave)"
)
BUTTONS: dict[Action, tuple[str, discord.ButtonStyle]] = {
    "accept": ("Accept", discord.ButtonStyle.success),
    "decline": ("Decline", discord.ButtonStyle.danger),
    "leave": ("Decline and leave the pool", discord.ButtonStyle.secondary),
}


class ProposalButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=PROPOSAL_BUTTON_TEMPLATE):
    """A persistent Accept / Decline / Decline-and-leave button.

    Everything needed to act is in the custom id (proposal and learner) and the database, so a click works the
    same after a restart. `bind_proposal_button` attaches a cog's handler without module-level state.
    """

    def __init__(self, proposal_id: int, user_id: int, action: Action) -> None:
        label, style = BUTTONS[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"nexus:proposal:{proposal_id}:{user_id}:{action}")
        )
        self.proposal_id = proposal_id
        self.user_id = user_id
        self.action: Action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        # The template only matches known actions.
        return cls(int(match["proposal"]), int(match["user"]), cast(Action, match["action"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await answer_user_errors(self.handle)(interaction, self.proposal_id, self.user_id, self.action)

    async def handle(self, interaction: Interaction, proposal_id: int, user_id: int, action: Action) -> None:
        raise NotImplementedError("use bind_proposal_button()")


def bind_proposal_button(handler: ButtonHandler) -> type[ProposalButton]:
    class BoundProposalButton(ProposalButton, template=PROPOSAL_BUTTON_TEMPLATE):
        async def handle(self, interaction: Interaction, proposal_id: int, user_id: int, action: Action) -> None:
            await handler(interaction, proposal_id, user_id, action)

    return BoundProposalButton


def proposal_view(button: type[ProposalButton], proposal_id: int, user_id: int) -> discord.ui.View:
    """Accept / Decline / Decline-and-leave for one learner's copy of a proposal."""
    view = discord.ui.View(timeout=None)
    for action in BUTTONS:
        view.add_item(button(proposal_id, user_id, action))
    return view


ThreadButtonHandler = Callable[[Interaction, int], Awaitable[None]]
# Stored in ephemeral `/match status` answers; like the proposal buttons, the id must keep working after a restart.
THREAD_BUTTON_TEMPLATE = re.compile(r"nexus:team-thread:(?P<team>\d+)")
THREAD_BUTTON_LABEL = "Create our thread"


class ThreadButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=THREAD_BUTTON_TEMPLATE):
    """Opens a team's missing private thread; the team is in the custom id, who may click is checked on click."""

    def __init__(self, team_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=THREAD_BUTTON_LABEL, style=discord.ButtonStyle.primary, custom_id=f"nexus:team-thread:{team_id}"
            )
        )
        self.team_id = team_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["team"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await answer_user_errors(self.handle)(interaction, self.team_id)

    async def handle(self, interaction: Interaction, team_id: int) -> None:
        raise NotImplementedError("use bind_thread_button()")


def bind_thread_button(handler: ThreadButtonHandler) -> type[ThreadButton]:
    class BoundThreadButton(ThreadButton, template=THREAD_BUTTON_TEMPLATE):
        async def handle(self, interaction: Interaction, team_id: int) -> None:
            await handler(interaction, team_id)

    return BoundThreadButton


def thread_view(button: type[ThreadButton], team_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(button(team_id))
    return view
