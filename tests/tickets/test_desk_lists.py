"""The categories, plans, staff and macros the agent pages offer are cached per tenant
(tickets.selectors.desk_lists) and change on the page as soon as they change in admin."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.models import Membership, Role
from tests.helpdesk.factories import make_member
from tests.tickets.factories import make_ticket
from tickets.models import Category, Macro


def _admin_url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def _options(html: str, select_id: str) -> list[str]:
    select = re.search(rf'<select [^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option [^>]*>([^<]*)</option>", select)


def _new_category(desk, name: str) -> Category:
    with desk.scope():
        return Category.objects.create(tenant=desk.tenant, name=name)


def _ticket_page(desk, ticket) -> str:
    return desk.client(desk.agent).get(f"/agent/tickets/{ticket.number}/").content.decode()


def test_a_category_added_in_admin_is_offered_at_once(acme):
    ticket = make_ticket(acme)
    assert "Refunds" not in _options(_ticket_page(acme, ticket), "p-category")  # now cached
    response = acme.client(acme.admin).post(
        _admin_url(Category, "add"), {"name": "Refunds", "position": "0", "is_active": "on"}
    )
    assert response.status_code == 302
    assert "Refunds" in _options(_ticket_page(acme, ticket), "p-category")
    queue = acme.client(acme.agent).get("/agent/").content.decode()
    assert 'name="category"' in queue and "Refunds" in queue


def test_renamed_and_deleted_categories_change_at_once(acme):
    ticket = make_ticket(acme)
    billing = _new_category(acme, "Payments")
    assert "Payments" in _options(_ticket_page(acme, ticket), "p-category")
    admin = acme.client(acme.admin)
    admin.post(
        _admin_url(Category, "change", billing.pk),
        {"name": "Invoices", "position": "0", "is_active": "on"},
    )
    offered = _options(_ticket_page(acme, ticket), "p-category")
    assert "Invoices" in offered and "Payments" not in offered
    admin.post(_admin_url(Category, "delete", billing.pk), {"post": "yes"})
    assert "Invoices" not in _options(_ticket_page(acme, ticket), "p-category")


def test_macros_added_or_deactivated_in_admin_change_at_once(acme):
    ticket = make_ticket(acme)
    assert 'id="id_macro"' not in _ticket_page(acme, ticket)
    admin = acme.client(acme.admin)
    admin.post(
        _admin_url(Macro, "add"),
        {"name": "Thanks", "body": "Thank you!", "position": "0", "is_active": "on"},
    )
    assert "Thanks" in _options(_ticket_page(acme, ticket), "id_macro")
    with acme.scope():
        macro = Macro.objects.get(name="Thanks")
    response = admin.post(
        _admin_url(Macro, "change", macro.pk),
        {"name": "Thanks", "body": "Thank you!", "position": "0"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert 'id="id_macro"' not in _ticket_page(acme, ticket)


def test_new_deactivated_and_renamed_staff_change_the_assignees_at_once(acme):
    ticket = make_ticket(acme)
    assert "Nina New" not in _options(_ticket_page(acme, ticket), "p-assignee")
    response = acme.client(acme.admin).post(
        _admin_url(Membership, "add"),
        {"email": "nina@acme.example", "full_name": "Nina New", "role": Role.AGENT},
    )
    assert response.status_code == 302
    assert "Nina New" in _options(_ticket_page(acme, ticket), "p-assignee")

    acme.agent.full_name = "Agatha Renamed"
    acme.agent.save()
    assert "Agatha Renamed" in _options(_ticket_page(acme, ticket), "p-assignee")

    with acme.scope():
        nina = Membership.objects.get(user__email="nina@acme.example")
        nina.is_active = False
        nina.save()
    assert "Nina New" not in _options(_ticket_page(acme, ticket), "p-assignee")


def test_a_plan_renamed_changes_the_queue_filters_at_once(acme):
    acme.client(acme.agent).get("/agent/")
    with acme.scope():
        acme.pro.name = "Professional"
        acme.pro.save()
    assert "Professional" in acme.client(acme.agent).get("/agent/").content.decode()


def test_each_tenant_is_offered_only_its_own_lists(acme, globex):
    _new_category(acme, "Acme only")
    _new_category(globex, "Globex only")
    mine, theirs = make_ticket(acme), make_ticket(globex)
    for _ in range(2):  # cold, then cached
        acme_page, globex_page = _ticket_page(acme, mine), _ticket_page(globex, theirs)
        assert "Acme only" in acme_page and "Globex only" not in acme_page
        assert "Globex only" in globex_page and "Acme only" not in globex_page
        assert "Globex Agent" not in acme_page and "Acme Analytics Agent" not in globex_page


def test_a_change_in_another_tenant_does_not_rebuild_this_ones_lists(acme, globex):
    ticket = make_ticket(acme)
    _ticket_page(acme, ticket)
    _new_category(globex, "Globex only")
    make_member(globex.tenant, "new@globex.example", Role.AGENT, full_name="New Globex Agent")
    with CaptureQueriesContext(connection) as queries:
        _ticket_page(acme, ticket)
    assert not [q for q in queries.captured_queries if "tickets_category" in q["sql"]]


def test_the_ticket_page_reads_the_cached_lists_without_queries(acme):
    ticket = make_ticket(acme)
    _ticket_page(acme, ticket)
    with CaptureQueriesContext(connection) as queries:
        _ticket_page(acme, ticket)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    for table in ("tickets_category", "tickets_macro", "plans_plan"):
        assert f'FROM "{table}"' not in sql
    assert "SELECT DISTINCT" not in sql  # the staff
