"""Content loading: YAML topic files -> a validated KnowledgeBase, every problem reported as `file:line:col: msg`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TextIO
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from bot.errors import ContentError
from bot.knowledge import (
    CATEGORIES,
    FIELD_LIMIT,
    PUBLIC_LIMIT,
    Entry,
    KnowledgeBase,
    answer_size,
    compact,
    public_size,
)
from bot.yaml_marks import kept

log = logging.getLogger(__name__)

TOPIC_SUFFIXES = (".yaml", ".yml")
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ID_LIMIT = 64  # a button's custom_id (100 chars) carries the id
TITLE_LIMIT = 100  # an autocomplete choice name
SUMMARY_LIMIT = 300
BODY_LIMIT = 3000
ALIAS_LIMIT = 100
TAG_LIMIT = 40
ITEM_LIMIT = 300
LINK_LIMIT = 300
MAX_LIST_ITEMS = 30
EMBED_LIMIT = 6000
CODE_FENCE = "```"

Slug = Annotated[str, StringConstraints(min_length=1, max_length=ID_LIMIT, pattern=SLUG_PATTERN)]
Alias = Annotated[str, StringConstraints(min_length=1, max_length=ALIAS_LIMIT)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=TAG_LIMIT)]
Item = Annotated[str, StringConstraints(min_length=1, max_length=ITEM_LIMIT)]


def _https_link(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or " " in value:
        raise PydanticCustomError("link", "must be an https:// link, not {value}", {"value": repr(value)})
    return value


def _code_block(value: str) -> str:
    if not (value.startswith(CODE_FENCE) and value.endswith(CODE_FENCE) and len(value) > 2 * len(CODE_FENCE)):
        raise PydanticCustomError("example", "must be one fenced code block (``` … ```)")
    return value


Link = Annotated[str, StringConstraints(min_length=1, max_length=LINK_LIMIT), AfterValidator(_https_link)]
Example = Annotated[str, StringConstraints(min_length=1, max_length=FIELD_LIMIT), AfterValidator(_code_block)]


class TopicFile(BaseModel):
    """The schema of one content/topics/<category>/<id>.yaml file."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True, frozen=True)

    id: Slug
    title: Annotated[str, StringConstraints(min_length=1, max_length=TITLE_LIMIT)]
    category: Literal["technology", "concept", "challenge", "practice", "program"]
    aliases: Annotated[list[Alias], Field(max_length=MAX_LIST_ITEMS)]
    tags: Annotated[list[Tag], Field(max_length=MAX_LIST_ITEMS)]
    summary: Annotated[str, StringConstraints(min_length=1, max_length=SUMMARY_LIMIT)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=BODY_LIMIT)]
    key_points: Annotated[list[Item], Field(max_length=MAX_LIST_ITEMS)] = []
    example: Example | None = None
    pitfalls: Annotated[list[Item], Field(max_length=MAX_LIST_ITEMS)] = []
    links: Annotated[list[Link], Field(max_length=MAX_LIST_ITEMS)] = []
    related: Annotated[list[Slug], Field(max_length=MAX_LIST_ITEMS)]

    def to_entry(self, source: str) -> Entry:
        return Entry(
            id=self.id,
            title=self.title,
            category=self.category,
            summary=self.summary,
            body=self.body,
            aliases=tuple(self.aliases),
            tags=tuple(self.tags),
            key_points=tuple(self.key_points),
            example=self.example,
            pitfalls=tuple(self.pitfalls),
            links=tuple(self.links),
            related=tuple(self.related),
            source=source,
        )


FIELDS = tuple(TopicFile.model_fields)
Location = tuple[str | int, ...]


@dataclass(frozen=True)
class _Parsed:
    entry: Entry
    path: Path
    marks: Mapping[Location, tuple[int, int]]  # field or (field, index) -> 1-based (line, column)


class _Problems:
    """Collects `file:line:col: field: message` lines; sorted by file and position when reported."""

    def __init__(self) -> None:
        self.found: list[tuple[str, int, int, str]] = []

    def add(self, source: str, where: tuple[int, int], message: str) -> None:
        self.found.append((source, where[0], where[1], message))

    def lines(self) -> list[str]:
        return [f"{source}:{line}:{column}: {message}" for source, line, column, message in sorted(self.found)]


def load_topics(topics_dir: Path, *, display_root: Path | None = None) -> KnowledgeBase:
    """Read and validate every topic file; raise ContentError listing every problem at once."""
    root = display_root if display_root is not None else topics_dir.parent.parent
    if not topics_dir.is_dir():
        raise ContentError([f"{_display(topics_dir, root)}: no such folder (expected one YAML file per entry)"])
    paths = sorted(path for path in topics_dir.rglob("*") if path.suffix in TOPIC_SUFFIXES and path.is_file())
    if not paths:
        raise ContentError([f"{_display(topics_dir, root)}: no topic files (*.yaml) found"])
    # Validated from the bytes read here, and reused while every file holds them (an edited, added or removed file,
    # then /nexus reload, is read anew); a folder with problems raises, so it is never kept.
    files = tuple((path, _read(path)) for path in paths)
    return kept(("topics", topics_dir, root), files, lambda: _validate(files, root))


