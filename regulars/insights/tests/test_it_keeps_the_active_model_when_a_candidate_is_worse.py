"""A new model replaces the active one only if it scores at least as well on the same held-out data."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from regulars.insights import backends
from regulars.insights.models import TriageModel
from regulars.insights.services import active_model, train_model

from .conftest import examples


class AlwaysBilling:
    """A deliberately bad backend: whatever it reads, it says Billing."""

    name: ClassVar[str] = "always_billing"

    def __init__(self) -> None:
        self.classes: list[str] = []
        self.in_scope_threshold = None

    def fit(self, texts, labels, progress=None):
        self.classes = sorted(set(labels))

    def predict_proba(self, texts):
        proba = np.zeros((len(texts), len(self.classes)))
        proba[:, self.classes.index("Billing")] = 1.0
        return proba


@pytest.fixture
def bad_backend(monkeypatch):
    monkeypatch.setitem(backends.BACKENDS, "always_billing", AlwaysBilling)


def test_it_rejects_a_worse_model_and_keeps_the_active_one(trained, bad_backend):
    worse = train_model(backend="always_billing", examples=examples())
    assert worse.state == TriageModel.State.REJECTED
    assert worse.metrics["accuracy"] < worse.metrics["active_accuracy"]
    assert active_model()[0] == trained
    trained.refresh_from_db()
    assert trained.state == TriageModel.State.ACTIVE


def test_it_swaps_in_a_model_that_scores_as_well(trained):
    again = train_model(examples=examples())
    assert again.metrics["accuracy"] >= again.metrics["active_accuracy"]
    assert again.state == TriageModel.State.ACTIVE
    trained.refresh_from_db()
    assert trained.state == TriageModel.State.RETIRED
    assert TriageModel.objects.filter(state=TriageModel.State.ACTIVE).count() == 1


def test_it_activates_the_first_model_whatever_it_scores(categories, bad_backend):
    first = train_model(backend="always_billing", examples=examples())
    assert first.state == TriageModel.State.ACTIVE


def test_it_fails_clearly_with_too_few_examples(categories):
    row = train_model(examples=(["a", "b"], ["Billing", "Login"]))
    assert row.state == TriageModel.State.FAILED
    assert "not enough examples" in row.progress


def test_it_trains_in_the_background_and_shows_progress(
    cast, categories, django_capture_on_commit_callbacks, settings
):
    from regulars.insights.services import request_training

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        row = request_training(actor=cast.alice)
    row.refresh_from_db()
    # No agent has categorised a solved ticket yet: the run ends and says why.
    assert row.state == TriageModel.State.FAILED
    assert "not enough examples" in row.progress
