"""The real bot under SimCord on an on-disk database, driven through a seeded workload; killed and restarted by
tests/test_reliability_crash.py.

Usage: python -m tests.crash_driver DB_PATH JOURNAL_PATH SEED OPERATIONS

Every start builds the same simulated world (same creation order at the same virtual instant, so the same ids),
then resumes the workload after the last operation the journal records as acknowledged. An operation is journaled
only after the bot answered it (flush + fsync), so the journal is what a learner saw. SimCord's world is new at each
start (Discord would have kept messages and DMs); the database is what persists. Learners therefore answer a
proposal with the buttons in their DM when it was sent in this world, and otherwise with the same buttons that
`/match status` shows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import discord

from bot import Settings, create_bot
from bot.playground import scheduler_follows_virtual_clock
from bot.reminders_content import REMINDERS_FILE, load_reminders
from tests.conftest import CONTENT_DIR
from tests.nexus_env import NexusEnv
from tests.reminders_helpers import MARKERS

LEARNERS = 16
PROJECTS = ("job-board", "ecommerce", "Pionus Safaris")
# Most announcements repeat the learner's usual project and track with a new summary (matching keeps them);
# the rest move them elsewhere (matching drops their pool place and pending proposal).
MOVE_CHANCE = 0.25
TRACKS = ("frontend", "backend")
COHORT_START = "2026-01-01"
# Relative frequency of each kind of operation in the workload.
WEIGHTS = {
    "announce": 22,
    "find": 22,
    "answer": 28,
    "withdraw": 5,
    "leave": 4,
    "unpair": 6,
    "remind": 6,
    "me": 7,
}
ANSWERS = ("accept", "accept", "accept", "decline", "leave")
BUTTON = re.compile(r"nexus:proposal:(?P<proposal>\d+):(?P<user>\d+):(?P<action>accept|decline|leave)")
EXIT_VIOLATION = 3
EXIT_WORLD_CHANGED = 4


@dataclass(frozen=True)
class Op:
    index: int
    kind: str
    learner: int = 0
    project: str = ""
    track: str = ""
    summary: str = ""
    action: str = ""
    reminder: str = ""


def workload(seed: int, count: int, reminder_ids: list[str]) -> list[Op]:
    """The same operations in the same order for a given seed, whatever happens when they run."""
    rng = random.Random(seed)
    kinds = list(WEIGHTS)
    home = [(rng.choice(PROJECTS), TRACKS[learner % 2]) for learner in range(LEARNERS)]
    ops: list[Op] = []
    for index in range(count):
        kind = rng.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]
        learner = rng.randrange(LEARNERS)
        if kind == "announce":
            project, track = home[learner]
            if rng.random() < MOVE_CHANCE:
                project, track = rng.choice(PROJECTS), rng.choice(TRACKS)
            # A summary unique to this operation: the database shows exactly which announce is current.
            op = Op(index, kind, learner, project, track, f"op {index}: {rng.random():.6f}")
        elif kind == "answer":
            op = Op(index, kind, learner, action=rng.choice(ANSWERS))
        elif kind == "remind":
            op = Op(index, kind, reminder=rng.choice(reminder_ids))
        else:
            op = Op(index, kind, learner)
        ops.append(op)
    return ops


class Journal:
    """Append-only JSON lines; an acknowledged operation is on disk (fsync) before the next one starts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._drop_torn_tail()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _drop_torn_tail(self) -> None:
        # A kill in the middle of a write leaves half a line: cut it, so the next record starts on its own line.
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            self.path.write_bytes(data[: data.rfind(b"\n") + 1])

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def write(self, record: dict[str, Any], *, sync: bool = True) -> None:
        os.write(self._fd, (json.dumps(record, sort_keys=True) + "\n").encode("utf-8"))
        if sync:
            os.fsync(self._fd)


@dataclass
class World:
    env: Any
    guild: Any
    channel: Any
    learner_role: Any
    staff_role: Any
    staff: Any
    learners: list[Any]

    def ids(self) -> dict[str, Any]:
        return {
            "guild": self.guild.id,
            "channel": self.channel.id,
            "learner_role": self.learner_role.id,
            "staff_role": self.staff_role.id,
            "staff": self.staff.id,
            "learners": [member.id for member in self.learners],
        }


def build_world(env: Any) -> World:
    """Created in the same order every time, at the same virtual instant: SimCord hands out the same ids."""
    guild = env.create_guild("Nexus crash test")
    channel = guild.create_text_channel("prodevprojectnexus")
    staff_role = guild.create_role("Staff")
    learner_role = guild.create_role("Learner")
    admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
    staff = guild.add_member(env.create_user("coordinator"), roles=[admin_role, staff_role])
    learners = [guild.add_member(env.create_user(f"learner{i}"), roles=[learner_role]) for i in range(LEARNERS)]
    return World(env, guild, channel, learner_role, staff_role, staff, learners)


