"""Cached reads (helpdesk/read_cache.py): served until a source changes, never stale after."""

import pytest
from django.core.cache import cache

from helpdesk.read_cache import _version_key, cached_read, source_changed


class Builds:
    """A build function that counts its calls and returns what it is told to."""

    def __init__(self, value="v1"):
        self.value = value
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.value


@pytest.fixture(autouse=True)
def _db(db):
    """source_changed() asks the connection whether a transaction is open."""


def test_a_value_is_built_once_while_its_sources_do_not_change():
    build = Builds()
    assert cached_read("k", sources=["a", "b"], build=build) == "v1"
    assert cached_read("k", sources=["a", "b"], build=build) == "v1"
    assert build.calls == 1


def test_a_change_to_any_source_rebuilds_the_value():
    build = Builds()
    cached_read("k", sources=["a", "b"], build=build)
    build.value = "v2"
    source_changed("b")
    assert cached_read("k", sources=["a", "b"], build=build) == "v2"
    source_changed("other")
    assert cached_read("k", sources=["a", "b"], build=build) == "v2"
    assert build.calls == 2


def test_a_value_built_while_its_source_changed_is_not_served_again():
    """A reader that read the rows just before another transaction committed its
    change stores what it read; the change's new version keeps it from being served."""

    def build_then_commit_elsewhere():
        source_changed("a")  # lands while this reader builds from the old rows
        return "old"

    assert cached_read("k", sources=["a"], build=build_then_commit_elsewhere) == "old"
    assert cached_read("k", sources=["a"], build=Builds("new")) == "new"


def test_a_change_is_published_again_when_its_transaction_commits(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        source_changed("a")
        # Another process, not seeing the uncommitted change, caches the old rows.
        cached_read("k", sources=["a"], build=Builds("old"))
    assert len(callbacks) == 1
    assert cached_read("k", sources=["a"], build=Builds("new")) == "new"


def test_an_evicted_version_never_brings_back_an_old_value():
    cached_read("k", sources=["a"], build=Builds("old"))
    cache.delete(_version_key("a"))
    assert cached_read("k", sources=["a"], build=Builds("new")) == "new"
