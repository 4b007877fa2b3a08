"""Pure partner-matching rules: who is proposed to whom, what each answer or expiry does, and leftover teams."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.errors import InvalidInput, NotFound, UserError
from bot.timezones import to_tzinfo

Track = Literal["frontend", "backend"]
Answer = Literal["accepted", "declined"]
ProposalState = Literal["pending", "accepted", "declined", "expired", "withdrawn"]
PoolState = Literal["waiting", "proposed"]
BlockReason = Literal["declined", "unpaired", "partnered", "expired"]

TRACKS: tuple[Track, Track] = ("frontend", "backend")
# Within this many hours of each other, two learners share enough of a working day to be preferred.
TIMEZONE_WINDOW = timedelta(hours=3)
MAX_TEAM_SIZE = 3
EXPIRY_GRACE = timedelta(seconds=1)
MAX_POINTERS = 3
DAY = timedelta(hours=24)


def other_track(track: Track) -> Track:
    return "backend" if track == "frontend" else "frontend"


def pair_key(first: int, second: int) -> tuple[int, int]:
    """The (low, high) order pair_blocks stores a pair in."""
    return (first, second) if first < second else (second, first)


def project_label(project_key: str, announced_name: str | None = None) -> str:
    """A track-neutral name for a project: 'Job Board' for `job-board`, the typed name for a custom one."""
    if project_key.startswith("custom:"):
        return announced_name or project_key.removeprefix("custom:")
    words = project_key.replace("_", "-").split("-")
    return " ".join(word[:1].upper() + word[1:] for word in words if word) or project_key


@dataclass(frozen=True)
class Choice:
    """A learner's current announcement, as matching needs it."""

    guild_id: int
    user_id: int
    project_key: str
    project_name: str
    track: Track
    timezone: str | None = None
    repo_url: str | None = None
    display_name: str = ""
    left: bool = False

    @property
    def name(self) -> str:
        return self.display_name or f"learner {self.user_id}"


@dataclass(frozen=True)
class PoolEntry:
    guild_id: int
    user_id: int
    project_key: str
    track: Track
    timezone: str | None
    queued_at: datetime
    state: PoolState = "waiting"


@dataclass(frozen=True)
class Candidate:
    """A waiting learner of the other track, with the facts the rules need to skip or prefer them."""

    user_id: int
    track: Track
    timezone: str | None
    queued_at: datetime
    blocked: bool = False  # this pair declined, unpaired or was partnered before
    gone: bool = False  # left the guild, withdrew, or changed project/track since queueing


@dataclass(frozen=True)
class Proposal:
    id: int
    guild_id: int
    project_key: str
    frontend_id: int
    backend_id: int
    frontend_answer: Answer | None
    backend_answer: Answer | None
    state: ProposalState
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None = None

    @property
    def members(self) -> tuple[int, int]:
        return (self.frontend_id, self.backend_id)

    def track_of(self, user_id: int) -> Track:
        if user_id == self.frontend_id:
            return "frontend"
        if user_id == self.backend_id:
            return "backend"
        raise NotFound("This proposal is for someone else.")

    def other(self, user_id: int) -> int:
        return self.backend_id if self.track_of(user_id) == "frontend" else self.frontend_id

    def answer_of(self, user_id: int) -> Answer | None:
        return self.frontend_answer if self.track_of(user_id) == "frontend" else self.backend_answer

    def is_due(self, now: datetime) -> bool:
        # A timer may wake a moment early; a second's grace keeps that from skipping the expiry.
        return self.state == "pending" and now + EXPIRY_GRACE >= self.expires_at


@dataclass(frozen=True)
class TeamMember:
    user_id: int
    track: Track
    joined_at: datetime


@dataclass(frozen=True)
class Team:
    id: int
    guild_id: int
    project_key: str
    thread_id: int | None
    proposal_id: int | None
    created_by: int | None
    created_at: datetime
    members: tuple[TeamMember, ...] = ()
    ended_at: datetime | None = None

    @property
    def member_ids(self) -> tuple[int, ...]:
        return tuple(member.user_id for member in self.members)

    def others(self, user_id: int) -> tuple[TeamMember, ...]:
        return tuple(member for member in self.members if member.user_id != user_id)


@dataclass(frozen=True)
class LineStats:
    """Where a waiting learner stands: their place among their own track, and who waits on each track."""

    project_key: str
    track: Track
    position: int
    frontend_waiting: int
    backend_waiting: int
    counterparts_skipped: int = 0  # waiting on the other track, but already met (declined, unpaired, partnered)

    def waiting_on(self, track: Track) -> int:
        return self.frontend_waiting if track == "frontend" else self.backend_waiting