def texts(result: Any) -> str:
    parts: list[str] = []
    for message in [result.response, *result.followups]:
        if message is None:
            continue
        parts.append(message.content or "")
        parts += [embed.description or "" for embed in message.embeds]
    return "\n".join(parts)


def components_of(message: Any) -> list[str]:
    found: list[str] = []
    for row in message.components:
        rows = row.get("components", []) if isinstance(row, dict) else [*getattr(row, "children", [])]
        for child in rows:
            custom_id = child.get("custom_id") if isinstance(child, dict) else getattr(child, "custom_id", None)
            if custom_id:
                found.append(str(custom_id))
    return found


class Driver:
    def __init__(self, env: Any, world: World) -> None:
        self.env = env
        self.world = world
        self.names = {f"learner{i}": i for i in range(LEARNERS)}

    async def run(self, op: Op) -> dict[str, Any]:
        member = self.world.learners[op.learner]
        handler = getattr(self, f"op_{op.kind}")
        outcome: dict[str, Any] = await handler(op, member)
        return outcome

    async def op_announce(self, op: Op, member: Any) -> dict[str, Any]:
        result = await member.slash(
            self.world.channel, "announce", project=op.project, track=op.track, summary=op.summary
        )
        answer = texts(result)
        if "Recorded" in answer:
            return {"outcome": "recorded"}
        if "Nothing changed" in answer:
            return {"outcome": "unchanged"}
        return {"outcome": "other", "text": answer[:200]}

    async def op_withdraw(self, op: Op, member: Any) -> dict[str, Any]:
        prompt = await member.slash(self.world.channel, "withdraw")
        if prompt.response is None or not prompt.response.components:
            return {"outcome": "none"}
        confirmed = await member.click(prompt.response, label="Confirm")
        answer = texts(confirmed)
        return {"outcome": "withdrawn" if answer.startswith("Withdrawn") else "none"}

    async def op_find(self, op: Op, member: Any) -> dict[str, Any]:
        answer = texts(await member.slash(self.world.channel, "match find"))
        if "Found you a possible partner" in answer:
            partner = re.search(r"\*\*(learner\d+)\*\*", answer)
            return {"outcome": "proposed", "partner": self.names[partner.group(1)] if partner else None}
        for marker, outcome in (
            ("already have a pending proposal", "already-proposed"),
            ("already have a partner", "partnered"),
            ("in the pool", "waiting"),
            ("haven't announced", "not-announced"),
        ):
            if marker in answer:
                return {"outcome": outcome}
        return {"outcome": "other", "text": answer[:200]}

    async def op_answer(self, op: Op, member: Any) -> dict[str, Any]:
        # The first learner, counting from this op's, who has a live proposal in this world's DMs answers it;
        # if nobody has, this op's learner looks at `/match status`.
        order = [self.world.learners[(op.learner + step) % LEARNERS] for step in range(LEARNERS)]
        clicked = None
        for candidate in order:
            clicked = await self.click_in_dms(candidate, op.action)
            if clicked is not None:
                member = candidate
                break
        else:
            clicked = await self.click_in_status(member, op.action)
        if clicked is None:
            return {"outcome": "no-proposal"}
        result, proposal_id, via = clicked
        answer = texts(result)
        outcome = "other"
        for marker, name in (
            ("both accepted: you're partners", "partnered"),
            ("You accepted. Waiting", "accepted"),
            ("You declined and left the pool", "left"),
            ("You declined. You stay", "declined"),
            ("no longer open", "closed"),
        ):
            if marker in answer:
                outcome = name
                break
        return {
            "outcome": outcome,
            "answered_by": self.world.learners.index(member),
            "proposal": proposal_id,
            "via": via,
            "text": answer[:120],
        }

    async def click_in_dms(self, member: Any, action: str) -> tuple[Any, int, str] | None:
        """The newest proposal copy in this world's DMs that still has its buttons."""
        for message in reversed(member.user.dm_channel.history()):
            for custom_id in components_of(message):
                match = BUTTON.fullmatch(custom_id)
                if match and match["action"] == action and int(match["user"]) == member.id:
                    result = await member.user.click(message, custom_id=custom_id)
                    return result, int(match["proposal"]), "dm"
        return None

    async def click_in_status(self, member: Any, action: str) -> tuple[Any, int, str] | None:
        """The copy `/match status` offers: the way to answer a proposal whose DM is gone."""
        status = await member.slash(self.world.channel, "match status")
        if status.response is None:
            return None
        for custom_id in components_of(status.response):
            match = BUTTON.fullmatch(custom_id)
            if match and match["action"] == action:
                result = await member.click(status.response, custom_id=custom_id)
                return result, int(match["proposal"]), "status"
        return None

    async def op_leave(self, op: Op, member: Any) -> dict[str, Any]:
        answer = texts(await member.slash(self.world.channel, "match leave"))
        return {"outcome": "left" if "left the pool" in answer or "left the matching pool" in answer else "none"}

    async def op_unpair(self, op: Op, member: Any) -> dict[str, Any]:
        prompt = await member.slash(self.world.channel, "match unpair")
        if prompt.response is None or not prompt.response.components:
            return {"outcome": "none"}
        done = texts(await member.click(prompt.response, label="Unpair"))
        return {"outcome": "unpaired" if "no longer partners" in done else "other", "text": done[:120]}

    async def op_remind(self, op: Op, member: Any) -> dict[str, Any]:
        answer = texts(await self.world.staff.slash(self.world.channel, "reminders send", id=op.reminder))
        outcome = "other"
        for marker, name in (
            ("now to", "sending"),
            ("already sent", "sent-before"),
            ("already being sent", "in-progress"),
        ):
            if marker in answer:
                outcome = name
                break
        return {"outcome": outcome, "text": answer[:120]}

    async def op_me(self, op: Op, member: Any) -> dict[str, Any]:
        result = await member.slash(self.world.channel, "me")
        return {"outcome": "ok" if result.response and result.response.embeds else "other"}

    def duplicates(self) -> list[str]:
        """Any reminder that reached one recipient twice in this world."""
        found: list[str] = []
        places = [(m.name, m.user.dm_channel) for m in [*self.world.learners, self.world.staff]]
        places.append(("channel", self.world.channel))
        for name, channel in places:
            contents = [message.content for message in channel.history() if message.author.bot]
            for reminder_id, marker in MARKERS.items():
                count = sum(marker in content for content in contents)
                if count > 1:
                    found.append(f"{reminder_id} reached {name} {count} times")
        return found


