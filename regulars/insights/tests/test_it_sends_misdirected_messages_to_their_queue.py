"""A message that fits no category goes to the misdirected queue with a guess of where it belongs."""

from __future__ import annotations

import numpy as np

from regulars.insights.misdirected import create_sister_brand
from regulars.insights.models import TicketTriage
from regulars.insights.selectors import misdirected_queue, triage_queue
from regulars.insights.services import (
    IN_SCOPE_THRESHOLD_CAP,
    _in_scope_threshold,
    correct_category,
    update_settings,
)

from .conftest import open_and_triage


def test_it_queues_an_out_of_scope_message_with_a_sister_brand_guess(
    cast, trained, categories, django_capture_on_commit_callbacks
):
    garden = create_sister_brand(
        actor=cast.alice, name="GreenThumb", description="garden hoses, lawn mowers, seeds and plant pots",
        contact="help@greenthumb.example",
    )  # fmt: skip
    create_sister_brand(actor=cast.alice, name="PetPal", description="dog food, cat litter and pet toys")
    update_settings(actor=cast.alice, in_scope_threshold=0.6)
    clear = open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "I was charged twice on my invoice"
    )
    odd = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "My lawn mower blade snapped off")

    stray = TicketTriage.objects.get(ticket=odd)
    assert stray.in_scope_score < 0.6 <= TicketTriage.objects.get(ticket=clear).in_scope_score
    assert stray.misdirected and not stray.routed
    assert stray.brand_guess == garden
    assert [t.ticket for t in misdirected_queue(cast.bob)] == [odd]
    assert odd not in [t.ticket for t in triage_queue(cast.bob)]


def test_it_takes_a_ticket_off_the_queue_once_an_agent_categorises_it(
    cast, trained, categories, django_capture_on_commit_callbacks
):
    update_settings(actor=cast.alice, in_scope_threshold=0.99)
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Something odd happened")
    assert [t.ticket for t in misdirected_queue(cast.bob)] == [ticket]
    correct_category(ticket, categories["Login"], actor=cast.bob)
    assert list(misdirected_queue(cast.bob)) == []


class SureOfEverything:
    """Perfectly separated held-out data: every right answer at probability 1."""

    classes = ["Billing", "Login"]

    def predict_proba(self, texts):
        return np.array([[1.0, 0.0] if "invoice" in t else [0.0, 1.0] for t in texts])


def test_a_model_sure_of_everything_does_not_send_every_less_certain_message_away():
    texts = ["invoice"] * 20 + ["password"] * 20
    labels = ["Billing"] * 20 + ["Login"] * 20
    # The 5 % quantile alone would be 1.0: any message scored 0.99 would count as "not for us".
    assert _in_scope_threshold(SureOfEverything(), texts, labels) == IN_SCOPE_THRESHOLD_CAP


def test_the_cut_follows_the_held_out_scores_below_the_cap(trained):
    assert trained.in_scope_threshold is not None and trained.in_scope_threshold < IN_SCOPE_THRESHOLD_CAP


def test_the_model_reads_a_new_tickets_first_message_once(cast, trained, django_capture_on_commit_callbacks):
    from unittest import mock

    from regulars.insights import services
    from regulars.insights.models import MessageInsight

    with mock.patch.object(services, "rank", wraps=services.rank) as spy:
        ticket = open_and_triage(
            django_capture_on_commit_callbacks, cast.carol, "My lawn mower blade snapped"
        )
    assert spy.call_count == 1
    insight = MessageInsight.objects.get(ticket=ticket)
    assert insight.in_scope_score == TicketTriage.objects.get(ticket=ticket).in_scope_score
