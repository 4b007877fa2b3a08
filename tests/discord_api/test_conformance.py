"""The conformance check itself: it accepts what Discord accepts, rejects what it does not, and fails the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.discord_api.conformance import SPEC_REVISION, check_request, match_route, spec

CHANNEL = "/channels/1456074443980800018/messages"


def test_the_vendored_description_is_discords_openapi() -> None:
    assert spec()["openapi"].startswith("3.1")
    assert len(SPEC_REVISION) == 40
    assert match_route("/users/@me/channels") == "/users/@me/channels"
    assert match_route("/users/1456074443980800018") == "/users/{user_id}"


@pytest.mark.parametrize(
    "body",
    [
        {"content": "hello", "allowed_mentions": {"parse": []}},
        # discord.py sends snowflakes (and attachment ids) as integers; Discord accepts them.
        {"content": "hi", "message_reference": {"message_id": 1456074443980800045}, "attachments": [{"id": 0}]},
        {"embeds": [{"title": "Nexus", "fields": [{"name": "a", "value": "b", "inline": True}]}]},
    ],
)
def test_bodies_discord_accepts_pass(body: object) -> None:
    assert check_request("POST", CHANNEL, body) == []


@pytest.mark.parametrize(
    ("method", "path", "body", "problem"),
    [
        ("POST", CHANNEL, {"content": 5}, "content: 5 is not of type"),
        ("POST", CHANNEL, {"embeds": [{"title": "x" * 300}]}, "embeds/0/title"),
        ("POST", CHANNEL, {"allowed_mentions": {"parse": ["everyone", "nobody"]}}, "allowed_mentions/parse/1"),
        ("POST", CHANNEL, {"message_reference": {"message_id": -1}}, "message_reference/message_id"),
        ("POST", "/channels/1/no-such-thing", {}, "no such route"),
        ("PUT", CHANNEL, {}, "no PUT"),
    ],
)
def test_bodies_discord_rejects_are_reported(method: str, path: str, body: object, problem: str) -> None:
    violations = check_request(method, path, body)
    assert violations, body
    assert problem in str(violations[0])


def test_a_violation_fails_the_test_that_sent_it(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    pytester.makeconftest(
        """
import discord
import pytest

pytest_plugins = ["tests.discord_api.plugin"]


@pytest.fixture
def simcord_bot():
    return discord.Client(intents=discord.Intents.default())
"""
    )
    pytester.makepyfile(
        """
import discord


async def test_sends_a_bad_body(simcord_env):
    # Even when the error is caught and the test would pass, the request was sent: the test fails.
    channel = simcord_env.create_guild().create_text_channel("general")
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)
    try:
        await simcord_env.bot.http.request(route, json={"content": "hi", "tts": "yes"})
    except discord.HTTPException:
        pass


async def test_sends_a_good_message(simcord_env):
    channel = simcord_env.create_guild().create_text_channel("general")
    await simcord_env.bot.get_channel(channel.id).send("hello")
"""
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_mode=auto",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-o",
        "asyncio_default_test_loop_scope=function",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*requests Discord's API description rejects:*", "*tts: 'yes' is not of type*"])
