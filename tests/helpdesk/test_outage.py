"""A 503 page, not a 500, when the database is out of reach (helpdesk/outage.py), in-process.

The request's own PostgreSQL connection is ended by the server (pg_terminate_backend,
from another connection), as a restart or a fail-over ends it, at the point each test
names: before the tenant middleware's query, in a view, or after the view, when the
session is saved. The server stopped for real, behind gunicorn as `make run` starts
it, is tests/helpdesk/test_outage_server.py.
"""

import psycopg
import pytest
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.test import Client, RequestFactory
from django.urls import include, path

from helpdesk.outage import RETRY_AFTER_SECONDS, is_database_unavailable, unavailable_response

ENGLISH_TITLE = "Service briefly unavailable"
CHINESE_TITLE = "服务暂时不可用"


def end_connection(backend_pid: int) -> None:
    """Have PostgreSQL end a backend, from a connection of our own."""
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"], user=params["USER"], dbname=params["NAME"], autocommit=True
    ) as other:
        ended = other.execute("SELECT pg_terminate_backend(%s)", [backend_pid]).fetchone()[0]
    assert ended


def own_backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def query_after_losing_the_connection(request):
    end_connection(own_backend_pid())
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("not reached")


def session_saved_after_losing_the_connection(request):
    request.session["seen"] = True  # saved by SessionMiddleware after the view
    end_connection(own_backend_pid())
    return HttpResponse("saved?")


def deadlock(request):
    # A database error that is not an outage: retrying will not help, it stays a 500.
    with connection.wrap_database_errors:
        raise psycopg.errors.DeadlockDetected("deadlock detected")


def api_query(request):
    end_connection(own_backend_pid())
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({})


def answers(request):
    return HttpResponse("fine")


urlpatterns = [
    path("lost/", query_after_losing_the_connection),
    path("session/", session_saved_after_losing_the_connection),
    path("deadlock/", deadlock),
    path("fine/", answers),
    path("api/v1/lost/", api_query),
    path("", include("helpdesk.urls")),
]


@pytest.fixture
def outage_urls(settings, transactional_db):
    """These views on every host. Committed data (transactional_db): the test's own
    connection is the one that is lost, and no transaction of the test may go with it."""
    settings.ROOT_URLCONF = __name__
    settings.PLATFORM_URLCONF = __name__
    yield
    connection.close()  # the lost connection goes; the next query opens another


def _client(**headers) -> Client:
    # What a browser gets: the handler's answer, not the exception re-raised in the test.
    return Client(raise_request_exception=False, **headers)


def assert_unavailable_page(response, title=ENGLISH_TITLE, *, whole_stack=True):
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    assert f"<h1>{title}</h1>" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    if whole_stack:  # the middleware outside the outage middleware adds the policy
        assert "default-src 'self'" in response["Content-Security-Policy"]


def test_losing_the_database_in_a_view_answers_the_503_page(outage_urls, acme):
    response = _client(HTTP_HOST=acme.host).get("/lost/")
    assert_unavailable_page(response)


def test_losing_the_database_before_the_tenant_middleware_answers_503(outage_urls, acme):
    assert _client(HTTP_HOST=acme.host).get("/fine/").status_code == 200
    end_connection(own_backend_pid())  # the connection the next request starts with

    response = _client(HTTP_HOST=acme.host).get("/fine/")

    assert_unavailable_page(response)


def test_losing_the_database_before_the_session_is_saved_answers_503(outage_urls, acme):
    client = _client(HTTP_HOST=acme.host)
    client.force_login(acme.customer)
    response = client.get("/session/")
    # The view answered 200, but its session could not be kept: not a success.
    assert_unavailable_page(response)


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}, {"HTTP_COOKIE": "django_language=zh-hans"}],
    ids=["browser language", "language cookie"],
)
def test_the_page_speaks_the_visitors_language(outage_urls, acme, headers):
    response = _client(HTTP_HOST=acme.host, **headers).get("/lost/")
    assert_unavailable_page(response, title=CHINESE_TITLE)
    assert response["Content-Language"] == "zh-hans"
    assert 'lang="zh-hans"' in response.content.decode()


def test_under_debug_the_503_page_replaces_the_technical_500_page(outage_urls, acme, settings):
    settings.DEBUG = True
    response = _client(HTTP_HOST=acme.host).get("/lost/")
    assert_unavailable_page(response)
    assert "Traceback" not in response.content.decode()


def test_the_api_answers_json_503(outage_urls, acme):
    response = _client(HTTP_HOST=acme.host, HTTP_ACCEPT_LANGUAGE="zh-hans").get("/api/v1/lost/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {"detail": "服务暂时不可用，请一分钟后再试。"}


def test_the_platform_host_answers_503_too(outage_urls):
    assert_unavailable_page(_client(HTTP_HOST="localhost").get("/lost/"))


def test_other_database_errors_stay_server_errors(outage_urls, acme):
    response = _client(HTTP_HOST=acme.host).get("/deadlock/")
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_the_page_is_rendered_without_the_database(django_db_blocker):
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    with django_db_blocker.block():  # any query would raise here
        response = unavailable_response(request)
    assert_unavailable_page(response, title=CHINESE_TITLE, whole_stack=False)


def test_what_counts_as_the_database_out_of_reach(outage_urls):
    from django.db import OperationalError

    end_connection(own_backend_pid())
    with pytest.raises(OperationalError) as lost, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert is_database_unavailable(lost.value)
    assert is_database_unavailable(psycopg.OperationalError("connection refused"))
    assert is_database_unavailable(psycopg.errors.TooManyConnections("too many clients"))
    assert not is_database_unavailable(psycopg.errors.DeadlockDetected("deadlock"))
    assert not is_database_unavailable(psycopg.errors.QueryCanceled("statement timeout"))
    assert not is_database_unavailable(ValueError("not a database error"))
