"""Marking what a search matched, in whole words: one rule for every highlighted text
(the knowledge base's search results and typeahead, the suggestions beside a new
request, the agent queue's search).

A text is cut into terms: each run of letters and digits is one word ("clicking", not
its "i"); a run of Chinese is cut by jieba into its terms (增值税发票 -> 增值, 增值税, 发票).
A term is marked when it means what a searched word means as PostgreSQL's full-text
search reads it (the `english` stemmer, `ts_lexize('english_stem', ...)`): "exporting"
marks "exports", and stop words ("i", "to", "the", the "t" of "can't") never mark
anything. Chinese terms match as they are. Marks never overlap: where Chinese terms do,
the longest wins.

The stemmer is PostgreSQL's, so the highlight agrees with the search; each process keeps
the stems it has asked for, and asks for all of a page's unknown words at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import rjieba
from django.db import connection
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run of Chinese characters, or a run of other letters and digits (no underscore).
_RUN = re.compile(rf"[{_CJK}]+|(?:(?![{_CJK}])[^\W_])+")
_IS_CJK = re.compile(rf"[{_CJK}]")
_WORD = re.compile(r"\w", re.UNICODE)
_STEMS_KEPT = 200_000  # a process forgets its stems past this many (a long-lived worker)
_stems: dict[str, frozenset[str]] = {}


@dataclass(frozen=True)
class Term:
    """A term of a text, at text[start:end]."""

    start: int
    end: int
    text: str


def terms(text: str) -> list[Term]:
    """Every term of `text` that a search could match, Chinese ones overlapping."""
    found = []
    for run in _RUN.finditer(text):
        if _IS_CJK.match(run.group()):
            found += [
                Term(run.start() + start, run.start() + end, term)
                for term, start, end in rjieba.tokenize(run.group(), mode="search")
            ]
        else:
            found.append(Term(run.start(), run.end(), run.group()))
    return found


def words_of(query: str) -> list[str]:
    """The words of what someone typed into a search box."""
    return [term.text for term in terms(query)]


def _load_stems(words: Iterable[str]) -> None:
    """Ask PostgreSQL for the stems of the words this process has not seen yet."""
    asked = {w.lower() for w in words if not _IS_CJK.match(w)}
    unknown = sorted(asked - _stems.keys())
    if not unknown:
        return
    if len(_stems) + len(unknown) > _STEMS_KEPT:
        # Forget the others, not the words the caller is about to read.
        _stems.clear()
        unknown = sorted(asked)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT word, ts_lexize('english_stem', word) FROM unnest(%s::text[]) AS word",
            [unknown],
        )
        for word, lexemes in cursor.fetchall():
            _stems[word] = frozenset(lexemes or ())


def _meanings(word: str) -> frozenset[str]:
    """What a word means to the search: its stem (none for a stop word); a Chinese
    term, itself."""
    if _IS_CJK.match(word):
        return frozenset([word])
    return _stems[word.lower()]


def matches(texts: Sequence[str], words: Iterable[str]) -> list[list[Term]]:
    """For each of `texts`, the terms to mark for a search of `words`, in order and
    never overlapping (one round trip to the database at most, for all the texts)."""
    words = [term for word in words for term in words_of(word)]  # "e-mail": e, mail
    cut = [terms(text) for text in texts]
    _load_stems([*words, *(term.text for found in cut for term in found)])
    wanted = frozenset().union(*(_meanings(word) for word in words))
    result = []
    for found in cut:
        hits = [term for term in found if _meanings(term.text) & wanted]
        kept: list[Term] = []
        for term in sorted(hits, key=lambda t: (t.start - t.end, t.start)):  # longest first
            if all(term.end <= other.start or term.start >= other.end for other in kept):
                kept.append(term)
        result.append(sorted(kept, key=lambda t: t.start))
    return result


def mentioning(texts: Sequence[str], words: Iterable[str]) -> list[bool]:
    """For each of `texts`, whether it may have a term to mark for `words`: never False
    when matches() would find one, and much cheaper (no jieba, no terms built), so a
    caller can run matches() on the few texts that pass (one round trip at most)."""
    words = [term for word in words for term in words_of(word)]
    latin = [
        {run for run in _RUN.findall(text.lower()) if not _IS_CJK.match(run)} for text in texts
    ]
    _load_stems([*words, *(run for runs in latin for run in runs)])
    wanted = frozenset().union(*(_meanings(word) for word in words))
    # A Chinese term matches as written, so a text without it as a substring has none.
    chinese = [meaning for meaning in wanted if _IS_CJK.match(meaning)]
    return [
        any(_stems[run] & wanted for run in runs) or any(term in text for term in chinese)
        for text, runs in zip(texts, latin, strict=True)
    ]


def marked(text: str, found: Iterable[Term], *, offset: int = 0) -> SafeString:
    """`text` escaped, with `found` (terms of a longer text that `text` starts at
    `offset` of) in <mark>; terms cut by either end of `text` are left unmarked."""
    parts, at = [], 0
    for term in found:
        start, end = term.start - offset, term.end - offset
        if start < at or end > len(text):
            continue
        parts += [escape(text[at:start]), "<mark>", escape(text[start:end]), "</mark>"]
        at = end
    parts.append(escape(text[at:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text escaped above


def segment(text: str) -> list[str]:
    """Words of `text` as full-text search indexes them: Chinese cut by jieba (with the
    parts of long words), everything else as written; lowercased. Joined by spaces,
    they are what `to_tsvector('english', ...)` reads (the knowledge base, tickets)."""
    return [
        word.lower()
        for word in rjieba.cut_for_search(text or "")
        if word.strip() and _WORD.search(word)
    ]


def excerpts(texts: Sequence[str], words: Iterable[str], width: int = 160) -> list[SafeString]:
    """For each text, a window of `width` characters around its first match, the
    matches marked (one round trip to the database at most)."""
    return [
        excerpt(text, found, width)
        for text, found in zip(texts, matches(texts, words), strict=True)
    ]


def excerpt(text: str, found: list[Term], width: int = 160) -> SafeString:
    """A window of `text` around the first of `found` (its matched terms), marked."""
    start = max(0, found[0].start - width // 3) if found else 0
    window = text[start : start + width].replace("\n", " ")
    prefix = "…" if start else ""
    suffix = "…" if start + width < len(text) else ""
    return mark_safe(  # noqa: S308 - marked() escapes the text
        f"{prefix}{marked(window, found, offset=start)}{suffix}"
    )


def highlight(text: str, words: Iterable[str]) -> SafeString:
    """`text`, escaped, with the whole words and Chinese terms that match `words` marked."""
    (found,) = matches([text], words)
    return marked(text, found)


__all__ = [
    "Term",
    "excerpt",
    "excerpts",
    "highlight",
    "marked",
    "matches",
    "mentioning",
    "segment",
    "terms",
    "words_of",
]
