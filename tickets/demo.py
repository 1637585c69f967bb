"""Demo tickets for `seed_demo`: realistic threads in English and Chinese.

Demo history lies in the past, so it is written directly (with past
timestamps, audit rows and rendered bodies, as the services would have left
them) instead of through the services, which would email everyone now.

Everything is dated from the moment `seed_demo` runs. Solved and closed tickets
spread over the last 60 days (the dashboards' history); the unsolved ones are the
desk's current work, and the desk mostly keeps its promises: each is placed so its
soonest running clock is overdue for about one in ten, inside its warning window for
about one in eight, and on track for the rest (`_start_for_pace`).
"""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from helpdesk.models import Membership, Role, Tenant
from sla.business_time import add_business_time, subtract_business_time
from sla.models import SLAOutcome
from sla.selectors import policy_book
from tickets.models import (
    UNSOLVED,
    Category,
    Channel,
    Macro,
    Message,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    TicketSequence,
)
from tickets.rendering import render_markdown
from tickets.search import reindex

# (category, subject, customer's message, agent's reply, customer's follow-up)
SCENARIOS_EN = [
    (
        "Technical issue",
        "Dashboard charts are blank since this morning",
        "Our **Revenue** dashboard shows empty charts since about 9:00. Other dashboards work.\n\n"
        "Steps:\n1. Open Dashboards → Revenue\n2. Wait for loading\n3. Charts stay empty",
        "Thanks for the clear steps. We found a stuck cache for your workspace and cleared it. "
        "Could you reload and confirm the charts are back?",
        "Yes, they are back. Thank you!",
    ),
    (
        "Billing",
        "Invoice shows the wrong VAT number",
        "The invoice for last month has our old VAT number (DE123). The new one is DE987654321.",
        "We updated the VAT number on your account and re-issued the invoice; you will find it "
        "under Settings → Billing.",
        "Got it, thanks.",
    ),
    (
        "Account",
        "How do I add a colleague as admin?",
        "I want to give my colleague admin rights but I only see *viewer* and *editor*.",
        "Admins can be added under **Settings → Team**: invite your colleague, then choose the "
        "*Admin* role next to their name. Only existing admins see that option.",
        "Found it, works now.",
    ),
    (
        "Getting started",
        "Connecting our PostgreSQL database",
        "Which IP addresses should we allow in our firewall to connect our PostgreSQL database?",
        "Please allow `203.0.113.10` and `203.0.113.11`. The connection needs TLS; the setup "
        "guide has the details.",
        "Connected, the first sync is running.",
    ),
    (
        "Feature request",
        "Export dashboards to PDF",
        "It would help a lot to export a dashboard to PDF for our monthly board report.",
        "Thanks for the suggestion! PDF export is on our roadmap; I've added your vote and will "
        "update this ticket when it ships.",
        "Great, looking forward to it.",
    ),
    (
        "Technical issue",
        "API returns 429 Too Many Requests",
        "Our nightly import gets `429 Too Many Requests` after about 600 calls.",
        "Your plan allows 10 requests per second. Batching the import with the `/bulk` endpoint "
        "keeps you well under that; here is an example:\n\n```\nPOST /v2/events/bulk\n```",
        "Batching fixed it.",
    ),
    (
        "Billing",
        "Upgrade from Pro to Pro+ mid-month",
        "If we upgrade now, are we charged for the full month?",
        "No: the upgrade is prorated, you pay only the difference for the remaining days.",
        "Perfect, we'll upgrade today.",
    ),
    (
        "Technical issue",
        "SSO login loops back to the sign-in page",
        "After the Okta login we land on the sign-in page again, in every browser.",
        "The SAML certificate on your side was rotated yesterday. Could you upload the new "
        "certificate under Settings → SSO?",
        "That was it. Login works.",
    ),
]

