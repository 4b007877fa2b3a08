"""Knowledge storage on a real SQLite file: FTS5 search with bm25 and snippets, the no-hit log, look-up counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.knowledge import Entry, KnowledgeBase
from bot.storage.db import Database
from bot.storage.knowledge import KnowledgeStore, match_expression

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
GUILD = 111


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("refresh token rotation", "jwt-authentication"),
        ("n+1", "n-plus-one"),
        ("How do I fix N+1 queries?", "n-plus-one"),
        ("select_related", "n-plus-one"),
        ("celery beat periodic", "celery"),
        ("swagger", "openapi"),
        ("throttle", "rate-limiting"),
        ("version", "api-versioning"),
        ("Postgres", "postgresql"),
        ("docker compose", "docker"),
    ],
)
async def test_search_ranks_the_most_relevant_entry_first(
    knowledge_store: KnowledgeStore, query: str, expected: str
) -> None:
    hits = await knowledge_store.search(query, limit=5)
    assert expected in [hit.entry_id for hit in hits[:3]], [hit.entry_id for hit in hits]


async def test_search_snippets_are_one_line_and_highlight_the_match(knowledge_store: KnowledgeStore) -> None:
    hits = await knowledge_store.search("refresh token rotation", limit=5)
    assert 1 <= len(hits) <= 5
    for hit in hits:
        assert "\n" not in hit.snippet and "\x02" not in hit.snippet
        assert len(hit.snippet) <= 160
    assert "**" in hits[0].snippet


async def test_search_falls_back_to_any_word_when_all_words_match_nothing(knowledge_store: KnowledgeStore) -> None:
    hits = await knowledge_store.search("celery kubernetes", limit=5)
    assert "celery" in [hit.entry_id for hit in hits]


@pytest.mark.parametrize("query", ["kubernetes helm", "zzzz", '" * ( )', "title:zzz", "-", "NEAR(zzz qqq)"])
async def test_search_with_no_hit_returns_nothing(knowledge_store: KnowledgeStore, query: str) -> None:
    assert await knowledge_store.search(query) == []


@pytest.mark.parametrize("query", ["NOT", "AND OR", 'celery" OR "', "redis*", "^celery", "body:celery"])
async def test_fts_syntax_is_searched_as_words(knowledge_store: KnowledgeStore, query: str) -> None:
    hits = await knowledge_store.search(query)
    assert all(hit.entry_id for hit in hits)


async def test_rebuild_replaces_the_index(knowledge_store: KnowledgeStore, knowledge: KnowledgeBase) -> None:
    only = Entry(id="kubernetes", title="Kubernetes", category="technology", summary="Containers at scale.", body="b")
    await knowledge_store.rebuild_index([only])
    assert [hit.entry_id for hit in await knowledge_store.search("kubernetes")] == ["kubernetes"]
    assert await knowledge_store.search("celery") == []


def test_match_expression_quotes_every_word() -> None:
    assert match_expression([["n", "1"], ["queries"]], "AND") == '"n 1" AND "queries"*'
    assert match_expression([["jwt"], ["re"]], "OR") == '"jwt" OR "re"'


async def test_no_hit_queries_are_grouped_counted_and_kept_per_guild(knowledge_store: KnowledgeStore) -> None:
    await knowledge_store.record_miss(GUILD, "Kubernetes", "search", NOW)
    await knowledge_store.record_miss(GUILD, "kubernetes ", "topic", NOW + timedelta(minutes=1))
    await knowledge_store.record_miss(GUILD, "terraform", "search", NOW + timedelta(minutes=2))
    await knowledge_store.record_miss(222, "other server", "search", NOW)
    gaps = await knowledge_store.gaps(GUILD)
    assert [(gap.query, gap.count) for gap in gaps] == [("kubernetes", 2), ("terraform", 1)]
    assert gaps[0].last_asked == NOW + timedelta(minutes=1)
    assert [gap.query for gap in await knowledge_store.gaps(222)] == ["other server"]
    assert await knowledge_store.gaps(333) == []


async def test_no_hit_log_keeps_no_user_id(db: Database) -> None:
    columns = {row["name"] for row in await db.fetchall("PRAGMA table_info(knowledge_misses)")}
    assert columns == {"id", "guild_id", "query", "query_key", "source", "asked_at"}


async def test_old_no_hit_queries_are_forgotten(knowledge_store: KnowledgeStore) -> None:
    await knowledge_store.record_miss(GUILD, "ancient", "search", NOW - timedelta(days=400))
    await knowledge_store.record_miss(GUILD, "recent", "search", NOW)
    assert [gap.query for gap in await knowledge_store.gaps(GUILD)] == ["recent"]


async def test_direct_message_misses_are_kept_apart(knowledge_store: KnowledgeStore) -> None:
    await knowledge_store.record_miss(None, "from a dm", "search", NOW)
    assert [gap.query for gap in await knowledge_store.gaps(None)] == ["from a dm"]
    assert await knowledge_store.gaps(GUILD) == []


async def test_lookups_are_counted_per_guild(knowledge_store: KnowledgeStore) -> None:
    for _ in range(3):
        await knowledge_store.record_lookup(GUILD, "celery", NOW)
    await knowledge_store.record_lookup(GUILD, "redis", NOW)
    await knowledge_store.record_lookup(None, "redis", NOW)
    _, _, counts = await knowledge_store.gaps_report(GUILD)
    assert [(item.entry_id, item.count) for item in counts] == [("celery", 3), ("redis", 1)]
    _, _, in_dms = await knowledge_store.gaps_report(None)
    assert [(item.entry_id, item.count) for item in in_dms] == [("redis", 1)]
