"""The walk over every registered ModelAdmin: a tenant admin of Acme can list,
open, change, delete and choose nothing of Globex; platform models are closed to them."""

import pytest
from django.contrib import admin
from django.db.models import ForeignKey, ManyToManyField
from django.forms import ModelChoiceField
from django.urls import reverse
from django_scopes import scopes_disabled

from helpdesk.api_tokens import api_token_create
from helpdesk.models import (
    Membership,
    OutboundEmail,
    OutboxJob,
    Tenant,
    TenantOwned,
    TenantSettings,
    User,
)
from helpdesk.tenancy import tenant_scope
from plans.models import Organization, OrganizationDomain, Plan
from plans.services import plan_settings

# Text that only Globex's rows contain; none of it may appear on any Acme admin page.
GLOBEX_SENTINELS = [
    "Globex secret macro",
    "Globex secret token",
    "Globex Customer Co",
    "Globex Other Co",
    "globex.example",
    "globex-co.example",
    "Globex secret subject",
]

TENANT_MODELS = [m for m in admin.site._registry if issubclass(m, TenantOwned)]
# The tenant's own settings row is the one non-tenant-owned model its admins edit.
PLATFORM_MODELS = [
    m for m in admin.site._registry if not issubclass(m, TenantOwned) and m is not TenantSettings
]


def _url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def _rows(tenant, model):
    with tenant_scope(tenant):
        return list(model.objects.order_by("pk"))


def _values(tenant, model):
    with tenant_scope(tenant):
        return list(model.objects.order_by("pk").values())


@pytest.fixture
def desks(acme, globex):
    from chat.services import chat_settings
    from knowledge.models import ArticleImage, SearchSynonym
    from sla.models import SLAOutcome
    from tests.knowledge.factories import make_article
    from tests.tickets.factories import make_ticket
    from tickets.models import Macro

    for desk in (acme, globex):
        make_article(desk, f"{desk.tenant.name} secret macro article")
        with desk.scope():
            ArticleImage.objects.create(
                tenant=desk.tenant,
                name=f"{desk.tenant.name} secret macro picture",
                file="kb/none.png",
                content_type="image/png",
                size=1,
            )
        ticket = make_ticket(desk, subject=f"{desk.tenant.name} secret subject")
        with desk.scope():
            SLAOutcome.objects.create(
                tenant=desk.tenant,
                ticket=ticket,
                metric="first_response",
                result=SLAOutcome.Result.BREACHED,
                due_at=ticket.created_at,
            )
            Macro.objects.create(
                tenant=desk.tenant,
                name=f"{desk.tenant.name} secret macro",
                body="Hello {{ customer.first_name }}",
            )
            api_token_create(
                tenant=desk.tenant, user=desk.agent, name=f"{desk.tenant.name} secret token"
            )
            OutboundEmail.objects.create(
                tenant=desk.tenant,
                to=[f"x@{desk.tenant.slug}.example"],
                from_email="s@x.example",
                subject=f"{desk.tenant.name} secret subject",
                body_text="hello",
            )
            # The ticket's emails wait as an outbox job (its wake-up never runs here).
            OutboxJob.objects.update(last_error=f"{desk.tenant.name} secret subject")
            _feedback_rows(desk, ticket)
            _success_rows(desk)
            _suspended_mail(desk)
            _phone_rows(desk, ticket)
            plan_settings(tenant=desk.tenant)
            chat_settings(desk.tenant)
            SearchSynonym.objects.create(
                tenant=desk.tenant, terms=f"{desk.tenant.name} secret macro, {desk.tenant.slug}"
            )
            _routing_rows(desk, ticket)
            _rules_rows(desk)
            _webhook_rows(desk, ticket)
    return acme, globex


def _rules_rows(desk):
    from rules.models import Action, Automation, Condition, Trigger

    secret = f"{desk.tenant.name} secret macro"
    for model, field, op, value in (
        (Trigger, "channel", "is", "web"),
        (Automation, "hours_since_created", "greater_than", "1"),
    ):
        rule = model.objects.create(tenant=desk.tenant, name=f"{secret} {model.__name__}")
        Condition.objects.create(
            tenant=desk.tenant, rule=rule, field=field, operator=op, value=value
        )
        Action.objects.create(tenant=desk.tenant, rule=rule, kind="add_note", body=secret)


