"""Checks shared by the reliability tests: what the bot sent (mentions, Discord's limits) and what it raised."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import discord
from discord import app_commands

# Discord's documented limits for a message, its embeds and autocomplete answers.
CONTENT_LIMIT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_PER_EMBED = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
CHOICES_LIMIT = 25
CHOICE_NAME_LIMIT = 100
CHOICE_VALUE_LIMIT = 100
AUTOCOMPLETE_RESULT = 8


def body_of(entry: Any) -> dict[str, Any] | None:
    """The message payload of a logged REST call: interaction callbacks nest it under `data`."""
    body = entry.json
    if not isinstance(body, dict):
        return None
    if entry.path.startswith("/interactions/"):
        data = body.get("data")
        return data if isinstance(data, dict) else None
    return body


def embed_size(embed: dict[str, Any]) -> int:
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
    for field in embed.get("fields") or []:
        size += len(field.get("name") or "") + len(field.get("value") or "")
    return size


def limit_problems(body: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if len(body.get("content") or "") > CONTENT_LIMIT:
        problems.append(f"content of {len(body['content'])} characters")
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append(f"{len(embeds)} embeds")
    for embed in embeds:
        checks = [
            ("embed total", embed_size(embed), EMBED_TOTAL_LIMIT),
            ("title", len(embed.get("title") or ""), TITLE_LIMIT),
            ("description", len(embed.get("description") or ""), DESCRIPTION_LIMIT),
            ("fields", len(embed.get("fields") or []), FIELDS_PER_EMBED),
            ("footer", len((embed.get("footer") or {}).get("text") or ""), FOOTER_LIMIT),
            ("author", len((embed.get("author") or {}).get("name") or ""), AUTHOR_LIMIT),
        ]
        for field in embed.get("fields") or []:
            checks.append(("field name", len(field.get("name") or ""), FIELD_NAME_LIMIT))
            checks.append(("field value", len(field.get("value") or ""), FIELD_VALUE_LIMIT))
            if not (field.get("name") or "").strip() or not (field.get("value") or "").strip():
                problems.append("an empty field name or value (Discord rejects the message)")
        problems += [f"{what} {size} > {limit}" for what, size, limit in checks if size > limit]
    return problems


def choice_problems(body: dict[str, Any]) -> list[str]:
    choices = body.get("choices") or []
    problems = [f"{len(choices)} choices"] if len(choices) > CHOICES_LIMIT else []
    for choice in choices:
        name, value = str(choice.get("name", "")), choice.get("value")
        if not 1 <= len(name) <= CHOICE_NAME_LIMIT:
            problems.append(f"choice name of {len(name)} characters")
        if isinstance(value, str) and not 1 <= len(value) <= CHOICE_VALUE_LIMIT:
            problems.append(f"choice value of {len(value)} characters")
    return problems


def mention_problems(body: dict[str, Any], may_ping: Iterable[int]) -> list[str]:
    """Nothing pings except the users the bot means to reach (a team intro, a fallback-thread note)."""
    allowed = body.get("allowed_mentions")
    if allowed is None:
        return ["no allowed_mentions: Discord would ping whatever the text mentions"]
    problems: list[str] = []
    if allowed.get("parse"):
        problems.append(f"allowed_mentions parses {allowed['parse']}")
    if allowed.get("roles"):
        problems.append(f"allowed_mentions pings roles {allowed['roles']}")
    stray = {int(user) for user in allowed.get("users") or []} - set(may_ping)
    if stray:
        problems.append(f"allowed_mentions pings unexpected users {sorted(stray)}")
    return problems


def request_problems(requests: Sequence[Any], *, may_ping: Iterable[int] = ()) -> list[str]:
    """Every message the bot sent or edited pings nobody unexpected and fits Discord's limits."""
    may = set(may_ping)
    problems: list[str] = []
    for entry in requests:
        if entry.method not in ("POST", "PATCH"):
            continue
        body = body_of(entry)
        if body is None:
            continue
        where = f"{entry.method} {entry.path}"
        if entry.path.startswith("/interactions/") and entry.json.get("type") == AUTOCOMPLETE_RESULT:
            problems += [f"{where}: {problem}" for problem in choice_problems(body)]
            continue
        if "content" not in body and "embeds" not in body:
            continue
        problems += [f"{where}: {problem}" for problem in limit_problems(body) + mention_problems(body, may)]
    return problems


def is_discord_refusal(error: BaseException) -> bool:
    """An HTTP error Discord (here: an injected fault) returned, as the command tree or a view receives it."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    return isinstance(original, discord.HTTPException)


def unexpected_errors(env: Any, cursor: int = 0) -> list[BaseException]:
    """Errors the bot raised since `cursor` other than the Discord failures a test injected on purpose."""
    return [error for error in env.errors_since(cursor) if not is_discord_refusal(error)]


def acknowledge_refusals(env: Any) -> list[BaseException]:
    """Mark every recorded error as seen; returns those that were not injected Discord failures."""
    return [error for error in env.errors if not is_discord_refusal(error)]
