"""The help center's call to action for a higher plan (seeds/001: lower tiers see what
a higher one gives, and are led to it), counted for customer success.

A plan with an upgrade page (its own, or the desk's in *Plan settings*) gets an
"Upgrade to <plan>" link, which goes through `upgrade_click_record` on its way out.
Without one, "Ask us about <plan>" files a request for the customer
(`upgrade_enquiry_file`): a ticket, rather than a note to the success manager, because
a ticket is answered within the plan's promise by whoever is on duty, shows in the
customer's requests with the answer, and continues by email; Free organizations, the
ones who ask most, usually have no success manager to write to. When the organization
has one, the ticket is theirs. Either step is an `UpgradeInterest` row, an upsell
signal on the success workspace.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from helpdesk.models import Membership, Role
from plans.models import Plan
from plans.selectors import plan_for_membership
from success.models import UpgradeInterest
from tickets.models import UNSOLVED, Priority, Ticket
from tickets.services import ticket_create, ticket_update

ENQUIRY_TAG = "upgrade"


def _check_higher(membership: Membership, plan: Plan) -> Plan | None:
    current = plan_for_membership(membership)
    if current is not None and plan.rank <= current.rank:
        raise ValidationError(_("Your plan already includes this one."))
    return current


@transaction.atomic
def upgrade_click_record(*, membership: Membership, plan: Plan) -> UpgradeInterest:
    """A customer opened `plan`'s upgrade page from the help center."""
    current = _check_higher(membership, plan)
    return UpgradeInterest.objects.create(
        tenant_id=membership.tenant_id,
        organization_id=membership.organization_id,
        person_id=membership.user_id,
        plan=plan,
        from_plan=current,
        kind=UpgradeInterest.Kind.CLICK,
    )


def _success_manager(organization):
    """The organization's success manager, if they still work on this desk."""
    manager = organization.success_manager if organization else None
    if manager is None:
        return None
    is_staff = Membership.objects.filter(
        user=manager, is_active=True, role__in=[Role.AGENT, Role.ADMIN]
    ).exists()
    return manager if is_staff else None


@transaction.atomic
def upgrade_enquiry_file(*, membership: Membership, plan: Plan) -> tuple[Ticket, bool]:
    """File "tell me about <plan>" as a request of the customer: (ticket, True), or
    (their open enquiry about it, False) when they asked already and it is unanswered.

    Two clicks at once file one request: the customer's membership row is locked
    until commit, so the second sees the first's ticket.
    """
    Membership.objects.select_for_update().filter(pk=membership.pk).first()
    current = _check_higher(membership, plan)
    asked = (
        UpgradeInterest.objects.filter(
            person_id=membership.user_id,
            plan=plan,
            kind=UpgradeInterest.Kind.ENQUIRY,
            ticket__status__in=UNSOLVED,
        )
        .select_related("ticket")
        .first()
    )
    if asked is not None:
        return asked.ticket, False
    organization = membership.organization
    names = {
        "plan": plan.name,
        "current": current.name if current else "-",
        "organization": organization.name if organization else "",
    }
    if organization is not None:
        body = _("I would like to hear about moving %(organization)s from %(current)s to %(plan)s.")
    else:
        body = _("I would like to hear about moving from %(current)s to %(plan)s.")
    body = "\n\n".join(
        [body % names, _("(Sent with the help center's “Ask us about %(plan)s” button.)") % names]
    )
    ticket = ticket_create(
        tenant=membership.tenant,
        requester=membership.user,
        requester_membership=membership,
        subject=_("Upgrade enquiry: %(plan)s") % names,
        body=body,
        priority=Priority.MEDIUM,
        tags=[ENQUIRY_TAG],
    )
    manager = _success_manager(organization)
    if manager is not None:
        ticket = ticket_update(ticket=ticket, actor=None, assignee=manager)
    UpgradeInterest.objects.create(
        tenant_id=membership.tenant_id,
        organization=organization,
        person_id=membership.user_id,
        plan=plan,
        from_plan=current,
        kind=UpgradeInterest.Kind.ENQUIRY,
        ticket=ticket,
    )
    return ticket, True
