"""Dates with odd offsets (+23:57) or at the calendar's edges are normalised or refused with a
422; PostgreSQL would otherwise fail on them with a 500 (found by schemathesis)."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("end=1963-03-15T16:16:23%2B23:57", 200),
        ("start=2026-01-01T00:00:00-23:59&end=2026-02-01T00:00:00%2B14:00", 200),
        ("end=0001-01-01T00:00:00%2B01:00", 422),
    ],
)
def test_it_normalises_or_refuses_the_fairness_report_dates(cast, query: str, status: int) -> None:
    client = Client()
    client.force_login(cast.alice)
    response = client.get(f"/api/v1/sla/reports/fairness?{query}")
    assert response.status_code == status, response.content
