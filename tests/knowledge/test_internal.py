"""Internal knowledge (`seeds/000`: the team's knowledge sharing): articles for the
desk's agents, or one group's, never shown to a customer anywhere; and the articles a
ticket's words suggest beside it, with a link to put in the reply."""

import pytest
from django.core.exceptions import ValidationError

from helpdesk.models import Role
from knowledge.models import Article
from knowledge.search import vocabulary
from tests.api.helpers import token_client
from tests.chat.sockets import pro_plus_customer
from tests.chat.widget import widget_on, widget_ticket
from tests.helpdesk.factories import make_member
from tests.knowledge.factories import make_article
from tests.routing.test_routing import make_group
from tests.tickets.factories import make_ticket

pytestmark = pytest.mark.django_db

RUNBOOK = "Refund runbook for the billing team"
PLAYBOOK = "Escalation playbook for zeppelin outages"


@pytest.fixture
def internal(acme):
    """A public article, one for every agent, one for the Billing group's."""
    billing = make_group(acme, "Billing", acme.agent)
    public = make_article(acme, "How refunds work", "Refunds reach your card in five days.")
    agents = make_article(
        acme,
        PLAYBOOK,
        "Page the on-call engineer for zeppelin outages.",
        visibility=Article.Visibility.AGENTS,
    )
    group = make_article(
        acme,
        RUNBOOK,
        "Refunds above 500 need a second approver.",
        visibility=Article.Visibility.GROUP,
        team=billing,
    )
    return public, agents, group


def _customer_surfaces(desk, client, *, widget_ticket_id=None):
    """Every page and endpoint a customer reads the knowledge base through."""
    pages = [
        client.get("/kb/").content.decode(),
        client.get("/kb/billing/").content.decode(),
        client.get("/kb/billing/invoices-and-payments/").content.decode(),
        client.get("/kb/search/", {"q": "refund runbook zeppelin playbook"}).content.decode(),
        client.get("/kb/search.json", {"q": "refund runbook zeppelin"}).content.decode(),
        client.get("/api/v1/kb/articles/").content.decode(),
        client.get("/api/v1/kb/articles/", {"q": "zeppelin"}).content.decode(),
    ]
    if widget_ticket_id:
        pages.append(
            client.get(
                f"/widget/t/{widget_ticket_id}/kb/search.json", {"q": "zeppelin runbook"}
            ).content.decode()
        )
    return "\n".join(pages)


def test_no_customer_and_no_visitor_ever_meets_internal_knowledge(acme, internal):
    public, agents, group = internal
    visitor = acme.client()
    customer = acme.client(acme.customer)
    for client in (visitor, customer):
        text = _customer_surfaces(acme, client)
        assert RUNBOOK not in text and PLAYBOOK not in text
        assert "How refunds work" in _customer_surfaces(acme, client)
        for article in (agents, group):
            assert client.get(f"/kb/articles/{article.pk}/", follow=True).status_code == 404
            slug_url = f"/kb/articles/{article.pk}/{article.slug}/"
            assert client.get(slug_url).status_code == 404
            assert client.get(f"/api/v1/kb/articles/{article.pk}/").status_code == 404
    suggested = customer.get("/kb/suggest/", {"subject": "refund runbook zeppelin"})
    assert RUNBOOK not in suggested.content.decode()
    # The API with a customer's token, and the chat widget in the tenant's product.
    api = token_client(acme, acme.customer)
    assert PLAYBOOK not in api.get("/api/v1/kb/articles/", {"q": "zeppelin"}).content.decode()
    widget_on(acme)
    pat = pro_plus_customer(acme)
    text = _customer_surfaces(acme, acme.client(), widget_ticket_id=widget_ticket(acme, pat))
    assert PLAYBOOK not in text and RUNBOOK not in text
    for article in (agents, group):
        page = acme.client().get(f"/widget/t/{widget_ticket(acme, pat)}/kb/articles/{article.pk}/")
        assert page.status_code == 404


def test_did_you_mean_never_offers_internal_words(acme, internal):
    with acme.scope():
        words = vocabulary(acme.tenant.pk).words
    assert "zeppelin" not in words and "refunds" in words


def test_agents_read_internal_knowledge_and_groups_keep_theirs(acme, internal):
    _public, agents, group = internal
    outsider = make_member(acme.tenant, "otto@acme.example", Role.AGENT, full_name="Otto")
    for user in (acme.agent, acme.admin):  # the Billing group's agent; an admin
        client = acme.client(user)
        page = client.get(f"/kb/articles/{group.pk}/", follow=True).content.decode()
        assert "only the agents of Billing" in page
        assert client.get(f"/kb/articles/{agents.pk}/", follow=True).status_code == 200
    otto = acme.client(outsider)
    assert otto.get(f"/kb/articles/{agents.pk}/", follow=True).status_code == 200
    assert otto.get(f"/kb/articles/{group.pk}/", follow=True).status_code == 404
    assert RUNBOOK not in otto.get("/kb/search/", {"q": "refund runbook"}).content.decode()


def test_an_article_for_one_group_names_the_group(acme):
    with acme.scope():
        article = Article(visibility=Article.Visibility.GROUP, team=None)
        with pytest.raises(ValidationError) as error:
            article.clean()
    assert "team" in error.value.message_dict


def test_a_tickets_words_suggest_articles_beside_it_with_links_for_the_customer(acme, internal):
    plus_only = make_article(
        acme,
        "Refund approvals on Pro+",
        "Pro+ refunds are approved at once.",
        plans=[acme.pro_plus],
    )
    ticket = make_ticket(acme, subject="Refund for a double charge", body="Please refund me")
    page = acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert f"/agent/tickets/{ticket.number}/articles/" in page
    panel = acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/articles/")
    html = panel.content.decode()
    assert "How refunds work" in html and RUNBOOK in html and "Internal" in html
    # A link to insert for what the requester (on Pro) can read: the public article only.
    public, _agents, group = internal
    assert f"/kb/articles/{public.pk}/" in html and "Insert link in reply" in html
    links = html.count("data-insert-link=")
    assert links == 1
    assert 'data-insert-link="[Refund approvals on Pro+](' not in html
    assert plus_only.title in html  # suggested to the agent, without a link


def test_suggestions_beside_a_ticket_are_for_the_desks_agents_only(acme, globex, internal):
    ticket = make_ticket(acme, subject="Refund for a double charge")
    path = f"/agent/tickets/{ticket.number}/articles/"
    assert acme.client(acme.customer).get(path).status_code == 403
    # Globex's agent asks for the same number at their desk: Globex has no such ticket.
    answer = globex.client(globex.agent).get(path)
    assert answer.status_code == 404 and RUNBOOK not in answer.content.decode()
