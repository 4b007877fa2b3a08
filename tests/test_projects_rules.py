"""Pure project rules: name normalisation, resolution, validation, late marking, idempotency, the board and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.admin import GuildConfig
from bot.errors import InvalidInput
from bot.projects import (
    Announcement,
    AnnouncementDraft,
    Catalogue,
    ExportRow,
    Project,
    ProjectTotals,
    Track,
    board_from_totals,
    board_page,
    csv_safe,
    draft_announcement,
    export_csv,
    normalise_project_name,
    resolve_project,
    same_choice,
    total_row,
    validate_repo_url,
    validate_summary,
    validate_timezone,
)
from bot.projects_content import load_projects
from tests.conftest import CONTENT_DIR

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_projects(CONTENT_DIR / "projects.yaml")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Pionus Safaris", "pionus-safaris"),
        ("pionus-safaris app", "pionus-safaris"),
        ("The Pionus Safaris Backend", "pionus-safaris"),
        ("  PIONUS   SAFARIS  ", "pionus-safaris"),
        ("pionus_safaris", "pionus-safaris"),
        ("Pionus Safaris!!!", "pionus-safaris"),
        ("pionus.safaris frontend", "pionus-safaris"),
        ("Pionus Safaris App Backend", "pionus-safaris"),
        ("Pionus Safaris front-end", "pionus-safaris"),
        ("Pionus Safaris Back End", "pionus-safaris"),
        ("Pionus Safaris API", "pionus-safaris"),
        ("the pionus safaris project", "pionus-safaris"),
        ("Café Finder", "cafe-finder"),
        ("Ada's Kitchen", "adas-kitchen"),
        ("Ada’s Kitchen app", "adas-kitchen"),
        ("Rock & Roll Tickets", "rock-and-roll-tickets"),
        ("The Theatre", "theatre"),
        ("Backend Bootcamp Tracker", "backend-bootcamp-tracker"),
        ("App Store Clone", "app-store-clone"),
        ("Fitness Tracker 2", "fitness-tracker-2"),
        ("ÉCOLE en ligne", "ecole-en-ligne"),
        ("Backend", ""),
        ("The App", ""),
        ("frontend app", ""),
        ("The", "the"),
        ("E-Commerce Backend", "e-commerce"),
    ],
)
def test_normalise_project_name(typed: str, expected: str) -> None:
    assert normalise_project_name(typed) == expected


@pytest.mark.parametrize(
    ("typed", "track", "key", "name"),
    [
        ("E-Commerce Backend", "backend", "ecommerce", "E-Commerce Backend"),
        ("E-Commerce Backend", "frontend", "ecommerce", "E-Commerce Product Catalog"),
        ("e-commerce product catalog", "backend", "ecommerce", "E-Commerce Backend"),
        ("online store", "frontend", "ecommerce", "E-Commerce Product Catalog"),
        ("SHOP", "backend", "ecommerce", "E-Commerce Backend"),
        ("ecommerce", "backend", "ecommerce", "E-Commerce Backend"),
        ("job-board", "frontend", "job-board", "Job Board Platform"),
        ("Jobs", "backend", "job-board", "Job Board Backend"),
        ("the job board app", "backend", "job-board", "Job Board Backend"),
        ("jobboard", "frontend", "job-board", "Job Board Platform"),
        ("movie recs", "frontend", "movie-recommendation", "Movie Recommendation App"),
        ("Movies", "backend", "movie-recommendation", "Movie Recommendation Backend"),
        ("Voting", "frontend", "online-poll", "Interactive Online Polling Platform"),
        ("polls", "backend", "online-poll", "Online Poll System Backend"),
        ("feed", "frontend", "social-feed", "Dynamic Social Media Feed"),
        ("Social", "backend", "social-feed", "Social Media Feed Backend"),
        ("Pionus Safaris", "backend", "custom:pionus-safaris", "Pionus Safaris"),
        ("  The   Pionus Safaris Backend ", "frontend", "custom:pionus-safaris", "The Pionus Safaris Backend"),
    ],
)
def test_resolve_official_and_custom(catalogue: Catalogue, typed: str, track: Track, key: str, name: str) -> None:
    choice = resolve_project(typed, track, catalogue)
    assert (choice.key, choice.name, choice.official) == (key, name, not key.startswith("custom:"))


def test_existing_custom_project_wins_a_spacing_tie(catalogue: Catalogue) -> None:
    choice = resolve_project("PionusSafaris", "backend", catalogue, ["custom:pionus-safaris"])
    assert choice.key == "custom:pionus-safaris"
    assert choice.name == "PionusSafaris"
    assert resolve_project("PionusSafaris", "backend", catalogue).key == "custom:pionussafaris"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "which project"),
        ("   ", "which project"),
        ("Backend", "only says which side"),
        ("the frontend app", "only says which side"),
        ("x" * 81, "at most 80 characters"),
    ],
)
def test_resolve_rejects_names_without_a_project(catalogue: Catalogue, typed: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        resolve_project(typed, "backend", catalogue)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("  Django + DRF, JWT  ", "Django + DRF, JWT"),
        ("x" * 300, "x" * 300),
        ("@everyone <@&1> <@2> look", "@everyone <@&1> <@2> look"),
    ],
)
def test_validate_summary(typed: str | None, expected: str | None) -> None:
    assert validate_summary(typed) == expected


def test_summary_over_limit_is_refused() -> None:
    with pytest.raises(InvalidInput, match="301 characters; keep it to 300"):
        validate_summary("x" * 301)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/ada/pionus",
        "http://gitlab.com/ada/pionus",
        "https://bitbucket.org/ada/pionus",
        "https://git.example.co.ke/ada/pionus?tab=readme#top",
        "HTTPS://GitHub.com/ada/pionus",
    ],
)
def test_repo_urls_accepted(url: str) -> None:
    assert validate_repo_url(f"  {url} ") == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript://github.com/%0Aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://github.com/ada/pionus",
        "github.com/ada/pionus",
        "https://",
        "https:///ada/pionus",
        "https://localhost/ada",
        "https://github.com/ada pionus",
        "https://github.com/ada\u0000/x",
        "https://[::1/x",
        "https://user:secret@github.com/ada/pionus",
        "https://github.com/" + "a" * 300,
    ],
)
def test_repo_urls_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        validate_repo_url(url)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [(None, None), ("", None), ("africa/lagos", "Africa/Lagos"), ("UTC+3", "UTC+03:00"), ("utc", "UTC")],
)
def test_validate_timezone(typed: str | None, expected: str | None) -> None:
    assert validate_timezone(typed) == expected


def test_validate_timezone_refuses_unknown() -> None:
    with pytest.raises(InvalidInput, match="not a timezone I know"):
        validate_timezone("Mars/Olympus")


def config(start: date) -> GuildConfig:
    return GuildConfig(guild_id=1, channel_id=2, cohort_start=start, timezone="Africa/Lagos")


@pytest.mark.parametrize(
    ("cohort_start", "now", "late"),
    [
        (date(2026, 1, 5), datetime(2026, 1, 5, 0, 0, tzinfo=UTC), False),
        (date(2026, 1, 5), datetime(2026, 1, 11, 22, 59, tzinfo=UTC), False),
        # Week one ends at midnight Lagos time (UTC+1) on day 7, i.e. 23:00 UTC the day before.
        (date(2026, 1, 5), datetime(2026, 1, 11, 23, 0, tzinfo=UTC), True),
        (date(2026, 1, 5), datetime(2026, 2, 1, tzinfo=UTC), True),
        (None, datetime(2030, 1, 1, tzinfo=UTC), False),
    ],
)
def test_late_after_week_one(catalogue: Catalogue, cohort_start: date | None, now: datetime, late: bool) -> None:
    draft = draft_announcement(
        guild_id=1,
        user_id=2,
        project="jobs",
        track="backend",
        summary=None,
        repo=None,
        timezone=None,
        catalogue=catalogue,
        existing_custom=(),
        config=config(cohort_start) if cohort_start else None,
        now=now,
    )
    assert draft.late is late


def test_draft_refuses_unknown_track(catalogue: Catalogue) -> None:
    with pytest.raises(InvalidInput, match="not a track"):
        draft_announcement(
            guild_id=1,
            user_id=2,
            project="jobs",
            track="fullstack",
            summary=None,
            repo=None,
            timezone=None,
            catalogue=catalogue,
            existing_custom=(),
            config=None,
            now=NOW,
        )


def announcement(**changes: object) -> Announcement:
    values: dict[str, object] = {
        "id": 1,
        "guild_id": 1,
        "user_id": 2,
        "project_key": "job-board",
        "project_name": "Job Board Backend",
        "track": "backend",
        "summary": "DRF + JWT",
        "repo_url": "https://github.com/ada/jobs",
        "timezone": "Africa/Lagos",
        "late": False,
        "created_at": NOW,
    }
    values.update(changes)
    return Announcement(**values)  # type: ignore[arg-type]


def draft(**changes: object) -> AnnouncementDraft:
    values: dict[str, object] = {
        "guild_id": 1,
        "user_id": 2,
        "project_key": "job-board",
        "project_name": "Job Board Backend",
        "track": "backend",
        "summary": "DRF + JWT",
        "repo_url": "https://github.com/ada/jobs",
        "timezone": "Africa/Lagos",
        "late": False,
    }
    values.update(changes)
    return AnnouncementDraft(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "same"),
    [
        ({}, True),
        ({"late": True}, True),
        ({"project_name": "jobs"}, True),
        ({"project_key": "ecommerce"}, False),
        ({"track": "frontend"}, False),
        ({"summary": "DRF + JWT + Redis"}, False),
        ({"summary": None}, False),
        ({"repo_url": None}, False),
        ({"timezone": "UTC"}, False),
    ],
)
def test_same_choice_is_idempotent_only_for_identical_content(changes: dict[str, object], same: bool) -> None:
    assert same_choice(draft(**changes), announcement()) is same


def test_same_choice_without_current_announcement() -> None:
    assert same_choice(draft(), None) is False


def totals(key: str, minutes: int, **counts: int) -> ProjectTotals:
    name = "Pionus Safaris" if key.startswith("custom:") else key
    return ProjectTotals(key, name, NOW + timedelta(minutes=minutes), **counts)


def test_board_lists_every_project_busiest_then_most_recent(catalogue: Catalogue) -> None:
    rows = board_from_totals(
        [
            totals("job-board", 3, frontend=1, backend=2, paired=2, waiting=1),
            totals("custom:pionus-safaris", 9, frontend=1, backend=1),
            totals("social-feed", 5, frontend=1, backend=1),
        ],
        catalogue,
    )
    assert [row.key for row in rows] == [
        "job-board",
        "custom:pionus-safaris",  # as busy as social-feed, more recent
        "social-feed",
        # Empty official projects stay listed, alphabetically.
        "ecommerce",
        "movie-recommendation",
        "online-poll",
    ]
    jobs = rows[0]
    assert (jobs.backend, jobs.frontend, jobs.paired, jobs.waiting) == (2, 1, 2, 1)
    # One display name per project: the neutral name, never both track titles.
    assert [row.name for row in rows] == [
        "Job Board",
        "Pionus Safaris",
        "Social Media Feed",
        "E-Commerce",
        "Movie Recommendation",
        "Online Poll System",
    ]


def test_total_row_for_one_project(catalogue: Catalogue) -> None:
    assert total_row("job-board", totals("job-board", 1, backend=2), catalogue).count("backend") == 2
    assert total_row("custom:nothing", None, catalogue).total == 0


@pytest.mark.parametrize(
    ("rows", "asked", "number", "count", "size"),
    [(0, 0, 0, 1, 0), (5, 0, 0, 1, 5), (8, 1, 0, 1, 8), (9, 1, 1, 2, 1), (20, 1, 1, 3, 8), (20, 9, 2, 3, 4)],
)
def test_board_pages(rows: int, asked: int, number: int, count: int, size: int) -> None:
    board = board_from_totals([totals(f"custom:p{i}", i, backend=1) for i in range(rows)], Catalogue([]))
    page = board_page(board, asked)
    assert (page.number, page.count, len(page.rows)) == (number, count, size)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
    ],
)
def test_csv_safe(value: object, cell: str) -> None:
    assert csv_safe(value) == cell


def test_export_csv_has_header_and_escapes_formulas() -> None:
    rows = [
        ExportRow(announcement(summary="=cmd|' /C calc'!A0", project_name="Job Board Backend"), "=Ada", left=False),
        ExportRow(
            announcement(id=2, user_id=3, ended_at=NOW, end_reason="replaced", summary='naïve, "quoted"'),
            "Grace",
            left=True,
        ),
    ]
    data = export_csv(rows, history=True)
    parsed = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert parsed[0]["display_name"] == "'=Ada"
    assert parsed[0]["summary"] == "'=cmd|' /C calc'!A0"
    assert parsed[0]["end_reason"] == ""
    assert parsed[1]["summary"] == 'naïve, "quoted"'
    assert parsed[1]["member_status"] == "left"
    assert parsed[1]["end_reason"] == "replaced"
    current = export_csv(rows[:1], history=False).decode("utf-8").splitlines()[0]
    assert current.split(",")[-1] == "posted"


def test_catalogue_refuses_names_shared_by_two_projects() -> None:
    with pytest.raises(ValueError, match="also names a"):
        Catalogue(
            [
                Project("a", "Shop Backend", "Shop Front", "x", ("store",)),
                Project("b", "Store Backend", "Store App", "y"),
            ]
        )
