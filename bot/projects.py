"""Pure rules for project-choice announcements: the catalogue, name resolution, validation, the board and export."""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from confusable_homoglyphs import categories, confusables

from bot.admin import GuildConfig
from bot.errors import InvalidInput
from bot.text import visible
from bot.timezones import normalise_timezone

Track = Literal["frontend", "backend"]
TRACKS: tuple[Track, ...] = ("frontend", "backend")
CUSTOM_PREFIX = "custom:"
SUMMARY_LIMIT = 300
REPO_URL_LIMIT = 300
PROJECT_NAME_LIMIT = 80
BOARD_PAGE_SIZE = 8

# Words people add to a project's name to say which side they build; they never tell two projects apart.
# Longest first, so "front end" is stripped as one suffix.
GENERIC_SUFFIXES: tuple[tuple[str, ...], ...] = (
    ("front", "end"),
    ("back", "end"),
    ("frontend",),
    ("backend",),
    ("app",),
    ("api",),
    ("project",),
)
LEADING_ARTICLES = ("the",)
APOSTROPHES = "'’`"
WORD = re.compile(r"[^\W_]+")

# Spreadsheet programs run a cell as a formula when it starts with one of these.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def other_track(track: Track) -> Track:
    return "backend" if track == "frontend" else "frontend"


def parse_track(text: str) -> Track:
    cleaned = text.strip().casefold()
    for track in TRACKS:
        if cleaned == track:
            return track
    raise InvalidInput(f"`{text[:20]}` is not a track: choose frontend or backend.")


@functools.cache
def latin_look_alike(char: str) -> str:
    """The Latin letter a Cyrillic or Greek letter is drawn like (`р` -> `p`, `ο` -> `o`), else the letter itself.

    Unicode's confusables table, not transliteration: Cyrillic `р` reads as "r" but looks like "p", and it is the
    look that lets someone register `Jоb Bоard` (Cyrillic о) beside `Job Board`.
    """
    if char.isascii() or not char.isalpha() or categories.alias(char) in ("LATIN", "COMMON"):
        return char
    for found in confusables.is_confusable(char, preferred_aliases=["latin"]) or []:
        for glyph in found["homoglyphs"]:
            if len(glyph["c"]) == 1 and glyph["c"].isascii() and glyph["c"].isalpha():
                return str(glyph["c"])
    return char


def name_words(text: str) -> list[str]:
    """Lower-case words without accents, punctuation or look-alike letters: `The Café-Store's App` -> the, cafe,
    stores, app; `Jоb Bоard` typed with Cyrillic `о` -> job, board."""
    decomposed = unicodedata.normalize("NFKD", visible(text))
    plain = "".join(latin_look_alike(char) for char in decomposed if not unicodedata.combining(char))
    for apostrophe in APOSTROPHES:
        plain = plain.replace(apostrophe, "")
    return WORD.findall(plain.replace("&", " and ").casefold())


def normalise_project_name(text: str) -> str:
    """A slug two people typing the same project agree on; empty if the name is only generic words."""
    words = name_words(text)
    if len(words) > 1 and words[0] in LEADING_ARTICLES:
        words = words[1:]
    stripped = True
    while stripped and words:
        stripped = False
        for suffix in GENERIC_SUFFIXES:
            if tuple(words[-len(suffix) :]) == suffix:
                words = words[: -len(suffix)]
                stripped = True
                break
    return "-".join(words)


def compact(slug: str) -> str:
    """Spacing-blind form, so `job board`, `job-board` and `jobboard` are one name."""
    return slug.replace("-", "")


@dataclass(frozen=True)
class Project:
    key: str
    backend_title: str
    frontend_title: str
    description: str
    aliases: tuple[str, ...] = ()

    def title_for(self, track: Track) -> str:
        return self.backend_title if track == "backend" else self.frontend_title

    @property
    def name(self) -> str:
        """The track-neutral name: the backend title without "Backend" (`E-Commerce`, `Job Board`)."""
        words = self.backend_title.split()
        if len(words) > 1 and words[-1].casefold() == "backend":
            return " ".join(words[:-1])
        return self.backend_title

    @property
    def label(self) -> str:
        """Both titles: the board shows one project, whichever side you build."""
        return f"{self.backend_title} / {self.frontend_title}"

    def names(self) -> tuple[str, ...]:
        return (self.key, self.backend_title, self.frontend_title, *self.aliases)


def catalogue_collisions(projects: Sequence[Project]) -> list[str]:
    """Names that normalise to nothing, or to the same thing for two projects; each is a content error."""
    problems: list[str] = []
    owners: dict[str, str] = {}
    for project in projects:
        for name in project.names():
            normalised = compact(normalise_project_name(name))
            if not normalised:
                problems.append(f"{project.key}: `{name}` has no words left after normalisation")
                continue
            owner = owners.setdefault(normalised, project.key)
            if owner != project.key:
                problems.append(f"{project.key}: `{name}` also names {owner}")
    return problems


