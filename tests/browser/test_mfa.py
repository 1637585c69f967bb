"""Two-factor sign-in in Chromium: setting up an authenticator app and using its codes
and a recovery code; a desk that requires it of its staff; a security key (WebAuthn)
through Chromium's virtual authenticator; a platform operator's sign-in.

Codes are computed from the secret the page shows, as an authenticator app does
(tests/helpdesk/mfa.py). allauth takes each code once per 30-second step, so a journey
that signs in twice uses a recovery code the second time.
"""

import re

import pytest
from playwright.sync_api import expect

from helpdesk.models import Tenant
from tests.browser.helpers import sign_in
from tests.helpdesk.factories import PASSWORD
from tests.helpdesk.mfa import enrol_totp, make_operator, totp_code

pytestmark = pytest.mark.browser


@pytest.fixture
def acme_live(transactional_db, acme):
    return acme


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def _set_up_authenticator_app(page) -> list[str]:
    """From the two-factor page: confirm the password, scan (read) the code, enter a code;
    the recovery codes shown at the end."""
    page.get_by_role("link", name="Set up an authenticator app").click()
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    expect(page.locator(".totp-qr svg")).to_be_visible()
    page.screenshot(path="test-results/mfa-authenticator-app.png", full_page=True)
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery codes")
    codes = page.locator("#recovery_codes code").all_inner_texts()
    assert len(codes) == 10
    return codes


def test_a_customer_sets_up_an_authenticator_app_and_signs_in_with_a_recovery_code(
    page, tenant_url, acme_live
):
    page.goto(tenant_url(acme_live, "/accounts/login/"))
    sign_in(page, acme_live.customer.email)
    page.get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    codes = _set_up_authenticator_app(page)
    page.screenshot(path="test-results/mfa-recovery-codes.png", full_page=True)

    _sign_out(page)
    sign_in(page, acme_live.customer.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Carol")

    # A used recovery code is gone.
    _sign_out(page)
    sign_in(page, acme_live.customer.email)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Incorrect code.")).to_be_visible()


def test_an_agent_signs_in_with_the_code_of_their_app_in_chinese(page, tenant_url, acme_live):
    secret = enrol_totp(acme_live.agent)
    page.goto(tenant_url(acme_live, "/accounts/login/"))
    page.get_by_label("Language").select_option("zh-hans")
    page.locator("input[name=login]").fill(acme_live.agent.email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("两步验证")
    page.get_by_label("代码").fill(totp_code(secret))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/agent/$"))


def test_a_desk_that_requires_it_sends_its_staff_to_set_it_up_first(
    browser, page, tenant_url, acme_live
):
    # The admin switches it on in Desk settings...
    page.goto(tenant_url(acme_live, "/admin/"))
    sign_in(page, acme_live.admin.email)
    page.goto(
        tenant_url(acme_live, f"/admin/helpdesk/tenantsettings/{acme_live.tenant.pk}/change/")
    )
    page.get_by_label("Require two-factor sign-in for agents and admins").check()
    page.get_by_role("button", name="Save", exact=True).click()
    # ... and is the first to be sent to set it up.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/$"))
    assert Tenant.objects.get(pk=acme_live.tenant.pk).require_staff_mfa

    agent = browser.new_context(locale="en-US").new_page()
    agent.goto(tenant_url(acme_live, "/agent/"))
    sign_in(agent, acme_live.agent.email)
    expect(agent).to_have_url(re.compile(r"/accounts/2fa/$"))
    expect(agent.get_by_role("alert")).to_contain_text(
        "Acme Analytics requires two-factor sign-in for agents and admins."
    )
    expect(agent.get_by_role("link", name="Queue")).to_have_count(0)
    agent.goto(tenant_url(acme_live, "/agent/"))
    expect(agent).to_have_url(re.compile(r"/accounts/2fa/$"))
    agent.screenshot(path="test-results/mfa-required.png", full_page=True)

    _set_up_authenticator_app(agent)
    agent.goto(tenant_url(acme_live, "/agent/"))
    expect(agent.get_by_role("link", name="Queue")).to_be_visible()
    expect(agent).to_have_url(re.compile(r"/agent/$"))
    agent.context.close()


def test_a_security_key_is_added_and_signs_in(page, tenant_url, acme_live):
    # Chromium's virtual authenticator stands in for a USB key that the person touches.
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.goto(tenant_url(acme_live, "/accounts/login/"))
    sign_in(page, acme_live.customer.email)
    page.goto(tenant_url(acme_live, "/accounts/2fa/"))
    page.get_by_role("link", name="Add a security key").click()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a security key")
    page.get_by_label("Name").fill("Desk key")
    page.get_by_role("button", name="Add security key").click()
    # The first second factor comes with recovery codes.
    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery codes")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]})
    assert len(stored["credentials"]) == 1

    _sign_out(page)
    sign_in(page, acme_live.customer.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    page.screenshot(path="test-results/mfa-sign-in.png", full_page=True)
    page.get_by_role("button", name="Use a security key").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Carol")


def test_a_platform_operator_signs_in_with_password_and_code_and_guessing_is_stopped(
    page, live_server
):
    operator = make_operator()
    secret = enrol_totp(operator)
    platform = f"http://localhost:{live_server.thread.port}"
    # Someone guessing another operator's password is stopped after five tries.
    guessed = make_operator("root@platform.example")
    page.goto(f"{platform}/accounts/login/")
    for attempt in range(5):
        sign_in(page, guessed.email, password=f"guess {attempt}")
        expect(page.get_by_text("are not correct")).to_be_visible()
    sign_in(page, guessed.email)
    expect(page.get_by_text("Too many failed login attempts")).to_be_visible()

    page.goto(f"{platform}/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/admin/$"))
    sign_in(page, operator.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{platform}/admin/")
    expect(page.get_by_text("Platform admin").first).to_be_visible()
