"""Knowledge base: entries, query normalisation, ranking (exact > prefix > words > fuzzy) and "did you mean"."""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from itertools import chain
from types import MappingProxyType

from rapidfuzz import fuzz, process

CATEGORIES: tuple[str, ...] = ("technology", "concept", "challenge", "practice", "program")
CATEGORY_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "technology": "Technologies",
        "concept": "Concepts",
        "challenge": "Challenges",
        "practice": "Practices",
        "program": "The program",
    }
)

# Discord's limits for autocomplete.
MAX_CHOICES = 25
CHOICE_NAME_LIMIT = 100
SUGGESTION_LIMIT = 3
# rapidfuzz.fuzz.ratio (0-100) below which a typo match is noise rather than a suggestion.
FUZZY_CUTOFF = 75.0
WORD_FUZZY_CUTOFF = 80.0
# Typo matching on very short input suggests nearly anything.
FUZZY_MIN_LENGTH = 3
# How many of the shortest prefix matches to consider per choice when a prefix matches very many names.
PREFIX_SHORTLIST = 4
BROWSE_PAGE_SIZE = 15
# A public /topic post (summary and key points) stays within this many characters: about one screen of a channel.
PUBLIC_LIMIT = 1200
SNIPPET_LIMIT = 160
FIELD_LIMIT = 1024
BULLET = "•"

# Words that carry no meaning in a question ("how do I fix n+1", "what is the best way to…"), dropped from
# full-text queries and from autocomplete's partial matching. Question words, auxiliaries, pronouns, articles.
STOPWORDS = frozenset(
    (  # noqa: SIM905 - a word list reads better as one string
        "a about all am an and any are as at be been best can could did do does doing for from get getting had has "
        "have how i i'm im in into is it its just me my need of on or our should so some than that the their them "
        "then there these this those to us use using was way we were what when where which who why will with would "
        "you your"
    ).split()
)

_SEPARATORS = re.compile(r"[^a-z0-9]+")
_SEARCH_TOKENS = re.compile(r"[^\W_]+")
_WHITESPACE = re.compile(r"\s+")
# A code point after every character a compact key can hold, to close a bisect prefix range.
_PREFIX_END = "\U0010ffff"


class Tier(IntEnum):
    """How a query matched an entry; lower is better and always ranks first."""

    EXACT = 0
    PREFIX = 1
    WORDS = 2
    FUZZY = 3
    PARTIAL = 4  # most of the typed words, not all: "Database Design & Optimization"


class KeyKind(IntEnum):
    """Which name of an entry matched; breaks ties so a title beats an alias at the same score."""

    TITLE = 0
    ID = 1
    ALIAS = 2


@dataclass(frozen=True, slots=True)
class Entry:
    """One knowledge-base entry, as reviewed in content/topics."""

    id: str
    title: str
    category: str
    summary: str
    body: str
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    key_points: tuple[str, ...] = ()
    example: str | None = None
    pitfalls: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    entry: Entry
    tier: Tier
    score: float
    matched: str  # the title or alias that matched, as written in the content
    explains: bool = False  # the matched alias says something the title does not


@dataclass(frozen=True, slots=True)
class Choice:
    """An autocomplete choice: a label for people, the entry id as the value."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Section:
    """A named block of an entry's answer (Key points, Example, …) as Markdown."""

    name: str
    text: str


class HitKind(IntEnum):
    """Why /search returned an entry; lower ranks first."""

    NAMED = 0  # the question holds one of the entry's names ("how do I stop n+1 queries")
    ALL_WORDS = 1  # every meaningful word of the question is in the entry (synonyms count)
    ANY_WORD = 2  # some of the words: fills the list when fewer than a page matched all of them


