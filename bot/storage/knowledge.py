"""SQL for the knowledge base: the FTS5 search index, the no-hit log behind /nexus gaps, and look-up counts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.knowledge import (
    Entry,
    Gap,
    HitKind,
    KnowledgeBase,
    LookupCount,
    SearchHit,
    SearchQuery,
    compact,
    highlight_snippet,
    one_line,
    search_snippet,
)
from bot.storage.db import Database, Session

# Control characters never appear in content, so they mark matches unambiguously inside snippets.
MATCH_START = "\x02"
MATCH_END = "\x03"
# A no-hit question older than this says little about today's content and is forgotten.
MISS_RETENTION = timedelta(days=365)
DM_GUILD = 0

# Columns: 0 entry_id (not indexed), 1 title, 2 aliases, 3 tags, 4 summary, 5 body. bm25 weights follow that
# order, so a word in a title counts ten times one in the body; snippets come from the summary and the body.
# Ranked by bm25 only: the snippet is cut in Python from the hit's summary or body (see search_snippet).
# The index's porter tokenizer stems both sides ("queries" finds "query", "caching" finds "cache").
_SEARCH_SQL = (
    "SELECT entry_id, summary, body, bm25(knowledge_fts, 0.0, 10.0, 6.0, 4.0, 2.0, 1.0) AS score"
    " FROM knowledge_fts WHERE knowledge_fts MATCH ? ORDER BY score LIMIT ?"
)
# The any-word fill looks first at what an entry is about (names, tags, summary), then, while the list is still
# short, at whole entries. A lone word of the question in a long body says little of the entry, and ranking every
# body holding one of several common words cost a 5,000-entry knowledge base as much as the whole rest of a search
# (docs/benchmarks.md, section 2); on what an entry is about, a page is nearly always found before that.
_ABOUT_COLUMNS = "{title aliases tags summary}"
# entry_id is not indexed: a named entry is read by its rowid (its place in the last rebuild), one B-tree step.
# The rowids travel as one JSON parameter, so no statement is assembled from pieces.
_NAMED_SQL = "SELECT rowid, entry_id, summary, body FROM knowledge_fts WHERE rowid IN (SELECT value FROM json_each(?))"


def match_expression(
    terms: Sequence[Sequence[str]], joiner: str, synonyms: Sequence[Sequence[Sequence[str]]] = ()
) -> str:
    """An FTS5 query: each typed word is a quoted phrase of its tokens, OR its synonyms; the last may be a prefix."""
    groups = []
    for position, tokens in enumerate(terms):
        phrase = '"' + " ".join(tokens) + '"'
        if position == len(terms) - 1 and len(tokens[-1]) >= 3:
            phrase += "*"
        others = synonyms[position] if position < len(synonyms) else ()
        if others:
            phrase = "(" + " OR ".join([phrase, *('"' + " ".join(other) + '"' for other in others)]) + ")"
        groups.append(phrase)
    return f" {joiner} ".join(groups)


class KnowledgeStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # The names side of the search index (titles, aliases: what a question may name), rebuilt with the table,
        # and each entry's rowid in it.
        self._names = KnowledgeBase(())
        self._rowids: dict[str, int] = {}

    async def rebuild_index(self, entries: Sequence[Entry], names: KnowledgeBase | None = None) -> None:
        """Replace the search index with these entries, in one transaction.

        `names`: these entries' KnowledgeBase, when the caller has it already (building one normalises every name).
        """
        names = names if names is not None else KnowledgeBase(entries)
        rowids = {entry.id: position for position, entry in enumerate(entries, start=1)}
        rows = [
            (
                rowids[entry.id],
                entry.id,
                entry.title,
                " · ".join((entry.id.replace("-", " "), *entry.aliases)),
                " ".join(entry.tags),
                entry.summary,
                "\n\n".join(
                    part for part in (entry.body, *entry.key_points, entry.example or "", *entry.pitfalls) if part
                ),
            )
            for entry in entries
        ]

        async def body(conn: Session) -> None:
            await conn.execute("DELETE FROM knowledge_fts")
            await conn.executemany(
                "INSERT INTO knowledge_fts (rowid, entry_id, title, aliases, tags, summary, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

        await self.db.transact(body)
        self._names, self._rowids = names, rowids

    async def search(self, query: str, limit: int = 5) -> list[SearchHit]:
        """Best matches for a question: entries it names, then those holding all its meaningful words (by bm25),
        then, while fewer than `limit`, those holding any of them (by bm25), ranked below: first those whose names,
        tags or summary hold one, then those holding one anywhere."""
        question = self._names.search_query(query)
        if not question.terms or limit <= 0:
            return []
        rowids = [self._rowids[entry_id] for entry_id in question.named if entry_id in self._rowids]

        async def body(conn: Session) -> list[SearchHit]:
            return await _search(conn, question, rowids, limit)

        return await self.db.query(body)

    async def record_weak(self, guild_id: int | None, query: str, best: SearchHit, now: datetime) -> None:
        """Remember a question whose best hit was weak (never who asked); forget ones older than a year."""

        async def body(conn: Session) -> None:
            await conn.execute(
                "INSERT INTO knowledge_weak_answers (guild_id, query, query_key, best_entry, best_score, asked_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    guild_id,
                    query.strip()[:200],
                    compact(query) or query.strip().casefold(),
                    best.entry_id,
                    best.score,
                    now.isoformat(),
                ),
            )
            await conn.execute(
                "DELETE FROM knowledge_weak_answers WHERE asked_at < ?", ((now - MISS_RETENTION).isoformat(),)
            )

        return await self.db.transact(body)

    async def record_miss(self, guild_id: int | None, query: str, source: str, now: datetime) -> None:
        """Remember a question nothing answered (never who asked); forget ones older than a year."""

        async def body(conn: Session) -> None:
            await conn.execute(
                "INSERT INTO knowledge_misses (guild_id, query, query_key, source, asked_at) VALUES (?, ?, ?, ?, ?)",
                (guild_id, query.strip()[:200], compact(query) or query.strip().casefold(), source, now.isoformat()),
            )
            await conn.execute("DELETE FROM knowledge_misses WHERE asked_at < ?", ((now - MISS_RETENTION).isoformat(),))

        return await self.db.transact(body)

    async def gaps(self, guild_id: int | None, limit: int = 15) -> list[Gap]:
        """The most frequent unanswered questions in a guild, most asked first."""

        async def body(conn: Session) -> list[Gap]:
            return await _gaps(conn, guild_id, limit)

        return await self.db.query(body)

    async def gaps_report(
        self, guild_id: int | None, *, gaps: int = 15, weak: int = 10, lookups: int = 5
    ) -> tuple[list[Gap], list[Gap], list[LookupCount]]:
        """/nexus gaps: unanswered questions, weakly answered ones and the most opened entries, in one trip."""

        async def body(conn: Session) -> tuple[list[Gap], list[Gap], list[LookupCount]]:
            return (
                await _gaps(conn, guild_id, gaps),
                await _weak(conn, guild_id, weak),
                await _top_lookups(conn, guild_id, lookups),
            )

        return await self.db.query(body)

    async def record_lookup(self, guild_id: int | None, entry_id: str, now: datetime) -> None:
        async def body(conn: Session) -> None:
            await conn.execute(
                "INSERT INTO knowledge_lookups (guild_id, entry_id, count, last_at) VALUES (?, ?, 1, ?)"
                " ON CONFLICT (guild_id, entry_id) DO UPDATE SET count = count + 1, last_at = excluded.last_at",
                (DM_GUILD if guild_id is None else guild_id, entry_id, now.isoformat()),
            )

        return await self.db.transact(body)


async def _gaps(conn: Session, guild_id: int | None, limit: int) -> list[Gap]:
    rows = await conn.fetchall(
        "SELECT query_key, COUNT(*) AS asked, MAX(asked_at) AS last_asked,"
        " (SELECT latest.query FROM knowledge_misses AS latest"
        "  WHERE latest.guild_id IS misses.guild_id AND latest.query_key = misses.query_key"
        "  ORDER BY latest.asked_at DESC, latest.id DESC LIMIT 1) AS query"
        " FROM knowledge_misses AS misses WHERE guild_id IS ?"
        " GROUP BY query_key ORDER BY asked DESC, last_asked DESC LIMIT ?",
        (guild_id, limit),
    )
    return [Gap(row["query"], row["asked"], datetime.fromisoformat(row["last_asked"])) for row in rows]


async def _weak(conn: Session, guild_id: int | None, limit: int) -> list[Gap]:
    rows = await conn.fetchall(
        "SELECT query_key, COUNT(*) AS asked, MAX(asked_at) AS last_asked,"
        " (SELECT latest.query FROM knowledge_weak_answers AS latest"
        "  WHERE latest.guild_id IS weak.guild_id AND latest.query_key = weak.query_key"
        "  ORDER BY latest.asked_at DESC, latest.id DESC LIMIT 1) AS query,"
        " (SELECT latest.best_entry FROM knowledge_weak_answers AS latest"
        "  WHERE latest.guild_id IS weak.guild_id AND latest.query_key = weak.query_key"
        "  ORDER BY latest.asked_at DESC, latest.id DESC LIMIT 1) AS best_entry"
        " FROM knowledge_weak_answers AS weak WHERE guild_id IS ?"
        " GROUP BY query_key ORDER BY asked DESC, last_asked DESC LIMIT ?",
        (guild_id, limit),
    )
    return [
        Gap(row["query"], row["asked"], datetime.fromisoformat(row["last_asked"]), row["best_entry"]) for row in rows
    ]


async def _search(conn: Session, question: SearchQuery, named: list[int], limit: int) -> list[SearchHit]:
    """Named entries, then all-words hits, then any-word hits while the list is short (those about a word first,
    then those holding one anywhere); each entry once."""
    highlight = [list(tokens) for tokens in question.terms]
    highlight += [list(phrase) for phrases in question.synonyms for phrase in phrases]
    hits: list[SearchHit] = []
    seen: set[str] = set()

    def add(row: sqlite3.Row, kind: HitKind, score: float) -> None:
        if row["entry_id"] not in seen and len(hits) < limit:
            seen.add(row["entry_id"])
            hits.append(SearchHit(row["entry_id"], _snippet(row["summary"], row["body"], highlight), kind, score))

    if named:
        wanted = named[:limit]
        rows = await conn.fetchall(_NAMED_SQL, (json.dumps(wanted),))
        by_rowid = {row["rowid"]: row for row in rows}
        for rowid in wanted:
            if rowid in by_rowid:
                add(by_rowid[rowid], HitKind.NAMED, 0.0)
    stages = [("AND", HitKind.ALL_WORDS, "")]
    if len(question.terms) > 1:
        stages += [("OR", HitKind.ANY_WORD, _ABOUT_COLUMNS), ("OR", HitKind.ANY_WORD, "")]
    for joiner, kind, columns in stages:
        if len(hits) >= limit:
            break
        expression = match_expression(question.terms, joiner, question.synonyms)
        if columns:
            expression = f"{columns}: ({expression})"
        # Ask for enough rows to fill the list after the entries already listed are skipped.
        for row in await conn.fetchall(_SEARCH_SQL, (expression, limit + len(seen))):
            add(row, kind, row["score"])
    return hits


async def _top_lookups(conn: Session, guild_id: int | None, limit: int) -> list[LookupCount]:
    rows = await conn.fetchall(
        "SELECT entry_id, count FROM knowledge_lookups WHERE guild_id = ? ORDER BY count DESC, entry_id LIMIT ?",
        (DM_GUILD if guild_id is None else guild_id, limit),
    )
    return [LookupCount(row["entry_id"], row["count"]) for row in rows]


def _snippet(summary: str, body: str, terms: list[list[str]]) -> str:
    """The summary around the match when it matched, else the body around it, else the summary's start."""
    marked = search_snippet((summary, body), terms, MATCH_START, MATCH_END)
    if marked is not None:
        return highlight_snippet(marked, MATCH_START, MATCH_END)
    return one_line(summary or body)
