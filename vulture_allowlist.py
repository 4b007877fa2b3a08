"""Names vulture (`make deadcode`) cannot see being used: libraries call them by name, not our code.

Each line is a real attribute, so `python vulture_allowlist.py` (run by `make deadcode`) fails on a stale entry.
Commands, autocompletes, listeners and pydantic validators are recognised by their decorators (pyproject.toml).
"""

import sqlite3

import discord

from bot import app, content, matching, projects, projects_content, reminders_content
from bot.storage import checkins as checkins_storage
from bot.storage import db
from bot.storage import matching as matching_storage
from cogs import admin, ops, views
from cogs import knowledge as knowledge_cog
from cogs import matching as matching_cog
from cogs import projects as projects_cog
from cogs import reminders as reminders_cog
from cogs.matching import _cog as matching_cog_module
from cogs.matching import _views as matching_views
from cogs.reminders import _cog as reminders_cog_module

# discord.py: an extension's entry point, and the hooks Bot, CommandTree, Cog, View and DynamicItem call by name.
for extension in (admin, knowledge_cog, matching_cog, ops, projects_cog, reminders_cog):
    extension.setup  # noqa: B018
app.NexusBot.setup_hook  # noqa: B018
app.NexusBot.on_ready  # noqa: B018
app.NexusBot.on_app_command_completion  # noqa: B018
app.NexusTree.interaction_check  # noqa: B018
app.NexusTree.on_error  # noqa: B018
for cog in (
    admin.AdminCog,
    knowledge_cog.KnowledgeCog,
    matching_cog_module.MatchingCog,
    ops.OpsCog,
    projects_cog.ProjectsCog,
    reminders_cog_module.RemindersCog,
):
    cog.cog_load  # noqa: B018
for unloading in (knowledge_cog.KnowledgeCog, matching_cog_module.MatchingCog, ops.OpsCog):
    unloading.cog_unload  # noqa: B018
reminders_cog_module.RemindersCog.cog_unload  # noqa: B018
views.OwnerView.interaction_check  # noqa: B018
views.OwnerView.on_timeout  # noqa: B018
for dynamic_item in (knowledge_cog.OpenButton, knowledge_cog.PageButton, matching_views.ProposalButton):
    dynamic_item.from_custom_id  # noqa: B018
# Read by discord.py and sqlite3, set by us.
discord.Intents.dm_messages  # noqa: B018
sqlite3.Connection.row_factory  # noqa: B018

# pydantic reads a model's configuration by name.
for model in (
    content.TopicFile,
    projects_content.ProjectModel,
    projects_content.ProjectsFile,
    reminders_content.ReminderModel,
    reminders_content.RemindersFile,
):
    model.model_config  # noqa: B018


# Dataclass fields filled from the database: the record is kept whole even where no screen shows the field yet.
def _fields_no_screen_reads_yet(
    proposal: matching.Proposal, member: matching.TeamMember, announcement: projects.Announcement
) -> object:
    return proposal.closed_at, member.joined_at, announcement.posted_at


_fields_no_screen_reads_yet  # noqa: B018

# Read-backs the storage and reliability tests use to check state that no command shows on its own, and the
# schema version the upgrade tests compare against.
db.LATEST_VERSION  # noqa: B018
matching_storage.MatchingStore.pending_proposal_for  # noqa: B018
matching_storage.MatchingStore.log_entries  # noqa: B018

# The hook the cohort-close code calls to stop its teams' check-ins (teams that end stop on their own).
checkins_storage.CheckinStore.stop_checkins  # noqa: B018