@dataclass(frozen=True, slots=True)
class SearchHit:
    entry_id: str
    snippet: str
    kind: HitKind = HitKind.ALL_WORDS
    score: float = 0.0  # FTS5 bm25 with the index's column weights: negative, lower is a better match


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A question made ready for the full-text index: its meaningful words, their synonyms, the entries it names."""

    terms: tuple[tuple[str, ...], ...]  # one token list per meaningful typed word
    synonyms: tuple[tuple[tuple[str, ...], ...], ...]  # per term: other phrases that mean the same
    named: tuple[str, ...]  # entry ids whose title, id or alias is written in the question, longest name first


@dataclass(frozen=True, slots=True)
class Gap:
    """A question the knowledge base could not answer (or only weakly), grouped by its normalised text."""

    query: str
    count: int
    last_asked: datetime
    best_entry: str | None = None  # for a weak answer: the entry that came first


# A /search is "weak" when its best hit neither is named in the question nor holds all of its meaningful words,
# and its bm25 score (negative; column weights title 10, aliases 6, tags 4, summary 2, body 1) is above this:
# roughly, the question's words were found only in the summaries or bodies of entries that are about something
# else. Measured on tests/data/learner_questions.yaml: every answer a learner would accept scored below -8.
WEAK_SCORE = -8.0


def is_weak(hits: Sequence[SearchHit]) -> bool:
    """Whether a search's best hit is too weak to count as an answer (see WEAK_SCORE); no hit is a miss, not weak."""
    if not hits:
        return False
    best = hits[0]
    return best.kind is HitKind.ANY_WORD and best.score > WEAK_SCORE


@dataclass(frozen=True, slots=True)
class LookupCount:
    entry_id: str
    count: int


@dataclass(frozen=True, slots=True)
class BrowsePage:
    number: int  # zero-based
    total: int
    groups: tuple[tuple[str, tuple[Entry, ...]], ...]  # (category, entries) in category order


# Ranking accumulator: (key index, tier, score) -> keeps the best match per entry.
_Offer = Callable[[int, "Tier", float], None]


@dataclass(frozen=True, slots=True)
class _Key:
    entry: int
    text: str
    words: tuple[str, ...]
    compact: str
    kind: KeyKind
    explains: bool


def singular(word: str) -> str:
    """A crude English singular, applied to both content and queries so only consistency matters."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "uses")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def normalise(text: str) -> str:
    """Lower-case words without accents, punctuation or plurals: "F-Strings" -> "f string", "N+1" -> "n plus 1"."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    # "+" and "&" carry meaning in names people type ("n+1", "Docker & Compose").
    folded = folded.replace("+", " plus ").replace("&", " and ")
    return " ".join(singular(word) for word in _SEPARATORS.split(folded) if word)


def compact(text: str) -> str:
    """The normalised text without spaces, so "f string", "f-string" and "fstring" meet."""
    return normalise(text).replace(" ", "")


def search_terms(query: str) -> list[list[str]]:
    """Full-text terms: one token list per typed word ("n+1" -> ["n", "1"]), stopwords dropped unless all are."""
    words = [_SEARCH_TOKENS.findall(word.casefold()) for word in query.split()]
    terms = [tokens for tokens in words if tokens]
    meaningful = [tokens for tokens in terms if not (len(tokens) == 1 and tokens[0] in STOPWORDS)]
    return meaningful or terms


# Autocomplete's partial matching: a typed word that starts more names than this only counts as a whole word,
# and a typed word counts where a known word of at least this many letters starts it.
PARTIAL_PREFIX_CAP = 400
PARTIAL_STEM_MIN = 4
PARTIAL_STEM_SHARE = 0.4
# /search: synonyms added per typed word, and the longest name looked for inside a question.
SYNONYMS_PER_WORD = 3
NAME_WORDS_MAX = 6
_NAME_STOPWORDS = frozenset(singular(word) for word in STOPWORDS)

KEYS_PER_ENTRY_GUESS = 3  # names per entry (title and aliases), to weigh a word's key list against survivors
SNIPPET_WORDS = 14
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class _Fold(dict[int, int]):
    """str.translate table: each character lower-cased and without its accent, one for one (offsets hold)."""

    def __missing__(self, code: int) -> int:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        base = decomposed[0].lower() if decomposed else chr(code)
        self[code] = folded = ord(base) if len(base) == 1 else code
        return folded


_FOLD = _Fold()


def _folded(text: str) -> str:
    """Lower case without accents, offsets unchanged: str.lower() unless a letter carries an accent (rare here)."""
    lowered = text.lower()
    if len(lowered) == len(text) and not any(
        unicodedata.decomposition(char) for char in set(_NON_ASCII.findall(lowered))
    ):
        return lowered
    return text.translate(_FOLD)


def _densest(starts: list[int], reach: int) -> int:
    """The match that begins the stretch of `reach` characters holding the most matches (the earliest on a tie)."""
    best, best_count, last = starts[0], 0, 0
    for first, start in enumerate(starts):
        last = max(last, first)
        while last + 1 < len(starts) and starts[last + 1] < start + reach:
            last += 1
        if last - first + 1 > best_count:
            best, best_count = start, last - first + 1
    return best


