"""Suspended mail, and the Message-IDs of tickets' email threads.

The thread ids are filled from what the desk already has, so replies to mail sent
before this migration thread too: the Message-IDs of received messages, and those
of the emails queued about a ticket (the outbox keeps their headers, and the
ticket's number in X-Helpdesk-Ticket).
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


BACKFILL_RECEIVED = """
INSERT INTO tickets_ticketemailid (tenant_id, ticket_id, message_id, sent, created_at)
SELECT DISTINCT ON (tenant_id, email_message_id)
       tenant_id, ticket_id, email_message_id, false, created_at
FROM tickets_message
WHERE email_message_id <> ''
ORDER BY tenant_id, email_message_id, created_at
ON CONFLICT DO NOTHING
"""

BACKFILL_SENT = """
INSERT INTO tickets_ticketemailid (tenant_id, ticket_id, message_id, sent, created_at)
SELECT DISTINCT ON (email.tenant_id, email.headers ->> 'Message-ID')
       email.tenant_id, ticket.id, LEFT(email.headers ->> 'Message-ID', 255), true, email.created_at
FROM helpdesk_outboundemail AS email
JOIN tickets_ticket AS ticket
  ON ticket.tenant_id = email.tenant_id
 AND ticket.number = (email.headers ->> 'X-Helpdesk-Ticket')::integer
WHERE email.headers ->> 'Message-ID' <> ''
  AND email.headers ->> 'X-Helpdesk-Ticket' ~ '^[0-9]{1,9}$'
ORDER BY email.tenant_id, email.headers ->> 'Message-ID', email.created_at
ON CONFLICT DO NOTHING
"""


class Migration(migrations.Migration):

    dependencies = [
        ('helpdesk', '0004_outbound_email_queued_index'),
        ('tickets', '0005_dashboard_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='SuspendedEmail',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sender', models.CharField(blank=True, max_length=320, verbose_name='sender')),
                ('subject', models.CharField(blank=True, max_length=255, verbose_name='subject')),
                ('message_id', models.CharField(blank=True, max_length=255, verbose_name='Message-ID')),
                ('received_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='received')),
                ('source', models.CharField(choices=[('gateway', 'Mail gateway'), ('imap', 'IMAP mailbox'), ('maildir', 'Maildir'), ('mbox', 'mbox file')], max_length=10, verbose_name='received through')),
                ('reason', models.CharField(choices=[('unparseable', 'Could not be read'), ('unknown_sender', 'Unknown sender'), ('rejected', 'Rejected'), ('failed', 'Processing failed'), ('too_large', 'Too large')], max_length=20, verbose_name='reason')),
                ('error', models.TextField(blank=True, verbose_name='error')),
                ('raw', models.BinaryField()),
                ('size', models.PositiveBigIntegerField(verbose_name='size')),
                ('retried_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='last retried')),
                ('expires_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='expires')),
                ('tenant', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='helpdesk.tenant')),
            ],
            options={
                'verbose_name': 'suspended mail',
                'verbose_name_plural': 'suspended mail',
                'ordering': ['-received_at', '-pk'],
                'indexes': [models.Index(fields=['tenant', '-received_at'], name='suspendedemail_received'), models.Index(condition=models.Q(('expires_at__isnull', False)), fields=['expires_at'], name='suspendedemail_expires')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('message_id', ''), _negated=True), fields=('tenant', 'message_id'), name='suspendedemail_tenant_message_id')],
            },
        ),
        migrations.CreateModel(
            name='TicketEmailId',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('message_id', models.CharField(max_length=255)),
                ('sent', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('tenant', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='helpdesk.tenant')),
                ('ticket', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tickets.ticket')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('tenant', 'message_id'), name='ticketemailid_tenant_message_id')],
            },
        ),
        migrations.RunSQL(BACKFILL_RECEIVED, migrations.RunSQL.noop, elidable=True),
        migrations.RunSQL(BACKFILL_SENT, migrations.RunSQL.noop, elidable=True),
    ]

