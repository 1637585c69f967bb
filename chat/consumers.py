"""The chat's websockets: a customer's (one chat) and an agent's console (many).

Both enter the desk through helpdesk/sockets.py: `scope["visitor"]` says who is on the
socket, and every database access is a method decorated with `in_desk`.

The protocol (JSON both ways):

- client: `hello {after}` (console: `{after: {chat: id}}`) asks for what it missed;
  `send {chat, client_key, body}`; `typing {chat}`; `read {chat, up_to}`; `end {chat}`;
  the console also `heartbeat`, `availability {availability}`, `accept/decline/pick
  {chat}`, `note {chat, body}`, `transfer {chat, to}`, `queue`, `team`.
- server: `ack {client_key, id}` once a message is stored; `message {chat, message}`;
  `state {...}` (queued with position and wait, active with the agent, ended);
  `typing`, `read`; console: `offer`, `offer_gone`, `gone`, `queue`, `team`;
  `error {code, message}`.

A message is stored, then acknowledged to its sender, then published to the other side.
Sent again with the same client_key after a reconnect, it is stored once and acknowledged
with the same id; a client shows a message once by its id.

A socket acts on what its client sends one message at a time, in order, in a task of its
own, while what the desk publishes to it goes out meanwhile: a console busy storing its
agent's line (every socket of a process shares one database thread) still hands its
agent the customers' lines as they come.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import uuid
from collections import deque

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from chat import events, services
from chat.models import Chat
from helpdesk.input_guard import BadInput, check_json
from helpdesk.input_values import BIGINT_MAX, is_whole_number
from helpdesk.models import User
from helpdesk.sockets import Visitor, in_desk, socket_language

# Close codes the scripts read (4000-4999 are the application's).
CLOSE_SIGN_IN = 4401
CLOSE_NOT_ON_PLAN = 4402
CLOSE_NO_SUCH_CHAT = 4404

# Per socket: at most this many messages (of any kind) in this many seconds.
RATE_MESSAGES = 30
RATE_SECONDS = 10

logger = logging.getLogger(__name__)


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or _("You may not do that.")


class _DeskSocket(AsyncJsonWebsocketConsumer):
    """What both sockets share: the rate limit, errors, and events from the layer."""

    groups_joined: list[str]

    async def connect(self):
        self.groups_joined = []
        self.recent: deque[float] = deque()
        # What the client asks for, acted on in order by `acting` (see the module's doc).
        self.asked: asyncio.Queue = asyncio.Queue()
        self.acting = asyncio.ensure_future(self.act_in_turn())
        # It ends with the socket, however the socket ends.
        asyncio.current_task().add_done_callback(lambda _task: self.acting.cancel())
        await self.open()

    async def open(self):  # pragma: no cover - each socket says
        raise NotImplementedError

    async def dispatch(self, message):
        """Channels' dispatch, less its `aclose_old_connections()` before every handler:
        that call runs on the process's one database thread, so each event for each
        socket (a customer's line on its way to a console) would wait there behind every
        other socket's queries. A socket here reaches the database only through
        `in_desk`, whose database_sync_to_async closes old connections itself, before
        and after each call."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def leave(self, group: str) -> None:
        if group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.remove(group)

    async def disconnect(self, code):
        self.acting.cancel()
        for group in list(self.groups_joined):
            await self.leave(group)

    async def desk_event(self, event):
        await self.send_json(event["payload"])

    async def error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    async def refuse(self, code: int, message: str) -> None:
        """Accept to say why, then close: a refused handshake tells the browser nothing."""
        await self.accept()
        await self.error("refused", message)
        await self.close(code=code)

    def over_the_rate(self) -> bool:
        now = time.monotonic()
        while self.recent and self.recent[0] < now - RATE_SECONDS:
            self.recent.popleft()
        self.recent.append(now)
        return len(self.recent) > RATE_MESSAGES

    async def receive_json(self, content, **kwargs):
        if isinstance(content, BadInput):
            await self.error("bad_message", content.message)
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.error("bad_message", _("That message could not be read."))
            return
        if self.over_the_rate():
            await self.error(
                "too_fast", _("You are sending messages too quickly; wait a few seconds.")
            )
            return
        handler = getattr(self, f"on_{content['type']}", None)
        if handler is None:
            await self.error("bad_message", _("That message could not be read."))
            return
        self.asked.put_nowait((handler, content))

    async def act_in_turn(self):
        """Act on the client's messages one after another, in the order they came."""
        while True:
            handler, content = await self.asked.get()
            try:
                await handler(content)
            except (ValidationError, PermissionDenied) as error:
                await self.error("refused", _error_text(error))
            except Exception:
                # As an error in the consumer itself would: the socket closes and the
                # client reconnects (and says hello with what it has).
                logger.exception("chat socket: %s failed", content.get("type"))
                await self.close(code=1011)
                return

    async def decode_json(self, text_data):
        """The message, None when it is not JSON, or BadInput when it holds what pages
        refuse too (helpdesk/input_guard.py: a NUL or a lone surrogate, deep nesting), or
        a NaN or an infinity, which JSON does not have."""
        try:
            content = json.loads(text_data, parse_constant=_no_constant)
            check_json(content)
        except BadInput as bad:
            return bad
        except (ValueError, RecursionError):
            return None
        return content


def _client_key(content) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(content.get("client_key")))
    except ValueError:
        return None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _after(value) -> int:
    """An id the client sent (the last message it saw, a colleague's): 0 unless it is a
    whole number an id can be."""
    if isinstance(value, str) and is_whole_number(value.strip()):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= BIGINT_MAX:
        return value
    return 0


