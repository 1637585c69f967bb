"""Customer success in the tenant admin: the settings page and its validation, health on
the organizations' pages, "Recompute health now", and the read-only histories.
(The walk over every admin for tenant isolation is tests/helpdesk/test_admin_scoping.py.)"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from plans.models import Organization
from success.models import HealthScore, HealthSettings, Metric, Stage, UsageEvent, WeightProfile
from success.services import health_compute
from tests.helpdesk.mfa import operator_client
from tests.success.factories import event, record


def _url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def form_data(response) -> dict:
    """The POST a browser would send back for an admin change page, unchanged."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for field in formset.management_form:
            data[field.html_name] = field.value()
        forms.extend(formset.forms)
    for form in forms:
        for bound in form:
            value = bound.value()
            if value is None or value is False:
                continue
            data[bound.html_name] = "on" if value is True else value
    return data


@pytest.fixture
def settings_page(acme):
    client = acme.client(acme.admin)
    assert client.get(_url(HealthSettings, "changelist")).status_code == 200
    with acme.scope():
        settings = HealthSettings.objects.get()
    url = _url(HealthSettings, "change", settings.pk)
    return client, url, form_data(client.get(url))


def _profile_field(data, stage: str, component: str) -> str:
    """The POST name of one weight of one stage's row."""
    for name, value in data.items():
        if name.endswith("-id") and name.startswith("profiles-"):
            prefix = name.removesuffix("-id")
            with_stage = WeightProfile.objects.filter(pk=value).values_list("stage", flat=True)
            if stage in with_stage:
                return f"{prefix}-{component}"
    raise AssertionError(stage)


def test_the_settings_exist_from_first_look_with_the_documented_defaults(acme):
    response = acme.client(acme.admin).get(_url(HealthSettings, "changelist"))
    assert response.status_code == 200
    with acme.scope():
        settings = HealthSettings.objects.get()
        profiles = {p.stage: p for p in WeightProfile.objects.all()}
    assert (settings.healthy_min, settings.at_risk_min) == (75, 60)
    assert set(profiles) == set(Stage.values)
    assert all(profile.total == 100 for profile in profiles.values())
    assert profiles[Stage.ONBOARDING].feature_depth == 25
    assert profiles[Stage.RENEWAL].payment == 20
    # One row per desk: nothing to add.
    assert acme.client(acme.admin).get(_url(HealthSettings, "add")).status_code == 403


def test_an_admin_changes_weights_thresholds_and_bands(acme, settings_page):
    client, url, data = settings_page
    with acme.scope():
        data[_profile_field(data, Stage.STEADY, "usage_frequency")] = 30
        data[_profile_field(data, Stage.STEADY, "nps")] = 0
    data.update(healthy_min=80, at_risk_min=50, ticket_load_zero="10", ticket_load_full="1")

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    with acme.scope():
        settings = HealthSettings.objects.get()
        steady = WeightProfile.objects.get(stage=Stage.STEADY)
    assert (settings.healthy_min, settings.at_risk_min) == (80, 50)
    assert settings.thresholds_of("ticket_load") == (10, 1)
    assert (steady.usage_frequency, steady.nps, steady.total) == (30, 0, 100)


def test_weights_that_do_not_add_up_to_100_are_refused(acme, settings_page):
    client, url, data = settings_page
    with acme.scope():
        data[_profile_field(data, Stage.RENEWAL, "payment")] = 25  # 105

    response = client.post(url, data)

    assert response.status_code == 200
    assert "The weights must add up to 100." in response.content.decode()
    with acme.scope():
        assert WeightProfile.objects.get(stage=Stage.RENEWAL).payment == 20


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"csat_zero": "80", "csat_full": "80"}, "Must differ from the value that scores 0."),
        (
            {"healthy_min": "60", "at_risk_min": "70"},
            "The at-risk threshold must be lower than the healthy threshold.",
        ),
        ({"healthy_min": "101"}, "Ensure this value is less than or equal to 100."),
        ({"payment_overdue_score": "150"}, "Ensure this value is less than or equal to 100."),
    ],
)
def test_bad_thresholds_are_form_errors(acme, settings_page, change, message):
    client, url, data = settings_page
    response = client.post(url, {**data, **change})
    assert response.status_code == 200
    assert message in response.content.decode()


def test_lower_is_better_thresholds_are_allowed(acme, settings_page):
    client, url, data = settings_page
    response = client.post(url, {**data, "nps_zero": "50", "nps_full": "-50"})
    assert response.status_code == 302


