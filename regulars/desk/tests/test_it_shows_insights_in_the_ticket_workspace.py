"""The Insights panel of the ticket workspace: the category the model predicted (or an agent
chose) with its articles, the customer's mood and the offer gate, similar tickets; full agents
correct the category or say the ticket is not for us, light agents only read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from regulars.core.testing import Cast
from regulars.desk.tests.workspace_data import agent_client, conversation
from regulars.insights.misdirected import NOT_FOR_US_TAG, create_sister_brand
from regulars.insights.models import Category, SisterBrand, TicketTriage, TriageModel
from regulars.insights.services import update_settings
from regulars.insights.tests.conftest import open_and_triage
from regulars.tickets.models import Message, StatusCategory, Ticket
from regulars.tickets.services import default_status, open_ticket, post_message, update_ticket

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
Capture = Callable[..., Any]


@pytest.fixture
def garden(cast: Cast) -> SisterBrand:
    return create_sister_brand(
        actor=cast.alice, name="GreenThumb", description="garden hoses, lawn mowers, seeds and plant pots",
        contact="help@greenthumb.example",
    )  # fmt: skip


@pytest.fixture
def angry(cast: Cast, trained: TriageModel, django_capture_on_commit_callbacks: Capture) -> Ticket:
    """A billing ticket from an upset customer, triaged and scored as the worker would."""
    return open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "I was charged twice on my invoice",
        "This is awful. I was charged twice and I need a refund urgently.",
    )  # fmt: skip


@pytest.fixture
def stray(
    cast: Cast, trained: TriageModel, garden: SisterBrand, django_capture_on_commit_callbacks: Capture
) -> Ticket:
    """A message the model finds far from every category, with GreenThumb as its best guess."""
    update_settings(actor=cast.alice, in_scope_threshold=0.6)
    return open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "My lawn mower blade snapped off", team=cast.support
    )


def _panel(html: str) -> str:
    start = html.index('<section id="ticket-insights"')
    return html[start : html.index("</section>", start)]


def test_it_shows_the_predicted_category_its_articles_and_the_mood(cast: Cast, angry: Ticket) -> None:
    triage = TicketTriage.objects.get(ticket=angry)
    assert triage.category is not None and triage.category.name == "Billing"
    assert triage.confidence is not None
    html = agent_client(cast.bob).get(f"/desk/tickets/{angry.number}/").content.decode()
    panel = _panel(html)
    assert "<dd>Billing</dd>" in panel
    assert f"Predicted by the model, {round(triage.confidence * 100)}% sure" in panel
    for alternative in triage.alternatives:
        assert f"{alternative['category']} ({round(alternative['confidence'] * 100)}%)" in panel
    if triage.routed:
        assert "Routed to Billing" in panel
    assert (
        '<a href="https://help.example/refunds" rel="noopener noreferrer" target="_blank">'
        "Refunds, step by step</a>"
    ) in panel
    assert "Their latest message reads negative" in panel
    assert "1 scored (1 negative)" in panel
    assert "in a hurry" in panel  # "urgently"
    assert "No offers now: their latest message reads negative" in panel
    # The similar tickets come after the page, from their own URL.
    assert f'hx-get="/desk/tickets/{angry.number}/similar/"' in panel


def test_it_links_only_web_addresses_of_the_articles(
    cast: Cast, angry: Ticket, categories: dict[str, Category]
) -> None:
    # The service refuses other URLs; a row written around it must still not become a script link.
    Category.objects.filter(pk=categories["Billing"].pk).update(
        articles=[
            {"title": "Run me", "url": "javascript:alert(1)"},
            {"title": "<b>Refunds</b>", "url": "https://help.example/refunds?a=1&b=2"},
        ]
    )
    panel = _panel(agent_client(cast.bob).get(f"/desk/tickets/{angry.number}/").content.decode())
    assert "javascript:" not in panel and "Run me" not in panel
    assert (
        'href="https://help.example/refunds?a=1&amp;b=2"' in panel and "&lt;b&gt;Refunds&lt;/b&gt;" in panel
    )


def test_it_says_when_nothing_is_known_yet(cast: Cast) -> None:
    ticket = conversation(cast)
    panel = _panel(agent_client(cast.bob).get(f"/desk/tickets/{ticket.number}/").content.decode())
    assert "Not classified yet" in panel
    assert "No message from them scored yet" in panel and "No urgent signals" in panel
    assert "Offers are welcome: nothing says they are upset" in panel
    assert "Articles" not in panel


def test_it_flags_a_ticket_that_is_probably_not_for_us_and_preselects_the_brand(
    cast: Cast, stray: Ticket, garden: SisterBrand
) -> None:
    panel = _panel(agent_client(cast.bob).get(f"/desk/tickets/{stray.number}/").content.decode())
    assert "<strong>Probably not for us.</strong>" in panel
    assert "It looks meant for GreenThumb." in panel
    assert f'<option value="{garden.public_id}" selected>GreenThumb</option>' in panel
    assert 'name="notforus-reply" id="id_notforus-reply" checked' in panel
    assert "Not for us</button>" in panel


def test_a_full_agent_corrects_the_category_in_place(
    cast: Cast, angry: Ticket, categories: dict[str, Category]
) -> None:
    bob = agent_client(cast.bob)
    url = f"/desk/tickets/{angry.number}/category/"
    response = bob.post(url, {"category-category": categories["Delivery"].public_id}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="insight-category">')
    assert "Category set to Delivery." in html
    assert "Chosen by Bob Agent" in html and "(the model said Billing)" in html
    # The properties and the badges follow out of band: the category's priority may apply.
    assert 'id="ticket-properties" class="card properties"' in html and 'hx-swap-oob="true"' in html
    triage = TicketTriage.objects.get(ticket=angry)
    assert triage.category == categories["Delivery"] and triage.predicted_category == categories["Billing"]
    assert triage.corrected_by == cast.bob and triage.corrected_at is not None

    # Without htmx: a redirect back to the panel, and the page says who chose.
    response = bob.post(url, {"category-category": categories["Login"].public_id})
    assert response.status_code == 302 and response["Location"].endswith("#ticket-insights")
    page = bob.get(response["Location"]).content.decode()
    assert "Category set to Login." in page and "Chosen by Bob Agent" in _panel(page)
    assert TicketTriage.objects.get(ticket=angry).category == categories["Login"]


def test_it_refuses_a_category_that_is_switched_off_with_a_readable_message(
    cast: Cast, angry: Ticket, categories: dict[str, Category]
) -> None:
    Category.objects.filter(pk=categories["Login"].pk).update(active=False)
    html = (
        agent_client(cast.bob)
        .post(
            f"/desk/tickets/{angry.number}/category/",
            {"category-category": categories["Login"].public_id},
            **HTMX,
        )
        .content.decode()
    )
    assert "Choose one of the active categories." in html
    assert TicketTriage.objects.get(ticket=angry).corrected_by is None


def test_a_full_agent_marks_a_ticket_not_for_us_with_a_sister_brand(
    cast: Cast, stray: Ticket, garden: SisterBrand
) -> None:
    bob = agent_client(cast.bob)
    response = bob.post(
        f"/desk/tickets/{stray.number}/not-for-us/",
        {"notforus-brand": garden.public_id, "notforus-reply": "on"},
    )
    assert response.status_code == 302
    stray.refresh_from_db()
    assert stray.status_category == StatusCategory.SOLVED
    assert NOT_FOR_US_TAG in set(stray.tags.values_list("name", flat=True))
    (reply,) = Message.objects.filter(
        ticket=stray, author_type=Message.AuthorType.AGENT, kind=Message.Kind.REPLY
    )
    assert "GreenThumb" in reply.body_text and "help@greenthumb.example" in reply.body_text
    assert reply.author_user == cast.bob
    triage = TicketTriage.objects.get(ticket=stray)
    assert triage.corrected_by == cast.bob and triage.redirected_to == garden and triage.category is None

    page = bob.get(response["Location"]).content.decode()
    assert "Marked not for us (meant for GreenThumb): the customer got the polite reply" in page
    panel = _panel(page)
    assert "Not for us: pointed to GreenThumb. Decided by Bob Agent." in panel
    assert "Not for us</button>" not in panel  # decided; nothing more to do


def test_it_marks_a_ticket_not_for_us_without_a_reply(cast: Cast, stray: Ticket) -> None:
    response = agent_client(cast.bob).post(
        f"/desk/tickets/{stray.number}/not-for-us/", {"notforus-brand": ""}
    )
    assert response.status_code == 302
    stray.refresh_from_db()
    assert stray.status_category == StatusCategory.SOLVED
    assert not Message.objects.filter(ticket=stray, author_type=Message.AuthorType.AGENT).exists()


def test_it_shows_the_refusal_of_a_closed_ticket_instead_of_an_error_page(cast: Cast, stray: Ticket) -> None:
    update_ticket(stray, actor=cast.bob, status=default_status(StatusCategory.CLOSED))
    bob = agent_client(cast.bob)
    assert "Not for us</button>" not in _panel(bob.get(f"/desk/tickets/{stray.number}/").content.decode())
    response = bob.post(f"/desk/tickets/{stray.number}/not-for-us/", {"notforus-reply": "on"})
    assert response.status_code == 302 and response["Location"].endswith("#ticket-insights")
    page = bob.get(response["Location"]).content.decode()
    assert "Closed tickets cannot change; open a follow-up instead." in page
    assert not stray.tags.filter(name=NOT_FOR_US_TAG).exists()


def test_a_light_agent_sees_the_panel_without_forms_and_is_refused_a_post(
    cast: Cast, stray: Ticket, garden: SisterBrand, categories: dict[str, Category]
) -> None:
    charlie = agent_client(cast.charlie)
    panel = _panel(charlie.get(f"/desk/tickets/{stray.number}/").content.decode())
    assert "Probably not for us." in panel and "Mood" in panel
    assert "<form" not in panel and "category-category" not in panel and "notforus" not in panel

    response = charlie.post(
        f"/desk/tickets/{stray.number}/category/",
        {"category-category": categories["Login"].public_id},
        **HTMX,
    )
    assert response.status_code == 403
    response = charlie.post(
        f"/desk/tickets/{stray.number}/not-for-us/",
        {"notforus-brand": garden.public_id, "notforus-reply": "on"},
    )
    assert response.status_code == 403
    stray.refresh_from_db()
    assert stray.status_category != StatusCategory.SOLVED
    assert TicketTriage.objects.get(ticket=stray).corrected_by is None


def test_it_requires_the_csrf_token_on_the_insight_forms(
    cast: Cast, stray: Ticket, categories: dict[str, Category]
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.bob)
    n = stray.number
    response = client.post(
        f"/desk/tickets/{n}/category/", {"category-category": categories["Login"].public_id}
    )
    assert response.status_code == 403
    assert client.post(f"/desk/tickets/{n}/not-for-us/", {"notforus-reply": "on"}).status_code == 403
    stray.refresh_from_db()
    assert stray.status_category != StatusCategory.SOLVED
    assert TicketTriage.objects.get(ticket=stray).corrected_by is None


def test_it_hides_the_insights_of_a_ticket_the_agent_cannot_see(
    cast: Cast, categories: dict[str, Category]
) -> None:
    ticket = conversation(cast)  # Support's; Dave sees only Billing
    dave = agent_client(cast.dave)
    n = ticket.number
    assert dave.get(f"/desk/tickets/{n}/").status_code == 404
    assert dave.get(f"/desk/tickets/{n}/similar/", **HTMX).status_code == 404
    assert (
        dave.post(
            f"/desk/tickets/{n}/category/", {"category-category": categories["Billing"].public_id}
        ).status_code
        == 404
    )
    assert dave.post(f"/desk/tickets/{n}/not-for-us/", {"notforus-reply": "on"}).status_code == 404
    assert not TicketTriage.objects.filter(ticket=ticket).exists()
    ticket.refresh_from_db()
    assert ticket.status_category != StatusCategory.SOLVED
    assert not Message.objects.filter(ticket=ticket, author_user=cast.dave).exists()


def test_it_lists_similar_open_and_solved_tickets_with_the_answer(cast: Cast) -> None:
    answer = "Turn off the 'only selected' filter before exporting; the file then has every contact. " * 4
    solved = open_ticket(
        subject="Export to CSV fails", body="When I export my contacts to CSV the download is empty.",
        requester=cast.erin,
    )  # fmt: skip
    post_message(solved, author=cast.bob, public=True, body=answer)
    update_ticket(solved, actor=cast.bob, status=default_status(StatusCategory.SOLVED))
    duplicate = open_ticket(
        subject="CSV export <b>empty</b>", body="The CSV export of my contacts downloads an empty file.",
        requester=cast.carol,
    )  # fmt: skip
    target = open_ticket(
        subject="Contacts CSV export is empty", body="Exporting contacts to CSV gives me an empty file.",
        requester=cast.erin,
    )  # fmt: skip
    bob = agent_client(cast.bob)
    response = bob.get(f"/desk/tickets/{target.number}/similar/", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert (
        f'<a href="/desk/tickets/{duplicate.number}/">#{duplicate.number} CSV export &lt;b&gt;empty&lt;/b&gt;</a>'
        in html
    )
    assert f'<a href="/desk/tickets/{solved.number}/">#{solved.number} Export to CSV fails</a>' in html
    assert "Turn off the &#x27;only selected&#x27; filter" in html
    assert answer[:150].replace("'", "&#x27;") in html and answer[:250].replace("'", "&#x27;") not in html
    # Without script, the same lists as a page of their own.
    page = bob.get(f"/desk/tickets/{target.number}/similar/").content.decode()
    assert "<html" in page and f"Similar to #{target.number}" in page and f"#{duplicate.number}" in page


def test_it_reads_the_page_with_insights_in_the_same_number_of_queries_for_3_or_31_messages(
    cast: Cast, trained: TriageModel, django_capture_on_commit_callbacks: Capture
) -> None:
    def scored_conversation(replies: int, subject: str) -> Ticket:
        ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, subject, team=cast.support)
        with django_capture_on_commit_callbacks(execute=True):
            for i in range(replies):
                post_message(ticket, author=cast.bob, body=f"Could you send a screenshot? ({i})", public=True)
                post_message(ticket, author=cast.carol_user, body=f"This is still broken ({i})", public=True)
        return ticket

    small = scored_conversation(1, "Where is my parcel?")  # 3 messages
    large = scored_conversation(15, "Where is my parcel now?")  # 31 messages
    assert TicketTriage.objects.filter(ticket__in=[small, large]).count() == 2
    client = agent_client(cast.bob)
    client.get(f"/desk/tickets/{small.number}/")  # session and caches warm
    counts, pages = [], []
    for ticket in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/desk/tickets/{ticket.number}/")
        assert response.status_code == 200
        counts.append(len(queries))
        pages.append(_panel(response.content.decode()))
    assert "2 scored" in pages[0] and "16 scored" in pages[1]  # the customer's messages, each scored
    assert counts[0] == counts[1], counts
