"""The /api/v1/sla endpoints: admins change, agents read, customers see only their promise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from regulars.accounts.models import AuditLog, User
from regulars.api.tests.conftest import Api
from regulars.core.testing import Cast
from regulars.sla.models import SlaPolicy
from regulars.sla.tests.conftest import Clock, london
from regulars.tickets.services import open_ticket

CALENDAR = {
    "name": "London office",
    "time_zone": "Europe/London",
    "weekly_hours": {
        d: [["09:00", "12:00"], ["13:00", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")
    },
    "holiday_country": "GB",
    "holiday_subdivision": "ENG",
    "exceptions": [{"date": "2025-12-24", "name": "Christmas Eve", "hours": [["09:00", "12:00"]]}],
}


@pytest.fixture
def admin(api_as: Callable[[User], Api], cast: Cast) -> Api:
    return api_as(cast.alice)


def test_it_lets_admins_create_and_change_calendars(admin: Api, cast: Cast) -> None:
    made = admin.post("/sla/calendars", CALENDAR)
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["weekly_hours"]["mon"] == [["09:00", "12:00"], ["13:00", "17:30"]]
    assert body["exceptions"][0]["name"] == "Christmas Eve"
    changed = admin.patch(f"/sla/calendars/{body['id']}", {"time_zone": "America/New_York"})
    assert changed.status_code == 200 and changed.json()["time_zone"] == "America/New_York"
    assert AuditLog.objects.filter(action__startswith="sla.calendar").count() == 2


def test_it_refuses_bad_calendars_with_clear_errors(admin: Api) -> None:
    bad_zone = admin.post("/sla/calendars", {**CALENDAR, "time_zone": "Mars/Olympus"})
    assert bad_zone.status_code == 422 and bad_zone.json()["error"]["fields"] == {"time_zone": "unknown"}
    overlapping = admin.post(
        "/sla/calendars", {**CALENDAR, "weekly_hours": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}
    )
    assert overlapping.status_code == 422
    bad_country = admin.post("/sla/calendars", {**CALENDAR, "holiday_country": "XX"})
    assert bad_country.status_code == 422


def test_it_lets_admins_manage_policies(admin: Api, cast: Cast) -> None:
    calendar = admin.post("/sla/calendars", CALENDAR).json()
    made = admin.post(
        "/sla/policies",
        {"name": "Urgent", "priority": "urgent", "calendar": calendar["id"], "first_reply_minutes": 30,
         "conditions": {"ticket_types": ["incident"]}},
    )  # fmt: skip
    assert made.status_code == 201, made.content
    policy = made.json()
    assert policy["calendar"] == calendar["id"] and policy["conditions"] == {"ticket_types": ["incident"]}
    assert admin.get("/sla/policies").json()[0]["name"] == "Urgent"
    changed = admin.patch(f"/sla/policies/{policy['id']}", {"first_reply_minutes": 15, "calendar": None})
    assert changed.status_code == 200 and changed.json()["first_reply_minutes"] == 15
    assert changed.json()["calendar"] is None
    assert admin.delete(f"/sla/policies/{policy['id']}").status_code == 204
    assert not SlaPolicy.objects.exists()
    assert admin.get(f"/sla/policies/{policy['id']}").status_code == 404
    actions = list(AuditLog.objects.filter(action__startswith="sla.policy").values_list("action", flat=True))
    assert sorted(actions) == ["sla.policy_created", "sla.policy_deleted", "sla.policy_updated"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/sla/calendars", CALENDAR),
        ("post", "/sla/policies", {"name": "P", "first_reply_minutes": 5}),
        ("post", "/sla/suppliers", {"name": "S"}),
    ],
)
def test_it_refuses_writes_from_agents_and_customers(
    api_as: Callable[[User], Api], cast: Cast, method: str, path: str, body: dict[str, Any]
) -> None:
    assert getattr(api_as(cast.bob), method)(path, body).status_code == 403
    assert getattr(api_as(cast.carol_user), method)(path, body).status_code == 403
    assert getattr(api_as(cast.alice), method)(path, body).status_code == 201


def test_it_refuses_agent_patches_and_deletes(admin: Api, api_as: Callable[[User], Api], cast: Cast) -> None:
    calendar = admin.post("/sla/calendars", CALENDAR).json()
    policy = admin.post("/sla/policies", {"name": "P", "first_reply_minutes": 5}).json()
    bob = api_as(cast.bob)
    assert bob.patch(f"/sla/calendars/{calendar['id']}", {"name": "x"}).status_code == 403
    assert bob.patch(f"/sla/policies/{policy['id']}", {"name": "x"}).status_code == 403
    assert bob.delete(f"/sla/policies/{policy['id']}").status_code == 403
    assert bob.get(f"/sla/policies/{policy['id']}").status_code == 200


def test_it_keeps_configuration_from_customers(api_as: Callable[[User], Api], cast: Cast) -> None:
    carol = api_as(cast.carol_user)
    for path in ("/sla/calendars", "/sla/policies", "/sla/suppliers", "/sla/reports/suppliers"):
        assert carol.get(path).status_code == 403, path


def test_it_shows_a_tickets_promise_to_its_customer_only(
    admin: Api, api_as: Callable[[User], Api], cast: Cast, clock: Clock
) -> None:
    calendar = admin.post("/sla/calendars", CALENDAR).json()
    admin.post("/sla/policies", {"name": "All", "calendar": calendar["id"], "first_reply_minutes": 60})
    with clock.at(london(2025, 3, 28, 17, 55)):
        ticket = open_ticket(subject="Help", body="x", requester=cast.carol)
    with clock.at(london(2025, 3, 28, 18, 0)):
        mine = api_as(cast.carol_user).get(f"/sla/tickets/{ticket.number}")
        theirs = api_as(cast.erin_user).get(f"/sla/tickets/{ticket.number}")
        agents = api_as(cast.bob).get(f"/sla/tickets/{ticket.number}")
    assert mine.status_code == 200, mine.content
    # Closed at 17:30 on Friday; the hour runs 09:00-10:00 on Monday (clocks went forward on Sunday).
    assert mine.json()["promise"] == "We will reply by Monday 10:00 (Europe/London)."
    assert mine.json()["targets"][0]["state"] == "on_track"
    assert theirs.status_code == 404
    assert agents.json()["policy"] == "All"


def test_it_tracks_supplier_waits_for_agents(admin: Api, api_as: Callable[[User], Api], cast: Cast) -> None:
    supplier = admin.post("/sla/suppliers", {"name": "Parts Ltd", "contact_email": "help@parts.example",
                                             "response_minutes": 60}).json()  # fmt: skip
    ticket = open_ticket(subject="Help", body="x", requester=cast.carol)
    bob = api_as(cast.bob)
    started = bob.post(
        f"/sla/tickets/{ticket.number}/supplier-waits", {"supplier": supplier["id"], "reference": "P-1"}
    )
    assert started.status_code == 201, started.content
    wait = started.json()
    assert wait["state"] == "waiting" and wait["response_due_at"] is not None
    assert bob.post(f"/sla/supplier-waits/{wait['id']}/response").json()["state"] == "responded"
    assert bob.post(f"/sla/supplier-waits/{wait['id']}/resolve").json()["state"] == "resolved"
    assert [w["id"] for w in bob.get(f"/sla/tickets/{ticket.number}/supplier-waits").json()] == [wait["id"]]
    report = bob.get("/sla/reports/suppliers").json()
    assert report[0]["name"] == "Parts Ltd" and report[0]["breaches"] == 0
    carol = api_as(cast.carol_user)
    assert carol.get(f"/sla/tickets/{ticket.number}/supplier-waits").status_code == 403
    assert (
        carol.post(f"/sla/tickets/{ticket.number}/supplier-waits", {"supplier": supplier["id"]}).status_code
        == 403
    )


def test_it_refuses_nul_characters_in_policy_and_calendar_text(admin: Api) -> None:
    # PostgreSQL cannot store NUL in text or JSON: a 422 naming the field, never a 500.
    for path, body, field in (
        ("/sla/policies", {"name": "P", "conditions": {"tags": ["vip\x00"]}}, "conditions"),
        ("/sla/policies", {"name": "P", "plan": "gold\x00"}, "plan"),
        ("/sla/calendars", {**CALENDAR, "holiday_subdivision": "\x00"}, "holiday_subdivision"),
        ("/sla/suppliers", {"name": "Carrier", "contact_email": "a\x00@b.example"}, "contact_email"),
    ):
        response = admin.post(path, body)
        assert response.status_code == 422, (path, response.content)
        assert any(key.startswith(field) for key in response.json()["error"]["fields"]), response.json()
