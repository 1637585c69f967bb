"""An https endpoint is reached at the checked address while TLS speaks to the URL's
host: the server name (SNI) and the certificate's name are the host's, not the IP's."""

import datetime
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.tickets.factories import make_ticket
from tests.webhooks.factories import deliveries, make_endpoint
from tests.webhooks.receiver import Receiver
from webhooks import network

pytestmark = pytest.mark.django_db


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool, names=()):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_for(tmp_path, monkeypatch, settings):
    """A receiver serving https with a certificate for `name` from a test CA that our
    client trusts; `hooks.example.test` resolves to 127.0.0.1 (allowed here)."""
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Test CA", ca_key, "Test CA", ca_key, ca=True)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    trusting = ssl.create_default_context(cafile=str(ca_file))
    monkeypatch.setattr(network.ssl, "create_default_context", lambda: trusting)

    def resolve(host, port, *args, **kwargs):
        assert host == "hooks.example.test"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(network.socket, "getaddrinfo", resolve)
    receivers = []

    def serve(name: str) -> Receiver:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(name, key, "Test CA", ca_key, ca=False, names=[name])
        (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (tmp_path / "key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_side.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
        receivers.append(Receiver(tls=server_side))
        return receivers[-1]

    yield serve
    for receiver in receivers:
        receiver.stop()


def test_https_reaches_the_checked_address_with_the_hosts_name_and_certificate(
    acme, tls_for, django_capture_on_commit_callbacks
):
    receiver = tls_for("hooks.example.test")
    make_endpoint(acme, f"https://hooks.example.test:{receiver.port}/in")
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(acme)
    [request] = receiver.requests
    assert request.header("Host") == f"hooks.example.test:{receiver.port}"
    assert deliveries(acme)[0].status == "succeeded"


def test_a_certificate_for_another_name_is_refused(
    acme, tls_for, django_capture_on_commit_callbacks
):
    receiver = tls_for("someone-else.example.test")
    make_endpoint(acme, f"https://hooks.example.test:{receiver.port}/in")
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(acme)
    assert receiver.requests == []
    [delivery] = deliveries(acme)
    assert delivery.status == "pending"
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.error
    assert "hooks.example.test" in delivery.error