def _webhook_rows(desk, ticket):
    from webhooks.models import WebhookEndpoint
    from webhooks.services import ticket_payload, webhook_enqueue

    endpoint = WebhookEndpoint.objects.create(
        tenant=desk.tenant,
        name=f"{desk.tenant.name} secret macro endpoint",
        url=f"https://93.184.215.14/{desk.tenant.slug}",
        events=["ticket.created"],
    )
    webhook_enqueue(
        endpoint=endpoint,
        event_type="trigger.fired",
        event_id=f"{desk.tenant.slug}-secret",
        data={"trigger": {"id": 1, "name": "x"}, "ticket": ticket_payload(ticket)},
    )


def _routing_rows(desk, ticket):
    from routing.models import RoutingRule
    from tickets.models import Category, Group, GroupMember

    group = Group.objects.create(tenant=desk.tenant, name=f"{desk.tenant.name} secret macro group")
    GroupMember.objects.create(tenant=desk.tenant, group=group, agent=desk.agent)
    rule = RoutingRule.objects.create(
        tenant=desk.tenant, name=f"{desk.tenant.name} secret macro rule", group=group
    )
    rule.categories.set([Category.objects.order_by("pk").first()])
    rule.organizations.set([desk.org])


def _suspended_mail(desk):
    from tickets.models import SuspendedEmail

    raw = (
        f"From: someone@{desk.tenant.slug}.example\n"
        f"Subject: {desk.tenant.name} secret subject\n\n{desk.tenant.name} secret subject\n"
    ).encode()
    SuspendedEmail.objects.create(
        tenant=desk.tenant,
        sender=f"someone@{desk.tenant.slug}.example",
        subject=f"{desk.tenant.name} secret subject",
        source=SuspendedEmail.Source.GATEWAY,
        reason=SuspendedEmail.Reason.UNKNOWN_SENDER,
        raw=raw,
        size=len(raw),
    )


def _phone_rows(desk, ticket):
    from datetime import timedelta

    from django.utils import timezone

    from phone.models import CallbackRequest, CallLog

    CallbackRequest.objects.create(
        tenant=desk.tenant,
        ticket=ticket,
        requester=desk.customer,
        phone_number="+8613800138000",
        window_start=timezone.now(),
        window_end=timezone.now() + timedelta(hours=1),
    )
    CallLog.objects.create(
        tenant=desk.tenant,
        ticket=ticket,
        agent=desk.agent,
        direction="outbound",
        outcome="answered",
        notes=f"{desk.tenant.name} secret subject",
    )


def _feedback_rows(desk, ticket):
    from django.utils import timezone

    from feedback.models import (
        CsatSurvey,
        FeedbackSettings,
        FeedbackSubmission,
        NpsSurvey,
        SurveyOptOut,
    )

    secret = f"{desk.tenant.name} secret subject"
    FeedbackSettings.objects.create(tenant=desk.tenant)
    CsatSurvey.objects.create(
        tenant=desk.tenant,
        ticket=ticket,
        solved_at=timezone.now(),
        recipient=desk.customer,
        send_at=timezone.now(),
        comment=secret,
    )
    NpsSurvey.objects.create(
        tenant=desk.tenant, recipient=desk.customer, organization=desk.org, comment=secret
    )
    FeedbackSubmission.objects.create(tenant=desk.tenant, ease=3, text=secret)
    SurveyOptOut.objects.create(tenant=desk.tenant, user=desk.other_customer)


