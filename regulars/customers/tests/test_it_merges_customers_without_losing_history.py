from __future__ import annotations

from decimal import Decimal

import pytest

from regulars.accounts.models import AuditLog
from regulars.core.errors import Conflict, ValidationFailed
from regulars.core.testing import Cast
from regulars.customers.services import create_customer, find_customer_by_identity, merge_customers
from regulars.tickets.selectors import visible_tickets
from regulars.tickets.services import open_ticket


def test_it_moves_identities_tickets_and_value_to_the_survivor(cast: Cast) -> None:
    duplicate = create_customer(
        name="Carol (home)", emails=["carol@home.example"], phones=["+15550001111"], lifetime_value=40
    )
    cast.carol.lifetime_value = Decimal("60")
    cast.carol.save(update_fields=["lifetime_value"])
    old_ticket = open_ticket(subject="From home", body="b", requester=duplicate)
    merge_customers(duplicate, cast.carol, actor=cast.alice)

    duplicate.refresh_from_db()
    cast.carol.refresh_from_db()
    assert duplicate.merged_into == cast.carol
    assert find_customer_by_identity("email", "carol@home.example") == cast.carol
    assert find_customer_by_identity("phone", "+15550001111") == cast.carol
    assert cast.carol.lifetime_value == Decimal("100")
    old_ticket.refresh_from_db()
    assert old_ticket.requester == cast.carol
    assert old_ticket.history.filter(action="requester_changed").exists()
    assert old_ticket.number in set(visible_tickets(cast.carol_user).values_list("number", flat=True))
    assert AuditLog.objects.filter(action="customer.merged", object_id=cast.carol.public_id).exists()


def test_it_sends_new_mail_from_a_merged_customer_to_the_survivor(cast: Cast) -> None:
    duplicate = create_customer(name="Dup", emails=["dup@acme.example"])
    merge_customers(duplicate, cast.carol)
    ticket = open_ticket(subject="Later", body="b", requester=duplicate)
    assert ticket.requester == cast.carol


def test_it_refuses_merging_into_itself_or_twice(cast: Cast) -> None:
    with pytest.raises(ValidationFailed):
        merge_customers(cast.carol, cast.carol)
    merge_customers(cast.erin, cast.carol)
    with pytest.raises(Conflict):
        merge_customers(cast.erin, cast.carol)
