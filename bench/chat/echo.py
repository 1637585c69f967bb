"""The chat benchmark's baseline: a bare ASGI app that sends every websocket text frame
straight back, served by the same command and workers as the chat (gunicorn with
helpdesk/gunicorn_conf.py, uvicorn as helpdesk/web_worker.py configures it). What the
chat adds on top of it (Channels, the desk's handshake, the database, Redis) is the
difference between the two.

Any HTTP request gets `200 ok` (the bench's health check). Django is never imported.
"""


async def answer_ok(send) -> None:
    """Any HTTP request: `200 ok` (the bench's health check)."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def application(scope, receive, send):
    if scope["type"] == "http":
        await answer_ok(send)
        return
    if scope["type"] != "websocket":
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
