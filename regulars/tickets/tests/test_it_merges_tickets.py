from __future__ import annotations

import pytest

from regulars.core.errors import Conflict, Forbidden
from regulars.core.testing import Cast
from regulars.tickets.selectors import search_tickets
from regulars.tickets.services import merge_tickets, open_ticket, post_message


def test_it_moves_the_conversation_and_closes_the_merged_ticket(cast: Cast) -> None:
    target = open_ticket(subject="Outage", body="site down", requester=cast.carol, tags=["outage"])
    source = open_ticket(
        subject="Also outage", body="checkout broken platypus", requester=cast.erin, tags=["checkout"]
    )
    merge_tickets(source, target, actor=cast.bob)
    source.refresh_from_db()
    assert source.merged_into == target
    assert source.status_category == "closed"
    bodies = list(target.messages.values_list("body_text", flat=True))
    assert "checkout broken platypus" in bodies
    assert bodies[-1] == f"Ticket #{source.number} was merged into this ticket."
    assert set(target.tags.values_list("name", flat=True)) == {"outage", "checkout"}
    assert [t.number for t in search_tickets(cast.bob, "platypus")] == [target.number]
    assert source.history.filter(action="merged_into").exists()


def test_it_refuses_merging_twice_or_by_people_who_may_not(cast: Cast) -> None:
    target = open_ticket(subject="A", body="a", requester=cast.carol)
    source = open_ticket(subject="B", body="b", requester=cast.carol)
    with pytest.raises(Forbidden):
        merge_tickets(source, target, actor=cast.charlie)
    with pytest.raises(Forbidden):
        merge_tickets(source, target, actor=cast.carol_user)
    merge_tickets(source, target, actor=cast.bob)
    with pytest.raises(Conflict):
        merge_tickets(source, target, actor=cast.bob)
    with pytest.raises(Conflict):
        post_message(source, author=cast.bob, body="late", public=True)
