"""The rule editor in Django admin: values typed in words are stored as the ticket
stores them and shown back in words; what cannot work is refused in words, in place;
the preview lists what a rule matches over the last 30 days."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rules.models import Automation, Trigger
from tests.rules.factories import make_trigger
from tests.sla.factories import travel
from tests.tickets.factories import make_ticket
from tickets.models import Priority

pytestmark = pytest.mark.django_db


def rule_form(name, conditions, actions, **fields):
    """The POST of a rule's change form: its fields and both inlines' rows."""
    data = {"name": name, "position": "0", "is_active": "on", **fields}
    for prefix, rows in (("conditions", conditions), ("actions", actions)):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(len(rows)),
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
        for n, row in enumerate(rows):
            data.update({f"{prefix}-{n}-{key}": value for key, value in row.items()})
    return data


def condition(field, operator, value="", match="all"):
    return {"match": match, "field": field, "operator": operator, "value": value}


def action(kind, value="", subject="", body=""):
    return {"kind": kind, "value": value, "subject": subject, "body": body}


def test_an_admin_writes_a_trigger_in_words_and_reads_it_back_in_words(acme):
    client = acme.client(acme.admin)
    response = client.post(
        "/admin/rules/trigger/add/",
        rule_form(
            "VIP billing",
            [condition("category", "is", "billing"), condition("priority", "greater_than", "中")],
            [action("set_assignee", acme.agent.email.upper()), action("add_tags", "VIP, Money")],
            runs_on="created",
        ),
    )
    assert response.status_code == 302, response.context and [
        f.errors for fs in response.context["inline_admin_formsets"] for f in fs.formset.forms
    ]
    with acme.scope():
        rule = Trigger.objects.get(name="VIP billing")
        stored = sorted(rule.conditions.values_list("field", "operator", "value"))
        assert [row[:2] for row in stored] == [("category", "is"), ("priority", "greater_than")]
        assert stored[1][2] == str(Priority.MEDIUM)
        assert sorted(rule.actions.values_list("kind", "value")) == [
            ("add_tags", "vip, money"),
            ("set_assignee", str(acme.agent.pk)),
        ]
    page = client.get(f"/admin/rules/trigger/{rule.pk}/change/").content.decode()
    assert 'value="Billing"' in page and 'value="agent@acme.example"' in page
    assert "Values you can use" in page and "Technical issue" in page


@pytest.mark.parametrize(
    "conditions, actions, says",
    [
        (
            [condition("status", "is", "Waiting")],
            [action("add_tags", "x")],
            "“Waiting” is not a status. Use one of: New, Open, Pending",
        ),
        (
            [condition("category", "is", "Billng")],
            [action("add_tags", "x")],
            "This desk has no category called “Billng”",
        ),
        (
            [condition("channel", "greater_than", "Web")],
            [action("add_tags", "x")],
            "“Channel” can be: is, is not.",
        ),
        (
            [condition("channel", "is", "Web")],
            [action("set_assignee", "carol@acme-co.example")],
            "is not the email of one of this desk",
        ),
        (
            [condition("channel", "is", "Web")],
            [action("email_requester", body="no subject")],
            "An email needs a subject and a text.",
        ),
        ([], [action("add_tags", "x")], "at least one condition"),
        ([condition("channel", "is", "Web")], [], "at least one action"),
    ],
)
def test_what_cannot_work_is_refused_in_words_and_nothing_is_saved(acme, conditions, actions, says):
    response = acme.client(acme.admin).post(
        "/admin/rules/trigger/add/", rule_form("Broken", conditions, actions, runs_on="both")
    )
    assert response.status_code == 200
    assert says in response.content.decode()
    with acme.scope():
        assert not Trigger.objects.filter(name="Broken").exists()


def test_an_automation_needs_a_clock_and_cannot_ask_about_changes(acme):
    client = acme.client(acme.admin)
    no_clock = client.post(
        "/admin/rules/automation/add/",
        rule_form("No clock", [condition("status", "is", "Pending")], [action("add_tags", "x")]),
    )
    assert "An automation needs a time condition" in no_clock.content.decode()
    changes = client.post(
        "/admin/rules/automation/add/",
        rule_form(
            "Changes",
            [
                condition("hours_since_updated", "greater_than", "24"),
                condition("status", "changed_to", "Pending"),
            ],
            [action("add_tags", "x")],
        ),
    )
    assert "“Status” can be: is, is not." in changes.content.decode()
    # Trigger-only fields are not offered at all.
    page = client.get("/admin/rules/automation/add/").content.decode()
    assert 'value="update"' not in page and 'value="hours_since_pending"' in page
    good = client.post(
        "/admin/rules/automation/add/",
        rule_form(
            "Stale",
            [
                condition("hours_since_updated", "greater_than", "24"),
                condition("status", "is", "open"),
            ],
            [action("set_status", "pending")],
        ),
    )
    assert good.status_code == 302
    with acme.scope():
        assert Automation.objects.get(name="Stale").kind == "automation"
        assert not Trigger.objects.filter(name="Stale").exists()


def test_the_preview_lists_what_the_rule_matches_in_the_last_30_days(acme):
    rule = make_trigger(
        acme,
        "High ones",
        [("priority", "is", "High"), ("status", "changed_to", "Open")],
        [("add_tags", "x")],
    )
    with travel(timezone.now() - timedelta(days=40)):
        make_ticket(acme, subject="Too old to show", priority=Priority.HIGH)
    make_ticket(acme, subject="Shown high", priority=Priority.HIGH)
    make_ticket(acme, subject="Not high", priority=Priority.LOW)
    page = acme.client(acme.admin).get(f"/admin/rules/trigger/{rule.pk}/preview/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Shown high" in text and "Not high" not in text and "Too old to show" not in text
    assert "1 ticket updated in the last 30 days matches" in text
    # What only an update can tell is named, not silently ignored.
    assert "Not checked here" in text and "Status changed to Open" in text
    # Linked from the rule's page.
    change = acme.client(acme.admin).get(f"/admin/rules/trigger/{rule.pk}/change/")
    assert f"/admin/rules/trigger/{rule.pk}/preview/" in change.content.decode()


def test_the_list_shows_each_rules_conditions_in_words_at_a_cost_flat_in_rules(acme):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def listed() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as queries:
            page = acme.client(acme.admin).get("/admin/rules/trigger/").content.decode()
        return page, len(queries)

    make_trigger(acme, "Billing VIPs", [("category", "is", "Billing")], [("add_tags", "vip")])
    page, few = listed()
    assert "Category is Billing → Add tags" in page
    for n in range(10):
        make_trigger(
            acme,
            f"Rule {n}",
            [("group", "is_not_set"), ("category", "is", "Account"), ("assignee", "is_set")],
            [("add_tags", "x")],
        )
    page, many = listed()
    assert "Group is not set; Category is Account; Assignee is set" in page
    assert many <= few + 1  # the groups' names: one more kind of row, read once


def test_a_rules_page_costs_the_same_however_many_conditions_name_rows(acme):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_of(rule) -> int:
        client = acme.client(acme.admin)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/admin/rules/trigger/{rule.pk}/change/")
        assert 'value="Billing"' in page.content.decode()
        return len(queries)

    few = make_trigger(acme, "Few", [("category", "is", "Billing")], [("set_category", "Billing")])
    many = make_trigger(
        acme,
        "Many",
        [("category", "is", "Billing"), ("category", "is_not", "Account")]
        + [("category", "changed_to", name) for name in ("Billing", "Account", "Technical issue")],
        [("set_category", "Billing"), ("set_category", "Account")],
    )
    assert queries_of(many) == queries_of(few)