def _scored_history(acme):
    """Acme's customer: healthy two weeks ago, payment failed since."""
    today = timezone.localdate()
    with acme.scope():
        Organization.objects.filter(pk=acme.org.pk).update(
            contract_start=today - timedelta(days=200)
        )
        acme.org.refresh_from_db()
    record(
        acme,
        *[
            event(acme.org, Metric.LOGIN, timezone.now() - timedelta(days=n))
            for n in range(0, 30, 2)
        ],
        event(acme.org, Metric.INVOICE_PAID, timezone.now() - timedelta(days=30)),
        event(acme.org, Metric.PAYMENT_FAILED, timezone.now() - timedelta(days=3)),
    )
    with acme.scope():
        for days_ago in (14, 1):
            health_compute(
                tenant=acme.tenant,
                day=today - timedelta(days=days_ago),
                organization_ids=[acme.org.pk],
            )


def test_the_organization_list_shows_health_sortable_and_filterable(acme):
    _scored_history(acme)
    client = acme.client(acme.admin)
    with acme.scope():
        latest = HealthScore.objects.filter(organization=acme.org).order_by("-day").first()

    response = client.get(_url(Organization, "changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert f"{latest.score} · {latest.get_band_display()}" in body
    assert "—" in body  # the other organization is not scored yet

    listed = client.get(_url(Organization, "changelist"), {"health": latest.band})
    assert [o.pk for o in listed.context["cl"].result_list] == [acme.org.pk]
    unscored = client.get(_url(Organization, "changelist"), {"health": "none"})
    assert [o.pk for o in unscored.context["cl"].result_list] == [acme.other_org.pk]
    columns = list(response.context["cl"].list_display)
    ordered = client.get(_url(Organization, "changelist"), {"o": str(columns.index("health"))})
    assert ordered.status_code == 200


def test_the_organization_page_shows_the_trend_the_reason_and_the_history(acme):
    _scored_history(acme)
    response = acme.client(acme.admin).get(_url(Organization, "change", acme.org.pk))
    assert response.status_code == 200
    body = response.content.decode()
    with acme.scope():
        latest, older = HealthScore.objects.filter(organization=acme.org).order_by("-day")
    assert latest.components["payment"]["raw"] == "failed"
    assert latest.score < older.score
    assert f"<strong>{latest.score}</strong>" in body
    assert "Fell most:" in body and "Payment status (" in body
    assert "Last 30 days" in body and "Usage frequency" in body
    # A component left out says so.
    assert "no data: left out" in body


def test_an_organization_never_scored_says_how_to_score_it(acme):
    response = acme.client(acme.admin).get(_url(Organization, "change", acme.other_org.pk))
    assert "Not scored yet" in response.content.decode()


def test_recompute_health_now_scores_the_selected_organizations_today(acme):
    with acme.scope():
        Organization.objects.update(contract_start=timezone.localdate() - timedelta(days=100))
    client = acme.client(acme.admin)
    response = client.post(
        _url(Organization, "changelist"),
        {"action": "recompute_health", "_selected_action": [acme.org.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Health recomputed for 1 organization" in response.content.decode()
    with acme.scope():
        rows = list(HealthScore.objects.values_list("organization_id", "day"))
    assert rows == [(acme.org.pk, timezone.localdate(timezone=acme.tenant.tzinfo))]


def test_scores_and_events_are_read_only_history(acme):
    _scored_history(acme)
    client = acme.client(acme.admin)
    with acme.scope():
        score = HealthScore.objects.first()
        usage = UsageEvent.objects.first()
    for model, row in ((HealthScore, score), (UsageEvent, usage)):
        assert client.get(_url(model, "add")).status_code == 403
        page = client.get(_url(model, "change", row.pk))
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
    assert "Usage frequency" in client.get(_url(HealthScore, "change", score.pk)).content.decode()
    assert client.get(_url(UsageEvent, "changelist"), {"q": usage.event_id}).status_code == 200


def test_agents_cannot_open_any_of_it(acme):
    client = acme.client(acme.agent)
    for model in (HealthSettings, HealthScore, UsageEvent):
        assert client.get(_url(model, "changelist")).status_code in (302, 403)


def test_the_platform_operator_browses_without_the_recompute_action(acme):
    client = operator_client()
    response = client.get(_url(Organization, "changelist"))
    assert response.status_code == 200
    assert "recompute_health" not in response.content.decode()
    assert client.get(_url(HealthScore, "changelist")).status_code == 200