class Catalogue:
    """The official projects, looked up by key, either title or any alias after normalisation."""

    def __init__(self, projects: Sequence[Project]) -> None:
        problems = catalogue_collisions(projects)
        if problems:
            raise ValueError("; ".join(problems))
        self.projects: tuple[Project, ...] = tuple(projects)
        self._by_key = {project.key: project for project in self.projects}
        self._by_name = {
            compact(normalise_project_name(name)): project for project in self.projects for name in project.names()
        }

    def get(self, key: str) -> Project | None:
        return self._by_key.get(key)

    def find(self, text: str) -> Project | None:
        normalised = compact(normalise_project_name(text))
        return self._by_name.get(normalised) if normalised else None

    def search(self, query: str) -> list[Project]:
        """Projects whose names contain what was typed so far (for autocomplete), in catalogue order."""
        typed = compact("-".join(name_words(query)))
        if not typed:
            return list(self.projects)
        return [
            project
            for project in self.projects
            if any(typed in compact("-".join(name_words(name))) for name in project.names())
        ]


@dataclass(frozen=True)
class ProjectChoice:
    key: str
    name: str
    official: bool


def display_name(key: str, catalogue: Catalogue, announced_name: str | None = None) -> str:
    """The one name a project goes by in every reply and chart, whichever track is speaking.

    Official projects by their neutral catalogue name; custom ones by the name a learner typed (or, without one,
    their normalised key). Never the raw key of an official project.
    """
    project = catalogue.get(key)
    if project is not None:
        return project.name
    if announced_name:
        return announced_name
    return key.removeprefix(CUSTOM_PREFIX).replace("-", " ")


class ProjectNames:
    """`display_name` bound to the catalogue: what a reply calls to name a project, given what it already knows."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def __call__(self, key: str, announced_name: str | None = None) -> str:
        return display_name(key, self.catalogue, announced_name)

    def track_title(self, key: str, track: Track) -> str | None:
        """The official title of `track`'s brief, as detail beside the display name; None when it adds nothing
        (custom projects, or a title that is the display name)."""
        project = self.catalogue.get(key)
        if project is None:
            return None
        title = project.title_for(track)
        return None if title == project.name else title


def choice_label(project: Project, track: Track | None) -> str:
    """An autocomplete choice: the display name first, then the brief titles people may know it by."""
    titles = project.title_for(track) if track else project.label
    return project.name if titles == project.name else f"{project.name} — {titles}"


def track_titles(project: Project) -> str:
    """Both briefs' titles, for the one page about a project (`E-Commerce Backend (backend), ...`)."""
    return f"{project.backend_title} (backend), {project.frontend_title} (frontend)"


def is_custom_key(key: str) -> bool:
    return key.startswith(CUSTOM_PREFIX)


