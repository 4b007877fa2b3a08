"""Operations: the numbers behind /nexus stats and the hourly stats log line, and how they are worded."""

from __future__ import annotations

import math
from dataclasses import dataclass
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
class RuntimeStats:
    uptime_seconds: float
    latency_seconds: float | None


@dataclass(frozen=True)
class BackupReport:
    source: Path
    target: Path
    schema_version: int
    size_bytes: int


def project_label(project_key: str, project_name: str) -> str:
    """Official projects by their key (one name for both tracks); custom ones by the name a learner typed."""
    if project_key.startswith(CUSTOM_PREFIX):
        return f"{project_name} (custom)"
    return project_key


def format_duration(seconds: float) -> str:
    """The two largest units: `45 s`, `12 min 5 s`, `3 h 20 min`, `2 d 4 h`."""
    remaining = max(0, int(seconds))
    parts: list[str] = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        value, remaining = divmod(remaining, size)
        if value or parts:
            parts.append(f"{value} {unit}")
    return " ".join(parts[:2]) or "0 s"


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
