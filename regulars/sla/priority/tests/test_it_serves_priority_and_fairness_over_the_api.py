"""The API: policy read by agents and changed by admins (audited), assessments, the report and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from unittest.mock import patch

import pytest

from regulars.accounts.models import AuditLog
from regulars.api.ratelimit import reset
from regulars.api.tests.conftest import Api, token
from regulars.sla.priority.services import assess_ticket

from .conftest import customer, ticket
from .test_it_flags_unfair_service_by_customer_value import START, build


@pytest.fixture(autouse=True)
def _fresh_budgets():
    reset()
    yield
    reset()


def as_(user) -> Api:
    return Api(token(user))


def test_it_shows_the_policy_to_agents_only(cast):
    body = as_(cast.bob).get("/sla/priority/policy").json()
    assert body["value_modifier_enabled"] is False
    assert body["scoring_table"]["high/single/normal"] == "high"
    assert {"name": "Outages", "severity": "high", "ticket_type": "", "tag": "outage", "custom_field": "",
            "custom_value": ""} in body["severity_rules"]  # fmt: skip
    assert as_(cast.carol_user).get("/sla/priority/policy").status_code == 403


def test_it_lets_only_admins_change_the_policy_with_an_audit_row(cast):
    change = {
        "value_modifier_enabled": True,
        "severity_rules": [{"name": "Billing", "severity": "low", "tag": "billing"}],
    }
    assert as_(cast.bob).put("/sla/priority/policy", change).status_code == 403
    assert as_(cast.carol_user).put("/sla/priority/policy", change).status_code == 403
    response = as_(cast.alice).put("/sla/priority/policy", change)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["value_modifier_enabled"] is True
    assert [r["name"] for r in body["severity_rules"]] == ["Billing"]
    audit = AuditLog.objects.get(action="priority_policy.updated")
    assert audit.actor == cast.alice
    assert audit.data["fields"] == ["value_modifier_enabled"]
    assert audit.data["rules_after"] == 1


def test_it_refuses_a_broken_policy_with_clear_errors(cast):
    api = as_(cast.alice)
    bad_table = api.put("/sla/priority/policy", {"scoring_table": {"high/single/normal": "asap"}})
    assert bad_table.status_code == 422
    assert bad_table.json()["error"]["fields"]["scoring_table.high/single/normal"].startswith(
        "must be one of"
    )
    no_condition = api.put(
        "/sla/priority/policy", {"severity_rules": [{"name": "Everything", "severity": "high"}]}
    )
    assert no_condition.status_code == 422
    assert api.put("/sla/priority/policy", {"impact_window_hours": 0}).status_code == 422
    assert not AuditLog.objects.filter(action="priority_policy.updated").exists()


def test_it_explains_a_tickets_priority_to_agents(cast):
    t = ticket(customer(), subject="Outage", tags=["outage"])
    preview = as_(cast.bob).get(f"/sla/priority/tickets/{t.number}").json()
    assert (preview["stored"], preview["policy_priority"], preview["priority"]) == (False, "high", "normal")
    assess_ticket(t)
    body = as_(cast.bob).get(f"/sla/priority/tickets/{t.number}").json()
    assert (body["stored"], body["priority"]) == (True, "high")
    assert body["factors"]["severity"]["level"] == "high"
    assert body["reason"] == body["priority_reason"]


def test_it_hides_assessments_from_customers_and_out_of_scope_agents(cast):
    t = ticket(cast.carol, team=cast.support)
    assert as_(cast.carol_user).get(f"/sla/priority/tickets/{t.number}").status_code == 403
    assert as_(cast.dave).get(f"/sla/priority/tickets/{t.number}").status_code == 404
    assert as_(cast.bob).get("/sla/priority/tickets/999999").status_code == 404


def test_it_serves_the_fairness_report_as_json(cast):
    build(cast, urgent_low=dt.timedelta(hours=4), urgent_high=dt.timedelta(minutes=10))
    params = {"start": START.isoformat(), "end": (START + dt.timedelta(days=2)).isoformat()}
    body = as_(cast.bob).get("/sla/reports/fairness", **params).json()
    assert [(f["kind"], f["band"]) for f in body["flags"]] == [
        ("unequal_service", "low"),
        ("urgent_waits_longer", "low"),
    ]
    assert as_(cast.carol_user).get("/sla/reports/fairness", **params).status_code == 403
    assert as_(cast.charlie).get("/sla/reports/fairness", **params).status_code == 403


def test_it_downloads_the_fairness_report_as_csv(cast):
    build(cast, urgent_low=dt.timedelta(hours=4), urgent_high=dt.timedelta(minutes=10))
    response = as_(cast.alice).get("/sla/reports/fairness.csv", start="2025-01-06", end="2025-01-08")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="fairness-2025-01-06.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    low_urgent = next(r for r in rows if (r["priority"], r["band"]) == ("urgent", "low"))
    assert low_urgent["first_reply_median_minutes"] == "240.0"
    assert "Unequal service for equal need" in low_urgent["flags"]
    assert as_(cast.carol_user).get("/sla/reports/fairness.csv").status_code == 403


def test_it_answers_bad_report_periods_with_422(cast):
    api = as_(cast.alice)
    assert (
        api.get("/sla/reports/fairness", start="2025-02-01T00:00:00Z", end="2025-01-01T00:00:00Z").status_code
        == 422
    )
    assert api.get("/sla/reports/fairness", start="yesterday").status_code == 422


def test_it_defaults_to_the_last_thirty_days(cast):
    now = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
    with patch("django.utils.timezone.now", return_value=now):
        body = as_(cast.alice).get("/sla/reports/fairness").json()
    assert (body["start"], body["end"]) == ("2025-04-01T00:00:00+00:00", "2025-05-01T00:00:00+00:00")
