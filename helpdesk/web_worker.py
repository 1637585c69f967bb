"""gunicorn's worker for the ASGI app (helpdesk/asgi.py): uvicorn, as uvicorn-worker runs
it, with the settings our sockets need."""

from uvicorn_worker import UvicornWorker


class WebWorker(UvicornWorker):
    CONFIG_KWARGS = {
        "loop": "asyncio",
        "http": "h11",
        "ws": "websockets",
        # Channels' router answers only HTTP and websockets.
        "lifespan": "off",
        # A chat message is text (files go up over HTTP): a frame larger than this is a
        # client misbehaving, and uvicorn closes its socket (1009).
        "ws_max_size": 256 * 1024,
        # Pings find sockets whose client vanished without closing (a laptop lid).
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
    }
