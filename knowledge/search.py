"""Knowledge-base search: PostgreSQL full-text search, English and Chinese, with
a trigram fallback for typos.

PostgreSQL has no Chinese parser here, so Chinese is cut into words in Python
(rjieba, the jieba-rs segmenter) before it reaches `to_tsvector`; English words
pass through the segmenter unchanged and are stemmed by the `english`
configuration, so one configuration serves both languages and mixed queries
("SSO 登录失败"). The vector weighs the title (A) over labels (B) over the body (D).

Synonyms an admin defines per desk (*Search synonyms*: "专票, 增值税专用发票") widen a
query: a term of a group in the query matches any term of the group ("专票" also finds
"增值税专用发票"), as one alternative in the "all words" pass and as more words in
the "any word" passes.

A query is tried as "all words" first, then "any word". When that finds little,
each word the knowledge base does not contain is replaced by the closest word of
its titles and labels (edit distance, rapidfuzz) and the search runs again, so
"pasword reset" still finds "Reset your password". (PostgreSQL's pg_trgm would
do this in the database, but the embedded PostgreSQL ships without contrib.)
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import rjieba
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.cache import cache
from django.db import connection
from django.db.models import F, QuerySet
from django.utils.safestring import SafeString
from rapidfuzz import fuzz, process

from helpdesk import highlight
from helpdesk.highlight import segment
from knowledge.models import Article, SearchSynonym, split_terms
from knowledge.rendering import plain_text

CONFIG = "english"
# Words that say nothing about what is asked ("how do I", "what") in either language.
STOP_WORDS = frozenset(
    [
        "如何",
        "怎么",
        "怎样",
        "怎么办",
        "什么",
        "为什么",
        "吗",
        "呢",
        "的",
        "了",
        "是",
        "我",
        "我们",
        "你",
        "在",
        "和",
        "与",
        "及",
        "或",
        "请问",
        "可以",
        "能",
        "能否",
        "需要",
        "要",
        "一个",
        "这个",
        "那个",
        "哪里",
        "哪些",
        "有",
        "没有",
        "不",
        "无法",
        "不能",
    ]
)
_WORD = re.compile(r"\w", re.UNICODE)
MIN_FULL_TEXT = 3  # fewer full-text hits than this and typo correction joins in
RELEVANCE_FLOOR = 0.3  # share of the best rank an "any word" result needs to be shown
TYPO_SCORE = 75  # rapidfuzz ratio (0-100) a vocabulary word needs to replace a typo


def query_words(text: str, *, finer: bool = False) -> list[str]:
    """The words a query asks about; `finer` also cuts long Chinese words into
    their parts (开发票 -> 开发, 发票, 开发票), for the "any word" pass."""
    cut = rjieba.cut_for_search if finer else rjieba.cut
    words = [w.lower() for w in cut(text or "") if w.strip() and _WORD.search(w)]
    meaningful = [w for w in words if w not in STOP_WORDS]
    return list(dict.fromkeys(meaningful or words))


def index_article(article: Article) -> None:
    """Fill the article's search columns (called on every save, see services)."""
    title = " ".join(segment(article.title))
    labels = " ".join(segment(" ".join(article.labels)))
    article.body_text = plain_text(article.body)
    body = " ".join(segment(article.body_text))
    article.search_words = f"{article.title} {' '.join(article.labels)}".lower()
    with connection.cursor() as cursor:
        cursor.execute(
            # The body's words without their positions (weight D): a much smaller
            # vector, so ranking many matches reads little; titles and labels keep
            # positions and their A and B weights.
            "SELECT setweight(to_tsvector(%s, %s), 'A') || setweight(to_tsvector(%s, %s), 'B')"
            " || strip(to_tsvector(%s, %s))",
            [CONFIG, title, CONFIG, labels, CONFIG, body],
        )
        article.search_vector = cursor.fetchone()[0]


# A term of a query: a word, or alternatives (a synonym group), each a run of words
# that must all match.
Term = str | tuple[tuple[str, ...], ...]


def _word_query(word: str, weights: str) -> SearchQuery | None:
    if weights:
        word = re.sub(r"\W", "", word)
        if not word:
            return None
        return SearchQuery(f"{word}:{weights}", config=CONFIG, search_type="raw")
    return SearchQuery(word, config=CONFIG, search_type="plain")


def _combine(queries, *, match_all: bool) -> SearchQuery | None:
    combined = None
    for query in queries:
        if query is None:
            continue
        if combined is None:
            combined = query
        else:
            combined = combined & query if match_all else combined | query
    return combined


