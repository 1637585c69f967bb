"""Agents' ticket search: every word of a ticket, found as the knowledge base finds words.

Each ticket has one search document (`TicketSearch`, a table of its own so that the
ticket's frequent updates never rewrite it): PostgreSQL full-text (`english`: stemmed,
"crashes" finds "crashed"), over text cut into words first (Chinese by jieba, as
helpdesk.highlight.segment does for the knowledge base), weighted

- A: the subject;
- B: the requester's name and email (its name and domain also as words), the
  organization's name, the tags;
- D: every message, public or internal (chat lines are messages), without positions.

It is written with the change, in its transaction: built when the ticket is created
or its subject, tags or requester change (`search_index`), and a message's words
appended when it is added (`search_add_message`), so what was just written is found.
`manage.py reindex_tickets` rebuilds documents (tickets written by bulk tools).
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, Q, QuerySet

from helpdesk.highlight import excerpt, matches, mentioning, segment, words_of
from tickets.models import Message, Ticket, TicketSearch

CONFIG = "english"
# Words typed into a search box that say nothing (they would match every ticket).
IGNORED = frozenset({"the", "a", "an", "of", "to", "and", "or", "is", "in", "on", "for", "的"})


def _words(text: str) -> str:
    return " ".join(segment(text))


def search_index(ticket: Ticket, *, bodies: list[str] | None = None) -> None:
    """Build the ticket's document from the ticket and its messages (`bodies`, when the
    caller has them all: a new ticket's description; else read)."""
    if bodies is None:
        reindex(ticket_id=ticket.pk, only_missing=False)
        return
    requester = ticket.requester
    organization = ticket.organization.name if ticket.organization_id else ""
    _store(
        [(ticket.pk, ticket.tenant_id, ticket.subject, requester.full_name or "",
          requester.email, organization, ticket.tags, "\n".join(bodies))]
    )  # fmt: skip


def search_add_message(ticket_id: int, body: str) -> None:
    """Append a new message's words to its ticket's document."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TicketSearch._meta.db_table} "  # noqa: S608 - our table
            "SET document = document || strip(to_tsvector(%s, %s)) WHERE ticket_id = %s",
            [CONFIG, _words(body), ticket_id],
        )


def query_of(text: str) -> SearchQuery | None:
    """Every word typed must match (stemmed; Chinese terms as jieba cuts them)."""
    words = [w.lower() for w in words_of(text) if w.lower() not in IGNORED]
    query = None
    for word in dict.fromkeys(words):
        part = SearchQuery(word, config=CONFIG, search_type="plain")
        query = part if query is None else query & part
    return query


def search(tickets: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    """The tickets of `tickets` matching `text`: its words anywhere in the ticket, or
    a ticket number ("429" may also be an error code in a message)."""
    text = text.strip()
    number = text[1:] if text.startswith("#") else text
    by_number = Q(number=int(number)) if number.isascii() and number.isdigit() else Q(pk__in=[])
    if text.startswith("#") and number.isdigit():
        return tickets.filter(by_number)
    query = query_of(text)
    if query is None:
        return tickets.filter(by_number)
    return tickets.filter(Q(search__document=query) | by_number)


# Ranking reads each candidate's whole document: a word in a fifth of a desk's tickets
# would have every one of them read. Best match is found among the most recently
# updated matches, this many (all of them for a rarer word).
RELEVANCE_POOL = 250


def by_relevance(tickets: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    """Search results best first: words in the subject over the people and tags, over
    the messages; then the most recently updated. Among the RELEVANCE_POOL latest
    updated matches."""
    query = query_of(text)
    latest = tickets.order_by("-updated_at", "-pk")
    if query is None:
        return latest
    pool = latest.values("pk")[:RELEVANCE_POOL]
    rank = SearchRank(F("search__document"), query, normalization=32)
    return (
        tickets.model.objects.filter(pk__in=pool)
        .annotate(relevance=rank)
        .order_by(F("relevance").desc(nulls_last=True), "-updated_at", "-pk")
    )


def matching_excerpts(tickets: list[Ticket], text: str, width: int = 140) -> dict:
    """For each ticket of a page, the first of its messages that says what was searched,
    as a window with the words marked (one query for the page's messages, one for the
    stems); a ticket found by its subject, people or number alone has none."""
    words = [w for w in words_of(text) if w.lower() not in IGNORED]
    if not tickets or not words or text.strip().startswith("#"):
        return {}
    rows = list(
        Message.objects.filter(ticket_id__in=[ticket.pk for ticket in tickets])
        .order_by("ticket_id", "pk")
        .values_list("ticket_id", "body")
    )
    # Cutting every message into marked terms is most of the cost: only the messages
    # that may match are cut, in order, until each ticket has its excerpt.
    maybe = mentioning([body for _ticket_id, body in rows], words)
    shown: dict[int, object] = {}
    for (ticket_id, body), candidate in zip(rows, maybe, strict=True):
        if candidate and ticket_id not in shown:
            (terms,) = matches([body], words)
            if terms:
                shown[ticket_id] = excerpt(body, terms, width)
    return shown


def reindex(
    *,
    tenant_id: int | None = None,
    ticket_id: int | None = None,
    only_missing: bool = True,
    batch: int = 500,
) -> int:
    """Build the documents of one ticket, one desk's tickets or every desk's: those
    without one, or all. Plain SQL and rows, so migrations may call it; how many."""
    table = TicketSearch._meta.db_table
    done = 0
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT t.id, t.tenant_id, t.subject, coalesce(u.full_name, ''), u.email,
                       coalesce(o.name, ''), t.tags,
                       (SELECT string_agg(m.body, E'\\n' ORDER BY m.id)
                          FROM tickets_message m WHERE m.ticket_id = t.id)
                  FROM tickets_ticket t
                  JOIN helpdesk_user u ON u.id = t.requester_id
                  LEFT JOIN plans_organization o ON o.id = t.organization_id
                 WHERE t.id > %s AND (%s::bigint IS NULL OR t.tenant_id = %s)
                   AND (%s::bigint IS NULL OR t.id = %s)
                   AND (NOT %s OR NOT EXISTS (SELECT 1 FROM {table} s WHERE s.ticket_id = t.id))
                 ORDER BY t.id LIMIT %s
                """,  # noqa: S608 - our tables
                [last, tenant_id, tenant_id, ticket_id, ticket_id, only_missing, batch],
            )
            rows = cursor.fetchall()
            if not rows:
                return done
            _store(rows)
            done += len(rows)
            last = rows[-1][0]
            if len(rows) < batch:
                return done


def _store(rows) -> None:
    """Write documents of (ticket id, desk id, subject, requester's name and email,
    organization, tags, messages' text) rows, in one statement."""
    values, params = [], []
    for pk, desk, subject, name, email, organization, tags, bodies in rows:
        local, _at, domain = email.lower().partition("@")
        people = " ".join([name, email.lower(), local, domain, organization, *tags])
        values.append(
            "(%s, %s, setweight(to_tsvector(%s, %s), 'A') || "
            "setweight(to_tsvector(%s, %s), 'B') || strip(to_tsvector(%s, %s)))"
        )
        params += [pk, desk, CONFIG, _words(subject), CONFIG, _words(people)]
        params += [CONFIG, _words(bodies or "")]
    table = TicketSearch._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (ticket_id, tenant_id, document) VALUES "  # noqa: S608
            + ", ".join(values)
            + " ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document",
            params,
        )
