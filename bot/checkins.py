"""Pure check-in rules for teams: when a check-in is due, who counts as quiet, and what a re-match does.

A team gets its first check-in some days after it forms and one a week after that, in its private thread. Each
member answers for themselves. A member who misses two check-ins in a row is quiet; so is one who stays silent for
the quiet timeout after a teammate said "my partner isn't answering". Time always comes in as `now`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.errors import InvalidInput
from bot.matching import TRACKS, Proposal, Team, TeamMember

CheckinAnswer = Literal["going_well", "not_started", "partner_quiet"]
QuietReason = Literal["silent", "reported"]
CheckinState = Literal["claimed", "posted", "failed"]
OfferState = Literal["claimed", "open", "waiting", "rematched", "closed"]
Choice = Literal["wait", "rematch"]

ANSWERS: tuple[CheckinAnswer, ...] = ("going_well", "not_started", "partner_quiet")
ANSWER_LABELS: dict[CheckinAnswer, str] = {
    "going_well": "Going well",
    "not_started": "We haven't started yet",
    "partner_quiet": "My partner isn't answering",
}
WEEK = timedelta(days=7)
# "Keep waiting" asks the member left behind again this much later, if their partner is still quiet.
ASK_AGAIN_AFTER = timedelta(days=3)
# Missed check-ins in a row that make a member quiet.
MISSED_IN_A_ROW = 2
# One microsecond ahead of the line's first learner is the front: queued_at is stored with microseconds.
AHEAD = timedelta(microseconds=1)


@dataclass(frozen=True)
class CheckinRules:
    """The two settings (check-in delay, quiet timeout) and the fixed rhythm around them."""

    first_after: timedelta = timedelta(days=3)
    quiet_after: timedelta = timedelta(hours=48)
    every: timedelta = WEEK
    ask_again_after: timedelta = ASK_AGAIN_AFTER

    @classmethod
    def from_settings(cls, delay_days: float, quiet_hours: float) -> CheckinRules:
        return cls(first_after=timedelta(days=delay_days), quiet_after=timedelta(hours=quiet_hours))


@dataclass(frozen=True)
class Checkin:
    """One round of a team's check-in. `posted_at` is None until Discord accepted the post."""

    id: int
    team_id: int
    round: int
    due_at: datetime
    state: CheckinState = "posted"
    nonce: str = ""
    posted_at: datetime | None = None
    tries: int = 0
    answers: Mapping[int, CheckinAnswer] = field(default_factory=dict)
    answered_at: Mapping[int, datetime] = field(default_factory=dict)

    @property
    def posted(self) -> bool:
        return self.posted_at is not None


@dataclass(frozen=True)
class Offer:
    """The private choice offered to a member left behind by a quiet partner."""

    team_id: int
    user_id: int
    state: OfferState
    nonce: str
    offered_at: datetime
    ask_again_at: datetime | None = None
    tries: int = 0


@dataclass(frozen=True)
class TeamCheckins:
    """An active team with its check-ins (oldest round first) and its offers: everything the pass decides from."""

    team: Team
    checkins: tuple[Checkin, ...] = ()
    offers: Mapping[int, Offer] = field(default_factory=dict)

    @property
    def last_round(self) -> int:
        return self.checkins[-1].round if self.checkins else 0

    @property
    def latest_posted(self) -> Checkin | None:
        posted = [checkin for checkin in self.checkins if checkin.posted]
        return posted[-1] if posted else None


# --------------------------------------------------------------------------------------------- when


def checkin_due(team_created: datetime, round_number: int, rules: CheckinRules) -> datetime:
    """Round 1 comes `first_after` the team formed; each later round `every` after the one before."""
    if round_number < 1:
        raise ValueError("check-in rounds start at 1")
    return team_created + rules.first_after + (round_number - 1) * rules.every


def round_to_post(team_created: datetime, last_round: int, now: datetime, rules: CheckinRules) -> int | None:
    """The round to post now, or None. After downtime only the latest due round is posted: never a burst."""
    first_due = checkin_due(team_created, 1, rules)
    if now < first_due:
        return None
    latest_due = (now - first_due) // rules.every + 1
    return latest_due if latest_due > last_round else None


# --------------------------------------------------------------------------------------------- quiet


def _counts_for(checkin: Checkin, member: TeamMember) -> bool:
    """A round posted before someone joined the team is not theirs to answer."""
    return checkin.posted_at is not None and checkin.posted_at >= member.joined_at