def resolve_project(
    text: str, track: Track, catalogue: Catalogue, existing_custom: Iterable[str] = ()
) -> ProjectChoice:
    """An official project (title for the track) or a custom one; an existing custom key wins a spacing tie."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInput("Tell me which project you are building: pick one from the list or type its name.")
    if len(cleaned) > PROJECT_NAME_LIMIT:
        raise InvalidInput(f"Project names are at most {PROJECT_NAME_LIMIT} characters; yours has {len(cleaned)}.")
    project = catalogue.find(cleaned)
    if project is not None:
        return ProjectChoice(project.key, project.title_for(track), official=True)
    slug = normalise_project_name(cleaned)
    if not slug:
        raise InvalidInput(
            f"`{cleaned}` only says which side you build. Give the project's name, e.g. `Pionus Safaris`."
        )
    for key in existing_custom:
        if is_custom_key(key) and compact(key.removeprefix(CUSTOM_PREFIX)) == compact(slug):
            return ProjectChoice(key, cleaned, official=False)
    return ProjectChoice(CUSTOM_PREFIX + slug, cleaned, official=False)


def validate_summary(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    summary = text.strip()
    if len(summary) > SUMMARY_LIMIT:
        raise InvalidInput(
            f"The summary is {len(summary)} characters; keep it to {SUMMARY_LIMIT} (one or two sentences)."
        )
    return summary


def validate_repo_url(text: str | None) -> str | None:
    """An http(s) URL with a real host; anything a browser would run instead of open is refused."""
    if text is None or not text.strip():
        return None
    url = text.strip()
    problem = (
        f"`{url[:60]}` is not a link I can post. Use the repository's web address, e.g. https://github.com/you/project."
    )
    if len(url) > REPO_URL_LIMIT:
        raise InvalidInput(f"The repository link is longer than {REPO_URL_LIMIT} characters.")
    if any(char.isspace() or unicodedata.category(char).startswith("C") for char in url):
        raise InvalidInput(problem)
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise InvalidInput(problem) from None
    if parts.scheme.casefold() not in {"http", "https"} or not host or "." not in host.strip("."):
        raise InvalidInput(problem)
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("Remove the user name or password from the repository link before sharing it.")
    return url


def validate_timezone(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    return normalise_timezone(text)


@dataclass(frozen=True)
class AnnouncementDraft:
    """A validated announcement about to be recorded."""

    guild_id: int
    user_id: int
    project_key: str
    project_name: str
    track: Track
    summary: str | None
    repo_url: str | None
    timezone: str | None
    late: bool
    cohort_id: int | None = None  # None: the learner's cohort as ProjectsStore.announce decides it


@dataclass(frozen=True)
class Announcement:
    id: int
    guild_id: int
    user_id: int
    project_key: str
    project_name: str
    track: Track
    summary: str | None
    repo_url: str | None
    timezone: str | None
    late: bool
    created_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None
    message_id: int | None = None
    posted_at: datetime | None = None
    cohort_id: int | None = None

    @property
    def is_posted(self) -> bool:
        return self.message_id is not None


def same_choice(draft: AnnouncementDraft, current: Announcement | None) -> bool:
    """Re-announcing the same project, track, summary, repo and timezone changes nothing."""
    return current is not None and (
        current.project_key,
        current.track,
        current.summary,
        current.repo_url,
        current.timezone,
    ) == (draft.project_key, draft.track, draft.summary, draft.repo_url, draft.timezone)


def draft_announcement(
    *,
    guild_id: int,
    user_id: int,
    project: str,
    track: str,
    summary: str | None,
    repo: str | None,
    timezone: str | None,
    catalogue: Catalogue,
    existing_custom: Iterable[str],
    config: GuildConfig | None,
    now: datetime,
) -> AnnouncementDraft:
    """Validate every option before anything is recorded; late means after the cohort's week one."""
    chosen_track = parse_track(track)
    choice = resolve_project(project, chosen_track, catalogue, existing_custom)
    return AnnouncementDraft(
        guild_id=guild_id,
        user_id=user_id,
        project_key=choice.key,
        project_name=choice.name,
        track=chosen_track,
        summary=validate_summary(summary),
        repo_url=validate_repo_url(repo),
        timezone=validate_timezone(timezone),
        late=config is not None and config.is_after_week_one(now),
    )


@dataclass(frozen=True)
class AnnounceOutcome:
    announcement: Announcement
    previous: Announcement | None
    changed: bool


class ProjectMember(NamedTuple):
    """A learner whose current announcement names a project, with their matching state.

    A named tuple rather than a frozen dataclass: /project builds dozens per call, and a tuple is built several
    times faster than a frozen dataclass, which sets each field through object.__setattr__.
    """

    user_id: int
    display_name: str
    project_key: str
    project_name: str
    track: Track
    created_at: datetime
    left: bool = False
    waiting: bool = False
    paired: bool = False
    queued_at: datetime | None = None  # their place in matching's line while waiting


def in_line(member: ProjectMember) -> tuple[datetime, int]:
    """Matching's order: first queued first (a requeued learner keeps their place), then by id."""
    return (member.queued_at or datetime.max.replace(tzinfo=UTC), member.user_id)


@dataclass(frozen=True)
class BoardRow:
    key: str
    name: str
    frontend: int = 0
    backend: int = 0
    paired: int = 0
    waiting: int = 0
    last_activity: datetime | None = None

    @property
    def total(self) -> int:
        return self.frontend + self.backend

    def count(self, track: Track) -> int:
        return self.frontend if track == "frontend" else self.backend


@dataclass(frozen=True)
class ProjectTotals:
    """One project's current announcements, counted; learners who left the server are not counted."""

    key: str
    latest_name: str  # the name in its most recent announcement (custom projects are named by learners)
    latest_at: datetime
    frontend: int = 0
    backend: int = 0
    paired: int = 0
    waiting: int = 0


def total_row(key: str, total: ProjectTotals | None, catalogue: Catalogue) -> BoardRow:
    """One project's board row from its counts (None: nobody is on it)."""
    if total is None:
        return BoardRow(key=key, name=display_name(key, catalogue))
    return BoardRow(
        key=key,
        name=display_name(key, catalogue, total.latest_name),
        frontend=total.frontend,
        backend=total.backend,
        paired=total.paired,
        waiting=total.waiting,
        last_activity=total.latest_at,
    )


