"""Discord surface for knowledge: /topic, /search, /topics, /nexus reload and /nexus gaps, and their buttons."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.content import describe_counts, load_topics
from bot.cooldowns import Cooldown, CoolingDown
from bot.errors import ContentError, StorageUnavailable
from bot.knowledge import (
    CATEGORIES,
    CATEGORY_LABELS,
    BrowsePage,
    Entry,
    Gap,
    KnowledgeBase,
    LookupCount,
    SearchHit,
    clip,
    description,
    is_weak,
    public_description,
)
from bot.storage.knowledge import KnowledgeStore
from cogs.common import Interaction, NexusBot, answer_user_errors, ensure_staff, staff_command

log = logging.getLogger(__name__)

RELATED_BUTTONS = 3
SEARCH_RESULTS = 5
GAPS_SHOWN = 15
WEAK_SHOWN = 10
SHOW_EVERYTHING = "Show everything"
BUTTON_LABEL_LIMIT = 80
QUERY_LIMIT = 100
ERRORS_SHOWN_LIMIT = 3800
CATEGORY_COLOURS: dict[str, discord.Colour] = {
    "technology": discord.Colour.blurple(),
    "concept": discord.Colour.green(),
    "challenge": discord.Colour.orange(),
    "practice": discord.Colour.teal(),
    "program": discord.Colour.gold(),
}
# custom_ids carry everything a click needs, so buttons keep working after a restart.
OPEN_TEMPLATE = r"nexus:kb:open:(?P<audience>pub|priv):(?P<entry_id>[a-z0-9-]{1,64})"
PAGE_TEMPLATE = r"nexus:kb:page:(?P<category>[a-z]{1,16}):(?P<page>\d{1,4}):(?P<direction>prev|next)"
ALL_CATEGORIES = "all"

CategoryOption = Literal["technology", "concept", "challenge", "practice", "program"]


# ---------------------------------------------------------------- formatting


def format_entry(knowledge: KnowledgeBase, entry: Entry, *, public: bool = False) -> discord.Embed:
    """The whole entry, or for a channel post only its summary and key points (the rest is behind a button)."""
    embed = discord.Embed(
        title=entry.title,
        description=public_description(entry) if public else description(entry),
        colour=CATEGORY_COLOURS.get(entry.category, discord.Colour.blurple()),
    )
    for section in knowledge.public_sections(entry) if public else knowledge.sections(entry):
        embed.add_field(name=section.name, value=section.text, inline=False)
    embed.set_footer(text=knowledge.footer(entry))
    return embed


def format_search(query: str, hits: list[tuple[Entry, SearchHit]]) -> discord.Embed:
    embed = discord.Embed(title=clip(f"Search: {query}", 256), colour=discord.Colour.blurple())
    for number, (entry, hit) in enumerate(hits, start=1):
        embed.add_field(name=clip(f"{number}. {entry.title}", 256), value=hit.snippet or entry.summary, inline=False)
    embed.set_footer(text="Open one with the buttons below, or /topic <name>.")
    return embed


def format_no_match(kind: str, query: str, suggestions: list[Entry]) -> str:
    shown = discord.utils.escape_markdown(clip(query, QUERY_LIMIT))
    text = f"No entry named “{shown}”." if kind == "topic" else f"Nothing in the knowledge base matches “{shown}”."
    if suggestions:
        return f"{text} Did you mean one of these?"
    return f"{text} Browse everything with `/topics`, or try `/search` with other words. Staff will see it was asked."


def format_browse(page: BrowsePage, category: str | None) -> discord.Embed:
    title = "Knowledge base" if category is None else f"Knowledge base: {CATEGORY_LABELS[category]}"
    lines: list[str] = []
    for name, entries in page.groups:
        lines.append(f"**{CATEGORY_LABELS[name]}**")
        lines += [f"• {entry.title} — `/topic {entry.id}`" for entry in entries]
        lines.append("")
    text = "\n".join(lines).strip() or "No entries here yet."
    embed = discord.Embed(title=title, description=clip(text, 4096), colour=discord.Colour.blurple())
    if page.total > 1:
        embed.set_footer(text=f"Page {page.number + 1}/{page.total}")
    return embed


def format_reload(previous: KnowledgeBase, current: KnowledgeBase) -> str:
    before = {entry.id for entry in previous.entries}
    after = {entry.id for entry in current.entries}
    added, removed = len(after - before), len(before - after)
    return f"Reloaded the knowledge base: {describe_counts(current)}; {added} added, {removed} removed."


def format_content_errors(problems: list[str], kept: KnowledgeBase) -> discord.Embed:
    shown: list[str] = []
    size = 0
    for problem in problems:
        line = clip(problem, 500)
        if size + len(line) + 1 > ERRORS_SHOWN_LIMIT:
            break
        shown.append(line)
        size += len(line) + 1
    more = len(problems) - len(shown)
    text = "```\n" + "\n".join(shown).replace("```", "'''") + "\n```"
    if more:
        text += f"\n… and {more} more (run `nexus-bot check-content` to see them all)."
    count = len(problems)
    embed = discord.Embed(
        title=f"Content has {count} problem{'s' if count != 1 else ''}: nothing was reloaded",
        description=text,
        colour=discord.Colour.red(),
    )
    embed.set_footer(text=f"Still serving the previous knowledge base: {describe_counts(kept)}")
    return embed


def format_gaps(
    gaps: list[Gap], lookups: list[tuple[Entry, LookupCount]], weak: list[tuple[Gap, str]] | None = None
) -> discord.Embed:
    """`weak` pairs each weakly answered question with the title of the entry that came first."""
    embed = discord.Embed(title="Knowledge gaps", colour=discord.Colour.blurple())
    if gaps:
        lines = [
            f"**{gap.count}×** {discord.utils.escape_markdown(clip(gap.query, 80))} "
            f"(last {discord.utils.format_dt(gap.last_asked, 'd')})"
            for gap in gaps
        ]
        embed.description = "Questions that found nothing, most asked first:\n" + "\n".join(lines)
    else:
        embed.description = "No unanswered questions yet: every /search and /topic found something."
    if weak:
        weak_lines = [
            f"**{gap.count}×** {discord.utils.escape_markdown(clip(gap.query, 60))} → {clip(title, 40)}"
            for gap, title in weak
        ]
        embed.add_field(
            name="Weak answers (only some words matched, most asked first)",
            value=clip("\n".join(weak_lines), 1024),
            inline=False,
        )
    if lookups:
        embed.add_field(
            name="Most opened entries",
            value="\n".join(f"{item.count}× {entry.title}" for entry, item in lookups),
            inline=False,
        )
    return embed


# ---------------------------------------------------------------- the cog


class KnowledgeCog(commands.Cog):
    def __init__(self, bot: NexusBot, store: KnowledgeStore) -> None:
        self.bot = bot
        self.store = store
        self.knowledge = KnowledgeBase(())
        self.open_button, self.page_button = _button_classes(self)
        # A public answer is a post in the channel: one per person per period, like /announce.
        self.public_cooldown = Cooldown(bot.settings.command_cooldown_seconds)

    @property
    def topics_dir(self) -> Path:
        return self.bot.settings.content_dir / "topics"

    async def cog_load(self) -> None:
        try:
            knowledge = load_topics(self.topics_dir)
        except ContentError as error:
            # Start-up stops here: serving a half-valid knowledge base would hide the problems.
            for problem in error.problems:
                log.error("content: %s", problem)
            raise
        await self.store.rebuild_index(knowledge.entries, knowledge)
        self.knowledge = knowledge
        log.info("knowledge base loaded: %s", describe_counts(knowledge))
        self.bot.add_dynamic_items(self.open_button, self.page_button)
        group = self.bot.nexus_group
        group.add_command(
            app_commands.Command(
                name="reload",
                description="Staff: re-read the knowledge base from content/ (keeps the old one if a file is broken)",
                callback=self.reload_command,
                extras=staff_command(),
            )
        )
        group.add_command(
            app_commands.Command(
                name="gaps",
                description="Staff: the most frequent questions the knowledge base could not answer",
                callback=self.gaps_command,
                extras=staff_command(),
            )
        )

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(self.open_button, self.page_button)
        self.bot.nexus_group.remove_command("reload")
        self.bot.nexus_group.remove_command("gaps")

    # ------------------------------------------------------------ views

    def entry_view(self, knowledge: KnowledgeBase, entry: Entry, *, public: bool = False) -> discord.ui.View | None:
        related = knowledge.related(entry)[:RELATED_BUTTONS]
        if not related and not public:
            return None
        view = discord.ui.View(timeout=None)
        if public:
            # The whole entry, for whoever clicks only: the channel keeps the short post.
            view.add_item(self.open_button(entry, public=False, label=SHOW_EVERYTHING))
        for other in related:
            view.add_item(self.open_button(other, public=False, style=discord.ButtonStyle.secondary))
        return view

    def choices_view(self, entries: list[Entry], *, public: bool) -> discord.ui.View | None:
        if not entries:
            return None
        view = discord.ui.View(timeout=None)
        for entry in entries:
            view.add_item(self.open_button(entry, public=public, style=discord.ButtonStyle.primary))
        return view

    def browse_view(self, page: BrowsePage, category: str | None) -> discord.ui.View | None:
        if page.total <= 1:
            return None
        view = discord.ui.View(timeout=None)
        key = category or ALL_CATEGORIES
        view.add_item(self.page_button(key, max(page.number - 1, 0), "prev", disabled=page.number == 0))
        view.add_item(
            self.page_button(key, min(page.number + 1, page.total - 1), "next", disabled=page.number >= page.total - 1)
        )
        return view

    # ------------------------------------------------------------ commands

    async def topic_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=choice.name, value=choice.value) for choice in self.knowledge.choices(current)]

    @app_commands.command(name="topic", description="Look up a knowledge-base entry (Django, JWT, N+1, Celery, …)")
    @app_commands.describe(
        name="Entry name: start typing and pick one (typos are fine)",
        private="Show the answer only to you (default: everyone in the channel sees it)",
    )
    @app_commands.autocomplete(name=topic_autocomplete)
    async def topic_command(
        self,
        interaction: Interaction,
        name: app_commands.Range[str, 1, QUERY_LIMIT],
        private: bool = False,
    ) -> None:
        knowledge = self.knowledge
        entry = knowledge.find(name)
        if entry is None:
            suggestions = knowledge.did_you_mean(name)
            view = self.choices_view(suggestions, public=not private)
            await interaction.response.send_message(
                format_no_match("topic", name, suggestions), ephemeral=True, **_with_view(view)
            )
            await self._record_miss(interaction, name, "topic")
            return
        await self._answer(interaction, knowledge, entry, public=not private)

    @app_commands.command(name="search", description="Search the whole knowledge base: titles, tags and text")
    @app_commands.describe(query="Words to look for, e.g. 'refresh token rotation' or 'slow endpoint'")
    async def search_command(self, interaction: Interaction, query: app_commands.Range[str, 1, QUERY_LIMIT]) -> None:
        knowledge = self.knowledge
        hits = await self.store.search(query, limit=SEARCH_RESULTS)
        found = [(entry, hit) for hit in hits if (entry := knowledge.get(hit.entry_id)) is not None]
        if found:
            view = self.choices_view([entry for entry, _ in found], public=False)
            await interaction.response.send_message(
                embed=format_search(query, found), ephemeral=True, **_with_view(view)
            )
            if is_weak(hits):
                await self._record_weak(interaction, query, hits[0])
            return
        suggestions = knowledge.did_you_mean(query)
        await interaction.response.send_message(
            format_no_match("search", query, suggestions),
            ephemeral=True,
            **_with_view(self.choices_view(suggestions, public=False)),
        )
        await self._record_miss(interaction, query, "search")

    @app_commands.command(name="topics", description="Browse the knowledge base by category")
    @app_commands.describe(category="Only this category (default: everything)")
    async def topics_command(self, interaction: Interaction, category: CategoryOption | None = None) -> None:
        page = self.knowledge.browse(category)[0]
        await interaction.response.send_message(
            embed=format_browse(page, category), ephemeral=True, **_with_view(self.browse_view(page, category))
        )

    @app_commands.check(ensure_staff)
    async def reload_command(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        previous = self.knowledge
        try:
            knowledge = load_topics(self.topics_dir)
        except ContentError as error:
            log.warning("reload refused: %d content problems", len(error.problems))
            await interaction.followup.send(embed=format_content_errors(error.problems, previous), ephemeral=True)
            return
        await self.store.rebuild_index(knowledge.entries, knowledge)
        # One assignment: every command reads self.knowledge once, so none sees half of each.
        self.knowledge = knowledge
        log.info("knowledge base reloaded by=%s: %s", interaction.user.id, describe_counts(knowledge))
        await interaction.followup.send(format_reload(previous, knowledge), ephemeral=True)

    @app_commands.check(ensure_staff)
    async def gaps_command(self, interaction: Interaction) -> None:
        gaps, weak, counts = await self.store.gaps_report(interaction.guild_id, gaps=GAPS_SHOWN, weak=WEAK_SHOWN)
        lookups = [(entry, item) for item in counts if (entry := self.knowledge.get(item.entry_id)) is not None]
        weak_titles = [(gap, self._title(gap.best_entry)) for gap in weak]
        await interaction.response.send_message(embed=format_gaps(gaps, lookups, weak_titles), ephemeral=True)

    # ------------------------------------------------------------ buttons

    async def open_clicked(self, interaction: Interaction, entry_id: str, *, public: bool) -> None:
        knowledge = self.knowledge
        entry = knowledge.get(entry_id)
        if entry is None:
            await interaction.response.send_message(
                "That entry is no longer in the knowledge base. Try `/search` or `/topics`.", ephemeral=True
            )
            return
        await self._answer(interaction, knowledge, entry, public=public)

    async def page_clicked(self, interaction: Interaction, category: str, number: int) -> None:
        chosen = None if category == ALL_CATEGORIES or category not in CATEGORIES else category
        pages = self.knowledge.browse(chosen)
        page = pages[min(number, len(pages) - 1)]
        await interaction.response.edit_message(embed=format_browse(page, chosen), view=self.browse_view(page, chosen))

    # ------------------------------------------------------------ helpers

    async def _answer(self, interaction: Interaction, knowledge: KnowledgeBase, entry: Entry, *, public: bool) -> None:
        note: dict[str, Any] = {}
        if public:
            try:
                self.public_cooldown.use(interaction.user.id, self.bot.now())
            except CoolingDown as slow:
                # Nothing is lost: the answer comes privately instead of flooding the channel.
                public, note = False, {"content": f"{slow} Here it is just for you meanwhile."}
        view = self.entry_view(knowledge, entry, public=public)
        await interaction.response.send_message(
            embed=format_entry(knowledge, entry, public=public), ephemeral=not public, **note, **_with_view(view)
        )
        try:
            await self.store.record_lookup(interaction.guild_id, entry.id, self.bot.now())
        except StorageUnavailable:
            # The answer was given; a lost counter is not worth bothering the learner about.
            log.warning("could not count a look-up of %s", entry.id)

    def _title(self, entry_id: str | None) -> str:
        entry = self.knowledge.get(entry_id or "")
        return entry.title if entry is not None else (entry_id or "?")

    async def _record_weak(self, interaction: Interaction, query: str, best: SearchHit) -> None:
        try:
            await self.store.record_weak(interaction.guild_id, query, best, self.bot.now())
        except StorageUnavailable:
            log.warning("could not record a weakly answered search")

    async def _record_miss(self, interaction: Interaction, query: str, source: str) -> None:
        try:
            await self.store.record_miss(interaction.guild_id, query, source, self.bot.now())
        except StorageUnavailable:
            log.warning("could not record an unanswered %s", source)


def _with_view(view: discord.ui.View | None) -> dict[str, Any]:
    """send_message rejects view=None, so only pass a view when there is one."""
    return {} if view is None else {"view": view}


def _button_classes(cog: KnowledgeCog) -> tuple[type[OpenButton], type[PageButton]]:
    """Persistent button classes bound to this cog: the click is parsed from the custom_id, even after a restart."""

    class BoundOpenButton(OpenButton, template=OPEN_TEMPLATE):
        owner = cog

    class BoundPageButton(PageButton, template=PAGE_TEMPLATE):
        owner = cog

    return BoundOpenButton, BoundPageButton


class OpenButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=OPEN_TEMPLATE):
    """Opens an entry: in the channel (`pub`) or only for whoever clicked (`priv`)."""

    owner: KnowledgeCog

    def __init__(
        self,
        entry: Entry | str,
        *,
        public: bool,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        label: str | None = None,
    ) -> None:
        entry_id = entry if isinstance(entry, str) else entry.id
        if label is None:
            label = entry if isinstance(entry, str) else entry.title
        audience = "pub" if public else "priv"
        super().__init__(
            discord.ui.Button(
                label=clip(label, BUTTON_LABEL_LIMIT), style=style, custom_id=f"nexus:kb:open:{audience}:{entry_id}"
            )
        )
        self.entry_id = entry_id
        self.public = public

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> OpenButton:
        return cls(match["entry_id"], public=match["audience"] == "pub")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await answer_user_errors(self.owner.open_clicked)(interaction, self.entry_id, public=self.public)


class PageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=PAGE_TEMPLATE):
    """Previous/Next in /topics: the custom_id holds the category and the page to show."""

    owner: KnowledgeCog

    def __init__(self, category: str, page: int, direction: str, *, disabled: bool = False) -> None:
        label = "Previous" if direction == "prev" else "Next"
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                disabled=disabled,
                custom_id=f"nexus:kb:page:{category}:{page}:{direction}",
            )
        )
        self.category = category
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PageButton:
        return cls(match["category"], int(match["page"]), match["direction"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await answer_user_errors(self.owner.page_clicked)(interaction, self.category, self.page)


async def setup(bot: NexusBot) -> None:
    await bot.add_cog(KnowledgeCog(bot, KnowledgeStore(bot.db)))
