"""Who may open which page: roles in one tenant, and nothing at all in another."""

import pytest
from django.test import Client


def test_anonymous_visitors_are_sent_to_log_in(acme):
    for path in ["/", "/agent/"]:
        response = acme.client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_customer_sees_the_help_center(acme):
    response = acme.client(acme.customer).get("/")
    assert response.status_code == 200
    assert "Acme Analytics Customer Co is on the Pro plan" in response.content.decode()


def test_customer_cannot_open_agent_pages(acme):
    response = acme.client(acme.customer).get("/agent/")
    assert response.status_code == 403
    assert "This page is not for your role" in response.content.decode()


def test_customer_cannot_open_the_admin(acme):
    response = acme.client(acme.customer).get("/admin/")
    assert response.status_code in (302, 403)
    followed = acme.client(acme.customer).get("/admin/", follow=True)
    assert followed.status_code == 403
    assert "This page is not for your role" in followed.content.decode()


@pytest.mark.parametrize("persona", ["agent", "admin"])
def test_staff_open_the_agent_workspace(acme, persona):
    client = acme.client(getattr(acme, persona))
    response = client.get("/agent/")
    assert response.status_code == 200
    assert "Agent workspace" in response.content.decode()
    # The help center's front door sends staff to their workspace.
    assert client.get("/")["Location"] == "/agent/"


def test_agent_cannot_open_the_admin_but_admin_can(acme):
    assert acme.client(acme.agent).get("/admin/", follow=True).status_code == 403
    response = acme.client(acme.admin).get("/admin/")
    assert response.status_code == 200
    assert "Acme Analytics · admin" in response.content.decode()


def test_a_person_of_another_desk_is_nobody_here(acme, globex):
    # Signed in at Globex, their session cookie carried to Acme's host: Acme has no
    # such person, so they are an anonymous visitor, asked to sign in.
    for user in [globex.customer, globex.agent, globex.admin]:
        client = globex.client(user)
        client.defaults["HTTP_HOST"] = acme.host
        for path in ["/", "/agent/", "/admin/"]:
            response = client.get(path)
            assert response.status_code == 302, (user, path)
            assert "/login/" in response["Location"]
        page = client.get("/accounts/login/").content.decode()
        assert user.email not in page and "Globex" not in page


def test_session_from_one_tenant_grants_nothing_at_another(acme, globex):
    client = acme.client(acme.admin)
    assert client.get("/admin/").status_code == 200
    # The same cookie jar presented at Globex's host.
    client.defaults["HTTP_HOST"] = globex.host
    assert client.get("/agent/")["Location"].startswith("/accounts/login/")
    assert "/login/" in client.get("/admin/")["Location"]


def test_deactivated_membership_loses_access(acme):
    from helpdesk.models import Membership

    with acme.scope():
        Membership.objects.filter(user=acme.agent).update(is_active=False)
    response = acme.client(acme.agent).get("/agent/")
    assert response.status_code == 403
    assert "has no access" in response.content.decode()


def test_tenant_pages_do_not_exist_on_the_platform_host(acme):
    client = Client(HTTP_HOST="localhost")
    client.force_login(acme.admin)
    assert client.get("/agent/").status_code == 404
