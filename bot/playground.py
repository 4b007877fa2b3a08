"""The playground: the real bot against a simulated Discord (SimCord), served as a local web page."""

from __future__ import annotations

import asyncio
import fcntl
import html
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import discord

from bot.app import NexusBot, create_bot
from bot.health import run_until_signalled
from bot.settings import Settings

log = logging.getLogger(__name__)

CHANNEL_NAME = "prodevprojectnexus"
BOT_NAME = "Nexus"


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
    "Open #prodevprojectnexus as Ada (backend) and run /announce project:ecommerce track:backend, then /match find: "
    "Grace is waiting. Back on this page, Ada's and Grace's direct messages now hold the proposal: open each and "
    "click Accept. Their private team thread then appears under both. Coordinator is staff (/nexus stats)."
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
    page: PlaygroundPage
    bot: NexusBot

    @property
    def url(self) -> str:
        """The page listing each person and the places they can see."""
        return self.page.url

    @property
    def preview(self) -> Any:
        """SimCord's preview of the place shown last (the channel as Ada at first)."""
        return self.page.preview


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
    staff = guild.add_member(env.create_user("coordinator", global_name="Coordinator"), roles=[staff_role])
    learners = [
        guild.add_member(
            # Plain names: Nexus itself says which track someone is on ("Grace (frontend)"), so a name carrying it
            # would read twice in every reply.
            env.create_user(demo.name, global_name=demo.name.title()),
            roles=[learner_role],
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


@dataclass(frozen=True)
class Place:
    """Somewhere a person can look: the channel, their DMs with the bot, or a thread they can see."""

    channel_id: int
    title: str
    kind: str  # "channel", "dm" or "thread"
    messages: int


class PlaygroundPage:
    """The page a visitor opens: each person and the places they can see, one click to look there as them.

    SimCord serves one preview of one channel at a time, so opening a place closes the current preview and starts
    another on that channel (its own URL, on a free port); the browser is sent there.
    """

    def __init__(self) -> None:
        self._world: PlaygroundWorld | None = None  # set once the simulated server is built
        self.preview: Any = None
        self._preview_stack: AsyncExitStack | None = None
        self._switch = asyncio.Lock()
        self.runner: Any = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def world(self) -> PlaygroundWorld:
        if self._world is None:
            raise PlaygroundUnavailable("the playground is still starting")
        return self._world

    @world.setter
    def world(self, world: PlaygroundWorld) -> None:
        self._world = world

    def people(self) -> list[Any]:
        return [*self.world.learners, self.world.staff]

    def role_of(self, member: Any) -> str:
        tracks = {learner.id: demo.track for learner, demo in zip(self.world.learners, DEMO_LEARNERS, strict=True)}
        return tracks.get(member.id, "staff")

    def places_for(self, member: Any) -> list[Place]:
        import simcord

        channel = self.world.channel
        places = [Place(channel.id, f"#{channel.name}", "channel", len(channel.history(viewer=member)))]
        dms = member.user.dm_channel.history()
        if dms:
            places.append(Place(member.user.dm_channel.id, "Direct messages with Nexus", "dm", len(dms)))
        for thread in channel.threads:
            try:
                seen = thread.history(viewer=member)
            except simcord.SetupError:  # a private thread this person is not in
                continue
            places.append(Place(thread.id, f"Thread: {thread.name}", "thread", len(seen)))
        return places

    def _handle(self, channel_id: int) -> Any:
        world = self.world
        if channel_id == world.channel.id:
            return world.channel
        for thread in world.channel.threads:
            if thread.id == channel_id:
                return thread
        for member in self.people():
            if member.user.dm_channel.id == channel_id:
                return member.user.dm_channel
        raise KeyError(channel_id)

    async def show(self, channel_id: int, person_id: int) -> str:
        """Point the preview at one place as one person (others who can see it stay in its viewer menu)."""
        import simcord

        async with self._switch:
            place = self._handle(channel_id)
            person = next(member for member in self.people() if member.id == person_id)
            if place.guild is None:  # a DM: only its owner can look
                viewers = [person.user]
            else:
                viewers = [person]
                for member in self.people():
                    if member is person:
                        continue
                    try:
                        place.history(viewer=member)
                    except simcord.SetupError:
                        continue
                    viewers.append(member)
            await self.close_preview()
            stack = AsyncExitStack()
            try:
                self.preview = await stack.enter_async_context(
                    self.world.env.preview(place, viewers=viewers, layout="channel", port=0)
                )
            except BaseException:
                await stack.aclose()
                raise
            self._preview_stack = stack
            return str(self.preview.url)

    async def close_preview(self) -> None:
        if self._preview_stack is not None:
            stack, self._preview_stack, self.preview = self._preview_stack, None, None
            await stack.aclose()

    async def start(self, port: int) -> None:
        """Bind the page's port; a taken port means another playground (or program) is there: leave it alone."""
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/open", self._open)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=False)
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise PlaygroundUnavailable(
                f"port {port} on 127.0.0.1 is taken ({error.strerror}): if a playground runs there, open "
                f"http://127.0.0.1:{port}/ ; to run another, pick another port with --port or NEXUS_PLAYGROUND_PORT"
            ) from error
        self.runner = runner
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        await self.close_preview()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def _index(self, request: Any) -> Any:
        from aiohttp import web

        return web.Response(text=self.render(), content_type="text/html")

    async def _open(self, request: Any) -> Any:
        from aiohttp import web

        try:
            channel_id, person_id = int(request.query["place"]), int(request.query["as"])
            url = await self.show(channel_id, person_id)
        except (KeyError, ValueError, StopIteration):
            raise web.HTTPNotFound(text="That place is gone; go back and reload the list.") from None
        raise web.HTTPSeeOther(url)

    def render(self) -> str:
        cards = []
        for member in self.people():
            links = "".join(
                f'<li class="{place.kind}"><a target="nexus-preview" href="/open?place={place.channel_id}'
                f'&amp;as={member.id}">{html.escape(place.title)}</a> <span>{place.messages} '
                f"{'message' if place.messages == 1 else 'messages'}</span></li>"
                for place in self.places_for(member)
            )
            name = html.escape(f"{member.user.global_name or member.user.name} ({self.role_of(member)})")
            cards.append(f"<section><h2>{name}</h2><ul>{links}</ul></section>")
        return PAGE_TEMPLATE.format(
            guild=html.escape(self.world.guild.name), people="".join(cards), tip=html.escape(PLAYGROUND_TIP)
        )


PAGE_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Nexus playground</title>
<meta http-equiv="refresh" content="5">
<style>
body {{ font-family: system-ui, sans-serif; background: #313338; color: #dbdee1; margin: 2rem; }}
h1 {{ color: #fff; margin: 0 0 .3rem; }} p {{ max-width: 60rem; line-height: 1.45; }}
main {{ display: flex; flex-wrap: wrap; gap: 1rem; }}
section {{ background: #2b2d31; border-radius: 8px; padding: .8rem 1.2rem; min-width: 16rem; }}
h2 {{ color: #fff; font-size: 1.05rem; margin: .2rem 0 .5rem; }}
ul {{ list-style: none; padding: 0; margin: 0; }} li {{ margin: .35rem 0; }}
a {{ color: #00a8fc; text-decoration: none; font-weight: 600; }} a:hover {{ text-decoration: underline; }}
li.dm a {{ color: #f0b232; }} li.thread a {{ color: #57f287; }} span {{ color: #949ba4; font-size: .85rem; }}
</style></head><body>
<h1>Nexus playground · {guild}</h1>
<p>The real Nexus bot against a simulated Discord. Each card is one person and the places they can see: the
channel, their <b>direct messages</b> with Nexus (proposals and "you're partners" notes arrive there) and the
<b>threads</b> they are in (the private team thread opens when a pair accepts). Click a place to look at it as
that person; it opens in the other tab, where you can type slash commands and click buttons as them (the viewer
menu at the top switches between people who can see that place). This list updates every few seconds.</p>
<p><b>Try:</b> {tip}</p>
<main>{people}</main>
</body></html>
"""


@asynccontextmanager
async def open_playground(settings: Settings, *, port: int = 0) -> AsyncIterator[Playground]:
    """The bot on a fresh playground database, a configured world and its page on 127.0.0.1:`port`.

    Port 0 picks a free port. A playground already running (the lock, or its port taken) is left alone: nothing
    is deleted. Leaving the block closes the page, the simulated Discord and the database.
    """
    try:
        import simcord
    except ImportError as error:
        raise PlaygroundUnavailable(
            f"the playground needs SimCord ({error.name} is missing): pip install 'nexus-bot[playground]'"
        ) from error

    settings = playground_settings(settings)
    with playground_lock(settings.db_path.with_name("playground.lock")):
        page = PlaygroundPage()
        # The port first: if it is taken, whoever holds it keeps their database.
        await page.start(port)
        bot: NexusBot | None = None
        try:
            for suffix in ("", "-wal", "-shm"):
                settings.db_path.with_name(settings.db_path.name + suffix).unlink(missing_ok=True)
            bot = create_bot(settings)
            # A bot error in the playground is logged and shown on the page; it must not end the session.
            with scheduler_follows_virtual_clock():
                async with simcord.run(bot, check_errors=False) as env:
                    if bot.user is not None:
                        await bot.user.edit(username=BOT_NAME)
                    page.world = await build_world(env)
                    try:
                        await page.show(page.world.channel.id, page.world.learners[0].id)
                        yield Playground(world=page.world, page=page, bot=bot)
                    finally:
                        await page.stop()
        finally:
            await page.stop()
            if bot is not None:
                bot.scheduler.shutdown()
                await bot.db.close()


@contextmanager
def playground_lock(path: Path) -> Iterator[None]:
    """One playground per data folder: a second `make run` must not delete the database of a running one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            where = handle.read().strip() or "its page"
            raise PlaygroundUnavailable(
                f"a playground is already running from this folder (open {where}); it was left alone. "
                "Stop it with Ctrl-C first, or use another NEXUS_DB_PATH folder."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def serve(settings: Settings, *, port: int) -> None:
    """Serve the playground until Ctrl-C or SIGTERM."""
    async with open_playground(settings, port=port) as playground:
        lock = playground_settings(settings).db_path.with_name("playground.lock")
        lock.write_text(playground.url + "\n", encoding="utf-8")
        print(f"Playground ready: open {playground.url}  (Ctrl-C to stop)", flush=True)
        print(PLAYGROUND_TIP, flush=True)
        await run_until_signalled(asyncio.Event().wait(), playground.page.stop)
