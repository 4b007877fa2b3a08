"""The playground: served on 127.0.0.1, a slash command issued over its HTTP API reaches the real bot, and
`python -m bot` without a token starts it and stops cleanly on Ctrl-C."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot import Settings
from bot.playground import (
    DEMO_LEARNERS,
    PlaygroundUnavailable,
    open_playground,
    playground_settings,
    try_command,
)
from tests.conftest import CONTENT_DIR, REPO


class PageClient:
    """Talks to the preview's HTTP API the way its page script does (transport.js / actions.js)."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        parts = urlsplit(url)
        self.session = session
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.capability = parts.fragment
        self.page: dict[str, Any] = {}
        self.sequence = 0

    def headers(self, *, context: bool = True) -> dict[str, str]:
        headers = {"X-Simcord-Capability": self.capability}
        if context:
            headers["X-Simcord-Context"] = self.page["context"]["id"]
        return headers

    async def open(self) -> dict[str, Any]:
        async with self.session.post(f"{self.base}/api/pages", json={}, headers=self.headers(context=False)) as r:
            assert r.status == 200, await r.text()
            self.page = await r.json()
        return self.page

    async def commands(self) -> dict[str, dict[str, Any]]:
        async with self.session.get(f"{self.base}/api/commands", headers=self.headers()) as r:
            assert r.status == 200, await r.text()
            catalog = await r.json()
        return {entry["invocation"]: entry for entry in catalog["entries"]}

    async def state(self) -> dict[str, Any]:
        async with self.session.get(f"{self.base}/api/state", headers=self.headers()) as r:
            assert r.status == 200, await r.text()
            self.page = await r.json()
        return self.page

    async def run_command(self, invocation: str, **options: Any) -> dict[str, Any]:
        entry = (await self.commands())[invocation]
        self.sequence += 1
        body = {
            "protocol_version": 3,
            "sequence": self.sequence,
            "request_id": str(uuid.uuid4()),
            "generation": self.page["context"]["generation"],
            "bot_generation": self.page["botGeneration"],
            "published_revision": self.page["publishedRevision"],
            "kind": "run_command",
            "command_id": entry["commandId"],
            "path": entry["path"],
            "schema_fingerprint": entry["schemaFingerprint"],
            "options": options,
        }
        async with self.session.post(f"{self.base}/api/action", json=body, headers=self.headers()) as r:
            assert r.status == 200, await r.text()
            receipt: dict[str, Any] = await r.json()
        return receipt


def embed_text(message: dict[str, Any]) -> str:
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{field['name']} {field['value']}" for field in embed.get("fields") or []]
    return "\n".join(parts)


@pytest.fixture
def playground_base(tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "nexus.db", content_dir=CONTENT_DIR, heartbeat_path=tmp_path / "heartbeat")


def test_playground_keeps_its_own_database_and_heartbeat(playground_base: Settings) -> None:
    settings = playground_settings(playground_base)
    assert settings.db_path != playground_base.db_path
    assert settings.heartbeat_path != playground_base.heartbeat_path
    assert settings.db_path.parent == playground_base.db_path.parent
    assert settings.sync_commands == "always"


async def test_page_is_served_on_loopback_and_a_slash_command_reaches_the_bot(playground_base: Settings) -> None:
    async with open_playground(playground_base, port=0) as playground:
        assert playground.url.startswith("http://127.0.0.1:")
        url = playground.preview.url
        assert url.startswith("http://127.0.0.1:")
        assert len(playground.world.learners) == len(DEMO_LEARNERS)
        assert {demo.track for demo in DEMO_LEARNERS} == {"frontend", "backend"}
        assert playground.bot.user is not None and playground.bot.user.name == "Nexus"
        async with aiohttp.ClientSession() as session:
            async with session.get(url.split("#")[0]) as response:
                assert response.status == 200
                assert "<html" in (await response.text()).lower()
            page = PageClient(session, url)
            await page.open()
            commands = await page.commands()
            assert "help" in commands
            receipt = await page.run_command("help")
            assert not receipt["rejected"], receipt
            assert receipt["settlement"] == "settled"
            reply_id = next(o["messageId"] for o in receipt["outcomes"] if o["kind"] == "response")
            state = await page.state()
            reply = state["messages"][reply_id]
            assert reply["author"]["bot"] is True
            assert "For learners" in embed_text(reply)
    # Leaving the block closed the playground's database.
    assert not playground.bot.db.is_open


