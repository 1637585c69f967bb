from django.urls import path

from tickets.views import agent, attachments, helpcenter, inbound

urlpatterns = [
    path("tickets/", helpcenter.ticket_list, name="hc_ticket_list"),
    path("tickets/new/", helpcenter.ticket_new, name="hc_ticket_new"),
    path("tickets/<int:number>/", helpcenter.ticket_detail, name="hc_ticket_detail"),
    path("tickets/<int:number>/solve/", helpcenter.ticket_mark_solved, name="hc_ticket_solve"),
    path("tickets/<int:number>/reopen/", helpcenter.ticket_mark_reopened, name="hc_ticket_reopen"),
    path("attachments/<uuid:key>/", attachments.attachment_download, name="attachment_download"),
    path("inbound/email/", inbound.inbound_email, name="inbound_email"),
    path("agent/", agent.ticket_queue, name="agent_queue"),
    path("agent/customers/", agent.customers, name="agent_customers"),
    path("agent/customers/search/", agent.customer_search, name="agent_customer_search"),
    path("agent/tickets/new/", agent.ticket_open, name="agent_ticket_new"),
    path("agent/tickets/bulk/", agent.ticket_bulk, name="agent_bulk"),
    path("agent/tickets/<int:number>/", agent.ticket_detail, name="agent_ticket"),
    path("agent/tickets/<int:number>/respond/", agent.ticket_respond, name="agent_respond"),
    path("agent/tickets/<int:number>/change/", agent.ticket_change, name="agent_change"),
    path("agent/tickets/<int:number>/merge/", agent.ticket_merge_into, name="agent_merge"),
    path("agent/tickets/<int:number>/presence/", agent.ticket_presence, name="agent_presence"),
    path(
        "agent/tickets/<int:number>/mail/<uuid:key>/review/",
        agent.unverified_mail_review,
        name="agent_mail_review",
    ),
    path(
        "agent/tickets/<int:number>/macros/<int:macro_id>/",
        agent.macro_preview,
        name="agent_macro_preview",
    ),
]
