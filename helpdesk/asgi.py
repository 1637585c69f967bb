"""The application `make run`, the Dockerfile and docker-compose.yml serve: pages and
websockets on one host and port (uvicorn in gunicorn's workers, helpdesk/gunicorn_conf.py).

- HTTP: Django's WSGI handler, as before, on a fixed pool of WEB_THREADS threads per
  process (a2wsgi): a page runs the same synchronous code path it ran under gthread, and
  at most that many at once per process, each borrowing one pooled connection.
- Websockets: Channels consumers behind `DeskSocketMiddleware`, which resolves the desk,
  the person and the language from the handshake (helpdesk/sockets.py). Consumers meet
  each other through the Redis channel layer and the database, so a chat works whichever
  process each side's socket landed on.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
pages = get_wsgi_application()  # sets Django up before the consumers are imported

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from helpdesk.sockets import DeskSocketMiddleware  # noqa: E402
from helpdesk.urls_sockets import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": WSGIMiddleware(pages, workers=settings.WEB_THREADS),
        "websocket": DeskSocketMiddleware(URLRouter(websocket_urlpatterns)),
    }
)