# --------------------------------------------------------------------------------------------- timezones


def utc_offset(label: str | None, now: datetime) -> timedelta | None:
    """The zone's offset from UTC at `now` (daylight saving included); None when unknown."""
    if not label:
        return None
    try:
        zone = to_tzinfo(label)
    except UserError:
        return None
    return now.astimezone(zone).utcoffset()


def timezone_gap(first: str | None, second: str | None, now: datetime) -> timedelta | None:
    """Distance between two zones' clocks, going round the day (UTC+14 and UTC-12 are 2 hours apart)."""
    a, b = utc_offset(first, now), utc_offset(second, now)
    return None if a is None or b is None else clock_gap(a, b)


def clock_gap(first: timedelta, second: timedelta) -> timedelta:
    gap = abs(first - second) % DAY
    return min(gap, DAY - gap)


def timezones_close(first: str | None, second: str | None, now: datetime) -> bool:
    gap = timezone_gap(first, second, now)
    return gap is not None and gap <= TIMEZONE_WINDOW


# --------------------------------------------------------------------------------------------- proposing


def is_eligible(seeker: PoolEntry, candidate: Candidate) -> bool:
    """Never the same person, never the same track, never a pair that met before, never someone gone."""
    return (
        candidate.user_id != seeker.user_id
        and candidate.track != seeker.track
        and not candidate.blocked
        and not candidate.gone
    )


class CounterpartSearch:
    """The earliest eligible counterpart within the timezone window, else the earliest eligible overall.

    Candidates are offered in line order (queued_at, then user id), possibly page by page, so storage can stop
    reading the line as soon as the answer is final.
    """

    def __init__(self, seeker: PoolEntry, now: datetime) -> None:
        self.seeker = seeker
        self.now = now
        self.earliest: Candidate | None = None
        self.preferred: Candidate | None = None
        self.skipped = 0
        self._offsets: dict[str | None, timedelta | None] = {}
        # With no usable timezone of our own there is nothing to prefer: the earliest is the answer.
        self._own = self._offset(seeker.timezone)

    @property
    def done(self) -> bool:
        return self.preferred is not None or (self.earliest is not None and self._own is None)

    def _offset(self, label: str | None) -> timedelta | None:
        # A line holds a handful of distinct zones; work each offset out once per search.
        if label not in self._offsets:
            self._offsets[label] = utc_offset(label, self.now)
        return self._offsets[label]

    def _close(self, label: str | None) -> bool:
        theirs = self._offset(label)
        if self._own is None or theirs is None:
            return False
        return clock_gap(self._own, theirs) <= TIMEZONE_WINDOW

    def offer(self, candidates: Iterable[Candidate]) -> bool:
        """Consider the next candidates in line; True once the choice can no longer change."""
        for candidate in candidates:
            if self.done:
                break
            if not is_eligible(self.seeker, candidate):
                if candidate.blocked and candidate.track != self.seeker.track:
                    self.skipped += 1
                continue
            if self.earliest is None:
                self.earliest = candidate
            if self._close(candidate.timezone):
                self.preferred = candidate
        return self.done

    @property
    def choice(self) -> Candidate | None:
        return self.preferred or self.earliest


def require_choice(choice: Choice | None) -> Choice:
    if choice is None:
        raise NotFound(
            "You haven't announced a project yet. Run `/announce` with your project and track first, "
            "then `/match find`."
        )
    return choice


def proposal_expiry(now: datetime, ttl_hours: float) -> datetime:
    return now + timedelta(hours=ttl_hours)


# As week one runs out, a proposal nobody answers must not hold its learners for two of the days that are left:
# its expiry shrinks to a share of the time remaining, but never below what a learner who sleeps needs to see it.
EXPIRY_SHARE_OF_WEEK_LEFT = 1 / 3
MIN_PROPOSAL_TTL_HOURS = 8.0


def proposal_ttl_hours(now: datetime, week_ends: datetime | None, ttl_hours: float) -> float:
    """How long a proposal made `now` stays open: the configured time, shortened as the week runs out."""
    if week_ends is None or now >= week_ends:
        return ttl_hours  # no cohort week set, or past it: matching goes at its usual pace
    left = (week_ends - now).total_seconds() / 3600
    return min(ttl_hours, max(MIN_PROPOSAL_TTL_HOURS, left * EXPIRY_SHARE_OF_WEEK_LEFT))


