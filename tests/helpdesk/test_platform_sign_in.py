"""Platform operators (superusers, no desk) sign in on the platform host through allauth,
as desks' people do on theirs: its failed-login limits, its second-factor stage, and a
second factor required of them while `PLATFORM_REQUIRE_MFA` is on (the default without
DEBUG). Nobody else signs in there, and nobody signs up.

(Their failed-login limits: test_the_platform_login_counts_failed_attempts in
tests/helpdesk/test_people.py.)
"""

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client

from helpdesk.models import User
from tests.helpdesk.factories import PASSWORD, make_user
from tests.helpdesk.mfa import enrol_totp, make_operator, operator_client, totp_code

LOGIN = "/accounts/login/"


def _sign_in(email: str, password: str = PASSWORD) -> tuple[Client, object]:
    client = Client(HTTP_HOST="localhost")
    return client, client.post(LOGIN, {"login": email, "password": password})


def test_the_platform_admin_sends_visitors_to_allauths_sign_in(db):
    response = Client(HTTP_HOST="localhost").get("/admin/")
    assert response["Location"] == "/admin/login/?next=/admin/"
    response = Client(HTTP_HOST="localhost").get(response["Location"])
    assert response["Location"] == f"{LOGIN}?next=/admin/"
    page = Client(HTTP_HOST="localhost").get(LOGIN).content.decode()
    assert "sign up" not in page.lower()  # operators are made, not signed up


def test_an_operator_signs_in_with_password_and_code_and_reaches_the_admin(db):
    operator = make_operator()
    secret = enrol_totp(operator)
    client, response = _sign_in(operator.email)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    admin = client.get("/admin/")
    assert admin.status_code == 200 and "Platform admin" in admin.content.decode()
    assert client.get("/admin/login/")["Location"] == "/admin/"


def test_an_operator_without_a_second_factor_is_sent_to_set_one_up(db):
    operator = make_operator()
    client, _ = _sign_in(operator.email)
    for path in ("/admin/", "/admin/helpdesk/tenant/", "/"):
        assert client.get(path)["Location"] == "/accounts/2fa/"
    page = client.get("/accounts/2fa/").content.decode()
    assert "Platform operators must use two-factor sign-in" in page


@pytest.mark.django_db(transaction=True)  # allauth records the enrolment after commit
def test_an_operator_sets_one_up_and_is_told_by_email():
    operator = make_operator()
    client, _ = _sign_in(operator.email)
    client.post(client.get("/accounts/2fa/totp/activate/")["Location"], {"password": PASSWORD})
    client.get("/accounts/2fa/totp/activate/")
    secret = client.session["mfa.totp.secret"]
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert done["Location"] == "/accounts/2fa/recovery-codes/"
    assert client.get("/admin/").status_code == 200
    # No desk owns an operator's mail: it leaves at once, not through a desk's outbox.
    [notice] = [m for m in mail.outbox if m.to == [operator.email]]
    assert "activated" in notice.subject.lower()


def test_with_the_requirement_off_the_password_is_enough(db, settings):
    settings.PLATFORM_REQUIRE_MFA = False
    operator = make_operator()
    client, _ = _sign_in(operator.email)
    assert client.get("/admin/").status_code == 200


def test_only_operators_sign_in_on_the_platform_host(acme):
    # A desk's person: a wrong password, as anywhere but their own desk.
    _client, page = _sign_in(acme.admin.email)
    assert "are not correct" in page.content.decode()
    # An account of no desk that is not an operator (a former member of none).
    make_user("nobody@example.com")
    client, refused = _sign_in("nobody@example.com")
    assert refused.status_code == 403
    assert "is not a platform operator" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_nobody_signs_up_on_the_platform_host(db):
    client = Client(HTTP_HOST="localhost")
    client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": "a long pass 77", "password2": "a long pass 77"},
    )
    assert not User.objects.filter(email="new@example.com").exists()


def test_an_operator_resets_anothers_second_factor(db):
    lost = make_operator("lost@platform.example")
    enrol_totp(lost)
    client = operator_client()
    client.post(
        "/admin/helpdesk/user/", {"action": "reset_second_factor", "_selected_action": [lost.pk]}
    )
    assert not Authenticator.objects.filter(user=lost).exists()


def test_make_runs_demo_operator_needs_no_second_factor():
    """`make run` turns DEBUG on, and with it the requirement off by default."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    def platform_requires(**env):
        code = (
            "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'helpdesk.settings'; "
            "django.setup(); from django.conf import settings; print(settings.PLATFORM_REQUIRE_MFA)"
        )
        environment = {k: v for k, v in os.environ.items() if k != "PLATFORM_REQUIRE_MFA"}
        environment.update(SECRET_KEY="x" * 50, **env)
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=Path(__file__).resolve().parents[2],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return result.stdout.strip()

    assert platform_requires(DEBUG="1") == "False"
    assert platform_requires(DEBUG="0") == "True"
    assert platform_requires(DEBUG="1", PLATFORM_REQUIRE_MFA="1") == "True"
