"""Browsers ask every host for /favicon.ico on a first visit: the app serves one (no CDN),
on a desk's host, the platform host and an unknown host alike, without the database."""

import pytest
from django.test import Client


@pytest.mark.parametrize("host", ["acme.localhost", "localhost", "nobody.localhost"])
def test_every_host_serves_the_favicon(acme, host):
    response = Client(HTTP_HOST=host).get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    icon = b"".join(response.streaming_content)
    assert icon[:4] == b"\x00\x00\x01\x00"  # an icon file
    assert "max-age" in response["Cache-Control"]
