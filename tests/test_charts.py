"""Staff charts: a real PNG drawn from the same report the text of /nexus stats is formatted from."""

from __future__ import annotations

import struct
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.charts import stats_chart
from bot.ops import GuildStats, ProjectCount, StatsReport, WeekOne, chart_description, matching_funnel, week_one_per_day
from tests.conftest import REPO, World

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, which a valid PNG has first, right after the signature."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def make_report(**changes: Any) -> StatsReport:
    values: dict[str, Any] = {
        "guild_id": 1,
        "learners": 12,
        "projects": (ProjectCount("ecommerce", "E-Commerce", 3, 2), ProjectCount("job-board", "Job Board", 0, 1)),
        "waiting": 1,
        "pending_proposals": 1,
        "paired": 2,
        "teams": 1,
        "reminders_sent": 0,
        "reminders_failed": 0,
        "knowledge_lookups": 0,
        "knowledge_misses": 0,
    }
    values.update(changes)
    return StatsReport(GuildStats(**values), WeekOne(date(2026, 1, 5), (2, 3, 0, 1, 0, 0, 0)))


@pytest.mark.parametrize(
    "report",
    [
        make_report(),
        make_report(projects=(), waiting=0, pending_proposals=0, paired=0, teams=0, learners=0),
        StatsReport(make_report().stats, week_one=None),
    ],
    ids=["busy", "empty", "not-set-up"],
)
def test_chart_is_a_png_of_a_sensible_size(report: StatsReport) -> None:
    data = stats_chart(report)
    assert png_size(data) == (1200, 750)
    assert 10_000 < len(data) < 1_000_000


def test_alt_text_states_every_number_drawn() -> None:
    text = chart_description(make_report())
    assert "announcements per day: 2, 3, 0, 1, 0, 0, 0 (6 in all; cohort size 12)" in text
    assert "Matching funnel: 6 announced, 5 looking, 4 proposed, 2 paired." in text
    assert "E-Commerce 3 frontend, 2 backend; Job Board 0 frontend, 1 backend" in text


@pytest.mark.parametrize(
    ("waiting", "pending", "paired", "announced", "expected"),
    [
        (0, 0, 0, 0, (0, 0, 0, 0)),
        (3, 1, 2, 9, (9, 7, 4, 2)),
        # Paired learners who withdrew their announcement still went through the funnel.
        (0, 0, 4, 1, (4, 4, 4, 4)),
    ],
)
def test_funnel_only_narrows(
    waiting: int, pending: int, paired: int, announced: int, expected: tuple[int, ...]
) -> None:
    projects = (ProjectCount("ecommerce", "E-Commerce", announced, 0),)
    stats = make_report(projects=projects, waiting=waiting, pending_proposals=pending, paired=paired).stats
    funnel = matching_funnel(stats)
    assert (funnel.announced, funnel.looking, funnel.proposed, funnel.paired) == expected


def test_week_one_counts_each_learner_once_a_day_in_the_cohort_zone() -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    announced = [
        (1, start + timedelta(hours=1)),
        (1, start + timedelta(hours=2)),  # the same learner again that day: changed their mind
        (2, start + timedelta(days=1, hours=23, minutes=30)),
        (3, start - timedelta(minutes=1)),  # before week one
        (4, start + timedelta(days=7)),  # after it
    ]
    week = week_one_per_day(announced, date(2026, 1, 5), UTC)
    assert week.per_day == (1, 1, 0, 0, 0, 0, 0)
    assert week.running_totals()[-1] == 2


async def test_stats_attach_the_chart_of_the_same_numbers(world: World) -> None:
    ada, grace, linus = world.learners[:3]
    await ada.slash(world.channel, "announce", project="ecommerce", track="backend")
    await grace.slash(world.channel, "announce", project="ecommerce", track="frontend")
    await linus.slash(world.channel, "announce", project="job-board", track="backend")
    await grace.slash(world.channel, "match find")
    await ada.slash(world.channel, "match find")

    result = await world.staff.slash(world.channel, "nexus stats")
    message = result.response
    assert result.ephemeral
    [attachment] = message.attachments
    data = await attachment.read()
    assert png_size(data) == (1200, 750)
    embed = message.embeds[0]
    assert embed.image.url == f"attachment://{attachment.filename}"

    fields = {field.name: field.value for field in embed.fields}
    # The chart's alt text is written from the report the chart was drawn from: the same numbers as the text.
    assert fields["Matching"].endswith("Funnel: 3 announced → 2 looking → 2 proposed → 0 paired")
    assert fields["Week one"].splitlines()[1] == "3 of 3 learners announced during week one"
    assert fields["Week one"].splitlines()[0].startswith(f"{world.env.now():%a %d}: 3 · ")
    assert fields["Announcements by project and track"].splitlines() == [
        "E-Commerce — 1 frontend, 1 backend",
        "Job Board — 0 frontend, 1 backend",
    ]
    assert "Per project: E-Commerce 1 frontend, 1 backend; Job Board 0 frontend, 1 backend." in attachment.description
    assert "announcements per day: 3, 0, 0, 0, 0, 0, 0 (3 in all; cohort size 3)" in attachment.description
    assert "Matching funnel: 3 announced, 2 looking, 2 proposed, 0 paired." in attachment.description


async def test_the_week_one_staff_summary_carries_the_chart(world: World) -> None:
    ada, grace, linus = world.learners[:3]
    await ada.slash(world.channel, "announce", project="ecommerce", track="backend")
    await grace.slash(world.channel, "announce", project="ecommerce", track="frontend")
    await linus.slash(world.channel, "announce", project="job-board", track="backend")
    await linus.slash(world.channel, "match find")

    sent = await world.staff.slash(world.channel, "reminders send", id="staff-summary")
    assert "Sending `staff-summary` now" in sent.response.content
    summary = world.staff.user.dm_channel.history()[-1]
    [chart] = summary.attachments
    assert png_size(await chart.read()) == (1200, 750)
    assert summary.embeds[0].title == "Week one summary"
    assert summary.embeds[0].image.url == f"attachment://{chart.filename}"
    assert chart.description is not None
    assert "Matching funnel: 3 announced, 1 looking, 0 proposed, 0 paired." in chart.description
    assert "E-Commerce 1 frontend, 1 backend; Job Board 0 frontend, 1 backend" in chart.description


def test_matplotlib_is_loaded_only_to_draw() -> None:
    # Start-up time and memory: importing the bot and its cogs must not pull in matplotlib.
    code = "import sys, bot.app, cogs.ops, cogs.reminders, bot.charts; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0