class CustomerChatConsumer(_DeskSocket):
    """`/ws/chat/<key>/`: the customer's side of their chat."""

    async def open(self):
        visitor = self.scope["visitor"]
        if not visitor.user.is_authenticated or visitor.membership is None:
            return await self.refuse(CLOSE_SIGN_IN, _("Sign in to chat with us."))
        reason = await self.refusal()
        if reason:
            return await self.refuse(CLOSE_NOT_ON_PLAN, reason)
        self.chat = await self.find_chat(self.scope["url_route"]["kwargs"]["key"])
        if self.chat is None:
            return await self.refuse(CLOSE_NO_SUCH_CHAT, _("This chat was not found."))
        await self.join(events.chat_group(self.chat))
        await self.accept()

    @in_desk
    def refusal(self):
        return services.refusal(self.scope["visitor"].membership)

    @in_desk
    def find_chat(self, key):
        return (
            Chat.objects.filter(key=key, customer=self.scope["visitor"].user)
            .select_related("ticket", "agent")
            .first()
        )

    @in_desk
    def catch_up(self, after: int) -> list[dict]:
        chat = Chat.objects.select_related("ticket", "agent").get(pk=self.chat.pk)
        missed = services.messages_after(chat, after, for_staff=False)
        return [
            services.chat_json(chat),
            *(
                {"type": "message", "chat": chat.key.hex, "message": services.message_json(m, chat)}
                for m in missed
            ),
        ]

    async def on_hello(self, content):
        for payload in await self.catch_up(_after(content.get("after"))):
            await self.send_json(payload)

    @in_desk
    def post(self, body: str, client_key):
        visitor = self.scope["visitor"]
        return services.chat_post(
            chat=self.chat,
            author=visitor.user,
            membership=visitor.membership,
            body=body,
            client_key=client_key,
        ).pk

    async def on_send(self, content):
        body = content.get("body")
        if not isinstance(body, str) or not body.strip():
            return await self.error("empty", _("Write a message first."))
        key = _client_key(content)
        message_id = await self.post(body, key)
        await self.send_json(
            {"type": "ack", "client_key": key.hex if key else None, "id": message_id}
        )

    async def on_typing(self, content):
        if self.chat.agent_id:
            await self.channel_layer.group_send(
                events.agent_group(self.chat.tenant_id, self.chat.agent_id),
                {
                    "type": "desk.event",
                    "payload": {"type": "typing", "chat": self.chat.key.hex, "side": "customer"},
                },
            )

    @in_desk
    def mark_read(self, up_to: int):
        self.chat.refresh_from_db(fields=["agent"])
        services.chat_read(chat=self.chat, reader=self.scope["visitor"].user, up_to=up_to)

    async def on_read(self, content):
        await self.mark_read(_after(content.get("up_to")))

    @in_desk
    def end(self):
        services.chat_end(chat=self.chat, actor=self.scope["visitor"].user)

    async def on_end(self, content):
        await self.end()

    async def desk_event(self, event):
        payload = event["payload"]
        if payload.get("type") == "state":
            self.chat.agent_id = await self.agent_of_chat()
        await self.send_json(payload)

    @in_desk
    def agent_of_chat(self):
        return Chat.objects.filter(pk=self.chat.pk).values_list("agent_id", flat=True).first()


