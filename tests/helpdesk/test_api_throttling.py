"""The API's rate limits slide: a request counts for one window's length after it was
made, and refused requests use none of the allowance (tests/api/test_api.py has the
429 answer itself)."""

from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.throttling import SimpleRateThrottle

from helpdesk.api_throttling import UserRateThrottle

PATH = "/api/v1/categories/"
WINDOW_START = 60 * 16_667  # a minute boundary, in seconds since the epoch


def _at(seconds: float):
    return time_machine.travel(datetime.fromtimestamp(WINDOW_START + seconds, UTC), tick=False)


@pytest.fixture
def two_a_minute(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "2/min")


def _statuses(client, count: int) -> list[int]:
    return [client.get(PATH).status_code for _ in range(count)]


def test_the_window_slides_over_minute_boundaries(acme, two_a_minute):
    client = acme.client(acme.customer)
    with _at(30):
        assert _statuses(client, 3) == [200, 200, 429]
        assert client.get(PATH)["Retry-After"] == "60"
    with _at(61):  # a fixed window would start afresh here
        assert _statuses(client, 1) == [429]
    with _at(90):  # the two requests of 0:30 count for half now
        assert _statuses(client, 2) == [200, 429]
    with _at(150):
        assert _statuses(client, 2) == [200, 429]


def test_refused_requests_use_none_of_the_allowance(acme, two_a_minute):
    client = acme.client(acme.customer)
    with _at(30):
        assert _statuses(client, 8) == [200, 200] + [429] * 6
    with _at(90):
        assert _statuses(client, 1) == [200]


def test_each_person_has_their_own_allowance(acme, two_a_minute):
    with _at(10):
        assert _statuses(acme.client(acme.customer), 3) == [200, 200, 429]
        assert _statuses(acme.client(acme.other_customer), 2) == [200, 200]


@pytest.mark.parametrize(
    ("previous", "count", "overlap", "wait"),
    [
        (4, 0, 0.5, 0.5 * 60 - 60 * (1 / 4)),  # until enough of the previous window slid out
        (0, 2, 0.5, 60 * (0.5 + 1 - 1 / 2)),  # past the end of this window
        (10, 5, 0.1, 60 * (0.1 + 1 - 1 / 5)),
    ],
)
def test_retry_after_is_when_one_more_request_fits(previous, count, overlap, wait):
    throttle = UserRateThrottle()
    throttle.num_requests, throttle.duration = 2, 60
    assert throttle._wait(previous, count, overlap) == pytest.approx(wait)
    # One more request at that time fits exactly.
    later = overlap - wait / 60
    if later >= 0:
        assert previous * later + count + 1 == pytest.approx(2)
    else:
        assert count * (1 + later) + 1 == pytest.approx(2)