def _tsquery(terms: list[Term], *, match_all: bool, weights: str = "") -> SearchQuery | None:
    """`terms` joined by AND or OR; with `weights` ("AB"), matching those parts only.
    A synonym group matches when any of its alternatives does (all of its words)."""
    queries = []
    for term in terms:
        if isinstance(term, str):
            queries.append(_word_query(term, weights))
        else:
            alternatives = (
                _combine((_word_query(w, weights) for w in words), match_all=True) for words in term
            )
            queries.append(_combine(alternatives, match_all=False))
    return _combine(queries, match_all=match_all)


@dataclass
class Hit:
    article: Article
    rank: float
    snippet: SafeString


def _ranked(articles: QuerySet[Article], query: SearchQuery | None, limit: int):
    if query is None:
        return []
    ranked = (
        articles.filter(search_vector=query)
        .defer("body", "body_html", "search_vector", "search_words")
        .annotate(rank=SearchRank(F("search_vector"), query, normalization=32))
        .order_by("-rank", "pk")[:limit]
    )
    return [(article, article.rank) for article in ranked]


def _full_text(articles: QuerySet[Article], words: list[Term], finer: list[str], limit: int):
    """All words first; then any word in titles and labels; then any word anywhere.

    Ranking is the costly part (each matching row's vector is read), and "any word"
    anywhere can match thousands of articles: titles and labels first keeps it small.
    """
    found: list[tuple[Article, float]] = []
    attempts = [
        (words, True, ""),
        (finer, False, "AB"),
        (finer, False, ""),
    ]
    match_all = True
    for terms, match_all, weights in attempts:
        found = _ranked(articles, _tsquery(terms, match_all=match_all, weights=weights), limit)
        if len(found) >= MIN_FULL_TEXT or len(words) == 1:
            break
    if found and not match_all:
        # "Any word" also finds articles that merely mention one word in passing:
        # keep those that rank within reach of the best.
        best = found[0][1]
        found = [(article, rank) for article, rank in found if rank >= best * RELEVANCE_FLOOR]
    return found


@dataclass(frozen=True)
class Vocabulary:
    """The words of a tenant's article titles and labels, by length, so a typo is
    compared only with words of about its own length."""

    words: frozenset[str]
    by_length: dict[int, list[str]]

    @classmethod
    def of(cls, words: frozenset[str]) -> Vocabulary:
        by_length: dict[int, list[str]] = {}
        for word in words:
            by_length.setdefault(len(word), []).append(word)
        return cls(words, by_length)

    def closest(self, word: str) -> str | None:
        size = len(word)
        candidates = [w for n in range(size - 2, size + 3) for w in self.by_length.get(n, ())]
        match = process.extractOne(word, candidates, scorer=fuzz.ratio, score_cutoff=TYPO_SCORE)
        return match[0] if match else None


# Kept in each process and reloaded when the tenant's version number (in the
# cache, bumped by every article save) moves on: a search reads one small key.
_vocabularies: dict[int, tuple[int, Vocabulary]] = {}


def _version_key(tenant_id: int) -> str:
    return f"kb:vocabulary-version:{tenant_id}"


def vocabulary(tenant_id: int) -> Vocabulary:
    """The words of every customer-facing article's title and labels (reloaded when an
    article changes)."""
    version = cache.get_or_set(_version_key(tenant_id), time.time_ns, None)
    held = _vocabularies.get(tenant_id)
    if held is not None and held[0] == version:
        return held[1]
    # Never the words of internal articles: "did you mean" would show them to customers.
    texts = (
        Article.objects.filter(tenant_id=tenant_id)
        .exclude(visibility__in=Article.INTERNAL)
        .values_list("search_words", flat=True)
    )
    words = frozenset(word for text in texts for word in segment(text) if len(word) > 1)
    loaded = Vocabulary.of(words)
    _vocabularies[tenant_id] = (version, loaded)
    return loaded


def forget_vocabulary(tenant_id: int) -> None:
    # A new value, never one a process may still hold (even if the key was evicted).
    cache.set(_version_key(tenant_id), time.time_ns(), None)


@dataclass(frozen=True)
class Synonyms:
    """A desk's synonym groups, lowercased."""

    groups: tuple[tuple[str, ...], ...]

    def found_in(self, text: str) -> list[tuple[str, list[str]]]:
        """(the term the query uses, the other terms of its group) for each group one of
        whose terms is in `text` (the longest such term; English terms as whole words)."""
        lowered = " ".join((text or "").lower().split())
        found = []
        for group in self.groups:
            for term in sorted(group, key=len, reverse=True):
                if _contains(lowered, term):
                    found.append((term, [other for other in group if other != term]))
                    break
        return found


