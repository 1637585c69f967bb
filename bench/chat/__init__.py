"""The live chat's benchmark (bench/sections/chat.py): its data, the servers it starts and
the websocket load generator.

- data.py: in tenant `bench`, 2,100 Pro+ customers and 10 chat agents (capacity 10 each,
  online); 100 active chats, one per agent slot, and 2,000 queued ones; a session per
  person, made in bulk for every run.
- servers.py: the server as `make run` starts it (helpdesk/devstack.py web_command:
  gunicorn, uvicorn workers, helpdesk/asgi.py) and the bare echo app (echo.py) under the
  same command and workers; their worker processes' memory and CPU, from /proc.
- client.py: the load generator, a process of its own (`python -m bench.chat.client`),
  websockets' asyncio client: the idle sockets in one process, the measured sockets in
  another, steered by the bench over stdin/stdout (one JSON object per line).
"""