class WidgetChatConsumer(CustomerChatConsumer):
    """`/ws/widget/<ticket>/chat/<key>/`: the customer's side in the chat widget
    (chat/widget.py). The person is the widget ticket's, never a session cookie's; the
    socket comes from our own frame, so DeskSocketMiddleware has already refused any
    other Origin, and the ticket carries the embedding site, checked again here."""

    async def open(self):
        visitor, refused = await self.ticket_visitor(self.scope["url_route"]["kwargs"]["ticket"])
        if visitor is None:
            return await self.refuse(CLOSE_SIGN_IN, refused)
        self.scope = {**self.scope, "visitor": visitor}
        await super().open()

    @in_desk
    def ticket_visitor(self, ticket: str) -> tuple[Visitor | None, str]:
        from chat.widget import WidgetRefused, widget_ticket_open

        visitor = self.scope["visitor"]
        try:
            session = widget_ticket_open(tenant=visitor.tenant, ticket=ticket)
        except WidgetRefused as refused:
            return None, refused.message
        user = session.membership.user
        language = socket_language(self.scope, user=user, tenant=visitor.tenant)
        return (
            dataclasses.replace(
                visitor,
                user=user,
                membership=session.membership,
                language=language,
                second_factor_owed=False,  # customers are never required one
            ),
            "",
        )


