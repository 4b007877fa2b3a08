"""pytest plugin: a SimCord test fails if the bot sent Discord a request body its API description rejects."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable
from typing import Any

import pytest
import simcord

from tests.discord_api.conformance import SPEC_REVISION, Violation, check_request, distinct_checked

# What the check costs, reported at the end of the run: (requests checked, seconds spent).
COST = {"requests": 0, "seconds": 0.0}


def envs_of(item: pytest.Item) -> Iterable[simcord.Env]:
    """The SimCord worlds a test used: the `simcord_env` fixture, or any fixture value holding one as `.env`."""
    seen: set[int] = set()
    for value in getattr(item, "funcargs", {}).values():
        for candidate in (value, getattr(value, "env", None)):
            if isinstance(candidate, simcord.Env) and id(candidate) not in seen:
                seen.add(id(candidate))
                yield candidate


def violations_in(env: simcord.Env) -> list[Violation]:
    started = time.perf_counter()
    found: list[Violation] = []
    for request in env.http_requests:
        found += check_request(request.method, request.path, request.json)
    COST["requests"] += len(env.http_requests)
    COST["seconds"] += time.perf_counter() - started
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    result = yield
    violations = [violation for env in envs_of(item) for violation in violations_in(env)]
    if violations:
        listed = "\n".join(f"  {violation}" for violation in dict.fromkeys(violations))
        pytest.fail(f"requests Discord's API description rejects:\n{listed}", pytrace=False)
    return result


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if COST["requests"]:
        terminalreporter.write_line(
            f"Discord API conformance ({SPEC_REVISION[:10]}): {COST['requests']} requests, "
            f"{distinct_checked()} distinct, checked in {COST['seconds']:.2f} s"
        )
