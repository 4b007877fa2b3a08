"""Every request body the bot sends in a SimCord test is checked against Discord's published OpenAPI description.

SimCord accepts what discord.py sends; Discord may not. `openapi.json.gz` is Discord's own description of its HTTP
API (github.com/discord/discord-api-spec, MIT, see LICENSE here; the revision is in SPEC_REVISION). Its request
schemas are JSON Schema 2020-12, checked with `jsonschema`; one compiled validator per route and method.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_FILE = Path(__file__).with_name("openapi.json.gz")
# discord/discord-api-spec commit the vendored file was taken from (specs/openapi.json), and its API version.
SPEC_REVISION = "74fda0fad044407ea280043a03ffc9bc64c4e49e"


STANDARD_TYPE = Draft202012Validator.VALIDATORS["type"]


def snowflake_type(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Any:
    """discord.py sends snowflakes as JSON integers, which Discord accepts; the description types them as strings.

    So a non-negative integer counts as a string where (and only where) the schema says `format: snowflake`.
    """
    if schema.get("format") == "snowflake" and type(instance) is int and instance >= 0:
        return
    yield from STANDARD_TYPE(validator, types, instance, schema)


DiscordValidator = validators.extend(Draft202012Validator, {"type": snowflake_type})


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    literals: int


@dataclass(frozen=True)
class Violation:
    method: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {self.problem}"


@cache
def spec() -> dict[str, Any]:
    with gzip.open(SPEC_FILE, "rt", encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


COMPONENT_REF = "#/components/schemas/"
COMPONENT_URI = "urn:discord-api-spec:schema:"


def own_uris(schema: Any) -> Any:
    """The schema with each `#/components/schemas/X` reference turned into X's own URI.

    Every component is then a resource of its own: a reference is one registry look-up instead of a JSON pointer
    walked through the whole (1 MB) description, which made validation several times slower.
    """
    if isinstance(schema, dict):
        return {
            key: (COMPONENT_URI + value.removeprefix(COMPONENT_REF))
            if key == "$ref" and isinstance(value, str) and value.startswith(COMPONENT_REF)
            else own_uris(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [own_uris(item) for item in schema]
    return schema


@cache
def registry() -> Registry[Any]:
    components = spec()["components"]["schemas"]
    return Registry().with_resources(
        (COMPONENT_URI + name, Resource.from_contents(own_uris(schema), default_specification=DRAFT202012))
        for name, schema in components.items()
    )


@cache
def routes() -> tuple[Route, ...]:
    found = []
    for template in spec()["paths"]:
        parts = template.strip("/").split("/")
        regex = "/".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        found.append(Route(template, re.compile(f"^/{regex}$"), sum(not p.startswith("{") for p in parts)))
    # The most literal template wins, as on Discord: /users/@me before /users/{user_id}.
    return tuple(sorted(found, key=lambda route: -route.literals))


@cache
def match_route(path: str) -> str | None:
    path = path.split("?", 1)[0]
    return next((route.template for route in routes() if route.pattern.match(path)), None)


@cache
def body_validator(template: str, method: str) -> Any:
    """The compiled validator for one route's JSON body; None when the route takes no body."""
    operation = spec()["paths"][template].get(method.lower())
    if operation is None:
        raise LookupError(f"Discord's API has no {method} on {template}")
    content = (operation.get("requestBody") or {}).get("content") or {}
    if "application/json" not in content:
        return None
    return DiscordValidator(own_uris(content["application/json"]["schema"]), registry=registry())


def deepest(error: Any) -> Any:
    """For "not valid under any of the given schemas", the branch that got furthest says what is wrong."""
    while error.context:
        error = max(error.context, key=lambda sub: len(sub.absolute_path))
    return error


def check_request(method: str, path: str, body: Any) -> list[Violation]:
    """What Discord's description finds wrong with one request (nothing, usually).

    The verdict depends only on the route (the path's template: ids and tokens vary) and the body, and tests send
    the same bodies again and again, so each distinct (method, route, body) is checked once.
    """
    template = match_route(path)
    if template is None:
        return [Violation(method, path, "no such route in Discord's API")]
    key = json.dumps(body, sort_keys=True, default=str) if body is not None else None
    return [Violation(method, path, problem) for problem in _check_request(method, template, key)]


@cache
def _check_request(method: str, template: str, body_json: str | None) -> tuple[str, ...]:
    return tuple(_problems(method, template, None if body_json is None else json.loads(body_json)))


def _problems(method: str, template: str, body: Any) -> list[str]:
    try:
        validator = body_validator(template, method)
    except LookupError as error:
        return [str(error)]
    if body is None:
        return []
    if validator is None:
        return ["Discord's API takes no JSON body here"]
    if validator.is_valid(body):
        return []
    problems = []
    for error in validator.iter_errors(body):
        error = deepest(error)
        where = "/".join(map(str, error.absolute_path)) or "(body)"
        problems.append(f"{where}: {error.message[:300]}")
    return problems


def distinct_checked() -> int:
    return _check_request.cache_info().currsize
