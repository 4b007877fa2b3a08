"""`python -m bench [--quick]`: every section in one run, one summary line each; exit 1 if a goal is missed."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import commands, matching, outcomes, reminders, search, startup
from bench.harness import quiet_logs
from bench.report import Report, machine_lines

Section = Callable[[Report, argparse.Namespace], None]

SECTIONS: dict[str, Section] = {
    # Section 1 runs each size in an event loop of its own (bench.commands.measure_commands).
    "commands": lambda report, args: commands.measure_commands(
        report, commands.sizes(args.quick, args.rounds, args.scale)
    ),
    "search": lambda report, args: asyncio.run(
        search.measure_search(report, search.QUICK if args.quick else search.FULL)
    ),
    "matching": lambda report, args: asyncio.run(
        matching.measure_matching(report, matching.QUICK if args.quick else matching.FULL)
    ),
    "reminders": lambda report, args: asyncio.run(
        reminders.measure_reminders(report, reminders.QUICK if args.quick else reminders.FULL)
    ),
    "start-up": lambda report, args: asyncio.run(
        startup.measure_startup(report, startup.QUICK if args.quick else startup.FULL)
    ),
    "outcomes": lambda report, args: asyncio.run(
        outcomes.measure_outcomes(report, outcomes.QUICK if args.quick else outcomes.FULL)
    ),
}


def profiled(folder: Path, name: str, run: Callable[[], None]) -> None:
    """Run a section under pyinstrument (installed by `make bench`: the `bench` extra) and keep its report."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    try:
        run()
    finally:
        profiler.stop()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.html").write_text(profiler.output_html(), encoding="utf-8")
        (folder / f"{name}.txt").write_text(profiler.output_text(unicode=True, show_all=False), encoding="utf-8")
        print(f"  profile: {folder / name}.html", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, well under a minute (the smoke test)")
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS), help="run only this section (repeatable)")
    parser.add_argument(
        "--rounds",
        type=int,
        metavar="N",
        help="section 1 only: N rounds at every size (to iterate on one fix; not for the record)",
    )
    parser.add_argument(
        "--scale",
        action="append",
        choices=[scale.name for scale in commands.FULL],
        help="section 1 only: run only this size (repeatable; to iterate on one fix, not for the record)",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="profile each section with pyinstrument; write DIR/<section>.html"
    )
    args = parser.parse_args(argv)
    quiet_logs()
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    report = Report()
    for line in machine_lines():
        report.say(line)
    report.say(f"mode: {'quick (small sizes; not for comparison)' if args.quick else 'full'}")
    began = time.perf_counter()
    for name, section in SECTIONS.items():
        if args.only and name not in args.only:
            continue
        # Sections are independent: none should pay for collecting the garbage the one before it left.
        gc.collect()
        if args.profile is None:
            section(report, args)
        else:
            profiled(args.profile, name, lambda: section(report, args))  # noqa: B023 - run at once
    report.say(f"== goals ({time.perf_counter() - began:.0f} s)")
    for goal in report.goals:
        if not goal.met:
            report.say(goal.describe())
    if report.missed:
        report.say(f"{len(report.missed)} of {len(report.goals)} goals missed")
        return 1
    report.say(f"all {len(report.goals)} goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
