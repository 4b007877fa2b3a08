"""Section 4: reminder fan-out bookkeeping: plan the audience, then claim and mark each recipient, no pacing.

This is the database work the reminder runner does around every DM (the DM itself is Discord's time, and the
pacing between DMs is a setting). The baseline is the same statements through raw sqlite3 on the calling thread,
one transaction per claim and per mark, in the same run: what the bookkeeping costs with no async layer at all.
"""

from __future__ import annotations

import secrets
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from bench.harness import CONTENT_DIR, VIRTUAL_EPOCH, BenchError
from bench.report import Goal, Report, number, ratio
from bench.seed import Population, Seeded, cohort_start, create_schema, seed
from bot.reminders import AnnouncedLearner, Roster, Track, plan_recipients, schedule_week
from bot.reminders_content import REMINDERS_FILE, load_reminders
from bot.storage.db import Database
from bot.storage.reminders import RemindersStore

SECTION = "reminders"
GOAL_PER_SECOND = 2000.0
GUILD_ID = 900_000_000_000_000_002
AUDIENCE = "not_announced"


@dataclass(frozen=True)
class Sizes:
    recipients: int


FULL = Sizes(recipients=5000)
QUICK = Sizes(recipients=500)


def roster_of(seeded: Seeded) -> Roster:
    announced = {
        user: AnnouncedLearner(user, key, key, cast(Track, track)) for user, (key, track) in seeded.choice.items()
    }
    return Roster(
        names={user: f"learner {user}" for user in seeded.learners},
        learners=frozenset(seeded.learners),
        staff=frozenset(),
        announced=announced,
        teamed=frozenset(user for pair in seeded.teamed for user in pair),
        opted_out=frozenset(),
    )


async def store_fan_out(store: RemindersStore, roster: Roster, cohort_key: str, reminder_id: str, now: datetime) -> int:
    """What the runner does per recipient, minus the DM: plan, then claim and mark sent, one at a time."""
    recipients = plan_recipients(AUDIENCE, roster, staff_channel=False)
    for message_id, recipient in enumerate(recipients, start=1):
        delivery = await store.claim(GUILD_ID, cohort_key, reminder_id, recipient, secrets.token_hex(12), now)
        if delivery.state != "claimed":
            raise BenchError(f"recipient {recipient} was already {delivery.state}")
        await store.mark_sent(GUILD_ID, cohort_key, reminder_id, recipient, message_id, now)
    return len(recipients)


def raw_fan_out(path: Path, roster: Roster, cohort_key: str, reminder_id: str, now: datetime) -> int:
    """The same statements and transactions through sqlite3 directly, on this thread."""
    recipients = plan_recipients(AUDIENCE, roster, staff_channel=False)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=NORMAL")
        stamp = now.isoformat()
        for message_id, recipient in enumerate(recipients, start=1):
            key = (GUILD_ID, cohort_key, reminder_id, recipient)
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "INSERT OR IGNORE INTO reminder_deliveries (guild_id, cohort_key, reminder_id, recipient, nonce,"
                " state, claimed_at, updated_at) VALUES (?, ?, ?, ?, ?, 'claimed', ?, ?)",
                (*key, secrets.token_hex(12), stamp, stamp),
            )
            connection.execute(
                "SELECT recipient, nonce, state, attempts, reason, kind, next_attempt_at FROM reminder_deliveries"
                " WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ? AND recipient = ?",
                key,
            ).fetchone()
            connection.execute("COMMIT")
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "UPDATE reminder_deliveries SET state = 'sent', message_id = ?, attempts = attempts + 1,"
                " updated_at = ?, next_attempt_at = NULL, reason = NULL, kind = NULL"
                " WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ? AND recipient = ?",
                (message_id, stamp, *key),
            )
            connection.execute("COMMIT")
    finally:
        connection.close()
    return len(recipients)


async def measure_reminders(report: Report, sizes: Sizes) -> None:
    report.say(f"== 4. reminder fan-out bookkeeping: plan + claim + mark for {sizes.recipients:,} recipients")
    week = load_reminders(CONTENT_DIR / REMINDERS_FILE)
    dm = [reminder for reminder in week if reminder.audience == AUDIENCE]
    if len(dm) < 2:
        raise BenchError(f"content has fewer than two `{AUDIENCE}` reminders")
    now = VIRTUAL_EPOCH
    with tempfile.TemporaryDirectory(prefix="nexus-bench-") as folder:
        path = Path(folder) / "nexus.db"
        await create_schema(path)
        announced = sizes.recipients * 2 // 5
        population = Population(
            learners=sizes.recipients + announced,
            announced=announced,
            pairs=announced // 4,
            pending=announced // 40,
            waiting=announced * 3 // 10,
        )
        seeded = seed(path, GUILD_ID, population, content_dir=CONTENT_DIR, now=now)
        roster = roster_of(seeded)
        start = cohort_start(now)
        due = {item.reminder.id: item.due_at for item in schedule_week(week, start, "UTC")}
        database = Database(path)
        await database.connect()
        try:
            store = RemindersStore(database)
            cohort = await store.apply_schedule(GUILD_ID, start, "UTC", due, now)
            for reminder in dm:
                if not await store.begin_sending(GUILD_ID, cohort.key, reminder.id, now, manual=True):
                    raise BenchError(f"could not start {reminder.id}")
            started = time.perf_counter()
            sent = await store_fan_out(store, roster, cohort.key, dm[0].id, now)
            elapsed = time.perf_counter() - started
        finally:
            await database.close()
        started = time.perf_counter()
        raw_sent = raw_fan_out(path, roster, cohort.key, dm[1].id, now)
        raw_elapsed = time.perf_counter() - started
    if sent != sizes.recipients or raw_sent != sent:
        raise BenchError(f"planned {sent} and {raw_sent} recipients, expected {sizes.recipients}")
    rate, raw_rate = sent / elapsed, raw_sent / raw_elapsed
    report.detail(
        f"stores (the bot's Database): {sent:,} recipients in {number(elapsed)} s = {number(rate)}/s; "
        f"raw sqlite3 on one thread (baseline): {number(raw_rate)}/s"
    )
    report.check(Goal(SECTION, "fan-out", rate, GOAL_PER_SECOND, "recipients/s", higher_is_better=True))
    report.summary(f"reminder fan-out ({sent:,} recipients)", rate, "recipients/s", ratio(rate, raw_rate))