def missed(checkin: Checkin, user_id: int, now: datetime, rules: CheckinRules) -> bool:
    """Posted, unanswered by this member, and the quiet timeout has passed since it was posted."""
    return (
        checkin.posted_at is not None
        and user_id not in checkin.answers
        and now >= checkin.posted_at + rules.quiet_after
    )


def missed_in_a_row(checkins: Sequence[Checkin], member: TeamMember, now: datetime, rules: CheckinRules) -> int:
    """How many of the latest check-ins this member missed in a row (an answer to the newest resets it)."""
    streak = 0
    for checkin in reversed(checkins):
        if not _counts_for(checkin, member):
            continue
        if member.user_id in checkin.answers:
            break
        if missed(checkin, member.user_id, now, rules):
            streak += 1
        # Still open and unanswered: neither a miss nor an answer yet.
    return streak


def reported_quiet_since(checkin: Checkin, user_id: int) -> datetime | None:
    """When another member of this round first said "my partner isn't answering" (None if nobody did)."""
    times = [
        checkin.answered_at[other]
        for other, answer in checkin.answers.items()
        if other != user_id and answer == "partner_quiet" and other in checkin.answered_at
    ]
    return min(times) if times else None


def quiet_members(team_checkins: TeamCheckins, now: datetime, rules: CheckinRules) -> dict[int, QuietReason]:
    """Members who count as quiet now, and why."""
    quiet: dict[int, QuietReason] = {}
    checkins = [checkin for checkin in team_checkins.checkins if checkin.posted]
    for member in team_checkins.team.members:
        if missed_in_a_row(checkins, member, now, rules) >= MISSED_IN_A_ROW:
            quiet[member.user_id] = "silent"
            continue
        # A report stands until the member answers: a newer round still open does not make them less quiet.
        for checkin in reversed(checkins):
            if not _counts_for(checkin, member) or member.user_id in checkin.answers:
                break
            since = reported_quiet_since(checkin, member.user_id)
            if since is not None and now >= since + rules.quiet_after:
                quiet[member.user_id] = "reported"
                break
    return quiet


def left_behind(team: Team, quiet: Iterable[int]) -> tuple[int, ...]:
    """The members who are not quiet, when someone is: they get the private choice. Nobody when all are quiet."""
    silent = set(quiet)
    if not silent:
        return ()
    return tuple(member.user_id for member in team.members if member.user_id not in silent)


# --------------------------------------------------------------------------------------------- what the pass does


@dataclass(frozen=True)
class TeamPlan:
    """What the scheduled pass does for one team now, and when it needs to look again."""

    team_id: int
    post_round: int | None = None
    quiet: Mapping[int, QuietReason] = field(default_factory=dict)
    offer_to: tuple[int, ...] = ()  # left-behind members to send the choice to now
    close_offers: tuple[int, ...] = ()  # open offers whose partner answered meanwhile
    wake: datetime | None = None


def offer_due(offer: Offer | None, now: datetime) -> bool:
    """Offer the choice now? Not while one is open or being sent, nor before "keep waiting" runs out."""
    if offer is None or offer.state in ("closed", "rematched"):
        return True
    if offer.state == "waiting":
        return offer.ask_again_at is None or now >= offer.ask_again_at
    return False


def plan_team(team_checkins: TeamCheckins, now: datetime, rules: CheckinRules) -> TeamPlan:
    team = team_checkins.team
    post = round_to_post(team.created_at, team_checkins.last_round, now, rules)
    quiet = quiet_members(team_checkins, now, rules)
    behind = left_behind(team, quiet)
    offer_to = tuple(user for user in behind if offer_due(team_checkins.offers.get(user), now))
    close = (
        tuple(user for user, offer in team_checkins.offers.items() if offer.state in ("open", "waiting"))
        if not quiet
        else ()
    )
    wakes: list[datetime] = [checkin_due(team.created_at, max(team_checkins.last_round, post or 0) + 1, rules)]
    latest = team_checkins.latest_posted
    if latest is not None and latest.posted_at is not None:
        wakes.append(latest.posted_at + rules.quiet_after)
        for member in team.members:
            since = reported_quiet_since(latest, member.user_id)
            if since is not None:
                wakes.append(since + rules.quiet_after)
    for offer in team_checkins.offers.values():
        if offer.state == "waiting" and offer.ask_again_at is not None:
            wakes.append(offer.ask_again_at)
    future = [moment for moment in wakes if moment > now]
    return TeamPlan(
        team_id=team.id,
        post_round=post,
        quiet=quiet,
        offer_to=offer_to,
        close_offers=close,
        wake=min(future) if future else None,
    )


