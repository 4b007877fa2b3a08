"""Settings: every knob Nexus has, read from keyword arguments, the environment, `.env` and `config.yaml`.

This is the only module that reads `os.environ`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

log = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SYNC_MODES = ("auto", "always", "never")


class SettingsError(ValueError):
    """A setting has an invalid value; the message names the setting and the problem."""


def _default_content_dir() -> Path:
    return PACKAGE_ROOT / "content"


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Construct with keywords in tests; `from_env()` in production."""

    discord_token: str | None = field(default=None, repr=False)
    db_path: Path = Path("data/nexus.db")
    content_dir: Path = field(default_factory=_default_content_dir)
    log_level: str = "INFO"
    playground_port: int = 8765
    proposal_ttl_hours: float = 48.0
    # Week one's automatic seating of leftovers as third members (bot.matching.seat_cutoff): everyone left over from
    # this day of the week on, and before it anyone who has waited this many hours with no counterpart.
    auto_seat_day: float | None = 5.0
    seat_after_hours: float | None = 6.0
    checkin_delay_days: float = 3.0
    quiet_timeout_hours: float = 48.0
    reminder_grace_hours: float = 12.0
    dm_pace_seconds: float = 1.0
    command_cooldown_seconds: float = 10.0
    retention_days: int = 180
    sync_commands: Literal["auto", "always", "never"] = "auto"
    dev_guild_id: int | None = None
    heartbeat_path: Path = Path("data/heartbeat")

    def __post_init__(self) -> None:
        # Coerce str paths so Settings(db_path="x.db") works as people expect.
        for name in ("db_path", "content_dir", "heartbeat_path"):
            value = getattr(self, name)
            if not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        self.validate()

    def validate(self) -> None:
        level = self.log_level.upper()
        if level not in LOG_LEVELS:
            raise SettingsError(f"log_level: must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        object.__setattr__(self, "log_level", level)
        if not 1 <= self.playground_port <= 65535:
            raise SettingsError(f"playground_port: must be 1-65535, not {self.playground_port}")
        if self.proposal_ttl_hours <= 0:
            raise SettingsError("proposal_ttl_hours: must be greater than 0")
        if self.auto_seat_day is not None and not 0 <= self.auto_seat_day <= 7:
            raise SettingsError("auto_seat_day: must be 0-7 (a day of week one), or null (config.yaml) to turn it off")
        if self.seat_after_hours is not None and self.seat_after_hours < 0:
            raise SettingsError("seat_after_hours: must be 0 or more, or null (config.yaml) to turn it off")
        if self.checkin_delay_days <= 0:
            raise SettingsError("checkin_delay_days: must be greater than 0")
        if self.quiet_timeout_hours <= 0:
            raise SettingsError("quiet_timeout_hours: must be greater than 0")
        if self.reminder_grace_hours < 0:
            raise SettingsError("reminder_grace_hours: must be 0 or more")
        if self.dm_pace_seconds < 0:
            raise SettingsError("dm_pace_seconds: must be 0 or more")
        if self.command_cooldown_seconds < 0:
            raise SettingsError("command_cooldown_seconds: must be 0 or more")
        if self.retention_days < 0:
            raise SettingsError("retention_days: must be 0 (keep forever) or more")
        if self.sync_commands not in SYNC_MODES:
            raise SettingsError(f"sync_commands: must be one of {', '.join(SYNC_MODES)}")
        if self.discord_token is not None and not self.discord_token.strip():
            object.__setattr__(self, "discord_token", None)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def describe(self) -> dict[str, str]:
        """The effective configuration for the start-up log, with the token masked."""
        shown: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "discord_token":
                shown[item.name] = "set (hidden)" if value else "not set"
            else:
                shown[item.name] = str(value)
        return shown

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, env_file: Path | None = Path(".env")) -> Settings:
        """Defaults, then `config.yaml` (or NEXUS_CONFIG), then `.env`, then the real environment."""
        values: dict[str, str] = {}
        source = dict(os.environ) if environ is None else dict(environ)
        if env_file is not None and env_file.is_file():
            values.update(_read_env_file(env_file))
        values.update(source)
        config_path = Path(values.get("NEXUS_CONFIG", "config.yaml"))
        raw: dict[str, Any] = _read_config_file(config_path) if config_path.is_file() else {}
        for setting, variable in ENV_VARS.items():
            if variable in values and values[variable] != "":
                raw[setting] = values[variable]
        return cls(**_coerce(raw))


# setting name -> environment variable; README and .env.example list the same table.
ENV_VARS: dict[str, str] = {
    "discord_token": "DISCORD_TOKEN",
    "db_path": "NEXUS_DB_PATH",
    "content_dir": "NEXUS_CONTENT_DIR",
    "log_level": "NEXUS_LOG_LEVEL",
    "playground_port": "NEXUS_PLAYGROUND_PORT",
    "proposal_ttl_hours": "NEXUS_PROPOSAL_TTL_HOURS",
    "auto_seat_day": "NEXUS_AUTO_SEAT_DAY",
    "seat_after_hours": "NEXUS_SEAT_AFTER_HOURS",
    "checkin_delay_days": "NEXUS_CHECKIN_DELAY_DAYS",
    "quiet_timeout_hours": "NEXUS_QUIET_TIMEOUT_HOURS",
    "reminder_grace_hours": "NEXUS_REMINDER_GRACE_HOURS",
    "dm_pace_seconds": "NEXUS_DM_PACE_SECONDS",
    "command_cooldown_seconds": "NEXUS_COMMAND_COOLDOWN_SECONDS",
    "retention_days": "NEXUS_RETENTION_DAYS",
    "sync_commands": "NEXUS_SYNC_COMMANDS",
    "dev_guild_id": "DEV_GUILD_ID",
    "heartbeat_path": "NEXUS_HEARTBEAT_PATH",
}

_CONVERTERS: dict[str, type] = {
    "playground_port": int,
    "proposal_ttl_hours": float,
    "auto_seat_day": float,
    "seat_after_hours": float,
    "checkin_delay_days": float,
    "quiet_timeout_hours": float,
    "reminder_grace_hours": float,
    "dm_pace_seconds": float,
    "command_cooldown_seconds": float,
    "retention_days": int,
    "dev_guild_id": int,
}


def _coerce(raw: dict[str, Any]) -> dict[str, Any]:
    known = {item.name for item in fields(Settings)}
    coerced: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in known:
            raise SettingsError(f"{name}: unknown setting (known: {', '.join(sorted(known))})")
        converter = _CONVERTERS.get(name)
        if converter is not None and value is not None:
            try:
                value = converter(value)
            except (TypeError, ValueError):
                variable = ENV_VARS.get(name, name)
                raise SettingsError(f"{name} ({variable}): {value!r} is not a valid {converter.__name__}") from None
        coerced[name] = value
    return coerced


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SettingsError(f"{path}: not valid YAML: {error}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SettingsError(f"{path}: expected a mapping of setting: value")
    if "discord_token" in loaded:
        raise SettingsError(f"{path}: discord_token: keep the token in the environment or .env, not config.yaml")
    return {str(key): value for key, value in loaded.items()}
