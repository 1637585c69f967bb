"""Highlighting marks whole words and Chinese terms, never fragments (helpdesk/highlight.py).

Suggestions beside a new request once marked the "i" of "click" and every "to": the
query's stop words and its letters marked fragments of words. Three kinds of test:

- a property over generated text (Hypothesis): the marks change no text, each mark is a
  whole term of the text, each means a searched word, and every such word is marked;
- examples of what people search, in English and Chinese;
- a walk over every route of the URL conf (pages and API) searched with a sentence full
  of short words: every <mark> anything answers is a whole word.
"""

from __future__ import annotations

import json
import re
from html import unescape
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.highlight import highlight, matches, mentioning, terms, words_of
from tests.pages import PERSONAS, client_for, populate, route_samples
from tests.routes import World, routes

MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def read_marks(html: str) -> tuple[str, list[tuple[int, int]]]:
    """The text of a marked fragment, and where its marks are in it."""
    text, spans, at = "", [], 0
    for match in MARK.finditer(html):
        text += unescape(html[at : match.start()])
        word = unescape(match.group(1))
        spans.append((len(text), len(text) + len(word)))
        text += word
        at = match.end()
    return text + unescape(html[at:]), spans


def whole_terms(text: str) -> set[tuple[int, int]]:
    return {(term.start, term.end) for term in terms(text)}


# -- the property ---------------------------------------------------------------------------

VOCABULARY = [
    "I", "i", "to", "the", "it", "can't", "click", "clicking", "Clicks", "button",
    "buttons", "export", "Exporting", "exported", "invoice", "Invoices", "row", "500",
    "e-mail", "naïve", "café", "x86_64", "SSO", "API", "发票", "增值税发票", "如何开发票",
    "登录失败", "导出", "报表", "的", "了",
]  # fmt: skip
SEPARATORS = [" ", "  ", ", ", ". ", "\n", "-", "/", "（", "）", "：", "", "'"]
texts = st.lists(
    st.tuples(st.sampled_from(VOCABULARY), st.sampled_from(SEPARATORS)), max_size=25
).map(lambda parts: "".join(word + separator for word, separator in parts))
queries = st.lists(
    st.one_of(
        st.sampled_from(VOCABULARY),
        st.sampled_from(VOCABULARY).flatmap(  # fragments of words, as people type them
            lambda word: st.integers(0, len(word)).map(lambda n: word[n : n + 2])
        ),
    ),
    min_size=1,
    max_size=6,
)


@pytest.mark.django_db
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=texts, words=queries)
def test_marks_are_whole_terms_that_mean_a_searched_word(text, words):
    plain, spans = read_marks(str(highlight(text, words)))
    assert plain == text  # nothing added, nothing lost
    assert set(spans) <= whole_terms(text)  # never a fragment of a word
    wanted = {meaning for word in words_of(" ".join(words)) for meaning in _meaning(word)}
    for start, end in spans:
        assert _meaning(text[start:end]) & wanted  # a match, never a stop word
    assert spans == sorted(spans) and all(a[1] <= b[0] for a, b in pairwise(spans))
    # Every whole word (not Chinese: its terms overlap) that means a searched word is marked.
    for term in terms(text):
        if term.text.isascii() and _meaning(term.text) & wanted:
            assert (term.start, term.end) in spans, term


@pytest.mark.django_db
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(many=st.lists(texts, min_size=1, max_size=6), words=queries)
def test_a_text_with_something_to_mark_is_always_mentioning(many, words):
    """The search's excerpts cut only the texts mentioning() passes: it may pass a text
    with nothing to mark, never fail one with something."""
    for text, found, maybe in zip(many, matches(many, words), mentioning(many, words), strict=True):
        if found:
            assert maybe, (text, words)


@pytest.mark.django_db
def test_mentioning_passes_only_texts_that_may_match():
    texts = ["Exporting stalls", "Nothing here", "增值税发票", "开发者", "The the the"]
    assert mentioning(texts, ["exports"]) == [True, False, False, False, False]
    assert mentioning(texts, ["发票"]) == [False, False, True, False, False]
    assert mentioning(texts, ["the"]) == [False] * 5  # a stop word means nothing


