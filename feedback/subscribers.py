"""What feedback does when tickets change, and who hears of a rating."""

from chat.domain_events import ChatEnded
from feedback.events import CsatRated
from feedback.models import CsatSurvey
from feedback.services import csat_asked_in_chat, csat_ticket_reopened, csat_ticket_solved
from helpdesk import events
from tickets import notifications
from tickets.events import TicketReopened, TicketSolved


@events.subscribe(TicketSolved, phase=events.IN_TRANSACTION)
def plan_satisfaction_survey(event: TicketSolved) -> None:
    """In the solve's transaction: the survey is part of the solve, and a reopening that
    commits right after must find it to cancel it, whatever a worker has run."""
    live = event.live
    csat_ticket_solved(live["ticket"], actor=live.get("actor"), now=live["now"])


@events.subscribe(TicketReopened, phase=events.IN_TRANSACTION)
def cancel_satisfaction_survey(event: TicketReopened) -> None:
    csat_ticket_reopened(event.live["ticket"])


@events.subscribe(ChatEnded, phase=events.IN_TRANSACTION, only_if=lambda e: e.answered)
def ask_satisfaction_in_chat(event: ChatEnded) -> None:
    """An answered chat asks its question at its end (one click in the chat): the solve's
    survey counts as sent now, and no email follows."""
    csat_asked_in_chat(event.live["ticket"])


@events.subscribe(CsatRated, only_if=lambda event: event.turned_bad)
def email_bad_rating(event: CsatRated) -> None:
    """The agent and the admins hear of a bad rating, once per survey."""
    survey = CsatSurvey.objects.select_related("ticket__tenant", "ticket__assignee", "agent")
    survey = survey.filter(pk=event.survey_id).first()
    if survey is not None:
        notifications.bad_rating(survey.ticket, survey)
