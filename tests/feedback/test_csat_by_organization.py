"""feedback.selectors.csat_by_organization: CSAT per organization over a window, in one query."""

from datetime import UTC, datetime, timedelta

from feedback.selectors import CsatFigure, csat_by_organization
from tests.success.factories import csat_rating, ticket_at

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)


def test_satisfied_share_per_organization_in_the_window(acme, globex, django_assert_num_queries):
    ours = ticket_at(acme, acme.org, START)
    other = ticket_at(acme, acme.other_org, START, requester=acme.other_customer)
    for rating, when in [(5, START), (4, START + timedelta(days=30)), (2, END - timedelta(1))]:
        csat_rating(acme, ours, rating, when)
    csat_rating(acme, ours, 1, END)  # the end is outside
    csat_rating(acme, ours, 1, START - timedelta(seconds=1))  # so is before the start
    csat_rating(acme, other, 3, START + timedelta(days=3))
    csat_rating(globex, ticket_at(globex, globex.org, START), 5, START)

    with acme.scope(), django_assert_num_queries(1):
        figures = csat_by_organization(start=START, end=END)

    assert figures == {
        acme.org.pk: CsatFigure(satisfied=2, ratings=3),
        acme.other_org.pk: CsatFigure(satisfied=0, ratings=1),
    }
    assert figures[acme.org.pk].percent == 66.7
    assert CsatFigure().percent is None
    with acme.scope():
        only = csat_by_organization(start=START, end=END, organization_ids=[acme.other_org.pk])
    assert list(only) == [acme.other_org.pk]
