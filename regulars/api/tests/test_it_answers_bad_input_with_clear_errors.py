import pytest

from regulars.api.tests.conftest import Api, ticket_for, token

NEW = {"subject": "Hi", "body": "Hello", "requester_email": "new@example.com"}


@pytest.fixture
def bob(cast):
    return Api(token(cast.bob))


def test_it_answers_400_for_malformed_json(bob):
    response = bob.post("/tickets", "{not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_it_answers_400_for_a_body_that_is_not_utf8(bob):
    response = bob.post("/tickets", b'{"subject": "\xff\xfe"}')
    assert response.status_code in (400, 422)
    assert "error" in response.json()


def test_it_names_the_failing_fields(bob):
    response = bob.post("/tickets", {"subject": "", "body": 5, "priority": "whenever"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert {"subject", "body", "priority"} <= set(error["fields"])


def test_it_refuses_nul_bytes_in_text(bob):
    response = bob.post("/tickets", {**NEW, "body": "before\x00after"})
    assert response.status_code == 422
    assert "body" in response.json()["error"]["fields"]
    nested = bob.post("/tickets", {**NEW, "custom_fields": {"x": "a\x00b"}})
    assert nested.status_code == 422


def test_it_refuses_huge_ticket_numbers(bob):
    assert bob.get(f"/tickets/{10**30}").status_code == 422
    assert bob.get("/tickets/0").status_code == 422
    assert bob.get("/tickets/abc").status_code == 422


def test_it_answers_404_in_the_same_shape(bob, cast):
    response = bob.get("/tickets/999999")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such ticket.", "fields": {}}}


def test_it_refuses_a_forged_cursor(bob):
    assert bob.get("/tickets", cursor="!!!").status_code == 422
    assert bob.get("/tickets", cursor="WyJ4Il0").status_code == 422  # ["x"]


def test_it_maps_service_conflicts_to_409(bob, cast):
    assert bob.post(f"/customers/{cast.carol.public_id}/unblock").status_code == 409


def test_it_refuses_unknown_references_with_422(bob, cast):
    response = bob.post("/tickets", {**NEW, "team": "team_doesnotexist"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"team": "not found"}


def test_it_refuses_a_status_that_does_not_exist(bob, cast):
    ticket = ticket_for(cast.carol)
    assert bob.patch(f"/tickets/{ticket.number}", {"status": "nope"}).status_code == 422


def test_it_refuses_invalid_base64_attachments(bob):
    bad = {"filename": "a.txt", "content_type": "text/plain", "content_base64": "***"}
    response = bob.post("/tickets", {**NEW, "attachments": [bad]})
    assert response.status_code == 422


def test_it_accepts_any_offset_in_updated_since(bob):
    assert bob.get("/tickets", updated_since="0277-08-08T23:10:16+21:48").status_code == 200
    assert bob.get("/tickets", updated_since="0001-01-01T00:00:00+05:00").status_code in (200, 422)
