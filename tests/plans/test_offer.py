"""What a plan offers in the help center (issue 16): the support address wherever email
is offered, texts that never contradict the targets, and a way up to a higher plan that
customer success hears about."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from helpdesk.models import Role
from plans.models import Plan, PlanSettings, response_time_in
from plans.services import DEFAULT_PLANS, default_support_email, plan_settings
from sla.models import SLAPolicy
from success.models import UpgradeInterest
from success.signals import upsell_signals
from tests.access import assert_asked_to_sign_in
from tests.helpdesk.factories import make_member
from tickets.models import Ticket

# -- the support address ----------------------------------------------------------------


def test_every_channel_list_of_a_plan_names_the_support_address():
    """The class: a template that offers email (`offers_email`) is the one include that
    also prints the address; any new page listing channels has to use it."""
    roots = [Path(settings.BASE_DIR) / name for name in ("templates", "plans", "sla", "tickets")]
    roots += [Path(settings.BASE_DIR) / name for name in ("knowledge", "feedback", "success")]
    offering = {
        path.relative_to(settings.BASE_DIR).as_posix()
        for root in roots
        for path in root.rglob("*.html")
        if "offers_email" in path.read_text()
    }
    assert offering == {"plans/templates/plans/_channels.html"}
    include = (Path(settings.BASE_DIR) / "plans/templates/plans/_channels.html").read_text()
    assert include.count("offers_email") == include.count("support_email }}</a>") == 2


def test_the_help_center_and_the_service_levels_show_the_desks_address(acme):
    with acme.scope():
        address = plan_settings(tenant=acme.tenant).support_email
    assert address == default_support_email(acme.tenant) == "support@acme.localhost"
    home = acme.client(acme.customer).get("/").content.decode()
    assert f'Email our support team: <a href="mailto:{address}">{address}</a>' in home
    levels = acme.client().get("/service-levels/").content.decode()
    # Every plan offers email by default: the address in each column.
    assert levels.count(f'<a href="mailto:{address}">') == 3

    with acme.scope():
        PlanSettings.objects.update(support_email="help@acme-analytics.example")
        acme.free.offers_email = False
        acme.free.save()
    levels = acme.client().get("/service-levels/").content.decode()
    assert levels.count('<a href="mailto:help@acme-analytics.example">') == 2
    assert address not in levels


def test_plan_settings_are_each_desks_own(acme, globex):
    with acme.scope():
        PlanSettings.objects.update_or_create(
            tenant=acme.tenant, defaults={"support_email": "help@acme.example"}
        )
    globex_home = globex.client(globex.customer).get("/").content.decode()
    assert "help@acme.example" not in globex_home
    assert "support@globex.localhost" in globex_home


# -- texts that name no response time ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("A first reply within 24 hours.", "24 hours"),
        ("Replies in 2h, phone support", "2h"),
        ("a 30-minute onboarding call", "30-minute"),
        ("两小时内回复", "两小时"),
        ("2 个工作日内答复", "2 个工作日"),
        ("Phone support and a 1:1 chat, 24/7 monitoring", ""),
        ("自助优先：知识库能解答大多数问题", ""),
    ],
)
def test_response_times_are_found_in_english_and_chinese(text, found):
    assert response_time_in(text) == found


def test_the_default_texts_name_no_response_time():
    for spec in DEFAULT_PLANS:
        assert not response_time_in(spec["help_center_blurb"]), spec["name"]
        assert not response_time_in(spec["help_center_blurb_zh_hans"]), spec["name"]


def test_a_plan_text_naming_a_response_time_is_refused(acme):
    with acme.scope():
        acme.pro.help_center_blurb = "Priority support: a first reply within 24 hours."
        acme.pro.help_center_blurb_zh_hans = "24 小时内首次回复"
        with pytest.raises(ValidationError) as error:
            acme.pro.full_clean()
    assert set(error.value.message_dict) == {"help_center_blurb", "help_center_blurb_zh_hans"}
    assert "24 hours" in error.value.message_dict["help_center_blurb"][0]


def test_the_admin_refuses_it_too(acme):
    with acme.scope():
        policies = list(SLAPolicy.objects.filter(plan=acme.pro))
    data = {
        "name": "Pro",
        "rank": "1",
        "monthly_price": "49",
        "currency": "USD",
        "help_center_blurb": "We answer within 24 hours.",
        "help_center_blurb_zh_hans": "",
        "upgrade_url": "",
        "offers_web": "on",
        "offers_email": "on",
        **_policy_rows(policies),
    }
    response = acme.client(acme.admin).post(f"/admin/plans/plan/{acme.pro.pk}/change/", data)
    assert response.status_code == 200
    assert "reads like a response time" in response.content.decode()


def _policy_rows(policies):
    rows = {
        "sla_policies-TOTAL_FORMS": str(len(policies)),
        "sla_policies-INITIAL_FORMS": str(len(policies)),
        "sla_policies-MIN_NUM_FORMS": "0",
        "sla_policies-MAX_NUM_FORMS": "1000",
    }
    for i, policy in enumerate(policies):
        prefix = f"sla_policies-{i}-"
        rows |= {
            f"{prefix}id": str(policy.pk),
            f"{prefix}plan": str(policy.plan_id),
            f"{prefix}priority": str(policy.priority or ""),
            f"{prefix}calendar": "",
            f"{prefix}escalate_priority": "on",
        }
        for metric in ("first_response", "next_response", "resolution"):
            hours, minutes = divmod(getattr(policy, f"{metric}_minutes"), 60)
            rows[f"{prefix}{metric}_minutes_0"] = str(hours)
            rows[f"{prefix}{metric}_minutes_1"] = str(minutes)
    return rows


def test_changed_targets_change_every_promise_and_no_text_keeps_the_old_one(acme):
    """The bug: targets set to 12 h while the text still said 24. Every page that shows
    a plan's promise reads it from the targets; the texts name none."""
    with acme.scope():
        SLAPolicy.objects.filter(plan=acme.pro, priority=None).update(
            first_response_minutes=720, next_response_minutes=720
        )
    from sla.selectors import forget_policy_book

    forget_policy_book(acme.tenant.pk)
    pages = {
        "home": acme.client(acme.customer).get("/"),
        "new request": acme.client(acme.customer).get("/tickets/new/"),
        "service levels": acme.client().get("/service-levels/"),
        "upsell of a Free customer": acme.client(acme.other_customer).get("/"),
    }
    for name, response in pages.items():
        body = response.content.decode()
        assert "12 business hours" in body, name
        assert "24 business hours" not in body and "24 hours" not in body, name


