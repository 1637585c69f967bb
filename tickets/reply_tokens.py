"""Reply addresses that prove who replied: a token per recipient of each email.

Every email about a ticket carries `Reply-To: reply+<token>@INBOUND_EMAIL_DOMAIN`
with a token issued to its one recipient for that ticket, in the transaction that
queues the email. A reply to that address whose From is the recipient's was written
by them (no one else was sent the token); any other From, by someone who was shown
or forwarded the address, proves nothing (tickets/inbound.py decides what it is).

Tokens are 160 random bits written in lowercase base32 (some mail systems lowercase
addresses); only their SHA-256 is stored. The ticket's own `reply_token`, in every
email sent before tokens were per recipient, still says which ticket a reply is
about, never who wrote it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass

from django.conf import settings

from helpdesk.models import User
from tickets.models import ReplyToken, Ticket

# Per-recipient tokens are 32 characters; a ticket's older token is 24.
TOKEN_ADDRESS = re.compile(r"reply\+([A-Za-z0-9_-]{16,40})@", re.IGNORECASE)
# A hostile mail could name thousands of addresses; the first few are plenty.
MAX_TOKENS_READ = 10


@dataclass(frozen=True)
class TokenMatch:
    """A reply token found in a mail's recipients: its ticket and, for a per-recipient
    token, the person it was issued to (None for a ticket's own, older token)."""

    ticket: Ticket
    owner_id: int | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.lower().encode()).hexdigest()


def reply_token_issue(*, ticket: Ticket, user: User) -> str:
    """A new token for `user`'s email about `ticket` (stored as a digest in the
    caller's transaction, so it exists exactly when the email does)."""
    token = base64.b32encode(secrets.token_bytes(20)).decode().lower()
    ReplyToken.objects.create(
        tenant_id=ticket.tenant_id, ticket=ticket, user=user, digest=_digest(token)
    )
    return token


def reply_address(token: str) -> str:
    return f"reply+{token}@{settings.INBOUND_EMAIL_DOMAIN}"


def reply_tokens_in(recipients: str) -> list[TokenMatch]:
    """The tickets (of the desk in scope) that reply tokens in these recipient
    headers name, in the order they appear; unknown tokens are left out."""
    tokens = list(dict.fromkeys(TOKEN_ADDRESS.findall(recipients)))[:MAX_TOKENS_READ]
    if not tokens:
        return []
    issued = {
        row.digest: row
        for row in ReplyToken.objects.filter(
            digest__in=[_digest(t) for t in tokens]
        ).select_related("ticket")
    }
    # A ticket's own token is matched as it was written (they are mixed case).
    legacy = {
        ticket.reply_token: ticket for ticket in Ticket.objects.filter(reply_token__in=tokens)
    }
    found = []
    for token in tokens:
        row = issued.get(_digest(token))
        if row is not None:
            found.append(TokenMatch(row.ticket, row.user_id))
        elif token in legacy:
            found.append(TokenMatch(legacy[token], None))
    return found
