"""Loads content/reminders.yaml into Reminders; every problem reads `file:line:col: field: message`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ContentError
from bot.reminders import LAST_REMINDER_DAY, Audience, Block, Reminder, template_problems
from bot.yaml_marks import deepest_node, kept_while_unchanged, read_yaml, validation_problems, where

REMINDERS_FILE = "reminders.yaml"
ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# Room left under Discord's 2,000 characters for filled placeholders and the closed-DM fallback note.
MESSAGE_LIMIT = 1500


class _Loader(yaml.CSafeLoader):
    """libyaml's SafeLoader that keeps `10:00` a string: YAML 1.1 would read it as the base-60 number 600."""


def _int_or_clock(loader: _Loader, node: yaml.ScalarNode) -> Any:
    if ":" in node.value:
        return node.value
    return loader.construct_yaml_int(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _int_or_clock)


class ReminderModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=ID_PATTERN, max_length=40)
    # 0-6 is week one; 7 is the morning after, for the staff summary of the whole week.
    day: int = Field(ge=0, le=LAST_REMINDER_DAY, strict=True)
    time: str
    audience: Audience
    message: str = Field(min_length=1, max_length=MESSAGE_LIMIT)
    blocks: list[Block] = Field(default_factory=list)

    @field_validator("time")
    @classmethod
    def clock(cls, value: str) -> str:
        if not CLOCK.match(value):
            raise ValueError('must be a 24-hour local time HH:MM, e.g. "09:00"')
        return value

    def at(self) -> dt.time:
        hours, minutes = self.time.split(":")
        return dt.time(int(hours), int(minutes))


class RemindersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminders: list[ReminderModel] = Field(min_length=1)


@kept_while_unchanged
def load_reminders(path: Path) -> tuple[Reminder, ...]:
    """The week's reminders from one YAML file; raises ContentError listing every problem found."""
    root, data = read_yaml(path, _Loader)
    try:
        parsed = RemindersFile.model_validate(data)
    except ValidationError as error:
        raise ContentError(validation_problems(path, root, error)) from None
    problems = []
    seen: set[str] = set()
    for index, model in enumerate(parsed.reminders):
        if model.id in seen:
            problems.append(f"{where(path, root, ('reminders', index, 'id'))}: reminders.{index}.id: duplicate id")
        seen.add(model.id)
        message_node = deepest_node(root, ("reminders", index, "message"))
        for problem in template_problems(model.message, model.audience):
            problems.append(
                f"{_template_where(path, message_node, problem.line_offset)}: reminders.{index}.message "
                f"({model.id}): {problem.message}"
            )
        if "summary" in model.blocks and model.audience != "staff":
            problems.append(
                f"{where(path, root, ('reminders', index, 'blocks'))}: reminders.{index}.blocks: "
                "the summary names who is behind: only the staff audience may include it"
            )
        if model.blocks and model.audience in ("not_announced", "unmatched"):
            problems.append(
                f"{where(path, root, ('reminders', index, 'blocks'))}: reminders.{index}.blocks: "
                "blocks go in channel or staff posts, not in DMs"
            )
    if problems:
        raise ContentError(problems)
    return tuple(
        Reminder(
            id=model.id,
            day=model.day,
            at=model.at(),
            audience=model.audience,
            message=model.message,
            blocks=tuple(dict.fromkeys(model.blocks)),
        )
        for model in parsed.reminders
    )


def _template_where(path: Path, node: Any, line_offset: int) -> str:
    """The file line of a line inside a message: block scalars (`|`, `>`) start on the line after the key."""
    if node is None:
        return f"{path}:1:1"
    mark = node.start_mark
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        return f"{path}:{mark.line + 2 + line_offset}:{mark.column + 1}"
    return f"{path}:{mark.line + 1 + line_offset}:{mark.column + 1}"
