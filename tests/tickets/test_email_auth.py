"""Reading Authentication-Results (RFC 8601): only our receiving server's headers
count, and a DMARC result only for the domain of the From address."""

import pytest

from tickets.email_auth import parse_authentication_results, sender_authentication

OURS = frozenset({"mx.helpdesk.test"})
SENDER = "carol@acme-co.example"


def verdict(*headers, sender=SENDER, trusted=OURS):
    return sender_authentication(list(headers), sender=sender, trusted=trusted)


def test_a_header_is_read_with_its_comments_quotes_and_versions():
    header = parse_authentication_results(
        "MX.Helpdesk.test 1; (checked (twice)) dkim/1 = pass (good signature)\r\n"
        ' header.d=acme-co.example header.s="sel 1";\r\n'
        "\tspf=softfail smtp.mailfrom=acme-co.example; "
        'dmarc=PASS reason="aligned; relaxed" header.from=Acme-Co.example (p=reject)'
    )
    assert header.authserv_id == "mx.helpdesk.test"
    assert [(r.method, r.result) for r in header.results] == [
        ("dkim", "pass"),
        ("spf", "softfail"),
        ("dmarc", "pass"),
    ]
    assert header.of("dkim")[0].properties == {"header.d": "acme-co.example", "header.s": "sel 1"}
    assert header.of("dmarc")[0].properties == {"header.from": "Acme-Co.example"}


@pytest.mark.parametrize("value", ["", "   ", "(only a comment)"])
def test_a_header_without_an_authserv_id_is_nothing(value):
    assert parse_authentication_results(value) is None


def test_a_header_that_checked_nothing_has_no_results():
    assert parse_authentication_results("mx.helpdesk.test; none").results == ()


@pytest.mark.parametrize("dmarc", ["pass", "fail", "none", "temperror"])
def test_our_servers_dmarc_result_is_read(dmarc):
    result = verdict(f"mx.helpdesk.test; dmarc={dmarc} header.from=acme-co.example")
    assert result.dmarc == dmarc
    assert result.dmarc_passed == (dmarc == "pass")
    assert result.dmarc_failed == (dmarc == "fail")


def test_a_header_forged_from_outside_is_not_believed():
    """Anyone can write Authentication-Results into their mail: another authserv-id
    than ours, or one that only resembles it, is ignored."""
    for forged in (
        "mx.evil.example; dmarc=pass header.from=acme-co.example",
        "mx.helpdesk.test.evil.example; dmarc=pass header.from=acme-co.example",
        "helpdesk.test; dmarc=pass header.from=acme-co.example",
    ):
        assert verdict(forged).as_json() == {}


def test_nothing_is_believed_when_no_server_of_ours_is_configured():
    assert verdict("mx.helpdesk.test; dmarc=pass", trusted=frozenset()).as_json() == {}


def test_a_dmarc_result_for_another_domain_than_the_froms_does_not_count():
    """The sender passed DMARC for their own domain, not for the address in From."""
    assert verdict("mx.helpdesk.test; dmarc=pass header.from=evil.example").dmarc == ""
    assert verdict("mx.helpdesk.test; dmarc=fail header.from=evil.example").dmarc == ""


def test_several_of_our_headers_the_topmost_reporting_a_method_wins():
    """Our server adds its header on top; methods reported in separate headers
    (one milter each) are all read."""
    result = verdict(
        "mx.helpdesk.test; dmarc=pass header.from=acme-co.example",
        "mx.helpdesk.test; dkim=fail header.d=acme-co.example; dkim=pass header.d=acme-co.example",
        "mx.evil.example; spf=fail",
        "mx.helpdesk.test; spf=pass smtp.mailfrom=acme-co.example; dmarc=none",
    )
    assert result.as_json() == {"dmarc": "pass", "dkim": "pass", "spf": "pass"}


def test_a_dmarc_fail_in_any_of_our_headers_stands():
    result = verdict(
        "mx.helpdesk.test; dmarc=pass header.from=acme-co.example",
        "mx.helpdesk.test; dmarc=fail header.from=acme-co.example",
    )
    assert result.dmarc == "fail" and not result.dmarc_passed


def test_a_hostile_number_of_headers_is_read_only_in_part():
    headers = ["mx.helpdesk.test; none"] * 100 + ["mx.helpdesk.test; dmarc=fail"]
    assert verdict(*headers).dmarc == ""


@pytest.mark.parametrize(
    ("value", "refused"),
    [("mx.helpdesk.test, mx2.helpdesk.test", False), ("mx.helpdesk.test, mx two;", True)],
)
def test_the_setting_refuses_what_is_not_a_server_name(value, refused):
    import os
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "-c", "import helpdesk.settings as s; print(s.INBOUND_AUTHSERV_ID)"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DEBUG": "1", "INBOUND_AUTHSERV_ID": value},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if refused:
        assert result.returncode != 0
        assert "INBOUND_AUTHSERV_ID: 'mx two;' is not a server name" in result.stderr
    else:
        assert result.stdout.strip() == "['mx.helpdesk.test', 'mx2.helpdesk.test']"
