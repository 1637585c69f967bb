"""What our receiving mail server found out about a mail's sender (RFC 8601).

A receiving server that checks DMARC, DKIM and SPF writes its verdict into the mail
as `Authentication-Results: <authserv-id>; dmarc=pass header.from=example.com; ...`.
Anyone can write such a header into a mail before sending it, so only the headers
naming our own server's authserv-id (`INBOUND_AUTHSERV_ID`) are read. That server
adds its header above the ones already in the mail and, as RFC 8601 section 5 asks
and OpenDMARC, rspamd and the big providers do, removes any claiming its id; so for
each method the topmost trusted header reporting it is taken, and a DMARC fail in
any trusted header stands.

A DMARC result counts only for the domain of the mail's From address: a pass for a
domain the sender owns says nothing about the address they put in From.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings

# dmarc/dkim/spf results, RFC 8601 section 2.7 and RFC 7489 section 11.2.
PASS, FAIL = "pass", "fail"
METHODS = ("dmarc", "dkim", "spf")
# A mail with hundreds of these headers is not read past the first few.
MAX_HEADERS_READ = 20
_EQUALS = re.compile(r"\s*([=/])\s*")


@dataclass(frozen=True)
class MethodResult:
    method: str  # "dmarc", lowercased
    result: str  # "pass", lowercased
    properties: dict[str, str] = field(default_factory=dict)  # {"header.from": "example.com"}


@dataclass(frozen=True)
class AuthenticationResults:
    """One Authentication-Results header: who wrote it, and what it says."""

    authserv_id: str
    results: tuple[MethodResult, ...]

    def of(self, method: str) -> list[MethodResult]:
        return [result for result in self.results if result.method == method]


@dataclass(frozen=True)
class SenderAuthentication:
    """The trusted verdict on one mail's sender; "" for a method no trusted header
    reported (no header, or a server that does not check it)."""

    dmarc: str = ""
    dkim: str = ""
    spf: str = ""

    @property
    def dmarc_passed(self) -> bool:
        return self.dmarc == PASS

    @property
    def dmarc_failed(self) -> bool:
        return self.dmarc == FAIL

    def as_json(self) -> dict[str, str]:
        return {method: getattr(self, method) for method in METHODS if getattr(self, method)}


def _lexemes(value: str) -> list[list[str]]:
    """The header's `;`-separated parts, each as its words: comments (nested
    parentheses) dropped, quoted strings kept whole and unquoted, `a = b` as `a=b`."""
    parts: list[list[str]] = [[]]
    word: list[str] = []
    depth = 0
    quoted = False
    escaped = False

    def end_word():
        if word:
            parts[-1].append("".join(word))
            word.clear()

    normalized = _EQUALS.sub(r"\1", " ".join(value.split()))
    for char in normalized:
        if escaped:
            if depth == 0:
                word.append(char)
            escaped = False
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            if char == '"':
                quoted = False
            else:
                word.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth:
            continue
        elif char == '"':
            quoted = True
        elif char == ";":
            end_word()
            parts.append([])
        elif char.isspace():
            end_word()
        else:
            word.append(char)
    end_word()
    return parts


def parse_authentication_results(value: str) -> AuthenticationResults | None:
    """One header's value, or None if it names no authserv-id.

    `mx.example.com 1; dkim=pass (good) header.d=example.com; dmarc=fail
    header.from=example.org` gives the id `mx.example.com` and two results.
    """
    parts = _lexemes(value)
    if not parts[0]:
        return None
    authserv_id = parts[0][0].lower()
    results = []
    for words in parts[1:]:
        if not words or "=" not in words[0]:
            continue  # "none", or a part we cannot read
        method, _equals, result = words[0].partition("=")
        properties = {}
        for word in words[1:]:
            key, equals, item = word.partition("=")
            if equals and "." in key:
                properties[key.lower()] = item
        results.append(
            MethodResult(
                method=method.split("/")[0].lower(),
                result=result.lower(),
                properties=properties,
            )
        )
    return AuthenticationResults(authserv_id=authserv_id, results=tuple(results))


def trusted_authserv_ids() -> frozenset[str]:
    return frozenset(item.lower() for item in settings.INBOUND_AUTHSERV_ID)


def sender_authentication(
    header_values: Iterable[str], *, sender: str, trusted: frozenset[str] | None = None
) -> SenderAuthentication:
    """The verdict of our receiving server (its headers only) on a mail from
    `sender`, given its Authentication-Results headers from the top down."""
    trusted = trusted_authserv_ids() if trusted is None else trusted
    if not trusted:
        return SenderAuthentication()
    from_domain = sender.rpartition("@")[2].lower()
    found: dict[str, str] = {}
    dmarc_failed = False
    for value in list(header_values)[:MAX_HEADERS_READ]:
        header = parse_authentication_results(value)
        if header is None or header.authserv_id not in trusted:
            continue
        for result in header.of("dmarc"):
            checked = result.properties.get("header.from", from_domain).lower()
            if checked != from_domain:
                continue  # about another domain than the From's
            dmarc_failed = dmarc_failed or result.result == FAIL
            found.setdefault("dmarc", result.result)
        for method in ("dkim", "spf"):
            results = header.of(method)
            if results and method not in found:
                # Several DKIM signatures: one that passes is what the agent is shown.
                passed = [r.result for r in results if r.result == PASS]
                found[method] = (passed or [results[0].result])[0]
    if dmarc_failed:
        found["dmarc"] = FAIL
    return SenderAuthentication(**found)