def board_from_totals(totals: Iterable[ProjectTotals], catalogue: Catalogue) -> list[BoardRow]:
    """Every official project plus custom ones in use; busiest first, then most recent activity, then name."""
    counted = {total.key: total for total in totals}
    keys = [project.key for project in catalogue.projects]
    keys += [key for key in counted if catalogue.get(key) is None]
    rows = [total_row(key, counted.get(key), catalogue) for key in keys]
    rows.sort(key=lambda row: row.name.casefold())
    rows.sort(key=lambda row: row.last_activity.timestamp() if row.last_activity else float("-inf"), reverse=True)
    rows.sort(key=lambda row: row.total, reverse=True)
    return rows


# /project names the first learners of each list and counts the rest ("… and 312 more"): a popular project has
# hundreds, more than anyone reads in a list or a 1,024-character field holds, so reading them all is wasted.
ROSTER_NAMES = 12


@dataclass(frozen=True)
class Roster:
    """What /project shows of one project: the first learners of each list, and how many each list holds."""

    totals: ProjectTotals | None  # counts of present learners (as on the board)
    on_track: dict[Track, tuple[ProjectMember, ...]]  # oldest announcement first, including those who left
    on_track_count: dict[Track, int]  # everyone with a current announcement, including those who left
    looking: tuple[ProjectMember, ...]  # waiting in matching's pool for this project, still here; in line order

    def present(self, track: Track) -> int:
        return 0 if self.totals is None else (self.totals.frontend if track == "frontend" else self.totals.backend)

    @property
    def looking_count(self) -> int:
        return 0 if self.totals is None else self.totals.waiting


@dataclass(frozen=True)
class Page:
    rows: tuple[BoardRow, ...]
    number: int
    count: int


def board_page(rows: Sequence[BoardRow], number: int, size: int = BOARD_PAGE_SIZE) -> Page:
    """Page `number` (0-based, clamped) of the board."""
    count = max(1, -(-len(rows) // size))
    number = min(max(0, number), count - 1)
    return Page(tuple(rows[number * size : (number + 1) * size]), number, count)


MatchState = Literal["none", "waiting", "proposed", "partnered"]


@dataclass(frozen=True)
class MatchStatus:
    state: MatchState = "none"
    since: datetime | None = None
    partner_ids: tuple[int, ...] = ()
    thread_id: int | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class LearnerStatus:
    """What /me shows: my current choice, my matching state, my reminder preference."""

    announcement: Announcement | None
    match: MatchStatus = field(default_factory=MatchStatus)
    reminders_opt_out: bool = False
    left: bool = False


@dataclass(frozen=True)
class ExportRow:
    announcement: Announcement
    display_name: str
    left: bool


CURRENT_COLUMNS = (
    "user_id",
    "display_name",
    "member_status",
    "project_key",
    "project_name",
    "track",
    "summary",
    "repo_url",
    "timezone",
    "late",
    "announced_at",
    "posted",
)
HISTORY_COLUMNS = (*CURRENT_COLUMNS, "ended_at", "end_reason")


def csv_safe(value: object) -> str:
    """A cell a spreadsheet shows as text: formula triggers get a leading quote.

    Spreadsheets fold fullwidth forms (`＝`) and skip invisible characters before deciding a cell is a formula, so
    the check looks at the cell the same way: invisible characters removed, NFKC-folded, leading spaces skipped.
    """
    text = "" if value is None else str(value)
    seen = unicodedata.normalize("NFKC", "".join(ch for ch in text if ch in "\t\r" or ch == visible(ch))).lstrip(" ")
    return "'" + text if text.startswith(FORMULA_TRIGGERS) or seen.startswith(FORMULA_TRIGGERS) else text


def _export_cells(row: ExportRow, *, history: bool) -> list[str]:
    item = row.announcement
    cells: list[object] = [
        item.user_id,
        row.display_name,
        "left" if row.left else "member",
        item.project_key,
        item.project_name,
        item.track,
        item.summary,
        item.repo_url,
        item.timezone,
        "yes" if item.late else "no",
        item.created_at.isoformat(),
        "yes" if item.is_posted else "no",
    ]
    if history:
        cells += [item.ended_at.isoformat() if item.ended_at else "", item.end_reason]
    return [csv_safe(cell) for cell in cells]


def export_csv(rows: Iterable[ExportRow], *, history: bool) -> bytes:
    """UTF-8 CSV with a header row: current announcements, or every announcement ever made."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HISTORY_COLUMNS if history else CURRENT_COLUMNS)
    for row in rows:
        writer.writerow(_export_cells(row, history=history))
    return buffer.getvalue().encode("utf-8")
