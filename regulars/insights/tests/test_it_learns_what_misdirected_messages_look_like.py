"""A model trained with ``out_of_scope`` examples (messages agents found were not for us) never
offers that label as a category, and sends messages like them to the misdirected queue."""

from __future__ import annotations

from regulars.insights.backends import OUT_OF_SCOPE, make_backend, rank
from regulars.insights.models import TicketTriage, TriageModel
from regulars.insights.selectors import misdirected_queue
from regulars.insights.services import train_model, update_settings

from .conftest import examples, open_and_triage

NOT_FOR_US = [
    "Do you sell garden hoses", "My lawn mower blade snapped", "What seeds grow in shade",
    "Where can I buy plant pots", "Is the garden centre open on Sunday", "My hedge trimmer is broken",
    "Which lawn mower do you recommend", "Do you deliver compost and soil", "How deep do I plant bulbs",
    "The garden hose leaks at the tap",
]  # fmt: skip


def with_not_for_us(repeat: int = 3) -> tuple[list[str], list[str]]:
    texts, labels = examples()
    return [*texts, *NOT_FOR_US * repeat], [*labels, *[OUT_OF_SCOPE] * len(NOT_FOR_US) * repeat]


def test_it_never_offers_out_of_scope_as_a_category():
    backend = make_backend("light")
    backend.fit(*with_not_for_us())
    for ranked in rank(backend, ["My lawn mower blade snapped off", "I was charged twice"], k=5):
        assert ranked.label != OUT_OF_SCOPE
        assert OUT_OF_SCOPE not in [name for name, _ in ranked.alternatives]
        assert len(ranked.alternatives) == 2  # the three categories, whatever k asks for


def test_it_scores_a_message_like_the_out_of_scope_examples_below_zero():
    backend = make_backend("light")
    backend.fit(*with_not_for_us())
    stray, clear = rank(backend, ["The lawn mower blade is broken", "I was charged twice on my invoice"], k=1)
    assert stray.in_scope < 0 < clear.in_scope
    assert clear.in_scope < clear.confidence  # less the little it gives to "not for us"


def test_it_keeps_the_in_scope_score_equal_to_the_confidence_without_out_of_scope_examples():
    backend = make_backend("light")
    backend.fit(*examples())
    for ranked in rank(backend, ["Where is my parcel?", "What is the capital of Mongolia?"]):
        assert ranked.in_scope == ranked.confidence


def test_it_sends_a_message_like_the_out_of_scope_examples_to_the_misdirected_queue(
    cast, categories, django_capture_on_commit_callbacks
):
    row = train_model(examples=with_not_for_us())
    assert row.state == TriageModel.State.ACTIVE
    update_settings(actor=cast.alice, in_scope_threshold=0.0)  # only what looks "not for us"
    clear = open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "I was charged twice on my invoice"
    )
    odd = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "My hedge trimmer blade snapped")
    stray = TicketTriage.objects.get(ticket=odd)
    assert stray.misdirected and not stray.routed
    assert stray.category is None or stray.category.name != OUT_OF_SCOPE
    assert not TicketTriage.objects.get(ticket=clear).misdirected
    assert [t.ticket for t in misdirected_queue(cast.bob)] == [odd]
