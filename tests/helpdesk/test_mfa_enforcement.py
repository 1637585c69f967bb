"""A desk that requires two-factor sign-in of its agents and admins (`Tenant.require_staff_mfa`,
helpdesk/second_factor.py): enforced on every route of the URL conf (walked from the URL
conf itself, tests/routes.py: agent pages, help center, tenant admin, allauth, the API
with a session), for API tokens, and never for customers or another desk's people.
"""

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client

from helpdesk.api_tokens import api_token_create
from helpdesk.models import Tenant
from helpdesk.second_factor import OPEN_WHILE_ENROLLING, OPEN_WHILE_VERIFYING
from tests.helpdesk.factories import PASSWORD
from tests.helpdesk.mfa import enrol_totp, pass_second_factor, recovery_codes, totp_code
from tests.routes import build_world, routes

SETUP_PAGE = "/accounts/2fa/"
CONFIRM_PAGE = "/accounts/2fa/reauthenticate/"
REQUIRED = "requires two-factor sign-in for agents and admins"


def _require(desk, required: bool = True) -> None:
    Tenant.objects.filter(pk=desk.tenant.pk).update(require_staff_mfa=required)


@pytest.fixture
def strict(acme):
    _require(acme)
    return acme


@pytest.fixture
def walk(strict):
    """Every route of the desk's URL conf, with sample arguments."""
    return [route for route in routes(build_world(strict)) if route.host == strict.host]


def _refused_to_enrol(response, route) -> bool:
    if route.is_api:
        return response.status_code == 403 and REQUIRED in response.json()["detail"]
    return response.status_code == 302 and response["Location"] == SETUP_PAGE


def _refused_to_verify(response, route) -> bool:
    if route.is_api:
        return response.status_code == 403 and "Confirm this session" in response.json()["detail"]
    return response.status_code == 302 and response["Location"].startswith(f"{CONFIRM_PAGE}?next=")


def _either_refusal(response, route) -> bool:
    return _refused_to_enrol(response, route) or _refused_to_verify(response, route)


def _walk(client, walk, refused, open_routes) -> list[str]:
    """Each route, by GET and by POST (not the open ones: they include signing out), that
    was refused when it should not have been, or not refused when it should."""
    wrong = []
    for route in walk:
        is_open = route.name in open_routes
        got = client.get(route.path)
        if refused(got, route) == is_open:
            wrong.append(f"GET {route.path} ({route.name}): {got.status_code}")
        if not is_open:
            got = client.post(route.path, {"subject": "x"})
            if not refused(got, route):
                wrong.append(f"POST {route.path} ({route.name}): {got.status_code}")
    return wrong


@pytest.mark.parametrize("persona", ["agent", "admin"])
def test_staff_without_an_authenticator_can_only_set_one_up_on_every_route(strict, walk, persona):
    client = strict.client(getattr(strict, persona))
    assert _walk(client, walk, _refused_to_enrol, OPEN_WHILE_ENROLLING) == []
    # What stays open is what setting one up takes, and signing out.
    assert client.get(SETUP_PAGE).status_code == 200


@pytest.mark.parametrize("persona", ["agent", "admin"])
def test_staff_whose_session_did_not_pass_their_second_factor_must_confirm_it_on_every_route(
    strict, walk, persona
):
    person = getattr(strict, persona)
    enrol_totp(person)
    client = strict.client(person)  # signed in before the desk switched the setting on
    assert _walk(client, walk, _refused_to_verify, OPEN_WHILE_VERIFYING) == []


@pytest.mark.parametrize("persona", ["agent", "admin"])
def test_staff_who_passed_it_are_not_stopped_anywhere(strict, walk, persona):
    person = getattr(strict, persona)
    enrol_totp(person)
    client = pass_second_factor(strict.client(person), person)
    stopped = [route.path for route in walk if _either_refusal(client.get(route.path), route)]
    assert stopped == []


@pytest.mark.parametrize("has_one", [False, True])
def test_customers_are_never_asked(strict, walk, has_one):
    if has_one:
        enrol_totp(strict.customer)  # and a session that never passed it
    client = strict.client(strict.customer)
    stopped = [route.path for route in walk if _either_refusal(client.get(route.path), route)]
    assert stopped == []


def test_the_walk_reaches_the_agent_pages_the_admin_and_the_api(walk):
    paths = {route.pattern for route in walk}
    assert {"agent/", "admin/", "accounts/2fa/", "agent/reports/sla/"} <= paths
    assert any(route.is_api for route in walk)
    assert OPEN_WHILE_VERIFYING - {"healthz"} <= {route.name for route in walk}
    assert OPEN_WHILE_ENROLLING - {"healthz"} <= {route.name for route in walk}


# -- confirming, and enrolling, lead back to work ------------------------------------------------


def test_confirming_with_a_code_opens_the_page_asked_for(strict):
    secret = enrol_totp(strict.agent)
    client = strict.client(strict.agent)
    sent = client.get("/agent/?view=all")
    assert sent["Location"] == f"{CONFIRM_PAGE}?next=%2Fagent%2F%3Fview%3Dall"
    page = client.get(sent["Location"]).content.decode()
    assert "has not passed your second factor yet" in page
    assert "Use your password" not in page  # a password confirms nothing new here
    assert client.get("/accounts/reauthenticate/")["Location"].startswith(CONFIRM_PAGE)
    back = client.post(sent["Location"], {"code": totp_code(secret)})
    assert back["Location"] == "/agent/?view=all"
    assert client.get("/agent/").status_code == 200


def test_a_recovery_code_confirms_too(strict):
    enrol_totp(strict.admin)
    client = strict.client(strict.admin)
    client.post(f"{CONFIRM_PAGE}?next=/admin/", {"code": recovery_codes(strict.admin)[0]})
    assert client.get("/admin/").status_code == 200


