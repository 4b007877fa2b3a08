"""Pure rules for week-one reminders: the schedule in the cohort's zone, due/late/skip, audiences, texts, retries."""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Literal

from bot.timezones import to_tzinfo

Audience = Literal["channel", "not_announced", "unmatched", "staff"]
Block = Literal["digest", "summary"]
RunState = Literal["pending", "sending", "sent", "skipped"]
DeliveryState = Literal["claimed", "sent", "failed", "retry"]
Track = Literal["frontend", "backend"]

PLACEHOLDERS = ("name", "project", "days_left", "channel", "waiting_counterparts")
# Only a DM has one reader, so only a DM can say "you": a channel post cannot fill {name}.
PERSONAL_PLACEHOLDERS = frozenset({"name", "project", "waiting_counterparts"})
DM_AUDIENCES: frozenset[Audience] = frozenset({"not_announced", "unmatched"})
AUDIENCE_LABELS: dict[Audience, str] = {
    "channel": "the channel",
    "not_announced": "learners who have not announced",
    "unmatched": "announced learners without a partner",
    "staff": "staff",
}

WEEK_ONE_DAYS = 7
# Week one is days 0-6; day 7 is the morning after, when the staff summary looks back on the whole week.
LAST_REMINDER_DAY = 7
# The recipient id of a post in a channel (the cohort channel, or the staff channel for the staff audience).
CHANNEL_RECIPIENT = 0
NAMES_SHOWN = 10
OTHER_TRACK: dict[Track, Track] = {"frontend": "backend", "backend": "frontend"}


@dataclass(frozen=True)
class Reminder:
    """One entry of content/reminders.yaml."""

    id: str
    day: int
    at: time
    audience: Audience
    message: str
    blocks: tuple[Block, ...] = ()

    @property
    def is_dm(self) -> bool:
        return self.audience in DM_AUDIENCES

    def days_left(self) -> int:
        """Calendar days of week one left on the reminder's day: day 5 says "2 days left"."""
        return max(0, WEEK_ONE_DAYS - self.day)


@dataclass(frozen=True)
class Scheduled:
    reminder: Reminder
    due_at: datetime  # aware, UTC


# --- schedule -----------------------------------------------------------------------------------------------


def due_at_utc(cohort_start: date, timezone: str, day: int, at: time) -> datetime:
    """The UTC instant of `at` o'clock on cohort day `day`, as a wall clock in the cohort's zone shows it.

    The arithmetic is on the local calendar date, then converted: 09:00 stays 09:00 on either side of a
    daylight-saving change. A wall time that does not exist (skipped by a spring-forward) lands one gap later,
    and an ambiguous one (repeated by a fall-back) means its first occurrence, as PEP 495 defines with fold=0.
    """
    zone = to_tzinfo(timezone)
    local = datetime.combine(cohort_start + timedelta(days=day), at, tzinfo=zone)
    return local.astimezone(UTC)


def schedule_week(reminders: Iterable[Reminder], cohort_start: date, timezone: str) -> list[Scheduled]:
    """Every reminder with its UTC instant, earliest first (ties keep the content file's order)."""
    scheduled = [Scheduled(r, due_at_utc(cohort_start, timezone, r.day, r.at)) for r in reminders]
    return sorted(scheduled, key=lambda item: item.due_at)


def local_time(instant: datetime, timezone: str) -> datetime:
    return instant.astimezone(to_tzinfo(timezone))


def is_new_cohort(previous_start: date, new_start: date) -> bool:
    """A start date a week or more away from the current one is the next cohort, not a correction.

    A correction (a day later, another zone) reschedules what has not been sent; a new cohort gets its own
    week, so everything is sent again.
    """
    return abs((new_start - previous_start).days) >= WEEK_ONE_DAYS


class Due(Enum):
    WAIT = "wait"
    SEND = "send"
    SKIP = "skip"


def due_decision(due_at: datetime, now: datetime, grace: timedelta) -> Due:
    """Not yet due; due or late by less than the grace window (send, no apology); too late (skip, tell staff)."""
    if now < due_at:
        return Due.WAIT
    if now - due_at < grace:
        return Due.SEND
    return Due.SKIP


def lateness_reason(due_at: datetime, now: datetime) -> str:
    hours = (now - due_at).total_seconds() / 3600
    return f"missed by {hours:.0f} h (Nexus was offline, paused or set up later)"


