"""gunicorn's configuration, taken from the app's settings so one module reads the environment.

    gunicorn helpdesk.asgi:application --config python:helpdesk.gunicorn_conf --bind HOST:PORT

`make run` (helpdesk/devstack.py), the Dockerfile and docker-compose.yml start it so.
Each worker process runs uvicorn (helpdesk/web_worker.py): websockets on its event loop,
pages on a pool of WEB_THREADS threads (helpdesk/asgi.py). A request mostly waits for
PostgreSQL, so a few processes with several threads each serve many clients; each
thread borrows a database connection from its process's pool only while it handles a
request.
"""

import gc
import os

from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

worker_class = "helpdesk.web_worker.WebWorker"
workers = settings.WEB_PROCESSES
# Idle keep-alive connections wait in each process's poller, not on a thread.
keepalive = 5
# Stopping waits this long for requests in flight (devstack's stop waits longer).
graceful_timeout = 10
reload = settings.WEB_RELOAD
# One line per request on stdout under DEBUG, as the development server printed them.
accesslog = "-" if settings.DEBUG else None
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl):
# two servers of one user (make run beside the bench or a test) would take it from
# each other. Nothing here uses it.
control_socket_disable = True
# Python's defaults are (700, 10, 10): a young collection every 700 allocations net.
GC_THRESHOLDS = (20_000, 20, 50)


def post_worker_init(worker):
    """The worker has loaded the app: what it allocated doing so (modules, URL patterns,
    templates, settings) lives as long as the process. Frozen out of the garbage
    collector's view, and with young objects collected less often, a worker stops for
    collection rarely and briefly; chat lines waiting behind a full collection of the
    whole boot-time heap showed as p99s of 300 ms (docs/performance.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
