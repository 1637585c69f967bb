"""Countries for the public-holiday import: one entry per country the `holidays`
package knows, named in the reader's language (English or Chinese), and the country a
time zone belongs to, so the import can start from the desk's own country.

The data is sla/data/countries.json, built by sla/data/build_countries.py from ISO
3166-1 as the iso-codes project names it (English, and its zh_CN translation) and from
the tz database's zone table, so nothing is downloaded or parsed at run time.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from pathlib import Path

from django.utils.translation import get_language

DATA = Path(__file__).with_name("data") / "countries.json"


@functools.cache
def _countries() -> tuple[dict, ...]:
    return tuple(json.loads(DATA.read_text(encoding="utf-8")))


@functools.cache
def _by_zone() -> dict[str, str]:
    return {zone: country["code"] for country in _countries() for zone in country["zones"]}


def _sort_key(name: str) -> str:
    """'Åland Islands' sorts with A, 'Côte d'Ivoire' with C."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def country_choices() -> list[tuple[str, str]]:
    """(ISO code, name) of every country, in the active language: English names in
    alphabetical order; Chinese ones as "中国 (CN)" in the order of their characters'
    code points, which follow the dictionaries' radical-and-stroke order (there is no
    pinyin collation here). Chinese pages carry no English names (the code tells apart
    the few a reader might confuse)."""
    if (get_language() or "").startswith("zh"):
        countries = sorted(_countries(), key=lambda c: c["zh_hans"])
        return [(c["code"], f"{c['zh_hans']} ({c['code']})") for c in countries]
    countries = sorted(_countries(), key=lambda c: _sort_key(c["en"]))
    return [(c["code"], c["en"]) for c in countries]


def country_for_zone(time_zone: str) -> str | None:
    """The ISO code of the country whose time zone this is ('Asia/Shanghai' -> 'CN');
    None for zones of no one country (UTC, Etc/GMT+8)."""
    return _by_zone().get(time_zone)
