"""Two-factor sign-in for everyone (allauth.mfa on each desk's host, docs/sign-in.md):
setting up an authenticator app, signing in with and without the second factor, recovery
codes (one use each), the limits on wrong codes, and a person's second factors as their
desk's admins (and no other desk's) see them.

What a desk may *require* of its staff is tests/helpdesk/test_mfa_enforcement.py; the
platform operators' sign-in is tests/helpdesk/test_platform_sign_in.py; the journeys in
a browser, security keys included, are tests/browser/test_mfa.py.
"""

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client

from helpdesk.models import Membership
from tests.helpdesk.factories import PASSWORD
from tests.helpdesk.mfa import enrol_totp, recovery_codes, totp_code


def _sign_in(desk, user, **headers) -> tuple[Client, object]:
    client = Client(HTTP_HOST=desk.host, **headers)
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    return client, response


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _secret_on(page) -> str:
    return re.search(r'id="authenticator_secret" type="text" value="(\w+)"', page)[1]


# -- setting up ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["customer", "agent", "admin"])
def test_anyone_sets_up_an_authenticator_app_from_their_account_pages(
    acme, persona, django_capture_on_commit_callbacks
):
    person = getattr(acme, persona)
    client, _ = _sign_in(acme, person)
    home = client.get("/", follow=True)
    assert 'href="/accounts/2fa/"' in home.content.decode()  # the "Security" link
    overview = client.get("/accounts/2fa/")
    assert overview.status_code == 200
    assert "Set up an authenticator app" in overview.content.decode()

    # allauth asks for the password again before a second factor is added.
    asked = client.get("/accounts/2fa/totp/activate/")
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/reauthenticate/")
    confirmed = client.post(asked["Location"], {"password": PASSWORD})
    assert confirmed["Location"] == "/accounts/2fa/totp/activate/"
    page = client.get("/accounts/2fa/totp/activate/").content.decode()
    assert "<svg" in page and "data:image" not in page  # the QR code inline, no data: image
    secret = _secret_on(page)

    wrong = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert "Incorrect code" in wrong.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert done["Location"] == "/accounts/2fa/recovery-codes/"
    assert set(Authenticator.objects.filter(user=person).values_list("type", flat=True)) == {
        "totp",
        "recovery_codes",
    }
    codes = client.get("/accounts/2fa/recovery-codes/").content.decode()
    assert all(code in codes for code in recovery_codes(person))
    assert len(recovery_codes(person)) == 10
    # The person is told by email, from their desk.
    [notice] = [m for m in mail.outbox if m.to == [person.email]]
    assert "Acme Analytics" in notice.from_email


def test_the_authenticator_app_names_the_desk(acme):
    client, _ = _sign_in(acme, acme.customer)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    assert "issuer=Acme%20Analytics" in page.context["totp_url"]
    assert "carol%40acme-co.example" in page.context["totp_url"]


def test_the_pages_speak_chinese(acme):
    client, _ = _sign_in(acme, acme.customer, HTTP_ACCEPT_LANGUAGE="zh-hans")
    enrol_totp(acme.customer)
    client.force_login(acme.customer)
    overview = client.get("/accounts/2fa/").content.decode()
    assert "两步验证" in overview and "恢复码" in overview
    sign_in = Client(HTTP_HOST=acme.host, HTTP_ACCEPT_LANGUAGE="zh-hans")
    sign_in.post("/accounts/login/", {"login": acme.customer.email, "password": PASSWORD})
    asked = sign_in.get("/accounts/2fa/authenticate/").content.decode()
    assert "验证器应用" in asked


# -- signing in --------------------------------------------------------------------------------


def test_without_a_second_factor_the_password_signs_in(acme):
    client, response = _sign_in(acme, acme.customer)
    assert response["Location"] == "/"
    assert _signed_in(client)


def test_with_an_authenticator_app_the_password_alone_does_not_sign_in(acme):
    secret = enrol_totp(acme.customer)
    client, response = _sign_in(acme, acme.customer)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert not _signed_in(client)
    assert client.get("/tickets/")["Location"].startswith("/accounts/login/")

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "123456"})
    assert "Incorrect code" in wrong.content.decode() and not _signed_in(client)
    right = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert right["Location"] == "/"
    assert _signed_in(client)
    assert client.get("/tickets/").status_code == 200


def test_a_code_works_once(acme):
    secret = enrol_totp(acme.customer)
    code = totp_code(secret)
    first, _ = _sign_in(acme, acme.customer)
    first.post("/accounts/2fa/authenticate/", {"code": code})
    assert _signed_in(first)
    second, _ = _sign_in(acme, acme.customer)
    second.post("/accounts/2fa/authenticate/", {"code": code})
    assert not _signed_in(second)  # seen over someone's shoulder: already used


