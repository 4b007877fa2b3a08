"""Content validation: every problem at once as file:line:col, the check-content command, and the bundled files."""

from __future__ import annotations

import shutil
import typing
from pathlib import Path
from typing import Any

import pytest
from discord.ext import commands

from bot import create_bot
from bot.__main__ import main
from bot.content import TopicFile, load_topics
from bot.errors import ContentError
from bot.knowledge import CATEGORIES
from bot.settings import Settings
from tests.conftest import CONTENT_DIR

VALID = """\
id: {id}
title: {title}
category: concept
aliases: [{alias}]
tags: [testing]
summary: A short summary.
body: |
  Some **Markdown** body.
key_points:
  - One point.
example: |
  ```python
  print("hi")
  ```
links:
  - https://docs.python.org/3/
related: [{related}]
"""


def write_topic(root: Path, entry_id: str, text: str | None = None, *, folder: str = "concept", **fields: str) -> Path:
    values = {"id": entry_id, "title": entry_id.title(), "alias": f"{entry_id} alias", "related": ""} | fields
    path = root / "content" / "topics" / folder / f"{entry_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else VALID.format(**values), encoding="utf-8")
    return path


def problems_for(root: Path) -> list[str]:
    with pytest.raises(ContentError) as raised:
        load_topics(root / "content" / "topics")
    return raised.value.problems


def test_valid_files_load(tmp_path: Path) -> None:
    write_topic(tmp_path, "alpha", related="beta")
    write_topic(tmp_path, "beta", related="alpha")
    knowledge = load_topics(tmp_path / "content" / "topics")
    assert [entry.id for entry in knowledge.entries] == ["alpha", "beta"]
    alpha = knowledge.get("alpha")
    assert alpha is not None
    assert alpha.body == "Some **Markdown** body."
    assert alpha.source == "content/topics/concept/alpha.yaml"


def test_loading_again_sees_every_edit_and_reuses_only_unchanged_files(tmp_path: Path) -> None:
    """A loaded folder is kept with the bytes it came from: any change to them, even one that keeps the file's
    size, is read anew; a broken edit is refused; once the files hold the old bytes again, the old entries serve."""
    topics = tmp_path / "content" / "topics"
    alpha = write_topic(tmp_path, "alpha")
    first = load_topics(topics)
    assert load_topics(topics) is first
    alpha.write_text(alpha.read_text(encoding="utf-8").replace("A short", "A small"), encoding="utf-8")
    assert load_topics(topics).entries[0].summary == "A small summary."
    original = alpha.read_bytes()
    alpha.write_text("id: alpha\n", encoding="utf-8")
    assert any("required key is missing" in problem for problem in problems_for(tmp_path))
    alpha.write_bytes(original)
    assert load_topics(topics).entries[0].summary == "A small summary."
    write_topic(tmp_path, "beta")
    assert [entry.id for entry in load_topics(topics).entries] == ["alpha", "beta"]
    (topics / "concept" / "beta.yaml").unlink()
    assert [entry.id for entry in load_topics(topics).entries] == ["alpha"]


def test_body_too_long_names_file_line_and_sizes(tmp_path: Path) -> None:
    text = VALID.format(id="alpha", title="Alpha", alias="a1", related="")
    text = text.replace("  Some **Markdown** body.", "  " + "x" * 3412)
    write_topic(tmp_path, "alpha", text)
    assert problems_for(tmp_path) == ["content/topics/concept/alpha.yaml:7:1: body: too long (3,412 > 3,000 chars)"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("category: concept", "category: concepts", ":3:1: category: must be one of technology, concept"),
        ("tags: [testing]", "tags: [testing]\ncolour: red", ":6:1: colour: unknown key (allowed: id, title"),
        ("summary: A short summary.\n", "", ":1:1: summary: required key is missing"),
        (
            "  - https://docs.python.org/3/",
            "  - http://docs.python.org/3/",
            ":16:5: links[0]: must be an https:// link",
        ),
        ("title: Alpha", "title: 2024", ":2:1: title: must be text, not int (2024)"),
        ("title: Alpha", "title: '" + "t" * 101 + "'", ":2:1: title: too long (101 > 100 chars)"),
        ("id: alpha", "id: Alpha_One", ":1:1: id: 'Alpha_One' is not a lowercase slug"),
        ("aliases: [a1]", "aliases: [a1, 7]", ":4:15: aliases[1]: must be text, not int (7)"),
        ("aliases: [a1]", "aliases: a1", ":4:1: aliases: must be a list, not str"),
        ("summary: A short summary.", "summary: '" + "s" * 301 + "'", ":6:1: summary: too long (301 > 300 chars)"),
        ('  ```python\n  print("hi")\n  ```', "  print('no fence')", ":11:1: example: must be one fenced code block"),
        ("related: []", "related: [alpha]", ":17:11: related[0]: an entry cannot be related to itself"),
        ("related: []", "related: [ghost]", ":17:11: related[0]: no entry has the id 'ghost'"),
        ("tags: [testing]", "tags: [testing]\ntags: [again]", ":6:1: tags: duplicate key"),
        ("body: |", "body: [unclosed", ":9:11: not valid YAML:"),
    ],
)
def test_each_problem_is_reported_with_its_position(tmp_path: Path, old: str, new: str, expected: str) -> None:
    text = VALID.format(id="alpha", title="Alpha", alias="a1", related="")
    assert old in text
    write_topic(tmp_path, "alpha", text.replace(old, new))
    problems = problems_for(tmp_path)
    assert any(problem.startswith("content/topics/concept/alpha.yaml" + expected) for problem in problems), problems


