"""Meta-tests: every cog loads, command names are unique, the domain imports no I/O library."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from discord import app_commands

from bot.app import EXTENSIONS
from tests.conftest import REPO

IO_LIBRARIES = {"discord", "aiosqlite", "sqlite3", "yaml", "apscheduler", "simcord", "aiohttp"}
NOT_DOMAIN = {
    "app.py",
    "__main__.py",
    "playground.py",
    "yaml_marks.py",
    "content.py",
    "projects_content.py",
    "reminders_content.py",
    "scheduler.py",
    "settings.py",
    "__init__.py",
}


def domain_modules() -> list[Path]:
    return [path for path in sorted((REPO / "bot").glob("*.py")) if path.name not in NOT_DOMAIN]


def test_domain_modules_exist() -> None:
    names = {path.stem for path in domain_modules()}
    assert {"admin", "errors", "timezones"} <= names


def test_domain_imports_no_io_library() -> None:
    offenders = []
    for path in domain_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in IO_LIBRARIES]
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot.storage"):
                offenders.append(f"{path.name}: {node.module}")
    assert offenders == []


def test_sql_lives_only_in_storage() -> None:
    offenders = []
    for folder in ("bot", "cogs"):
        for path in (REPO / folder).rglob("*.py"):
            if "storage" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if any(keyword in text for keyword in ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM")):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


async def test_every_cog_loads_and_commands_are_synced(simcord_env: Any) -> None:
    bot = simcord_env.bot
    assert set(bot.extensions) == set(EXTENSIONS)
    synced = await bot.tree.fetch_commands()
    assert sorted(command.name for command in synced) == sorted(c.name for c in bot.tree.get_commands())


async def test_command_names_are_unique_and_described(simcord_env: Any) -> None:
    names = [command.qualified_name for command in simcord_env.bot.tree.walk_commands()]
    assert len(names) == len(set(names))
    for command in simcord_env.bot.tree.walk_commands():
        assert command.description and len(command.description) <= 100, command.qualified_name
        if isinstance(command, app_commands.Command):
            for parameter in command.parameters:
                assert parameter.description and parameter.description != "…", (
                    f"{command.qualified_name} {parameter.name}"
                )
