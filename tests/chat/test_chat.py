"""Live chat's rules: who may chat, routing and capacity, offers that time out, agents
who vanish, nobody there, Redis down, limits, the end of a chat and its transcript; and
that no desk, organization or plan reaches what it should not, on pages and sockets."""

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from chat import services
from chat.consumers import CLOSE_NO_SUCH_CHAT, CLOSE_NOT_ON_PLAN, CLOSE_SIGN_IN, RATE_MESSAGES
from chat.models import AgentPresence, Chat, ChatOffer, ChatSettings
from helpdesk.models import Role
from helpdesk.sockets import CLOSE_FOREIGN_ORIGIN
from helpdesk.tenancy import tenant_scope
from tests.chat.sockets import Socket, pro_plus_customer, session_cookie
from tests.chat.widget import widget_on, widget_ticket
from tests.helpdesk.factories import make_member
from tests.processes import RedisServer
from tickets.models import Channel, Message, Status, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def membership_of(desk, user):
    with tenant_scope(desk.tenant):
        return user.memberships.select_related("organization__plan").get()


def online(desk, agent, *, idle_since=None, capacity=None):
    with tenant_scope(desk.tenant):
        services.presence_set(membership=membership_of(desk, agent), availability="online")
        changes = {}
        if idle_since is not None:
            changes["idle_since"] = idle_since
        if capacity is not None:
            changes["capacity"] = capacity
        if changes:
            AgentPresence.objects.filter(agent=agent).update(**changes)


def start(desk, customer, question="Where is my invoice?"):
    with tenant_scope(desk.tenant):
        return services.chat_start(membership=membership_of(desk, customer), question=question)


def pending_offer(desk, chat):
    with tenant_scope(desk.tenant):
        return ChatOffer.objects.filter(chat=chat, answer=ChatOffer.Answer.PENDING).first()


# -- who may chat ------------------------------------------------------------------------------


def test_a_customer_whose_plan_has_no_chat_sees_what_it_would_give_and_cannot_start_one(acme):
    page = acme.client(acme.customer).get("/chat/")  # Carol is on Pro
    assert page.status_code == 200
    text = page.content.decode()
    assert "Live chat is not part of your plan" in text
    assert "Ask us about Pro+" in text  # the way up, not a broken button
    assert 'name="question"' not in text

    refused = acme.client(acme.customer).post("/chat/start/", {"question": "Let me in"})
    assert refused.status_code == 403
    assert "Live chat is not part of your plan" in refused.content.decode()
    with tenant_scope(acme.tenant):
        assert not Chat.objects.exists()
        assert not Ticket.objects.filter(channel=Channel.CHAT).exists()


def test_a_socket_from_a_plan_without_chat_is_refused_with_the_reason(acme):
    pat = pro_plus_customer(acme)
    chat = start(acme, pat)
    # Pat's organization moves down to Pro: the open chat's socket is refused.
    with tenant_scope(acme.tenant):
        organization = membership_of(acme, pat).organization
        organization.plan = acme.pro
        organization.save()
    socket = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=pat)
    assert socket.receive_until("error")["message"].startswith("Live chat is not part")
    assert socket.closed() == CLOSE_NOT_ON_PLAN


def test_starting_twice_joins_the_open_chat(acme):
    pat = pro_plus_customer(acme)
    online(acme, acme.agent)
    first = start(acme, pat)
    assert start(acme, pat, "Another question").pk == first.pk
    client = acme.client(pat)
    client.post("/chat/start/", {"question": "And again"})
    with tenant_scope(acme.tenant):
        assert Chat.objects.filter(customer=pat).count() == 1


# -- routing -----------------------------------------------------------------------------------


def test_a_chat_goes_to_the_online_agent_with_the_fewest_chats_then_the_longest_idle(acme):
    mei = make_member(acme.tenant, "mei@acme.example", Role.AGENT, full_name="Mei")
    now = timezone.now()
    online(acme, acme.agent, idle_since=now - timedelta(minutes=5))
    online(acme, mei, idle_since=now - timedelta(minutes=50))  # idle longer
    customers = [pro_plus_customer(acme, f"c{n}@plus.example", f"C{n}") for n in range(3)]
    first = start(acme, customers[0])
    assert pending_offer(acme, first).agent == mei  # equal load: the longest idle
    second = start(acme, customers[1])
    assert pending_offer(acme, second).agent == acme.agent  # Mei has one already
    third = start(acme, customers[2])
    assert pending_offer(acme, third).agent == mei  # one each: Mei idle longer