# --------------------------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Settlement:
    """What happens to a proposal and its two learners after an answer, expiry or withdrawal."""

    state: ProposalState
    frontend_answer: Answer | None
    backend_answer: Answer | None
    requeue: tuple[int, ...] = ()  # back to the pool at their original place (the front of the line)
    leave: tuple[int, ...] = ()  # out of the pool
    partnered: bool = False
    block: BlockReason | None = None


def settle_answer(proposal: Proposal, user_id: int, answer: Answer, *, leave_pool: bool = False) -> Settlement:
    """Record one learner's answer. Both accepting makes partners; a decline requeues the other learner."""
    if proposal.state != "pending":
        raise InvalidInput("This proposal is no longer open.")
    track = proposal.track_of(user_id)
    other = proposal.other(user_id)
    frontend = answer if track == "frontend" else proposal.frontend_answer
    backend = answer if track == "backend" else proposal.backend_answer
    if answer == "declined":
        stays = () if leave_pool else (user_id,)
        return Settlement(
            state="declined",
            frontend_answer=frontend,
            backend_answer=backend,
            # The learner who was turned down goes first: they did nothing wrong.
            requeue=(other, *stays),
            leave=(user_id,) if leave_pool else (),
            block="declined",
        )
    if frontend == "accepted" and backend == "accepted":
        return Settlement(
            state="accepted",
            frontend_answer=frontend,
            backend_answer=backend,
            leave=proposal.members,
            partnered=True,
            block="partnered",
        )
    return Settlement(state="pending", frontend_answer=frontend, backend_answer=backend)


def settle_expiry(proposal: Proposal) -> Settlement:
    """Whoever accepted goes back to the front; whoever did not answer leaves the pool."""
    requeue = tuple(user for user in proposal.members if proposal.answer_of(user) == "accepted")
    leave = tuple(user for user in proposal.members if proposal.answer_of(user) != "accepted")
    return Settlement(
        state="expired",
        frontend_answer=proposal.frontend_answer,
        backend_answer=proposal.backend_answer,
        requeue=requeue,
        leave=leave,
    )


def settle_withdrawal(proposal: Proposal, user_id: int) -> Settlement:
    """The learner pulls out (/match leave, withdrew, left the server): the other goes back to the front.

    Pulling out counts as declining this partner, so the pair is never proposed again: otherwise a
    `/match find` + `/match leave` loop would make the bot DM the same person over and over.
    """
    return Settlement(
        state="withdrawn",
        frontend_answer=proposal.frontend_answer,
        backend_answer=proposal.backend_answer,
        requeue=(proposal.other(user_id),),
        leave=(user_id,),
        block="declined",
    )


@dataclass(frozen=True)
class TeamChange:
    leaver: int
    remaining: tuple[TeamMember, ...]
    ends: bool


def team_after_leaving(team: Team, user_id: int) -> TeamChange:
    """A team survives a departure only while it still has someone on each track."""
    if user_id not in team.member_ids:
        raise NotFound("You are not in that team.")
    remaining = team.others(user_id)
    tracks = {member.track for member in remaining}
    return TeamChange(leaver=user_id, remaining=remaining, ends=len(tracks) < len(TRACKS))


def check_manual_pair(
    first: Choice | None,
    second: Choice | None,
    *,
    first_team: Team | None,
    second_team: Team | None,
    block: BlockReason | None,
    names: Callable[[str, str], str] = lambda key, name: name,
) -> None:
    """Staff pairing skips consent, not the rules that keep pairs sensible.

    `names(key, typed name)` gives a project's display name (bot.projects.ProjectNames).
    """
    if first is None or second is None:
        who = "The first learner" if first is None else "The second learner"
        raise InvalidInput(f"{who} has no current project announcement, so there is nothing to pair on.")
    if first.user_id == second.user_id:
        raise InvalidInput("Pick two different learners.")
    if first.track == second.track:
        raise InvalidInput(f"Both learners are on the {first.track} track; a pair needs one of each.")
    if first.project_key != second.project_key:
        raise InvalidInput(
            f"They are on different projects ({names(first.project_key, first.project_name)} and"
            f" {names(second.project_key, second.project_name)}); a pair shares one."
        )
    for choice, team in ((first, first_team), (second, second_team)):
        if team is not None:
            raise InvalidInput(f"{choice.name} already has a partner; they need `/match unpair` first.")
    if block in ("declined", "unpaired"):
        raise InvalidInput(f"{first.name} and {second.name} {block} each other before; Nexus won't pair them again.")


