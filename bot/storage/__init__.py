"""Storage: the only package with SQL. One module per feature over one shared `Database`."""

from bot.storage.db import Database

__all__ = ["Database"]
