"""An agent's category choice is recorded, and becomes training data once the ticket is solved."""

from __future__ import annotations

import pytest

from regulars.core.errors import Forbidden
from regulars.insights.models import TicketTriage, TriageModel
from regulars.insights.services import correct_category, create_category, train_model, training_examples

from .conftest import examples, open_and_triage, solve


def test_it_records_who_corrected_a_category_and_keeps_the_prediction(
    cast, trained, categories, django_capture_on_commit_callbacks
):
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "My invoice shows a refund")
    correct_category(ticket, categories["Login"], actor=cast.bob)
    triage = TicketTriage.objects.get(ticket=ticket)
    assert triage.category == categories["Login"]
    assert triage.predicted_category == categories["Billing"]
    assert triage.corrected_by == cast.bob and triage.corrected_at is not None


def test_it_refuses_corrections_from_customers_and_light_agents(cast, categories):
    from regulars.tickets.services import open_ticket

    ticket = open_ticket(subject="Hello", body="Hi", requester=cast.carol)
    for who in (cast.carol_user, cast.charlie):
        with pytest.raises(Forbidden):
            correct_category(ticket, categories["Login"], actor=who)


def test_it_trains_on_corrections_of_solved_tickets_only(
    cast, trained, categories, django_capture_on_commit_callbacks
):
    solved = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "My parcel is lost")
    open_ = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "The courier never came")
    untouched = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Refund please")
    correct_category(solved, categories["Delivery"], actor=cast.bob)
    correct_category(open_, categories["Delivery"], actor=cast.bob)
    solve(solved, cast.bob)
    solve(untouched, cast.bob)
    texts, labels = training_examples()
    assert labels == ["Delivery"]
    assert "My parcel is lost" in texts[0]


def test_it_uses_corrections_at_the_next_training(
    cast, trained, categories, django_capture_on_commit_callbacks
):
    """Agents start filing gift-card questions under a new category; the next model knows it."""
    gifts = create_category(actor=cast.alice, name="Gift cards", team=cast.support)
    words = ["gift card", "voucher", "gift code", "present card"]
    chosen = [(f"Question {i} about my {words[i % 4]} balance", gifts) for i in range(12)]
    texts, labels = examples(per_topic=8)
    chosen += [(text, categories[label]) for text, label in zip(texts, labels, strict=True)]
    for text, category in chosen:
        ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, text)
        correct_category(ticket, category, actor=cast.bob)
        solve(ticket, cast.bob)

    row = train_model()

    assert "Gift cards" in row.labels
    assert row.metrics["examples"] == 12 + 3 * 8
    assert row.state in (TriageModel.State.ACTIVE, TriageModel.State.REJECTED)