def _read(path: Path) -> bytes | OSError:
    try:
        return path.read_bytes()
    except OSError as error:  # reported, with the file's name, by _parse_file
        return error


def _validate(files: tuple[tuple[Path, bytes | OSError], ...], root: Path) -> KnowledgeBase:
    problems = _Problems()
    parsed: list[_Parsed] = []
    # Ids of files that failed validation still exist for `related`: one broken file is one problem, not many.
    known_ids: set[str] = set()
    for path, raw in files:
        item, claimed_id = _parse_file(path, _display(path, root), raw, problems)
        if item is not None:
            parsed.append(item)
        if claimed_id is not None:
            known_ids.add(claimed_id)
    _check_together(parsed, known_ids, problems)
    if problems.found:
        raise ContentError(problems.lines())
    knowledge = KnowledgeBase(item.entry for item in parsed)
    for item in parsed:
        size = answer_size(knowledge, item.entry)
        if size > EMBED_LIMIT:
            problems.add(
                item.entry.source, (1, 1), f"entry: too long for one Discord embed ({size:,} > {EMBED_LIMIT:,} chars)"
            )
        public = public_size(knowledge, item.entry)
        if public > PUBLIC_LIMIT:
            problems.add(
                item.entry.source,
                _locate(item.marks, ("key_points",)),
                f"key_points: the public post (title, summary, key points) is too long ({public:,} > "
                f"{PUBLIC_LIMIT:,} chars); shorten the summary or the key points",
            )
    if problems.found:
        raise ContentError(problems.lines())
    return knowledge


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _parse_file(
    path: Path, source: str, raw: bytes | OSError, problems: _Problems
) -> tuple[_Parsed | None, str | None]:
    """The validated entry (None if invalid) and the id the file claims, if it names one."""
    if isinstance(raw, OSError):
        problems.add(source, (1, 1), f"cannot be read: {raw.strerror}")
        return None, None
    try:
        # Line ends as reading the file as text gives them (universal newlines).
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        problems.add(source, (1, 1), "not UTF-8 text")
        return None, None
    # libyaml: five times faster than the pure-Python parser, with the same marks for error positions.
    loader = yaml.CSafeLoader(text)
    try:
        node = loader.get_single_node()
        if not isinstance(node, yaml.MappingNode):
            start = node.start_mark if node is not None else None
            problems.add(source, _position(start), "expected a mapping of key: value (id, title, category, …)")
            return None, None
        marks, duplicates = _marks(node)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        problems.add(source, _position(error.problem_mark or error.context_mark), f"not valid YAML: {error.problem}")
        return None, None
    finally:
        loader.dispose()
    for key, where in duplicates:
        problems.add(source, where, f"{key}: duplicate key (only one is allowed)")
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        problems.add(source, (1, 1), "every key must be text")
        return None, None
    claimed_id = data.get("id") if isinstance(data.get("id"), str) else None
    try:
        topic = TopicFile.model_validate(data)
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            location = detail["loc"]
            problems.add(source, _locate(marks, location), f"{_label(location)}: {_describe(detail)}")
        return None, claimed_id
    entry = topic.to_entry(source)
    if path.stem != entry.id:
        problems.add(source, marks[("id",)], f"id: {entry.id!r} must match the file name ({entry.id}.yaml)")
    folder = path.parent.name
    if folder in CATEGORIES and folder != entry.category:
        problems.add(source, marks[("category",)], f"category: {entry.category!r} but the file is in {folder}/")
    return _Parsed(entry, path, marks), entry.id


def _marks(node: yaml.MappingNode) -> tuple[dict[Location, tuple[int, int]], list[tuple[str, tuple[int, int]]]]:
    """Where each top-level key and each list item starts, plus keys written twice."""
    marks: dict[Location, tuple[int, int]] = {(): _position(node.start_mark)}
    duplicates: list[tuple[str, tuple[int, int]]] = []
    for key_node, value_node in node.value:
        key = str(key_node.value)
        where = _position(key_node.start_mark)
        if (key,) in marks:
            duplicates.append((key, where))
            continue
        marks[(key,)] = where
        if isinstance(value_node, yaml.SequenceNode):
            for index, item in enumerate(value_node.value):
                marks[(key, index)] = _position(item.start_mark)
    return marks, duplicates


def _position(mark: yaml.Mark | None) -> tuple[int, int]:
    return (1, 1) if mark is None else (mark.line + 1, mark.column + 1)


def _locate(marks: Mapping[Location, tuple[int, int]], location: Location) -> tuple[int, int]:
    for length in range(len(location), -1, -1):
        where = marks.get(tuple(location[:length]))
        if where is not None:
            return where
    return (1, 1)


