import pytest


@pytest.fixture
def redis_of_its_own(tmp_path, settings):
    """A Redis server of the test's own for the cache (as tests/helpdesk/test_redis_outage.py
    does), which the test may stop without touching the suite's."""
    from tests.processes import RedisServer

    server = RedisServer(tmp_path / "redis")
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": server.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "RETRY_AFTER": 0.5},
        }
    }
    yield server
    server.stop()