def test_the_text_is_in_the_readers_language(acme):
    client = acme.client(acme.customer)
    assert "Priority email and web support." in client.get("/").content.decode()
    chinese = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "优先处理的邮件和网页支持。" in chinese
    # Without a Chinese version, the English text.
    with acme.scope():
        Plan.objects.filter(pk=acme.pro.pk).update(help_center_blurb_zh_hans="")
    chinese = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Priority email and web support." in chinese


def test_the_migration_replaces_only_untouched_default_texts():
    from importlib import import_module

    migration = import_module("plans.migrations.0004_plan_texts_upgrades_settings")
    new_texts = {rank: english for rank, (english, _zh) in migration.NEW_DEFAULTS.items()}
    assert new_texts == {spec["rank"]: spec["help_center_blurb"] for spec in DEFAULT_PLANS}
    for old in migration.OLD_DEFAULTS:
        assert response_time_in(old)


# -- the way up: an upgrade page, or a request filed for the customer ---------------------


def test_without_an_upgrade_page_a_customer_asks_and_a_request_is_filed(acme):
    client = acme.client(acme.other_customer)  # Free, no success manager
    home = client.get("/").content.decode()
    assert 'action="/upgrade/2/ask/"' in home and 'action="/upgrade/1/ask/"' in home
    assert "Talk to your account owner" not in home

    response = client.post("/upgrade/2/ask/")
    with acme.scope():
        ticket = Ticket.objects.get(requester=acme.other_customer)
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.number}/"
    assert ticket.subject == "Upgrade enquiry: Pro+"
    assert ticket.tags == ["upgrade"] and ticket.assignee is None
    assert ticket.organization == acme.other_org
    page = client.get(response["Location"]).content.decode()
    assert "we have your question about Pro+" in page
    assert "moving Acme Analytics Other Co from Free to Pro+" in page

    # Asking again while it is open files nothing new.
    again = client.post("/upgrade/2/ask/")
    assert again["Location"] == f"/tickets/{ticket.number}/"
    with acme.scope():
        assert Ticket.objects.filter(requester=acme.other_customer).count() == 1
        interest = list(UpgradeInterest.objects.values_list("kind", "plan__name", "ticket"))
    assert interest == [("enquiry", "Pro+", ticket.pk)]