def test_each_recovery_code_signs_in_once(acme):
    enrol_totp(acme.agent)
    first_code, second_code = recovery_codes(acme.agent)[:2]
    client, _ = _sign_in(acme, acme.agent)
    client.post("/accounts/2fa/authenticate/", {"code": first_code})
    assert _signed_in(client)
    assert len(recovery_codes(acme.agent)) == 9
    overview = client.get("/accounts/2fa/").content.decode()
    assert "9 of 10 codes left" in overview

    again, _ = _sign_in(acme, acme.agent)
    refused = again.post("/accounts/2fa/authenticate/", {"code": first_code})
    assert "Incorrect code" in refused.content.decode() and not _signed_in(again)
    again.post("/accounts/2fa/authenticate/", {"code": second_code})
    assert _signed_in(again)
    assert len(recovery_codes(acme.agent)) == 8


def test_wrong_codes_are_limited_and_then_even_the_right_one_waits(acme):
    secret = enrol_totp(acme.customer)
    client, _ = _sign_in(acme, acme.customer)
    for _ in range(5):
        client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    refused = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert "Too many failed login attempts" in refused.content.decode()
    assert not _signed_in(client)


def test_a_code_of_another_account_is_a_wrong_code(acme, globex):
    """The same address at two desks is two accounts, each with its own second factor."""
    from tests.helpdesk.factories import make_member

    namesake = make_member(globex.tenant, acme.customer.email, full_name="Carol at Globex")
    globex_secret = enrol_totp(namesake)
    enrol_totp(acme.customer)
    client, _ = _sign_in(acme, acme.customer)
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(globex_secret)})
    assert not _signed_in(client)
    for code in recovery_codes(namesake)[:1]:
        client.post("/accounts/2fa/authenticate/", {"code": code})
    assert not _signed_in(client)


def test_turning_it_off_asks_for_a_code_first_and_leaves_no_recovery_codes(
    acme, django_capture_on_commit_callbacks
):
    secret = enrol_totp(acme.customer)
    client, _ = _sign_in(acme, acme.customer)
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    asked = client.post("/accounts/2fa/totp/deactivate/")
    assert asked.status_code == 302 and "reauthenticate" in asked["Location"]
    client.post("/accounts/2fa/reauthenticate/", {"code": recovery_codes(acme.customer)[0]})
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/2fa/totp/deactivate/")
    assert not Authenticator.objects.filter(user=acme.customer).exists()


# -- what a desk's admins see and do --------------------------------------------------------------


def test_admins_see_who_has_a_second_factor_and_reset_it_for_someone_who_lost_it(
    acme, django_capture_on_commit_callbacks
):
    enrol_totp(acme.agent)
    admin = acme.client(acme.admin)
    listing = admin.get("/admin/helpdesk/membership/")
    rows = {row.user.email: row.has_second_factor for row in listing.context["cl"].result_list}
    assert rows[acme.agent.email] is True and rows[acme.customer.email] is False
    with acme.scope():
        membership = Membership.objects.get(user=acme.agent)
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin.post(
            "/admin/helpdesk/membership/",
            {"action": "reset_second_factor", "_selected_action": [membership.pk]},
            follow=True,
        )
    assert "Two-factor sign-in of 1 person reset" in answer.content.decode()
    assert not Authenticator.objects.filter(user=acme.agent).exists()
    # The agent is told, with a link to set it up again.
    [told] = [m for m in mail.outbox if m.to == [acme.agent.email]]
    assert "Acme Analytics Admin" in told.body
    assert "http://acme.localhost/accounts/2fa/" in told.body or "/accounts/2fa/" in told.body
    # The password alone signs in now.
    client, _ = _sign_in(acme, acme.agent)
    assert _signed_in(client)


def test_another_desks_admin_can_neither_see_nor_reset_a_persons_second_factor(acme, globex):
    enrol_totp(acme.agent)
    with acme.scope():
        membership = Membership.objects.get(user=acme.agent)
    theirs = globex.client(globex.admin)
    listing = theirs.get("/admin/helpdesk/membership/").content.decode()
    assert acme.agent.email not in listing
    assert theirs.get(f"/admin/helpdesk/membership/{membership.pk}/change/").status_code in (
        302,
        404,
    )
    theirs.post(
        "/admin/helpdesk/membership/",
        {"action": "reset_second_factor", "_selected_action": [membership.pk]},
    )
    assert Authenticator.objects.filter(user=acme.agent).count() == 2
    # Nor reach its authenticators any other way: allauth's own list is not in the admin.
    assert theirs.get("/admin/mfa/authenticator/").status_code == 404


def test_only_admins_may_reset(acme):
    from django.core.exceptions import PermissionDenied

    from helpdesk.services import second_factor_reset

    enrol_totp(acme.agent)
    with pytest.raises(PermissionDenied), acme.scope():
        second_factor_reset(user=acme.agent, actor=acme.agent)
    with pytest.raises(PermissionDenied), acme.scope():
        second_factor_reset(user=acme.customer, actor=acme.other_customer)
    assert Authenticator.objects.filter(user=acme.agent).exists()
