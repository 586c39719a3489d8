"""Merging a duplicate ticket into another by its number."""

from __future__ import annotations

import pytest

from regulars.core.testing import Cast
from regulars.desk.tests.workspace_data import agent_client
from regulars.tickets.models import StatusCategory
from regulars.tickets.services import open_ticket

pytestmark = pytest.mark.django_db


def test_it_folds_the_ticket_into_the_one_named_and_opens_that_one(cast: Cast) -> None:
    first = open_ticket(subject="Export empty", body="no rows", requester=cast.carol, team=cast.support)
    duplicate = open_ticket(
        subject="Export still empty", body="again", requester=cast.carol, team=cast.support
    )
    response = agent_client(cast.bob).post(
        f"/desk/tickets/{duplicate.number}/merge/", {"merge-into": first.number}
    )
    assert response.status_code == 302 and response["Location"] == f"/desk/tickets/{first.number}/"
    duplicate.refresh_from_db()
    assert duplicate.merged_into == first and duplicate.status_category == StatusCategory.CLOSED
    assert first.messages.filter(body_text="again").exists()
    html = agent_client(cast.bob).get(f"/desk/tickets/{duplicate.number}/").content.decode()
    assert "This ticket was merged into" in html and "Send reply" not in html


def test_it_will_not_merge_into_a_ticket_the_agent_cannot_see(cast: Cast) -> None:
    billing = open_ticket(subject="Refund", body="please", requester=cast.erin, team=cast.billing)
    mine = open_ticket(subject="Invoice", body="where", requester=cast.erin, team=cast.billing)
    support = open_ticket(subject="Login", body="fails", requester=cast.carol, team=cast.support)
    dave = agent_client(cast.dave)
    response = dave.post(f"/desk/tickets/{mine.number}/merge/", {"merge-into": support.number}, follow=True)
    assert f"There is no ticket #{support.number} you can see." in response.content.decode()
    mine.refresh_from_db()
    assert mine.merged_into is None
    dave.post(f"/desk/tickets/{mine.number}/merge/", {"merge-into": billing.number})
    mine.refresh_from_db()
    assert mine.merged_into == billing
