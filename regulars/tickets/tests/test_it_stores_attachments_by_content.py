from __future__ import annotations

import pytest
from django.test import override_settings

from regulars.core.errors import NotFound
from regulars.core.testing import Cast
from regulars.tickets.attachments import AttachmentTooLarge, Upload, blob_path, safe_filename
from regulars.tickets.models import Attachment, Blob
from regulars.tickets.selectors import get_attachment
from regulars.tickets.services import open_ticket, post_message


def test_it_stores_identical_content_once_outside_the_web_root(cast: Cast, settings) -> None:
    data = b"%PDF-1.4 invoice"
    open_ticket(
        subject="a",
        body="a",
        requester=cast.carol,
        attachments=[Upload("invoice.pdf", "application/pdf", data)],
    )
    open_ticket(
        subject="b", body="b", requester=cast.erin, attachments=[Upload("copy.pdf", "application/pdf", data)]
    )
    assert Blob.objects.count() == 1 and Attachment.objects.count() == 2
    path = blob_path(Blob.objects.get().sha256)
    assert path.read_bytes() == data
    assert str(path).startswith(str(settings.ATTACHMENT_ROOT))


def test_it_serves_an_attachment_only_to_people_who_see_its_message(cast: Cast) -> None:
    ticket = open_ticket(
        subject="a", body="a", requester=cast.carol, attachments=[Upload("a.txt", "text/plain", b"A")]
    )
    note = post_message(
        ticket,
        author=cast.bob,
        body="internal",
        public=False,
        attachments=[Upload("n.txt", "text/plain", b"N")],
    )
    public_att = Attachment.objects.get(filename="a.txt")
    note_att = note.attachments.get()
    assert get_attachment(cast.carol_user, public_att.public_id) == public_att
    assert get_attachment(cast.bob, note_att.public_id) == note_att
    for viewer, att in ((cast.erin_user, public_att), (cast.carol_user, note_att)):
        with pytest.raises(NotFound):
            get_attachment(viewer, att.public_id)


@override_settings(ATTACHMENT_MAX_BYTES=10)
def test_it_refuses_an_oversized_attachment_and_writes_no_ticket(cast: Cast) -> None:
    from regulars.tickets.models import Ticket

    with pytest.raises(AttachmentTooLarge):
        open_ticket(
            subject="a", body="a", requester=cast.carol, attachments=[Upload("big", "x/y", b"x" * 11)]
        )
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\evil\\x.exe", "x.exe"),
        ('a"b<c>.txt', "abc.txt"),
        ("...", "attachment"),
    ],
)
def test_it_cleans_file_names(raw: str, clean: str) -> None:
    assert safe_filename(raw) == clean
