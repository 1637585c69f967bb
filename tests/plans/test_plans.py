import pytest
from django.core.exceptions import ValidationError

from helpdesk.models import Role
from plans.models import Plan
from plans.selectors import organization_for_email
from sla.models import SLAPolicy
from tests.helpdesk.factories import make_member, make_tenant


def test_a_new_tenant_gets_free_pro_and_pro_plus(db):
    tenant = make_tenant(slug="fresh", name="Fresh Co")
    from helpdesk.tenancy import tenant_scope

    with tenant_scope(tenant):
        plans = list(Plan.objects.order_by("rank"))
    assert [p.name for p in plans] == ["Free", "Pro", "Pro+"]
    with tenant_scope(tenant):
        policies = [SLAPolicy.objects.get(plan=plan, priority=None) for plan in plans]
    assert [p.first_response_minutes for p in policies] == [48 * 60, 24 * 60, 2 * 60]
    free, pro, pro_plus = plans
    assert free.channels == pro.channels == ["web", "email"]
    assert pro_plus.channels == ["web", "email", "chat", "phone"]
    # Chat needs no details: it is the help center's live chat.
    assert pro_plus.phone_number and pro_plus.offers_chat
    # Each plan promises more than the one below it.
    assert policies[0].resolution_minutes > policies[1].resolution_minutes
    assert policies[1].resolution_minutes > policies[2].resolution_minutes


def test_plan_offering_phone_needs_a_number(acme):
    with acme.scope():
        acme.pro.offers_phone = True
        with pytest.raises(ValidationError) as error:
            acme.pro.full_clean()
    assert "phone_number" in error.value.message_dict


def test_organization_is_found_by_email_domain_case_insensitively(acme, globex):
    with acme.scope():
        assert organization_for_email("Someone@ACME-CO.example") == acme.org
        assert organization_for_email("someone@globex-co.example") is None
    with globex.scope():
        assert organization_for_email("someone@globex-co.example") == globex.org


def test_pro_customer_sees_their_promise_and_the_upgrade_to_pro_plus(acme):
    body = acme.client(acme.customer).get("/").content.decode()
    assert "Acme Analytics Customer Co is on the Pro plan" in body
    assert (
        "Your plan: <strong>Pro</strong> — first reply within "
        "24 business hours (Mon-Fri 9:00-18:00, UTC)." in body
    )
    assert "Need faster help?" in body
    assert "first reply within 2 hours, around the clock" in body
    # Phone and chat are what Pro+ gives; a Pro customer is not given the number.
    with acme.scope():
        number = acme.pro_plus.phone_number
    assert number not in body


def test_pro_plus_customer_sees_phone_and_chat_and_no_upsell(acme):
    with acme.scope():
        acme.org.plan = acme.pro_plus
        acme.org.save()
        number = acme.pro_plus.phone_number
    body = acme.client(acme.customer).get("/").content.decode()
    assert "first reply within 2 hours, around the clock." in body
    assert number in body
    assert "1:1 chat" in body
    assert "Need faster help?" not in body


def test_customer_without_organization_gets_the_entry_plan(acme):
    loner = make_member(acme.tenant, "loner@gmail.example", Role.CUSTOMER)
    body = acme.client(loner).get("/").content.decode()
    assert "You are on the Free plan" in body
    assert "first reply within 48 business hours (Mon-Fri 9:00-18:00, UTC)." in body


def test_help_center_shows_nothing_of_another_tenants_plans(acme, globex):
    with globex.scope():
        Plan.objects.filter(pk=globex.pro_plus.pk).update(phone_number="+1 999 GLOBEX")
    body = acme.client(acme.customer).get("/").content.decode()
    assert "GLOBEX" not in body


def test_agent_overview_lists_organizations_in_constant_queries(
    acme, globex, django_assert_max_num_queries
):
    from tests.plans.factories import make_organization

    client = acme.client(acme.agent)
    client.get("/agent/customers/")  # warm the session
    with django_assert_max_num_queries(8) as few:
        client.get("/agent/customers/")
    for index in range(6):
        make_organization(acme.tenant, name=f"Extra {index}", plan=acme.pro, domain=f"x{index}.ex")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/agent/customers/")
    body = response.content.decode()
    assert "Extra 5" in body and "Acme Analytics Customer Co" in body
    assert "Globex Customer Co" not in body