SCENARIOS_ZH = [
    (
        "Technical issue",
        "报表导出 Excel 时中文乱码",
        "导出的 Excel 文件打开后中文全部是乱码，用的是 Windows 版 Excel。",
        "这是编码问题。请在导出时选择 **UTF-8 (带 BOM)** 格式，Excel 就能正确显示中文了。",
        "按你说的设置后正常了，谢谢！",
    ),
    (
        "Billing",
        "如何开具增值税专用发票",
        "我们需要增值税专用发票，请问在哪里提交开票信息？",
        "请在 **设置 → 账单 → 发票信息** 中填写公司名称、税号、开户行和账号，"
        "提交后 3 个工作日内开具。",
        "已经提交了，谢谢。",
    ),
    (
        "Account",
        "忘记密码，收不到重置邮件",
        "点击“忘记密码”后一直收不到邮件，垃圾箱里也没有。",
        "我们查到您的邮箱服务器拒收了邮件。请让 IT 部门将我们的发件地址加入白名单，"
        "我们已手动重新发送。",
        "收到了，已经重置成功。",
    ),
    (
        "Getting started",
        "如何导入历史数据",
        "我们有过去两年的销售数据（CSV），怎样批量导入？",
        "可以使用 **数据 → 导入** 功能，单个文件最大 500 MB。"
        "列名需要与模板一致，模板可在导入页面下载。",
        "导入成功，数据都在了。",
    ),
    (
        "Feature request",
        "希望支持企业微信通知",
        "告警目前只能发邮件，希望能推送到企业微信群。",
        "感谢建议！企业微信通知已在规划中，我们会在上线后第一时间通知您。",
        "好的，期待。",
    ),
    (
        "Technical issue",
        "仪表盘加载很慢",
        "最近打开销售仪表盘需要 30 秒以上，之前只要几秒。",
        "我们发现有一个查询缺少索引，已经优化。请刷新后再试一下速度。",
        "现在两秒就打开了，非常感谢！",
    ),
]

NOTE_EN = "Checked the logs; this matches a known issue."
NOTE_ZH = "客户是付费版重点客户，注意跟进。"

# (name, name in Chinese, reply, then set status, then set priority); a reply in Chinese
# has its Chinese name only.
MACROS = [
    (
        "Ask for a screenshot",
        "请客户提供截图（英文回复）",
        "Hi {{ customer.first_name }},\n\nCould you send a screenshot of what you see? "
        "It helps us find the cause of #{{ ticket.number }} faster.\n\nThanks,\n"
        "{{ agent.first_name }}",
        Status.PENDING,
        None,
    ),
    (
        "Solved: thanks",
        "已解决并致谢（英文回复）",
        "Hi {{ customer.first_name }},\n\nGlad we could help! I'm marking this request as "
        "solved; just reply if anything else comes up.\n\n{{ agent.first_name }}",
        Status.SOLVED,
        None,
    ),
    (
        "Escalate to engineering",
        "转交工程团队（英文回复）",
        "Hi {{ customer.first_name }},\n\nI've passed this to our engineering team with all the "
        "details and raised its priority. I'll update you here as soon as I hear back.\n\n"
        "{{ agent.first_name }}",
        Status.ON_HOLD,
        Priority.HIGH,
    ),
    (
        "请提供截图",
        "",
        "{{ customer.first_name }} 您好，\n\n麻烦提供一张问题页面的截图，便于我们尽快定位工单 "
        "#{{ ticket.number }} 的原因。\n\n谢谢！\n{{ agent.first_name }}",
        Status.PENDING,
        None,
    ),
]


def seed_macros(tenant: Tenant) -> None:
    for position, (name, name_zh_hans, body, status, priority) in enumerate(MACROS):
        macro, _created = Macro.objects.get_or_create(
            tenant=tenant,
            name=name,
            defaults={
                "name_zh_hans": name_zh_hans,
                "body": body,
                "set_status": status,
                "set_priority": priority,
                "position": position,
            },
        )
        if name_zh_hans and not macro.name_zh_hans:  # seeded before macros had Chinese names
            Macro.objects.filter(pk=macro.pk).update(name_zh_hans=name_zh_hans)


