"""The reminders runner: wakes on the scheduler, decides what is due, and delivers each run to its audience exactly
once (paced DMs, a nonce per message, retries for what Discord refused, a progress line for staff)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import discord

from bot.admin import GuildConfig
from bot.charts import CHART_FILENAME
from bot.checkins import CheckinRules, counts_text
from bot.errors import InvalidInput, NotFound
from bot.projects import ProjectNames
from bot.reminders import (
    AUDIENCE_LABELS,
    CHANNEL_RECIPIENT,
    REACHABLE_IN_CHANNEL,
    Cohort,
    Delivery,
    Due,
    FailureKind,
    Reminder,
    RetryPolicy,
    Roster,
    classify_failure,
    clip,
    due_decision,
    failure_reason,
    fallback_mentions,
    lateness_reason,
    placeholder_values,
    plan_recipients,
    progress_every,
    project_names,
    render,
    schedule_week,
)
from bot.storage.checkins import CheckinStore
from bot.storage.matching import MatchingStore
from bot.storage.reminders import RemindersStore
from bot.text import shown
from cogs.common import NexusBot, cohort_config, is_learner, is_staff
from cogs.ops import StaffCharts
from cogs.reminders._formatting import format_digest, format_progress, format_summary, format_when

log = logging.getLogger(__name__)

JOB_PREFIX = "reminders:"
# What one worker, lock and wake-up serve: a guild's cohort (None: a guild with no cohort yet), each on its own
# schedule in its own timezone.
Unit = tuple[int, int | None]


def wake_job(unit: Unit) -> str:
    guild_id, cohort_id = unit
    return JOB_PREFIX + (str(guild_id) if cohort_id is None else f"{guild_id}:{cohort_id}")


CONTENT_LIMIT = 2000
RETRY = RetryPolicy()
# After a wake-up or a run failed (database busy, guild not cached yet), try again this much later.
RETRY_WAKE = timedelta(minutes=5)


class Pacer:
    """Spaces DMs bot-wide: Discord's anti-spam watches the bot's DM rate, whichever guild the DMs are for."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = asyncio.Lock()
        self._last: float | None = None

    async def wait(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            if self._last is not None:
                delay = self._last + self.seconds - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            self._last = loop.time()


class Undeliverable(Exception):
    """The recipient cannot be reached at all (left the server, channel gone): no point retrying."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class Outcome:
    """What one wake-up did, for staff replies and logs."""

    started: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Payload:
    content: str
    embeds: list[discord.Embed]
    mentioned: list[int]  # users the fallback note names (and pings, so they see it)
    files: list[discord.File] = field(default_factory=list)  # the staff summary's chart


class ReminderRunner:
    """One background worker per guild delivers its runs one at a time; the database is the source of truth and
    the scheduler only wakes the runner, so a restart resumes exactly where it stopped."""

    def __init__(
        self,
        bot: NexusBot,
        store: RemindersStore,
        week: tuple[Reminder, ...],
        charts: StaffCharts,
        names: ProjectNames,
    ) -> None:
        self.bot = bot
        self.charts = charts
        self.names = names
        self.store = store
        self.checkins = CheckinStore(
            store.db, MatchingStore(store.db, proposal_ttl_hours=bot.settings.proposal_ttl_hours)
        )
        self.checkin_rules = CheckinRules.from_settings(
            bot.settings.checkin_delay_days, bot.settings.quiet_timeout_hours
        )
        self.week = week
        self.by_id = {reminder.id: reminder for reminder in week}
        self.grace = timedelta(hours=bot.settings.reminder_grace_hours)
        self.pacer = Pacer(bot.settings.dm_pace_seconds)
        self._workers: dict[Unit, asyncio.Task[None]] = {}
        self._locks: defaultdict[Unit, asyncio.Lock] = defaultdict(asyncio.Lock)

    def stop(self) -> None:
        """Cancel the workers and the wake-ups; the database keeps where every run stands."""
        for task in self._workers.values():
            task.cancel()
        for name in self.bot.scheduler.job_names():
            if name.startswith(JOB_PREFIX):
                self.bot.scheduler.cancel(name)

    def cancel_wake(self, guild_id: int, cohort_id: int | None = None) -> None:
        self.bot.scheduler.cancel(wake_job((guild_id, cohort_id)))

    async def unit_config(self, guild_id: int, cohort_id: int | None) -> GuildConfig | None:
        """The server's configuration as the cohort sees it; None when not set up, or the cohort closed or is gone."""
        config = await self.bot.admin_store.get_config(guild_id)
        if config is None or cohort_id is None:
            return config
        cohort = next((c for c in await self.bot.cohort_store.cohorts(guild_id) if c.id == cohort_id), None)
        if cohort is None or not cohort.is_live():
            return None
        return cohort_config(config, cohort)

    async def apply(self, config: GuildConfig, cohort_id: int | None = None) -> Cohort:
        """Bring a cohort's schedule in line with its dates; `config` is the server's as that cohort sees it."""
        scheduled = schedule_week(self.week, config.cohort_start, config.timezone)
        due = {item.reminder.id: item.due_at for item in scheduled}
        return await self.store.apply_schedule(
            config.guild_id, config.cohort_start, config.timezone, due, self.bot.now(), cohort_id
        )

    def arm(self, guild_id: int, when: datetime, cohort_id: int | None = None) -> None:
        self.bot.scheduler.schedule_at(wake_job((guild_id, cohort_id)), when, self._wake, guild_id, cohort_id)

    async def _wake(self, guild_id: int, cohort_id: int | None = None) -> None:
        try:
            await self.process(guild_id, cohort_id)
        except Exception:
            log.exception(
                "reminders wake-up failed guild=%s cohort=%s; trying again in %s", guild_id, cohort_id, RETRY_WAKE
            )
            self.arm(guild_id, self.bot.now() + RETRY_WAKE, cohort_id)

    async def process(self, guild_id: int, cohort_id: int | None = None) -> Outcome:
        """Start what is due, skip what is too late, resume interrupted runs, and arm the next wake-up."""
        await self.bot.wait_until_ready()
        outcome = Outcome()
        unit = (guild_id, cohort_id)
        job = wake_job(unit)
        async with self._locks[unit]:
            config = await self.unit_config(guild_id, cohort_id)
            cohort = await self.store.active_cohort(guild_id, cohort_id)
            if config is None or cohort is None or await self.store.is_paused(guild_id, cohort_id):
                self.bot.scheduler.cancel(job)
                return outcome
            now = self.bot.now()
            working = self._worker_running(unit)
            for run in await self.store.runs(guild_id, cohort.key):
                if run.reminder_id not in self.by_id:
                    continue
                if run.state == "pending":
                    decision = due_decision(run.due_at, now, self.grace)
                    if decision is Due.SKIP:
                        await self.store.skip(
                            guild_id, cohort.key, run.reminder_id, lateness_reason(run.due_at, now), now
                        )
                        outcome.skipped.append(run.reminder_id)
                        log.warning(
                            "reminder skipped guild=%s reminder=%s due=%s", guild_id, run.reminder_id, run.due_at
                        )
                    elif decision is Due.SEND and await self.store.begin_sending(
                        guild_id, cohort.key, run.reminder_id, now
                    ):
                        outcome.started.append(run.reminder_id)
                elif run.state == "sending" and not working:
                    started = run.started_at or run.due_at
                    if due_decision(started, now, self.grace) is Due.SKIP:
                        reason = f"stopped part-way: {lateness_reason(started, now)}"
                        await self.store.skip(guild_id, cohort.key, run.reminder_id, reason, now)
                        outcome.skipped.append(run.reminder_id)
            next_due = await self.store.next_due(guild_id, cohort.key)
            if next_due is None:
                self.bot.scheduler.cancel(job)
            else:
                self.arm(guild_id, max(next_due, now), cohort_id)
            self._ensure_worker(unit)
        return outcome

    def _worker_running(self, unit: Unit) -> bool:
        task = self._workers.get(unit)
        return task is not None and not task.done()

    def _ensure_worker(self, unit: Unit) -> None:
        """Called with the unit's lock held, so a worker that is about to stop cannot miss a new run."""
        if not self._worker_running(unit):
            self._workers[unit] = asyncio.create_task(self._work(unit), name=f"reminders-{unit[0]}-{unit[1]}")

    async def _work(self, unit: Unit) -> None:
        guild_id, cohort_id = unit
        try:
            while True:
                async with self._locks[unit]:
                    config = await self.unit_config(guild_id, cohort_id)
                    cohort = await self.store.active_cohort(guild_id, cohort_id)
                    runs = [] if cohort is None else await self.store.runs(guild_id, cohort.key)
                    sending = [r for r in runs if r.state == "sending" and r.reminder_id in self.by_id]
                    paused = await self.store.is_paused(guild_id, cohort_id)
                    if config is None or cohort is None or not sending or paused:
                        self._workers.pop(unit, None)
                        return
                if not await self._deliver(config, cohort, self.by_id[sending[0].reminder_id]):
                    async with self._locks[unit]:
                        self._workers.pop(unit, None)
                        if not await self.store.is_paused(guild_id, cohort_id):
                            self.arm(guild_id, self.bot.now() + RETRY_WAKE, cohort_id)
                    return
        except Exception:
            log.exception(
                "reminder delivery stopped guild=%s cohort=%s; resuming in %s", guild_id, cohort_id, RETRY_WAKE
            )
            self._workers.pop(unit, None)
            self.arm(guild_id, self.bot.now() + RETRY_WAKE, cohort_id)

    async def _deliver(self, config: GuildConfig, cohort: Cohort, reminder: Reminder) -> bool:
        """Deliver one run to everyone in its audience, exactly once each. False if it stopped (paused, gone)."""
        guild = self.bot.get_guild(config.guild_id)
        if guild is None:
            log.warning("reminders: guild %s is not available; run %s waits", config.guild_id, reminder.id)
            return False
        key = (config.guild_id, cohort.key, reminder.id)
        roster = await self.roster(guild, config, cohort.cohort_id)
        recipients = plan_recipients(reminder.audience, roster, staff_channel=config.staff_channel_id is not None)
        existing = await self.store.deliveries(*key)
        # Anyone claimed earlier is finished first (their message may already be out; the nonce makes that safe).
        unfinished = [r for r, d in existing.items() if d.state == "claimed"]
        todo = unfinished + [r for r in recipients if r not in existing]
        total = len(existing) + len(todo) - len(unfinished)
        await self.store.set_total(*key, total)
        log.info("reminder sending guild=%s reminder=%s to=%d of %d", config.guild_id, reminder.id, len(todo), total)
        report = reminder.is_dm and config.staff_channel_id is not None
        every = progress_every(total)
        if report:
            await self._report_progress(guild, config, cohort, reminder, final=False)
        for index, recipient in enumerate(todo, start=1):
            if not await self._deliver_one(guild, config, cohort, reminder, roster, recipient, retrying=False):
                return False
            if report and index % every == 0 and index < len(todo):
                await self._report_progress(guild, config, cohort, reminder, final=False)
        while True:
            waiting = [d for d in (await self.store.deliveries(*key)).values() if d.state in ("claimed", "retry")]
            if not waiting:
                break
            soonest = min(waiting, key=lambda d: d.next_attempt_at or self.bot.now())
            delay = ((soonest.next_attempt_at or self.bot.now()) - self.bot.now()).total_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
            if not await self._deliver_one(guild, config, cohort, reminder, roster, soonest.recipient, retrying=True):
                return False
        await self.store.finish(*key, self.bot.now())
        if report:
            await self._report_progress(guild, config, cohort, reminder, final=True)
        log.info("reminder sent guild=%s reminder=%s", config.guild_id, reminder.id)
        return True

    async def _deliver_one(
        self,
        guild: discord.Guild,
        config: GuildConfig,
        cohort: Cohort,
        reminder: Reminder,
        roster: Roster,
        recipient: int,
        *,
        retrying: bool,
    ) -> bool:
        """Claim, send, mark. False when reminders were paused meanwhile: the run stops and nothing is claimed."""
        key = (config.guild_id, cohort.key, reminder.id)
        if recipient != CHANNEL_RECIPIENT:
            await self.pacer.wait()
        # Checked after the pacing wait, which can be long: a pause stops the run before the next message.
        if await self.store.is_paused(config.guild_id, cohort.cohort_id):
            return False
        # Discord accepts nonces of up to 25 characters; 24 hex digits are unique enough per message.
        delivery = await self.store.claim(*key, recipient, secrets.token_hex(12), self.bot.now())
        if delivery.state in ("sent", "failed"):
            return True
        if not retrying and delivery.state == "retry":
            return True  # its turn comes in the retry loop, after everyone else has had theirs
        try:
            message = await self._send(guild, config, cohort, reminder, roster, recipient, delivery.nonce)
        except Undeliverable as problem:
            await self.store.mark_failed(
                *key, recipient, kind=problem.kind.value, reason=problem.reason, now=self.bot.now()
            )
        except discord.HTTPException as error:
            await self._record_http_failure(key, recipient, delivery, error)
        except Exception:
            # A bug must not stall the run or send twice: record it for staff and move on.
            log.exception("reminder delivery crashed guild=%s reminder=%s to=%s", key[0], key[2], recipient)
            await self.store.mark_failed(
                *key, recipient, kind=FailureKind.OTHER.value, reason="internal error (logged)", now=self.bot.now()
            )
        else:
            await self.store.mark_sent(*key, recipient, message.id, self.bot.now())
        return True

    async def _record_http_failure(
        self, key: tuple[int, str, str], recipient: int, delivery: Delivery, error: discord.HTTPException
    ) -> None:
        now = self.bot.now()
        kind = classify_failure(error.status, error.code)
        attempts = delivery.attempts + 1
        if kind is FailureKind.TRANSIENT and not RETRY.gives_up(attempts):
            retry_after = getattr(error, "retry_after", None)
            delay = RETRY.delay(attempts, retry_after if isinstance(retry_after, float) else None)
            reason = failure_reason(kind, error.status, error.code)
            await self.store.mark_retry(
                *key, recipient, reason=reason, next_attempt_at=now + timedelta(seconds=delay), now=now
            )
            log.info("reminder delivery will retry guild=%s to=%s in %.0fs: %s", key[0], recipient, delay, reason)
            return
        if kind is FailureKind.TRANSIENT:
            kind = FailureKind.GAVE_UP
        reason = failure_reason(kind, error.status, error.code)
        await self.store.mark_failed(*key, recipient, kind=kind.value, reason=reason, now=now)
        log.warning("reminder delivery failed guild=%s reminder=%s to=%s: %s", key[0], key[2], recipient, reason)

    async def _send(
        self,
        guild: discord.Guild,
        config: GuildConfig,
        cohort: Cohort,
        reminder: Reminder,
        roster: Roster,
        recipient: int,
        nonce: str,
    ) -> discord.Message:
        """One message. discord.py sends `nonce` with enforce_nonce, so Discord drops a repeat of a post it has."""
        if recipient == CHANNEL_RECIPIENT:
            channel_id = config.staff_channel_id if reminder.audience == "staff" else config.channel_id
            channel = guild.get_channel(channel_id) if channel_id else None
            if not isinstance(channel, discord.TextChannel):
                raise Undeliverable(FailureKind.FORBIDDEN, "the configured channel no longer exists")
            fallback: list[int] = []
            if reminder.audience == "channel":
                learner_dms = [r.id for r in self.week if r.is_dm]
                kinds = sorted(REACHABLE_IN_CHANNEL)
                fallback = await self.store.unreported(config.guild_id, cohort.key, kinds, learner_dms)
            payload = await self.compose(config, cohort, reminder, roster, None, fallback=fallback)
            # Only the people the fallback note names are pinged, so they notice; nothing else in a post pings.
            mentions = discord.AllowedMentions(
                everyone=False, roles=False, replied_user=False, users=[discord.Object(u) for u in payload.mentioned]
            )
            message = await channel.send(
                payload.content, embeds=payload.embeds, files=payload.files, nonce=nonce, allowed_mentions=mentions
            )
            await self.store.mark_reported(config.guild_id, cohort.key, payload.mentioned, reminder.id)
            return message
        member = guild.get_member(recipient)
        if member is None:
            raise Undeliverable(FailureKind.LEFT, failure_reason(FailureKind.LEFT))
        reader = recipient if reminder.is_dm else None
        payload = await self.compose(config, cohort, reminder, roster, reader)
        return await member.send(payload.content, embeds=payload.embeds, files=payload.files, nonce=nonce)

    async def compose(
        self,
        config: GuildConfig,
        cohort: Cohort,
        reminder: Reminder,
        roster: Roster,
        reader: int | None,
        *,
        fallback: list[int] | None = None,
    ) -> Payload:
        values = placeholder_values(reminder, roster, reader, channel_mention=f"<#{config.channel_id}>")
        content = clip(render(reminder.message, values).strip(), CONTENT_LIMIT)
        mentioned: list[int] = []
        if fallback:
            note, mentioned = fallback_mentions(fallback, CONTENT_LIMIT - len(content) - 2)
            content = f"{content}\n\n{note}"
        embeds: list[discord.Embed] = []
        files: list[discord.File] = []
        if "digest" in reminder.blocks:
            embeds.append(format_digest(roster))
        if "summary" in reminder.blocks:
            failures = await self.store.failures(config.guild_id, cohort.key)
            skipped = await self.store.skipped(config.guild_id, cohort.key)
            summary = format_summary(roster, failures, skipped)
            # Teams formed in week one have had their first check-in by the summary's morning.
            counts = await self.checkins.answer_counts(
                config.guild_id, self.bot.now(), self.checkin_rules, cohort.cohort_id
            )
            summary.add_field(name="Partnership check-ins", value=counts_text(counts), inline=False)
            report = await self.charts.report(config.guild_id, config, cohort.cohort_id)
            files.append(await self.charts.chart(report))
            embeds.append(summary.set_image(url=f"attachment://{CHART_FILENAME}"))
        return Payload(content, embeds, mentioned, files)

    async def roster(self, guild: discord.Guild, config: GuildConfig, cohort_id: int | None = None) -> Roster:
        """Who a cohort's reminders are for (None: a guild with no cohort yet); `config` as the cohort sees it."""
        if not guild.chunked:
            await guild.chunk()
        members = [member for member in guild.members if not member.bot]
        announced = await self.store.announced(guild.id, cohort_id)
        learners = frozenset(member.id for member in members if is_learner(member, config))
        # Without a learner role, only a learner's announcement tells their cohort apart from another one's; with one
        # cohort, everyone who is not staff is still its learner, as before cohorts.
        if (
            cohort_id is not None
            and config.learner_role_id is None
            and len(await self.bot.cohort_store.cohorts(guild.id)) > 1
        ):
            learners = learners & {learner.user_id for learner in announced}
        return Roster(
            names={member.id: shown(member.display_name, 80) for member in members},
            learners=learners,
            staff=frozenset(member.id for member in members if is_staff(member, config)),
            announced={learner.user_id: learner for learner in announced},
            teamed=await self.store.teamed(guild.id, cohort_id),
            opted_out=await self.store.opted_out(guild.id),
            # One display name per project, as every other reply gives it; custom names are typed by people, so
            # they are shown as typed, never as formatting (member names likewise).
            project_names=project_names(announced, lambda key, name: shown(self.names(key, name), 100)),
        )

    async def _report_progress(
        self, guild: discord.Guild, config: GuildConfig, cohort: Cohort, reminder: Reminder, *, final: bool
    ) -> None:
        """Post, then edit, one "sending n/m" message in the staff channel; it survives restarts by id."""
        channel = guild.get_channel(config.staff_channel_id) if config.staff_channel_id else None
        run = await self.store.run(config.guild_id, cohort.key, reminder.id)
        if not isinstance(channel, discord.TextChannel) or run is None:
            return
        progress = (await self.store.progress(config.guild_id, cohort.key)).get(reminder.id)
        if progress is None:
            return
        text = format_progress(reminder, progress.done, progress.failed, run.total, final=final)
        try:
            if run.progress_message_id is not None:
                await channel.get_partial_message(run.progress_message_id).edit(
                    content=text, allowed_mentions=discord.AllowedMentions.none()
                )
            else:
                message = await channel.send(text)
                await self.store.set_progress_message(config.guild_id, cohort.key, reminder.id, message.id)
        except discord.HTTPException:
            log.warning("could not report reminder progress guild=%s", config.guild_id, exc_info=True)

    async def send_now(self, config: GuildConfig, reminder: Reminder, cohort_id: int | None = None) -> str:
        """`/reminders send`: start a run by hand (each person still gets it once), or say why it can't start."""
        guild_id = config.guild_id
        unit = (guild_id, cohort_id)
        async with self._locks[unit]:
            if await self.store.is_paused(guild_id, cohort_id):
                raise InvalidInput("Reminders are paused in this server: run `/reminders resume` first.")
            cohort = await self.store.active_cohort(guild_id, cohort_id) or await self.apply(config, cohort_id)
            run = await self.store.run(guild_id, cohort.key, reminder.id)
            if run is None:
                raise NotFound(f"`{reminder.id}` is not scheduled for this cohort yet; try again in a moment.")
            if run.state == "sent":
                return f"`{reminder.id}` was already sent{format_when(run.finished_at)}; nobody gets it twice."
            if run.state == "sending" or not await self.store.begin_sending(
                guild_id, cohort.key, reminder.id, self.bot.now(), manual=True
            ):
                return f"`{reminder.id}` is already being sent: `/reminders schedule` shows how far it is."
            self._ensure_worker(unit)
            next_due = await self.store.next_due(guild_id, cohort.key)
            if next_due is None:
                self.bot.scheduler.cancel(wake_job(unit))
            else:
                self.arm(guild_id, max(next_due, self.bot.now()), cohort_id)
        log.info("reminder sent by hand guild=%s reminder=%s", guild_id, reminder.id)
        return (
            f"Sending `{reminder.id}` now to {AUDIENCE_LABELS[reminder.audience]}. Anyone who already has it is "
            "skipped; `/reminders schedule` shows the progress."
        )
