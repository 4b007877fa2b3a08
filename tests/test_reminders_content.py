"""content/reminders.yaml: the bundled week validates, and every kind of mistake is reported as file:line."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.errors import ContentError
from bot.reminders import LAST_REMINDER_DAY
from bot.reminders_content import REMINDERS_FILE, load_reminders
from tests.conftest import CONTENT_DIR


def test_bundled_week_validates_and_covers_week_one() -> None:
    week = load_reminders(CONTENT_DIR / REMINDERS_FILE)
    by_day = {(r.day, r.audience) for r in week}
    assert {
        (0, "channel"),
        (1, "not_announced"),
        (2, "channel"),
        (3, "unmatched"),
        (5, "not_announced"),
        (6, "channel"),
        (7, "staff"),
    } <= by_day
    assert len({r.id for r in week}) == len(week)
    kickoff = next(r for r in week if r.day == 0)
    for command in ("/announce", "/match find", "/topic", "/help"):
        assert command in kickoff.message
    assert next(r for r in week if r.day == 2).blocks == ("digest",)
    assert next(r for r in week if r.day == 7).blocks == ("summary",)
    assert "{waiting_counterparts}" in next(r for r in week if r.day == 3).message
    assert "{days_left}" in next(r for r in week if r.day == 5).message


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / REMINDERS_FILE
    path.write_text(body, encoding="utf-8")
    return path


GOOD = """\
reminders:
  - id: kickoff
    day: 0
    time: "09:00"
    audience: channel
    message: Welcome! {days_left} days.
"""


def test_a_minimal_file_loads(tmp_path: Path) -> None:
    (only,) = load_reminders(write(tmp_path, GOOD))
    assert (only.id, only.day, only.at, only.audience) == ("kickoff", 0, time(9), "channel")


def test_unquoted_clock_time_is_not_read_as_a_number(tmp_path: Path) -> None:
    # YAML 1.1 reads 10:30 as 630 (base 60); the loader keeps it a clock time.
    (only,) = load_reminders(write(tmp_path, GOOD.replace('"09:00"', "10:30")))
    assert only.at == time(10, 30)


def problems_for(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_reminders(write(tmp_path, body))
    return caught.value.problems


@pytest.mark.parametrize(
    ("change", "line", "expected"),
    [
        (("day: 0", "day: 8"), 3, "reminders.0.day: Input should be less than or equal to 7"),
        (("day: 0", "day: -1"), 3, "reminders.0.day: Input should be greater than or equal to 0"),
        (("day: 0", 'day: "2"'), 3, "reminders.0.day: Input should be a valid integer"),
        (('"09:00"', '"9am"'), 4, "reminders.0.time: Value error, must be a 24-hour local time HH:MM"),
        (('"09:00"', '"24:00"'), 4, "reminders.0.time: Value error, must be a 24-hour local time HH:MM"),
        (("audience: channel", "audience: everyone"), 5, "reminders.0.audience: Input should be"),
        (("id: kickoff", "id: Kick Off"), 2, "reminders.0.id: String should match pattern"),
        (("message: Welcome! {days_left} days.", 'message: ""'), 6, "reminders.0.message: String should have at least"),
        (("    message:", "    colour: red\n    message:"), 6, "reminders.0.colour: Extra inputs are not permitted"),
        (("message: Welcome! {days_left} days.", "message: Hi {nme}"), 6, "unknown placeholder {nme}"),
        (("message: Welcome! {days_left} days.", "message: Hi {name}"), 6, "placeholder {name} is per person"),
    ],
)
def test_each_mistake_is_reported_with_its_line(
    tmp_path: Path, change: tuple[str, str], line: int, expected: str
) -> None:
    (problem,) = problems_for(tmp_path, GOOD.replace(*change))
    assert problem.startswith(f"{tmp_path / REMINDERS_FILE}:{line}:"), problem
    assert expected in problem


def test_unknown_placeholder_in_a_block_message_points_at_its_own_line(tmp_path: Path) -> None:
    body = GOOD.replace(
        "message: Welcome! {days_left} days.",
        "message: |\n      First line is fine: {days_left}\n      Second line too.\n      Third has {oops}.",
    )
    (problem,) = problems_for(tmp_path, body)
    assert problem.startswith(f"{tmp_path / REMINDERS_FILE}:9:"), problem
    assert "reminders.0.message (kickoff): unknown placeholder {oops}" in problem


def test_duplicate_ids_and_misplaced_blocks_are_all_reported(tmp_path: Path) -> None:
    body = (
        GOOD
        + GOOD.split("\n", 1)[1]
        + """\
  - id: nudge
    day: 1
    time: "10:00"
    audience: not_announced
    message: Hi {name}
    blocks: [digest]
  - id: digest
    day: 2
    time: "12:00"
    audience: channel
    message: Midweek
    blocks: [summary]
"""
    )
    problems = problems_for(tmp_path, body)
    assert len(problems) == 3, problems
    assert ":7:" in problems[0] and "duplicate id" in problems[0]
    assert ":17:" in problems[1] and "not in DMs" in problems[1]
    assert ":23:" in problems[2] and "only the staff audience" in problems[2]


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    (problem,) = problems_for(tmp_path, "reminders:\n  - id: [unclosed\n")
    assert "not valid YAML" in problem and f"{tmp_path / REMINDERS_FILE}:" in problem
    with pytest.raises(ContentError, match="cannot read"):
        load_reminders(tmp_path / "missing.yaml")
    (problem,) = problems_for(tmp_path, "reminders: []\n")
    assert "reminders: List should have at least 1 item" in problem


def test_the_last_day_is_the_staff_summary_day() -> None:
    assert LAST_REMINDER_DAY == 7