async def test_the_page_follows_find_proposal_accept_and_team_thread(playground_base: Settings) -> None:
    async with open_playground(playground_base, port=0) as playground, aiohttp.ClientSession() as session:
        world = playground.world
        ada, grace = world.learners[0], world.learners[1]

        async def page_text() -> str:
            async with session.get(playground.url) as response:
                assert response.status == 200
                return await response.text()

        async def open_place(place_id: int, person: Any) -> dict[str, Any]:
            """Click a place on the page: it redirects to a preview of that place as that person."""
            open_url = f"{playground.url}open?place={place_id}&as={person.id}"
            async with session.get(open_url, allow_redirects=False) as response:
                assert response.status == 303
                preview_url = response.headers["Location"]
            assert preview_url.startswith("http://127.0.0.1:") and "#" in preview_url
            client = PageClient(session, preview_url)
            await client.open()
            return await client.state()

        assert "Direct messages" not in await page_text()
        await ada.slash(world.channel, "announce", project="ecommerce", track="backend")
        await ada.slash(world.channel, "match find")
        text = await page_text()
        assert text.count("Direct messages with Nexus") == 2  # Ada's and Grace's, with the proposal
        assert f"place={ada.user.dm_channel.id}&amp;as={ada.id}" in text

        state = await open_place(ada.user.dm_channel.id, ada)
        assert state["viewerId"] == str(ada.id)
        proposal = next(m for m in state["messages"].values() if "Partner proposal" in embed_text(m))
        assert proposal["author"]["name"] == "Nexus"

        for person in (ada, grace):
            dm = [m for m in person.user.dm_channel.history() if m.components][-1]
            await person.user.click(dm, label="Accept")
        [thread] = world.channel.threads
        text = await page_text()
        assert text.count(f"place={thread.id}&amp;") == 2  # listed for Ada and Grace only
        assert f"place={thread.id}&amp;as={world.learners[2].id}" not in text
        state = await open_place(thread.id, grace)
        assert any("meet your partner" in embed_text(m) for m in state["messages"].values())


async def test_a_second_playground_leaves_the_running_one_alone(playground_base: Settings) -> None:
    async with open_playground(playground_base, port=0) as running:
        database = playground_settings(playground_base).db_path
        before = database.stat().st_ino
        with pytest.raises(PlaygroundUnavailable, match="already running"):
            async with open_playground(playground_base, port=0):
                pass
        assert database.stat().st_ino == before
        result = await running.world.staff.slash(running.world.channel, "nexus config")
        assert result.response.embeds


async def test_staff_are_configured_and_see_the_staff_commands(playground_base: Settings) -> None:
    async with open_playground(playground_base, port=0) as playground:
        world = playground.world
        result = await world.staff.slash(world.channel, "nexus config")
        fields = {field.name: field.value for field in result.response.embeds[0].fields}
        assert fields["Channel"] == world.channel.mention


async def test_demo_learners_are_announced_and_waiting_for_a_partner(playground_base: Settings) -> None:
    async with open_playground(playground_base, port=0) as playground:
        world = playground.world
        stats = await world.staff.slash(world.channel, "nexus stats")
        fields = {field.name: field.value for field in stats.response.embeds[0].fields}
        announced = [demo for demo in DEMO_LEARNERS if demo.project]
        assert f"{len(announced)} announced" in fields["Learners"]
        assert fields["Matching"].startswith(f"{len(announced)} waiting")
        # The newcomer, as Ada, finds Grace at once.
        ada = world.learners[0]
        await ada.slash(world.channel, "announce", project="ecommerce", track="backend")
        found = await ada.slash(world.channel, "match find")
        # The reply says Grace's track once: the demo names are plain, the page's cards add the track.
        assert (
            "**Grace** (frontend)" in found.response.content and "(frontend) (frontend)" not in found.response.content
        )
        async with aiohttp.ClientSession() as session, session.get(playground.url) as page:
            cards = await page.text()
        assert "<h2>Ada (backend)</h2>" in cards and "<h2>Coordinator (staff)</h2>" in cards


async def test_demo_steps_for_missing_or_changed_commands_are_skipped(playground_base: Settings) -> None:
    async with open_playground(playground_base, port=0) as playground:
        world, ada = playground.world, playground.world.learners[0]
        assert not await try_command(world, ada, "no-such-command")
        assert not await try_command(world, ada, "announce", project="ecommerce", no_such_option="x")
        assert await try_command(world, ada, "help")


async def test_a_taken_port_gives_a_clear_error(playground_base: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PlaygroundUnavailable, match="port"):
            async with open_playground(playground_base, port=port):
                pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def read_line_containing(process: subprocess.Popen[str], text: str, deadline: float) -> list[str]:
    assert process.stdout is not None
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} not printed; got {seen!r}")


def test_python_m_bot_without_token_serves_the_playground_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "DISCORD_TOKEN"}
    env.update(
        NEXUS_PLAYGROUND_PORT=str(port),
        NEXUS_DB_PATH=str(tmp_path / "data" / "nexus.db"),
        NEXUS_CONTENT_DIR=str(CONTENT_DIR),
        NEXUS_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,  # no .env or config.yaml here
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = read_line_containing(process, "Playground ready", time.monotonic() + 8)
        assert "No DISCORD_TOKEN" in lines[0]
        url = lines[-1].split("open ", 1)[1].split()[0]
        assert url == f"http://127.0.0.1:{port}/"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            assert response.status == 200
            assert b"<html" in response.read().lower()
        finally:
            connection.close()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=8)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Playground stopped." in out
    assert "Traceback" not in err
    assert (tmp_path / "data" / "playground.db").is_file()
    assert not (tmp_path / "data" / "nexus.db").exists()
