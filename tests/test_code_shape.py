"""The one error path and the one confirm dialog, through SimCord; and the import rule between bot/ and cogs/."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from tests.conftest import REPO, World
from tests.test_matching_flow import announce, pair_up

DEFERRED_CHANNEL_MESSAGE = 5
CHANNEL_MESSAGE = 4
EPHEMERAL = 1 << 6


def interaction_callbacks(world: World, since: int) -> list[Any]:
    return [
        entry
        for entry in world.env.http_requests[since:]
        if entry.method == "POST" and entry.path.startswith("/interactions/") and entry.path.endswith("/callback")
    ]


async def test_a_user_error_before_any_answer_is_an_ephemeral_response(world: World) -> None:
    since = len(world.env.http_requests)
    result = await world.learners[0].slash(world.channel, "match leave")
    assert result.ephemeral and "not in the matching pool" in result.response.content
    [callback] = interaction_callbacks(world, since)
    assert callback.json["type"] == CHANNEL_MESSAGE
    assert callback.json["data"]["flags"] & EPHEMERAL


async def test_a_user_error_after_defer_is_a_private_followup(world: World) -> None:
    first, second = world.learners[0], world.learners[1]
    await announce(world, first, "backend")
    await announce(world, second, "backend")
    since = len(world.env.http_requests)
    result = await world.staff.slash(world.channel, "match pair", first=first, second=second)
    assert result.ephemeral and "Both learners are on the backend track" in result.response.content
    [callback] = interaction_callbacks(world, since)
    assert callback.json["type"] == DEFERRED_CHANNEL_MESSAGE
    followups = [
        entry
        for entry in world.env.http_requests[since:]
        if entry.method == "POST" and entry.path.startswith("/webhooks/")
    ]
    assert len(followups) == 1 and followups[0].json["flags"] & EPHEMERAL


async def test_unpair_dialog_loses_its_buttons_when_it_times_out(world: World) -> None:
    backend, frontend = world.learners[0], world.learners[1]
    await announce(world, backend, "backend")
    await announce(world, frontend, "frontend")
    await pair_up(world, backend, frontend)
    asked = await backend.slash(world.channel, "match unpair")
    assert asked.response.components
    await world.env.advance_time(121)
    assert asked.response.components == []
    assert "Partnered" in (await backend.slash(world.channel, "match status")).response.content


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_cogs_take_shared_helpers_from_cogs_common_and_bot_never_imports_cogs() -> None:
    reaching_into_app = [
        path.relative_to(REPO).as_posix()
        for path in sorted((REPO / "cogs").rglob("*.py"))
        if path.name != "common.py" and "bot.app" in imported_modules(path)
    ]
    assert reaching_into_app == []
    importing_cogs = [
        path.relative_to(REPO).as_posix()
        for path in sorted((REPO / "bot").rglob("*.py"))
        if any(module == "cogs" or module.startswith("cogs.") for module in imported_modules(path))
    ]
    assert importing_cogs == []
