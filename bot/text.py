"""User-supplied text made safe to show to other people: one rule for every name, summary and link a message shows.

Discord renders Markdown in message content and embed descriptions/fields, so text one learner typed can turn into
a masked link, a heading, a spoiler or a fake mention in another learner's DM. Thread names and button labels are
not Markdown but still show invisible direction overrides. Every piece of user text passes through `shown` (for
Markdown places) or `plain` (for places Discord shows literally) before it reaches a message.
"""

from __future__ import annotations

import re
import unicodedata

# Characters Discord's Markdown gives a meaning to; a backslash before any of them shows the character itself.
# `<` stops mentions, channel links, custom emoji and timestamps (`<@1>`, `<#1>`, `<t:1>`); `@` stops
# `@everyone` from being drawn as a mention; `[ ] ( )` stop masked links.
_MARKDOWN = re.compile(r"([\\*_~|`\[\]()<@])")
# `# - >` only start a heading, list, subtext or quote at the start of a line, so only there are they escaped
# (`E-Commerce` and `a -> b` read better without backslashes and cannot turn into anything).
_LINE_START = re.compile(r"^(\s*)([#>\-]+)", re.MULTILINE)
# Direction overrides, zero-width joiners and other invisible formatting: they reorder or hide what people read.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Co", "Cs", "Cn"})
_SPACES = re.compile(r"\s+")
# A repository link is shown as a link only when it is exactly this shape; anything else is shown as text.
_SAFE_URL = re.compile(r"https://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~%/-]*)?")
ELLIPSIS = "…"


def visible(text: str) -> str:
    """The characters a reader can see, in typed order: control, format and unassigned characters removed."""
    return "".join(char for char in text if char.isspace() or unicodedata.category(char) not in _INVISIBLE_CATEGORIES)


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, cut on a character (not inside an escape) and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def plain(text: str, limit: int | None = None) -> str:
    """One line for places Discord shows literally (thread names, button labels, select options, file cells)."""
    line = _SPACES.sub(" ", visible(text)).strip()
    return clip(line, limit) if limit is not None else line


def shown(text: str, limit: int | None = None, *, multiline: bool = False) -> str:
    """Text for a Markdown place: it reads exactly as typed and cannot link, ping, style or hide anything.

    `limit` counts the characters the reader sees (escapes are added after clipping). Names are one line;
    summaries may keep their line breaks with `multiline=True`.
    """
    cleaned = visible(text)
    if multiline:
        lines = [_SPACES.sub(" ", line).strip() for line in cleaned.splitlines()]
        cleaned = "\n".join(line for line in lines if line)
    else:
        cleaned = _SPACES.sub(" ", cleaned).strip()
    if limit is not None:
        cleaned = clip(cleaned, limit)
    escaped = _MARKDOWN.sub(r"\\\1", cleaned)
    return _LINE_START.sub(lambda found: found[1] + re.sub(r"(.)", r"\\\1", found[2]), escaped)


def link(url: str) -> str:
    """A repository link: clickable when it is a plain https URL, otherwise shown as inert text."""
    candidate = plain(url)
    if _SAFE_URL.fullmatch(candidate):
        return f"<{candidate}>"
    return shown(candidate)