# --- templates ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateProblem:
    line_offset: int  # 0-based line within the template text
    message: str


def template_problems(template: str, audience: Audience) -> list[TemplateProblem]:
    """Unknown placeholders, formatting tricks and per-person placeholders where nobody in particular reads."""
    problems: list[TemplateProblem] = []
    for offset, line in enumerate(template.split("\n")):
        try:
            parsed = list(string.Formatter().parse(line))
        except ValueError as error:
            problems.append(TemplateProblem(offset, f"{error} (write {{{{ and }}}} for literal braces)"))
            continue
        for _, field_name, spec, conversion in parsed:
            if field_name is None:
                continue
            if field_name not in PLACEHOLDERS:
                known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
                problems.append(TemplateProblem(offset, f"unknown placeholder {{{field_name}}} (known: {known})"))
            elif spec or conversion:
                problems.append(TemplateProblem(offset, f"placeholder {{{field_name}}} takes no format or conversion"))
            elif field_name in PERSONAL_PLACEHOLDERS and audience not in DM_AUDIENCES:
                problems.append(
                    TemplateProblem(
                        offset,
                        f"placeholder {{{field_name}}} is per person; audience {audience} is not a DM to one learner",
                    )
                )
    return problems


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill a template that passed `template_problems`; missing values render as empty text."""
    return string.Formatter().vformat(template, (), _Defaulting(values))


class _Defaulting(dict[str, str]):
    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return ""


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def names_list(names: Sequence[str], shown: int = NAMES_SHOWN) -> str:
    """`ada, bob and 3 more`."""
    if not names:
        return "nobody"
    head = ", ".join(names[:shown])
    rest = len(names) - shown
    return f"{head} and {rest} more" if rest > 0 else head


# --- who is who ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnouncedLearner:
    user_id: int
    project_key: str
    project_name: str  # as announced: the title for their track, or the custom name they typed
    track: Track


def project_names(announced: Iterable[AnnouncedLearner], name: Callable[[str, str], str]) -> dict[str, str]:
    """Each announced project's one display name: `name(key, announced name)`, from the last announcement given
    for that key (so a custom project goes by its latest spelling, as on the board)."""
    return {learner.project_key: name(learner.project_key, learner.project_name) for learner in announced}


@dataclass(frozen=True)
class Roster:
    """Everything the audiences depend on, gathered once per run (current members only)."""

    names: Mapping[int, str]  # every non-bot member: id -> display name
    learners: frozenset[int]
    staff: frozenset[int]
    announced: Mapping[int, AnnouncedLearner]
    teamed: frozenset[int]
    opted_out: frozenset[int]
    # Project key -> the one name replies give it (not the per-track title); a key missing goes by its announced name.
    project_names: Mapping[str, str] = field(default_factory=dict)

    def name(self, user_id: int) -> str:
        return self.names.get(user_id, f"user {user_id}")

    def project(self, learner: AnnouncedLearner) -> str:
        return self.project_names.get(learner.project_key, learner.project_name)

    def waiting(self) -> list[AnnouncedLearner]:
        """Announced members without an active team, in a stable order."""
        found = [a for a in self.announced.values() if a.user_id in self.names and a.user_id not in self.teamed]
        return sorted(found, key=lambda a: (a.project_key, a.track, self.name(a.user_id).casefold(), a.user_id))


def plan_recipients(audience: Audience, roster: Roster, *, staff_channel: bool) -> list[int]:
    """Who gets this reminder now: user ids, or CHANNEL_RECIPIENT for one post in a channel."""
    if audience == "channel":
        return [CHANNEL_RECIPIENT]
    if audience == "staff":
        return [CHANNEL_RECIPIENT] if staff_channel else sorted(roster.staff)
    reachable = roster.learners - roster.opted_out
    if audience == "not_announced":
        return sorted(user for user in reachable if user not in roster.announced)
    return sorted(user for user in reachable if user in roster.announced and user not in roster.teamed)


def placeholder_values(
    reminder: Reminder, roster: Roster, user_id: int | None, *, channel_mention: str
) -> dict[str, str]:
    """Values for every placeholder; per-person ones describe `user_id` (None: a post nobody in particular reads)."""
    values = {"days_left": str(reminder.days_left()), "channel": channel_mention}
    if user_id is None:
        return values
    announced = roster.announced.get(user_id)
    values["name"] = roster.name(user_id)
    values["project"] = roster.project(announced) if announced else "your project"
    values["waiting_counterparts"] = waiting_counterparts(user_id, roster)
    return values


def waiting_counterparts(user_id: int, roster: Roster) -> str:
    """For an announced learner: who on the other track of their project is still looking. Otherwise, where
    people are waiting, so an undecided learner sees where a partner is ready."""
    mine = roster.announced.get(user_id)
    waiting = roster.waiting()
    if mine is None:
        projects = _waiting_by_project(waiting, roster)
        if not projects:
            return "Nobody is waiting for a partner yet: announce first and you will be first in line."
        parts = [f"{title} ({', '.join(sides)})" for title, sides in projects[:NAMES_SHOWN]]
        more = len(projects) - NAMES_SHOWN
        tail = f" and {more} more projects" if more > 0 else ""
        return "Learners waiting for a partner: " + "; ".join(parts) + tail + "."
    other = OTHER_TRACK[mine.track]
    counterparts = [
        roster.name(a.user_id)
        for a in waiting
        if a.project_key == mine.project_key and a.track == other and a.user_id != user_id
    ]
    if not counterparts:
        return (
            f"No {other} learner on {roster.project(mine)} is waiting right now; `/match find` keeps your place "
            "in line and tells you when one arrives."
        )
    noun = "learner is" if len(counterparts) == 1 else "learners are"
    return f"{len(counterparts)} {other} {noun} waiting on {roster.project(mine)}: {names_list(counterparts)}."


def _waiting_by_project(waiting: Sequence[AnnouncedLearner], roster: Roster) -> list[tuple[str, list[str]]]:
    counts: dict[str, dict[Track, int]] = {}
    titles: dict[str, str] = {}
    for learner in waiting:
        counts.setdefault(learner.project_key, {"frontend": 0, "backend": 0})[learner.track] += 1
        titles.setdefault(learner.project_key, roster.project(learner))
    ordered = sorted(counts, key=lambda key: (-sum(counts[key].values()), titles[key].casefold()))
    return [(titles[key], [f"{n} {track}" for track, n in sorted(counts[key].items()) if n]) for key in ordered]


# --- built-in blocks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestLine:
    project: str
    backend: tuple[str, ...]  # everyone on the track
    frontend: tuple[str, ...]
    backend_waiting: tuple[str, ...]  # of whom still without a partner
    frontend_waiting: tuple[str, ...]

    def text(self) -> str:
        def side(track: str, everyone: tuple[str, ...], waiting: tuple[str, ...]) -> str:
            if not everyone:
                return f"{track} 0"
            if not waiting:
                return f"{track} {len(everyone)} (all paired)"
            return f"{track} {len(everyone)} ({len(waiting)} waiting: {names_list(list(waiting), 5)})"

        sides = f"{side('backend', self.backend, self.backend_waiting)} · "
        sides += side("frontend", self.frontend, self.frontend_waiting)
        if self.backend_waiting and not self.frontend:
            sides += " → needs a frontend learner"
        elif self.frontend_waiting and not self.backend:
            sides += " → needs a backend learner"
        return f"**{self.project}** — {sides}"


def project_digest(roster: Roster) -> list[DigestLine]:
    """Every announced project with who is on each side and who is still waiting, busiest first."""
    by_project: dict[str, list[AnnouncedLearner]] = {}
    for learner in roster.announced.values():
        if learner.user_id in roster.names:
            by_project.setdefault(learner.project_key, []).append(learner)
    lines: list[DigestLine] = []
    for members in by_project.values():
        members.sort(key=lambda a: (roster.name(a.user_id).casefold(), a.user_id))
        names = {track: [a for a in members if a.track == track] for track in ("backend", "frontend")}
        lines.append(
            DigestLine(
                project=roster.project(members[0]),
                backend=tuple(roster.name(a.user_id) for a in names["backend"]),
                frontend=tuple(roster.name(a.user_id) for a in names["frontend"]),
                backend_waiting=tuple(
                    roster.name(a.user_id) for a in names["backend"] if a.user_id not in roster.teamed
                ),
                frontend_waiting=tuple(
                    roster.name(a.user_id) for a in names["frontend"] if a.user_id not in roster.teamed
                ),
            )
        )
    lines.sort(key=lambda line: (-(len(line.backend) + len(line.frontend)), line.project.casefold()))
    return lines


def digest_text(roster: Roster, limit: int) -> str:
    lines = project_digest(roster)
    if not lines:
        return "No project has been announced yet. Be the first: `/announce`."
    out: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        text = clip(line.text(), 400)
        tail = f"…and {len(lines) - index} more projects: `/projects` has them all."
        if size + len(text) + 1 > limit - len(tail) - 1:
            out.append(tail)
            break
        out.append(text)
        size += len(text) + 1
    return "\n".join(out)


@dataclass(frozen=True)
class DeliveryFailure:
    reminder_id: str
    recipient: int
    kind: str
    reason: str


@dataclass(frozen=True)
class SkippedRun:
    reminder_id: str
    due_at: datetime
    reason: str


@dataclass(frozen=True)
class SummarySection:
    title: str
    text: str


def staff_summary(
    roster: Roster, failures: Sequence[DeliveryFailure], skipped: Sequence[SkippedRun], limit: int
) -> list[SummarySection]:
    """Counts, who is still unannounced / unmatched, and what the reminders could not do."""
    learners = sorted(roster.learners, key=lambda user: (roster.name(user).casefold(), user))
    unannounced = [roster.name(user) for user in learners if user not in roster.announced]
    unmatched = [roster.name(user) for user in learners if user in roster.announced and user not in roster.teamed]
    teamed = sum(1 for user in learners if user in roster.teamed)
    announced = len(learners) - len(unannounced)
    counts = (
        f"Learners: **{len(learners)}** · announced: **{announced}** · in a team: **{teamed}** · "
        f"announced without a partner: **{len(unmatched)}** · not announced: **{len(unannounced)}** · "
        f"reminders off: **{len(roster.opted_out & roster.learners)}**"
    )
    failure_lines = [
        f"{roster.name(f.recipient) if f.recipient else 'channel post'} — {f.reason} (`{f.reminder_id}`)"
        for f in failures
    ]
    skipped_lines = [f"`{s.reminder_id}` — {s.reason}" for s in skipped]
    return [
        SummarySection("Week one in numbers", counts),
        SummarySection(f"Not announced yet ({len(unannounced)})", _lines_within(unannounced, limit, ", ")),
        SummarySection(f"Announced, no partner yet ({len(unmatched)})", _lines_within(unmatched, limit, ", ")),
        SummarySection(f"Could not deliver ({len(failure_lines)})", _lines_within(failure_lines, limit, "\n")),
        SummarySection(f"Skipped reminders ({len(skipped_lines)})", _lines_within(skipped_lines, limit, "\n")),
    ]


def _lines_within(items: Sequence[str], limit: int, separator: str) -> str:
    if not items:
        return "none"
    out: list[str] = []
    size = 0
    for index, item in enumerate(items):
        tail = f"{separator}…and {len(items) - index} more"
        if size + len(item) + len(separator) > limit - len(tail):
            return separator.join(out) + tail
        out.append(item)
        size += len(item) + len(separator)
    return separator.join(out)


def fallback_mentions(user_ids: Sequence[int], limit: int) -> tuple[str, list[int]]:
    """The channel's note for people a DM could not reach, and which of them fit within `limit` characters."""
    if not user_ids:
        return "", []
    head = "Could not reach by DM: "
    tail = (
        "\nTo get reminders, allow DMs from server members (server name ▸ Privacy Settings), "
        "or run `/reminders off` if you prefer not to."
    )
    listed: list[int] = []
    size = len(head) + len(tail) + 40
    for user in user_ids:
        mention = f"<@{user}>"
        if size + len(mention) + 1 > limit:
            break
        listed.append(user)
        size += len(mention) + 1
    more = len(user_ids) - len(listed)
    more_text = f" and {more} more (staff have the list)" if more else ""
    return head + " ".join(f"<@{user}>" for user in listed) + more_text + tail, listed


