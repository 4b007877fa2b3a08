"""SQL for the knowledge base: the FTS5 search index, the no-hit log behind /nexus gaps, and look-up counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.knowledge import (
    Entry,
    Gap,
    LookupCount,
    SearchHit,
    compact,
    highlight_snippet,
    one_line,
    search_snippet,
    search_terms,
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
_SEARCH_SQL = (
    "SELECT entry_id, summary, body FROM knowledge_fts WHERE knowledge_fts MATCH ?"
    " ORDER BY bm25(knowledge_fts, 0.0, 10.0, 6.0, 4.0, 2.0, 1.0) LIMIT ?"
)


def match_expression(terms: Sequence[Sequence[str]], joiner: str) -> str:
    """An FTS5 query: each typed word is a quoted phrase of its tokens; the last may be a prefix."""
    phrases = []
    for position, tokens in enumerate(terms):
        phrase = '"' + " ".join(tokens) + '"'
        if position == len(terms) - 1 and len(tokens[-1]) >= 3:
            phrase += "*"
        phrases.append(phrase)
    return f" {joiner} ".join(phrases)


class KnowledgeStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def rebuild_index(self, entries: Sequence[Entry]) -> None:
        """Replace the search index with these entries, in one transaction."""
        rows = [
            (
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
                "INSERT INTO knowledge_fts (entry_id, title, aliases, tags, summary, body) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

        return await self.db.transact(body)

    async def search(self, query: str, limit: int = 5) -> list[SearchHit]:
        """Best matches by bm25: all words first; if none match together, any of them."""
        terms = search_terms(query)
        if not terms:
            return []
        joiners = ("AND", "OR") if len(terms) > 1 else ("AND",)
        for joiner in joiners:
            rows = await self.db.fetchall(_SEARCH_SQL, (match_expression(terms, joiner), limit))
            if rows:
                return [SearchHit(row["entry_id"], _snippet(row["summary"], row["body"], terms)) for row in rows]
        return []

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
        return await self.db.query(lambda conn: _gaps(conn, guild_id, limit))

    async def gaps_report(
        self, guild_id: int | None, *, gaps: int = 15, lookups: int = 5
    ) -> tuple[list[Gap], list[LookupCount]]:
        """/nexus gaps: the unanswered questions and the most opened entries, in one trip to the database."""

        async def body(conn: Session) -> tuple[list[Gap], list[LookupCount]]:
            return await _gaps(conn, guild_id, gaps), await _top_lookups(conn, guild_id, lookups)

        return await self.db.query(body)

    async def record_lookup(self, guild_id: int | None, entry_id: str, now: datetime) -> None:
        async def body(conn: Session) -> None:
            await conn.execute(
                "INSERT INTO knowledge_lookups (guild_id, entry_id, count, last_at) VALUES (?, ?, 1, ?)"
                " ON CONFLICT (guild_id, entry_id) DO UPDATE SET count = count + 1, last_at = excluded.last_at",
                (DM_GUILD if guild_id is None else guild_id, entry_id, now.isoformat()),
            )

        return await self.db.transact(body)

    async def top_lookups(self, guild_id: int | None, limit: int = 5) -> list[LookupCount]:
        return await self.db.query(lambda conn: _top_lookups(conn, guild_id, limit))


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
