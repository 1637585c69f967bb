"""Each page of the help center and the agent workspace shows the data it is about, with
data present: a listing its rows, a detail its object (tests/pages.py), in English and in
Chinese. The pages are generated from the URL conf; a page nobody described fails
`test_every_page_is_described`.

Also, on every page: no sentence ends twice ("7:59 p.m.."), which English times and
abbreviated months invite when a template puts a full stop after them.
"""

from __future__ import annotations

import re

import pytest

from tests.pages import (
    NO_DATA,
    PAGES,
    PERSONAS,
    client_for,
    is_page,
    page_routes,
    page_views,
    populate,
)
from tests.pages import visible_text as text_of


@pytest.fixture
def data(acme):
    return populate(acme)


def test_every_page_is_described(data):
    undescribed = set()
    for route in page_routes(data):
        for persona in PERSONAS:
            if is_page(client_for(data, persona).get(route.path)) and route.name not in PAGES:
                undescribed.add(f"{route.name} ({persona})")
    assert undescribed == set(), "describe these pages in tests/pages.py PAGES"


def test_a_page_shows_no_data_only_for_a_reason():
    assert {name for name, page in PAGES.items() if not page.shows} == set(NO_DATA)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_each_page_shows_the_data_it_is_about(data, language):
    missing = []
    for view in page_views(data):
        for persona in view.page.personas:
            client = client_for(data, persona, language=language)
            response = client.get(view.path, view.page.query)
            assert is_page(response), (view.label, persona, response.status_code)
            text = text_of(response.content.decode())
            missing += [
                f"{view.label} ({persona}): {what}"
                for what in view.page.shows
                if data.text(what) not in text
            ]
    assert missing == []


# Two full stops in a row: "p.m.." or "Dec.." (an ellipsis of three is not one).
DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)|。[。.]")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_page_ends_a_sentence_twice(data, language):
    found = []
    for view in page_views(data):
        client = client_for(data, view.page.personas[0], language=language)
        text = text_of(client.get(view.path, view.page.query).content.decode())
        found += [
            f"{view.label}: …{text[max(0, match.start() - 40) : match.end()]}"
            for match in DOUBLE_STOP.finditer(text)
        ]
    assert found == []
