"""Read-only work run side by side on separate connections (helpdesk/side_by_side.py).

These tests commit their data (transactional_db): the pieces run on other
connections, which only see committed rows.
"""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation

from helpdesk.side_by_side import run_side_by_side
from tests.tickets.factories import make_ticket
from tickets.models import Ticket


@pytest.fixture
def side_by_side(settings):
    settings.SIDE_BY_SIDE_THREADS = 3


def _seen():
    """What a piece sees: its thread, its connection, the desk's tickets, its language and zone."""
    return {
        "thread": threading.get_ident(),
        "backend": connection.cursor().connection.info.backend_pid,
        "subjects": sorted(Ticket.objects.values_list("subject", flat=True)),
        "language": translation.get_language(),
        "zone": timezone.get_current_timezone_name(),
    }


def test_pieces_run_on_other_threads_and_connections_within_the_callers_desk(
    transactional_db, side_by_side, acme, globex
):
    make_ticket(acme, subject="Acme printer")
    make_ticket(globex, subject="Globex secret")

    with acme.scope(), translation.override("zh-hans"), timezone.override("Asia/Shanghai"):
        seen = run_side_by_side({n: _seen for n in range(3)})
        here = _seen()

    for piece in seen.values():
        assert piece["thread"] != here["thread"]
        assert piece["backend"] != here["backend"]
        # The tenant scope, the language and the time zone went along.
        assert piece["subjects"] == ["Acme printer"]
        assert (piece["language"], piece["zone"]) == ("zh-hans", "Asia/Shanghai")


def test_without_a_desk_scope_a_piece_cannot_read_desk_data(transactional_db, side_by_side):
    from django_scopes.exceptions import ScopeError

    with pytest.raises(ScopeError):
        run_side_by_side({1: Ticket.objects.count, 2: Ticket.objects.count})


def test_inside_a_transaction_pieces_run_in_order_on_the_callers_connection(
    transactional_db, side_by_side, acme
):
    with transaction.atomic(), acme.scope():
        make_ticket(acme, subject="Not committed yet")
        seen = run_side_by_side({n: _seen for n in range(2)})
        here = _seen()
    for piece in seen.values():
        assert (piece["thread"], piece["backend"]) == (here["thread"], here["backend"])
        assert piece["subjects"] == ["Not committed yet"]


def test_an_error_in_one_piece_is_raised_after_every_piece_has_finished(
    transactional_db, side_by_side
):
    finished = []

    def slow():
        threading.Event().wait(0.2)
        finished.append("slow")

    def broken():
        raise ValueError("no figures today")

    with pytest.raises(ValueError, match="no figures today"):
        run_side_by_side({"broken": broken, "slow": slow})
    assert finished == ["slow"]


def test_switched_off_everything_runs_here(transactional_db, settings):
    settings.SIDE_BY_SIDE_THREADS = 0
    here = threading.get_ident()
    assert run_side_by_side({1: threading.get_ident, 2: threading.get_ident}) == {1: here, 2: here}


def test_a_piece_asking_for_pieces_of_its_own_runs_them_in_its_thread(
    transactional_db, side_by_side
):
    # Were they sent to the pool, enough such pieces at once would wait forever for
    # threads all taken by pieces waiting like them. Two (of three threads) would
    # still finish, and show inner pieces on other threads.
    def nested():
        inner = run_side_by_side({1: threading.get_ident, 2: threading.get_ident})
        return threading.get_ident(), set(inner.values())

    results = run_side_by_side({n: nested for n in range(2)})
    for outer, inner in results.values():
        assert inner == {outer} != {threading.get_ident()}