def test_every_problem_in_every_file_is_reported_at_once(tmp_path: Path) -> None:
    write_topic(tmp_path, "alpha", related="ghost")
    broken = VALID.format(id="beta", title="Beta", alias="b1", related="").replace("category: concept", "category: x")
    write_topic(tmp_path, "beta", broken.replace("https://", "ftp://"))
    write_topic(tmp_path, "gamma", "- just\n- a list\n")
    problems = problems_for(tmp_path)
    assert len(problems) == 4
    assert problems[0].startswith("content/topics/concept/alpha.yaml:17:11: related[0]")
    assert problems[1].startswith("content/topics/concept/beta.yaml:3:1: category")
    assert problems[2].startswith("content/topics/concept/beta.yaml:16:5: links[0]")
    assert problems[3].startswith("content/topics/concept/gamma.yaml:1:1: expected a mapping")


def test_names_must_lead_to_one_entry(tmp_path: Path) -> None:
    write_topic(tmp_path, "alpha", alias="Shared Name")
    write_topic(tmp_path, "beta", alias="shared-names")
    write_topic(tmp_path, "gamma", alias="Alpha")
    problems = problems_for(tmp_path)
    assert any("beta.yaml:4:11: aliases[0]: 'shared-names' also names 'alpha'" in problem for problem in problems)
    assert any("gamma.yaml:4:11: aliases[0]: 'Alpha' also names 'alpha'" in problem for problem in problems)


def test_duplicate_ids_and_file_names(tmp_path: Path) -> None:
    write_topic(tmp_path, "alpha")
    write_topic(tmp_path, "alpha", folder="practice", alias="other")
    problems = problems_for(tmp_path)
    assert any("practice/alpha.yaml:1:1: id: 'alpha' is already used by content/topics/concept" in p for p in problems)
    assert any("practice/alpha.yaml:3:1: category: 'concept' but the file is in practice/" in p for p in problems)


def test_id_must_match_file_name(tmp_path: Path) -> None:
    path = write_topic(tmp_path, "alpha")
    path.rename(path.with_name("renamed.yaml"))
    assert problems_for(tmp_path) == [
        "content/topics/concept/renamed.yaml:1:1: id: 'alpha' must match the file name (alpha.yaml)"
    ]


def test_whole_entry_must_fit_one_embed(tmp_path: Path) -> None:
    points = "\n".join(f"  - {'p' * 200}" for _ in range(5))
    links = "\n".join(f"  - https://example.com/{'l' * 230}" for _ in range(4))
    code = "  ```\n" + "\n".join("  " + "c" * 99 for _ in range(9)) + "\n  ```"
    # Short key points: the public post (summary and key points) fits; only the whole answer is too long.
    text = (
        "id: alpha\ntitle: Alpha\ncategory: concept\naliases: []\ntags: []\n"
        f"summary: {'s' * 300}\nbody: {'b' * 3000}\nkey_points:\n  - short\npitfalls:\n{points}\n"
        f"links:\n{links}\nexample: |\n{code}\nrelated: []\n"
    )
    write_topic(tmp_path, "alpha", text)
    [problem] = problems_for(tmp_path)
    assert problem.startswith("content/topics/concept/alpha.yaml:1:1: entry: too long for one Discord embed (")
    assert problem.endswith(" > 6,000 chars)")


def test_public_post_must_fit_its_limit(tmp_path: Path) -> None:
    points = "\n".join(f"  - {'p' * 250}" for _ in range(4))
    text = VALID.format(id="alpha", title="Alpha", alias="a1", related="").replace(
        "summary: A short summary.", f"summary: {'s' * 200}"
    )
    text = text.replace("key_points:\n  - One point.", f"key_points:\n{points}")
    write_topic(tmp_path, "alpha", text)
    [problem] = problems_for(tmp_path)
    assert problem.startswith("content/topics/concept/alpha.yaml:9:1: key_points: the public post (title, summary")
    assert "> 1,200 chars)" in problem