class AgentConsoleConsumer(_DeskSocket):
    """`/ws/agent/`: an agent's console: availability, offers, and their chats."""

    async def open(self):
        visitor = self.scope["visitor"]
        if not visitor.is_staff:
            return await self.refuse(CLOSE_SIGN_IN, _("Sign in as an agent of this desk."))
        tenant_id, agent_id = visitor.tenant.pk, visitor.user.pk
        await self.join(events.agent_group(tenant_id, agent_id))
        await self.join(events.desk_group(tenant_id))
        await self.accept()
        await self.heartbeat()

    @in_desk
    def heartbeat(self):
        if services.presence_seen(membership=self.scope["visitor"].membership):
            services.route_waiting_chats(self.scope["visitor"].tenant)

    async def on_heartbeat(self, content):
        await self.heartbeat()

    @in_desk
    def snapshot(self, after: dict) -> list[dict]:
        """The console's state after a (re)connect: availability, the team, the queue,
        offers out to this agent, and each of their chats with what it missed."""
        from chat.models import AgentPresence, ChatOffer

        visitor = self.scope["visitor"]
        presence = AgentPresence.objects.filter(agent=visitor.user).first()
        rules = services.chat_settings(visitor.tenant)
        found = [
            {
                "type": "me",
                "availability": presence.availability if presence else "offline",
                "capacity": (presence.capacity if presence else None) or rules.capacity,
            },
            services.team_json(visitor.tenant),
            services.queue_json(visitor.tenant, visitor.membership),
        ]
        for offer in ChatOffer.objects.filter(
            agent=visitor.user, answer=ChatOffer.Answer.PENDING
        ).select_related("chat__ticket", "chat__customer"):
            found.append(
                {
                    "type": "offer",
                    "chat": offer.chat.key.hex,
                    "subject": offer.chat.ticket.subject,
                    "customer": offer.chat.customer.display_name,
                    "expires_at": offer.expires_at.isoformat(),
                    "seconds": rules.offer_seconds,
                }
            )
        mine = Chat.objects.filter(agent=visitor.user, state=Chat.State.ACTIVE).select_related(
            "ticket", "agent", "customer"
        )
        for chat in mine:
            found.append(services.chat_json(chat))
            for message in services.messages_after(
                chat, _after(after.get(chat.key.hex)), for_staff=True
            ):
                found.append(
                    {
                        "type": "message",
                        "chat": chat.key.hex,
                        "message": services.message_json(message, chat),
                    }
                )
        return found

    @in_desk
    def history(self, content) -> list[dict]:
        chat = self._chat(content)
        return [
            {"type": "message", "chat": chat.key.hex, "message": services.message_json(m, chat)}
            for m in services.messages_after(chat, _after(content.get("after")), for_staff=True)
        ]

    async def on_history(self, content):
        """A chat's messages after an id: a console opening a chat it just took."""
        for payload in await self.history(content):
            await self.send_json(payload)

    async def on_hello(self, content):
        after = content.get("after") if isinstance(content.get("after"), dict) else {}
        for payload in await self.snapshot(after):
            await self.send_json(payload)

    def _chat(self, content) -> Chat:
        """The chat the message names, if this agent may work it (services.chat_for_staff);
        "not found" alike for a chat of another group and for none."""
        key = content.get("chat")
        try:
            key = uuid.UUID(str(key))
        except ValueError:
            raise ValidationError(_("This chat was not found.")) from None
        chat = services.chat_for_staff(key, self.scope["visitor"].membership)
        if chat is None:
            raise ValidationError(_("This chat was not found."))
        return chat

    @in_desk
    def act(self, action: str, content: dict):
        visitor = self.scope["visitor"]
        membership = visitor.membership
        if action == "availability":
            services.presence_set(
                membership=membership, availability=str(content.get("availability"))
            )
            return None
        chat = self._chat(content)
        if action == "accept":
            services.offer_accept(chat=chat, membership=membership)
        elif action == "decline":
            services.offer_decline(chat=chat, membership=membership)
        elif action == "pick":
            services.chat_pick(chat=chat, membership=membership)
        elif action == "send":
            return services.chat_post(
                chat=chat,
                author=visitor.user,
                membership=membership,
                body=str(content.get("body") or ""),
                client_key=_client_key(content),
            ).pk
        elif action == "note":
            services.chat_note(chat=chat, author=visitor.user, body=str(content.get("body") or ""))
        elif action == "read":
            services.chat_read(chat=chat, reader=visitor.user, up_to=_after(content.get("up_to")))
        elif action == "end":
            if chat.agent_id != visitor.user.pk:
                raise PermissionDenied(_("Only the agent in this chat can end it."))
            services.chat_end(chat=chat, actor=visitor.user)
        elif action == "transfer":
            to = User.objects.filter(pk=_after(content.get("to"))).first()
            if to is None:
                raise ValidationError(_("Choose another agent of this desk."))
            services.chat_transfer(chat=chat, membership=membership, to=to)
        elif action == "typing":
            if chat.agent_id != visitor.user.pk:
                return None
            return events.chat_group(chat)
        return None

    async def on_availability(self, content):
        await self.act("availability", content)

    async def on_accept(self, content):
        await self.act("accept", content)

    async def on_decline(self, content):
        await self.act("decline", content)

    async def on_pick(self, content):
        await self.act("pick", content)

    async def on_note(self, content):
        await self.act("note", content)

    async def on_read(self, content):
        await self.act("read", content)

    async def on_end(self, content):
        await self.act("end", content)

    async def on_transfer(self, content):
        await self.act("transfer", content)

    async def on_send(self, content):
        if not isinstance(content.get("body"), str) or not content["body"].strip():
            return await self.error("empty", _("Write a message first."))
        message_id = await self.act("send", content)
        key = _client_key(content)
        await self.send_json(
            {"type": "ack", "client_key": key.hex if key else None, "id": message_id}
        )

    async def on_typing(self, content):
        group = await self.act("typing", content)
        if group:
            await self.channel_layer.group_send(
                group,
                {
                    "type": "desk.event",
                    "payload": {"type": "typing", "chat": content.get("chat"), "side": "agent"},
                },
            )

    @in_desk
    def queue(self):
        visitor = self.scope["visitor"]
        return services.queue_json(visitor.tenant, visitor.membership)

    @in_desk
    def team(self):
        return services.team_json(self.scope["visitor"].tenant)

    async def on_queue(self, content):
        await self.send_json(await self.queue())

    async def on_team(self, content):
        await self.send_json(await self.team())

    async def desk_event(self, event):
        payload = event["payload"]
        if payload.get("type") == "queue_changed":
            return await self.send_json(await self.queue())
        if payload.get("type") == "team_changed":
            return await self.send_json(await self.team())
        await self.send_json(payload)
