"""Posting to a URL someone typed, without letting it reach what it must not.

An endpoint's URL is chosen by a desk's admin, so a request to it is a request the
server makes on their behalf: pointed at 127.0.0.1, 10.0.0.5 or 169.254.169.254 it
would read our own services or the cloud's metadata (server-side request forgery).
The rules (docs/webhooks.md#what-an-endpoint-may-point-at):

- http or https only; no user name or password in the URL; a host name or an IP
  address written the usual way (not `2130706433` or `0x7f.1`, which resolvers still
  read as 127.0.0.1);
- the host is resolved once, and every address it resolves to must be a public one:
  not private, loopback, link-local, multicast, reserved or unspecified, also when
  wrapped in IPv6 (`::ffff:127.0.0.1`, 6to4, Teredo, NAT64), unless it is in a network
  the operator allows (WEBHOOK_ALLOWED_PRIVATE_NETWORKS);
- the connection goes to an address so checked, never to a second resolution (a DNS
  answer that changes between check and connect cannot move it), while the Host header
  and TLS (SNI and the certificate check) keep the host name;
- redirects are never followed, the connection has `WEBHOOK_CONNECT_TIMEOUT` seconds and
  the whole request `WEBHOOK_TIMEOUT`, and only the first 2 KB of the answer are read.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

EXCERPT_BYTES = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Labels a resolver reads as a number (decimal, octal, hex): `127.1`, `0x7f.0.0.1`.
NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


class UnsafeTarget(Exception):
    """The URL may not be called; the message says why, for the desk's admin."""


@dataclass(frozen=True)
class Target:
    """A URL checked for posting: where to connect (the checked addresses) and what
    to say there (its host name, port and path)."""

    scheme: str
    host: str
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Response:
    status: int | None  # None: no HTTP answer (refused, timed out, TLS failed ...)
    ms: int
    excerpt: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(n, strict=False) for n in settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS
    ]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo's client, NAT64)."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why a request may not go to `address` (None: it may)."""
    # An IPv6 address carrying an IPv4 one reaches that one: it is judged as that one.
    ip = address
    if isinstance(address, ipaddress.IPv6Address) and (inner := _embedded_ipv4(address)):
        ip = inner
    if any(ip.version == net.version and ip in net for net in allowed_networks()):
        return None
    problem = _kind_of_non_public(ip)
    return problem % {"address": address} if problem else None


def _kind_of_non_public(ip: IPAddress) -> str | None:
    if ip.is_loopback:
        return _(
            "%(address)s is this server itself (loopback); the operator has not allowed "
            "such targets."
        )
    if ip.is_unspecified:
        return _(
            "%(address)s is the unspecified address; the operator has not allowed such targets."
        )
    if ip.is_link_local:
        return _(
            "%(address)s is a link-local address (where cloud metadata services answer); "
            "the operator has not allowed such targets."
        )
    if ip.is_multicast:
        return _("%(address)s is a multicast address; the operator has not allowed such targets.")
    if ip.is_private:
        return _("%(address)s is in a private network; the operator has not allowed such targets.")
    # fec0::/10 (IPv6's site-local, deprecated but routed on some private networks):
    # Python calls it global, and neither private nor reserved.
    if ip.is_reserved or not ip.is_global or getattr(ip, "is_site_local", False):
        return _(
            "%(address)s is not a public internet address; the operator has not allowed "
            "such targets."
        )
    return None


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path and query) of a URL we may call, or UnsafeTarget."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeTarget(_("This is not a valid URL.")) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeTarget(_("Use an address that starts with http:// or https://."))
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget(
            _(
                "Leave the user name and password out of the address: chat tools put "
                "their key in the path or the query."
            )
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget(_("The address has no host name."))
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise UnsafeTarget(_("This is not a valid URL."))
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if all(NUMERIC_LABEL.match(label) for label in host.split(".")):
            raise UnsafeTarget(
                _("Write an IP address in its usual form, such as 203.0.113.7.")
            ) from None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """Check `url` and resolve its host once; every address must pass (UnsafeTarget)."""
    scheme, host, port, path = split_url(url)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeTarget(
            _("The host name %(host)s could not be found.") % {"host": host}
        ) from None
    addresses = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if problem := address_problem(address):
            # One bad address is enough: a resolver may hand out any of them.
            raise UnsafeTarget(problem)
        if str(address) not in addresses:
            addresses.append(str(address))
    if not addresses:
        raise UnsafeTarget(_("The host name %(host)s could not be found.") % {"host": host})
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=tuple(addresses))


class _PinnedConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, whatever DNS says now; the Host
    header stays the URL's host."""

    def __init__(self, target: Target, *, connect_timeout: float, timeout: float, **kw) -> None:
        super().__init__(target.host, target.port, timeout=timeout, **kw)
        self.target = target
        self.connect_timeout = connect_timeout

    def _connect_pinned(self) -> socket.socket:
        error: OSError | None = None
        for address in self.target.addresses:
            # A socket of our own, not create_connection: nothing resolves anything again.
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(self.connect_timeout)
            try:
                sock.connect((address, self.port))
            except OSError as failed:
                sock.close()
                error = failed
                continue
            sock.settimeout(self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        raise error or OSError("no address to connect to")

    def connect(self) -> None:
        self.sock = self._connect_pinned()


class _PinnedTLSConnection(_PinnedConnection):
    def __init__(self, target: Target, **kw) -> None:
        super().__init__(target, **kw)
        self.tls = ssl.create_default_context()

    def connect(self) -> None:
        # SNI and the certificate's name check are the URL's host, not the address.
        self.sock = self.tls.wrap_socket(self._connect_pinned(), server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body` to a checked target; never raises for what the other side does."""
    connection_class = _PinnedTLSConnection if target.scheme == "https" else _PinnedConnection
    total = float(settings.WEBHOOK_TIMEOUT)
    connection = connection_class(
        target, connect_timeout=min(float(settings.WEBHOOK_CONNECT_TIMEOUT), total), timeout=total
    )
    started = time.monotonic()
    # A socket timeout bounds each read, not the request: a server that drips a byte at
    # a time would outlast it. At the deadline the socket is shut, whatever it is doing.
    deadline = threading.Timer(total, _shut, args=(connection,))
    deadline.daemon = True
    deadline.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        answer = connection.getresponse()
        excerpt = answer.read(EXCERPT_BYTES).decode("utf-8", errors="replace")
        status = answer.status
        error = ""
        if 300 <= status < 400:
            location = answer.getheader("Location", "")[:500]
            error = _("Redirect to %(location)s not followed.") % {"location": location or "?"}
        return Response(status=status, ms=_ms_since(started), excerpt=excerpt, error=error)
    except (OSError, http.client.HTTPException, ValueError) as failure:
        if time.monotonic() - started >= total - 0.05:
            message = _("No complete answer within %(seconds)s seconds.") % {
                "seconds": f"{total:g}"
            }
        else:
            message = f"{type(failure).__name__}: {failure}"
        return Response(status=None, ms=_ms_since(started), error=message[:1000])
    finally:
        deadline.cancel()
        connection.close()


def _shut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
