"""Loads content/projects.yaml into the project Catalogue; every problem reads `file:line:col: field: message`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ContentError
from bot.projects import PROJECT_NAME_LIMIT, Catalogue, Project, catalogue_collisions
from bot.yaml_marks import kept_while_unchanged, read_yaml, validation_problems, where

PROJECTS_FILE = "projects.yaml"
KEY_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
DESCRIPTION_LIMIT = 200

Name = Annotated[str, Field(min_length=1, max_length=PROJECT_NAME_LIMIT)]


class ProjectModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str = Field(pattern=KEY_PATTERN, max_length=40)
    backend_title: Name
    frontend_title: Name
    description: str = Field(min_length=1, max_length=DESCRIPTION_LIMIT)
    aliases: list[Name] = Field(default_factory=list)

    @field_validator("description")
    @classmethod
    def one_line(cls, value: str) -> str:
        if "\n" in value:
            raise ValueError("must be one line")
        return value


class ProjectsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    projects: list[ProjectModel] = Field(min_length=1)


@kept_while_unchanged
def load_projects(path: Path) -> Catalogue:
    """The catalogue from one YAML file; raises ContentError listing every problem found."""
    root, data = read_yaml(path)
    try:
        parsed = ProjectsFile.model_validate(data)
    except ValidationError as error:
        raise ContentError(validation_problems(path, root, error)) from None
    projects = [
        Project(
            key=model.key,
            backend_title=model.backend_title,
            frontend_title=model.frontend_title,
            description=model.description,
            aliases=tuple(model.aliases),
        )
        for model in parsed.projects
    ]
    problems = []
    seen: set[str] = set()
    for index, project in enumerate(projects):
        if project.key in seen:
            problems.append(f"{where(path, root, ('projects', index, 'key'))}: projects.{index}.key: duplicate key")
        seen.add(project.key)
    for problem in catalogue_collisions(projects):
        key = problem.split(":", 1)[0]
        index = next(i for i, project in enumerate(projects) if project.key == key)
        problems.append(f"{where(path, root, ('projects', index))}: projects.{index}: {problem}")
    if problems:
        raise ContentError(problems)
    return Catalogue(projects)
