"""Pure reminder rules, table-tested: schedule across zones and DST, due/late/skip, templates, audiences, retries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.reminders import (
    CHANNEL_RECIPIENT,
    AnnouncedLearner,
    Due,
    FailureKind,
    Reminder,
    ReminderRun,
    RetryPolicy,
    Roster,
    RunProgress,
    classify_failure,
    digest_text,
    due_at_utc,
    due_decision,
    fallback_mentions,
    is_new_cohort,
    placeholder_values,
    plan_recipients,
    progress_every,
    project_digest,
    project_names,
    render,
    run_status,
    schedule_week,
    staff_summary,
    template_problems,
    waiting_counterparts,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "zone", "day", "at", "expected"),
    [
        # UTC and fixed offsets: no surprises.
        ("2026-01-05", "UTC", 0, "09:00", "2026-01-05T09:00"),
        ("2026-01-05", "UTC", 7, "09:00", "2026-01-12T09:00"),
        ("2026-01-05", "UTC+01:00", 1, "10:00", "2026-01-06T09:00"),
        ("2026-01-05", "UTC-03:30", 0, "22:00", "2026-01-06T01:30"),
        ("2026-01-05", "UTC+14:00", 0, "09:00", "2026-01-04T19:00"),
        # Zones without daylight saving.
        ("2026-01-05", "Africa/Lagos", 0, "09:00", "2026-01-05T08:00"),
        ("2026-01-05", "Africa/Nairobi", 2, "12:00", "2026-01-07T09:00"),
        ("2026-01-05", "Asia/Kolkata", 0, "09:00", "2026-01-05T03:30"),
        # Europe/London springs forward on 2026-03-29 (01:00 UTC): 09:00 local is 09:00 UTC before, 08:00 after.
        ("2026-03-26", "Europe/London", 0, "09:00", "2026-03-26T09:00"),
        ("2026-03-26", "Europe/London", 2, "09:00", "2026-03-28T09:00"),
        ("2026-03-26", "Europe/London", 3, "09:00", "2026-03-29T08:00"),
        ("2026-03-26", "Europe/London", 4, "09:00", "2026-03-30T08:00"),
        # A wall time inside the skipped hour lands one gap later (01:30 GMT == 02:30 BST).
        ("2026-03-26", "Europe/London", 3, "01:30", "2026-03-29T01:30"),
        # America/New_York springs forward on 2026-03-08: 10:00 EST is 15:00 UTC, 10:00 EDT is 14:00 UTC.
        ("2026-03-05", "America/New_York", 1, "10:00", "2026-03-06T15:00"),
        ("2026-03-05", "America/New_York", 3, "10:00", "2026-03-08T14:00"),
        ("2026-03-05", "America/New_York", 5, "10:00", "2026-03-10T14:00"),
        # ...and falls back on 2026-11-01: 01:30 happens twice; the first (EDT) is meant.
        ("2026-10-29", "America/New_York", 3, "01:30", "2026-11-01T05:30"),
        ("2026-10-29", "America/New_York", 4, "09:00", "2026-11-02T14:00"),
        # Southern hemisphere: Australia/Sydney leaves DST on 2026-04-05.
        ("2026-04-02", "Australia/Sydney", 2, "09:00", "2026-04-03T22:00"),
        ("2026-04-02", "Australia/Sydney", 3, "09:00", "2026-04-04T23:00"),
    ],
)
def test_due_at_utc_keeps_local_wall_time(start: str, zone: str, day: int, at: str, expected: str) -> None:
    hours, minutes = at.split(":")
    due = due_at_utc(date.fromisoformat(start), zone, day, time(int(hours), int(minutes)))
    assert due == utc(expected)
    assert due.tzinfo is UTC


def reminder(
    rid: str = "r", day: int = 0, at: time = time(9), audience: str = "channel", message: str = "hi"
) -> Reminder:
    return Reminder(id=rid, day=day, at=at, audience=audience, message=message)  # type: ignore[arg-type]


def test_schedule_week_is_sorted_by_instant_not_file_order() -> None:
    week = [reminder("late", 3), reminder("early", 0, time(23)), reminder("mid", 0, time(23, 30))]
    scheduled = schedule_week(week, date(2026, 1, 5), "Asia/Tokyo")
    assert [item.reminder.id for item in scheduled] == ["early", "mid", "late"]
    assert scheduled[0].due_at == utc("2026-01-05T14:00")


@pytest.mark.parametrize(
    ("due", "now", "grace_hours", "expected"),
    [
        ("2026-01-05T09:00", "2026-01-05T08:59:59", 12, Due.WAIT),
        ("2026-01-05T09:00", "2026-01-05T09:00", 12, Due.SEND),
        ("2026-01-05T09:00", "2026-01-05T20:59:59", 12, Due.SEND),
        ("2026-01-05T09:00", "2026-01-05T21:00", 12, Due.SKIP),
        ("2026-01-05T09:00", "2026-01-08T09:00", 12, Due.SKIP),
        ("2026-01-05T09:00", "2026-01-05T10:00", 2, Due.SEND),
        ("2026-01-05T09:00", "2026-01-05T11:00", 2, Due.SKIP),
        ("2026-01-05T09:00", "2026-01-05T09:00", 0, Due.SKIP),
    ],
)
def test_due_decision(due: str, now: str, grace_hours: float, expected: Due) -> None:
    assert due_decision(utc(due), utc(now), timedelta(hours=grace_hours)) is expected


@pytest.mark.parametrize(
    ("previous", "new", "expected"),
    [
        ("2026-01-05", "2026-01-05", False),
        ("2026-01-05", "2026-01-06", False),
        ("2026-01-05", "2026-01-11", False),
        ("2026-01-05", "2026-01-12", True),
        ("2026-01-05", "2026-03-02", True),
        ("2026-03-02", "2026-01-05", True),
        ("2026-01-05", "2026-01-01", False),
    ],
)
def test_is_new_cohort(previous: str, new: str, expected: bool) -> None:
    assert is_new_cohort(date.fromisoformat(previous), date.fromisoformat(new)) is expected


@pytest.mark.parametrize(
    ("template", "audience", "problem"),
    [
        ("Hello {name}", "not_announced", None),
        ("{name} {project} {days_left} {channel} {waiting_counterparts}", "unmatched", None),
        ("{days_left} days left in {channel}", "channel", None),
        ("Literal {{braces}} are fine", "channel", None),
        ("Hi {nme}", "not_announced", "unknown placeholder {nme}"),
        ("Hi {0}", "not_announced", "unknown placeholder {0}"),
        ("Hi {}", "not_announced", "unknown placeholder {}"),
        ("Hi {name.__class__}", "not_announced", "unknown placeholder {name.__class__}"),
        ("Hi {name!r}", "not_announced", "takes no format or conversion"),
        ("Hi {days_left:>5}", "channel", "takes no format or conversion"),
        ("Hi {name", "not_announced", "expected '}'"),
        ("Hi name}", "not_announced", "Single '}'"),
        ("Hi {name}", "channel", "is per person"),
        ("{waiting_counterparts}", "staff", "is per person"),
    ],
)
def test_template_problems(template: str, audience: str, problem: str | None) -> None:
    found = template_problems(template, audience)  # type: ignore[arg-type]
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0].message


def test_template_problems_report_the_line_inside_the_message() -> None:
    found = template_problems("first line\nsecond {oops}\nthird {days_left}\n{again}", "channel")
    assert [(p.line_offset, p.message.split(" (")[0]) for p in found] == [
        (1, "unknown placeholder {oops}"),
        (3, "unknown placeholder {again}"),
    ]


def test_render_fills_values_and_keeps_literal_braces() -> None:
    assert render("Hi {name}, {days_left} left {{x}}", {"name": "Ada", "days_left": "2"}) == "Hi Ada, 2 left {x}"
    # A value that looks like a placeholder is not expanded again.
    assert render("{name}", {"name": "{channel}"}) == "{channel}"


JOB = "job-board"


def roster(**overrides: object) -> Roster:
    """Five learners (1-5), staff 9; 1 backend and 2 frontend on job-board, 3 backend on ecommerce; 1+2 teamed."""
    values: dict[str, object] = {
        "names": {1: "ada", 2: "bo", 3: "cy", 4: "di", 5: "ed", 9: "coach"},
        "learners": frozenset({1, 2, 3, 4, 5}),
        "staff": frozenset({9}),
        "announced": {
            1: AnnouncedLearner(1, JOB, "Job Board Backend", "backend"),
            2: AnnouncedLearner(2, JOB, "Job Board Platform", "frontend"),
            3: AnnouncedLearner(3, "ecommerce", "E-Commerce Backend", "backend"),
        },
        "teamed": frozenset({1, 2}),
        "opted_out": frozenset(),
        # What the runner fills in from the catalogue: one name per project, not the per-track titles above.
        "project_names": {JOB: "Job Board", "ecommerce": "E-Commerce"},
    }
    values.update(overrides)
    return Roster(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("audience", "overrides", "staff_channel", "expected"),
    [
        ("channel", {}, False, [CHANNEL_RECIPIENT]),
        ("staff", {}, True, [CHANNEL_RECIPIENT]),
        ("staff", {}, False, [9]),
        ("not_announced", {}, False, [4, 5]),
        ("not_announced", {"opted_out": frozenset({4})}, False, [5]),
        ("unmatched", {}, False, [3]),
        ("unmatched", {"teamed": frozenset()}, False, [1, 2, 3]),
        ("unmatched", {"opted_out": frozenset({3})}, False, []),
        # Someone who lost the learner role is not a learner any more.
        ("not_announced", {"learners": frozenset({1, 2, 3, 4})}, False, [4]),
        # Opting out does not stop channel posts.
        ("channel", {"opted_out": frozenset({1, 2, 3, 4, 5})}, False, [CHANNEL_RECIPIENT]),
    ],
)
def test_plan_recipients(audience: str, overrides: dict[str, object], staff_channel: bool, expected: list[int]) -> None:
    assert plan_recipients(audience, roster(**overrides), staff_channel=staff_channel) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("user", "overrides", "expected"),
    [
        (3, {}, "No frontend learner on E-Commerce is waiting right now"),
        (1, {"teamed": frozenset()}, "1 frontend learner is waiting on Job Board: bo."),
        (2, {"teamed": frozenset()}, "1 backend learner is waiting on Job Board: ada."),
        (4, {}, "Learners waiting for a partner: E-Commerce (1 backend)."),
        (4, {"teamed": frozenset()}, "Learners waiting for a partner: Job Board (1 backend, 1 frontend); E-Commerce"),
        (4, {"announced": {}}, "Nobody is waiting for a partner yet"),
        # A counterpart who left the server is not waiting.
        (1, {"teamed": frozenset(), "names": {1: "ada", 3: "cy"}}, "No frontend learner on Job Board is"),
        # A project the runner gave no name goes by the name announced with it.
        (3, {"project_names": {}}, "No frontend learner on E-Commerce Backend is waiting right now"),
    ],
)
def test_waiting_counterparts(user: int, overrides: dict[str, object], expected: str) -> None:
    assert waiting_counterparts(user, roster(**overrides)).startswith(expected)


def test_placeholder_values_per_person_and_for_a_post() -> None:
    day5 = reminder("two-days-left", day=5, audience="not_announced")
    personal = placeholder_values(day5, roster(), 4, channel_mention="<#7>")
    assert personal["name"] == "di"
    assert personal["project"] == "your project"
    assert personal["days_left"] == "2"
    assert personal["channel"] == "<#7>"
    post = placeholder_values(reminder(day=6), roster(), None, channel_mention="<#7>")
    assert set(post) == {"days_left", "channel"} and post["days_left"] == "1"
    announced = placeholder_values(reminder(day=3, audience="unmatched"), roster(), 3, channel_mention="<#7>")
    assert announced["project"] == "E-Commerce"
    frontend = placeholder_values(reminder(day=3, audience="unmatched"), roster(), 2, channel_mention="<#7>")
    assert frontend["project"] == "Job Board"


def test_project_digest_groups_by_project_and_shows_who_waits() -> None:
    lines = project_digest(roster(teamed=frozenset({1})))
    assert [line.project for line in lines] == ["Job Board", "E-Commerce"]
    assert lines[0].backend_waiting == () and lines[0].frontend_waiting == ("bo",)
    text = digest_text(roster(teamed=frozenset({1})), 4096)
    assert "**Job Board** — backend 1 (all paired) · frontend 1 (1 waiting: bo)" in text
    assert "**E-Commerce** — backend 1 (1 waiting: cy) · frontend 0 → needs a frontend learner" in text
    assert "Platform" not in text and "Backend" not in text


def test_project_names_takes_each_projects_latest_announcement() -> None:
    announced = [
        AnnouncedLearner(1, JOB, "Job Board Backend", "backend"),
        AnnouncedLearner(2, "custom:pionus", "pionus safaris", "frontend"),
        AnnouncedLearner(3, "custom:pionus", "Pionus Safaris", "backend"),
    ]
    names = project_names(announced, lambda key, name: "Job Board" if key == JOB else name)
    assert names == {JOB: "Job Board", "custom:pionus": "Pionus Safaris"}


def test_digest_text_stays_within_its_limit() -> None:
    many = {i: AnnouncedLearner(i, f"custom:p{i}", f"Project number {i}", "backend") for i in range(1, 400)}
    names = {i: f"learner{i}" for i in many}
    text = digest_text(roster(names=names, learners=frozenset(many), announced=many, teamed=frozenset()), 4096)
    assert len(text) <= 4096
    assert text.endswith("more projects: `/projects` has them all.")
    assert digest_text(roster(announced={}), 4096).startswith("No project has been announced yet")


def test_staff_summary_counts_and_lists() -> None:
    from bot.reminders import DeliveryFailure, SkippedRun

    sections = staff_summary(
        roster(opted_out=frozenset({5})),
        [DeliveryFailure("announce-nudge", 4, "closed_dms", "DMs closed")],
        [SkippedRun("kickoff", utc("2026-01-05T09:00"), "missed by 14 h")],
        1000,
    )
    text = {section.title: section.text for section in sections}
    numbers = text["Week one in numbers"]
    assert "Learners: **5**" in numbers and "announced: **3**" in numbers and "in a team: **2**" in numbers
    assert "not announced: **2**" in numbers and "reminders off: **1**" in numbers
    assert text["Not announced yet (2)"] == "di, ed"
    assert text["Announced, no partner yet (1)"] == "cy"
    assert text["Could not deliver (1)"] == "di — DMs closed (`announce-nudge`)"
    assert text["Skipped reminders (1)"] == "`kickoff` — missed by 14 h"


def test_staff_summary_sections_fit_an_embed_field() -> None:
    names = {i: f"a-rather-long-learner-name-{i}" for i in range(1, 500)}
    sections = staff_summary(roster(names=names, learners=frozenset(names), announced={}), [], [], 1000)
    unannounced = next(s for s in sections if s.title.startswith("Not announced"))
    assert len(unannounced.text) <= 1000 and unannounced.text.endswith("more")


def test_fallback_mentions_fit_and_say_who_was_left_out() -> None:
    note, listed = fallback_mentions([11, 22], 1000)
    assert listed == [11, 22] and "<@11> <@22>" in note and "Privacy Settings" in note
    assert fallback_mentions([], 1000) == ("", [])
    many = list(range(10**17, 10**17 + 300))
    note, listed = fallback_mentions(many, 600)
    assert len(note) <= 600 and 0 < len(listed) < 300
    assert f"and {300 - len(listed)} more" in note


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (500, 0, FailureKind.TRANSIENT),
        (503, 0, FailureKind.TRANSIENT),
        (429, 0, FailureKind.TRANSIENT),
        (403, 50007, FailureKind.CLOSED_DMS),
        (404, 10013, FailureKind.UNKNOWN_USER),
        (403, 50013, FailureKind.FORBIDDEN),
        (404, 10003, FailureKind.FORBIDDEN),
        (400, 50035, FailureKind.OTHER),
    ],
)
def test_classify_failure(status: int, code: int, kind: FailureKind) -> None:
    assert classify_failure(status, code) is kind


def test_retry_policy_backs_off_and_gives_up() -> None:
    policy = RetryPolicy(max_attempts=4, first_delay_seconds=30, factor=4, max_delay_seconds=900)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [30, 120, 480, 900]
    assert policy.delay(1, retry_after=75.0) == 75.0
    assert [policy.gives_up(n) for n in (1, 3, 4, 5)] == [False, False, True, True]


def run(state: str, reason: str | None = None) -> ReminderRun:
    return ReminderRun(1, "2026-01-05", "r", utc("2026-01-05T09:00"), state, reason)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "reason", "progress", "paused", "expected"),
    [
        ("pending", None, RunProgress(0, 0, 0), False, "pending"),
        ("pending", None, RunProgress(0, 0, 0), True, "paused"),
        ("sending", None, RunProgress(3, 0, 10), False, "sending 3/10"),
        ("sending", None, RunProgress(3, 1, 10), True, "paused while sending 3/10"),
        ("sent", None, RunProgress(10, 0, 10), False, "sent"),
        ("sent", None, RunProgress(10, 2, 10), False, "sent, 2 not delivered"),
        ("skipped", "missed by 14 h", RunProgress(0, 0, 0), False, "skipped (missed by 14 h)"),
    ],
)
def test_run_status(state: str, reason: str | None, progress: RunProgress, paused: bool, expected: str) -> None:
    assert run_status(run(state, reason), progress, paused=paused) == expected


@pytest.mark.parametrize(("total", "every"), [(0, 1), (4, 1), (20, 1), (21, 2), (2000, 100)])
def test_progress_every(total: int, every: int) -> None:
    assert progress_every(total) == every
