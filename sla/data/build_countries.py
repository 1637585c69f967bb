"""Build sla/data/countries.json: each country the `holidays` package knows, once, with
its English and Chinese names and its time zones. Run again after upgrading `holidays`:

    python -m pip download pycountry --no-deps -d /tmp/pycountry   # not a dependency
    cd /tmp/pycountry && unzip -o pycountry-*.whl
    PYCOUNTRY_DIR=/tmp/pycountry/pycountry .venv/bin/python sla/data/build_countries.py

Names come from ISO 3166-1 as the iso-codes project (Debian's, shipped in pycountry)
writes them: the common name where it has one ("Bolivia", not "Bolivia, Plurinational
State of"), and its zh_CN translation. Time zones come from the tz database's
zone1970.tab/zone.tab (the system's /usr/share/zoneinfo), each link (Asia/Chongqing,
PRC, US/Eastern) resolved to the zone it is a copy of, so sla.countries can tell a desk's
country from its time zone without any of these files at run time.
"""

import gettext
import json
import os
import zoneinfo
from pathlib import Path

import holidays
from holidays import registry

ZONEINFO = Path("/usr/share/zoneinfo")
# Codes `holidays` uses that ISO 3166-1 has not assigned (a user-assigned code).
NOT_IN_ISO = {"XK": ("Kosovo", "科索沃")}
OUT = Path(__file__).with_name("countries.json")


def _zones_by_country() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for line in (ZONEINFO / "zone.tab").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        code, _coords, zone = line.split("\t")[:3]
        found.setdefault(code, set()).add(zone)
    # Links: every other zone name whose data is byte for byte the zone of one country
    # (a copy shared by two countries' zones tells nothing, and is left out).
    listed = {zone for zones in found.values() for zone in zones}
    owners: dict[bytes, set[str]] = {}
    for code, zones in found.items():
        for zone in zones:
            if (ZONEINFO / zone).exists():
                owners.setdefault((ZONEINFO / zone).read_bytes(), set()).add(code)
    for name in zoneinfo.available_timezones() - listed:
        path = ZONEINFO / name
        codes = owners.get(path.read_bytes(), set()) if path.exists() else set()
        if len(codes) == 1:
            found[next(iter(codes))].add(name)
    return found


def main() -> None:
    base = Path(os.environ["PYCOUNTRY_DIR"])
    records = json.loads((base / "databases/iso3166-1.json").read_text())["3166-1"]
    by_code = {r["alpha_2"]: r for r in records}
    chinese = gettext.translation("iso3166-1", base / "locales", languages=["zh_CN"])
    zones = _zones_by_country()
    supported = {alpha2 for _cls, alpha2, *_rest in registry.COUNTRIES.values()}
    countries = []
    for code in sorted(supported):
        if code in NOT_IN_ISO:
            english, in_chinese = NOT_IN_ISO[code]
        else:
            record = by_code[code]
            english = record.get("common_name") or record["name"]
            in_chinese = chinese.gettext(english)
            if in_chinese == english:
                in_chinese = chinese.gettext(record["name"])
        countries.append(
            {
                "code": code,
                "en": english,
                "zh_hans": in_chinese,
                "zones": sorted(zones.get(code, ())),
            }
        )
    OUT.write_text(json.dumps(countries, ensure_ascii=False, indent=0) + "\n")
    print(f"{len(countries)} countries (holidays {holidays.__version__}) -> {OUT}")


if __name__ == "__main__":
    main()
