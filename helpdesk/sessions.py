"""The session engine: Django's database store, except that a database outage while
saving a session is reported as what it is.

Django's database store reads any database error while updating a session as "the
session was deleted meanwhile" (UpdateError), which SessionMiddleware answers with a
400 Bad Request. During an outage the visitor should get the 503 page instead
(helpdesk/outage.py), so the outage itself is raised.
"""

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from helpdesk.outage import is_database_unavailable


class SessionStore(DatabaseSessionStore):
    def save(self, must_create=False):
        try:
            super().save(must_create=must_create)
        except UpdateError as masked:
            if is_database_unavailable(masked.__context__):
                raise masked.__context__  # noqa: B904 - the outage is the error, not the mask
            raise
