"""Crash safety with real processes: the bot (tests/crash_driver.py) runs a seeded workload of mixed operations on
an on-disk database and is killed with SIGKILL at seeded points, restarted on the same database each time, and the
database is checked at every kill and at the end: every acknowledged operation is there, nobody is in two
proposals or teams, no reminder reached anyone twice or was lost, and SQLite reports the file intact.

NEXUS_CRASH_SEED picks another (reproducible) run: the workload and the kill points both follow the seed.
NEXUS_CRASH_OPERATIONS and NEXUS_CRASH_KILLS make a longer run (e.g. 2000 and 40) than the one `make test` keeps
within its time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.projects import resolve_project
from bot.projects_content import PROJECTS_FILE, load_projects
from bot.reminders import schedule_week
from bot.reminders_content import REMINDERS_FILE, load_reminders
from tests.conftest import CONTENT_DIR, REPO
from tests.crash_driver import COHORT_START, LEARNERS, workload

SEED = int(os.environ.get("NEXUS_CRASH_SEED", "20260101"))
OPERATIONS = int(os.environ.get("NEXUS_CRASH_OPERATIONS", "400"))
KILLS = int(os.environ.get("NEXUS_CRASH_KILLS", "8"))
# A kill lands this long after the driver journaled the chosen operation: often in the middle of the next one.
MAX_KILL_DELAY = 0.008
RUN_TIMEOUT = 90.0
TIME_BUDGET = 120.0


@dataclass(frozen=True)
class Kill:
    after_op: int
    delay: float


def kill_plan(seed: int) -> list[Kill]:
    rng = random.Random(seed * 7919)
    points = sorted(rng.sample(range(10, OPERATIONS - 60), KILLS))
    return [Kill(point, rng.uniform(0.0, MAX_KILL_DELAY)) for point in points]


# ------------------------------------------------------------------------------------ the journal


def read_journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # the torn last line of a killed write, or the empty tail
    return records


def acknowledged(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {record["op"]: record for record in records if "op" in record}


class JournalTail:
    """The highest acknowledged operation, read incrementally. The test polls every half millisecond to kill at a
    precise point; re-parsing the whole journal each time kept a core busy and slowed the driver it was timing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = ""
        self.latest = -1

    def latest_ack(self) -> int:
        if not self.path.exists():
            return self.latest
        with self.path.open(encoding="utf-8", newline="") as journal:
            journal.seek(self.offset)
            chunk = journal.read()
            self.offset = journal.tell()
        lines = (self.partial + chunk).split("\n")
        self.partial = lines.pop()  # not yet ended by a newline: finished by a later read, or torn by a kill
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "op" in record:
                self.latest = max(self.latest, record["op"])
        return self.latest


def in_flight(records: list[dict[str, Any]]) -> int | None:
    """The operation the driver had started but not journaled when it was killed."""
    begun = [record["begin"] for record in records if "begin" in record]
    done = acknowledged(records)
    return next((index for index in reversed(begun) if index not in done), None)


# ------------------------------------------------------------------------------------ the process


