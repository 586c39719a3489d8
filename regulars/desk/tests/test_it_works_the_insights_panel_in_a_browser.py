"""An agent reads the Insights panel in a real browser, points a stray message to a sister brand
and corrects a category in place. Controls are found by role and label only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from regulars.core.browser import screenshot, sign_in
from regulars.core.testing import Cast
from regulars.insights.misdirected import create_sister_brand
from regulars.insights.models import TicketTriage, TriageModel
from regulars.insights.services import create_category, train_model, update_settings
from regulars.insights.tests.conftest import examples
from regulars.tickets.models import StatusCategory, Ticket
from regulars.tickets.services import open_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bob_points_a_stray_message_to_a_sister_brand_and_corrects_a_category(
    cast: Cast, page: Any, live_server: Any, tmp_path: Path
) -> None:
    articles = [{"title": "Refunds, step by step", "url": "https://help.example/refunds"}]
    create_category(actor=cast.alice, name="Billing", team=cast.support, articles=articles)
    create_category(actor=cast.alice, name="Delivery", team=cast.support)
    create_category(actor=cast.alice, name="Login", team=cast.support)
    assert train_model(examples=examples()).state == TriageModel.State.ACTIVE
    create_sister_brand(
        actor=cast.alice, name="GreenThumb", description="garden hoses, lawn mowers, seeds and plant pots",
        contact="help@greenthumb.example",
    )  # fmt: skip
    update_settings(actor=cast.alice, in_scope_threshold=0.6)
    # Committed, so the insight engine reacts as the worker would.
    earlier = open_ticket(subject="Charged twice for my invoice", body="My card was charged twice.",
                          requester=cast.erin)  # fmt: skip
    stray = open_ticket(subject="My lawn mower blade snapped", body="It broke on the first cut.",
                        requester=cast.carol)  # fmt: skip
    billing = open_ticket(subject="I was charged twice on my invoice",
                          body="This is awful, I need a refund today.", requester=cast.carol)  # fmt: skip
    assert TicketTriage.objects.get(ticket=stray).misdirected

    sign_in(page, "bob@regulars.test", "bob-password-1")
    page.goto(f"/desk/tickets/{billing.number}/")
    panel = page.get_by_role("region", name="Insights")
    expect(panel).to_contain_text("Billing")
    expect(panel).to_contain_text("% sure")
    expect(panel.get_by_role("link", name="Refunds, step by step")).to_have_attribute(
        "href", "https://help.example/refunds"
    )
    expect(panel).to_contain_text("No offers now")
    expect(panel).to_contain_text("in a hurry")
    # Similar tickets arrive after the page.
    expect(panel.get_by_role("link", name=f"#{earlier.number} {earlier.subject}")).to_be_visible(
        timeout=10_000
    )
    screenshot(page, "insights", tmp_path)

    panel.get_by_label("Set the category").select_option(label="Login")
    panel.get_by_role("button", name="Save category").click()
    expect(panel.get_by_text("Category set to Login.")).to_be_visible()
    expect(panel).to_contain_text("Chosen by Bob Agent")
    assert TicketTriage.objects.get(ticket=billing).corrected_by == cast.bob

    page.goto(f"/desk/tickets/{stray.number}/")
    panel = page.get_by_role("region", name="Insights")
    expect(panel).to_contain_text("Probably not for us.")
    expect(panel).to_contain_text("It looks meant for GreenThumb.")
    expect(panel.get_by_label("Meant for")).to_have_value(stray.triage.brand_guess.public_id)
    page.on("dialog", lambda dialog: dialog.accept())
    panel.get_by_role("button", name="Not for us").click()
    expect(page.get_by_text("Marked not for us (meant for GreenThumb)")).to_be_visible()
    expect(page.get_by_role("list", name="Conversation")).to_contain_text("GreenThumb")
    assert Ticket.objects.get(pk=stray.pk).status_category == StatusCategory.SOLVED
