"""Knowledge ranking, typo tolerance, autocomplete limits and browsing, on the bundled content and synthetic bases."""

from __future__ import annotations

import re

import pytest

from bot.content import load_topics
from bot.knowledge import (
    CHOICE_NAME_LIMIT,
    MAX_CHOICES,
    Entry,
    KnowledgeBase,
    Tier,
    compact,
    highlight_snippet,
    normalise,
    search_snippet,
    search_terms,
    singular,
)
from tests.conftest import CONTENT_DIR


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    return load_topics(CONTENT_DIR / "topics")


def entry(entry_id: str, title: str, *aliases: str, category: str = "concept") -> Entry:
    return Entry(id=entry_id, title=title, category=category, summary="s", body="b", aliases=aliases)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Case, hyphens, spaces and plurals.
        ("fstring", "python-f-strings"),
        ("f-string", "python-f-strings"),
        ("F-Strings", "python-f-strings"),
        ("f strings", "python-f-strings"),
        ("fstrngs", "python-f-strings"),
        # Typos.
        ("celry", "celery"),
        ("djnago", "django"),
        ("swager", "openapi"),
        ("postgress", "postgresql"),
        ("paginaton", "pagination-filtering"),
        ("rabitmq", "rabbitmq"),
        ("reddis", "redis"),
        ("dokcer", "docker"),
        ("djangorestframwork", "django-rest-framework"),
        ("jwt refrsh", "jwt-authentication"),
        # Punctuation that carries meaning.
        ("n+1", "n-plus-one"),
        ("N + 1 queries", "n-plus-one"),
        ("n plus one", "n-plus-one"),
        ("select_related", "n-plus-one"),
        ("ci/cd", "github-actions"),
        ("429", "rate-limiting"),
        # Several words, across a title and aliases.
        ("jwt refresh", "jwt-authentication"),
        ("api versioning", "api-versioning"),
        ("git commit", "version-control"),
        ("graph ql", "graphql"),
        ("cache invalidation", "caching"),
        ("stale cache", "stale-cache"),
        ("slow queries", "slow-queries"),
        ("zero downtime", "seamless-deployments"),
        ("breaking changes", "api-versioning-challenge"),
        ("load balancer", "system-design"),
        ("12 factor", "environment-parity"),
        ("testing pyramid", "testing-pyramid"),
        ("week one", "week-one"),
        # Aliases and abbreviations.
        ("drf", "django-rest-framework"),
        ("postgres", "postgresql"),
        ("swagger", "openapi"),
        ("docker-compose", "docker"),
        ("celery beat", "celery"),
        ("throttling", "rate-limiting"),
        ("venv", "python-virtualenvs"),
        ("erd", "database-design"),
        ("rbac", "permissions-rbac"),
        ("owasp", "security-basics"),
        ("asyncio", "async-programming"),
        ("flaky tests", "flaky-ci"),
        ("pytest", "testing"),
        ("indexes", "indexing"),
        # Prefixes while typing.
        ("djan", "django"),
        ("celer", "celery"),
        ("postg", "postgresql"),
        ("rabb", "rabbitmq"),
    ],
)
def test_best_match(knowledge: KnowledgeBase, query: str, expected: str) -> None:
    ranked = knowledge.rank(query)
    assert ranked, f"nothing for {query!r}"
    assert ranked[0].entry.id == expected, [(match.entry.id, match.tier.name, match.score) for match in ranked[:3]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("F-Strings", "f string"),
        ("fstrings", "fstring"),
        ("N+1 queries", "n plus 1 query"),
        ("select_related", "select related"),
        ("  Docker & Compose ", "docker and compose"),
        ("Café", "cafe"),
        ("Redis", "redis"),
        ("indexes", "index"),
        ("classes", "class"),
        ("status", "status"),
        ("CI/CD", "ci cd"),
        ("...", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [("queries", "query"), ("tests", "test"), ("boxes", "box"), ("redis", "redis"), ("aws", "aws"), ("pass", "pass")],
)
def test_singular(word: str, expected: str) -> None:
    assert singular(word) == expected


def test_exact_beats_prefix_beats_words_beats_fuzzy() -> None:
    knowledge = KnowledgeBase(
        [
            entry("redis", "Redis"),
            entry("redistribution", "Redistribution"),
            entry("why-redis", "Why we picked Redis"),
            entry("reddis", "Reddis Tips"),
        ]
    )
    ranked = knowledge.rank("redis")
    assert [(match.entry.id, match.tier) for match in ranked] == [
        ("redis", Tier.EXACT),
        ("redistribution", Tier.PREFIX),
        ("why-redis", Tier.WORDS),
        ("reddis", Tier.FUZZY),
    ]


def test_title_prefix_beats_alias_prefix() -> None:
    knowledge = KnowledgeBase([entry("drf", "Django REST Framework"), entry("cache", "Caching", "django cache")])
    assert [match.entry.id for match in knowledge.rank("djan")] == ["drf", "cache"]


def test_find_is_exact_only(knowledge: KnowledgeBase) -> None:
    assert knowledge.find("celery") is not None
    assert knowledge.find("  Celery Beat ") == knowledge.get("celery")
    assert knowledge.find("N+1") == knowledge.get("n-plus-one")
    assert knowledge.find("celry") is None


def test_did_you_mean_offers_close_names_only(knowledge: KnowledgeBase) -> None:
    assert [found.id for found in knowledge.did_you_mean("celry")][:1] == ["celery"]
    assert len(knowledge.did_you_mean("djnago")) <= 3
    assert knowledge.did_you_mean("kubernetes helm chart") == []


def test_autocomplete_never_exceeds_discord_limits() -> None:
    long_title = "T" * 100
    entries = [entry(f"e{i}", f"{long_title[:-3]}{i:03d}", "x" * 100, f"alias {i}") for i in range(200)]
    entries.append(entry("plain", "Plain", "a" * 100))
    knowledge = KnowledgeBase(entries)
    for query in ("", "t", "alias", "x" * 50, "a" * 99, "ali 12"):
        choices = knowledge.choices(query)
        assert len(choices) <= MAX_CHOICES
        assert all(len(choice.name) <= CHOICE_NAME_LIMIT for choice in choices)
        assert all(len(choice.value) <= CHOICE_NAME_LIMIT for choice in choices)
    assert len(knowledge.choices("")) == MAX_CHOICES
    # An alias that explains the match is shown next to the title, and the whole still fits.
    [plain] = [choice for choice in knowledge.choices("aaaa") if choice.value == "plain"]
    assert plain.name.startswith("Plain · aaa")
    assert len(plain.name) <= CHOICE_NAME_LIMIT


def test_autocomplete_on_empty_query_lists_titles_alphabetically(knowledge: KnowledgeBase) -> None:
    names = [choice.name for choice in knowledge.choices("   ")]
    assert len(names) == MAX_CHOICES
    assert names == sorted(names, key=str.casefold)


def test_alias_already_in_title_is_not_repeated(knowledge: KnowledgeBase) -> None:
    names = {choice.value: choice.name for choice in knowledge.choices("drf")}
    assert names["django-rest-framework"] == "Django REST Framework (DRF)"


def test_browse_pages_keep_category_order_and_cover_everything(knowledge: KnowledgeBase) -> None:
    pages = knowledge.browse(page_size=10)
    assert len(pages) == -(-len(knowledge) // 10)
    assert all(page.total == len(pages) for page in pages)
    seen = [item.id for page in pages for _, group in page.groups for item in group]
    assert sorted(seen) == sorted(item.id for item in knowledge.entries)
    categories = [name for page in pages for name, _ in page.groups]
    assert categories[0] == "technology" and categories[-1] == "program"
    only = knowledge.browse("program")
    assert len(only) == 1 and [name for name, _ in only[0].groups] == ["program"]


def test_browse_of_an_empty_category_is_one_empty_page() -> None:
    pages = KnowledgeBase([entry("a", "A")]).browse("practice")
    assert len(pages) == 1 and pages[0].groups == ()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("n+1", [["n", "1"]]),
        ("How do I fix N+1 queries?", [["fix"], ["n", "1"], ["queries"]]),
        ("how to", [["how"], ["to"]]),
        ('jwt "refresh" NOT', [["jwt"], ["refresh"], ["not"]]),
        ("select_related", [["select", "related"]]),
        ('" * ( )', []),
    ],
)
def test_search_terms(query: str, expected: list[list[str]]) -> None:
    assert search_terms(query) == expected


