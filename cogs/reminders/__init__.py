"""Discord surface for reminders: /reminders commands, and the runner that delivers each cohort's week one.

`_cog` receives commands and events; `_delivery` is the runner (wake-ups, workers, paced DMs, retries, progress);
`_formatting` holds every text staff and learners read.
"""

from __future__ import annotations

from bot.projects import ProjectNames
from bot.reminders_content import REMINDERS_FILE, load_reminders
from bot.storage.reminders import RemindersStore
from cogs.common import NexusBot
from cogs.ops import StaffCharts
from cogs.reminders._cog import RemindersCog


async def setup(bot: NexusBot) -> None:
    week = load_reminders(bot.settings.content_dir / REMINDERS_FILE)
    catalogue = bot.project_catalogue()
    charts = StaffCharts(bot.db, catalogue)
    await bot.add_cog(RemindersCog(bot, RemindersStore(bot.db), week, charts, ProjectNames(catalogue)))
