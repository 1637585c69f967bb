import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver(settings):
    """A local receiver, and the operator's setting that lets endpoints reach loopback."""
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    server = Receiver()
    yield server
    server.stop()
