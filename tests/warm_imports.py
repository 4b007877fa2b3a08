"""pytest plugin: import matplotlib once, before any test runs.

The bot imports it only when it draws a chart, so the first chart in a process pays about two seconds of imports.
Under a loaded machine that can exceed SimCord's settle timeout in whichever test happens to draw first (a staff
summary sent during `advance_time`), failing a test for a reason that is not its own.
"""

from __future__ import annotations

import importlib

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    if session.config.pluginmanager.has_plugin("dsession"):
        return  # pytest-xdist's controller runs no test: only its workers need it
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    importlib.import_module("matplotlib.figure")
