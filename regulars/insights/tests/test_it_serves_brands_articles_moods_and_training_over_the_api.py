"""``/api/v1/insights/...``: categories' knowledge articles, sister brands, "not for us", a
customer's mood with the offer gate, and starting a training run."""

from __future__ import annotations

import pytest

from regulars.api.tests.conftest import Api, token
from regulars.insights.misdirected import create_sister_brand
from regulars.insights.models import Category, SisterBrand, TicketTriage, TriageModel

from .conftest import open_and_triage

ROLES = ("alice", "bob", "charlie", "carol")
ARTICLES = [
    {"title": "Resetting your password", "url": "https://help.example/reset"},
    {"title": "Two-factor codes", "url": "https://help.example/2fa"},
]


def _as(cast, role):
    return Api(token(cast.carol_user if role == "carol" else getattr(cast, role)))


@pytest.fixture
def garden(cast):
    return create_sister_brand(
        actor=cast.alice,
        name="GreenThumb",
        description="lawn mowers and seeds",
        contact="help@greenthumb.example",
    )


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_admins_change_a_category(cast, categories, role):
    login = categories["Login"]
    response = _as(cast, role).patch(
        f"/insights/categories/{login.public_id}", {"articles": ARTICLES, "default_priority": "high"}
    )
    login.refresh_from_db()
    if role == "alice":
        assert response.status_code == 200, response.content
        assert response.json()["articles"] == ARTICLES
        assert login.articles == ARTICLES and login.default_priority == "high"
    else:
        assert response.status_code == 403
        assert login.articles == [] and login.default_priority == "normal"


def test_it_changes_only_what_is_sent_and_can_take_the_team_away(cast, categories):
    login = categories["Login"]
    body = _as(cast, "alice").patch(f"/insights/categories/{login.public_id}", {"team_id": None}).json()
    assert body["team_id"] is None and body["name"] == "Login" and body["default_priority"] == "normal"
    body = _as(cast, "alice").patch(f"/insights/categories/{login.public_id}", {"name": "Sign-in"}).json()
    assert body["name"] == "Sign-in" and body["team_id"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"articles": [{"title": "Evil", "url": "javascript:alert(1)"}]}, "articles[0].url"),
        ({"articles": [{"title": "Ok", "url": "https://a.example"}, {"title": "No", "url": "ftp://x"}]},
         "articles[1].url"),
        ({"name": "Billing"}, None),
        ({"active": None}, "active"),
        ({"default_priority": "whenever"}, None),
    ],
)  # fmt: skip
def test_it_refuses_bad_category_changes_clearly(cast, categories, body, field):
    login = categories["Login"]
    response = _as(cast, "alice").patch(f"/insights/categories/{login.public_id}", body)
    assert response.status_code in (409, 422), response.content
    error = response.json()["error"]
    assert error["code"] and error["message"]
    if field is not None:
        assert field in error["fields"]
    login.refresh_from_db()
    assert login.name == "Login" and login.articles == [] and login.active


def test_it_answers_404_for_an_unknown_category(cast, categories):
    assert _as(cast, "alice").patch("/insights/categories/cat_nope", {"active": False}).status_code == 404


def test_it_shows_the_categorys_articles_with_a_tickets_prediction(
    cast, trained, categories, django_capture_on_commit_callbacks
):
    _as(cast, "alice").patch(f"/insights/categories/{categories['Login'].public_id}", {"articles": ARTICLES})
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "My password does not work")
    body = _as(cast, "bob").get(f"/insights/tickets/{ticket.number}").json()
    assert body["category"] == "Login"
    assert body["articles"] == ARTICLES


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_agents_read_sister_brands_and_admins_manage_them(cast, garden, role):
    api = _as(cast, role)
    listed = api.get("/insights/sister-brands")
    created = api.post("/insights/sister-brands", {"name": "PetPal", "description": "dog food and cat litter",
                                                    "forward_address": "hello@petpal.example"})  # fmt: skip
    changed = api.patch(f"/insights/sister-brands/{garden.public_id}", {"contact": "0800 000"})
    if role == "carol":
        assert (listed.status_code, created.status_code, changed.status_code) == (403, 403, 403)
    else:
        assert listed.status_code == 200
        assert [b["name"] for b in listed.json()] == ["GreenThumb"]
    if role == "alice":
        assert created.status_code == 201, created.content
        assert created.json()["forward_address"] == "hello@petpal.example"
        assert "{brand}" in created.json()["reply_template"]
        assert changed.status_code == 200 and changed.json()["contact"] == "0800 000"
    elif role != "carol":
        assert (created.status_code, changed.status_code) == (403, 403)
    assert SisterBrand.objects.filter(name="PetPal").exists() == (role == "alice")


