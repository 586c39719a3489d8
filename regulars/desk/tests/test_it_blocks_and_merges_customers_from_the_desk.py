"""Blocking, unblocking and merging customers from their desk profile, always audited."""

from __future__ import annotations

import pytest

from regulars.accounts.models import AuditLog
from regulars.core.testing import Cast
from regulars.customers.services import create_customer
from regulars.desk.tests.workspace_data import agent_client
from regulars.tickets.services import open_ticket

pytestmark = pytest.mark.django_db


def test_it_blocks_only_with_a_reason_and_audits_it(cast: Cast) -> None:
    bob = agent_client(cast.bob)
    url = f"/desk/customers/{cast.carol.public_id}/block/"
    response = bob.post(url, {"reason": ""}, follow=True)
    assert "Say why the customer is blocked." in response.content.decode()
    cast.carol.refresh_from_db()
    assert not cast.carol.is_blocked
    response = bob.post(url, {"reason": "Threatened staff on the phone"}, follow=True)
    assert "is blocked" in response.content.decode()
    cast.carol.refresh_from_db()
    assert cast.carol.is_blocked and cast.carol.blocked_reason == "Threatened staff on the phone"
    audit = AuditLog.objects.get(action="customer.blocked", object_id=cast.carol.public_id)
    assert audit.actor == cast.bob


def test_it_unblocks_only_with_a_reason_and_audits_it(cast: Cast) -> None:
    bob = agent_client(cast.bob)
    bob.post(f"/desk/customers/{cast.carol.public_id}/block/", {"reason": "Abuse"})
    url = f"/desk/customers/{cast.carol.public_id}/unblock/"
    bob.post(url, {"reason": ""})
    cast.carol.refresh_from_db()
    assert cast.carol.is_blocked
    bob.post(url, {"reason": "Apologised in writing"})
    cast.carol.refresh_from_db()
    assert not cast.carol.is_blocked
    audit = AuditLog.objects.get(action="customer.unblocked", object_id=cast.carol.public_id)
    assert audit.data["reason"] == "Apologised in writing" and audit.actor == cast.bob


def test_it_shows_both_customers_before_merging_and_merges_on_confirmation(cast: Cast) -> None:
    duplicate = create_customer(name="Carol C.", emails=["carol.private@example.net"])
    ticket = open_ticket(subject="From my private address", body="hi", requester=duplicate)
    bob = agent_client(cast.bob)
    url = f"/desk/customers/{cast.carol.public_id}/merge/"
    review = bob.post(url, {"other": "Carol.Private@example.net"})
    html = review.content.decode()
    assert review.status_code == 200 and "Merge Carol C. into Carol Customer?" in html
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None  # nothing changed yet
    response = bob.post(url, {"other": duplicate.public_id, "confirm": "on"})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    ticket.refresh_from_db()
    assert duplicate.merged_into == cast.carol and ticket.requester == cast.carol
    assert cast.carol.identities.filter(value="carol.private@example.net").exists()
    assert AuditLog.objects.filter(action="customer.merged", actor=cast.bob).exists()
    # The old profile still leads somewhere.
    old = bob.get(f"/desk/customers/{duplicate.public_id}/")
    assert old.status_code == 302 and old["Location"] == f"/desk/customers/{cast.carol.public_id}/"


def test_it_does_not_let_a_light_agent_block_merge_or_edit_notes(cast: Cast) -> None:
    charlie = agent_client(cast.charlie)
    c = cast.carol.public_id
    assert charlie.post(f"/desk/customers/{c}/block/", {"reason": "x"}).status_code == 403
    assert (
        charlie.post(
            f"/desk/customers/{c}/merge/", {"other": cast.erin.public_id, "confirm": "on"}
        ).status_code
        == 403
    )
    assert charlie.post(f"/desk/customers/{c}/notes/", {"notes": "x"}).status_code == 403
    cast.carol.refresh_from_db()
    assert not cast.carol.is_blocked and cast.carol.notes == ""
    assert charlie.get(f"/desk/customers/{c}/").status_code == 200


def test_it_keeps_notes_about_the_customers_needs(cast: Cast) -> None:
    bob = agent_client(cast.bob)
    response = bob.post(
        f"/desk/customers/{cast.carol.public_id}/notes/",
        {"notes": "Runs payroll on the 25th; call before then."},
        HTTP_HX_REQUEST="true",
    )
    assert "Notes saved." in response.content.decode()
    cast.carol.refresh_from_db()
    assert cast.carol.notes == "Runs payroll on the 25th; call before then."
    assert AuditLog.objects.filter(action="customer.updated", object_id=cast.carol.public_id).exists()