def test_capacity_keeps_chats_waiting_and_a_chat_ending_lets_the_next_in(acme):
    online(acme, acme.agent, capacity=1)
    pat, sam = pro_plus_customer(acme), pro_plus_customer(acme, "sam@plus.example", "Sam")
    first = start(acme, pat)
    with tenant_scope(acme.tenant):
        services.offer_accept(chat=first, membership=membership_of(acme, acme.agent))
    second = start(acme, sam)
    assert pending_offer(acme, second) is None  # no room: it waits its turn
    with tenant_scope(acme.tenant):
        assert services.waiting_position(second).position == 1
        services.chat_end(chat=first, actor=pat)
    assert pending_offer(acme, second).agent == acme.agent


def test_an_offer_not_accepted_in_time_goes_to_the_next_agent(acme):
    mei = make_member(acme.tenant, "mei@acme.example", Role.AGENT, full_name="Mei")
    now = timezone.now()
    online(acme, acme.agent, idle_since=now - timedelta(minutes=50))
    online(acme, mei, idle_since=now - timedelta(minutes=5))
    chat = start(acme, pro_plus_customer(acme))
    assert pending_offer(acme, chat).agent == acme.agent
    with tenant_scope(acme.tenant):
        rules = services.chat_settings(acme.tenant)
        later = timezone.now() + timedelta(seconds=rules.offer_seconds + 1)
        AgentPresence.objects.update(last_seen_at=later)
        services.route_waiting_chats(acme.tenant, now=later)
        offers = list(ChatOffer.objects.filter(chat=chat).order_by("pk"))
    assert [(o.agent, o.answer) for o in offers] == [
        (acme.agent, ChatOffer.Answer.EXPIRED),
        (mei, ChatOffer.Answer.PENDING),
    ]
    # The first agent can no longer take it.
    with tenant_scope(acme.tenant), pytest.raises(Exception, match="no longer yours"):
        services.offer_accept(chat=chat, membership=membership_of(acme, acme.agent))


def test_the_sweep_re_offers_on_the_clock(acme, settings):
    """The beat task finds the desk and moves the expired offer on (chat.tasks.sweep)."""
    from chat.tasks import sweep

    online(acme, acme.agent)
    chat = start(acme, pro_plus_customer(acme))
    with tenant_scope(acme.tenant):
        ChatOffer.objects.filter(chat=chat).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert sweep.delay().get() == 1
    with tenant_scope(acme.tenant):
        answers = list(
            ChatOffer.objects.filter(chat=chat).order_by("pk").values_list("answer", flat=True)
        )
    # Nobody else is online: after it expired it goes to the same agent again.
    assert answers == [ChatOffer.Answer.EXPIRED, ChatOffer.Answer.PENDING]


def test_an_agent_who_drops_keeps_their_chats_for_the_grace_period_then_they_are_re_offered(acme):
    mei = make_member(acme.tenant, "mei@acme.example", Role.AGENT, full_name="Mei")
    online(acme, acme.agent)
    chat = start(acme, pro_plus_customer(acme))
    with tenant_scope(acme.tenant):
        services.offer_accept(chat=chat, membership=membership_of(acme, acme.agent))
        grace = services.chat_settings(acme.tenant).grace_seconds
        # Silent for less than the grace: still theirs.
        AgentPresence.objects.filter(agent=acme.agent).update(
            last_seen_at=timezone.now() - timedelta(seconds=grace - 5)
        )
        assert services.requeue_chats_of_gone_agents(acme.tenant) == []
    online(acme, mei)
    with tenant_scope(acme.tenant):
        AgentPresence.objects.filter(agent=acme.agent).update(
            last_seen_at=timezone.now() - timedelta(seconds=grace + 1)
        )
        services.sweep(acme.tenant)
        chat.refresh_from_db()
        assert chat.state == Chat.State.QUEUED and chat.agent is None
    assert pending_offer(acme, chat).agent == mei


# -- nobody there, Redis down --------------------------------------------------------------------


