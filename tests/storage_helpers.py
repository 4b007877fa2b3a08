"""Test set-up that writes rows straight into a bot's SQLite file, as another process would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from bot.storage.db import Database


@contextmanager
def raw_writes(db: Database) -> Iterator[sqlite3.Connection]:
    """One transaction on a second connection to the same file; the bot sees it once it commits."""
    conn = sqlite3.connect(db.path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        # The bot keeps the board's counts between its own writes (BoardCache); another process's writes it never
        # sees, so set-up written this way must drop them.
        db.board.clear()
    finally:
        conn.close()