def _stem(token: str) -> str:
    """A crude stand-in for the index's Porter stemmer, enough to find the words a hit matched."""
    return token if len(token) <= 4 else token[: max(4, len(token) - 3)]


def _word_char(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isalnum()


def _match_starts(folded: str, stems: Sequence[str], shorts: Sequence[str]) -> list[int]:
    """Where a word starts with a stem, or is a short token; str.find is several times faster than a regex."""
    starts: set[int] = set()
    for needle, whole in [(stem, False) for stem in stems] + [(short, True) for short in shorts]:
        at = folded.find(needle)
        while at != -1:
            if not _word_char(folded, at - 1) and not (whole and _word_char(folded, at + len(needle))):
                starts.add(at)
            at = folded.find(needle, at + 1)
    return sorted(starts)


def search_snippet(
    texts: Sequence[str], terms: Sequence[Sequence[str]], start: str, end: str, words: int = SNIPPET_WORDS
) -> str | None:
    """Where a full-text hit matched: the first text holding a term, cut to about `words` words around the most
    matched words, which are wrapped in `start`/`end`; None if no text shows a term.

    Made here, not by FTS5's snippet(), which tokenises the whole column for every hit: that was most of the
    cost of a search. str.find locates the matches; only the words around them are split.
    """
    if not any(terms):
        return None
    tokens = {token.translate(_FOLD) for typed in terms for token in typed}
    stems = sorted({_stem(token) for token in tokens if len(token) > 2})
    shorts = sorted(token for token in tokens if len(token) <= 2)
    for text in texts:
        found = _match_starts(_folded(text), stems, shorts)
        if not found:
            continue
        anchor = _densest(found, reach=words * 8)  # characters: roughly `words` words of prose
        after: list[tuple[int, int]] = []
        for match in _SEARCH_TOKENS.finditer(text, anchor):
            after.append((match.start(), match.end()))
            if len(after) >= words - 2:
                break
        # Two words of lead-in, more when the text ends soon after the match.
        lead = max(2, words - len(after))
        before = [(m.start(), m.end()) for m in _SEARCH_TOKENS.finditer(text, max(0, anchor - lead * 12), anchor)]
        spans = before[-lead:] + after
        marked = set(found)
        parts = ["…"] if spans[0][0] > 0 and _SEARCH_TOKENS.search(text, 0, spans[0][0]) else []
        cursor = spans[0][0]
        for left, right in spans:
            parts.append(text[cursor:left])
            parts.append(f"{start}{text[left:right]}{end}" if left in marked else text[left:right])
            cursor = right
        if _SEARCH_TOKENS.search(text, cursor):
            parts.append("…")
        return "".join(parts)
    return None


def one_line(text: str, limit: int = SNIPPET_LIMIT) -> str:
    """Collapse whitespace and Markdown emphasis to fit one line of a list."""
    flat = _WHITESPACE.sub(" ", text.replace("**", "").replace("`", "")).strip()
    return clip(flat, limit)


def highlight_snippet(raw: str, start: str, end: str, limit: int = SNIPPET_LIMIT) -> str:
    """A one-line snippet whose `start`/`end` markers become bold, without the content's own Markdown."""
    flat = one_line(raw, limit=10_000)
    if len(flat) > limit:
        flat = clip(flat, limit)
        # A marker cut in half would leave an unbalanced "**".
        if flat.count(start) != flat.count(end):
            flat = flat.replace(start, "").replace(end, "")
    return flat.replace(start, "**").replace(end, "**")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def bullets(items: Iterable[str]) -> str:
    return "\n".join(f"{BULLET} {item}" for item in items)


class KnowledgeBase:
    """An immutable, pre-indexed set of entries: built once per load and swapped whole on reload."""

    __slots__ = (
        "_by_category",
        "_by_id",
        "_by_length",
        "_entries",
        "_entry_keys",
        "_exact",
        "_key_entries",
        "_key_lengths",
        "_keys",
        "_prefix_keys",
        "_prefix_order",
        "_prefix_rank",
        "_single_entry_words",
        "_spelled_words",
        "_vocabulary",
        "_word_key_totals",
        "_word_keys",
    )

    def __init__(self, entries: Iterable[Entry]) -> None:
        ordered = tuple(sorted(entries, key=lambda entry: (entry.title.casefold(), entry.id)))
        self._entries = ordered
        self._by_id: Mapping[str, Entry] = MappingProxyType({entry.id: entry for entry in ordered})
        self._by_category: Mapping[str, tuple[Entry, ...]] = MappingProxyType(
            {category: tuple(e for e in ordered if e.category == category) for category in CATEGORIES}
        )
        keys: list[_Key] = []
        for position, entry in enumerate(ordered):
            title_key = compact(entry.title)
            seen: set[str] = set()
            names = [(KeyKind.TITLE, entry.title), (KeyKind.ID, entry.id)]
            names += [(KeyKind.ALIAS, alias) for alias in entry.aliases]
            for kind, text in names:
                words = tuple(normalise(text).split())
                joined = "".join(words)
                if joined and joined not in seen:
                    seen.add(joined)
                    explains = kind is KeyKind.ALIAS and joined not in title_key
                    keys.append(_Key(position, text, words, joined, kind, explains))
        self._keys = tuple(keys)
        # Read per key in the inner loops of a keystroke, where an attribute look-up per key adds up.
        self._key_entries = tuple(name_key.entry for name_key in keys)
        self._key_lengths = tuple(len(name_key.compact) for name_key in keys)
        entry_keys: list[list[int]] = [[] for _ in ordered]
        for index, name_key in enumerate(keys):
            entry_keys[name_key.entry].append(index)
        self._entry_keys = tuple(tuple(indexes) for indexes in entry_keys)
        exact: dict[str, int] = {}
        word_keys: dict[str, list[int]] = {}
        for index, name_key in enumerate(keys):
            exact.setdefault(name_key.compact, index)
            for word in set(name_key.words):
                word_keys.setdefault(word, []).append(index)
        self._exact: Mapping[str, int] = MappingProxyType(exact)
        order = sorted(range(len(keys)), key=lambda index: keys[index].compact)
        self._prefix_order = tuple(order)
        self._prefix_keys = tuple(keys[index].compact for index in order)
        # Each key's place among all keys by how well it would do as a prefix match: names first, shortest first.
        closeness = sorted(
            range(len(keys)), key=lambda index: (keys[index].kind is KeyKind.ALIAS, len(keys[index].compact), index)
        )
        rank = [0] * len(keys)
        for place, index in enumerate(closeness):
            rank[index] = place
        self._prefix_rank = tuple(rank)
        self._vocabulary = tuple(sorted(word_keys))
        # Numbers are not misspelled ("1896" is not "1869"): only words with a letter can be a typo's target.
        self._spelled_words = tuple(word for word in self._vocabulary if not word.isdigit())
        # Running totals of names per vocabulary word, so a prefix's count is one subtraction.
        totals = [0]
        for word in self._vocabulary:
            totals.append(totals[-1] + len(word_keys[word]))
        self._word_key_totals = tuple(totals)
        self._word_keys: Mapping[str, tuple[int, ...]] = MappingProxyType(
            {word: tuple(indexes) for word, indexes in word_keys.items()}
        )
        self._single_entry_words = frozenset(
            word for word, indexes in word_keys.items() if len({keys[index].entry for index in indexes}) == 1
        )
        # Each distinct name once, with the keys that spell it: a fifth of the names repeat another entry's.
        by_length: dict[int, dict[str, list[int]]] = {}
        for index, name_key in enumerate(keys):
            by_length.setdefault(len(name_key.compact), {}).setdefault(name_key.compact, []).append(index)
        self._by_length: Mapping[int, tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]] = MappingProxyType(
            {length: (tuple(names), tuple(tuple(at) for at in names.values())) for length, names in by_length.items()}
        )

    # ---------------------------------------------------------------- reading

    @property
    def entries(self) -> tuple[Entry, ...]:
        """Every entry, sorted by title."""
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    def in_category(self, category: str) -> tuple[Entry, ...]:
        return self._by_category.get(category, ())

    def counts(self) -> dict[str, int]:
        """Entries per category, in category order."""
        return {category: len(self._by_category[category]) for category in CATEGORIES}

    def find(self, name: str) -> Entry | None:
        """The entry whose id, title or alias is `name` once normalised; never a guess."""
        direct = self._by_id.get(name.strip())
        if direct is not None:
            return direct
        index = self._exact.get(compact(name))
        return None if index is None else self._entries[self._keys[index].entry]

    # ---------------------------------------------------------------- ranking

    def rank(self, query: str, limit: int = MAX_CHOICES) -> list[Match]:
        """Entries for what someone typed: exact names, then prefixes, then all words, then typos."""
        words = normalise(query).split()
        typed = "".join(words)
        if not typed or limit <= 0:
            return []
        best: dict[int, tuple[Tier, bool, float, KeyKind, int]] = {}

        def offer(key_index: int, tier: Tier, score: float) -> None:
            key = self._keys[key_index]
            # Among prefix matches, an entry's own name beats an alias ("djan": Django REST Framework before
            # "django cache"): aliases are there to be found, not to outrank the names they point to.
            by_alias = tier is Tier.PREFIX and key.kind is KeyKind.ALIAS
            candidate = (tier, by_alias, -score, key.kind, key_index)
            current = best.get(key.entry)
            if current is None or candidate < current:
                best[key.entry] = candidate

        exact = self._exact.get(typed)
        if exact is not None:
            offer(exact, Tier.EXACT, 100.0)
        self._offer_prefixes(typed, limit, offer)
        # Each later tier only runs while the earlier ones leave room in the list: that keeps keystrokes cheap.
        if len(best) < limit:
            self._offer_words(words, offer, typos=False)
        if len(best) < limit and len(typed) >= FUZZY_MIN_LENGTH:
            self._offer_typos(typed, limit, offer)
            self._offer_words(words, offer, typos=True)
        if len(best) < limit:
            self._offer_partial(words, limit, offer)
        ranked = sorted(best.values())[:limit]
        return [
            Match(
                entry=self._entries[self._keys[key_index].entry],
                tier=tier,
                score=-negative_score,
                matched=self._keys[key_index].text,
                explains=self._keys[key_index].explains,
            )
            for tier, _, negative_score, _, key_index in ranked
        ]

    def _offer_prefixes(self, typed: str, limit: int, offer: _Offer) -> None:
        """Names starting with the typed text; the shortest such names are the closest."""
        low = bisect_left(self._prefix_keys, typed)
        high = bisect_left(self._prefix_keys, typed + _PREFIX_END, lo=low)
        candidates = self._prefix_order[low:high]
        if len(candidates) > limit * PREFIX_SHORTLIST:
            # One letter can prefix thousands of names; only the shortest (titles first) can make the list.
            shortlist = sorted(candidates, key=self._prefix_rank.__getitem__)[: limit * PREFIX_SHORTLIST]
            if len({self._keys[index].entry for index in shortlist}) >= limit:
                candidates = tuple(shortlist)
        for key_index in candidates:
            offer(key_index, Tier.PREFIX, 100.0 * len(typed) / len(self._keys[key_index].compact))

    def _offer_typos(self, typed: str, limit: int, offer: _Offer) -> None:
        """Whole names within a few edits of the typed text ("celry", "djangorestframwork")."""
        # fuzz.ratio >= c needs the lengths within a factor of c / (2 - c): skip names that cannot qualify.
        factor = FUZZY_CUTOFF / (200.0 - FUZZY_CUTOFF)
        shortest = math.ceil(len(typed) * factor)
        longest = math.floor(len(typed) / factor)
        for length in range(shortest, longest + 1):
            bucket = self._by_length.get(length)
            if bucket is None:
                continue
            names, indexes = bucket
            for _, score, position in process.extract(
                typed, names, scorer=fuzz.ratio, processor=None, score_cutoff=FUZZY_CUTOFF, limit=limit * 2
            ):
                for key_index in indexes[position]:
                    offer(key_index, Tier.FUZZY, float(score))

    def _names_starting_with(self, word: str) -> int:
        """How many names hold a word starting with `word` (an upper bound: a name may hold two such words)."""
        low = bisect_left(self._vocabulary, word)
        high = bisect_left(self._vocabulary, word + _PREFIX_END, lo=low)
        return self._word_key_totals[high] - self._word_key_totals[low]

    def _keys_with_word_prefix(self, word: str) -> set[int]:
        low = bisect_left(self._vocabulary, word)
        high = bisect_left(self._vocabulary, word + _PREFIX_END, lo=low)
        found: set[int] = set()
        for position in range(low, high):
            found.update(self._word_keys[self._vocabulary[position]])
        return found

    def _typo_words(self, word: str) -> dict[str, float]:
        """Known words within a few edits of a typed one ("refrsh": refresh)."""
        if len(word) <= FUZZY_MIN_LENGTH:
            return {}
        return {
            known: float(score)
            for known, score, _ in process.extract(
                word, self._spelled_words, scorer=fuzz.ratio, processor=None, score_cutoff=WORD_FUZZY_CUTOFF, limit=10
            )
        }

    def _matches_by_entry(
        self, word: str, near: Mapping[str, float], among: Container[int] | None = None
    ) -> dict[int, dict[int, float]]:
        """Names holding a word that starts with `word` (100) or is one of its near misses (that score), by entry;
        with `among`, only the names of those entries (the ones earlier words left in the running)."""
        entry_of = self._key_entries
        by_entry: dict[int, dict[int, float]] = {}
        low = bisect_left(self._vocabulary, word)
        high = bisect_left(self._vocabulary, word + _PREFIX_END, lo=low)
        for position in range(low, high):
            for key_index in self._word_keys[self._vocabulary[position]]:
                entry = entry_of[key_index]
                if among is None or entry in among:
                    by_entry.setdefault(entry, {})[key_index] = 100.0
        for known, score in near.items():
            for key_index in self._word_keys[known]:
                entry = entry_of[key_index]
                if among is None or entry in among:
                    found = by_entry.setdefault(entry, {})
                    found[key_index] = max(found.get(key_index, 0.0), score)
        return by_entry

    def _matches_among(
        self, entries: Iterable[int], word: str, near: Mapping[str, float]
    ) -> dict[int, dict[int, float]]:
        """The same as _matches_by_entry, looking only at the names of `entries`."""
        by_entry: dict[int, dict[int, float]] = {}
        for entry in entries:
            found: dict[int, float] = {}
            for key_index in self._entry_keys[entry]:
                key_words = self._keys[key_index].words
                if any(known.startswith(word) for known in key_words):
                    found[key_index] = 100.0
                elif near:
                    score = max((near.get(known, 0.0) for known in key_words), default=0.0)
                    if score:
                        found[key_index] = score
            if found:
                by_entry[entry] = found
        return by_entry

    def _offer_words(self, words: Sequence[str], offer: _Offer, *, typos: bool) -> None:
        """Every typed word starts a word of one of the entry's names: "jwt refresh", "git commit".

        With `typos`, a typed word may also be a near miss of a known word ("jwt refrsh").
        """
        # The most selective word first, then each other word either by its own key list (when it starts few
        # names) or checked against the names of the entries still in the running (when it starts many: "n",
        # "1" or "production" start thousands, and the list of survivors is by then short).
        matching: dict[int, dict[int, float]] | None = None  # entry -> {key index: word score}
        for word in sorted(words, key=self._names_starting_with):
            near = self._typo_words(word) if typos else {}
            if matching is None or self._names_starting_with(word) < len(matching) * KEYS_PER_ENTRY_GUESS:
                found = self._matches_by_entry(word, near, matching)
            else:
                found = self._matches_among(matching, word, near)
            if matching is None:
                matching = found
            else:
                matching = {entry: _merge_min(keys, found[entry]) for entry, keys in matching.items() if entry in found}
            if not matching:
                return
        if not matching:
            return
        typed_length = sum(len(word) for word in words)
        for keys in matching.values():
            # The name holding the most of what was typed explains the match best.
            key_index = min(keys, key=lambda index: (len(self._keys[index].compact), index))
            coverage = min(1.0, typed_length / len(self._keys[key_index].compact))
            if typos:
                # A typo'd word inside a long name is weaker evidence than a typo'd whole name.
                offer(key_index, Tier.FUZZY, min(keys.values()) - 20.0 * (1.0 - coverage) - 1.0)
            else:
                offer(key_index, Tier.WORDS, 100.0 * coverage)

    def _word_matches(self, word: str, *, prefixes: bool = True) -> set[int]:
        """Names holding a word that starts with `word`, or a word of 4+ letters that `word` starts with
        ("asynchronous": async); a word starting very many names counts only where it is a whole word, and one
        held by very many names not at all (like a stop word, it says little about which entry is meant)."""
        if not prefixes:
            found: set[int] = set()
        elif self._names_starting_with(word) <= PARTIAL_PREFIX_CAP:
            found = self._keys_with_word_prefix(word)
        else:
            whole = self._word_keys.get(word, ())
            found = set(whole) if len(whole) <= PARTIAL_PREFIX_CAP else set()
        # The known word must be a good part of the typed one: "django" is not what "djangorestframwork" means.
        for end in range(max(PARTIAL_STEM_MIN, math.ceil(len(word) * PARTIAL_STEM_SHARE)), len(word)):
            shorter = self._word_keys.get(word[:end], ())
            if len(shorter) <= PARTIAL_PREFIX_CAP:
                found.update(shorter)
        return found

    def _offer_partial(self, words: Sequence[str], limit: int, offer: _Offer) -> None:
        """Names holding most of the meaningful typed words, not all: a longer name someone remembers ("System
        Design Principles", "Maintaining API versioning") or a longer form of a short name ("asynchronous")."""
        meaningful = [word for word in dict.fromkeys(words) if word not in _NAME_STOPWORDS and len(word) >= 2]
        if not meaningful:
            return
        entry_of, length_of = self._key_entries, self._key_lengths
        # One word: the words tier already offered every name it starts; only longer forms are new here.
        prefixes = len(meaningful) > 1
        matched = [self._word_matches(word, prefixes=prefixes) for word in meaningful]
        per_key = Counter(chain.from_iterable(matched))
        # Typed words held by each entry's names: a word counts once per entry, whichever name holds it.
        per_entry = Counter(chain.from_iterable({entry_of[key_index] for key_index in found} for found in matched))
        needed = max(1, math.ceil(len(meaningful) / 2))
        # Per entry, its name holding the most typed words, then the shortest.
        best: dict[int, tuple[int, int, int]] = {}
        for key_index, count in per_key.items():
            entry = entry_of[key_index]
            if per_entry[entry] < needed:
                continue
            candidate = (-count, length_of[key_index], key_index)
            current = best.get(entry)
            if current is None or candidate < current:
                best[entry] = candidate
        typed = sum(len(word) for word in meaningful)
        scored = []
        for entry, (_, length, key_index) in best.items():
            share = per_entry[entry] / len(meaningful)
            # More of the question matched first; then the name with the least left over.
            tightness = min(1.0, typed / length)
            scored.append((-(100.0 * share - 10.0 * (1.0 - tightness)), self._keys[key_index].kind, key_index))
        # Hundreds of entries can hold one of two typed words; only the best `limit` can make the list, since
        # that many entries would rank above any other.
        for negative_score, _, key_index in heapq.nsmallest(limit, scored):
            offer(key_index, Tier.PARTIAL, -negative_score)

    # ---------------------------------------------------------------- full-text questions

    def search_query(self, query: str) -> SearchQuery:
        """A /search question made ready for the index: meaningful words (question and stop words dropped, unless
        nothing else is left), per word the entry names it abbreviates, and the entries the question names."""
        terms = search_terms(query)
        synonyms: list[tuple[tuple[str, ...], ...]] = []
        for tokens in terms:
            index = self._exact.get("".join(tokens))
            found: list[tuple[str, ...]] = []
            if index is not None:
                name_key = self._keys[index]
                entry = self._entries[name_key.entry]
                # An alias or id stands for the title ("drf" -> "django rest framework"); a title for its
                # abbreviations ("postgresql" -> "postgres"). Only phrases that add words not already typed.
                others = (entry.title,) if name_key.kind is not KeyKind.TITLE else entry.aliases
                for other in others:
                    phrase = tuple(_SEARCH_TOKENS.findall(other.casefold()))
                    if phrase and phrase != tuple(tokens) and not set(tokens) <= set(phrase) and phrase not in found:
                        found.append(phrase)
            synonyms.append(tuple(found[:SYNONYMS_PER_WORD]))
        return SearchQuery(
            terms=tuple(tuple(tokens) for tokens in terms), synonyms=tuple(synonyms), named=self.named_in(query)
        )

    def named_in(self, text: str) -> tuple[str, ...]:
        """Entries whose title, id or alias is written in `text` as whole words, the longest name first.

        Inside a longer question a one-word name counts only if no other entry's name holds that word ("readme"
        does, "python" does not: "Python f-strings" holds it too); otherwise bm25 weighs it as a title word."""
        words = normalise(text).split()
        meaningful = sum(1 for word in words if word not in _NAME_STOPWORDS)
        found: dict[int, tuple[int, int]] = {}  # entry -> (-words in the name, position)
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + NAME_WORDS_MAX) + 1):
                run = words[start:end]
                if all(word in _NAME_STOPWORDS for word in run):
                    continue
                if len(run) == 1 and meaningful > 1 and not self._names_one_entry(run[0]):
                    continue
                index = self._exact.get("".join(run))
                if index is None:
                    continue
                entry = self._keys[index].entry
                rank = (-len(run), start)
                if entry not in found or rank < found[entry]:
                    found[entry] = rank
        return tuple(self._entries[entry].id for entry in sorted(found, key=found.__getitem__))

    def _names_one_entry(self, word: str) -> bool:
        """Whether the names holding this whole word all belong to one entry."""
        return word in self._single_entry_words

    def choices(self, query: str, limit: int = MAX_CHOICES) -> list[Choice]:
        """Autocomplete choices (at most 25, names at most 100 chars); an empty query lists titles A-Z."""
        limit = min(limit, MAX_CHOICES)
        if not query.strip():
            return [Choice(clip(entry.title, CHOICE_NAME_LIMIT), entry.id) for entry in self._entries[:limit]]
        return [Choice(choice_name(match), match.entry.id) for match in self.rank(query, limit)]

    def did_you_mean(self, query: str, limit: int = SUGGESTION_LIMIT) -> list[Entry]:
        """Suggestions for a name that matched nothing exactly; weak typo matches are left out."""
        return [
            match.entry
            for match in self.rank(query, limit)
            if match.tier is not Tier.FUZZY or match.score >= FUZZY_CUTOFF
        ]

    # ---------------------------------------------------------------- browsing

    def browse(self, category: str | None = None, page_size: int = BROWSE_PAGE_SIZE) -> list[BrowsePage]:
        """Entries grouped by category, cut into pages; always at least one (possibly empty) page."""
        categories = CATEGORIES if category is None else (category,)
        listed = [entry for name in categories for entry in self.in_category(name)]
        chunks = [listed[start : start + page_size] for start in range(0, len(listed), page_size)] or [[]]
        pages: list[BrowsePage] = []
        for number, chunk in enumerate(chunks):
            groups = tuple(
                (name, tuple(entry for entry in chunk if entry.category == name))
                for name in categories
                if any(entry.category == name for entry in chunk)
            )
            pages.append(BrowsePage(number=number, total=len(chunks), groups=groups))
        return pages

    # ---------------------------------------------------------------- answer layout

    def sections(self, entry: Entry) -> list[Section]:
        """The blocks shown under an entry's summary and body; content validation checks them against limits."""
        found: list[Section] = []
        if entry.key_points:
            found.append(Section("Key points", bullets(entry.key_points)))
        if entry.example:
            found.append(Section("Example", entry.example))
        if entry.pitfalls:
            found.append(Section("Pitfalls", bullets(entry.pitfalls)))
        if entry.links:
            found.append(Section("Links", bullets(entry.links)))
        return found

    def public_sections(self, entry: Entry) -> list[Section]:
        """The blocks of an answer posted in a channel: only the key points, so a busy channel is not flooded; the
        body, example, pitfalls and links are one click away (PUBLIC_LIMIT bounds the whole post)."""
        return [section for section in self.sections(entry) if section.name == "Key points"]

    def related(self, entry: Entry) -> list[Entry]:
        return [related for related_id in entry.related if (related := self._by_id.get(related_id)) is not None]

    def footer(self, entry: Entry) -> str:
        label = CATEGORY_LABELS.get(entry.category, entry.category)
        return f"{label} · /topic {entry.id}"