def test_with_nobody_online_the_question_becomes_a_request_with_the_plans_promise(acme):
    pat = pro_plus_customer(acme)
    page = acme.client(pat).get("/chat/")
    text = page.content.decode()
    assert "Nobody is available to chat right now." in text
    assert "Leave a message" in text and "first reply within 2 hours" in text
    left = acme.client(pat).post("/chat/start/", {"question": "Call me back about SSO"})
    with tenant_scope(acme.tenant):
        ticket = Ticket.objects.get(requester=pat)
        assert left.url == f"/tickets/{ticket.number}/"
        assert ticket.channel == Channel.WEB and not Chat.objects.exists()
    # The acknowledgement says when to expect the answer.
    assert any("Call me back about SSO" in m.subject for m in mail.outbox)


def test_with_redis_down_chat_says_so_and_the_question_is_kept_as_a_request(
    acme, settings, tmp_path
):
    online(acme, acme.agent)
    down = RedisServer(tmp_path / "redis")
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": down.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "RETRY_AFTER": 0.5},
        }
    }
    down.stop()
    pat = pro_plus_customer(acme)
    text = acme.client(pat).get("/chat/").content.decode()
    assert "Chat is unavailable right now." in text
    acme.client(pat).post("/chat/start/", {"question": "Typed while Redis was down"})
    with tenant_scope(acme.tenant):
        assert Ticket.objects.get(requester=pat).subject == "Typed while Redis was down"


# -- limits ---------------------------------------------------------------------------------------


def test_too_long_and_too_fast_get_a_clear_error_and_store_nothing(acme):
    pat = pro_plus_customer(acme)
    chat = start(acme, pat)
    socket = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=pat)
    socket.send(type="send", client_key=uuid.uuid4().hex, body="x" * 5001)
    assert "under 5000 characters" in socket.receive_until("error")["message"]
    for _n in range(RATE_MESSAGES):
        socket.send(type="read", up_to=0)
    socket.send(type="send", client_key=uuid.uuid4().hex, body="one too many")
    assert socket.receive_until("error")["code"] == "too_fast"
    socket.send(type="nonsense")
    with tenant_scope(acme.tenant):
        assert Message.objects.filter(ticket=chat.ticket).count() == 1  # the question only
    socket.close()


def test_a_client_key_finds_only_its_own_authors_line(acme):
    # Each message carries its client_key to both sides: sent again by another person (the
    # customer with the agent's, an agent not in the chat with the customer's), it is
    # refused, neither acknowledged as that line nor stored.
    online(acme, acme.agent)
    zed = make_member(acme.tenant, "zed@acme.example", Role.AGENT, full_name="Zed")
    pat = pro_plus_customer(acme)
    chat = start(acme, pat)
    agent, theirs, mine = membership_of(acme, acme.agent), uuid.uuid4(), uuid.uuid4()
    with tenant_scope(acme.tenant):
        services.chat_pick(chat=chat, membership=agent)
        line = services.chat_post(
            chat=chat, author=acme.agent, membership=agent, body="Try CSV", client_key=theirs
        )
        services.chat_post(
            chat=chat, author=pat, membership=membership_of(acme, pat), body="Ok", client_key=mine
        )
    customer = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=pat)
    customer.send(type="send", client_key=theirs.hex, body="My own words")
    assert customer.receive_until("error")["message"] == (
        "This message could not be sent: reload the page."
    )
    console = Socket("/ws/agent/", host=acme.host, user=zed)
    console.send(type="send", chat=chat.key.hex, client_key=mine.hex, body="Zed here")
    assert customer.nothing_within(0.3)
    assert console.receive_until("error")["message"] == (
        "This message could not be sent: reload the page."
    )
    customer.send(type="send", client_key=mine.hex, body="Ok")  # its own, sent again
    assert customer.receive_until("ack")["client_key"] == mine.hex
    customer.close()
    console.close()
    with tenant_scope(acme.tenant):
        assert list(
            Message.objects.filter(ticket=chat.ticket).order_by("pk").values_list("body", flat=True)
        ) == ["Where is my invoice?", line.body, "Ok"]


def test_a_customer_whose_plan_loses_chat_mid_chat_can_add_no_line_nor_file(acme):
    from django.core.files.uploadedfile import SimpleUploadedFile

    pat = pro_plus_customer(acme)
    chat = start(acme, pat)
    socket = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=pat)
    with tenant_scope(acme.tenant):
        organization = membership_of(acme, pat).organization
        organization.plan = acme.pro
        organization.save(update_fields=["plan"])
    socket.send(type="send", client_key=uuid.uuid4().hex, body="Still there?")
    assert "not part of your plan" in socket.receive_until("error")["message"]
    socket.close()
    upload = SimpleUploadedFile("log.txt", b"row 500 failed", "text/plain")
    answer = acme.client(pat).post(f"/chat/{chat.key}/files/", {"attachments": [upload]})
    assert answer.status_code == 400
    assert "not part of your plan" in answer.json()["error"]
    with tenant_scope(acme.tenant):
        assert Message.objects.filter(ticket=chat.ticket).count() == 1  # the question only