# --- delivery -----------------------------------------------------------------------------------------------


class FailureKind(Enum):
    TRANSIENT = "transient"
    CLOSED_DMS = "closed_dms"
    UNKNOWN_USER = "unknown_user"
    LEFT = "left"
    FORBIDDEN = "forbidden"
    GAVE_UP = "gave_up"
    OTHER = "other"


# Failures worth a mention in the channel: the person is still here but a DM could not reach them.
REACHABLE_IN_CHANNEL = frozenset({FailureKind.CLOSED_DMS.value, FailureKind.GAVE_UP.value})

CLOSED_DMS_CODE = 50007
UNKNOWN_USER_CODE = 10013
MISSING_ACCESS_CODES = frozenset({50001, 50013})
UNKNOWN_CHANNEL_CODE = 10003


def classify_failure(status: int, code: int) -> FailureKind:
    """Rate limits and server errors pass with time; everything else will fail the same way again."""
    if status == 429 or status >= 500:
        return FailureKind.TRANSIENT
    if code == CLOSED_DMS_CODE:
        return FailureKind.CLOSED_DMS
    if code == UNKNOWN_USER_CODE:
        return FailureKind.UNKNOWN_USER
    if status == 403 or code in MISSING_ACCESS_CODES or code == UNKNOWN_CHANNEL_CODE:
        return FailureKind.FORBIDDEN
    return FailureKind.OTHER


