"""Section 2: autocomplete (/topic name) and full-text search (/search) over the real and a 5,000-entry knowledge base.

Each is timed in-process against a raw `rapidfuzz.process.extract` over the same titles, in the same run: the
naive way to do fuzzy look-up, and the cost floor the ranking is compared with. Search runs through the bot's own
store on an on-disk database, including its trip to the database thread.
"""

from __future__ import annotations

import random
import string
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import process

from bench.harness import CONTENT_DIR
from bench.report import Goal, Report, Spread, number, ratio
from bot.content import load_topics
from bot.knowledge import CATEGORIES, Entry, KnowledgeBase
from bot.storage.db import Database
from bot.storage.knowledge import KnowledgeStore

SECTION = "search"
AUTOCOMPLETE_P99_MS = 5.0
SEARCH_P99_MS = 10.0
SYNTHETIC_ENTRIES = 5000
NAME_WORDS = (  # noqa: SIM905 - a word list reads better as one string
    "django rest framework postgres redis celery rabbitmq docker compose kubernetes jwt oauth swagger openapi"
    " graphql pagination caching throttling indexing migrations signals serializers viewsets permissions sessions"
    " cookies websockets channels nginx gunicorn uvicorn fastapi flask sqlalchemy alembic pytest coverage mypy"
    " ruff github actions deployment render railway heroku aws s3 cloudinary stripe paystack flutterwave email"
    " sendgrid twilio search elasticsearch filtering sorting ordering uploads images thumbnails queues retries"
    " backoff webhooks versioning logging monitoring sentry prometheus grafana tracing profiling n+1"
    " select_related prefetch"
).split()
MODIFIERS = ("basics", "in production", "pitfalls", "patterns", "testing", "tuning", "setup", "errors", "for teams")


@dataclass(frozen=True)
class Sizes:
    queries: int
    entries: int = SYNTHETIC_ENTRIES  # of the synthetic knowledge base


FULL = Sizes(queries=2000)
QUICK = Sizes(queries=200, entries=1000)


def synthetic_base(count: int, rng: random.Random, written_like: KnowledgeBase) -> KnowledgeBase:
    """`count` entries named like the real ones (same vocabulary, same shape), each with the text of a real entry.

    The text is the real knowledge base's, so a question's words are as common among the entries as they are in
    the real one (a word is in a median 8% of real entries). Text made of the 83 name words put every word in
    about half the entries, and ranked ~2,900 matches for a one-word question: a cost no knowledge base written
    like this one would have (docs/benchmarks.md, section 2).
    """
    entries = []
    texts = list(written_like.entries)
    for number_ in range(count):
        words = rng.sample(NAME_WORDS, rng.randint(1, 3))
        title = " ".join(word.capitalize() for word in words) + f" {rng.choice(MODIFIERS)} {number_}"
        aliases = tuple(" ".join(rng.sample(NAME_WORDS, rng.randint(1, 2))) for _ in range(rng.randint(0, 3)))
        text = rng.choice(texts)
        entries.append(
            Entry(
                id=f"synthetic-{number_}",
                title=title,
                category=rng.choice(CATEGORIES),
                summary=text.summary,
                body=text.body,
                aliases=aliases,
                tags=tuple(rng.sample(NAME_WORDS, 3)),
            )
        )
    return KnowledgeBase(entries)


def typed_queries(knowledge: KnowledgeBase, count: int, rng: random.Random) -> list[str]:
    """What people type: a title's first letters, a whole word, two words, a typo, or nothing yet."""
    titles = [entry.title.lower() for entry in knowledge.entries]
    queries: list[str] = []
    while len(queries) < count:
        title = rng.choice(titles)
        kind = rng.randrange(5)
        if kind == 0:
            queries.append(title[: rng.randint(1, 6)])
        elif kind == 1:
            queries.append(rng.choice(title.split()))
        elif kind == 2:
            queries.append(" ".join(title.split()[:2]))
        elif kind == 3 and len(title) > 4:
            cut = rng.randrange(1, len(title) - 1)
            queries.append(title[:cut] + rng.choice(string.ascii_lowercase) + title[cut + 1 :])
        else:
            queries.append("")
    return queries