# -- the end --------------------------------------------------------------------------------------


def test_an_answered_chat_is_solved_when_it_ends_and_an_unanswered_one_stays_to_answer(acme):
    online(acme, acme.agent)
    pat, sam = pro_plus_customer(acme), pro_plus_customer(acme, "sam@plus.example", "Sam")
    answered, left = start(acme, pat), start(acme, sam)
    agent = membership_of(acme, acme.agent)
    with tenant_scope(acme.tenant):
        services.offer_accept(chat=answered, membership=agent)
        services.chat_post(chat=answered, author=acme.agent, membership=agent, body="Done!")
        services.chat_end(chat=answered, actor=pat)
        services.chat_end(chat=left, actor=sam)
        answered.ticket.refresh_from_db()
        left.ticket.refresh_from_db()
        assert answered.ticket.status == Status.SOLVED
        assert left.ticket.status == Status.NEW
        with pytest.raises(Exception, match="ended"):
            services.chat_post(
                chat=answered, author=pat, membership=membership_of(acme, pat), body="hi"
            )


def test_the_transcript_email_has_what_the_customer_saw_and_never_a_note(acme):
    online(acme, acme.agent)
    pat = pro_plus_customer(acme)
    chat = start(acme, pat, "Export fails")
    agent = membership_of(acme, acme.agent)
    with tenant_scope(acme.tenant):
        services.offer_accept(chat=chat, membership=agent)
        services.chat_post(chat=chat, author=acme.agent, membership=agent, body="Try CSV")
        services.chat_note(chat=chat, author=acme.agent, body="SECRET internal remark")
    mail.outbox.clear()
    response = acme.client(pat).post(f"/chat/{chat.key}/transcript/")
    assert response.status_code == 302
    [sent] = [m for m in mail.outbox if "Your chat" in m.subject]
    assert sent.to == [pat.email]
    assert "Export fails" in sent.body and "Try CSV" in sent.body
    assert "SECRET" not in sent.body and "SECRET" not in sent.alternatives[0][0]


@pytest.mark.parametrize("where", ["help center", "widget"])
def test_a_chats_transcript_is_emailed_at_most_three_times_an_hour(acme, where):
    pat = pro_plus_customer(acme)
    chat = start(acme, pat, "Export fails")
    if where == "widget":
        widget_on(acme)
        ticket = widget_ticket(acme, pat)
        client, path = acme.client(), f"/widget/t/{ticket}/chat/{chat.key}/transcript/"
    else:
        client, path = acme.client(pat), f"/chat/{chat.key}/transcript/"
    mail.outbox.clear()
    for _n in range(services.TRANSCRIPTS_PER_HOUR):
        client.post(path)
    page = client.post(path, follow=True)
    assert "sent to you 3 times in the last hour" in page.content.decode()
    assert len([m for m in mail.outbox if "Your chat" in m.subject]) == 3


# -- isolation -----------------------------------------------------------------------------------


def test_no_socket_reaches_another_desk_another_customer_or_a_foreign_origin(acme, globex):
    pat = pro_plus_customer(acme)
    chat = start(acme, pat)
    other = pro_plus_customer(acme, "ola@plus.example", "Ola")
    intruder = pro_plus_customer(globex, "ivan@globex-plus.example", "Ivan")

    # Another customer of the same desk: no such chat for them.
    socket = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=other)
    assert socket.closed() == CLOSE_NO_SUCH_CHAT
    # Another desk's customer, with their own desk's session, on this desk's host.
    cookie = session_cookie(globex.host, intruder)
    socket = Socket(f"/ws/chat/{chat.key}/", host=acme.host, cookie=cookie)
    assert socket.closed() == CLOSE_SIGN_IN
    # Another desk's agent on this desk's console.
    socket = Socket("/ws/agent/", host=acme.host, cookie=session_cookie(globex.host, globex.agent))
    assert socket.closed() == CLOSE_SIGN_IN
    # A customer on the agents' console.
    socket = Socket("/ws/agent/", host=acme.host, user=pat)
    assert socket.closed() == CLOSE_SIGN_IN
    # A page of another site opening a socket with the customer's cookie.
    socket = Socket(
        f"/ws/chat/{chat.key}/", host=acme.host, user=pat, origin="https://evil.example"
    )
    assert not socket.connected and socket.close_code == CLOSE_FOREIGN_ORIGIN
    # The right customer, from the right page, gets in.
    socket = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=pat)
    assert socket.connected
    socket.close()


