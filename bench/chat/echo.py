"""The chat benchmark's baseline: a bare ASGI app that sends every websocket text frame
straight back, served by the same command and workers as the chat (gunicorn with
helpdesk/gunicorn_conf.py, uvicorn as helpdesk/web_worker.py configures it). What the
chat adds on top of it (Channels, the desk's handshake, the database, Redis) is the
difference between the two.

Any HTTP request gets `200 ok` (the bench's health check). Django is never imported.
"""


async def answered_unless_socket(scope, send) -> bool:
    """Whether the connection is done with: any HTTP request answered `200 ok` (the
    bench's health check), lifespan events ignored; False for a websocket."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
    return scope["type"] != "websocket"


async def application(scope, receive, send):
    if await answered_unless_socket(scope, send):
        return
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            if event.get("text") is not None:
                await send({"type": "websocket.send", "text": event["text"]})
            else:
                await send({"type": "websocket.send", "bytes": event.get("bytes") or b""})
        else:  # websocket.disconnect
            return
