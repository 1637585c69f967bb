"""A file missing from storage (a lost volume, a restore without media) is a 404 for the
reader on every route that serves stored files, never a 500."""

from django.apps import apps
from django.core.files.base import ContentFile
from django.db.models import FileField

from knowledge.models import ArticleImage
from tests.api.helpers import token_client
from tests.tickets.factories import make_ticket, upload
from tickets.models import Attachment

PNG = b"\x89PNG\r\n\x1a\n fake"


def test_every_model_that_keeps_files_is_served_by_a_route_checked_here():
    keeping_files = {
        model
        for model in apps.get_models()
        if any(isinstance(field, FileField) for field in model._meta.get_fields())
    }
    assert keeping_files == {Attachment, ArticleImage}


def test_a_stored_file_that_vanished_is_a_404_on_every_route_that_serves_it(acme, caplog):
    ticket = make_ticket(acme, uploads=[upload("screen.png", PNG, "image/png")])
    with acme.scope():
        attachment = Attachment.objects.get(message__ticket=ticket)
        image = ArticleImage.objects.create(
            tenant=acme.tenant,
            name="Chart",
            file=ContentFile(PNG, name="chart.png"),
            content_type="image/png",
            size=len(PNG),
        )
        for kept in (attachment, image):
            kept.file.delete(save=False)
    answers = [
        acme.client(acme.customer).get(f"/attachments/{attachment.key}/"),
        token_client(acme, acme.customer).get(f"/api/v1/attachments/{attachment.key}/"),
        acme.client().get(f"/kb/images/{image.key}/"),
    ]
    assert [response.status_code for response in answers] == [404, 404, 404]
    assert len([r for r in caplog.records if "has no file at" in r.getMessage()]) == 3