@transaction.atomic
def _replay_clocks(ticket: Ticket, book, now, *, reply_at) -> None:
    """Give a back-dated demo ticket the SLA history it would have had: clocks
    started when it was filed, met (or missed) by the reply, stopped when solved,
    and a clock that ran out before today recorded as breached, as the sweep would
    have done, so starting the demo sends no burst of breach emails."""
    from sla import timers

    target_status = ticket.status
    timers.start(ticket, book, ticket.created_at)
    if reply_at is not None:
        timers.agent_replied(ticket, book, reply_at)
    if target_status in (Status.PENDING, Status.SOLVED, Status.CLOSED):
        timers.status_changed(ticket, book, target_status, ticket.solved_at or reply_at)
    if ticket.sla_paused_at is None:
        for metric in timers.running_metrics(ticket):
            due = timers.due_of(ticket, metric)
            if due <= now and not timers.is_breached(ticket, metric):
                setattr(ticket, f"{metric}_breached_at", due)
                ticket._sla_outcomes = [
                    *getattr(ticket, "_sla_outcomes", []),
                    (metric, SLAOutcome.Result.BREACHED, due, due),
                ]
        timers.refresh(ticket, book)
    ticket._sla_outcomes = getattr(ticket, "_sla_outcomes", [])
    ticket._sla_notes = []


# How the unsolved demo tickets stand in the queue (the rest are on track).
OVERDUE_SHARE = 0.10
WARNING_SHARE = 0.12


def _start_for_pace(book, plan, priority: int, status: str, now, pace: random.Random):
    """When an unsolved ticket was filed, so that its soonest running clock (first
    response while unanswered, else resolution) is overdue by minutes to hours, inside
    its warning window, or on track with a quarter to nine tenths of its target left,
    in the policy's business hours."""
    policy = book.policy(plan.pk if plan else None, priority)
    if policy is None:
        return now - timedelta(minutes=pace.randint(30, 60 * 24))
    schedule = book.schedule(policy)
    metric = "first_response" if status == Status.NEW else "resolution"
    target = policy.target(metric)
    roll = pace.random()
    if roll < OVERDUE_SHARE:
        due = now - timedelta(minutes=pace.randint(10, 6 * 60))
    elif roll < OVERDUE_SHARE + WARNING_SHARE:
        left = policy.warning_window(metric) * pace.uniform(0.2, 0.9)
        due = add_business_time(now, left, schedule)
    else:
        due = add_business_time(now, target * pace.uniform(0.25, 0.9), schedule)
    return subtract_business_time(due, target, schedule)


