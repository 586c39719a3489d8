"""Every on-call endpoint: agents read, admins write, any agent acknowledges, customers get 403."""

from __future__ import annotations

import json
from typing import Any

import pytest

from regulars.api.ratelimit import reset
from regulars.api.tests.conftest import Api, token
from regulars.core.testing import Cast
from regulars.sla.oncall.models import EscalationPolicy, Incident, IncidentState, Rotation
from regulars.sla.oncall.services import consider_ticket, start_drill
from regulars.sla.oncall.tests.conftest import at
from regulars.tickets.models import Priority
from regulars.tickets.services import open_ticket

ROLES = ("alice", "bob", "charlie", "carol_user")
AGENTS = {"alice", "bob", "charlie"}
ADMIN = {"alice"}


@pytest.fixture(autouse=True)
def _fresh_budgets() -> Any:
    reset()
    yield
    reset()


@pytest.fixture
def ids(cast: Cast, nights: Rotation, policy: EscalationPolicy) -> dict[str, str]:
    ticket = open_ticket(subject="Site down", body="Down", requester=cast.carol, priority=Priority.URGENT)
    incident = consider_ticket(ticket.pk, now=at("2025-03-08T22:00:00+00:00"))
    assert incident is not None
    start_drill(policy, now=at("2025-03-12T03:00:00+00:00"))
    return {
        "rot": nights.public_id,
        "esc": policy.public_id,
        "inc": incident.public_id,
        "bob": cast.bob.public_id,
        "alice": cast.alice.public_id,
    }


ROWS: list[tuple[str, str, Any, set[str]]] = [
    ("get", "/sla/oncall/rotations", None, AGENTS),
    (
        "post",
        "/sla/oncall/rotations",
        {"name": "Days", "participants": ["{bob}"], "handoff_time": "09:00", "starts_on": "2025-03-03"},
        ADMIN,
    ),
    ("get", "/sla/oncall/rotations/{rot}", None, AGENTS),
    (
        "post",
        "/sla/oncall/rotations/{rot}/overrides",
        {"agent_id": "{alice}", "starts_at": "2025-03-08T18:00:00Z", "ends_at": "2025-03-09T06:00:00Z"},
        ADMIN,
    ),
    ("get", "/sla/oncall/now", None, AGENTS),
    ("get", "/sla/oncall/policies", None, AGENTS),
    (
        "post",
        "/sla/oncall/policies",
        {"name": "Days", "levels": [{"rotation_id": "{rot}"}, {"agent_id": "{alice}"}]},
        ADMIN,
    ),
    ("get", "/sla/oncall/policies/{esc}", None, AGENTS),
    ("get", "/sla/oncall/incidents", None, AGENTS),
    ("get", "/sla/oncall/incidents/{inc}", None, AGENTS),
    ("post", "/sla/oncall/incidents/{inc}/ack", None, AGENTS),
    ("get", "/sla/oncall/drills", None, AGENTS),
    ("post", "/sla/oncall/drills", {"policy_id": "{esc}"}, ADMIN),
]


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROWS, ids=[f"{r[0]} {r[1]}" for r in ROWS])
def test_it_allows_exactly_the_right_roles(
    cast: Cast, ids: dict[str, str], role: str, method: str, path: str, body: Any, allowed: set[str]
) -> None:
    api = Api(token(getattr(cast, role)))
    url = fill(path, ids)
    response = api.get(url) if method == "get" else api.post(url, fill(body, ids))
    if role in allowed:
        assert response.status_code in (200, 201), response.content
    else:
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] in ("agents_only", "admins_only")


def test_it_acknowledges_through_the_api_and_shows_every_page(cast: Cast, ids: dict[str, str]) -> None:
    api = Api(token(cast.dave))
    response = api.post(f"/sla/oncall/incidents/{ids['inc']}/ack")

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["acknowledged_by"], body["acknowledged_via"]) == (
        "acknowledged",
        cast.dave.public_id,
        "api",
    )
    assert [(p["level"], p["attempt"], p["recipient_id"]) for p in body["pages"]] == [
        (1, 1, cast.bob.public_id)
    ]
    assert Incident.objects.get(public_id=ids["inc"]).state == IncidentState.ACKNOWLEDGED


def test_it_refuses_over_the_api_a_policy_that_ends_in_a_rotation(cast: Cast, ids: dict[str, str]) -> None:
    api = Api(token(cast.alice))
    response = api.post(
        "/sla/oncall/policies",
        {"name": "Loose end", "levels": [{"agent_id": ids["bob"]}, {"rotation_id": ids["rot"]}]},
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "chain_must_end_in_a_person"


def test_it_answers_bad_input_with_clear_errors(cast: Cast, ids: dict[str, str]) -> None:
    api = Api(token(cast.alice))
    bad_hours = api.post(
        "/sla/oncall/policies",
        {"name": "X", "levels": [{"agent_id": ids["bob"]}], "business_hours": {"0": [["17:00", "09:00"]]}},
    )
    assert bad_hours.status_code == 422
    unknown_zone = api.post(
        "/sla/oncall/rotations",
        {
            "name": "Z",
            "participants": [ids["bob"]],
            "handoff_time": "09:00",
            "starts_on": "2025-03-03",
            "time_zone": "Nowhere/Land",
        },
    )
    assert unknown_zone.status_code == 422
    naive = api.post(
        f"/sla/oncall/rotations/{ids['rot']}/overrides",
        {"agent_id": ids["bob"], "starts_at": "2025-03-08T18:00:00", "ends_at": "2025-03-09T06:00:00"},
    )
    assert naive.status_code == 422
    assert api.get("/sla/oncall/incidents/inc_0000").status_code == 404
    assert api.get("/sla/oncall/rotations/rot_0000").status_code == 404
    assert api.get("/sla/oncall/incidents?cursor=%%%").status_code == 422


def test_it_says_who_is_on_call_now_per_rotation(cast: Cast, ids: dict[str, str]) -> None:
    body = Api(token(cast.bob)).get("/sla/oncall/now").json()
    [item] = body["items"]
    assert item["rotation_id"] == ids["rot"]
    assert item["agent_id"] in (cast.bob.public_id, cast.dave.public_id)
    assert json.dumps(body)  # plain JSON all the way down