def _merge_min(first: dict[int, float], second: dict[int, float]) -> dict[int, float]:
    """Keys of one entry matched by several typed words keep their weakest word score."""
    merged = dict(first)
    for key_index, score in second.items():
        merged[key_index] = min(merged.get(key_index, score), score)
    return merged


def description(entry: Entry) -> str:
    return f"*{entry.summary}*\n\n{entry.body}"


def public_description(entry: Entry) -> str:
    return f"*{entry.summary}*"


def public_size(knowledge: KnowledgeBase, entry: Entry) -> int:
    """Characters of an entry's public post (title, summary, key points, footer): at most PUBLIC_LIMIT."""
    size = len(entry.title) + len(public_description(entry)) + len(knowledge.footer(entry))
    return size + sum(len(section.name) + len(section.text) for section in knowledge.public_sections(entry))


def answer_size(knowledge: KnowledgeBase, entry: Entry) -> int:
    """Characters an entry's answer takes in Discord's 6,000-per-embed budget."""
    size = len(entry.title) + len(description(entry)) + len(knowledge.footer(entry))
    return size + sum(len(section.name) + len(section.text) for section in knowledge.sections(entry))


def choice_name(match: Match) -> str:
    """The title, plus the alias that matched when the title alone would not explain the choice."""
    title = match.entry.title
    if not match.explains:
        return clip(title, CHOICE_NAME_LIMIT)
    suffix = f" · {clip(match.matched, 40)}"
    return clip(title, CHOICE_NAME_LIMIT - len(suffix)) + suffix
