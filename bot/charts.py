"""Staff charts: /nexus stats drawn as one PNG (week one's announcements, tracks per project, the matching funnel).

matplotlib is imported inside `stats_chart`, never at module import: most runs of the bot never draw a chart, and
loading it costs start-up time and memory. The Agg backend draws to memory without a display.
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from typing import Any

from bot.ops import StatsReport

log = logging.getLogger(__name__)

# Landscape and large type: Discord shows an attached image about 550 px wide until it is clicked.
WIDTH_INCHES, HEIGHT_INCHES, DPI = 12.0, 7.5, 100
FONT_SIZE = 13
MAX_PROJECTS = 6  # more bars than this turn into unreadable stripes; the text lists every project
FRONTEND_COLOUR, BACKEND_COLOUR, NEUTRAL_COLOUR = "#5865F2", "#57F287", "#99AAB5"
CHART_FILENAME = "nexus-stats.png"


# The same numbers draw the same picture (a few hundred milliseconds of CPU): the last few are kept for the whole
# process, so the staff summary sent to every staff member, a restarted bot or a cohort with equal numbers (and the
# test suite, which starts many bots in one process) draws each once. A picture is tens of kilobytes.
@lru_cache(maxsize=8)
def stats_chart(report: StatsReport) -> bytes:
    """One PNG of `report`: the same object the text of /nexus stats is formatted from."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.size": FONT_SIZE}):
        # A Figure (not pyplot) keeps no global state between commands and is freed when it goes out of scope.
        figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
        # Fixed margins: a constrained layout would cost as much time as the drawing itself.
        grid = figure.add_gridspec(
            2, 2, width_ratios=(1.3, 1.0), left=0.19, right=0.97, top=0.94, bottom=0.06, hspace=0.35, wspace=0.3
        )
        _draw_week_one(figure.add_subplot(grid[0, :]), report)
        _draw_projects(figure.add_subplot(grid[1, 0]), report)
        _draw_funnel(figure.add_subplot(grid[1, 1]), report)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _draw_week_one(axes: Any, report: StatsReport) -> None:
    cohort = report.stats.learners
    if report.week_one is None:
        axes.set_title("Week one: not set up yet (/nexus setup)")
        axes.axis("off")
        return
    week = report.week_one
    labels = [day.strftime("%a %d") for day in week.days()]
    positions = list(range(len(labels)))
    axes.bar(positions, week.per_day, color=FRONTEND_COLOUR, label="announced that day")
    axes.plot(positions, week.running_totals(), color="#EB459E", marker="o", label="announced so far")
    axes.axhline(cohort, color=NEUTRAL_COLOUR, linestyle="--", label=f"cohort size ({cohort})")
    axes.set_xticks(positions, labels)
    axes.set_ylim(0, max(cohort, *week.running_totals(), 1) * 1.15)
    axes.set_title(f"Week one from {week.start:%d %b %Y}: announcements per day")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="upper left", fontsize="small", ncols=3)


def _draw_projects(axes: Any, report: StatsReport) -> None:
    projects = sorted(report.stats.projects, key=lambda p: (-p.total, p.label.casefold()))[:MAX_PROJECTS]
    axes.set_title("Frontend and backend per project")
    if not projects:
        axes.text(0.5, 0.5, "No announcements yet", ha="center", va="center", transform=axes.transAxes)
        axes.axis("off")
        return
    names = [_short(p.label) for p in reversed(projects)]
    frontend = [p.frontend for p in reversed(projects)]
    backend = [p.backend for p in reversed(projects)]
    rows = list(range(len(names)))
    height = 0.38
    axes.barh([r + height / 2 for r in rows], frontend, height, color=FRONTEND_COLOUR, label="frontend")
    axes.barh([r - height / 2 for r in rows], backend, height, color=BACKEND_COLOUR, label="backend")
    axes.set_yticks(rows, names, fontsize="small")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="lower right", fontsize="small")


def _draw_funnel(axes: Any, report: StatsReport) -> None:
    stages = report.funnel.stages()
    names = [name for name, _ in reversed(stages)]
    values = [value for _, value in reversed(stages)]
    bars = axes.barh(names, values, color=[BACKEND_COLOUR, FRONTEND_COLOUR, FRONTEND_COLOUR, NEUTRAL_COLOUR])
    axes.bar_label(bars, padding=3)
    axes.set_xlim(0, max(*values, 1) * 1.15)
    axes.set_title("Matching funnel")
    axes.xaxis.get_major_locator().set_params(integer=True)


def _short(label: str, limit: int = 20) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
