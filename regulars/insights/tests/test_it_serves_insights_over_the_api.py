"""``/api/v1/insights/...``: who may do what, and what they get."""

from __future__ import annotations

import pytest

from regulars.api.tests.conftest import Api, token
from regulars.insights.models import Category

from .conftest import open_and_triage

ROLES = ("alice", "bob", "charlie", "carol")


def _as(cast, role):
    return Api(token(cast.carol_user if role == "carol" else getattr(cast, role)))


@pytest.fixture
def ticket(cast, trained, django_capture_on_commit_callbacks):
    return open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "Where is my parcel? This is awful."
    )


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/insights/categories", {"alice", "bob", "charlie"}),
        ("get", "/insights/tickets/{n}", {"alice", "bob", "charlie"}),
        ("get", "/insights/triage-queue", {"alice", "bob", "charlie"}),
        ("get", "/insights/misdirected", {"alice", "bob", "charlie"}),
        ("get", "/insights/models", {"alice"}),
    ],
)
@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_the_right_roles_read(cast, ticket, method, path, allowed, role):
    response = _as(cast, role).get(path.format(n=ticket.number))
    if role in allowed:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code == 403, response.content


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_admins_create_categories(cast, categories, role):
    body = {"name": f"Refunds {role}", "team_id": cast.billing.public_id, "default_priority": "high"}
    response = _as(cast, role).post("/insights/categories", body)
    if role == "alice":
        assert response.status_code == 201, response.content
        assert response.json()["team_id"] == cast.billing.public_id
    else:
        assert response.status_code == 403
        assert not Category.objects.filter(name=body["name"]).exists()


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_full_agents_correct_a_category(cast, ticket, categories, role):
    response = _as(cast, role).post(
        f"/insights/tickets/{ticket.number}/category", {"category_id": categories["Login"].public_id}
    )
    if role in ("alice", "bob"):
        assert response.status_code == 200, response.content
        assert response.json()["category"] == "Login"
        assert response.json()["predicted_category"] == "Delivery"
    else:
        assert response.status_code in (403, 404)


def test_it_shows_a_tickets_prediction_and_mood(cast, ticket):
    body = _as(cast, "bob").get(f"/insights/tickets/{ticket.number}").json()
    assert body["category"] == "Delivery"
    assert 0 < body["confidence"] <= 1
    assert len(body["alternatives"]) == 2
    assert body["sentiment"]["latest"] == "negative"


def test_it_hides_tickets_outside_a_scoped_agents_teams(cast, ticket):
    assert _as(cast, "dave").get(f"/insights/tickets/{ticket.number}").status_code == 404


def test_it_refuses_an_unknown_category_with_a_clear_error(cast, ticket):
    response = _as(cast, "bob").post(
        f"/insights/tickets/{ticket.number}/category", {"category_id": "cat_nope"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"category_id": "not found"}


def test_it_refuses_a_duplicate_category_name(cast, categories):
    response = _as(cast, "alice").post("/insights/categories", {"name": "billing"})
    assert response.status_code == 409