def _success_rows(desk):
    from django.utils import timezone

    from success.models import HealthScore, Metric, Renewal, SuccessNote, SuccessTask
    from success.services import NewEvent, events_record, health_settings

    health_settings(desk.tenant)  # with its three weight profiles
    events_record(
        tenant=desk.tenant,
        events=[
            NewEvent(
                organization_id=desk.org.pk,
                metric=Metric.FEATURE_USED,
                occurred_at=timezone.now(),
                event_id=f"{desk.tenant.slug}-event-1",
                feature=f"{desk.tenant.name} secret subject",
            )
        ],
    )
    HealthScore.objects.create(
        tenant=desk.tenant,
        organization=desk.org,
        day=timezone.localdate(),
        score=80,
        band="healthy",
        stage="steady",
        components={"nps": {"raw": 30.0, "score": 80.0, "weight": 100}},
    )
    secret = f"{desk.tenant.name} secret subject"
    task = SuccessTask.objects.create(
        tenant=desk.tenant,
        organization=desk.org,
        owner=desk.agent,
        kind="check_in_30",
        trigger_date=timezone.localdate(),
        due_date=timezone.localdate(),
        notes=secret,
    )
    SuccessNote.objects.create(
        tenant=desk.tenant, organization=desk.org, author=desk.agent, body=secret
    )
    Renewal.objects.create(
        tenant=desk.tenant,
        organization=desk.org,
        renewal_date=timezone.localdate(),
        outcome="renewed",
        arr_before=1000,
        arr_after=1200,
        plan_before=desk.pro,
        plan_after=desk.pro_plus,
        task=task,
        recorded_by=desk.agent,
    )


def _assert_no_globex_text(response):
    body = response.content.decode()
    for sentinel in GLOBEX_SENTINELS:
        assert sentinel not in body, sentinel


def _choice_pks(form):
    """Every primary key offered by a model-choice field of the form (and its inlines)."""
    offered = {}
    for name, field in form.fields.items():
        if isinstance(field, ModelChoiceField):
            offered[name] = {obj.pk for obj in field.queryset}
    return offered


def test_every_tenant_model_is_registered_through_the_scoping_mixin():
    from helpdesk.admin_site import TenantAdminMixin
    from tickets.models import Category, Macro

    assert {Plan, Organization, Membership, OutboundEmail, Category, Macro} <= set(TENANT_MODELS)
    for model in TENANT_MODELS:
        assert isinstance(admin.site._registry[model], TenantAdminMixin), model


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_tenant_admin_lists_only_own_rows(desks, model):
    acme, globex = desks
    client = acme.client(acme.admin)
    theirs = _rows(globex.tenant, model)
    ours = _rows(acme.tenant, model)
    assert theirs and ours, "the fixture must give both tenants rows of every model"

    response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    listed = {obj.pk for obj in response.context["cl"].result_list}
    assert listed == {obj.pk for obj in ours}
    _assert_no_globex_text(response)
    for obj in theirs:
        assert _url(model, "change", obj.pk) not in response.content.decode()

    # Searching for Globex's rows finds nothing.
    if admin.site._registry[model].search_fields:
        for term in ["Globex", "globex"]:
            found = client.get(_url(model, "changelist"), {"q": term})
            assert not found.context["cl"].result_list, term


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_tenant_admin_cannot_open_change_or_delete_other_tenants_rows(desks, model):
    acme, globex = desks
    client = acme.client(acme.admin)
    for obj in _rows(globex.tenant, model):
        for action in ["change", "delete", "history"]:
            response = client.get(_url(model, action, obj.pk), follow=True)
            assert response.status_code in (200, 404)
            assert response.redirect_chain or response.status_code == 404
            _assert_no_globex_text(response)
        before = _values(globex.tenant, model)
        client.post(_url(model, "change", obj.pk), {"name": "hijacked", "role": "admin"})
        client.post(_url(model, "delete", obj.pk), {"post": "yes"})
        assert _values(globex.tenant, model) == before


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_tenant_admin_is_offered_only_own_rows_as_choices(desks, model):
    acme, globex = desks
    client = acme.client(acme.admin)
    globex_pks = {}
    with scopes_disabled():
        for field in model._meta.get_fields():
            if isinstance(field, ForeignKey | ManyToManyField):
                related = field.remote_field.model
                if not issubclass(related, TenantOwned) and related is not User:
                    continue
                globex_pks[field.name] = set(
                    related._default_manager.filter(
                        **(
                            {"tenant": globex.tenant}
                            if issubclass(related, TenantOwned)
                            else {"memberships__tenant": globex.tenant}
                        )
                    ).values_list("pk", flat=True)
                )
    pages = [_url(model, "change", obj.pk) for obj in _rows(acme.tenant, model)[:1]]
    if admin.site._registry[model].has_add_permission(_request_for(acme)):
        pages.append(_url(model, "add"))
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        _assert_no_globex_text(response)
        forms = [response.context["adminform"].form]
        for formset in response.context["inline_admin_formsets"]:
            forms.extend(formset.formset.forms)
        for form in forms:
            for name, offered in _choice_pks(form).items():
                assert not offered & globex_pks.get(name, set()), (page, name)


