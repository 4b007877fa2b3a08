"""content/projects.yaml: the bundled catalogue validates, and broken files are reported as file:line problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ContentError
from bot.projects_content import load_projects
from tests.conftest import CONTENT_DIR


def test_bundled_catalogue_has_the_five_official_projects() -> None:
    catalogue = load_projects(CONTENT_DIR / "projects.yaml")
    assert [project.key for project in catalogue.projects] == [
        "ecommerce",
        "job-board",
        "movie-recommendation",
        "online-poll",
        "social-feed",
    ]
    for project in catalogue.projects:
        assert project.description and "\n" not in project.description
        assert catalogue.find(project.backend_title) is project
        assert catalogue.find(project.frontend_title) is project
        assert all(catalogue.find(alias) is project for alias in project.aliases)


GOOD = """\
projects:
  - key: shop
    backend_title: Shop Backend
    frontend_title: Shop Front
    description: A shop.
    aliases: [store]
"""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (GOOD.replace("key: shop", "key: Shop Key"), "x.yaml:2:10: projects.0.key: String should match pattern"),
        (GOOD.replace("    description: A shop.\n", ""), "x.yaml:2:5: projects.0.description: Field required"),
        (GOOD.replace("A shop.", "''"), "x.yaml:5:18: projects.0.description: String should have at least 1"),
        (
            GOOD.replace("A shop.", '"two\\nlines"'),
            "x.yaml:5:18: projects.0.description: Value error, must be one line",
        ),
        (GOOD.replace("[store]", "[store, '']"), "x.yaml:6:22: projects.0.aliases.1: String should have at least 1"),
        (GOOD + "    colour: red\n", "x.yaml:7:13: projects.0.colour: Extra inputs are not permitted"),
        ("projects: []\n", "x.yaml:1:11: projects: List should have at least 1 item"),
        ("projects:\n  - key: [unclosed\n", "x.yaml:3:1: not valid YAML"),
        (
            GOOD + GOOD.removeprefix("projects:\n").replace("Shop", "Other"),
            "x.yaml:7:10: projects.1.key: duplicate key",
        ),
        (
            GOOD + GOOD.removeprefix("projects:\n").replace("key: shop", "key: other").replace("Shop", "Store"),
            "x.yaml:7:5: projects.1: other: `Store Backend` also names shop",
        ),
    ],
)
def test_broken_catalogue_is_reported_with_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as raised:
        load_projects(path)
    problems = [line.replace(str(tmp_path) + "/", "") for line in raised.value.problems]
    assert any(line.startswith(problem) for line in problems), problems


def test_missing_file_is_a_content_error(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="cannot read"):
        load_projects(tmp_path / "missing.yaml")


def test_loading_again_sees_every_edit_of_the_file(tmp_path: Path) -> None:
    """The catalogue is kept with the bytes it came from: an edit (even one keeping the size) is read anew, a
    broken one is refused, and the file's old bytes give the old catalogue back."""
    path = tmp_path / "projects.yaml"
    path.write_text(GOOD, encoding="utf-8")
    first = load_projects(path)
    assert load_projects(path) is first
    path.write_text(GOOD.replace("A shop.", "A shed."), encoding="utf-8")
    assert load_projects(path).projects[0].description == "A shed."
    path.write_text(GOOD.replace("key: shop", "key: Shop"), encoding="utf-8")
    with pytest.raises(ContentError):
        load_projects(path)
    path.write_text(GOOD, encoding="utf-8")
    assert load_projects(path).projects[0].description == "A shop."
