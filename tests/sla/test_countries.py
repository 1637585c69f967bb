"""The holiday import's countries (issue 16): one entry per country, named in the
admin's language, starting from the desk's own country."""

import holidays
import pytest
from django.utils import translation
from holidays import registry

from helpdesk.models import Tenant
from sla.countries import country_choices, country_for_zone
from sla.models import BusinessCalendar


def test_one_entry_per_country_the_holidays_package_knows():
    codes = [code for code, _name in country_choices()]
    assert len(codes) == len(set(codes))
    # Each country of the package once (its two- and three-letter codes were two entries).
    assert set(codes) == {alpha2 for _cls, alpha2, *_rest in registry.COUNTRIES.values()}
    assert set(codes) <= set(holidays.list_supported_countries())
    assert "AFG" not in codes and "AF" in codes


def test_names_in_english_and_chinese_in_alphabetical_order():
    english = dict(country_choices())
    assert english["CN"] == "China" and english["US"] == "United States"
    assert english["BO"] == "Bolivia" and english["KR"] == "South Korea"
    names = [name for _code, name in country_choices()]
    assert names.index("Åland Islands") < names.index("Albania") < names.index("Zimbabwe")
    with translation.override("zh-hans"):
        chinese = dict(country_choices())
    assert chinese["CN"] == "中国 (CN)" and chinese["DE"] == "德国 (DE)"
    assert all(name != code for code, name in chinese.items())


@pytest.mark.parametrize(
    ("zone", "country"),
    [
        ("Asia/Shanghai", "CN"),
        ("Asia/Chongqing", "CN"),  # a link to Shanghai
        ("PRC", "CN"),
        ("Europe/Berlin", "DE"),
        ("America/Los_Angeles", "US"),
        ("US/Eastern", "US"),
        ("Europe/Zurich", "CH"),
        ("UTC", None),
        ("Etc/GMT+8", None),
    ],
)
def test_the_country_of_a_time_zone(zone, country):
    assert country_for_zone(zone) == country


def test_every_time_zone_a_desk_may_choose_finds_its_country_or_none():
    from helpdesk.models import TIME_ZONE_CHOICES

    known = {code for code, _name in country_choices()}
    found = {country_for_zone(zone) for zone, _label in TIME_ZONE_CHOICES} - {None}
    assert found <= known
    # Most zones belong to a country: only the Etc/ ones, UTC and a few oceans do not.
    orphans = [z for z, _l in TIME_ZONE_CHOICES if country_for_zone(z) is None]
    assert len(orphans) < 0.15 * len(TIME_ZONE_CHOICES), orphans


def _import_page(desk, calendar, **headers):
    url = f"/admin/sla/businesscalendar/{calendar.pk}/import-holidays/"
    return desk.client(desk.admin).get(url, **headers)


def test_the_import_starts_from_the_calendars_country_then_the_desks(acme):
    with acme.scope():
        calendar = BusinessCalendar.objects.get(is_default=True)
        BusinessCalendar.objects.filter(pk=calendar.pk).update(time_zone="Asia/Shanghai")
    form = _import_page(acme, calendar).context["form"]
    assert form["country"].value() == "CN"
    page = _import_page(acme, calendar).content.decode()
    assert '<option value="CN" selected>China</option>' in page
    assert "Aruba" in page and '<option value="AW" selected' not in page

    # A calendar in UTC: the desk's zone decides.
    with acme.scope():
        BusinessCalendar.objects.filter(pk=calendar.pk).update(time_zone="UTC")
    Tenant.objects.filter(pk=acme.tenant.pk).update(time_zone="Europe/Berlin")
    assert _import_page(acme, calendar).context["form"]["country"].value() == "DE"

    # Neither tells: nothing is chosen for the admin (no Aruba).
    Tenant.objects.filter(pk=acme.tenant.pk).update(time_zone="UTC")
    form = _import_page(acme, calendar).context["form"]
    assert form["country"].value() == ""
    chinese = _import_page(acme, calendar, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<option value="CN">中国 (CN)</option>' in chinese


def test_no_country_chosen_is_a_form_error(acme):
    with acme.scope():
        calendar = BusinessCalendar.objects.get(is_default=True)
    url = f"/admin/sla/businesscalendar/{calendar.pk}/import-holidays/"
    response = acme.client(acme.admin).post(url, {"country": "", "year": "2025"})
    assert response.status_code == 200
    assert response.context["form"].errors["country"]