def test_highlight_snippet_is_one_line_without_content_markdown() -> None:
    raw = "Use **bold** and `code`\n\nthen \x02refresh\x03 tokens"
    assert highlight_snippet(raw, "\x02", "\x03") == "Use bold and code then **refresh** tokens"
    cut = highlight_snippet("word " * 50 + "\x02hit\x03", "\x02", "\x03", limit=40)
    assert len(cut) <= 40 and "**" not in cut


def test_compact_joins_spellings() -> None:
    assert compact("f-string") == compact("F String") == compact("fstrings") == "fstring"


def test_search_snippet_marks_stemmed_and_whole_short_words() -> None:
    text = "Queries multiply: N+1 means one query per row, and n is the number of rows."
    marked = search_snippet([text], search_terms("n+1 queries"), "[", "]", words=30)
    assert marked == "[Queries] multiply: [N]+[1] means one [query] per row, and [n] is the number of rows"


def test_search_snippet_prefers_the_first_text_that_matches_and_cuts_around_the_matches() -> None:
    summary = "Background jobs for Django."
    body = " ".join(f"w{index}" for index in range(40)) + " celery retries with backoff " + "tail " * 20
    assert search_snippet([summary, body], search_terms("django"), "[", "]") == "Background jobs for [Django]"
    cut = search_snippet([summary, body], search_terms("celery retry"), "[", "]", words=6)
    assert cut == "…w38 w39 [celery] [retries] with backoff…"
    assert search_snippet([summary, body], search_terms("kubernetes"), "[", "]") is None