def test_an_agent_acts_only_on_their_own_desks_chats(acme, globex):
    online(acme, acme.agent)
    online(globex, globex.agent)
    theirs = start(globex, pro_plus_customer(globex, "ivan@globex-plus.example", "Ivan"))
    console = Socket("/ws/agent/", host=acme.host, user=acme.agent)
    for action in ("accept", "pick", "end"):
        console.send(type=action, chat=theirs.key.hex)
        assert console.receive_until("error")["message"] == "This chat was not found."
    console.send(type="send", chat=theirs.key.hex, client_key=uuid.uuid4().hex, body="hi")
    assert console.receive_until("error")["message"] == "This chat was not found."
    console.send(type="history", chat=theirs.key.hex, after=0)
    assert console.receive_until("error")["message"] == "This chat was not found."
    console.close()
    with tenant_scope(globex.tenant):
        assert Message.objects.filter(ticket=theirs.ticket).count() == 1


def test_chat_pages_of_another_customer_or_desk_are_not_found(acme, globex):
    pat = pro_plus_customer(acme)
    chat = start(acme, pat)
    other = pro_plus_customer(acme, "ola@plus.example", "Ola")
    for path in (f"/chat/{chat.key}/transcript/", f"/chat/{chat.key}/files/"):
        assert acme.client(other).post(path).status_code == 404
    assert acme.client(acme.agent).get(f"/agent/chat/{chat.key}/customer/").status_code == 200
    # Globex's agent, on Globex's host, asking for Acme's chat.
    assert globex.client(globex.agent).get(f"/agent/chat/{chat.key}/customer/").status_code == 404
    # A customer is not an agent.
    assert acme.client(pat).get(f"/agent/chat/{chat.key}/customer/").status_code == 403
    assert acme.client(pat).get("/agent/chat/").status_code == 403
    # Nobody signed in: to the sign-in page.
    assert acme.client().get("/chat/").status_code == 302


def test_an_agent_with_a_second_factor_owed_gets_no_console(acme):
    with tenant_scope(acme.tenant):
        acme.tenant.require_staff_mfa = True
        acme.tenant.save()
    socket = Socket("/ws/agent/", host=acme.host, user=acme.agent)
    assert socket.closed() == CLOSE_SIGN_IN


def test_settings_are_per_desk(acme, globex):
    with tenant_scope(acme.tenant):
        services.chat_settings(acme.tenant)
        ChatSettings.objects.filter(tenant=acme.tenant).update(capacity=7)
    with tenant_scope(globex.tenant):
        assert services.chat_settings(globex.tenant).capacity == 3


# -- the chat's own service level, and its rating --------------------------------------------


def test_the_chat_first_reply_is_an_sla_outcome_met_late_or_missed(acme):
    from sla.models import Metric, SLAOutcome

    online(acme, acme.agent, capacity=10)
    agent = membership_of(acme, acme.agent)
    people = [pro_plus_customer(acme, f"p{n}@plus.example", f"P{n}") for n in range(4)]
    in_time, late, missed, abandoned = (start(acme, person) for person in people)
    with tenant_scope(acme.tenant):
        assert in_time.first_reply_due_at == in_time.queued_at + timedelta(seconds=60)
        for chat in (in_time, late):
            services.chat_pick(chat=chat, membership=agent)
        services.chat_post(chat=in_time, author=acme.agent, membership=agent, body="Hi!")
        past = timezone.now() - timedelta(seconds=1)
        Chat.objects.filter(pk__in=[late.pk, missed.pk]).update(first_reply_due_at=past)
        late.refresh_from_db()
        services.chat_post(chat=late, author=acme.agent, membership=agent, body="Sorry!")
        services.sweep(acme.tenant)  # the missed one: still waiting, past its time
        services.sweep(acme.tenant)  # recorded once
        services.chat_end(chat=abandoned, actor=people[3])  # left before its time
        outcomes = dict(
            SLAOutcome.objects.filter(metric=Metric.CHAT_FIRST_REPLY).values_list(
                "ticket_id", "result"
            )
        )
    assert outcomes == {
        in_time.ticket_id: SLAOutcome.Result.MET,
        late.ticket_id: SLAOutcome.Result.BREACHED,
        missed.ticket_id: SLAOutcome.Result.BREACHED,
    }
    report = acme.client(acme.admin).get("/agent/reports/sla/").content.decode()
    assert "Chat first reply" in report


