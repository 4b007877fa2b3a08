"""Operations: the numbers behind /nexus stats and the hourly stats log line, and how they are worded."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

CUSTOM_PREFIX = "custom:"


@dataclass(frozen=True)
class ProjectCount:
    """Current announcements for one project, per track."""

    project_key: str
    label: str
    frontend: int
    backend: int

    @property
    def total(self) -> int:
        return self.frontend + self.backend


@dataclass(frozen=True)
class GuildStats:
    """One guild's numbers. None means that feature's tables are not in this database (not deployed yet)."""

    guild_id: int
    learners: int
    projects: tuple[ProjectCount, ...]
    waiting: int
    pending_proposals: int
    paired: int
    teams: int
    reminders_sent: int | None
    reminders_failed: int | None
    knowledge_lookups: int | None
    knowledge_misses: int | None

    @property
    def announced(self) -> int:
        return sum(project.total for project in self.projects)

    def track_totals(self) -> tuple[int, int]:
        """(frontend, backend) across projects."""
        return sum(p.frontend for p in self.projects), sum(p.backend for p in self.projects)


@dataclass(frozen=True)
class Funnel:
    """How far people got in matching. Each stage counts everyone who reached it, so the numbers only go down."""

    announced: int
    looking: int  # in matching: waiting, proposed or paired
    proposed: int  # a proposal pending, or already paired
    paired: int

    def stages(self) -> tuple[tuple[str, int], ...]:
        return (
            ("announced", self.announced),
            ("looking", self.looking),
            ("proposed", self.proposed),
            ("paired", self.paired),
        )


def matching_funnel(stats: GuildStats) -> Funnel:
    # A pending proposal holds two people; a paired learner went through a proposal (or a staff pairing).
    paired = stats.paired
    proposed = paired + 2 * stats.pending_proposals
    looking = proposed + stats.waiting
    return Funnel(announced=max(stats.announced, looking), looking=looking, proposed=proposed, paired=paired)


@dataclass(frozen=True)
class WeekOne:
    """Announcements made on each day of the cohort's week one (learners announcing that day, in its timezone)."""

    start: date
    per_day: tuple[int, ...]

    def days(self) -> tuple[date, ...]:
        return tuple(self.start + timedelta(days=offset) for offset in range(len(self.per_day)))

    def running_totals(self) -> tuple[int, ...]:
        totals: list[int] = []
        for count in self.per_day:
            totals.append((totals[-1] if totals else 0) + count)
        return tuple(totals)


def week_one_per_day(announced: Iterable[tuple[int, datetime]], start: date, zone: tzinfo, days: int = 7) -> WeekOne:
    """Count each learner once per local day on which they announced, over `days` days from `start`."""
    seen: set[tuple[int, int]] = set()
    counts = [0] * days
    for user_id, instant in announced:
        offset = (instant.astimezone(zone).date() - start).days
        if 0 <= offset < days and (user_id, offset) not in seen:
            seen.add((user_id, offset))
            counts[offset] += 1
    return WeekOne(start=start, per_day=tuple(counts))


@dataclass(frozen=True)
class StatsReport:
    """Everything /nexus stats shows, read once: the text, the chart and its alt text are all formatted from it."""

    stats: GuildStats
    week_one: WeekOne | None  # None until the server is set up (no cohort start yet)

    @property
    def funnel(self) -> Funnel:
        return matching_funnel(self.stats)


@dataclass(frozen=True)
class RuntimeStats:
    uptime_seconds: float
    latency_seconds: float | None


@dataclass(frozen=True)
class BackupReport:
    source: Path
    target: Path
    schema_version: int
    size_bytes: int


def plural(count: int | None, singular: str, plural_form: str | None = None) -> str:
    """`1 team`, `2 teams`, `n/a teams` when the feature is not deployed."""
    if count is None:
        return f"n/a {plural_form or singular + 's'}"
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


def project_label(project_key: str, project_name: str) -> str:
    """Official projects by their key (one name for both tracks); custom ones by the name a learner typed."""
    if project_key.startswith(CUSTOM_PREFIX):
        return f"{project_name} (custom)"
    return project_key


def format_duration(seconds: float) -> str:
    """Coarse, as people say it: `less than a minute`, `12 min`, `3 h 20 min`, `2 d 4 h`."""
    remaining = max(0, int(seconds))
    if remaining < 60:
        return "less than a minute"
    parts: list[str] = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        value, remaining = divmod(remaining, size)
        if value or parts:
            parts.append(f"{value} {unit}")
    return " ".join(parts[:2])


