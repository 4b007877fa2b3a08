"""The playground: the real bot against a simulated Discord (SimCord), served as a local web page."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.app import NexusBot, create_bot
from bot.settings import Settings

log = logging.getLogger(__name__)

CHANNEL_NAME = "prodevprojectnexus"
DEMO_LEARNERS: tuple[tuple[str, str], ...] = (
    ("ada", "backend"),
    ("grace", "frontend"),
    ("linus", "backend"),
    ("margaret", "frontend"),
)


@dataclass
class PlaygroundWorld:
    env: Any
    guild: Any
    channel: Any
    staff: Any
    learners: list[Any]


def playground_settings(settings: Settings) -> Settings:
    # A separate database so trying things out never touches real data; the virtual Discord is new each
    # run, so commands are always synced to it.
    return settings.with_overrides(
        db_path=settings.db_path.with_name("playground.db"), sync_commands="always", dm_pace_seconds=0.0
    )


async def build_world(env: Any) -> PlaygroundWorld:
    import discord

    guild = env.create_guild("Project Nexus (playground)")
    channel = guild.create_text_channel(CHANNEL_NAME, topic="Announce your project and find your partner")
    staff_role = guild.create_role("Staff", permissions=discord.Permissions(manage_guild=True))
    learner_role = guild.create_role("Learner")
    staff = guild.add_member(env.create_user("coordinator", global_name="Coordinator"), roles=[staff_role])
    learners = [guild.add_member(env.create_user(name), roles=[learner_role]) for name, _ in DEMO_LEARNERS]
    today = env.now().date().isoformat()
    await staff.slash(
        channel,
        "nexus setup",
        channel=channel,
        cohort_start=today,
        timezone="UTC",
        learner_role=learner_role,
        staff_role=staff_role,
    )
    return PlaygroundWorld(env=env, guild=guild, channel=channel, staff=staff, learners=learners)


async def serve(settings: Settings, *, port: int) -> None:
    """Run until the page is closed or Ctrl-C."""
    import simcord

    settings = playground_settings(settings)
    settings.db_path.unlink(missing_ok=True)
    bot: NexusBot = create_bot(settings)
    async with simcord.run(bot, check_errors=False) as env:
        world = await build_world(env)
        viewers = [*world.learners, world.staff]
        async with env.preview(world.channel, viewers=viewers, layout="channel", port=port) as preview:
            print(f"Playground ready: open {preview.url}  (Ctrl-C to stop)", flush=True)
            try:
                await preview.wait_closed()
            finally:
                await bot.db.close()