def failure_reason(kind: FailureKind, status: int = 0, code: int = 0) -> str:
    reasons = {
        FailureKind.CLOSED_DMS: "DMs closed",
        FailureKind.UNKNOWN_USER: "unknown user",
        FailureKind.LEFT: "left the server",
        FailureKind.FORBIDDEN: f"no permission to post there (HTTP {status}, code {code})",
        FailureKind.GAVE_UP: f"Discord kept failing (HTTP {status})",
        FailureKind.TRANSIENT: f"Discord failed (HTTP {status}), retrying",
        FailureKind.OTHER: f"Discord refused it (HTTP {status}, code {code})",
    }
    return reasons[kind]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for failures that pass with time (5xx, 429)."""

    max_attempts: int = 4
    first_delay_seconds: float = 30.0
    factor: float = 4.0
    max_delay_seconds: float = 900.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after `attempts` failed attempts; Discord's own retry-after wins when longer."""
        backoff = min(self.max_delay_seconds, self.first_delay_seconds * self.factor ** max(0, attempts - 1))
        return max(backoff, retry_after or 0.0)

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


# --- what staff see -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    """A week-one schedule: the one a program cohort (bot.cohorts) follows, `cohort_id` None before cohorts."""

    guild_id: int
    key: str
    cohort_start: date
    timezone: str
    cohort_id: int | None = None


