"""Model artefacts are pickles; only those this install signed are ever unpickled."""

from __future__ import annotations

import pickle

import pytest

from regulars.core.errors import Conflict
from regulars.insights.models import TriageModel
from regulars.insights.services import active_model, load_model


class Boom:
    def __reduce__(self):
        return (exec, ("raise SystemExit('unpickled a foreign artefact')",))


def test_it_loads_its_own_artefact(trained):
    row, backend = active_model()
    assert row == trained
    assert backend.classes == ["Billing", "Delivery", "Login"]


def test_it_refuses_an_artefact_it_did_not_sign(trained):
    TriageModel.objects.filter(pk=trained.pk).update(artefact=pickle.dumps(Boom()))
    row = TriageModel.objects.get(pk=trained.pk)
    with pytest.raises(Conflict):
        load_model(row)
    assert active_model() is None


def test_it_reads_the_artefact_only_when_the_model_is_not_loaded_yet(trained):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection):
        active_model()
    with CaptureQueriesContext(connection) as again:
        row, backend = active_model()
    assert not any('"artefact"' in q["sql"] for q in again.captured_queries)
    assert backend.classes == ["Billing", "Delivery", "Login"] and row == trained