def test_the_request_goes_to_the_organizations_success_manager_in_the_askers_language(acme):
    with acme.scope():
        acme.org.success_manager = acme.agent
        acme.org.save()
    client = acme.client(acme.customer)
    client.post("/upgrade/2/ask/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    with acme.scope():
        ticket = Ticket.objects.get(requester=acme.customer)
    assert ticket.assignee == acme.agent
    with translation.override("zh-hans"):
        assert ticket.subject == translation.gettext("Upgrade enquiry: %(plan)s") % {"plan": "Pro+"}
    assert ticket.subject != "Upgrade enquiry: Pro+"


def test_with_an_upgrade_page_the_click_is_counted_on_the_way_out(acme):
    with acme.scope():
        Plan.objects.filter(pk=acme.pro_plus.pk).update(
            upgrade_url="https://billing.acme.example/pro-plus"
        )
        plan_settings(tenant=acme.tenant)
        PlanSettings.objects.update(upgrade_url="https://acme.example/pricing")
    client = acme.client(acme.other_customer)
    home = client.get("/").content.decode()
    assert 'href="/upgrade/2/"' in home and 'href="/upgrade/1/"' in home
    assert "/upgrade/2/ask/" not in home

    response = client.get("/upgrade/2/")
    assert response.status_code == 302
    assert response["Location"] == "https://billing.acme.example/pro-plus"
    # Pro has no page of its own: the desk's.
    assert client.get("/upgrade/1/")["Location"] == "https://acme.example/pricing"
    with acme.scope():
        clicks = list(
            UpgradeInterest.objects.order_by("pk").values_list("kind", "plan__name", "from_plan")
        )
    assert clicks == [("click", "Pro+", acme.free.pk), ("click", "Pro", acme.free.pk)]


def test_the_upgrade_routes_refuse_what_is_not_an_upgrade(acme, globex):
    customer = acme.client(acme.customer)  # Pro
    assert customer.get("/upgrade/1/").status_code == 404  # their own plan
    assert customer.post("/upgrade/0/ask/").status_code == 404  # a lower one
    assert customer.post("/upgrade/9/ask/").status_code == 404  # none
    assert customer.get("/upgrade/2/").status_code == 404  # no upgrade page: ask instead
    assert customer.get("/upgrade/2/ask/").status_code == 405
    assert customer.post("/upgrade/2/").status_code == 405
    # Staff have no plan to upgrade.
    assert acme.client(acme.agent).post("/upgrade/2/ask/").status_code == 403
    # Nobody, and a person of another desk, are asked to sign in.
    assert_asked_to_sign_in(acme.client().post("/upgrade/2/ask/"))
    assert_asked_to_sign_in(
        globex.client(globex.customer).post("/upgrade/2/ask/", HTTP_HOST=acme.host)
    )
    with acme.scope():
        assert not UpgradeInterest.objects.exists() and not Ticket.objects.exists()


def test_asking_and_clicking_are_upsell_signals_on_the_workspace(acme):
    with acme.scope():
        Plan.objects.filter(pk=acme.pro_plus.pk).update(upgrade_url="https://x.example/buy")
    client = acme.client(acme.other_customer)
    client.get("/upgrade/2/")
    client.get("/upgrade/2/")
    client.post("/upgrade/1/ask/")
    # A loner without an organization is counted nowhere (signals are per organization).
    loner = make_member(acme.tenant, "loner@gmail.example", Role.CUSTOMER)
    acme.client(loner).get("/upgrade/2/")
    with acme.scope():
        signals = {
            s.organization.name: s for s in upsell_signals(acme.tenant, timezone.localdate())
        }
        number = Ticket.objects.get(requester=acme.other_customer).number
    signal = signals["Acme Analytics Other Co"]
    assert signal.reasons == ["asked_to_upgrade"]
    assert (signal.upgrade_clicks, signal.upgrade_enquiries, signal.enquiry_number) == (
        2,
        1,
        number,
    )
    page = acme.client(acme.agent).get("/agent/success/").content.decode()
    assert "Opened the upgrade page 2 times in 30 days" in page
    assert f'asked about upgrading 1 time (<a href="/agent/tickets/{number}/">' in page


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_file_one_request(acme):
    import threading

    from django.db import connection

    from helpdesk.models import Membership
    from success.upgrades import upgrade_enquiry_file

    results, errors = [], []
    barrier = threading.Barrier(3)

    def ask():
        try:
            with acme.scope():
                membership = Membership.objects.select_related("tenant", "user").get(
                    user=acme.other_customer
                )
                barrier.wait()
                ticket, filed = upgrade_enquiry_file(membership=membership, plan=acme.pro_plus)
                results.append((ticket.pk, filed))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({pk for pk, _filed in results}) == 1
    assert sorted(filed for _pk, filed in results) == [False, False, True]
    with acme.scope():
        assert Ticket.objects.filter(requester=acme.other_customer).count() == 1
        assert UpgradeInterest.objects.count() == 1