def test_signing_in_with_the_second_factor_passes_it(strict):
    secret = enrol_totp(strict.agent)
    client = Client(HTTP_HOST=strict.host)
    client.post("/accounts/login/", {"login": strict.agent.email, "password": PASSWORD})
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert client.get("/agent/").status_code == 200


@pytest.mark.django_db(transaction=True)  # allauth records the enrolment after commit
def test_setting_one_up_opens_everything(strict):
    client = Client(HTTP_HOST=strict.host)
    signed_in = client.post("/accounts/login/", {"login": strict.agent.email, "password": PASSWORD})
    assert client.get(signed_in["Location"])["Location"] == SETUP_PAGE
    page = client.get(SETUP_PAGE).content.decode()
    assert "Acme Analytics requires two-factor sign-in for agents and admins" in page
    assert 'href="/agent/"' not in page  # no way into the workspace from here
    confirm = client.get("/accounts/2fa/totp/activate/")["Location"]
    client.post(confirm, {"password": PASSWORD})
    client.get("/accounts/2fa/totp/activate/")
    secret = client.session["mfa.totp.secret"]
    client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    # Setting it up proved the app: not asked again at once.
    assert client.get("/accounts/2fa/recovery-codes/").status_code == 200
    assert client.get("/agent/").status_code == 200


def test_the_last_app_of_someone_who_must_have_one_stays(strict):
    secret = enrol_totp(strict.agent)
    client = Client(HTTP_HOST=strict.host)
    client.post("/accounts/login/", {"login": strict.agent.email, "password": PASSWORD})
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    client.post("/accounts/2fa/reauthenticate/", {"code": recovery_codes(strict.agent)[0]})
    refused = client.post("/accounts/2fa/totp/deactivate/")
    assert "You cannot deactivate two-factor authentication" in refused.content.decode()
    assert Authenticator.objects.filter(user=strict.agent, type="totp").exists()


# -- the setting ---------------------------------------------------------------------------------


def test_an_admin_switches_it_on_in_desk_settings_and_is_sent_to_set_up_first(acme):
    admin = acme.client(acme.admin)
    form = admin.get(f"/admin/helpdesk/tenantsettings/{acme.tenant.pk}/change/")
    assert "require two-factor sign-in for agents and admins" in form.content.decode().lower()
    data = {
        "name": acme.tenant.name,
        "time_zone": acme.tenant.time_zone,
        "default_language": acme.tenant.default_language,
        "signup_policy": acme.tenant.signup_policy,
        "require_staff_mfa": "on",
    }
    saved = admin.post(f"/admin/helpdesk/tenantsettings/{acme.tenant.pk}/change/", data)
    assert saved.status_code == 302
    acme.tenant.refresh_from_db()
    assert acme.tenant.require_staff_mfa
    assert admin.get("/admin/")["Location"] == SETUP_PAGE
    assert acme.client(acme.customer).get("/tickets/").status_code == 200


def test_one_desks_setting_does_not_reach_another_desks_people(acme, globex):
    _require(globex)
    assert acme.client(acme.agent).get("/agent/").status_code == 200
    assert globex.client(globex.agent).get("/agent/")["Location"] == SETUP_PAGE
    _require(globex, False)
    _require(acme)
    assert globex.client(globex.agent).get("/agent/").status_code == 200


def test_an_authenticator_at_another_desk_does_not_count_here(acme, globex):
    """The same address at two desks is two accounts: an app set up for one is not the other's."""
    from tests.helpdesk.factories import make_member

    _require(acme)
    namesake = make_member(globex.tenant, acme.agent.email, "agent")
    enrol_totp(namesake)
    assert acme.client(acme.agent).get("/agent/")["Location"] == SETUP_PAGE


# -- API tokens ---------------------------------------------------------------------------------


def _token(desk, user) -> str:
    with desk.scope():
        _token, key = api_token_create(tenant=desk.tenant, user=user, name="Script")
    return key


def _api(desk, key, path="/api/v1/tickets/"):
    return Client(HTTP_HOST=desk.host).get(path, HTTP_AUTHORIZATION=f"Token {key}")


@pytest.mark.parametrize("persona", ["agent", "admin"])
def test_a_staff_token_is_refused_with_the_reason_until_its_person_has_a_second_factor(
    acme, persona
):
    person = getattr(acme, persona)
    key = _token(acme, person)
    assert _api(acme, key).status_code == 200
    _require(acme)
    refused = _api(acme, key)
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/json"
    assert REQUIRED in refused.json()["detail"]
    assert "/accounts/2fa/" in refused.json()["detail"]
    # Once the person has an authenticator, the token they made works again: the account
    # behind it is protected by a second factor from then on.
    enrol_totp(person)
    assert _api(acme, key).status_code == 200


def test_a_refused_token_is_not_marked_used(acme):
    from helpdesk.models import ApiToken

    key = _token(acme, acme.agent)
    _require(acme)
    _api(acme, key)
    with acme.scope():
        assert ApiToken.objects.get(user=acme.agent).last_used_at is None


def test_customers_tokens_keep_working(strict):
    key = _token(strict, strict.customer)
    assert _api(strict, key).status_code == 200


def test_the_api_with_a_session_answers_json_too(strict):
    refused = strict.client(strict.agent).get("/api/v1/tickets/")
    assert refused.status_code == 403 and REQUIRED in refused.json()["detail"]


def test_the_refusals_speak_chinese(strict):
    key = _token(strict, strict.agent)
    refused = Client(HTTP_HOST=strict.host).get(
        "/api/v1/tickets/", HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "两步验证" in refused.json()["detail"]
    client = strict.client(strict.agent)
    page = client.get(SETUP_PAGE, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "要求客服和管理员使用两步验证" in page