def test_search_snippet_ignores_accents_like_the_index() -> None:
    assert search_snippet(["Un café à Paris"], search_terms("cafe"), "[", "]") == "Un [café] à Paris"


# ---------------------------------------------------------------- autocomplete: names as people remember them

SEED_NAMES = [
    ("Database Design & Optimization", "database-design"),
    ("System Design Principles", "system-design"),
    ("Maintaining API versioning", "api-versioning"),
    ("asynchronous", "async-programming"),
    ("asyncronous", "async-programming"),
    ("CI/CD Pipelines", "github-actions"),
    ("Caching Strategies", "caching"),
    ("Authentication and Authorization", "jwt-authentication"),
]


def top_three(knowledge: KnowledgeBase, query: str) -> list[str]:
    return [choice.value for choice in knowledge.choices(query)[:3]]


def test_every_title_finds_its_entry_in_the_top_three(knowledge: KnowledgeBase) -> None:
    missed = [(item.id, top_three(knowledge, item.title)) for item in knowledge.entries]
    assert [(entry_id, found) for entry_id, found in missed if entry_id not in found] == []


@pytest.mark.parametrize(("query", "expected"), SEED_NAMES)
def test_program_topic_names_find_their_entry(knowledge: KnowledgeBase, query: str, expected: str) -> None:
    assert expected in top_three(knowledge, query)


def one_letter_off(title: str) -> list[str]:
    """The title with one letter dropped from, and one doubled in, the middle of its longest word."""
    longest = max(re.findall(r"[A-Za-z]+", title), key=len)
    middle = len(longest) // 2
    dropped = longest[:middle] + longest[middle + 1 :]
    doubled = longest[: middle + 1] + longest[middle:]
    return [title.replace(longest, typo, 1) for typo in (dropped, doubled)] if len(longest) >= 5 else []


def test_every_title_one_letter_off_still_finds_its_entry(knowledge: KnowledgeBase) -> None:
    typed = [(item.id, typo) for item in knowledge.entries for typo in one_letter_off(item.title)]
    assert len(typed) >= 2 * len(knowledge) - 10
    missed = [(entry_id, typo, top_three(knowledge, typo)) for entry_id, typo in typed]
    assert [miss for miss in missed if miss[0] not in miss[2]] == []


def test_partial_matches_rank_below_typos_and_need_most_of_the_words() -> None:
    knowledge = KnowledgeBase(
        [
            entry("design", "Database design"),
            entry("system", "System design"),
            entry("async", "Async programming"),
            entry("celery", "Celery"),
        ]
    )
    ranked = knowledge.rank("Database Design & Optimization")
    assert [(match.entry.id, match.tier) for match in ranked] == [("design", Tier.PARTIAL)]
    # A known word of four or more letters that starts the typed word: "asynchronous" is about "async".
    assert [match.entry.id for match in knowledge.rank("asynchronous")] == ["async"]
    # But not when the known word is a small part of it.
    assert knowledge.rank("celeryworkerpool") == []
    assert knowledge.rank("kubernetes operators") == []