def test_list_field_must_fit_one_embed_field(tmp_path: Path) -> None:
    points = "\n".join(f"  - {'p' * 290}" for _ in range(4))
    text = VALID.format(id="alpha", title="Alpha", alias="a1", related="").replace(
        "key_points:\n  - One point.", f"key_points:\n{points}"
    )
    write_topic(tmp_path, "alpha", text)
    [problem] = problems_for(tmp_path)
    assert problem.startswith("content/topics/concept/alpha.yaml:9:1: key_points: too long for one embed field (1,")


def test_missing_or_empty_folder(tmp_path: Path) -> None:
    assert problems_for(tmp_path) == ["content/topics: no such folder (expected one YAML file per entry)"]
    (tmp_path / "content" / "topics").mkdir(parents=True)
    assert problems_for(tmp_path) == ["content/topics: no topic files (*.yaml) found"]


def test_schema_categories_match_the_domain() -> None:
    annotation = TopicFile.model_fields["category"].annotation
    assert typing.get_args(annotation) == CATEGORIES


# ---------------------------------------------------------------- nexus-bot check-content


@pytest.fixture
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings.from_env reads .env and config.yaml from the working directory.
    monkeypatch.chdir(tmp_path)
    for name in ("NEXUS_CONTENT_DIR", "NEXUS_CONFIG", "NEXUS_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("clean_environment")
def test_check_content_passes_on_bundled_content(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-content", "--content-dir", str(CONTENT_DIR)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: ") and " entries (technology " in out


def with_bundled_catalogue_and_schedule(content: Path) -> Path:
    """check-content validates every content file, so a test site needs projects and reminders too."""
    for name in ("projects.yaml", "reminders.yaml"):
        shutil.copy(CONTENT_DIR / name, content / name)
    return content


@pytest.mark.usefixtures("clean_environment")
def test_check_content_lists_every_problem_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_topic(tmp_path / "site", "alpha", related="ghost")
    write_topic(tmp_path / "site", "beta", "id: beta\n")
    with_bundled_catalogue_and_schedule(tmp_path / "site" / "content")
    assert main(["check-content", "--content-dir", str(tmp_path / "site" / "content")]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0].startswith("content/topics/concept/alpha.yaml:17:11: related[0]: no entry has the id 'ghost'")
    assert sum(line.startswith("content/topics/concept/beta.yaml:1:1: ") for line in lines) == 7  # missing keys
    assert lines[-1].startswith("8 problems in ")
    assert "OK" not in captured.out


@pytest.mark.usefixtures("clean_environment")
def test_check_content_defaults_to_the_configured_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_topic(tmp_path / "site", "alpha")
    with_bundled_catalogue_and_schedule(tmp_path / "site" / "content")
    monkeypatch.setenv("NEXUS_CONTENT_DIR", str(tmp_path / "site" / "content"))
    assert main(["check-content"]) == 0
    assert "OK: 1 entries" in capsys.readouterr().out


@pytest.mark.usefixtures("clean_environment")
def test_check_content_also_validates_projects_and_reminders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_topic(tmp_path / "site", "alpha")
    content = with_bundled_catalogue_and_schedule(tmp_path / "site" / "content")
    (content / "reminders.yaml").write_text(
        "reminders:\n  - id: kickoff\n    day: 0\n    time: '09:00'\n    audience: channel\n"
        "    message: Hello {nobody}\n",
        encoding="utf-8",
    )
    (content / "projects.yaml").unlink()
    assert main(["check-content", "--content-dir", str(content)]) == 1
    err = capsys.readouterr().err
    assert "projects.yaml: cannot read" in err
    assert "reminders.yaml:6:" in err and "nobody" in err


# ---------------------------------------------------------------- the bundled content


def test_every_bundled_topic_file_validates() -> None:
    knowledge = load_topics(CONTENT_DIR / "topics")
    files = sorted((CONTENT_DIR / "topics").rglob("*.yaml"))
    assert len(knowledge) == len(files) >= 40
    assert all(count > 0 for count in knowledge.counts().values()), knowledge.counts()


async def test_broken_content_stops_start_up_with_every_problem(tmp_path: Path, settings: Settings) -> None:
    write_topic(tmp_path, "alpha", related="ghost")
    write_topic(tmp_path, "beta", "id: beta\ntitle: [broken\n")
    bot = create_bot(settings.with_overrides(content_dir=tmp_path / "content"))
    await bot.db.connect()
    try:
        with pytest.raises(commands.ExtensionFailed) as raised:
            await bot.load_extension("cogs.knowledge")
        original: Any = raised.value.original
        assert isinstance(original, ContentError)
        assert len(original.problems) == 2
        assert "alpha.yaml:17:11: related[0]" in str(raised.value)
        assert "beta.yaml:3:1: not valid YAML" in str(raised.value)
    finally:
        await bot.db.close()
        bot.scheduler.shutdown()
