"""Discord surface for matching: /match, persistent proposal buttons, DM fallback threads and expiry timers.

`_cog` receives commands, clicks and events and hands the work to its siblings: `_delivery` (DMs, fallback threads,
retries, timers, notices), `_views` (the persistent buttons) and `_formatting` (every text people read).
"""

from __future__ import annotations

from bot.projects import ProjectNames
from cogs.common import NexusBot
from cogs.matching._cog import MatchingCog


async def setup(bot: NexusBot) -> None:
    catalogue = bot.project_catalogue()
    await bot.add_cog(MatchingCog(bot, ProjectNames(catalogue)))
