"""Numbers and words of a run: percentiles, the one summary line per section, goals, and the machine."""

from __future__ import annotations

import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: p99 of 200 samples is the 198th smallest, a value that was really measured."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Spread:
    """p50 and p99 of a set of timings, in milliseconds."""

    count: int
    p50: float
    p99: float

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Spread:
        return cls(len(samples_ms), percentile(samples_ms, 0.50), percentile(samples_ms, 0.99))


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline > 0 else math.inf


def number(value: float) -> str:
    """Three significant digits, never scientific notation: 0.0912, 1.23, 45.6, 2340."""
    if value == 0 or not math.isfinite(value):
        return str(value)
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{digits}f}"


def summary_line(name: str, value: float, unit: str, against: float) -> str:
    """`name: value unit (ratio x baseline)`: the line to compare between commits."""
    return f"{name}: {number(value)} {unit} ({number(against)} x baseline)"


@dataclass(frozen=True)
class Goal:
    section: str
    what: str
    value: float
    limit: float
    unit: str
    higher_is_better: bool = False

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def describe(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        verdict = "met" if self.met else "MISSED"
        return f"{verdict}: {self.section}: {self.what} {number(self.value)} {self.unit} (goal {sign} {self.limit:g})"


@dataclass
class Report:
    """What a run prints as it goes, and the goals it checked."""

    lines: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        self.lines.append(text)
        print(text, flush=True)

    def detail(self, text: str) -> None:
        self.say(f"  {text}")

    def summary(self, name: str, value: float, unit: str, against: float) -> None:
        self.say(summary_line(name, value, unit, against))

    def check(self, goal: Goal) -> Goal:
        self.goals.append(goal)
        return goal

    @property
    def missed(self) -> list[Goal]:
        return [goal for goal in self.goals if not goal.met]


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_lines() -> list[str]:
    uname = " ".join(platform.uname())
    return [
        f"date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"machine: {os.cpu_count()} cores ({_cpu_model()}), {_memory_gib()} RAM",
        f"python: {sys.version.split()[0]} ({platform.python_implementation()})",
        f"uname -a: {uname}",
    ]
