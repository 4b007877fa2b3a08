"""Deployment files and logs: .env.example and config.yaml.example cover every setting, docker-compose.yml runs
the image as a service, the effective configuration is logged with the token masked, commands are logged
without personal data."""

from __future__ import annotations

import logging
import re
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from bot import Settings
from bot.__main__ import log_configuration
from bot.settings import ENV_VARS
from tests.conftest import REPO, World

ENV_EXAMPLE = REPO / ".env.example"
CONFIG_EXAMPLE = REPO / "config.yaml.example"
COMPOSE = REPO / "docker-compose.yml"


def example_variables() -> dict[str, int]:
    """Variable name -> line index, whether the line is commented out or not."""
    found: dict[str, int] = {}
    for index, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()):
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            found[match.group(1)] = index
    return found


def test_env_example_lists_every_variable_with_an_explanation() -> None:
    variables = example_variables()
    assert set(ENV_VARS.values()) | {"NEXUS_CONFIG"} == set(variables)
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for name, index in variables.items():
        assert lines[index - 1].startswith("# ") and "=" not in lines[index - 1].split(" ", 2)[1], name


def test_env_example_as_a_dot_env_gives_the_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({}, env_file=ENV_EXAMPLE)
    assert settings == Settings()
    assert settings.discord_token is None


def test_config_example_documents_every_setting_and_loads_as_the_defaults(tmp_path: Path) -> None:
    text = CONFIG_EXAMPLE.read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([a-z_]+):", text, flags=re.MULTILINE))
    assert {item.name for item in fields(Settings)} - {"discord_token"} <= documented
    assert "discord_token:" not in text
    for match in re.finditer(r"^#?\s*[a-z_]+:", text, flags=re.MULTILINE):
        before = text[: match.start()].rstrip("\n").splitlines()[-1]
        assert before.startswith("#"), f"{match.group(0)} has no comment above it"
    settings = Settings.from_env({"NEXUS_CONFIG": str(CONFIG_EXAMPLE)}, env_file=None)
    assert settings == Settings()


def test_compose_runs_the_image_as_a_service_with_its_data_on_a_volume() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    nexus = compose["services"]["nexus"]
    assert nexus["build"] == "."
    assert nexus["env_file"] == ".env"
    assert nexus["restart"] == "unless-stopped"
    assert "nexus-data:/data" in nexus["volumes"]
    assert "nexus-data" in compose["volumes"]
    assert nexus["environment"]["NEXUS_DB_PATH"].startswith("/data/")
    assert nexus["environment"]["NEXUS_HEARTBEAT_PATH"].startswith("/data/")
    assert nexus["healthcheck"]["test"][:3] == ["CMD", "nexus-bot", "healthcheck"]
    # Longer than the bot's own 10 s drain, so Docker never kills it mid-shutdown.
    assert int(nexus["stop_grace_period"].rstrip("s")) > 10


def test_dockerfile_matches_compose() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert 'VOLUME ["/data"]' in dockerfile
    assert "NEXUS_DB_PATH=/data/nexus.db" in dockerfile
    assert '"nexus-bot", "healthcheck"' in dockerfile
    assert re.search(r"^USER \d+:\d+$", dockerfile, flags=re.MULTILINE)


def test_effective_configuration_is_logged_with_the_token_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    log_configuration(Settings(discord_token="MTIz.secret-token-value", dev_guild_id=42))
    text = caplog.text
    assert "secret-token-value" not in text
    assert "discord_token=set (hidden)" in text
    assert "dev_guild_id=42" in text
    assert "db_path=data/nexus.db" in text


async def test_commands_are_logged_with_guild_command_and_duration_only(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.app")
    ada = world.learners[0]
    await ada.slash(world.channel, "announce", project="ecommerce", track="backend", summary="my secret plan")
    await ada.slash(world.channel, "help")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.app" and r.getMessage().startswith("command ")]
    assert lines == [
        f"command guild={world.guild.id} command=announce outcome=ok duration_ms=0",
        f"command guild={world.guild.id} command=help outcome=ok duration_ms=0",
    ]
    everything = caplog.text
    assert "my secret plan" not in everything
    assert str(ada.id) not in "\n".join(lines)
