"""Settings from keywords, environment, .env and config.yaml; invalid values name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError


def test_defaults_are_sensible() -> None:
    settings = Settings()
    assert settings.db_path == Path("data/nexus.db")
    assert settings.content_dir.name == "content"
    assert settings.discord_token is None
    assert settings.proposal_ttl_hours == 48
    assert settings.checkin_delay_days == 3
    assert settings.quiet_timeout_hours == 48


def test_keyword_paths_accept_strings() -> None:
    assert Settings(db_path="x.db").db_path == Path("x.db")  # type: ignore[arg-type]


def test_from_env_reads_environment_and_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("DISCORD_TOKEN='abc.def'\nNEXUS_LOG_LEVEL=debug\n")
    settings = Settings.from_env(
        {"NEXUS_DB_PATH": str(tmp_path / "db.sqlite"), "NEXUS_CONFIG": "/nope"}, env_file=dotenv
    )
    assert settings.discord_token == "abc.def"
    assert settings.log_level == "DEBUG"
    assert settings.db_path == tmp_path / "db.sqlite"


def test_config_yaml_overrides_defaults_and_env_overrides_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("proposal_ttl_hours: 24\nlog_level: WARNING\n")
    settings = Settings.from_env({"NEXUS_CONFIG": str(config), "NEXUS_LOG_LEVEL": "ERROR"}, env_file=None)
    assert settings.proposal_ttl_hours == 24
    assert settings.log_level == "ERROR"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"NEXUS_PLAYGROUND_PORT": "eighty"}, "playground_port (NEXUS_PLAYGROUND_PORT)"),
        ({"NEXUS_PLAYGROUND_PORT": "70000"}, "playground_port: must be 1-65535"),
        ({"NEXUS_LOG_LEVEL": "LOUD"}, "log_level"),
        ({"NEXUS_PROPOSAL_TTL_HOURS": "0"}, "proposal_ttl_hours"),
        ({"NEXUS_CHECKIN_DELAY_DAYS": "0"}, "checkin_delay_days: must be greater than 0"),
        ({"NEXUS_QUIET_TIMEOUT_HOURS": "-1"}, "quiet_timeout_hours: must be greater than 0"),
        ({"NEXUS_QUIET_TIMEOUT_HOURS": "soon"}, "quiet_timeout_hours (NEXUS_QUIET_TIMEOUT_HOURS)"),
        ({"NEXUS_SYNC_COMMANDS": "sometimes"}, "sync_commands"),
    ],
)
def test_invalid_settings_name_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env({"NEXUS_CONFIG": "/nope", **environ}, env_file=None)


def test_token_is_never_in_repr_or_description() -> None:
    settings = Settings(discord_token="secret-token-value")
    assert "secret-token-value" not in repr(settings)
    assert "secret-token-value" not in str(settings.describe())