async def main(db_path: Path, journal_path: Path, seed: int, count: int) -> int:
    reminders = [reminder.id for reminder in load_reminders(CONTENT_DIR / REMINDERS_FILE)]
    ops = workload(seed, count, reminders)
    journal = Journal(journal_path)
    records = journal.records()
    acknowledged = {record["op"] for record in records if "op" in record}
    worlds = [record for record in records if "world" in record]
    settings = Settings(
        db_path=db_path,
        content_dir=CONTENT_DIR,
        heartbeat_path=db_path.with_suffix(".heartbeat"),
        dm_pace_seconds=0.0,
        command_cooldown_seconds=0.0,
        # A new simulated Discord at every start has no commands registered yet.
        sync_commands="always",
    )
    bot = create_bot(settings)
    with scheduler_follows_virtual_clock():
        env = NexusEnv(bot, check_errors=False)
        # The world exists before the bot connects, as Discord's does: its guild arrives with READY.
        world = build_world(env)
        if worlds and worlds[0]["ids"] != world.ids():
            print(f"world ids changed: {worlds[0]['ids']} != {world.ids()}", file=sys.stderr, flush=True)
            return EXIT_WORLD_CHANGED
        journal.write({"world": len(worlds), "ids": world.ids()})
        await env.start()
        try:
            with env.time_context():
                configured = await bot.admin_store.get_config(world.guild.id) is not None
                code = await drive(env, world, journal, ops, acknowledged, configure=not configured)
        finally:
            await env.shutdown()
            bot.scheduler.shutdown()
            await bot.db.close()
    if code == 0:
        print("DONE", flush=True)
    return code


async def drive(env: Any, world: World, journal: Journal, ops: list[Op], done: set[int], *, configure: bool) -> int:
    if configure:
        setup = await world.staff.slash(
            world.channel,
            "nexus setup",
            channel=world.channel,
            cohort_start=COHORT_START,
            timezone="UTC",
            learner_role=world.learner_role,
            staff_role=world.staff_role,
        )
        assert "Saved" in texts(setup), texts(setup)
    driver = Driver(env, world)
    for op in ops:
        if op.index in done:
            continue
        journal.write({"begin": op.index}, sync=False)
        outcome = await driver.run(op)
        problems = [repr(error) for error in env.errors]
        if op.kind == "remind":
            problems += driver.duplicates()
        if problems:
            journal.write({"violation": problems, "at": op.index})
            return EXIT_VIOLATION
        journal.write({"op": op.index, **asdict(op), **outcome})
    await env.settle()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
