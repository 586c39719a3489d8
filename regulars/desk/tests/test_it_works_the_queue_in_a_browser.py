"""An agent works a queue in a real browser: filters, moves with j/k, opens, assigns in bulk.

Controls are found by role and label only, as a screen-reader user would find them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from regulars.core.browser import screenshot, sign_in
from regulars.core.testing import Cast
from regulars.customers.services import create_customer
from regulars.tickets.models import Status, Ticket
from regulars.tickets.services import open_ticket, update_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# (subject, requester, priority, channel, status slug, team, assigned to bob)
DEMO = [
    ("Card declined at checkout although the bank says it is fine", "Maya Lindqvist", "high", "email", "open", "support", False),
    ("Invoice 2291 shows VAT twice", "Carol Customer", "normal", "email", "new", "billing", False),
    ("Espresso machine leaks after descaling", "Tomás Ortega", "urgent", "phone", "open", "support", True),
    ("How do I export my order history to CSV?", "Erin Other", "low", "web", "new", "support", False),
    ("Parcel stuck in Leipzig for nine days", "Aiko Tanaka", "high", "chat", "pending", "support", True),
    ("Two-factor codes no longer arrive by SMS", "Carol Customer", "urgent", "email", "new", "support", False),
    ("Refund for the duplicate subscription charge", "Priya Raman", "normal", "web", "on-hold", "billing", False),
    ("Grinder makes a clicking noise on the finest setting", "Jonas Becker", "normal", "email", "open", "support", True),
    ("Please change the delivery address on order 88120", "Maya Lindqvist", "normal", "chat", "new", "support", False),
    ("Warranty claim: cracked water tank", "Tomás Ortega", "high", "email", "new", "support", False),
    ("App crashes on launch after the latest update", "Aiko Tanaka", "urgent", "social", "open", "support", False),
    ("Thank you, the replacement arrived", "Jonas Becker", "low", "email", "solved", "support", True),
]  # fmt: skip


def demo_queue(cast: Cast) -> list[Ticket]:
    people = {"Carol Customer": cast.carol, "Erin Other": cast.erin}
    teams = {"support": cast.support, "billing": cast.billing}
    opened = []
    start = timezone.now() - timedelta(hours=30)
    for i, (subject, who, priority, channel, status, team, mine) in enumerate(DEMO):
        if who not in people:
            email = who.lower().replace(" ", ".").replace("á", "a") + "@example.com"
            people[who] = create_customer(name=who, emails=[email])
        # Spread over the last day or so, as a real queue would be.
        with patch("django.utils.timezone.now", return_value=start + timedelta(minutes=150 * i)):
            ticket = open_ticket(
                subject=subject,
                body=f"{subject}. Could you help?",
                requester=people[who],
                channel=channel,
                team=teams[team],
                assignee=cast.bob if mine else None,
            )
            if ticket.status.slug != status:
                ticket = update_ticket(ticket, actor=cast.bob, status=Status.objects.get(slug=status))
            if ticket.priority != priority:
                # Chosen by a person, so the priority policy leaves it alone.
                ticket = update_ticket(ticket, actor=cast.bob, priority=priority, priority_reason="Triage")
        opened.append(ticket)
    return opened


def test_it_lets_bob_filter_move_open_and_assign_from_his_team_queue(
    cast: Cast, page: Any, live_server: Any, tmp_path: Path
) -> None:
    tickets = demo_queue(cast)
    sign_in(page, "bob@regulars.test", "bob-password-1")
    page.get_by_role("navigation", name="Queues").get_by_role("link", name="My teams").click()
    expect(page.get_by_role("heading", name="My teams", level=1)).to_be_visible()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(1 + 9)  # the header and Support's nine unsolved tickets
    screenshot(page, "queue", tmp_path)

    # Filtering swaps the results in place (htmx) and keeps the address shareable.
    page.get_by_label("Priority").select_option(label="Urgent")
    expect(page).to_have_url(re.compile(r"priority=urgent"))
    expect(rows).to_have_count(1 + 3)
    urgent = sorted(
        (t for t in tickets if t.priority == "urgent" and t.team == cast.support), key=lambda t: -t.pk
    )

    # j/k move the selection; Enter opens the selected ticket.
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("j")
    selected = page.locator('tr[aria-selected="true"]')
    expect(selected).to_have_count(1)
    expect(selected).to_contain_text(urgent[1].subject)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/desk/tickets/{urgent[1].number}/$"))
    expect(page.get_by_role("heading", name=urgent[1].subject, level=1)).to_be_visible()

    # Back in the queue: ? opens the help, a jumps to the assignee of the bulk actions.
    page.go_back()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.get_by_role("button", name="Close").click()
    page.keyboard.press("a")
    expect(page.get_by_label("Assign selected to")).to_be_focused()

    # Bulk assign the unassigned urgent tickets to Bob.
    unassigned = [t for t in urgent if t.assignee_id is None]
    for t in unassigned:
        page.get_by_label(f"Select ticket {t.number}").check()
    page.get_by_label("Assign selected to").select_option(label="Bob Agent")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text(f"Updated {len(unassigned)} tickets.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"priority=urgent"))
    for t in unassigned:
        t.refresh_from_db()
        assert t.assignee_id == cast.bob.pk


def test_it_keeps_the_queue_usable_on_a_360_pixel_screen(
    cast: Cast, phone_page: Any, live_server: Any, tmp_path: Path
) -> None:
    demo_queue(cast)
    sign_in(phone_page, "bob@regulars.test", "bob-password-1")
    phone_page.goto("/desk/queues/teams/")
    expect(phone_page.get_by_role("heading", name="My teams", level=1)).to_be_visible()
    # The page itself never scrolls sideways; only the table's own wrapper may.
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    phone_page.get_by_label("Priority").select_option(label="High")
    expect(phone_page.get_by_role("table").get_by_role("row")).to_have_count(1 + 3)
    assert phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    screenshot(phone_page, "queue-phone", tmp_path)
    phone_page.get_by_role("link", name="Parcel stuck in Leipzig for nine days").click()
    expect(phone_page).to_have_url(re.compile(r"/desk/tickets/\d+/$"))