def _contains(text: str, term: str) -> bool:
    if _CJK.search(term):
        return term in text
    return re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text) is not None


_synonyms: dict[int, tuple[int, Synonyms]] = {}


def _synonyms_key(tenant_id: int) -> str:
    return f"kb:synonyms-version:{tenant_id}"


def synonyms(tenant_id: int) -> Synonyms:
    """The desk's synonym groups (reloaded when an admin changes one)."""
    version = cache.get_or_set(_synonyms_key(tenant_id), time.time_ns, None)
    held = _synonyms.get(tenant_id)
    if held is not None and held[0] == version:
        return held[1]
    rows = SearchSynonym.objects.filter(tenant_id=tenant_id).values_list("terms", flat=True)
    groups = tuple(
        tuple(term.lower() for term in split_terms(terms)) for terms in rows.order_by("pk")
    )
    loaded = Synonyms(tuple(group for group in groups if len(group) > 1))
    _synonyms[tenant_id] = (version, loaded)
    return loaded


def forget_synonyms(tenant_id: int) -> None:
    cache.set(_synonyms_key(tenant_id), time.time_ns(), None)


def _with_synonyms(
    words: list[str], finer: list[str], found: list[tuple[str, list[str]]]
) -> tuple[list[Term], list[str]]:
    """The query's words with each synonym term replaced by its group's alternatives,
    and the "any word" list with the other terms' words added."""
    terms: list[Term] = list(words)
    finer = list(finer)
    for term, others in found:
        own = query_words(term)
        terms = [t for t in terms if t not in own]
        alternatives = [tuple(own), *(tuple(query_words(other)) for other in others)]
        terms.append(tuple(alt for alt in alternatives if alt))
        finer += [w for other in others for w in query_words(other, finer=True)]
    return terms, list(dict.fromkeys(finer))


def corrected(words: list[str], known: Vocabulary) -> list[str]:
    """Each unknown word replaced by the closest known one, if one is close enough."""
    result = []
    for word in words:
        if word in known.words or len(word) < 4 or not word.isascii():
            result.append(word)
        else:
            result.append(known.closest(word) or word)
    return result


def search(articles: QuerySet[Article], text: str, *, tenant_id: int, limit: int = 10) -> list[Hit]:
    """The best `limit` of `articles` (already limited to what the reader may see)
    for `text`, best first, each with a highlighted snippet."""
    words = query_words(text)
    if not words:
        return []
    finer = query_words(text, finer=True)
    terms, finer = _with_synonyms(words, finer, synonyms(tenant_id).found_in(text))
    found = _full_text(articles, terms, finer, limit)
    if len(found) < MIN_FULL_TEXT:
        fixed = corrected(finer, vocabulary(tenant_id))
        if fixed != finer:
            seen = {article.pk for article, _rank in found}
            found += [
                (article, rank)
                for article, rank in _full_text(articles, fixed, fixed, limit)
                if article.pk not in seen
            ][: limit - len(found)]
            finer = fixed
    found = _one_version_each(found, _language_of(text))
    marked = snippets([article.body_text for article, _rank in found], finer)
    return [Hit(article, rank, mark) for (article, rank), mark in zip(found, marked, strict=True)]


_CJK = re.compile(r"[\u4e00-\u9fff]")


def _language_of(text: str) -> str:
    return "zh-hans" if _CJK.search(text) else "en"


def _one_version_each(found: list[tuple[Article, float]], language: str):
    """Of an article found in both languages, keep the version in the query's
    language, at the better of the two places."""
    kept: dict[int, int] = {}  # group -> index in result
    result: list[tuple[Article, float]] = []
    for article, rank in found:
        group = article.group_id or article.pk
        if group not in kept:
            kept[group] = len(result)
            result.append((article, rank))
        elif article.language == language and result[kept[group]][0].language != language:
            result[kept[group]] = (article, result[kept[group]][1])
    return result


SNIPPET_WIDTH = 160


def snippets(texts: list[str], words: list[str], width: int = SNIPPET_WIDTH) -> list[SafeString]:
    """For each text, a window around its first match, the matches marked as whole words
    and Chinese terms (helpdesk/highlight.py); stop words never count."""
    return highlight.excerpts(texts, [w for w in words if w not in STOP_WORDS], width)


def snippet(text: str, words: list[str], width: int = SNIPPET_WIDTH) -> SafeString:
    """A window of `text` around the first query word in it, words marked."""
    return snippets([text], words, width)[0]


__all__ = [
    "Hit",
    "index_article",
    "query_words",
    "search",
    "segment",
    "snippet",
    "snippets",
    "synonyms",
]
