"""Sign-up, log-in and email verification through allauth, per tenant."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from helpdesk.models import Membership, OutboundEmail, Tenant, User
from tests.helpdesk.factories import PASSWORD, make_user


def _signup(client, email, **extra):
    data = {
        "full_name": "Nina New",
        "email": email,
        "password1": "a-long-unusual-password-42",
        "password2": "a-long-unusual-password-42",
        **extra,
    }
    return client.post("/accounts/signup/", data)


def test_signing_up_makes_a_customer_of_the_organization_owning_the_email_domain(
    acme, django_capture_on_commit_callbacks
):
    client = acme.client()
    with django_capture_on_commit_callbacks(execute=True):
        response = _signup(client, "nina@ACME-CO.example")
    assert response.status_code == 302
    user = User.objects.get(email__iexact="nina@acme-co.example")
    assert user.full_name == "Nina New"
    with acme.scope():
        membership = Membership.objects.get(user=user)
    assert membership.role == "customer"
    assert membership.organization == acme.org

    # The verification email went through the outbox and a (eager) Celery task.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nina@acme-co.example"]
    assert "Acme Analytics Support" in message.from_email
    link = re.search(r"http://acme\.localhost/accounts/confirm-email/\S+", message.body)
    assert link, message.body
    with acme.scope():
        assert OutboundEmail.objects.get().status == OutboundEmail.Status.SENT

    # Following the link verifies the address and logs the customer in.
    path = link.group(0).removeprefix("http://acme.localhost")
    client.post(path)
    assert EmailAddress.objects.get(user=user).verified
    assert client.get("/").status_code == 200


def test_signing_up_with_an_unknown_domain_gives_a_customer_without_organization(acme):
    _signup(acme.client(), "solo@gmail.example")
    user = User.objects.get(email="solo@gmail.example")
    with acme.scope():
        assert Membership.objects.get(user=user).organization is None


def test_invite_only_tenant_closes_sign_up(acme):
    Tenant.objects.filter(pk=acme.tenant.pk).update(signup_policy=Tenant.SignupPolicy.INVITE_ONLY)
    response = _signup(acme.client(), "nina@acme-co.example")
    assert "Sign Up Closed" in response.content.decode()
    assert not User.objects.filter(email="nina@acme-co.example").exists()


def test_known_domains_policy_refuses_other_domains_in_place_and_keeps_input(acme):
    Tenant.objects.filter(pk=acme.tenant.pk).update(signup_policy=Tenant.SignupPolicy.KNOWN_DOMAINS)
    response = _signup(acme.client(), "stranger@elsewhere.example")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Use your work email address" in body
    assert 'value="stranger@elsewhere.example"' in body
    assert 'value="Nina New"' in body
    assert not User.objects.filter(email="stranger@elsewhere.example").exists()
    assert _signup(acme.client(), "ok@acme-co.example").status_code == 302


def test_member_logs_in_with_email_in_any_case(acme):
    client = acme.client()
    response = client.post(
        "/accounts/login/", {"login": "CAROL@acme-co.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_is_an_error_in_place(acme):
    response = acme.client().post(
        "/accounts/login/", {"login": "carol@acme-co.example", "password": "nope"}
    )
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in (
        response.content.decode()
    )


@pytest.mark.parametrize("persona", ["customer", "agent", "admin"])
def test_a_person_of_another_desk_is_unknown_here_even_with_the_right_password(
    acme, globex, persona
):
    user = getattr(globex, persona)
    client = acme.client()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    # The very answer an unknown address gets: nothing tells Acme that Globex knows them.
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in (
        response.content.decode()
    )
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_a_platform_account_cannot_sign_in_at_a_desk(acme):
    make_user("drifter@nowhere.example")  # no desk
    response = acme.client().post(
        "/accounts/login/", {"login": "drifter@nowhere.example", "password": PASSWORD}
    )
    assert "are not correct" in response.content.decode()


def test_a_former_member_of_this_desk_sees_the_no_access_page(acme):
    make_user("former@acme-co.example", tenant=acme.tenant)  # their membership ended
    response = acme.client().post(
        "/accounts/login/", {"login": "former@acme-co.example", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "has no access to Acme Analytics" in response.content.decode()


def test_password_reset_email_links_to_the_tenant_host(acme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        acme.client().post("/accounts/password/reset/", {"email": "carol@acme-co.example"})
    assert len(mail.outbox) == 1
    assert "http://acme.localhost/accounts/password/reset/key/" in mail.outbox[0].body


def test_logout(acme):
    client = acme.client(acme.customer)
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302