def search_queries(knowledge: KnowledgeBase, count: int, rng: random.Random) -> list[str]:
    """Questions: words from entries' text, one to four of them; a few ask about things that are not there."""
    vocabulary = sorted({word for entry in knowledge.entries for word in entry.body.lower().split() if word.isalpha()})
    queries = []
    for _ in range(count):
        if rng.random() < 0.1:
            queries.append("kubernetes operator crd reconcile")
            continue
        queries.append(" ".join(rng.sample(vocabulary, rng.randint(1, 4))))
    return queries


def timed(function: Callable[[str], object], queries: Sequence[str]) -> list[float]:
    samples = []
    for query in queries:
        started = time.perf_counter_ns()
        function(query)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


async def timed_async(function: Callable[[str], Awaitable[object]], queries: Sequence[str]) -> list[float]:
    samples = []
    for query in queries:
        started = time.perf_counter_ns()
        await function(query)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


def rapidfuzz_baseline(knowledge: KnowledgeBase) -> Callable[[str], object]:
    titles = [entry.title for entry in knowledge.entries]
    return lambda query: process.extract(query, titles, limit=25)


async def measure_base(
    report: Report, label: str, knowledge: KnowledgeBase, sizes: Sizes, folder: Path
) -> tuple[float, float]:
    """Times one knowledge base; returns the autocomplete p99 and its ratio to the rapidfuzz baseline's p99."""
    rng = random.Random(len(knowledge))
    typed = typed_queries(knowledge, sizes.queries, rng)
    questions = search_queries(knowledge, sizes.queries, rng)
    baseline = rapidfuzz_baseline(knowledge)
    timed(knowledge.choices, typed[:50])  # warm caches: the first keystroke after start-up is not what we measure
    autocomplete = Spread.of(timed(knowledge.choices, typed))
    fuzzy_typed = Spread.of(timed(baseline, typed))
    database = Database(folder / f"{label}.db")
    await database.connect()
    try:
        store = KnowledgeStore(database)
        await store.rebuild_index(knowledge.entries)
        await timed_async(store.search, questions[:50])
        search = Spread.of(await timed_async(store.search, questions))
    finally:
        await database.close()
    fuzzy_questions = Spread.of(timed(baseline, questions))
    for what, spread, against in (
        ("autocomplete", autocomplete, fuzzy_typed),
        ("search", search, fuzzy_questions),
    ):
        report.detail(
            f"{what} ({label}, {len(knowledge):,} entries, {spread.count:,} queries): "
            f"p50 {number(spread.p50)} ms ({number(ratio(spread.p50, against.p50))} x baseline), "
            f"p99 {number(spread.p99)} ms ({number(ratio(spread.p99, against.p99))} x baseline); "
            f"rapidfuzz.process.extract p50 {number(against.p50)} ms, p99 {number(against.p99)} ms"
        )
    report.check(Goal(SECTION, f"autocomplete p99 ({label})", autocomplete.p99, AUTOCOMPLETE_P99_MS, "ms"))
    report.check(Goal(SECTION, f"search p99 ({label})", search.p99, SEARCH_P99_MS, "ms"))
    return autocomplete.p99, ratio(autocomplete.p99, fuzzy_typed.p99)


async def measure_search(report: Report, sizes: Sizes) -> None:
    report.say(f"== 2. autocomplete and search: real knowledge base and {sizes.entries:,} synthetic entries")
    real = load_topics(CONTENT_DIR / "topics")
    synthetic = synthetic_base(sizes.entries, random.Random(5), real)
    with tempfile.TemporaryDirectory(prefix="nexus-bench-") as folder:
        await measure_base(report, "real", real, sizes, Path(folder))
        p99, against = await measure_base(report, "synthetic", synthetic, sizes, Path(folder))
    report.summary(f"autocomplete p99 ({sizes.entries:,} entries)", p99, "ms", against)
