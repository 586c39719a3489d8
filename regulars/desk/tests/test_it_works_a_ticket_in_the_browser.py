"""An agent works a ticket in a real browser while a colleague watches the same ticket.

Controls are found by role and label only, as a screen-reader user would find them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from regulars.core.browser import screenshot, sign_in
from regulars.core.testing import Cast
from regulars.desk.tests.workspace_data import conversation, give_carol_context
from regulars.tickets.services import post_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# The page polls every few seconds; allow a few polls before calling a warning missing.
POLL_WAIT = 20_000


def test_it_lets_bob_reply_assign_and_escalate_while_charlie_sees_him_there(
    cast: Cast, page: Any, second_page: Any, live_server: Any
) -> None:
    give_carol_context(cast)
    ticket = conversation(cast)

    sign_in(page, "bob@regulars.test", "bob-password-1")
    page.get_by_role("navigation", name="Queues").get_by_role("link", name="Unassigned").click()
    page.get_by_role("link", name=ticket.subject).click()
    expect(page.get_by_role("heading", name=ticket.subject, level=1)).to_be_visible()

    panel = page.get_by_role("region", name="Customer")
    for fact in ("Carol Customer", "Acme", "Business", "12,500.50"):
        expect(panel).to_contain_text(fact)

    sign_in(second_page, "charlie@regulars.test", "charlie-password-1")
    second_page.goto(f"/desk/tickets/{ticket.number}/")
    warning = second_page.get_by_role("status").filter(has_text="Bob Agent is")
    expect(warning).to_contain_text("Bob Agent is viewing", timeout=POLL_WAIT)

    page.get_by_label("Reply to the customer").fill("The export is fixed; please try again.")
    expect(warning).to_contain_text("Bob Agent is typing a reply", timeout=POLL_WAIT)
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status").filter(has_text="Reply sent.")).to_be_visible()
    conversation_list = page.get_by_role("list", name="Conversation")
    expect(conversation_list).to_contain_text("The export is fixed; please try again.")

    page.get_by_label("Assignee").select_option(label="Bob Agent")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_text("Assignee saved.")).to_be_visible()

    page.get_by_label("Escalate to team").select_option(label="Billing")
    page.get_by_label("Reason for escalating").fill("Refund over the support limit")
    page.get_by_role("button", name="Escalate", exact=True).click()
    expect(page.get_by_text("Escalated to Billing.")).to_be_visible()
    expect(conversation_list).to_contain_text("Refund over the support limit")
    ticket.refresh_from_db()
    assert ticket.team == cast.billing

    # A draft in the note box survives: the new message arrives without a reload.
    page.get_by_label("Note for the team").fill("draft: check the refund policy")
    post_message(ticket, author=cast.carol_user, body="Thanks, the export works now!", public=True)
    expect(conversation_list).to_contain_text("Thanks, the export works now!", timeout=POLL_WAIT)
    expect(page.get_by_label("Note for the team")).to_have_value("draft: check the refund policy")


def test_it_shows_the_ticket_workspace_with_the_customer_panel(
    cast: Cast, page: Any, live_server: Any, tmp_path: Path
) -> None:
    give_carol_context(cast)
    ticket = conversation(cast, replies=2)
    sign_in(page, "bob@regulars.test", "bob-password-1")
    page.goto(f"/desk/tickets/{ticket.number}/")
    expect(page.get_by_role("region", name="Customer")).to_contain_text("Lifetime value")
    expect(page.get_by_role("link", name="screen-1.png")).to_be_visible()
    assert screenshot(page, "ticket", tmp_path).exists()


def test_it_fits_the_ticket_page_on_a_360_pixel_screen(
    cast: Cast, phone_page: Any, live_server: Any, tmp_path: Path
) -> None:
    give_carol_context(cast)
    ticket = conversation(cast, replies=2)
    sign_in(phone_page, "bob@regulars.test", "bob-password-1")
    phone_page.goto(f"/desk/tickets/{ticket.number}/")
    expect(phone_page.get_by_label("Reply to the customer")).to_be_visible()
    overflow = phone_page.evaluate("document.body.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    screenshot(phone_page, "ticket-phone", tmp_path)
