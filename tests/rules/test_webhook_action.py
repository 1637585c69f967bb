"""A rule's "call a webhook": the ticket as the rule left it reaches the endpoint (a real
receiver on 127.0.0.1) in the endpoint's format, once per firing; the editor offers only
the desk's own endpoints."""

import pytest

from rules.models import Action, Trigger
from tests.rules.factories import make_trigger
from tests.rules.test_admin import action, condition, rule_form
from tests.tickets.factories import make_ticket
from tests.webhooks.factories import deliveries, make_endpoint
from tickets.models import Priority

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_trigger_posts_new_high_tickets_to_the_teams_chat_once(acme, receiver):
    slack = make_endpoint(acme, receiver.url("/slack"), events=[], format="slack")
    rule = make_trigger(
        acme,
        "High priority to chat",
        [("priority", "is", "High")],
        [("add_tags", "announced")],
        runs_on="created",
    )
    with acme.scope():
        Action.objects.create(
            tenant=acme.tenant, rule=rule, kind=Action.Kind.CALL_WEBHOOK, endpoint=slack
        )
    ticket = make_ticket(acme, subject="Payments fail", priority=Priority.HIGH)
    make_ticket(acme, subject="Question", priority=Priority.LOW)
    assert len(receiver.requests) == 1
    text = receiver.requests[0].json()["text"]
    assert text.startswith(f"High priority to chat: #{ticket.number} Payments fail (high, ")
    assert text.endswith(f"/agent/tickets/{ticket.number}/")
    [delivery] = deliveries(acme)
    assert delivery.status == "succeeded"
    assert delivery.payload["data"]["trigger"]["name"] == "High priority to chat"
    assert delivery.payload["data"]["ticket"]["tags"] == ["announced"]  # as the rule left it


def test_the_editor_offers_only_the_desks_endpoints(acme, globex):
    ours = make_endpoint(acme, "https://93.184.215.14/acme", events=[], name="Acme chat")
    theirs = make_endpoint(globex, "https://93.184.215.14/globex", events=[], name="Globex chat")
    client = acme.client(acme.admin)
    page = client.get("/admin/rules/trigger/add/").content.decode()
    assert "Acme chat" in page and "Globex chat" not in page
    for endpoint, says in ((theirs, "Select a valid choice"), (None, "Choose the webhook to call")):
        row = action("call_webhook")
        row["endpoint"] = str(endpoint.pk) if endpoint else ""
        response = client.post(
            "/admin/rules/trigger/add/",
            rule_form("Hook", [condition("channel", "is", "Web")], [row], runs_on="both"),
        )
        assert response.status_code == 200 and says in response.content.decode()
    row = action("call_webhook")
    row["endpoint"] = str(ours.pk)
    response = client.post(
        "/admin/rules/trigger/add/",
        rule_form("Hook", [condition("channel", "is", "Web")], [row], runs_on="both"),
    )
    assert response.status_code == 302
    with acme.scope():
        assert Trigger.objects.get(name="Hook").actions.get().endpoint == ours
