"""Discord surface for projects: /announce, /withdraw, /projects, /project, /me (and forgetting), /nexus export.

`_cog` receives commands and events; `_views` pages the board; `_formatting` holds every text people read.
"""

from __future__ import annotations

from bot.storage.projects import ProjectsStore
from cogs.common import NexusBot
from cogs.projects._cog import ProjectsCog


async def setup(bot: NexusBot) -> None:
    catalogue = bot.project_catalogue()
    await bot.add_cog(ProjectsCog(bot, catalogue, ProjectsStore(bot.db)))
