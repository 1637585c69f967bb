"""Second factors in tests: codes computed from the secret as an authenticator app does
(RFC 6238), enrolment through allauth's own models, platform operators, and a session
that passed the second factor.

allauth accepts each code once (per 30-second step and person): a test that needs two
codes in a row moves the clock (time_machine) or uses a recovery code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)
from allauth.account.internal.userkit import user_id_to_str
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from helpdesk.models import User
from tests.helpdesk.factories import PASSWORD

OPERATOR_EMAIL = "op@platform.example"


def totp_code(secret: str, *, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """The code an authenticator app shows for `secret` at time `at` (RFC 6238 over
    RFC 4226's HOTP with HMAC-SHA1)."""
    key = base64.b32decode(secret, casefold=True)
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


def enrol_totp(user: User) -> str:
    """Give `user` an authenticator app and recovery codes, as enrolling does; the secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def recovery_codes(user: User) -> list[str]:
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return codes.wrap().get_unused_codes()


def pass_second_factor(client: Client, user: User) -> Client:
    """Record in the client's session, as allauth's sign-in does, that it passed a second
    factor (for tests about what such a session may do, not about how it got there)."""
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "email": user.email},
        {"method": "mfa", "at": now, "type": "totp"},
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = user_id_to_str(user)
    session.save()
    return client


def make_operator(email: str = OPERATOR_EMAIL) -> User:
    """A platform operator (no desk), made as `createsuperuser` makes one."""
    existing = User.objects.filter(email__iexact=email, tenant=None).first()
    return existing or User.objects.create_superuser(email=email, password=PASSWORD)


def operator_client(operator: User | None = None, **headers) -> Client:
    """A client on the platform host signed in as an operator who has an authenticator
    app and passed it in this session (operators must, with DEBUG off)."""
    operator = operator or make_operator()
    if not Authenticator.objects.filter(user=operator).exists():
        enrol_totp(operator)
    client = Client(HTTP_HOST="localhost", **headers)
    client.force_login(operator)
    return pass_second_factor(client, operator)
