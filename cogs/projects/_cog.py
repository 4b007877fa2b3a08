"""Projects' cog: /announce, /withdraw, /projects, /project, /me (and forgetting), /nexus export; and the events."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable
from dataclasses import replace
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.admin import GuildConfig
from bot.cohorts import Cohort, ensure_live
from bot.cooldowns import Cooldown
from bot.errors import InvalidInput, NotFound, UserError
from bot.projects import (
    TRACKS,
    Announcement,
    Catalogue,
    ProjectNames,
    Track,
    board_from_totals,
    choice_label,
    compact,
    draft_announcement,
    export_csv,
    name_words,
    resolve_project,
    total_row,
    track_titles,
)
from bot.storage.cohorts import CohortMove
from bot.storage.privacy import PrivacyStore
from bot.storage.projects import ProjectsStore
from bot.text import shown
from bot.timezones import suggest_timezones, timezone_names
from cogs.common import (
    Interaction,
    NexusBot,
    clip,
    cohort_autocomplete,
    cohort_config,
    cohort_id_of,
    ensure_staff,
    guild_of,
    learner_scope,
    staff_command,
    staff_scope,
)
from cogs.projects._formatting import (
    RETIRED_REPLACED,
    RETIRED_WITHDRAWN,
    Delivery,
    format_announcement,
    format_board,
    format_forget_preview,
    format_forgotten,
    format_project,
    format_recorded,
    format_retired,
    format_status,
    plural,
    project_name,
    safe_text,
)
from cogs.projects._views import BoardView
from cogs.views import ConfirmView

log = logging.getLogger(__name__)

MAX_CHOICES = 25


class ProjectsCog(commands.Cog):
    def __init__(self, bot: NexusBot, catalogue: Catalogue, store: ProjectsStore) -> None:
        self.bot = bot
        self.catalogue = catalogue
        self.project_names = ProjectNames(catalogue)
        self.store = store
        self.privacy = PrivacyStore(bot.db)
        # One poster at a time: two announcements at once must not both post the same pending row.
        self.post_lock = asyncio.Lock()
        self.announce_cooldown = Cooldown(bot.settings.command_cooldown_seconds)
        self.reconciling: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.nexus_group.add_command(
            app_commands.Command(
                name="export",
                description="Staff: download all project announcements (current and history) as CSV",
                callback=self.export_command,
                extras=staff_command(),
            )
        )
        # The tz database is read from disk once, here, not inside the first learner's /announce.
        timezone_names()
        # Started here, not in on_ready (which fires again on every reconnect): once per start-up.
        self.reconciling = asyncio.create_task(self.reconcile_members(), name="members-reconcile")

    async def cog_unload(self) -> None:
        if self.reconciling is not None:
            self.reconciling.cancel()

    # ------------------------------------------------------------------ commands

    @app_commands.command(name="announce", description="Announce the project you are building and your track")
    @app_commands.guild_only()
    @app_commands.describe(
        project="The project: pick an official one or type your own project's name",
        track="The side you build: frontend or backend",
        summary="One or two sentences about your take on it (up to 300 characters)",
        repo="Link to your repository (https://…)",
        timezone="Your timezone (IANA name like Africa/Lagos, or UTC+1) — helps matching",
    )
    async def announce_command(
        self,
        interaction: Interaction,
        project: str,
        track: Literal["frontend", "backend"],
        summary: str | None = None,
        repo: str | None = None,
        timezone: str | None = None,
    ) -> None:
        guild = guild_of(interaction)
        cohort = await learner_scope(interaction)
        if cohort is not None:
            ensure_live(cohort)
        # The learner's cohort decides where the post goes and when week one ends for them.
        config = cohort_config(await self.bot.admin_store.get_config(guild.id), cohort)
        draft = draft_announcement(
            guild_id=guild.id,
            user_id=interaction.user.id,
            project=project,
            track=track,
            summary=summary,
            repo=repo,
            timezone=timezone,
            catalogue=self.catalogue,
            existing_custom=await self.store.custom_projects(guild.id),
            config=config,
            now=self.bot.now(),
        )
        if cohort is not None:
            draft = replace(draft, cohort_id=cohort.id)
        # Counted once the options are valid: a typo fixed straight away is not spam, a public post is.
        self.announce_cooldown.use(interaction.user.id, self.bot.now())
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self.store.announce(draft, display_name=interaction.user.display_name, now=self.bot.now())
        if outcome.changed:
            previous_key = outcome.previous.project_key if outcome.previous else None
            log.info("announcement guild=%s user=%s project=%s", guild.id, interaction.user.id, draft.project_key)
            self.bot.dispatch("nexus_announcement_changed", guild.id, interaction.user.id, previous_key)
        delivery = await self.deliver(guild, config, outcome.announcement)
        if outcome.changed and outcome.previous is not None:
            await self.retire_post(config, outcome.previous, RETIRED_REPLACED)
        total = await self.store.board_total(guild.id, draft.project_key, cohort_id=cohort_id_of(cohort))
        row = total_row(draft.project_key, total, self.catalogue)
        embed = format_announcement(outcome.announcement, row, self.project_names)
        content = format_recorded(outcome, delivery, config.channel_id if config else None, self.project_names)
        await interaction.followup.send(content, embed=embed, ephemeral=True)

    @announce_command.autocomplete("project")
    async def announce_project_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        track = getattr(interaction.namespace, "track", None)
        return await self.project_choices(interaction, current, track if track in TRACKS else None, offer_new=True)

    @announce_command.autocomplete("timezone")
    async def announce_timezone_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=name) for name in suggest_timezones(current)]

    @app_commands.command(name="withdraw", description="Withdraw your project announcement (asks to confirm)")
    @app_commands.guild_only()
    async def withdraw_command(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        current = await self.store.current(guild.id, interaction.user.id)
        if current is None:
            raise NotFound("You have no current announcement to withdraw. Use `/announce` to make one.")
        cohort = await self.bot.cohort_store.of_learner(guild.id, interaction.user.id)
        if cohort is not None:
            ensure_live(cohort)  # a closed cohort's board is frozen
        view = ConfirmView(
            interaction.user.id,
            lambda click: self.answer_with(click, self.withdraw(guild.id, interaction.user.id)),
            kept="Kept: your announcement is unchanged.",
        )
        await view.send(
            interaction,
            f"Withdraw your announcement of **{safe_text(project_name(current, self.project_names))}** "
            f"({current.track})? "
            "You will leave the matching pool and any partner will be told. Your history is kept.",
        )

    @app_commands.command(name="projects", description="The board: every project with its frontend/backend learners")
    @app_commands.guild_only()
    async def projects_command(self, interaction: Interaction) -> None:
        guild = guild_of(interaction)
        cohort = await learner_scope(interaction)
        rows = board_from_totals(
            await self.store.board_totals(guild.id, cohort_id=cohort_id_of(cohort)), self.catalogue
        )
        view = BoardView(interaction.user.id, rows)
        if view.page.count == 1:
            await interaction.response.send_message(embed=format_board(view.page), ephemeral=True)
            return
        await view.send(interaction, embed=format_board(view.page))

    @app_commands.command(name="project", description="One project: its description and who is on each track")
    @app_commands.guild_only()
    @app_commands.describe(name="The project: an official title, alias or a custom project's name")
    async def project_command(self, interaction: Interaction, name: str) -> None:
        guild = guild_of(interaction)
        # Official names resolve without the guild's custom projects, which are read only when needed.
        custom: dict[str, str] = {}
        choice = resolve_project(name, "backend", self.catalogue)
        if not choice.official:
            custom = await self.store.custom_projects(guild.id)
            choice = resolve_project(name, "backend", self.catalogue, custom)
        official = self.catalogue.get(choice.key)
        if official is None and choice.key not in custom:
            raise NotFound(
                f"Nobody has announced a project called {shown(choice.name, 100)}. `/projects` lists them all."
            )
        roster = await self.store.roster(guild.id, choice.key, cohort_id=cohort_id_of(await learner_scope(interaction)))
        if official is not None:
            title = official.name
            description = f"{official.description}\n\nBrief titles: {track_titles(official)}."
        else:
            title = self.project_names(choice.key, custom[choice.key])
            description = "A custom project named by learners in this server."
        await interaction.response.send_message(embed=format_project(title, description, roster), ephemeral=True)

    @project_command.autocomplete("name")
    async def project_name_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await self.project_choices(interaction, current, None, offer_new=False)

    @app_commands.command(name="me", description="Your project, partner status and reminder setting (private)")
    @app_commands.guild_only()
    @app_commands.describe(forget="True to delete your Nexus data in this server (asks to confirm first)")
    async def me_command(self, interaction: Interaction, forget: bool = False) -> None:
        if forget:
            await self.ask_forget(interaction)
            return
        guild = guild_of(interaction)
        status = await self.store.status(guild.id, interaction.user.id)
        embed = format_status(status, self.project_names)
        cohort = await self.bot.cohort_store.of_learner(guild.id, interaction.user.id)
        if cohort is not None:
            embed.add_field(name="Cohort", value=f"{cohort.label} (<#{cohort.channel_id}>)", inline=False)
        elif (here := await self.cohort_here(interaction)) is not None:
            # Not announced yet: the cohort their /announce would join, so they can check it is the right one.
            value = f"{here.label} (<#{here.channel_id}>), once you `/announce` here"
            embed.add_field(name="Cohort", value=value, inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @staticmethod
    async def cohort_here(interaction: Interaction) -> Cohort | None:
        """The cohort a learner's command here is about, or None where several could be (that is /announce's
        question to answer, with its list; /me only reads)."""
        try:
            return await learner_scope(interaction)
        except UserError:
            return None

    @app_commands.command(name="forget-me", description="Delete your Nexus data in this server (asks to confirm)")
    @app_commands.guild_only()
    async def forget_me_command(self, interaction: Interaction) -> None:
        await self.ask_forget(interaction)

    @app_commands.describe(cohort="Which cohort (default: this channel's, or the only open one)")
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.check(ensure_staff)
    async def export_command(
        self, interaction: Interaction, cohort: app_commands.Range[str, 1, 200] | None = None
    ) -> None:
        guild = guild_of(interaction)
        scope = cohort_id_of(await staff_scope(interaction, cohort))
        await interaction.response.defer(ephemeral=True, thinking=True)
        current = await self.store.export_rows(guild.id, history=False, cohort_id=scope)
        history = await self.store.export_rows(guild.id, history=True, cohort_id=scope)
        # Tens of thousands of rows take a noticeable moment to write: off the event loop, so nobody else waits.
        current_csv = await asyncio.to_thread(export_csv, current, history=False)
        history_csv = await asyncio.to_thread(export_csv, history, history=True)
        files = [
            discord.File(io.BytesIO(current_csv), filename="current.csv"),
            discord.File(io.BytesIO(history_csv), filename="history.csv"),
        ]
        log.info("announcements exported guild=%s by=%s", guild.id, interaction.user.id)
        await interaction.followup.send(
            f"{plural(len(current), 'current announcement')}, {plural(len(history), 'announcement')} in history.",
            files=files,
            ephemeral=True,
        )

    # ------------------------------------------------------------------ work shared by commands and events

    async def project_choices(
        self, interaction: Interaction, current: str, track: Track | None, *, offer_new: bool
    ) -> list[app_commands.Choice[str]]:
        """Official projects (title for the track if chosen), then custom ones in this server, matching the text."""

        def official(key: str) -> app_commands.Choice[str]:
            project = self.catalogue.get(key)
            label = choice_label(project, track) if project else key
            return app_commands.Choice(name=clip(label, 100), value=key)

        def custom_choice(label: str) -> app_commands.Choice[str]:
            return app_commands.Choice(name=clip(f"{label} (custom)", 100), value=label)

        custom = await self.store.custom_projects(interaction.guild_id) if interaction.guild_id else {}
        typed = compact("-".join(name_words(current)))
        choices = [official(project.key) for project in self.catalogue.search(current)]
        choices += [
            custom_choice(label)
            for key, label in custom.items()
            if typed in compact("-".join(name_words(label))) or typed in compact(key)
        ]
        cleaned = " ".join(current.split())
        if cleaned:
            # The full name may resolve where a substring does not ("The Pionus Safaris Backend"): offer that first.
            try:
                resolved = resolve_project(cleaned, track or "backend", self.catalogue, custom)
            except InvalidInput:
                resolved = None
            values = {choice.value for choice in choices}
            if resolved is not None and resolved.official and resolved.key not in values:
                choices.insert(0, official(resolved.key))
            elif resolved is not None and resolved.key in custom and custom[resolved.key] not in values:
                choices.insert(0, custom_choice(custom[resolved.key]))
            elif resolved is not None and resolved.key not in custom and offer_new and not choices:
                # Nothing known matches: say plainly that sending this names a new custom project.
                choices = [app_commands.Choice(name=clip(f"{cleaned} (new custom project)", 100), value=cleaned)]
        return choices[:MAX_CHOICES]

    async def deliver(self, guild: discord.Guild, config: GuildConfig | None, item: Announcement) -> Delivery:
        """Post everything pending in the announcement's cohort (this one included) and say what became of this one.

        `config` is the server's configuration as the announcement's cohort sees it (cogs.common.cohort_config).
        """
        if config is None:
            return Delivery(unconfigured=True)
        if item.is_posted:
            await self.post_pending(guild, config, item.cohort_id)
            return Delivery()
        posted, error = await self.post_pending(guild, config, item.cohort_id)
        if item.id in posted:
            return Delivery(posted=posted[item.id])
        if error is None:
            # Another command's post_pending got there first.
            return Delivery()
        return Delivery(error=error)

    async def post_pending(
        self, guild: discord.Guild, config: GuildConfig, cohort_id: int | None = None
    ) -> tuple[dict[int, discord.Message], str | None]:
        """Post a cohort's unposted announcements (None: the guild's) oldest first in the channel `config` names; stop
        at the first failure, since the channel is likely broken."""
        posted: dict[int, discord.Message] = {}
        async with self.post_lock:
            pending = await self.store.unposted(guild.id, cohort_id=cohort_id)
            if not pending:
                return posted, None
            channel = guild.get_channel(config.channel_id)
            if not isinstance(channel, discord.TextChannel):
                log.warning("announcement channel missing guild=%s channel=%s", guild.id, config.channel_id)
                return posted, "the channel no longer exists"
            totals = {total.key: total for total in await self.store.board_totals(guild.id, cohort_id=cohort_id)}
            for item in pending:
                row = total_row(item.project_key, totals.get(item.project_key), self.catalogue)
                try:
                    message = await channel.send(
                        embed=format_announcement(item, row, self.project_names),
                        allowed_mentions=discord.AllowedMentions.none(),
                    )
                except discord.HTTPException as error:
                    log.warning(
                        "could not post announcement guild=%s channel=%s announcement=%s status=%s code=%s: %s",
                        guild.id,
                        channel.id,
                        item.id,
                        error.status,
                        error.code,
                        error.text,
                    )
                    reason = "I lack permission there" if error.status == 403 else f"Discord error {error.status}"
                    return posted, reason
                await self.store.mark_posted(item.id, message.id, now=self.bot.now())
                posted[item.id] = message
        return posted, None

    async def retire_post(self, config: GuildConfig | None, item: Announcement, how: str) -> None:
        """Mark an ended announcement's public post, so an old choice never looks current in the channel."""
        if config is None or item.message_id is None:
            return
        # The post is in its cohort's channel.
        cohort = await self.bot.cohort_store.get(item.cohort_id) if item.cohort_id is not None else None
        channel_id = config.channel_id if cohort is None else cohort.channel_id
        message = self.bot.get_partial_messageable(channel_id).get_partial_message(item.message_id)
        try:
            await message.edit(
                embed=format_retired(item, how, self.project_names), allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException as error:
            # Deleted by a moderator, or the channel changed: nothing there looks current any more anyway.
            log.info("could not mark announcement %s as ended: %s %s", item.id, error.status, error.code)

    async def withdraw(self, guild_id: int, user_id: int) -> str:
        withdrawn = await self.store.withdraw(guild_id, user_id, now=self.bot.now())
        if withdrawn is None:
            return "You have no current announcement any more: nothing to withdraw."
        log.info("announcement withdrawn guild=%s user=%s project=%s", guild_id, user_id, withdrawn.project_key)
        self.bot.dispatch("nexus_announcement_withdrawn", guild_id, user_id)
        await self.retire_post(await self.bot.admin_store.get_config(guild_id), withdrawn, RETIRED_WITHDRAWN)
        return (
            f"Withdrawn: you are no longer announced on **{safe_text(project_name(withdrawn, self.project_names))}**. "
            "Your history is kept; `/announce` again whenever you are ready."
        )

    async def ask_forget(self, interaction: Interaction) -> None:
        """/me forget:true and /forget-me: say what would be deleted, and delete only after Confirm."""
        guild = guild_of(interaction)
        found = await self.privacy.found(guild.id, interaction.user.id)
        if not found.total:
            raise NotFound("Nexus holds no data about you in this server: nothing to delete.")
        view = ConfirmView(
            interaction.user.id,
            lambda click: self.answer_with(click, self.forget(guild, interaction.user.id)),
            kept="Kept: nothing was deleted.",
        )
        await view.send(interaction, format_forget_preview(found))

    @staticmethod
    async def answer_with(click: Interaction, outcome: Awaitable[str]) -> None:
        """Confirmed: do it, and replace the dialog with what was done."""
        await click.response.edit_message(content=await outcome, view=None)

    async def forget(self, guild: discord.Guild, user_id: int) -> str:
        # Matching withdraws pending proposals (requeueing the other learner) and ends the team through its own
        # code path; the listeners are awaited because the deletion below must come after their work.
        listeners = self.bot.extra_events.get("on_nexus_announcement_withdrawn", [])
        results = await asyncio.gather(*(listener(guild.id, user_id) for listener in listeners), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.error("withdrawal before forgetting failed guild=%s", guild.id, exc_info=result)
        forgotten = await self.privacy.forget(guild.id, user_id, now=self.bot.now())
        log.info("learner data forgotten guild=%s %s", guild.id, forgotten.counts())
        await self.take_down(guild, forgotten.post_ids)
        return format_forgotten(forgotten)

    async def take_down(self, guild: discord.Guild, post_ids: tuple[int, ...]) -> None:
        """Delete the forgotten learner's public announcement posts; one that is already gone is fine."""
        config = await self.bot.admin_store.get_config(guild.id)
        # Posts are in their cohort's channel; which one is not kept once the rows are gone, so each is tried.
        places = {config.channel_id} if config else set()
        places |= {cohort.channel_id for cohort in await self.bot.cohort_store.cohorts(guild.id)}
        channels = [
            channel for place in sorted(places) if isinstance(channel := guild.get_channel(place), discord.TextChannel)
        ]
        for message_id in post_ids:
            for channel in channels:
                try:
                    await channel.get_partial_message(message_id).delete()
                    break
                except discord.NotFound:
                    continue
                except discord.HTTPException:
                    log.info("could not delete a forgotten announcement post guild=%s", guild.id)
                    break

    # ------------------------------------------------------------------ events

    @commands.Cog.listener()
    async def on_nexus_member_moved(self, moved: CohortMove) -> None:
        """Staff moved a learner to another cohort (cogs.cohorts): their announcement is posted in its channel, and the
        post in the old one says where it went."""
        guild = self.bot.get_guild(moved.guild_id)
        item = await self.store.current(moved.guild_id, moved.user_id)
        if guild is None or item is None:
            return
        if moved.old_channel_id is not None and moved.old_message_id is not None:
            old_post = self.bot.get_partial_messageable(moved.old_channel_id).get_partial_message(moved.old_message_id)
            try:
                await old_post.edit(
                    embed=format_retired(item, f"moved to another cohort ({moved.to.label}).", self.project_names),
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            except discord.HTTPException as error:
                log.info("could not mark a moved announcement %s: %s %s", item.id, error.status, error.code)
        config = cohort_config(await self.bot.admin_store.get_config(moved.guild_id), moved.to)
        if config is not None:
            await self.post_pending(guild, config, moved.to.id)

    @commands.Cog.listener()
    async def on_nexus_config_changed(self, config: GuildConfig) -> None:
        guild = self.bot.get_guild(config.guild_id)
        if guild is None:
            return
        cohorts: list[Cohort | None] = [*await self.bot.cohort_store.cohorts(guild.id)]
        for cohort in cohorts or [None]:
            posted, error = await self.post_pending(
                guild, cohort_config(config, cohort) or config, cohort_id_of(cohort)
            )
            if posted or error:
                log.info("posted %d pending announcements guild=%s (stopped: %s)", len(posted), guild.id, error)

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        if payload.user.bot:
            return
        # One departure event for every cog, whether Discord told us now or start-up found it out later.
        self.bot.dispatch("nexus_member_gone", payload.guild_id, payload.user.id)

    @commands.Cog.listener()
    async def on_nexus_member_gone(self, guild_id: int, user_id: int) -> None:
        if await self.store.member_left(guild_id, user_id, now=self.bot.now()):
            log.info("learner left guild=%s user=%s", guild_id, user_id)

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        # A resumed session replays missed events, but a long gap can still lose a leave: check again, cheaply.
        if self.reconciling is None or self.reconciling.done():
            self.reconciling = asyncio.create_task(self.reconcile_members(), name="members-reconcile")

    async def reconcile_members(self) -> None:
        """Learners who left while Nexus was down never sent a leave event: find them in the loaded member list and
        treat them exactly as if the event had arrived (same handlers, same notices). Then count each board."""
        await self.bot.wait_until_ready()
        for guild in list(self.bot.guilds):
            try:
                if not guild.chunked:
                    await guild.chunk()
                present = {member.id for member in guild.members}
                known = await self.store.learners_here(guild.id)
            except Exception:
                log.exception("could not compare members with announcements guild=%s; next start retries", guild.id)
                continue
            for user_id in sorted(known - present):
                log.warning("learner left while Nexus was away guild=%s user=%s", guild.id, user_id)
                self.bot.dispatch("nexus_member_gone", guild.id, user_id)
            try:
                await self.count_boards(guild.id)
            except Exception:
                log.exception("could not count the board at start-up guild=%s; the first read counts it", guild.id)

    async def count_boards(self, guild_id: int) -> None:
        """Count the guild's boards now, in the background: else the first /projects after a start would wait while
        the whole cohort is counted (a quarter of a second at 50,000 learners, docs/benchmarks.md). Each live cohort
        has a board of its own; a server with no cohort yet has one for the whole guild."""
        cohorts = await self.bot.cohort_store.cohorts(guild_id)
        boards: list[int | None] = [cohort.id for cohort in cohorts if cohort.is_live()] or [None]
        for cohort_id in boards:
            await self.store.board_totals(guild_id, cohort_id=cohort_id)

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        if not member.bot and await self.store.member_rejoined(member.guild.id, member.id):
            log.info("learner rejoined guild=%s user=%s", member.guild.id, member.id)
