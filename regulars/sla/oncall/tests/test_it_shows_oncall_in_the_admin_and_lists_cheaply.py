"""Admin pages for every on-call model load for admins; API lists take a constant number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from regulars.api.ratelimit import reset
from regulars.api.tests.conftest import Api, token
from regulars.core.testing import Cast, enrol_totp
from regulars.sla.oncall.models import DrillPlan, EscalationPolicy
from regulars.sla.oncall.services import (
    add_override,
    consider_ticket,
    escalate,
    set_oncall_webhook,
    start_drill,
)
from regulars.sla.oncall.tests.conftest import at
from regulars.tickets.models import Priority
from regulars.tickets.services import open_ticket

MODELS = [m for m in admin.site._registry if m._meta.app_label == "sla_oncall"]


def incidents(cast: Cast, count: int) -> None:
    for i in range(count):
        ticket = open_ticket(subject=f"Down {i}", body="Down", requester=cast.carol, priority=Priority.URGENT)
        consider_ticket(ticket.pk, now=at("2025-03-08T22:00:00+00:00"))
    escalate(at("2025-03-08T22:05:00+00:00"))


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_it_loads_each_changelist_and_change_page(cast: Cast, policy: EscalationPolicy, model: Any) -> None:
    incidents(cast, 1)
    start_drill(policy, now=at("2025-03-12T03:00:00+00:00"))
    DrillPlan.objects.create(name="Weekly", policy=policy)
    set_oncall_webhook(cast.bob, url="http://127.0.0.1:9/hook")
    add_override(
        policy.levels.get(position=1).rotation,
        agent=cast.alice,
        starts_at=at("2025-03-08T20:00:00+00:00"),
        ends_at=at("2025-03-09T02:00:00+00:00"),
    )
    enrol_totp(cast.alice)
    client = Client()
    client.force_login(cast.alice)
    name = f"admin:sla_oncall_{model._meta.model_name}"
    assert client.get(reverse(f"{name}_changelist")).status_code == 200
    obj = model._default_manager.first()
    assert obj is not None
    assert client.get(reverse(f"{name}_change", args=[obj.pk])).status_code == 200


def test_it_refuses_an_invalid_cron_in_a_drill_plan(cast: Cast, policy: EscalationPolicy) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        DrillPlan(name="Bad", policy=policy, cron="every tuesday").full_clean()


@pytest.mark.parametrize(
    "path", ["/sla/oncall/incidents", "/sla/oncall/drills", "/sla/oncall/rotations", "/sla/oncall/policies"]
)
def test_it_lists_in_a_constant_number_of_queries(
    cast: Cast, policy: EscalationPolicy, path: str, django_assert_num_queries: Any
) -> None:
    reset()
    api = Api(token(cast.bob))
    incidents(cast, 2)
    start_drill(policy, now=at("2025-03-12T03:00:00+00:00"))
    api.get(path)  # warm up the token
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert api.get(path).status_code == 200
    incidents(cast, 3)
    start_drill(policy, now=at("2025-03-19T03:00:00+00:00"))
    with CaptureQueriesContext(connection) as more:
        assert api.get(path).status_code == 200
    assert len(more) == len(few)
