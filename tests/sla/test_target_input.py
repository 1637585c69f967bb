"""SLA targets are typed as hours and minutes, everywhere one is edited (issue 16)."""

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import translation

from sla.fields import MAX_HOURS, HoursMinutesField, HoursMinutesWidget, MinutesField
from sla.models import SLAPolicy


@pytest.mark.parametrize(
    ("hours", "minutes", "total"),
    [("2", "30", 150), ("48", "0", 2880), ("", "45", 45), ("48", "", 2880), (" 1 ", "5", 65)],
)
def test_hours_and_minutes_make_whole_minutes(hours, minutes, total):
    assert HoursMinutesField().clean([hours, minutes]) == total


@pytest.mark.parametrize(
    ("hours", "minutes", "message"),
    [
        ("", "", "Enter hours, minutes or both."),
        ("0", "0", "Enter at least 1 minute."),
        ("1", "60", "less than or equal to 59"),
        ("-1", "0", "greater than or equal to 0"),
        (str(MAX_HOURS + 1), "0", f"less than or equal to {MAX_HOURS}"),
        ("２", "0", "Enter a whole number."),
        ("1.5", "0", "Enter a whole number."),
    ],
)
def test_bad_durations_are_refused_with_a_message(hours, minutes, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        HoursMinutesField().clean([hours, minutes])
    assert any(message in text for text in error.value.messages), error.value.messages


def test_the_inputs_read_hours_and_minutes_in_the_readers_language():
    html = HoursMinutesWidget().render("target", 150)
    assert 'name="target_0" value="2"' in html and 'name="target_1" value="30"' in html
    assert ">h</span>" in html and ">min</span>" in html
    assert 'aria-label="hours"' in html and 'aria-label="minutes"' in html
    with translation.override("zh-hans"):
        chinese = HoursMinutesWidget().render("target", 150)
    assert ">小时</span>" in chinese and ">分钟</span>" in chinese
    assert 'aria-label="小时"' in chinese and 'aria-label="分钟"' in chinese


def test_every_duration_of_a_policy_is_kept_as_a_minutes_field():
    durations = [f for f in SLAPolicy._meta.get_fields() if f.name.endswith("_minutes")]
    assert {f.name for f in durations} == {
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "warning_max_minutes",
    }
    assert all(isinstance(field, MinutesField) for field in durations)


def _admin_pages_editing_minutes(desk):
    """Every admin page (add and change) of a model, or of an inline of it, that has a
    MinutesField: found from the admin registry, not listed by hand."""
    pages = []
    for model, model_admin in admin.site._registry.items():
        inline_models = [inline.model for inline in model_admin.inlines]
        if not any(
            isinstance(field, MinutesField)
            for edited in (model, *inline_models)
            for field in edited._meta.get_fields()
        ):
            continue
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(reverse("admin:{}_{}_add".format(*info)))
        with desk.scope():
            first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    return pages


def test_every_admin_form_of_a_target_takes_hours_and_minutes(acme):
    """The class: each form field of a MinutesField, on every admin page and inline that
    edits one (the SLA policy's page, the plan's service-level rows), is the pair."""
    pages = _admin_pages_editing_minutes(acme)
    assert {"/admin/sla/slapolicy/add/", "/admin/plans/plan/add/"} <= set(pages)
    client = acme.client(acme.admin)
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        forms = [response.context["adminform"].form]
        with acme.scope():  # the rows of an inline are read when first asked for
            for formset in response.context["inline_admin_formsets"]:
                forms.extend([*formset.formset.forms, formset.formset.empty_form])
        checked = 0
        for form in forms:
            for name, field in form.fields.items():
                model_field = next(
                    (f for f in form._meta.model._meta.fields if f.name == name), None
                )
                if isinstance(model_field, MinutesField):
                    assert isinstance(field, HoursMinutesField), (page, name)
                    checked += 1
        assert checked, page
        body = response.content.decode()
        assert 'name="first_response_minutes"' not in body
        assert "first_response_minutes_0" in body and "first_response_minutes_1" in body


def _policy_form(policy, **targets):
    data = {
        "plan": str(policy.plan_id or ""),
        "priority": str(policy.priority or ""),
        "calendar": "",
        "warning_percent": "25",
        "warning_max_minutes_0": "1",
        "warning_max_minutes_1": "0",
        "escalate_priority": "on",
        "escalation_agent": "",
    }
    for metric in ("first_response", "next_response", "resolution"):
        hours, minutes = targets.get(metric, divmod(getattr(policy, f"{metric}_minutes"), 60))
        data[f"{metric}_minutes_0"] = str(hours)
        data[f"{metric}_minutes_1"] = str(minutes)
    return data


def test_an_admin_sets_a_target_of_two_and_a_half_hours(acme):
    with acme.scope():
        policy = SLAPolicy.objects.get(plan=acme.pro, priority=None)
    url = f"/admin/sla/slapolicy/{policy.pk}/change/"
    client = acme.client(acme.admin)
    page = client.get(url).content.decode()
    assert 'name="first_response_minutes_0" value="24"' in page
    response = client.post(url, _policy_form(policy, first_response=(2, 30)))
    assert response.status_code == 302, response.content.decode()[:2000]
    policy.refresh_from_db()
    assert policy.first_response_minutes == 150

    response = client.post(url, _policy_form(policy, first_response=(2, 75)))
    assert response.status_code == 200
    assert "less than or equal to 59" in response.content.decode()
    policy.refresh_from_db()
    assert policy.first_response_minutes == 150


def test_the_plans_service_level_rows_take_hours_and_minutes(acme):
    from tests.plans.test_offer import _policy_rows

    with acme.scope():
        policies = list(SLAPolicy.objects.filter(plan=acme.pro).order_by("pk"))
    data = {
        "name": "Pro",
        "rank": "1",
        "monthly_price": "49",
        "currency": "USD",
        "help_center_blurb": "Priority email and web support.",
        "help_center_blurb_zh_hans": "",
        "upgrade_url": "",
        "offers_web": "on",
        "offers_email": "on",
        **_policy_rows(policies),
        "sla_policies-0-first_response_minutes_0": "12",
        "sla_policies-0-first_response_minutes_1": "15",
    }
    response = acme.client(acme.admin).post(f"/admin/plans/plan/{acme.pro.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    policies[0].refresh_from_db()
    assert policies[0].first_response_minutes == 12 * 60 + 15