@dataclass(frozen=True)
class ReminderRun:
    guild_id: int
    cohort_key: str
    reminder_id: str
    due_at: datetime
    state: RunState
    reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    total: int = 0
    progress_message_id: int | None = None


@dataclass(frozen=True)
class Delivery:
    recipient: int
    nonce: str
    state: DeliveryState
    attempts: int = 0
    reason: str | None = None
    kind: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class RunProgress:
    done: int  # sent or permanently failed
    failed: int
    total: int


def run_status(run: ReminderRun, progress: RunProgress, *, paused: bool) -> str:
    """pending / paused / sending n/m / sent / skipped, with the detail staff need."""
    if run.state == "sent":
        return f"sent, {progress.failed} not delivered" if progress.failed else "sent"
    if run.state == "skipped":
        return f"skipped ({run.reason})" if run.reason else "skipped"
    if run.state == "sending":
        text = f"sending {progress.done}/{max(progress.total, progress.done)}"
        return f"paused while {text}" if paused else text
    return "paused" if paused else "pending"


def progress_every(total: int) -> int:
    """How often a progress message is edited: about twenty times per run, never more than once per DM."""
    return max(1, math.ceil(total / 20))


def audience_text(reminder: Reminder, recipients: Sequence[int]) -> str:
    """`learners who have not announced: 12`, or where the single post goes."""
    if list(recipients) == [CHANNEL_RECIPIENT]:
        return "staff channel" if reminder.audience == "staff" else "the channel"
    return f"{AUDIENCE_LABELS[reminder.audience]}: {len(recipients)}"


def schedule_line(scheduled: Scheduled, timezone: str, audience: str, status: str) -> str:
    """One line of /reminders schedule: local and UTC time, audience size now, state."""
    local = local_time(scheduled.due_at, timezone).strftime("%a %d %b %H:%M")
    utc = scheduled.due_at.strftime("%d %b %H:%M UTC")
    return (
        f"`{scheduled.reminder.id}` · day {scheduled.reminder.day} · {local} {timezone} ({utc}) · "
        f"{audience} · **{status}**"
    )