# --------------------------------------------------------------------------------------------- leftovers


@dataclass(frozen=True)
class TeamJoin:
    user_id: int
    team_id: int
    track: Track


@dataclass(frozen=True)
class ProjectPointer:
    project_key: str
    waiting: int  # learners of the pointed-to learner's other track waiting there


@dataclass(frozen=True)
class AloneLearner:
    user_id: int
    project_key: str
    track: Track
    pointers: tuple[ProjectPointer, ...] = ()
    # Other projects whose teams have room for them as a third member (`waiting`: how many such teams).
    seats: tuple[ProjectPointer, ...] = ()
    queued_at: datetime | None = None


@dataclass(frozen=True)
class LeftoverPlan:
    joins: tuple[TeamJoin, ...] = ()
    alone: tuple[AloneLearner, ...] = ()


@dataclass
class _TeamSlot:
    team: Team
    members: list[TeamMember] = field(default_factory=list)


def _blocked(blocked: Set[tuple[int, int]], first: int, second: int) -> bool:
    return pair_key(first, second) in blocked


def plan_leftovers(
    pool: Sequence[PoolEntry],
    teams: Sequence[Team],
    blocked: Set[tuple[int, int]],
    timezones: Mapping[int, str | None],
    now: datetime,
    queued_by: datetime | None = None,
) -> LeftoverPlan:
    """Seat each learner who has nobody left to pair with as a third member of a team on their project.

    A leftover is a waiting learner with no eligible waiting counterpart on their project. Leftovers are seated
    first come, first served, in the earliest-formed team with room whose other-track member is in a close
    timezone, else the earliest-formed team with room; never more than three to a team, never with someone they
    met before. Anyone still alone is pointed to projects where learners of their other track are waiting, and to
    other projects with a team that has room for them. With `queued_by` (the automatic runs), only leftovers in
    line since then or earlier are seated or reported, and before the seat day (`queued_by` earlier than `now`)
    only those of the track with the longer line (early_tracks).
    """
    waiting = sorted((entry for entry in pool if entry.state == "waiting"), key=lambda e: (e.queued_at, e.user_id))
    by_project: dict[str, list[PoolEntry]] = defaultdict(list)
    for entry in waiting:
        by_project[entry.project_key].append(entry)

    def has_counterpart(entry: PoolEntry) -> bool:
        return any(
            other.track != entry.track and not _blocked(blocked, entry.user_id, other.user_id)
            for other in by_project[entry.project_key]
        )

    seated_tracks = early_tracks(waiting) if queued_by is not None and queued_by < now else set(TRACKS)
    leftovers = [
        entry
        for entry in waiting
        if not has_counterpart(entry)
        and (queued_by is None or entry.queued_at <= queued_by)
        and entry.track in seated_tracks
    ]
    slots: dict[str, list[_TeamSlot]] = defaultdict(list)
    for team in sorted(teams, key=lambda t: (t.created_at, t.id)):
        slots[team.project_key].append(_TeamSlot(team, list(team.members)))

    joins: list[TeamJoin] = []
    seated: set[int] = set()
    for entry in leftovers:
        open_slots = [slot for slot in slots[entry.project_key] if _has_room(slot, entry, blocked)]
        if not open_slots:
            continue
        preferred = [
            slot
            for slot in open_slots
            if any(
                member.track != entry.track and timezones_close(entry.timezone, timezones.get(member.user_id), now)
                for member in slot.members
            )
        ]
        slot = (preferred or open_slots)[0]
        slot.members.append(TeamMember(entry.user_id, entry.track, now))
        joins.append(TeamJoin(entry.user_id, slot.team.id, entry.track))
        seated.add(entry.user_id)

    still_waiting = Counter((entry.project_key, entry.track) for entry in waiting if entry.user_id not in seated)
    alone: list[AloneLearner] = []
    for entry in leftovers:
        if entry.user_id in seated:
            continue
        wanted = other_track(entry.track)
        pointers = sorted(
            (
                ProjectPointer(project, count)
                for (project, track), count in still_waiting.items()
                if track == wanted and project != entry.project_key and count > 0
            ),
            key=lambda pointer: (-pointer.waiting, pointer.project_key),
        )
        seats = open_seats(entry, slots, blocked)
        pointed = tuple(pointers[:MAX_POINTERS])
        alone.append(AloneLearner(entry.user_id, entry.project_key, entry.track, pointed, seats, entry.queued_at))
    return LeftoverPlan(joins=tuple(joins), alone=tuple(alone))


