"""`make bench-quick` in a subprocess: every benchmark section still runs and prints its summary line."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO

SUMMARY = re.compile(r"^(?P<name>[^ ].*): (?P<value>[\d.]+) (?P<unit>\S+) \((?P<ratio>[\d.]+|inf) x baseline\)$")
SECTIONS = (
    "commands (slowest p99)",
    "autocomplete p99 (1,000 entries)",
    "match find p99 (5,000 waiting)",
    "check-in pass (1,000 teams)",
    "reminder fan-out (500 recipients)",
    "start-up to ready (5,000 learners)",
    "week teamed (worst 1:1 or 2:1)",
)


def test_quick_benchmark_prints_every_summary_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    # A missed goal exits 1 and is fine here (a shared machine in quick mode); a crash is not.
    assert done.returncode in (0, 1), done.stderr[-3000:]
    summaries = {
        match["name"]: match for line in done.stdout.splitlines() if (match := SUMMARY.match(line)) is not None
    }
    assert sorted(summaries) == sorted(SECTIONS), done.stdout
    assert all(float(match["value"]) > 0 for match in summaries.values()), done.stdout
    assert re.search(r"^(all \d+ goals met|\d+ of \d+ goals missed)$", done.stdout, re.MULTILINE), done.stdout
