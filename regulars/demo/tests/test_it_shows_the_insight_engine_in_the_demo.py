"""The demo comes with categories, sister brands, agents' past decisions and a trained model, so
a fresh install routes, predicts and fills the misdirected queue as soon as the worker runs."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from regulars.demo.builder import build
from regulars.demo.insights import STRAYS, seed
from regulars.insights.backends import OUT_OF_SCOPE
from regulars.insights.models import Category, SisterBrand, TicketTriage, TriageModel
from regulars.insights.services import training_examples
from regulars.tickets.models import Ticket

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_it_trains_on_the_demo_agents_decisions_and_triages_new_mail(django_capture_on_commit_callbacks):
    build(seed=5, customers=40, tickets=300, now=NOW, path="services")
    with django_capture_on_commit_callbacks(execute=True):
        row = seed()
    assert row is not None and row.state == TriageModel.State.ACTIVE
    assert row.metrics["accuracy"] >= 0.8
    assert Category.objects.count() == 12 and SisterBrand.objects.count() == 2
    assert all(c.team is not None and c.articles for c in Category.objects.all())

    _texts, labels = training_examples()
    assert set(labels) - {OUT_OF_SCOPE} <= set(Category.objects.values_list("name", flat=True))
    assert labels.count(OUT_OF_SCOPE) == 36

    # The worker's reaction to the two new stray messages (run inline here): the misdirected queue.
    for subject, _ in STRAYS:
        triage = TicketTriage.objects.select_related("brand_guess").get(ticket__subject=subject)
        assert triage.misdirected and triage.corrected_by is None
        assert triage.brand_guess is not None
    assert seed() is None  # once only


def test_it_leaves_tiny_demos_alone() -> None:
    build(seed=2, customers=10, tickets=20, now=NOW)
    out: list[str] = []
    assert seed(say=out.append) is None
    assert not Category.objects.exists() and Ticket.objects.count() == 20
    assert "too few" in out[0]


def test_the_command_can_skip_it() -> None:
    call_command("demo", customers=20, tickets=200, seed=3, no_insights=True, stdout=io.StringIO())
    assert not Category.objects.exists() and not TriageModel.objects.exists()