# Measured with bench/outcomes.py: at 1:1 the waiting lines stay close and nobody is seated early; at 2:1 and 3:1
# the backend line is soon twice the frontend one.
EARLY_LINE_RATIO = 2.0


def early_tracks(waiting: Sequence[PoolEntry]) -> set[Track]:
    """The tracks seated early: one with at least EARLY_LINE_RATIO times as many learners waiting across the cohort
    as the other (none when the lines are close).

    A learner of the scarcer track who waits is worth more founding a team of their own when a counterpart comes
    than as a third member: early seating of them would use up the seats the longer line needs. When the lines are
    close, a counterpart is likely to come, and seating early would only turn pairs into trios.
    """
    counts = Counter(entry.track for entry in waiting)
    return {track for track in TRACKS if counts[track] >= EARLY_LINE_RATIO * counts[other_track(track)]}


def _has_room(slot: _TeamSlot, entry: PoolEntry, blocked: Set[tuple[int, int]]) -> bool:
    return (
        len(slot.members) < MAX_TEAM_SIZE
        and any(member.track != entry.track for member in slot.members)
        and not any(_blocked(blocked, entry.user_id, member.user_id) for member in slot.members)
    )


def open_seats(
    entry: PoolEntry, slots: Mapping[str, Sequence[_TeamSlot]], blocked: Set[tuple[int, int]]
) -> tuple[ProjectPointer, ...]:
    """Other projects with a team that could take this learner as a third member, most room first.

    A learner whose own project has no counterpart and no room is not left with nothing to do: switching
    project (`/announce`, then `/match find`) seats them at the next run.
    """
    counts = Counter(
        project
        for project, project_slots in slots.items()
        if project != entry.project_key
        for slot in project_slots
        if _has_room(slot, entry, blocked)
    )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(ProjectPointer(project, count) for project, count in ranked[:MAX_POINTERS])


# Nexus seats leftovers itself during week one, every AUTO_SEAT_EVERY: from `auto_seat_day` on, everyone left over;
# before it, only those who have waited `seat_after_hours` (early in the week a counterpart may still come, but a
# learner who has waited half a day on a lopsided project is better off in a trio than in line).
AUTO_SEAT_EVERY = timedelta(hours=3)


def auto_seat_times(week_starts: datetime, week_ends: datetime) -> tuple[datetime, ...]:
    """Every automatic seating run of a cohort's week one."""
    count = int((week_ends - week_starts) / AUTO_SEAT_EVERY)
    return tuple(week_starts + AUTO_SEAT_EVERY * (number + 1) for number in range(count - 1))


def next_auto_seat(now: datetime, week_starts: datetime, week_ends: datetime) -> datetime | None:
    """The next automatic seating still to come (one already due within EXPIRY_GRACE counts), or None."""
    return next((moment for moment in auto_seat_times(week_starts, week_ends) if moment > now - EXPIRY_GRACE), None)


def tells_alone(now: datetime, week_starts: datetime, seat_day: float | None) -> bool:
    """Whether the automatic run at `now` tells every learner still alone where they stand: the first run from the
    seat day on."""
    if seat_day is None:
        return False
    due = week_starts + timedelta(days=seat_day)
    return now - AUTO_SEAT_EVERY < due <= now + EXPIRY_GRACE


def alone_to_tell(
    alone: Sequence[AloneLearner],
    now: datetime,
    week_starts: datetime,
    seat_day: float | None,
    seat_after_hours: float | None,
) -> tuple[AloneLearner, ...]:
    """Whom an automatic run tells that they are still alone, and what is open to them: everyone at the first run
    from the seat day on; otherwise those the run considers for the first time (their wait crossed the cut-off
    since the run before), so runs every AUTO_SEAT_EVERY never repeat the same DM."""
    if tells_alone(now, week_starts, seat_day):
        return tuple(alone)
    before = seat_cutoff(now - AUTO_SEAT_EVERY, week_starts, seat_day, seat_after_hours)
    return tuple(
        learner for learner in alone if learner.queued_at is not None and (before is None or learner.queued_at > before)
    )


def seat_cutoff(
    now: datetime, week_starts: datetime, seat_day: float | None, seat_after_hours: float | None
) -> datetime | None:
    """Leftovers in line since this moment or earlier are seated by the run at `now`; None: nobody yet.

    None for either setting turns that half of the rule off.
    """
    if seat_day is not None and now >= week_starts + timedelta(days=seat_day):
        return now
    if seat_after_hours is not None:
        return now - timedelta(hours=seat_after_hours)
    return None


