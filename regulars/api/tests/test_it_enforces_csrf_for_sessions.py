import json

from django.test import Client

BODY = json.dumps({"subject": "From the desk", "body": "Hello", "requester_email": "desk@example.com"})


def test_it_lets_a_signed_in_browser_read(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.bob)
    assert client.get("/api/v1/tickets").status_code == 200


def test_it_refuses_a_session_post_without_a_csrf_token(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.bob)
    response = client.post("/api/v1/tickets", BODY, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_it_accepts_a_session_post_with_the_csrf_token(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.bob)
    csrf = "k" * 32  # a well-formed CSRF secret, as the desk's pages would set it
    client.cookies["csrftoken"] = csrf
    response = client.post("/api/v1/tickets", BODY, content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201, response.content