# --------------------------------------------------------------------------------------------- re-match


@dataclass(frozen=True)
class Rematch:
    """A "find me someone else": the quiet members leave; a team still covering both tracks carries on (a trio
    becomes a pair); otherwise it ends and everyone left goes back to the front of the line."""

    removed: tuple[int, ...]
    requeue: tuple[int, ...]
    ends: bool


def plan_rematch(team: Team, quiet: Iterable[int], chooser: int) -> Rematch:
    silent = [member.user_id for member in team.members if member.user_id in set(quiet)]
    if chooser not in team.member_ids:
        raise InvalidInput("This choice belongs to a member of that team.")
    if not silent or chooser in silent:
        raise InvalidInput("Your partner has answered a check-in since, so there's nothing to re-match.")
    remaining = [member for member in team.members if member.user_id not in silent]
    ends = {member.track for member in remaining} != set(TRACKS)
    return Rematch(
        removed=tuple(silent),
        requeue=tuple(member.user_id for member in remaining) if ends else (),
        ends=ends,
    )


@dataclass(frozen=True)
class Rematched:
    """What a re-match did: who left the team, who went back to the front of the line, and new proposals."""

    team: Team  # as it was before
    removed: tuple[int, ...]
    requeued: tuple[int, ...]
    ends: bool
    new_proposals: tuple[Proposal, ...] = ()
    unannounced: tuple[int, ...] = ()  # left without a team and without a current announcement to queue on


def front_of_line(line_front: datetime | None, now: datetime) -> datetime:
    """The place in line (queued_at) ahead of everyone waiting: a learner whose partner went quiet did nothing
    wrong and does not start over at the back."""
    if line_front is None:
        return now
    return min(now, line_front - AHEAD)


# --------------------------------------------------------------------------------------------- staff


AttentionReason = Literal["quiet", "unanswered"]


@dataclass(frozen=True)
class Attention:
    """A team staff should look at: someone is quiet, or the latest check-in has gone unanswered."""

    team_id: int
    project_key: str
    thread_id: int | None
    reason: AttentionReason
    user_ids: tuple[int, ...]
    since: datetime


def attention(team_checkins: TeamCheckins, now: datetime, rules: CheckinRules) -> Attention | None:
    team = team_checkins.team
    quiet = quiet_members(team_checkins, now, rules)
    latest = team_checkins.latest_posted
    if latest is None or latest.posted_at is None:
        return None
    if quiet:
        return Attention(team.id, team.project_key, team.thread_id, "quiet", tuple(quiet), latest.posted_at)
    unanswered = tuple(
        member.user_id
        for member in team.members
        if _counts_for(latest, member) and missed(latest, member.user_id, now, rules)
    )
    if unanswered:
        return Attention(team.id, team.project_key, team.thread_id, "unanswered", unanswered, latest.posted_at)
    return None


@dataclass(frozen=True)
class AnswerCounts:
    going_well: int = 0
    not_started: int = 0
    partner_quiet: int = 0
    unanswered: int = 0  # members who did not answer a check-in within the quiet timeout

    @property
    def total(self) -> int:
        return self.going_well + self.not_started + self.partner_quiet


def count_answers(teams: Iterable[TeamCheckins], now: datetime, rules: CheckinRules) -> AnswerCounts:
    """Every answer given to every posted check-in, and every answer still missing after the timeout."""
    counts: Counter[str] = Counter()
    for team_checkins in teams:
        for checkin in team_checkins.checkins:
            if not checkin.posted:
                continue
            counts.update(checkin.answers.values())
            counts["unanswered"] += sum(
                1
                for member in team_checkins.team.members
                if _counts_for(checkin, member) and missed(checkin, member.user_id, now, rules)
            )
    return AnswerCounts(
        going_well=counts["going_well"],
        not_started=counts["not_started"],
        partner_quiet=counts["partner_quiet"],
        unanswered=counts["unanswered"],
    )


def counts_text(counts: AnswerCounts) -> str:
    """One line for the staff summary."""
    if counts.total == 0 and counts.unanswered == 0:
        return "No check-ins answered yet."
    return (
        f"{ANSWER_LABELS['going_well']}: {counts.going_well} · {ANSWER_LABELS['not_started']}: {counts.not_started}"
        f" · {ANSWER_LABELS['partner_quiet']}: {counts.partner_quiet} · no answer in time: {counts.unanswered}"
    )