def _label(location: Location) -> str:
    if not location:
        return "entry"
    label = str(location[0])
    for part in location[1:]:
        label += f"[{part}]" if isinstance(part, int) else f".{part}"
    return label


def _describe(detail: ErrorDetails) -> str:
    """Pydantic's error, said the way a content author needs to hear it."""
    kind = detail["type"]
    value: Any = detail.get("input")
    context: dict[str, Any] = dict(detail.get("ctx") or {})
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return f"unknown key (allowed: {', '.join(FIELDS)})"
    if kind == "string_too_long":
        # Pydantic reports the raw input; the limit applied to the stripped text.
        return f"too long ({len(str(value).strip()):,} > {context['max_length']:,} chars)"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_type":
        return "must not be empty" if value is None else f"must be text, not {type(value).__name__} ({value!r})"
    if kind == "list_type":
        return f"must be a list, not {type(value).__name__}"
    if kind == "too_long":
        return f"too many items ({context.get('actual_length', '?')} > {context['max_length']})"
    if kind == "literal_error":
        return f"must be one of {', '.join(CATEGORIES)}, not {value!r}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} is not a lowercase slug like 'n-plus-one'"
    return str(detail["msg"])


def _check_together(parsed: list[_Parsed], known_ids: set[str], problems: _Problems) -> None:
    """Rules across files: unique ids, names that lead to exactly one entry, related ids that exist."""
    owners: dict[str, _Parsed] = {}
    for item in parsed:
        entry = item.entry
        first = owners.setdefault(entry.id, item)
        if first is not item:
            problems.add(entry.source, item.marks[("id",)], f"id: {entry.id!r} is already used by {first.entry.source}")
    names: dict[str, tuple[_Parsed, str]] = {}
    for item in parsed:
        entry = item.entry
        candidates: list[tuple[Location, str]] = [(("title",), entry.title), (("id",), entry.id)]
        candidates += [(("aliases", index), alias) for index, alias in enumerate(entry.aliases)]
        for location, name in candidates:
            key = compact(name)
            if not key:
                problems.add(
                    entry.source, _locate(item.marks, location), f"{_label(location)}: {name!r} has no letters"
                )
                continue
            owner = names.setdefault(key, (item, name))
            if owner[0] is not item:
                problems.add(
                    entry.source,
                    _locate(item.marks, location),
                    f"{_label(location)}: {name!r} also names {owner[0].entry.id!r} ({owner[1]!r} in "
                    f"{owner[0].entry.source}); a name must lead to one entry",
                )
    for item in parsed:
        entry = item.entry
        seen: set[str] = set()
        for index, related in enumerate(entry.related):
            where = _locate(item.marks, ("related", index))
            if related == entry.id:
                problems.add(entry.source, where, f"related[{index}]: an entry cannot be related to itself")
            elif related not in known_ids:
                problems.add(entry.source, where, f"related[{index}]: no entry has the id {related!r}")
            elif related in seen:
                problems.add(entry.source, where, f"related[{index}]: {related!r} is listed twice")
            seen.add(related)
        for location, items in (
            (("key_points",), entry.key_points),
            (("pitfalls",), entry.pitfalls),
            (("links",), entry.links),
        ):
            size = sum(len(text) + 3 for text in items)  # "• " and a newline each
            if size > FIELD_LIMIT:
                problems.add(
                    entry.source,
                    _locate(item.marks, location),
                    f"{location[0]}: too long for one embed field ({size:,} > {FIELD_LIMIT:,} chars)",
                )


def describe_counts(knowledge: KnowledgeBase) -> str:
    """`45 entries (technology 14, concept 16, …)`."""
    counts = ", ".join(f"{name} {count}" for name, count in knowledge.counts().items())
    return f"{len(knowledge)} entries ({counts})"


def check_content(content_dir: Path, out: TextIO, err: TextIO) -> int:
    """`nexus-bot check-content`: validate every content file without starting the bot; 0 when valid, else 1."""
    # Imported here: the other loaders are siblings of this module, not dependencies of the knowledge base.
    from bot.projects_content import load_projects
    from bot.reminders_content import load_reminders

    topics_dir = content_dir / "topics"
    problems: list[str] = []
    summary: list[str] = []
    checks: list[tuple[str, Callable[[], str]]] = [
        ("topics", lambda: describe_counts(load_topics(topics_dir))),
        ("projects", lambda: f"{len(load_projects(content_dir / 'projects.yaml').projects)} projects"),
        ("reminders", lambda: f"{len(load_reminders(content_dir / 'reminders.yaml'))} reminders"),
    ]
    for _name, check in checks:
        try:
            summary.append(check())
        except ContentError as error:
            problems.extend(error.problems)
    if problems:
        for problem in problems:
            print(problem, file=err)
        count = len(problems)
        print(f"{count} problem{'s' if count != 1 else ''} in {content_dir}", file=err)
        return 1
    print(f"OK: {'; '.join(summary)} in {content_dir}", file=out)
    return 0
