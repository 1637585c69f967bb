"""Article views, counted per article and day for the insights dashboards."""

from datetime import date

from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge.models import ArticleViewDay
from knowledge.services import article_view_record
from tests.knowledge.factories import make_article
from tests.sla.factories import at, travel


def test_reading_an_article_counts_a_view_per_day(acme, globex):
    article = make_article(acme, "Export your data")
    path = f"/kb/articles/{article.pk}/{article.slug}/"
    with travel(at(2026, 11, 9, 10)):
        acme.client(acme.customer).get(path)
        acme.client(acme.customer).get(path)
        acme.client().get(path)  # a visitor
        acme.client(acme.agent).get(path)  # the desk's own people are not counted
    with travel(at(2026, 11, 10, 10)):
        assert acme.client(acme.customer).get(path).status_code == 200
    with acme.scope():
        counted = dict(ArticleViewDay.objects.filter(article=article).values_list("day", "views"))
    assert counted == {date(2026, 11, 9): 3, date(2026, 11, 10): 1}
    with globex.scope():
        assert not ArticleViewDay.objects.exists()


def test_a_view_is_counted_by_one_statement_that_adds_up(acme):
    article = make_article(acme, "Export your data")
    with acme.scope(), CaptureQueriesContext(connection) as queries:
        for _n in range(3):
            article_view_record(article=article, day=date(2026, 11, 9))
    assert len(queries.captured_queries) == 3
    assert "ON CONFLICT" in queries.captured_queries[0]["sql"]
    with acme.scope():
        assert ArticleViewDay.objects.get(article=article).views == 3