def _request_for(desk):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/", HTTP_HOST=desk.host)
    request.tenant = desk.tenant
    request.user = desk.admin
    with desk.scope():
        request.membership = Membership.objects.get(user=desk.admin)
    return request


def _object_urls_added_by_model_admins():
    """(model, URL name) of every page a tenant ModelAdmin adds for one of its rows
    (get_urls beyond Django's own list, add, change, delete and history)."""
    found = []
    for model in TENANT_MODELS:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        standard = {prefix + page for page in ("changelist", "add", "change", "delete", "history")}
        for pattern in admin.site._registry[model].get_urls():
            name = getattr(pattern, "name", None)
            if name and name not in standard and pattern.pattern.converters:
                found.append((model, name))
    return found


OBJECT_URLS_ADDED = _object_urls_added_by_model_admins()


def test_the_walk_finds_the_pages_model_admins_add():
    names = {name for _model, name in OBJECT_URLS_ADDED}
    assert {"sla_businesscalendar_import_holidays", "tickets_suspendedemail_raw"} <= names


@pytest.mark.parametrize(
    ("model", "name"), OBJECT_URLS_ADDED, ids=[name for _model, name in OBJECT_URLS_ADDED]
)
def test_pages_model_admins_add_are_closed_to_other_tenants_and_weaker_roles(desks, model, name):
    acme, globex = desks
    before = _values(globex.tenant, model)
    for obj in _rows(globex.tenant, model):
        url = reverse(f"admin:{name}", args=[obj.pk])
        client = acme.client(acme.admin)
        for response in (client.get(url), client.post(url, {"requester": acme.customer.email})):
            # 405: a POST-only page refuses a GET before it looks the row up.
            assert response.status_code in (404, 405), (url, response.status_code)
            _assert_no_globex_text(response)
    assert _values(globex.tenant, model) == before

    ours_before = _values(acme.tenant, model)
    for obj in _rows(acme.tenant, model):
        url = reverse(f"admin:{name}", args=[obj.pk])
        for user in (acme.agent, acme.customer):
            client = acme.client(user)
            for response in (client.get(url), client.post(url, {"requester": user.email})):
                # Sent to the (refusing) admin login, or refused outright.
                assert response.status_code in (302, 403, 405), (url, user, response.status_code)
    assert _values(acme.tenant, model) == ours_before


@pytest.mark.parametrize("model", PLATFORM_MODELS, ids=lambda m: m.__name__)
def test_platform_models_are_closed_to_tenant_admins(desks, model):
    acme, globex = desks
    client = acme.client(acme.admin)
    assert client.get(_url(model, "changelist")).status_code == 403
    assert client.get(_url(model, "add")).status_code == 403
    with scopes_disabled():
        some = model._default_manager.first()
    if some is not None:
        assert client.get(_url(model, "change", some.pk)).status_code in (302, 403)


def test_admin_index_shows_tenant_admins_only_their_configuration(desks):
    acme, _ = desks
    response = acme.client(acme.admin).get("/admin/")
    names = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    assert names == {m.__name__ for m in TENANT_MODELS} | {"TenantSettings"}