class Bot:
    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "nexus.db"
        self.journal = tmp_path / "journal.jsonl"
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.starts = 0
        self.proc: subprocess.Popen[str] | None = None
        self.tail = JournalTail(self.journal)

    def start(self) -> None:
        self.starts += 1
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        log = (self.logs / f"run{self.starts}.log").open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.crash_driver", str(self.db), str(self.journal), str(SEED), str(OPERATIONS)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()

    def log_tail(self) -> str:
        return (self.logs / f"run{self.starts}.log").read_text(encoding="utf-8")[-3000:]

    def wait_for_ack(self, op: int, deadline: float) -> None:
        assert self.proc is not None
        while self.tail.latest_ack() < op:
            if self.proc.poll() is not None:
                raise AssertionError(f"driver exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"op {op} was never acknowledged:\n{self.log_tail()}")
            time.sleep(0.0005)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL, f"the driver had already exited:\n{self.log_tail()}"
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def finish(self) -> None:
        assert self.proc is not None
        out, _ = self.proc.communicate(timeout=RUN_TIMEOUT)
        assert self.proc.returncode == 0 and "DONE" in out, f"exit {self.proc.returncode}:\n{self.log_tail()}"


# ------------------------------------------------------------------------------------ what the database must show


def query(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(sql, params).fetchall()]


def expected_announcements(ops: list[dict[str, Any]], keys: dict[tuple[str, str], str]) -> dict[int, Any]:
    """Each learner's current announcement after these acknowledged operations, in order."""
    state: dict[int, Any] = dict.fromkeys(range(LEARNERS))
    for record in sorted(ops, key=lambda r: r["op"]):
        apply(state, record, keys)
    return state


def apply(state: dict[int, Any], record: dict[str, Any], keys: dict[tuple[str, str], str]) -> None:
    if record["kind"] == "announce":
        state[record["learner"]] = (keys[record["project"], record["track"]], record["track"], record["summary"])
    elif record["kind"] == "withdraw":
        state[record["learner"]] = None


def current_announcements(conn: sqlite3.Connection, learner_ids: list[int]) -> dict[int, Any]:
    rows = query(conn, "SELECT user_id, project_key, track, summary FROM announcements WHERE ended_at IS NULL")
    by_user = {user: (key, track, summary) for user, key, track, summary in rows}
    return {index: by_user.get(user) for index, user in enumerate(learner_ids)}


def structural_problems(conn: sqlite3.Connection) -> list[str]:
    """What must hold at any instant, even right after a kill: each rule is kept inside one transaction."""
    checks = {
        "integrity": "SELECT 1 FROM pragma_integrity_check WHERE integrity_check != 'ok'",
        "foreign keys": "SELECT 1 FROM pragma_foreign_key_check",
        "two current announcements": (
            "SELECT user_id FROM announcements WHERE ended_at IS NULL GROUP BY guild_id, user_id HAVING COUNT(*) > 1"
        ),
        "two pending proposals": (
            "SELECT user FROM (SELECT frontend_id AS user FROM proposals WHERE state = 'pending'"
            " UNION ALL SELECT backend_id FROM proposals WHERE state = 'pending') GROUP BY user HAVING COUNT(*) > 1"
        ),
        "two active teams": (
            "SELECT m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id"
            " WHERE m.left_at IS NULL AND t.ended_at IS NULL GROUP BY m.user_id HAVING COUNT(*) > 1"
        ),
        "a pending proposal and a team": (
            "SELECT p.id FROM proposals p JOIN team_members m ON m.user_id IN (p.frontend_id, p.backend_id)"
            " JOIN teams t ON t.id = m.team_id WHERE p.state = 'pending' AND m.left_at IS NULL AND t.ended_at IS NULL"
        ),
        "a team without both tracks": (
            "SELECT t.id FROM teams t WHERE t.ended_at IS NULL AND (SELECT COUNT(DISTINCT m.track) FROM team_members m"
            " WHERE m.team_id = t.id AND m.left_at IS NULL) < 2"
        ),
        "a member of an ended team": (
            "SELECT m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id"
            " WHERE m.left_at IS NULL AND t.ended_at IS NOT NULL"
        ),
        "a proposed pool entry without a pending proposal": (
            "SELECT user_id FROM match_pool WHERE state = 'proposed' AND user_id NOT IN"
            " (SELECT frontend_id FROM proposals WHERE state = 'pending'"
            "  UNION SELECT backend_id FROM proposals WHERE state = 'pending')"
        ),
        "a pending proposal member not marked proposed in the pool": (
            "SELECT p.id FROM proposals p WHERE p.state = 'pending' AND 2 > (SELECT COUNT(*) FROM match_pool m"
            " WHERE m.user_id IN (p.frontend_id, p.backend_id) AND m.state = 'proposed')"
        ),
        "an unfinished delivery of a sent reminder": (
            "SELECT d.reminder_id FROM reminder_deliveries d JOIN reminder_runs r USING (guild_id, cohort_key,"
            " reminder_id) WHERE r.state = 'sent' AND d.state IN ('claimed', 'retry')"
        ),
    }
    return [f"{name}: {rows}" for name, sql in checks.items() if (rows := query(conn, sql))]


def final_problems(conn: sqlite3.Connection, records: list[dict[str, Any]], learner_ids: list[int]) -> list[str]:
    """After a clean finish: everything acknowledged is reflected, and nothing is left half done."""
    problems: list[str] = []
    ops = acknowledged(records)
    user = dict(enumerate(learner_ids))
    # Matching fits the announcements again (a drift left by a kill is repaired at the next start-up).
    drift = query(
        conn,
        "SELECT p.id, u.user FROM proposals p JOIN (SELECT id, frontend_id AS user, 'frontend' AS track FROM proposals"
        " UNION ALL SELECT id, backend_id, 'backend' FROM proposals) u ON u.id = p.id"
        " LEFT JOIN announcements a ON a.user_id = u.user AND a.ended_at IS NULL"
        " WHERE p.state = 'pending' AND (a.id IS NULL OR a.project_key != p.project_key OR a.track != u.track)",
    )
    drift += query(
        conn,
        "SELECT m.team_id, m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id"
        " WHERE m.left_at IS NULL AND t.ended_at IS NULL AND NOT EXISTS (SELECT 1 FROM announcements a"
        " WHERE a.user_id = m.user_id AND a.ended_at IS NULL)",
    )
    if drift:
        problems.append(f"matching does not fit the announcements: {drift}")
    for record in ops.values():
        if record.get("outcome") == "other":
            problems.append(f"op {record['op']} got an unexpected answer: {record}")
        if record["kind"] == "answer" and record["outcome"] in ("accepted", "partnered", "declined", "left"):
            answerer = user[record["answered_by"]]
            rows = query(
                conn,
                "SELECT frontend_id, frontend_answer, backend_answer FROM proposals WHERE id = ?",
                (record["proposal"],),
            )
            wanted = "accepted" if record["outcome"] in ("accepted", "partnered") else "declined"
            got = None if not rows else rows[0][1] if rows[0][0] == answerer else rows[0][2]
            if got != wanted:
                problems.append(f"op {record['op']}: proposal {record['proposal']} answer {got}, acknowledged {wanted}")
            if record["outcome"] == "partnered" and not query(
                conn,
                "SELECT 1 FROM teams t JOIN team_members m ON m.team_id = t.id"
                " WHERE t.proposal_id = ? AND m.user_id = ?",
                (record["proposal"], answerer),
            ):
                problems.append(f"op {record['op']}: partnered on proposal {record['proposal']} but no team")
        if record["kind"] == "find" and record["outcome"] == "proposed" and record.get("partner") is not None:
            pair = (user[record["learner"]], user[record["partner"]])
            if not query(
                conn,
                "SELECT 1 FROM proposals"
                " WHERE (frontend_id = ? AND backend_id = ?) OR (frontend_id = ? AND backend_id = ?)",
                (*pair, *reversed(pair)),
            ):
                problems.append(f"op {record['op']}: acknowledged proposal {pair} is not recorded")
    # Reminders: one run per reminder; every send that was acknowledged finished; the rest wait, untouched.
    week = load_reminders(CONTENT_DIR / REMINDERS_FILE)
    due = {item.reminder.id: item.due_at.isoformat() for item in schedule_week(week, date(2026, 1, 1), "UTC")}
    runs = {row[0]: row[1:] for row in query(conn, "SELECT reminder_id, state, due_at, total FROM reminder_runs")}
    if set(runs) != set(due):
        problems.append(f"reminder runs {sorted(runs)} != the week {sorted(due)}")
    sent_by_hand = {r["reminder"] for r in ops.values() if r["kind"] == "remind" and r["outcome"] != "other"}
    for reminder_id, (state, due_at, total) in runs.items():
        delivered = query(
            conn, "SELECT recipient, state FROM reminder_deliveries WHERE reminder_id = ?", (reminder_id,)
        )
        if reminder_id in sent_by_hand:
            if state != "sent" or len(delivered) != total:
                problems.append(f"reminder {reminder_id}: {state}, {len(delivered)} of {total} delivered")
        elif state != "pending" or due_at != due[reminder_id] or delivered:
            problems.append(f"reminder {reminder_id} was never sent by hand but is {state} with {delivered}")
    return problems


def check(db: Path, journal: Path, *, final: bool, keys: dict[tuple[str, str], str]) -> None:
    records = read_journal(journal)
    worlds = [record for record in records if "world" in record]
    violations = [record for record in records if "violation" in record]
    assert violations == [], violations
    # The simulated world is rebuilt with the same ids at every start.
    assert worlds and all(world["ids"] == worlds[0]["ids"] for world in worlds)
    learner_ids = worlds[0]["ids"]["learners"]
    ops = acknowledged(records)
    with closing(sqlite3.connect(db)) as conn:
        problems = structural_problems(conn)
        expected = expected_announcements(list(ops.values()), keys)
        actual = current_announcements(conn, learner_ids)
        # The operation in flight at the kill may or may not have landed; everything acknowledged has.
        pending = in_flight(records)
        if not final and pending is not None:
            op = next(op for op in workload(SEED, OPERATIONS, list(due_ids())) if op.index == pending)
            if op.kind in ("announce", "withdraw"):
                after = dict(expected)
                apply(after, {"kind": op.kind, **op.__dict__}, keys)
                if actual[op.learner] == after[op.learner]:
                    expected[op.learner] = after[op.learner]
        for learner in range(LEARNERS):
            if actual[learner] != expected[learner]:
                problems.append(f"learner{learner}: database has {actual[learner]}, acknowledged {expected[learner]}")
        if final:
            problems += final_problems(conn, records, learner_ids)
    assert problems == [], "\n".join(problems)


def due_ids() -> list[str]:
    return [reminder.id for reminder in load_reminders(CONTENT_DIR / REMINDERS_FILE)]


def project_keys() -> dict[tuple[str, str], str]:
    catalogue = load_projects(CONTENT_DIR / PROJECTS_FILE)
    return {
        (project, track): resolve_project(project, track, catalogue).key  # type: ignore[arg-type]
        for project in ("job-board", "ecommerce", "Pionus Safaris")
        for track in ("frontend", "backend")
    }


# ------------------------------------------------------------------------------------ the test


def test_workload_survives_sigkill_at_seeded_points(tmp_path: Path) -> None:
    started = time.monotonic()
    keys = project_keys()
    bot = Bot(tmp_path)
    plan = kill_plan(SEED)
    bot.start()
    for kill in plan:
        bot.wait_for_ack(kill.after_op, started + TIME_BUDGET)
        time.sleep(kill.delay)
        bot.kill()
        check(bot.db, bot.journal, final=False, keys=keys)
        bot.start()
    bot.finish()
    check(bot.db, bot.journal, final=True, keys=keys)

    records = read_journal(bot.journal)
    ops = acknowledged(records)
    assert sorted(ops) == list(range(OPERATIONS)), "every operation was acknowledged exactly once"
    assert len([record for record in records if "world" in record]) == KILLS + 1
    kinds = {record["kind"] for record in ops.values()}
    assert kinds >= {"announce", "withdraw", "find", "answer", "leave", "unpair", "remind"}
    outcomes = {(record["kind"], record["outcome"]) for record in ops.values()}
    # The workload really did reach the interesting states, not only no-ops.
    for wanted in (("answer", "partnered"), ("answer", "declined"), ("find", "proposed"), ("remind", "sending")):
        assert wanted in outcomes, wanted
    assert time.monotonic() - started < TIME_BUDGET


def test_kill_plan_is_reproducible() -> None:
    assert kill_plan(SEED) == kill_plan(SEED)
    assert len({kill.after_op for kill in kill_plan(SEED)}) == KILLS
    assert workload(SEED, OPERATIONS, due_ids()) == workload(SEED, OPERATIONS, due_ids())
    assert COHORT_START == "2026-01-01"
