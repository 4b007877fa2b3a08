"""Where a pydantic error path points in a YAML file: the `file:line:col` every content loader reports."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml
from pydantic import ValidationError

from bot.errors import ContentError

T = TypeVar("T")

# What was last built from some content, with the bytes it was built from (see kept); the most recently used last.
_KEPT: dict[tuple[Any, ...], tuple[Any, Any]] = {}
KEPT_LIMIT = 16


def child_node(node: Any, part: Any) -> Any:
    """The value node under a mapping key or sequence index, or None."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]
    return None


def deepest_node(root: Any, location: tuple[Any, ...]) -> Any:
    """The deepest node that exists along `location`, so a missing key points at its parent."""
    node = root
    for part in location:
        child = child_node(node, part)
        if child is None:
            return node
        node = child
    return node


def where(path: Path, root: Any, location: tuple[Any, ...]) -> str:
    node = deepest_node(root, location)
    if node is None:
        return f"{path}:1:1"
    mark = node.start_mark
    return f"{path}:{mark.line + 1}:{mark.column + 1}"


def read_yaml(path: Path, loader: type[yaml.CSafeLoader] = yaml.CSafeLoader) -> tuple[Any, Any]:
    """(node tree for error positions, parsed data); unreadable or malformed files raise ContentError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ContentError([f"{path}: cannot read: {error}"]) from None
    try:
        root = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)  # noqa: S506 - every loader here is a CSafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        position = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ContentError([f"{position}: not valid YAML: {getattr(error, 'problem', None) or error}"]) from None
    return root, data


def validation_problems(path: Path, root: Any, error: ValidationError) -> list[str]:
    """Every pydantic error as `file:line:col: field: message`."""
    problems = []
    for item in error.errors():
        location = tuple(item["loc"])
        field = ".".join(str(part) for part in location) or "(file)"
        problems.append(f"{where(path, root, location)}: {field}: {item['msg']}")
    return problems


def kept(key: tuple[Any, ...], fingerprint: object, build: Callable[[], T]) -> T:
    """What `build` made under `key` from the same `fingerprint` (the bytes it reads), else `build()` now.

    Every start of the bot in a process reads the same content (the test suite starts a bot per test): reading the
    bytes costs a millisecond, parsing and validating them tens. `build` must return something nobody changes, and
    raise on problems: what raised is never kept. The last KEPT_LIMIT are kept.
    """
    found = _KEPT.pop(key, None)
    value = found[1] if found is not None and found[0] == fingerprint else build()
    _KEPT[key] = (fingerprint, value)
    while len(_KEPT) > KEPT_LIMIT:
        del _KEPT[next(iter(_KEPT))]
    return cast(T, value)


def kept_while_unchanged(load: Callable[[Path], T]) -> Callable[[Path], T]:
    """`load`, reusing what it made of a file for as long as the file holds the same bytes (see kept).

    `load` reads the file itself: one that changed while it was being loaded is not kept.
    """

    @functools.wraps(load)
    def cached(path: Path) -> T:
        key = (load.__qualname__, path)
        before = _bytes(path)
        if before is None:
            return load(path)  # which says what is wrong with the file
        built = False

        def build() -> T:
            nonlocal built
            built = True
            return load(path)

        loaded = kept(key, before, build)
        # Only a fresh load can have read a file that changed meanwhile; a kept one needs no second read.
        if built and _bytes(path) != before:
            _KEPT.pop(key, None)
        return loaded

    return cached


def _bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
