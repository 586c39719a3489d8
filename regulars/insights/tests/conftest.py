from __future__ import annotations

import itertools
from typing import Any

import pytest

from regulars.core.testing import Cast
from regulars.customers.models import Customer
from regulars.insights.models import Category, TriageModel
from regulars.insights.services import create_category, train_model
from regulars.tickets.models import Ticket
from regulars.tickets.services import default_status, open_ticket, update_ticket

TOPICS = {
    "Billing": (
        ["invoice", "refund", "charged twice", "payment", "bill", "receipt", "overcharged"],
        ["My {w} is wrong", "Question about the {w} for March", "Why was I {w}?", "Please help with the {w}",
         "I need my {w} sorted"],
    ),
    "Delivery": (
        ["parcel", "courier", "shipping", "tracking number", "package", "delivery date", "lost parcel"],
        ["Where is my {w}?", "The {w} never arrived", "Problem with the {w}", "Can you check the {w}",
         "Still waiting on the {w}"],
    ),
    "Login": (
        ["password", "login", "two-factor code", "locked account", "sign in", "reset link", "username"],
        ["I cannot use my {w}", "The {w} does not work", "Help with my {w}", "Trouble with the {w} today",
         "My {w} is broken"],
    ),
}  # fmt: skip


def examples(per_topic: int = 20, topics: dict[str, Any] | None = None) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for name, (words, templates) in (topics or TOPICS).items():
        pairs = itertools.islice(itertools.cycle(itertools.product(templates, words)), per_topic)
        for template, word in pairs:
            texts.append(template.format(w=word))
            labels.append(name)
    return texts, labels


REFUNDS = [{"title": "Refunds, step by step", "url": "https://help.example/refunds"}]


@pytest.fixture
def categories(cast: Cast) -> dict[str, Category]:
    return {
        "Billing": create_category(actor=cast.alice, name="Billing", team=cast.billing, articles=REFUNDS),
        "Delivery": create_category(actor=cast.alice, name="Delivery", team=cast.support),
        "Login": create_category(actor=cast.alice, name="Login", team=cast.support),
    }


@pytest.fixture
def trained(categories: dict[str, Category]) -> TriageModel:
    row = train_model(examples=examples())
    assert row.state == TriageModel.State.ACTIVE
    return row


def open_and_triage(captured: Any, customer: Customer, subject: str, body: str = "", **kw: Any) -> Ticket:
    """Open a ticket and run the after-commit reactions (triage, sentiment) as the worker would."""
    with captured(execute=True):
        ticket = open_ticket(subject=subject, body=body or subject, requester=customer, **kw)
    return Ticket.objects.get(pk=ticket.pk)


def solve(ticket: Ticket, actor: Any) -> Ticket:
    return update_ticket(ticket, actor=actor, status=default_status("solved"))