def test_a_plans_chat_target_is_its_own(acme):
    with tenant_scope(acme.tenant):
        acme.pro_plus.chat_first_reply_seconds = 30
        acme.pro_plus.save()
    chat = start(acme, pro_plus_customer(acme))
    assert chat.first_reply_due_at == chat.queued_at + timedelta(seconds=30)


def test_an_answered_chat_asks_for_a_rating_at_its_end_recorded_like_ticket_csat(acme):
    from feedback.models import CsatSurvey, SurveyStatus
    from feedback.services import csat_send_due

    online(acme, acme.agent)
    pat = pro_plus_customer(acme)
    chat = start(acme, pat)
    agent = membership_of(acme, acme.agent)
    with tenant_scope(acme.tenant):
        services.offer_accept(chat=chat, membership=agent)
        services.chat_post(chat=chat, author=acme.agent, membership=agent, body="Fixed!")
        services.chat_end(chat=chat, actor=acme.agent)
        chat.refresh_from_db()
        assert services.chat_json(chat)["can_rate"] is True
    mail.outbox.clear()
    response = acme.client(pat).post(f"/chat/{chat.key}/rate/", {"rating": "2"})
    assert response.status_code == 302
    with tenant_scope(acme.tenant):
        survey = CsatSurvey.objects.get(ticket=chat.ticket)
        assert (survey.status, survey.rating, survey.agent) == (SurveyStatus.SENT, 2, acme.agent)
        # Asked in the chat: no email survey follows, however late the sender runs.
        assert csat_send_due(tenant=acme.tenant, now=timezone.now() + timedelta(days=2)) == 0
        assert services.chat_json(chat)["can_rate"] is False
    # A bad rating tells the agent, as a ticket's does.
    assert any(acme.agent.email in m.to for m in mail.outbox)
    # Nobody else rates it.
    other = pro_plus_customer(acme, "ola@plus.example", "Ola")
    assert acme.client(other).post(f"/chat/{chat.key}/rate/", {"rating": "5"}).status_code == 404


def test_the_dashboard_counts_chats_their_waits_and_the_abandoned(acme, globex):
    from feedback import dashboard
    from feedback.dashboard import Period, Scope

    start(globex, pro_plus_customer(globex, "ivan@globex-plus.example", "Ivan"))  # not Acme's
    people = [pro_plus_customer(acme, f"w{n}@plus.example", f"W{n}") for n in range(5)]
    chats = [start(acme, person) for person in people]
    now = timezone.now()
    # Waits of 10, 20, 30 and 100 seconds; the fifth left before anyone replied.
    with tenant_scope(acme.tenant):
        for chat, seconds in zip(chats, (10, 20, 30, 100), strict=False):
            Chat.objects.filter(pk=chat.pk).update(
                queued_at=now - timedelta(minutes=5),
                first_reply_at=now - timedelta(minutes=5) + timedelta(seconds=seconds),
                state=Chat.State.ENDED,
            )
        Chat.objects.filter(pk=chats[4].pk).update(state=Chat.State.ENDED)
        today = timezone.localdate()
        figures = dashboard.chats(Scope.make(Period(today - timedelta(days=6), today)))
    assert figures.current.chats == 5 and figures.current.abandoned == 1
    assert figures.current.median == 25.0  # between 20 and 30
    assert figures.current.p90 == pytest.approx(79.0)  # at 0.9 x 3 = 2.7: 30 + 0.7 x 70
    assert figures.percent_abandoned.current == 20.0
    page = acme.client(acme.admin).get("/agent/reports/")
    panel = page.context["panels"]["chat"]
    assert [h.value for h in panel.headlines] == ["5", "25.0", "79.0", "20.0%"]
    csv = acme.client(acme.admin).get("/agent/reports/", {"csv": "chat-waits"})
    assert csv.status_code == 200 and "90th percentile" in csv.content.decode()
