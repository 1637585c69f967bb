from django.conf import settings

from helpdesk.models import Tenant, User


def test_language_switcher_sets_the_cookie_and_remembers_the_users_choice(acme):
    client = acme.client(acme.customer)
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    acme.customer.refresh_from_db()
    assert acme.customer.preferred_language == "zh-hans"
    page = client.get("/")
    assert page["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in page.content.decode()


def test_users_preference_applies_on_a_new_device(acme):
    User.objects.filter(pk=acme.customer.pk).update(preferred_language="zh-hans")
    response = acme.client(acme.customer).get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"


def test_browser_language_is_used_when_nothing_was_chosen(acme):
    response = acme.client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert response["Content-Language"] == "zh-hans"


def test_tenant_default_language_applies_without_any_other_hint(acme):
    Tenant.objects.filter(pk=acme.tenant.pk).update(default_language="zh-hans")
    assert acme.client().get("/accounts/login/")["Content-Language"] == "zh-hans"
    assert (
        acme.client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "en"
    )


def test_unsupported_language_is_refused_by_the_switcher(acme):
    client = acme.client(acme.customer)
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    acme.customer.refresh_from_db()
    assert acme.customer.preferred_language == ""


def test_times_are_stored_in_utc_and_shown_in_the_tenants_time_zone(acme):
    from datetime import UTC, datetime

    from helpdesk.models import Membership

    Tenant.objects.filter(pk=acme.tenant.pk).update(time_zone="Asia/Shanghai")
    joined = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    with acme.scope():
        Membership.objects.filter(user=acme.customer).update(created_at=joined)
        assert Membership.objects.get(user=acme.customer).created_at == joined
    body = acme.client(acme.admin).get("/admin/helpdesk/membership/").content.decode()
    assert "Jan. 1, 2026, 8:30 a.m." in body
    assert "Asia/Shanghai" in acme.client(acme.customer).get("/").content.decode()