def format_latency(latency_seconds: float | None) -> str:
    if latency_seconds is None or not math.isfinite(latency_seconds):
        return "n/a"
    return f"{latency_seconds * 1000:.0f} ms"


def format_count(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def project_lines(projects: tuple[ProjectCount, ...], limit: int = 1024) -> str:
    """`ecommerce — 3 frontend, 2 backend` per project, busiest first, cut to fit one embed field."""
    if not projects:
        return "No announcements yet."
    ordered = sorted(projects, key=lambda p: (-p.total, p.label.casefold()))
    lines: list[str] = []
    size = 0
    for index, project in enumerate(ordered):
        line = f"{project.label} — {project.frontend} frontend, {project.backend} backend"
        more = f"… and {len(ordered) - index} more"
        if size + len(line) + 1 + len(more) > limit:
            lines.append(more)
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def with_project_names(stats: GuildStats, names: Mapping[str, str]) -> GuildStats:
    """The same counts with official projects labelled by their display name instead of their key."""
    projects = tuple(replace(p, label=names.get(p.project_key, p.label)) for p in stats.projects)
    return replace(stats, projects=projects)


def has_missing_features(stats: GuildStats) -> bool:
    optional = (stats.reminders_sent, stats.reminders_failed, stats.knowledge_lookups, stats.knowledge_misses)
    return any(value is None for value in optional)


def week_one_line(week: WeekOne | None, cohort: int) -> str:
    """`Mon 05: 2 · Tue 06: 1 · …`, then how many of the cohort have announced in week one."""
    if week is None:
        return "Not set up yet: `/nexus setup` sets the cohort start."
    days = " · ".join(f"{day:%a %d}: {count}" for day, count in zip(week.days(), week.per_day, strict=True))
    return f"{days}\n{week.running_totals()[-1]} of {plural(cohort, 'learner')} announced during week one"


def funnel_line(funnel: Funnel) -> str:
    return " → ".join(f"{value} {name}" for name, value in funnel.stages())


def chart_description(report: StatsReport, limit: int = 1024) -> str:
    """The chart's alt text: every number it draws, in words, for people who cannot see the picture."""
    stats = report.stats
    parts: list[str] = []
    if report.week_one is not None:
        week = report.week_one
        per_day = ", ".join(str(count) for count in week.per_day)
        parts.append(
            f"Week one from {week.start:%d %b %Y}, announcements per day: {per_day} "
            f"({week.running_totals()[-1]} in all; cohort size {stats.learners})."
        )
    parts.append(f"Matching funnel: {', '.join(f'{value} {name}' for name, value in report.funnel.stages())}.")
    # Projects last: a long custom list is what gets cut, never the totals.
    ordered = sorted(stats.projects, key=lambda p: (-p.total, p.label.casefold()))
    if ordered:
        per_project = "; ".join(f"{p.label} {p.frontend} frontend, {p.backend} backend" for p in ordered)
        parts.append(f"Per project: {per_project}.")
    text = " ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stats_log_line(stats: GuildStats, runtime: RuntimeStats) -> str:
    """The same numbers as /nexus stats as one `key=value` line for log search (no names, no free text)."""
    frontend, backend = stats.track_totals()
    # Custom project names are typed by learners: the log gets their count, never the text.
    official = sorted(
        (p for p in stats.projects if not p.project_key.startswith(CUSTOM_PREFIX)), key=lambda p: p.project_key
    )
    custom = [p for p in stats.projects if p.project_key.startswith(CUSTOM_PREFIX)]
    by_project = [f"{p.project_key}:{p.frontend}/{p.backend}" for p in official]
    if custom:
        by_project.append(f"custom:{sum(p.frontend for p in custom)}/{sum(p.backend for p in custom)}")
    fields = {
        "guild": str(stats.guild_id),
        "learners": str(stats.learners),
        "announced": str(stats.announced),
        "frontend": str(frontend),
        "backend": str(backend),
        "projects": ",".join(by_project) or "-",
        "waiting": str(stats.waiting),
        "pending_proposals": str(stats.pending_proposals),
        "paired": str(stats.paired),
        "teams": str(stats.teams),
        "reminders_sent": format_count(stats.reminders_sent),
        "reminders_failed": format_count(stats.reminders_failed),
        "knowledge_lookups": format_count(stats.knowledge_lookups),
        "knowledge_misses": format_count(stats.knowledge_misses),
        "uptime_s": str(int(runtime.uptime_seconds)),
        "latency_ms": "n/a"
        if runtime.latency_seconds is None or not math.isfinite(runtime.latency_seconds)
        else f"{runtime.latency_seconds * 1000:.0f}",
    }
    return " ".join(f"{key}={value}" for key, value in fields.items())
