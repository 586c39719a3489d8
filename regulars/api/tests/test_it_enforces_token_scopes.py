from regulars.api.tests.conftest import Api, token


def test_it_lets_a_read_only_token_read(cast):
    assert Api(token(cast.bob, ("read",))).get("/tickets").status_code == 200


def test_it_refuses_writes_with_a_read_only_token(cast):
    api = Api(token(cast.bob, ("read",)))
    response = api.post("/tickets", {"subject": "Hi", "body": "Hello", "requester_email": "new@example.com"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


def test_it_refuses_reads_with_a_write_only_token(cast):
    response = Api(token(cast.bob, ("write",))).get("/tickets")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