@pytest.mark.django_db
def test_a_process_forgetting_its_stems_still_marks_what_it_was_asked(monkeypatch):
    from helpdesk import highlight as module

    monkeypatch.setattr(module, "_stems", {})
    monkeypatch.setattr(module, "_STEMS_KEPT", 3)
    assert str(highlight("Exports stall", ["export"])) == "<mark>Exports</mark> stall"
    # Known: export, exports, stall. Three new words overflow what is kept.
    text = "Exports stall while exporting invoices nightly"
    assert mentioning([text], ["exported"]) == [True]
    assert str(highlight(text, ["exported"])).count("<mark>") == 2


def _meaning(word: str) -> set[str]:
    from helpdesk import highlight as module

    module.matches([word], [])  # loads its stem
    return set(module._meanings(word))


# -- examples -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "query", "marked"),
    [
        (
            "Click the Export button to download it.",
            "I can't click the button",
            "<mark>Click</mark> the Export <mark>button</mark> to download it.",
        ),
        (
            "Exports run nightly; exporting by hand works too.",
            "exporting",
            "<mark>Exports</mark> run nightly; <mark>exporting</mark> by hand works too.",
        ),
        ("如何开具增值税发票", "发票", "如何开具增值税<mark>发票</mark>"),
        ("如何开发票", "开发票", "如何<mark>开发票</mark>"),
        (
            "SSO 登录失败 & <b>",
            "sso 登录",
            "<mark>SSO</mark> <mark>登录</mark>失败 &amp; &lt;b&gt;",
        ),
        ("The answer is in the FAQ.", "the is in", "The answer is in the FAQ."),
    ],
)
def test_what_people_search_is_marked_in_whole_words(text, query, marked):
    assert str(highlight(text, words_of(query))) == marked


@pytest.mark.django_db
def test_many_texts_cost_one_query_at_most(django_assert_max_num_queries):
    texts = [f"Invoice {n} export stalls at row {n * 7}" for n in range(50)]
    with django_assert_max_num_queries(1):
        found = matches(texts, ["exports", "stalling"])
    assert all(len(terms) == 2 for terms in found)
    with django_assert_max_num_queries(0):  # its stems are known now
        matches(texts, ["export"])


# -- every route that highlights ------------------------------------------------------------

# A sentence of short words that the old highlighting marked inside longer ones; and
# pieces of words, which the agent queue's search (a subject containing what was typed)
# finds: whatever a search finds, only whole words are marked.
QUERIES = ["I can't export it to the invoices page, it is at row 500", "export", "voice"]


def _marked_fragments(body: str, content_type: str) -> list[str]:
    if content_type.startswith("application/json"):
        found: list[str] = []

        def walk(value):
            if isinstance(value, str) and "<mark>" in value:
                found.append(value)
            elif isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(json.loads(body))
        return found
    # Each run of text with marks in it, between two other tags.
    return re.findall(
        r">((?:[^<>]|<mark>[^<>]*</mark>)*<mark>(?:[^<>]|<mark>[^<>]*</mark>)*)<", body
    )


def test_every_route_marks_whole_words_only(acme):
    data = populate(acme)
    world = World(desk=acme, samples=route_samples(data), admin_rows={})
    answers = []
    for route in routes(world):
        if route.host != acme.host or route.pattern.startswith(("admin/", "accounts/")):
            continue
        for persona in PERSONAS:
            client = client_for(data, persona)
            for query in QUERIES:
                response = client.get(route.path, {"q": query, "subject": query})
                if response.status_code == 200 and b"<mark>" in response.content:
                    answers.append((route.name, persona, response))
    fragments = [
        f"{name} ({persona}): {fragment}"
        for name, persona, response in answers
        for fragment in _marked_fragments(response.content.decode(), response["Content-Type"])
        if not set(read_marks(fragment)[1]) <= whole_terms(read_marks(fragment)[0])
    ]
    assert fragments == []
    # The search page and its typeahead, the suggestions beside a new request, the
    # API's search and the agent queue's search.
    assert {name for name, _persona, _response in answers} >= {
        "kb_search",
        "kb_search_json",
        "kb_suggest",
        "api-kb-article-search",
        "agent_queue",
    }
