"""Search synonyms per desk (issue 16): defined by the desk's admins, used by the
knowledge-base search, the search as you type and the new-request suggestions."""

import re

import pytest
from django.core.exceptions import ValidationError

from knowledge.models import SearchSynonym, split_terms
from knowledge.search import search, synonyms
from knowledge.selectors import visible_articles
from tests.knowledge.factories import make_article


def _titles(desk, text):
    with desk.scope():
        hits = search(visible_articles(None), text, tenant_id=desk.tenant.pk)
    return [hit.article.title for hit in hits]


@pytest.fixture
def vat(acme, globex):
    for desk in (acme, globex):
        make_article(desk, "如何开具增值税专用发票", body="开具增值税专用发票需要公司名称和税号。")
        make_article(desk, "Turn on two-factor authentication", body="Open Security settings.")


def test_parsing_keeps_each_term_once():
    assert split_terms("专票，增值税专用发票, 2FA ;  two  factor、2fa") == [
        "专票",
        "增值税专用发票",
        "2FA",
        "two factor",
    ]


def test_a_group_needs_two_terms(acme):
    with acme.scope():
        with pytest.raises(ValidationError):
            SearchSynonym(tenant=acme.tenant, terms="专票").full_clean()
        group = SearchSynonym(tenant=acme.tenant, terms=" 专票，增值税专用发票 ")
        group.full_clean()
    assert group.terms == "专票, 增值税专用发票"


def test_an_abbreviation_finds_what_the_articles_spell_out(acme, globex, vat):
    assert _titles(acme, "专票") == []
    assert _titles(acme, "MFA") == []
    client = acme.client(acme.admin)
    response = client.post("/admin/knowledge/searchsynonym/add/", {"terms": "专票, 增值税专用发票"})
    assert response.status_code == 302
    client.post("/admin/knowledge/searchsynonym/add/", {"terms": "MFA, two-factor authentication"})
    # At once, with no restart: saving drops what searches kept.
    assert _titles(acme, "专票") == ["如何开具增值税专用发票"]
    assert _titles(acme, "专票怎么开") == ["如何开具增值税专用发票"]
    assert _titles(acme, "enable MFA") == ["Turn on two-factor authentication"]
    # English terms match whole words only: "mfa" is not in "mfaq".
    assert _titles(acme, "mfaq") == []
    # Another desk's synonyms are its own.
    assert _titles(globex, "专票") == []
    with globex.scope():
        assert synonyms(globex.tenant.pk).groups == ()

    with acme.scope():
        SearchSynonym.objects.filter(terms__startswith="专票").delete()
    assert _titles(acme, "专票") == []


def test_the_search_pages_and_the_suggestions_use_them(acme, vat):
    with acme.scope():
        SearchSynonym.objects.create(tenant=acme.tenant, terms="专票, 增值税专用发票")
    client = acme.client(acme.customer)
    page = client.get("/kb/search/", {"q": "专票"}).content.decode()
    assert "如何开具增值税专用发票" in page
    # The snippet marks the words of the synonym it matched.
    assert re.search(r"<mark>[^<]*(增值税|专用|发票)[^<]*</mark>", page)
    as_you_type = client.get("/kb/search.json", {"q": "专票"}).json()
    assert "如何开具增值税专用发票" in str(as_you_type)
    api = client.get("/api/v1/kb/articles/search/", {"q": "专票"}).json()
    assert "如何开具增值税专用发票" in str(api)
    # While a customer types a new request (3 characters at least).
    suggested = client.get("/kb/suggest/", {"subject": "专票抬头", "body": ""})
    assert "如何开具增值税专用发票" in suggested.content.decode()