def seed_tickets(tenant: Tenant, count: int = 200, seed: int = 2026) -> int:
    """Create `count` tickets over the last 60 days; nothing if the tenant has some."""
    if Ticket.objects.exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo content, not secrets
    # Its own sequence, so the content drawn from `rng` stays that of earlier demos.
    pace = random.Random(seed + 1)  # noqa: S311
    customers = list(
        Membership.objects.filter(role=Role.CUSTOMER)
        .select_related("user", "organization__plan")
        .order_by("pk")  # the same demo every time: the rng picks by position
    )
    agents = [
        m.user
        for m in Membership.objects.filter(role__in=[Role.AGENT, Role.ADMIN])
        .select_related("user")
        .order_by("pk")
    ]
    categories = {c.name: c for c in Category.objects.all()}
    book = policy_book(tenant)
    now = timezone.now()
    statuses = (
        [Status.NEW] * 3
        + [Status.OPEN] * 4
        + [Status.PENDING] * 2
        + [Status.ON_HOLD]
        + [Status.SOLVED] * 5
        + [Status.CLOSED] * 5
    )
    tickets, messages, events = [], [], []
    for number in range(1, count + 1):
        membership = rng.choice(customers)
        customer = membership.user
        chinese = customer.email.startswith(("liu@", "george@", "ivy@")) or rng.random() < 0.2
        category, subject, ask, answer, thanks = rng.choice(
            SCENARIOS_ZH if chinese else SCENARIOS_EN
        )
        status = rng.choice(statuses)
        plan = membership.organization.plan if membership.organization else None
        priority = rng.choice([Priority.HIGH, Priority.MEDIUM, Priority.MEDIUM, Priority.LOW])
        if plan and plan.allows_urgent and rng.random() < 0.3:
            priority = Priority.URGENT
        created = now - timedelta(minutes=rng.randint(10, 60 * 24 * 60))
        if status == Status.NEW:
            created = now - timedelta(minutes=rng.randint(10, 60 * 30))  # drawn as before
        if status in UNSOLVED:
            created = _start_for_pace(book, plan, priority, status, now, pace)
        answered = status != Status.NEW
        agent = rng.choice(agents)
        reply_at = created + timedelta(minutes=rng.randint(5, 60 * 20))
        solved_at = reply_at + timedelta(hours=rng.randint(1, 48))
        if answered and reply_at > now:
            reply_at = max(created + timedelta(minutes=1), now - timedelta(minutes=1))
        done = status in (Status.SOLVED, Status.CLOSED)
        ticket = Ticket(
            tenant=tenant,
            number=number,
            subject=subject,
            requester=customer,
            organization=membership.organization,
            category=categories[category],
            priority=priority,
            status=status,
            channel=rng.choice([Channel.WEB] * 4 + [Channel.EMAIL]),
            assignee=agent if answered or rng.random() < 0.3 else None,
            tags=rng.sample(
                ["vip", "bug", "onboarding", "billing", "follow-up"], rng.randint(0, 2)
            ),
            created_at=created,
            updated_at=solved_at if done else reply_at if answered else created,
            solved_at=solved_at if done else None,
            closed_at=solved_at + timedelta(days=4) if status == Status.CLOSED else None,
        )
        _replay_clocks(ticket, book, now, reply_at=reply_at if answered else None)
        tickets.append(ticket)
        thread = [(customer, ask, created, False)]
        if answered:
            thread.append((agent, answer, reply_at, False))
            if rng.random() < 0.4:
                note = NOTE_ZH if chinese else NOTE_EN
                thread.append((agent, note, reply_at - timedelta(minutes=2), True))
        if done:
            thread.append((customer, thanks, solved_at - timedelta(minutes=30), False))
        for author, body, at, internal in thread:
            channel = ticket.channel if author == customer else Channel.WEB
            message = Message(
                tenant=tenant,
                author=author,
                body=body,
                is_internal=internal,
                body_html=render_markdown(body),
                channel=channel,
                created_at=at,
            )
            messages.append((ticket, message))
        kind = TicketEvent.Kind
        history = [(customer, kind.CREATED, "", ticket.get_channel_display(), created)]
        if ticket.assignee:
            history.append((agent, kind.ASSIGNEE, "", agent.display_name, reply_at))
        if done:
            history.append((agent, kind.STATUS, Status.OPEN, Status.SOLVED, solved_at))
        for actor, event_kind, old, new, at in history:
            event = TicketEvent(
                tenant=tenant,
                actor=actor,
                kind=event_kind,
                old_value=old,
                new_value=new,
                created_at=at,
            )
            events.append((ticket, event))
    Ticket.objects.bulk_create(tickets)
    for ticket, message in messages:
        message.ticket = ticket
    Message.objects.bulk_create([m for _, m in messages])
    for ticket, event in events:
        event.ticket = ticket
    TicketEvent.objects.bulk_create([e for _, e in events])
    SLAOutcome.objects.bulk_create(
        SLAOutcome(
            tenant=tenant, ticket=ticket, metric=metric, result=result, due_at=due, recorded_at=at
        )
        for ticket in tickets
        for metric, result, due, at in ticket._sla_outcomes
    )
    TicketSequence.objects.update_or_create(tenant=tenant, defaults={"last_number": count})
    # Written in bulk, past the services: their search documents are built here.
    reindex(tenant_id=tenant.pk)
    return count