# --------------------------------------------------------------------------------------------- results


FindKind = Literal["proposed", "waiting", "already_proposed", "partnered"]


@dataclass(frozen=True)
class FindResult:
    """What `/match find` did: proposed a pair, put the learner in line, or found them already busy."""

    kind: FindKind
    choice: Choice
    proposal: Proposal | None = None
    partner: Choice | None = None
    line: LineStats | None = None
    team: Team | None = None
    rejoined: bool = False  # they were already waiting; their place is unchanged


@dataclass(frozen=True)
class ProposalUpdate:
    """A proposal after an answer, expiry or withdrawal, and everything that followed from it."""

    proposal: Proposal
    settlement: Settlement
    team: Team | None = None
    new_proposals: tuple[Proposal, ...] = ()  # requeued learners proposed again at once


@dataclass(frozen=True)
class Departure:
    """A learner leaving the pool, a proposal or a team (/match leave, unpair, withdrawal, leaving the server)."""

    user_id: int
    was_waiting: bool = False
    withdrawn: tuple[ProposalUpdate, ...] = ()
    team: Team | None = None
    team_change: TeamChange | None = None

    @property
    def new_proposals(self) -> tuple[Proposal, ...]:
        """Learners put back in the pool by this departure and proposed again at once."""
        return tuple(proposal for update in self.withdrawn for proposal in update.new_proposals)

    @property
    def changed_anything(self) -> bool:
        return self.was_waiting or bool(self.withdrawn) or self.team_change is not None


DriftReason = Literal["left", "withdrawn", "moved"]


@dataclass(frozen=True)
class Drift:
    """A learner whose matching state no longer fits their announcement: the event that should have tidied it
    up was lost (the bot stopped between the two writes). Repaired at start-up."""

    guild_id: int
    user_id: int
    reason: DriftReason


DRIFT_TEXT: dict[DriftReason, str] = {
    "left": "left the server",
    "withdrawn": "withdrew their project choice",
    "moved": "changed their project or track",
}


@dataclass(frozen=True)
class ManualPair:
    team: Team
    withdrawn: tuple[ProposalUpdate, ...] = ()
    new_proposals: tuple[Proposal, ...] = ()


@dataclass(frozen=True)
class BoardRow:
    project_key: str
    project_name: str
    frontend_waiting: int
    backend_waiting: int
    oldest_wait: datetime

    @property
    def label(self) -> str:
        return project_label(self.project_key, self.project_name)


@dataclass(frozen=True)
class LeftoverRun:
    plan: LeftoverPlan
    teams: Mapping[int, Team]  # every team that gained a member, as it is now
    labels: Mapping[str, str]  # project key -> name, for every project the plan mentions

    def label(self, project_key: str) -> str:
        return self.labels.get(project_key) or project_label(project_key)


@dataclass(frozen=True)
class MatchStatus:
    """Everything `/match status` shows: the learner's choice and where they are in matching."""

    choice: Choice | None
    entry: PoolEntry | None = None
    line: LineStats | None = None
    proposal: Proposal | None = None
    team: Team | None = None
    people: Mapping[int, Choice] = field(default_factory=dict)  # the partner(s) they are proposed to or teamed with


# What Discord refused after the database changed (a notice, the closing of a proposal copy, a team thread) is tried
# again every RETRY_DELAY, DELIVERY_TRIES times in all, and not once RETRY_WINDOW has passed: the tries are counted
# in the database, so a restart neither forgets them nor starts the count again.
RETRY_DELAY = timedelta(minutes=5)
DELIVERY_TRIES = 4
RETRY_WINDOW = timedelta(days=2)


def worth_retrying(tries: int, since: datetime, now: datetime) -> bool:
    """Whether something Discord refused `tries` times, and first wanted at `since`, gets another try `now`."""
    return tries < DELIVERY_TRIES and now - since < RETRY_WINDOW


@dataclass(frozen=True)
class Notice:
    """A matching notice for one learner that Discord has not accepted yet (it is kept until it has)."""

    id: int
    guild_id: int
    user_id: int
    content: str
    created_at: datetime
    tries: int = 0
    team_id: int | None = None  # a team set-up notice: carries the team intro while the team has no thread


@dataclass(frozen=True)
class OpenCopy:
    """A learner's copy of a closed proposal whose buttons Discord has not let Nexus take away yet."""

    proposal_id: int
    user_id: int
    channel_id: int
    message_id: int
    closed_at: datetime
    tries: int = 0
