"""For a ticket: similar open recent tickets (possible duplicates) and solved tickets whose
answers may help, among the tickets the viewer may see."""

from __future__ import annotations

import pytest

from regulars.core.errors import Forbidden, NotFound
from regulars.insights.similar import similar_tickets
from regulars.tickets.services import default_status, open_ticket, post_message, update_ticket


def _open(customer, subject, body, **kw):
    return open_ticket(subject=subject, body=body, requester=customer, **kw)


@pytest.fixture
def tickets(cast):
    solved = _open(
        cast.erin, "Export to CSV fails", "When I export my contacts to CSV the download is empty."
    )
    post_message(solved, author=cast.bob, public=True,
                 body="Turn off the 'only selected' filter before exporting; the file then has every contact.")  # fmt: skip
    update_ticket(solved, actor=cast.bob, status=default_status("solved"))
    duplicate = _open(
        cast.carol, "CSV export empty", "The CSV export of my contacts downloads an empty file."
    )
    unrelated = _open(cast.carol, "Change my billing address", "Please update the address on my invoices.")
    target = _open(
        cast.erin, "Contacts CSV export is empty", "Exporting contacts to CSV gives me an empty file."
    )
    return {"solved": solved, "duplicate": duplicate, "unrelated": unrelated, "target": target}


def test_it_finds_a_near_duplicate_and_a_solved_answer(cast, tickets):
    found = similar_tickets(cast.bob, tickets["target"].number)
    assert [s.number for s in found.open] == [tickets["duplicate"].number]
    assert [s.number for s in found.solved] == [tickets["solved"].number]
    assert "only selected" in found.solved[0].answer
    assert 0 < found.open[0].score <= 1
    assert tickets["unrelated"].number not in [s.number for s in found.open + found.solved]


def test_it_shows_only_tickets_the_viewer_may_see(cast, tickets):
    # Dave sees Billing's tickets only: the target and the solved one, not Support's duplicate.
    for key in ("target", "solved"):
        update_ticket(tickets[key], actor=cast.alice, team=cast.billing)
    found = similar_tickets(cast.dave, tickets["target"].number)
    assert found.open == []
    assert [s.number for s in found.solved] == [tickets["solved"].number]
    with pytest.raises(NotFound):
        similar_tickets(cast.dave, tickets["duplicate"].number)


def test_it_refuses_customers(cast, tickets):
    with pytest.raises(Forbidden):
        similar_tickets(cast.erin_user, tickets["target"].number)
