"""Nexus: a Discord bot for #ProDevProjectNexus. Exports the entry point used by tests and `python -m bot`."""

from bot.app import NexusBot, create_bot
from bot.settings import Settings

__all__ = ["NexusBot", "Settings", "create_bot"]
