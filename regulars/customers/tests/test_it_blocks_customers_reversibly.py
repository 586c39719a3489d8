from __future__ import annotations

import pytest

from regulars.accounts.models import AuditLog
from regulars.core.errors import Conflict, ValidationFailed
from regulars.core.testing import Cast
from regulars.customers.services import block_customer, unblock_customer
from regulars.tickets.services import open_ticket, post_message


def test_it_keeps_a_blocked_customers_messages_as_flagged_evidence(cast: Cast) -> None:
    ticket = open_ticket(subject="Before", body="fine", requester=cast.erin)
    block_customer(cast.erin, reason="threats", actor=cast.alice)
    message = post_message(ticket, author=cast.erin_user, body="more threats", public=True)
    assert message.is_flagged
    assert ticket.messages.count() == 2


def test_it_needs_a_reason_and_is_audited_both_ways(cast: Cast) -> None:
    with pytest.raises(ValidationFailed):
        block_customer(cast.erin, reason="  ", actor=cast.alice)
    block_customer(cast.erin, reason="spam", actor=cast.alice)
    with pytest.raises(Conflict):
        block_customer(cast.erin, reason="again", actor=cast.alice)
    unblock_customer(cast.erin, reason="apologised", actor=cast.alice)
    cast.erin.refresh_from_db()
    assert not cast.erin.is_blocked
    actions = list(AuditLog.objects.filter(object_id=cast.erin.public_id).values_list("action", flat=True))
    assert actions[-2:] == ["customer.blocked", "customer.unblocked"]
    message = post_message(
        open_ticket(subject="s", body="b", requester=cast.erin), author=cast.erin_user, body="x", public=True
    )
    assert not message.is_flagged