def test_it_refuses_a_brand_with_a_bad_forward_address(cast):
    response = _as(cast, "alice").post(
        "/insights/sister-brands", {"name": "X", "description": "y", "forward_address": "nope"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"forward_address": "invalid"}


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_full_agents_say_a_ticket_is_not_for_us(
    cast, trained, garden, role, django_capture_on_commit_callbacks
):
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "My lawn mower blade snapped")
    with django_capture_on_commit_callbacks(execute=True):
        response = _as(cast, role).post(
            f"/insights/tickets/{ticket.number}/not-for-us", {"brand_id": garden.public_id}
        )
    triage = TicketTriage.objects.get(ticket=ticket)
    if role in ("alice", "bob"):
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["misdirected"] and body["category"] is None and body["redirected_to"] == "GreenThumb"
        assert triage.corrected_by is not None
    else:
        assert response.status_code in (403, 404)
        assert triage.corrected_by is None


def test_it_refuses_an_unknown_brand(cast, trained, django_capture_on_commit_callbacks):
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "My lawn mower blade snapped")
    response = _as(cast, "bob").post(
        f"/insights/tickets/{ticket.number}/not-for-us", {"brand_id": "brand_nope"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"brand_id": "not found"}
    assert TicketTriage.objects.get(ticket=ticket).corrected_by is None


def test_it_shows_a_customers_mood_and_the_offer_gate_to_agents(cast, django_capture_on_commit_callbacks):
    open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "This is awful, I want to cancel my account"
    )
    body = _as(cast, "bob").get(f"/insights/customers/{cast.carol.public_id}/mood").json()
    assert body["customer_id"] == cast.carol.public_id and body["days"] == 30
    assert body["sentiment"]["messages"] == 1 and body["sentiment"]["latest"] == "negative"
    assert body["offers"]["allowed"] is False
    assert "their latest message reads negative" in body["offers"]["reasons"]

    calm = _as(cast, "bob").get(f"/insights/customers/{cast.erin.public_id}/mood", days=7).json()
    assert calm["offers"] == {"allowed": True, "reasons": []} and calm["sentiment"]["messages"] == 0

    assert _as(cast, "carol").get(f"/insights/customers/{cast.carol.public_id}/mood").status_code == 403
    assert _as(cast, "bob").get("/insights/customers/cus_nope/mood").status_code == 404
    assert _as(cast, "bob").get(f"/insights/customers/{cast.carol.public_id}/mood", days=0).status_code == 422


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_admins_start_training(cast, categories, role, django_capture_on_commit_callbacks):
    response = _as(cast, role).post("/insights/models", {"backend": "light"})
    if role == "alice":
        assert response.status_code == 202, response.content
        body = response.json()
        assert body["state"] == "queued" and body["backend"] == "light"
        row = TriageModel.objects.get(public_id=body["id"])
        assert row.requested_by == cast.alice
        assert _as(cast, "alice").get(f"/insights/models/{row.public_id}").json()["id"] == row.public_id
    else:
        assert response.status_code == 403
        assert not TriageModel.objects.exists()


def test_it_refuses_an_unknown_backend_and_model(cast):
    assert _as(cast, "alice").post("/insights/models", {"backend": "gpt"}).status_code == 422
    assert _as(cast, "alice").get("/insights/models/mdl_nope").status_code == 404
    assert not TriageModel.objects.exists()
    assert Category.objects.count() == 0