def test_new_rows_get_the_admins_tenant_whatever_the_post_says(desks):
    acme, globex = desks
    client = acme.client(acme.admin)
    response = client.post(
        _url(Organization, "add"),
        {
            "name": "Fresh Org",
            "plan": acme.pro_plus.pk,
            "arr": "1000",
            "tenant": globex.tenant.pk,
            "domains-TOTAL_FORMS": "1",
            "domains-INITIAL_FORMS": "0",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
            "domains-0-domain": "fresh.example",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    with acme.scope():
        org = Organization.objects.get(name="Fresh Org")
        assert org.tenant == acme.tenant
        assert OrganizationDomain.objects.get(domain="fresh.example").tenant == acme.tenant
    with globex.scope():
        assert not Organization.objects.filter(name="Fresh Org").exists()


def test_choosing_another_tenants_row_by_id_is_a_form_error(desks):
    acme, globex = desks
    client = acme.client(acme.admin)
    response = client.post(
        _url(Organization, "add"),
        {
            "name": "Sneaky",
            "plan": globex.pro_plus.pk,
            "arr": "0",
            "success_manager": globex.agent.pk,
            "domains-TOTAL_FORMS": "0",
            "domains-INITIAL_FORMS": "0",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "plan" in errors and "success_manager" in errors
    with acme.scope():
        assert not Organization.objects.filter(name="Sneaky").exists()


def test_duplicate_names_are_form_errors_not_crashes(desks):
    acme, _ = desks
    client = acme.client(acme.admin)
    response = client.post(
        _url(Plan, "add"),
        {
            "name": "pro",
            "rank": 7,
            "monthly_price": "1",
            "currency": "USD",
            "first_response_minutes": 60,
            "next_response_minutes": 60,
            "resolution_minutes": 600,
            "offers_web": "on",
        },
    )
    assert response.status_code == 200
    assert "Another plan already has this name." in response.content.decode()


def test_organization_domain_taken_by_another_org_is_an_inline_error(desks):
    acme, _ = desks
    response = acme.client(acme.admin).post(
        _url(Organization, "add"),
        {
            "name": "Copycat",
            "plan": acme.free.pk,
            "arr": "0",
            "domains-TOTAL_FORMS": "1",
            "domains-INITIAL_FORMS": "0",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
            "domains-0-domain": "acme-co.example",
        },
    )
    assert response.status_code == 200
    assert "This email domain already belongs to an organization." in response.content.decode()


def test_success_manager_choices_are_the_tenants_staff(desks):
    acme, _ = desks
    response = acme.client(acme.admin).get(_url(Organization, "add"))
    offered = set(response.context["adminform"].form.fields["success_manager"].queryset)
    assert offered == {acme.admin, acme.agent}


def test_adding_a_member_by_email_invites_a_new_person(desks, django_capture_on_commit_callbacks):
    from django.core import mail

    acme, globex = desks
    client = acme.client(acme.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url(Membership, "add"),
            {"email": "newhire@acme.example", "full_name": "New Hire", "role": "agent"},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    with acme.scope():
        assert Membership.objects.get(user__email="newhire@acme.example").role == "agent"
    assert mail.outbox[-1].to == ["newhire@acme.example"]
    assert "://acme.localhost/accounts/password/reset/key/" in mail.outbox[-1].body

    # A person who is already an Acme member cannot be added twice.
    response = client.post(
        _url(Membership, "add"), {"email": acme.customer.email, "role": "customer"}
    )
    assert "This person is already a member." in response.content.decode()
    # Agents do not belong to organizations.
    response = client.post(
        _url(Membership, "add"),
        {"email": "x@acme.example", "role": "agent", "organization": acme.org.pk},
    )
    assert "Only customers belong to an organization." in response.content.decode()


def test_platform_operator_sees_every_tenant_but_edits_tenant_rows_only_in_their_admin(desks):
    from tests.helpdesk.mfa import operator_client

    acme, globex = desks
    client = operator_client()
    response = client.get(_url(Organization, "changelist"))
    assert response.status_code == 200
    listed = {str(o) for o in response.context["cl"].result_list}
    assert {"Acme Analytics Customer Co", "Globex Customer Co"} <= listed
    assert client.get(_url(Organization, "add")).status_code == 403

    # Creating a tenant in the platform admin provisions its default plans.
    response = client.post(
        _url(Tenant, "add"),
        {
            "slug": "initech",
            "name": "Initech",
            "time_zone": "UTC",
            "default_language": "zh-hans",
            "signup_policy": "open",
            "is_active": "on",
            "domains-TOTAL_FORMS": "0",
            "domains-INITIAL_FORMS": "0",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with scopes_disabled():
        assert Plan.objects.filter(tenant__slug="initech").count() == 3


def test_tenant_admin_edits_their_own_desk_settings_only(desks):
    acme, globex = desks
    client = acme.client(acme.admin)
    assert client.get(_url(TenantSettings, "changelist"))["Location"] == _url(
        TenantSettings, "change", acme.tenant.pk
    )
    response = client.post(
        _url(TenantSettings, "change", acme.tenant.pk),
        {
            "name": "Acme Support",
            "time_zone": "Europe/Berlin",
            "default_language": "zh-hans",
            "signup_policy": "known_domains",
            "slug": "hijack",
        },
    )
    assert response.status_code == 302
    acme.tenant.refresh_from_db()
    assert (acme.tenant.name, acme.tenant.time_zone, acme.tenant.slug) == (
        "Acme Support",
        "Europe/Berlin",
        "acme",
    )

    other = client.get(_url(TenantSettings, "change", globex.tenant.pk), follow=True)
    assert "Globex" not in other.content.decode()
    client.post(_url(TenantSettings, "change", globex.tenant.pk), {"name": "Hijacked"})
    globex.tenant.refresh_from_db()
    assert globex.tenant.name == "Globex"
    assert acme.client(acme.agent).get(_url(TenantSettings, "changelist")).status_code in (302, 403)


def test_outbox_never_shows_another_persons_sign_in_links(
    desks, django_capture_on_commit_callbacks
):
    """A tenant admin must not read a reset link for an identity shared with another tenant."""
    acme, globex = desks
    from tests.helpdesk.factories import make_member

    make_member(acme.tenant, globex.admin.email)  # Globex's admin is also an Acme customer
    with django_capture_on_commit_callbacks(execute=True):
        acme.client().post("/accounts/password/reset/", {"email": globex.admin.email})
    from django.core import mail

    key_path = mail.outbox[-1].body.split("/accounts/password/reset/key/")[1].split()[0]
    client = acme.client(acme.admin)
    with acme.scope():
        sent = OutboundEmail.objects.get(to=[globex.admin.email])
        assert sent.body_text == "" and sent.body_html == ""
    for page in [_url(OutboundEmail, "changelist"), _url(OutboundEmail, "change", sent.pk)]:
        assert key_path not in client.get(page).content.decode()


def test_desk_settings_show_the_inbound_email_secret_to_their_admin_only(desks):
    acme, globex = desks
    page = acme.client(acme.admin).get(_url(TenantSettings, "change", acme.tenant.pk))
    body = page.content.decode()
    assert acme.tenant.inbound_email_secret in body
    assert globex.tenant.inbound_email_secret not in body
    assert "/inbound/email/" in body


def test_tenant_admin_revokes_a_members_token_but_not_another_tenants(desks):
    from helpdesk.models import ApiToken

    acme, globex = desks
    with acme.scope():
        ours = ApiToken.objects.get(name="Acme Analytics secret token")
    with globex.scope():
        theirs = ApiToken.objects.get(name="Globex secret token")
    client = acme.client(acme.admin)
    changelist = _url(ApiToken, "changelist")
    client.post(changelist, {"action": "revoke", "_selected_action": [ours.pk, theirs.pk]})
    with acme.scope():
        ours.refresh_from_db()
    with globex.scope():
        theirs.refresh_from_db()
    assert ours.revoked_at is not None
    assert theirs.revoked_at is None


def test_admin_dates_outside_the_years_any_report_covers_are_form_errors(desks):
    # A renewal on 9999-12-31 would overflow the year after it (helpdesk/input_values.py).
    acme, _ = desks
    response = acme.client(acme.admin).post(
        _url(Organization, "change", acme.org.pk),
        {
            "name": acme.org.name,
            "plan": acme.pro.pk,
            "arr": "1000",
            "renewal_date": "9999-12-31",
            "domains-TOTAL_FORMS": "0",
            "domains-INITIAL_FORMS": "0",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    assert "Choose dates between 2000 and 2100." in response.content.decode()
    with acme.scope():
        acme.org.refresh_from_db()
    assert acme.org.renewal_date is None
