"""Build agents' search documents (tickets/search.py): `manage.py reindex_tickets`.

Without options, the tickets that have none (written by bulk tools, past the services);
`--all` rebuilds every document; `--desk SLUG` keeps to one desk.
"""

from django.core.management.base import BaseCommand, CommandError

from helpdesk.models import Tenant
from tickets.search import reindex


class Command(BaseCommand):
    help = "Build the search documents of tickets that have none (--all: every ticket)."

    def add_arguments(self, parser):
        parser.add_argument("--desk", help="the desk's slug; every desk without it")
        parser.add_argument("--all", action="store_true", help="rebuild every document")

    def handle(self, *args, desk=None, **options):
        tenant_id = None
        if desk:
            tenant_id = Tenant.objects.filter(slug=desk).values_list("pk", flat=True).first()
            if tenant_id is None:
                raise CommandError(f"No desk is called {desk}.")
        done = reindex(tenant_id=tenant_id, only_missing=not options["all"])
        self.stdout.write(f"{done} tickets indexed.")
