"""The playground: the real bot against a simulated Discord (SimCord), served as a local web page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import discord

from bot.app import NexusBot, create_bot
from bot.health import run_until_signalled
from bot.settings import Settings

log = logging.getLogger(__name__)

CHANNEL_NAME = "prodevprojectnexus"


@dataclass(frozen=True)
class DemoLearner:
    name: str
    track: str
    # Announced at start-up (when /announce exists), so the board and /match find have someone to show.
    project: str | None = None
    summary: str | None = None


DEMO_LEARNERS: tuple[DemoLearner, ...] = (
    DemoLearner("ada", "backend"),
    DemoLearner("grace", "frontend", "ecommerce", "Product grid with filters and a cart that survives reloads"),
    DemoLearner("linus", "backend", "job-board", "Django REST API with JWT auth and Celery e-mails"),
    DemoLearner("margaret", "frontend"),
)


PLAYGROUND_TIP = (
    "You are Ada (backend); pick another person in the page's viewer menu (Coordinator is staff). "
    "Try /help, /topic django, /announce project:ecommerce track:backend, then /match find: Grace is waiting."
)


class PlaygroundUnavailable(RuntimeError):
    """The playground cannot start (extra not installed, port taken); the message says what to do."""


@dataclass
class PlaygroundWorld:
    env: Any
    guild: Any
    channel: Any
    staff: Any
    learners: list[Any]


@dataclass
class Playground:
    world: PlaygroundWorld
    preview: Any
    bot: NexusBot

    @property
    def url(self) -> str:
        return str(self.preview.url)


def playground_settings(settings: Settings) -> Settings:
    # A separate database and heartbeat so trying things out never touches real data or fakes a healthy bot; the
    # virtual Discord is new each run, so commands are always synced to it.
    folder = settings.db_path.parent
    return settings.with_overrides(
        db_path=folder / "playground.db",
        heartbeat_path=folder / "playground.heartbeat",
        sync_commands="always",
        dm_pace_seconds=0.0,
        command_cooldown_seconds=0.0,
    )


async def build_world(env: Any) -> PlaygroundWorld:
    guild = env.create_guild("Project Nexus (playground)")
    channel = guild.create_text_channel(CHANNEL_NAME, topic="Announce your project and find your partner")
    staff_role = guild.create_role("Staff", permissions=discord.Permissions(manage_guild=True))
    learner_role = guild.create_role("Learner")
    staff = guild.add_member(env.create_user("coordinator", global_name="Coordinator (staff)"), roles=[staff_role])
    learners = [
        guild.add_member(
            env.create_user(demo.name, global_name=f"{demo.name.title()} ({demo.track})"), roles=[learner_role]
        )
        for demo in DEMO_LEARNERS
    ]
    today = env.now().date().isoformat()
    result = await staff.slash(
        channel,
        "nexus setup",
        channel=channel,
        cohort_start=today,
        timezone="UTC",
        learner_role=learner_role,
        staff_role=staff_role,
    )
    if result.response is None or "Saved" not in (result.response.content or ""):
        raise PlaygroundUnavailable(f"/nexus setup failed in the playground: {result.response}")
    world = PlaygroundWorld(env=env, guild=guild, channel=channel, staff=staff, learners=learners)
    await seed_demo(world)
    return world


async def seed_demo(world: PlaygroundWorld) -> None:
    """Announce (and queue for matching) the demo learners that have a project, if those commands exist yet."""
    for member, demo in zip(world.learners, DEMO_LEARNERS, strict=True):
        if demo.project is None:
            continue
        announced = await try_command(
            world, member, "announce", project=demo.project, track=demo.track, summary=demo.summary
        )
        if announced:
            await try_command(world, member, "match find")


async def try_command(world: PlaygroundWorld, member: Any, name: str, **options: Any) -> bool:
    """Run a demo command; a command that does not exist (yet) or rejects the demo options is skipped, not fatal."""
    import simcord

    if world.env.bot.tree.get_command(name.split()[0]) is None:
        log.info("playground: /%s is not available; demo step skipped", name)
        return False
    try:
        result = await member.slash(world.channel, name, **options)
    except simcord.SetupError as error:
        log.warning("playground: demo /%s failed: %s", name, error)
        return False
    return result.response is not None


class _VirtualDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Any:
        return discord.utils.utcnow().astimezone(tz)


@contextmanager
def scheduler_follows_virtual_clock() -> Iterator[None]:
    """APScheduler 3 compares jobs with the real datetime.now(); in the playground time is SimCord's virtual clock.

    Without this, every job the bot plans for later in the (virtual) week would look overdue and run at once.
    """
    from apscheduler.schedulers import base

    original = base.datetime
    base.datetime = _VirtualDatetime
    try:
        yield
    finally:
        base.datetime = original


@asynccontextmanager
async def open_playground(settings: Settings, *, port: int = 0) -> AsyncIterator[Playground]:
    """The bot on a fresh playground database, a configured world and its web page on 127.0.0.1:`port`.

    Port 0 picks a free port. Leaving the block closes the page, the simulated Discord and the database.
    """
    try:
        import simcord
    except ImportError as error:
        raise PlaygroundUnavailable(
            f"the playground needs SimCord ({error.name} is missing): pip install 'nexus-bot[playground]'"
        ) from error

    settings = playground_settings(settings)
    for suffix in ("", "-wal", "-shm"):
        settings.db_path.with_name(settings.db_path.name + suffix).unlink(missing_ok=True)
    bot = create_bot(settings)
    try:
        # A bot error in the playground is logged and shown on the page; it must not end the session.
        with scheduler_follows_virtual_clock():
            async with simcord.run(bot, check_errors=False) as env, AsyncExitStack() as stack:
                world = await build_world(env)
                viewers = [*world.learners, world.staff]
                try:
                    preview = await stack.enter_async_context(
                        env.preview(world.channel, viewers=viewers, layout="channel", port=port)
                    )
                except simcord.SetupError as error:
                    hint = " (pick another with --port or NEXUS_PLAYGROUND_PORT)" if "port" in str(error) else ""
                    raise PlaygroundUnavailable(f"cannot serve the playground page: {error}{hint}") from error
                yield Playground(world=world, preview=preview, bot=bot)
    finally:
        bot.scheduler.shutdown()
        await bot.db.close()


async def serve(settings: Settings, *, port: int) -> None:
    """Serve the playground until Ctrl-C, SIGTERM or "End preview session" on the page."""
    async with open_playground(settings, port=port) as playground:
        print(f"Playground ready: open {playground.url}  (Ctrl-C to stop)", flush=True)
        print(PLAYGROUND_TIP, flush=True)
        await run_until_signalled(playground.preview.wait_closed(), playground.preview.close)
