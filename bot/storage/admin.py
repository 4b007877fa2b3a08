"""SQL for per-guild configuration (/nexus setup) and the bot's own key/value facts."""

from __future__ import annotations

from datetime import date, datetime

from bot.admin import GuildConfig
from bot.storage.db import Database, Session


class AdminStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Every staff check and many commands read the configuration first; only save_config() changes it, so it
        # is read from the database once per guild and then kept (None too: "not set up yet").
        self._configs: dict[int, GuildConfig | None] = {}

    async def get_config(self, guild_id: int) -> GuildConfig | None:
        if guild_id in self._configs:
            return self._configs[guild_id]
        config = await self._read_config(guild_id)
        self._configs[guild_id] = config
        return config

    async def _read_config(self, guild_id: int) -> GuildConfig | None:
        row = await self.db.fetchone(
            "SELECT guild_id, channel_id, cohort_start, timezone, learner_role_id, staff_role_id, staff_channel_id"
            " FROM guild_config WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return None
        return GuildConfig(
            guild_id=row["guild_id"],
            channel_id=row["channel_id"],
            cohort_start=date.fromisoformat(row["cohort_start"]),
            timezone=row["timezone"],
            learner_role_id=row["learner_role_id"],
            staff_role_id=row["staff_role_id"],
            staff_channel_id=row["staff_channel_id"],
        )

    async def all_configs(self) -> list[GuildConfig]:
        rows = await self.db.fetchall("SELECT guild_id FROM guild_config ORDER BY guild_id")
        configs = [await self.get_config(row["guild_id"]) for row in rows]
        return [config for config in configs if config is not None]

    async def save_config(self, config: GuildConfig, *, updated_by: int, now: datetime) -> None:
        async def body(conn: Session) -> None:
            await conn.execute(
                "INSERT INTO guild_config (guild_id, channel_id, cohort_start, timezone, learner_role_id,"
                " staff_role_id, staff_channel_id, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(guild_id) DO UPDATE SET channel_id = excluded.channel_id,"
                " cohort_start = excluded.cohort_start, timezone = excluded.timezone,"
                " learner_role_id = excluded.learner_role_id, staff_role_id = excluded.staff_role_id,"
                " staff_channel_id = excluded.staff_channel_id, updated_at = excluded.updated_at,"
                " updated_by = excluded.updated_by",
                (
                    config.guild_id,
                    config.channel_id,
                    config.cohort_start.isoformat(),
                    config.timezone,
                    config.learner_role_id,
                    config.staff_role_id,
                    config.staff_channel_id,
                    now.isoformat(),
                    updated_by,
                ),
            )

        # Forget first: if the write fails, the next read sees whatever the database holds.
        self._configs.pop(config.guild_id, None)
        await self.db.transact(body)
        self._configs[config.guild_id] = config

    async def get_meta(self, key: str) -> str | None:
        row = await self.db.fetchone("SELECT value FROM bot_meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    async def set_meta(self, key: str, value: str) -> None:
        await self.db.transact(
            lambda conn: conn.execute(
                "INSERT INTO bot_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        )
