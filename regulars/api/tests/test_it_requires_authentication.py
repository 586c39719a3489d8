from regulars.accounts.services import create_api_token, revoke_api_token
from regulars.api.tests.conftest import Api


def test_it_answers_401_without_credentials(cast):
    response = Api(None).get("/tickets")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_it_answers_401_for_a_made_up_token(cast):
    assert Api("rg_abc_def").get("/tickets").status_code == 401
    assert Api("nonsense").get("/tickets").status_code == 401


def test_it_answers_401_for_a_revoked_token(cast):
    token, raw = create_api_token(cast.bob, name="script")
    assert Api(raw).get("/tickets").status_code == 200
    revoke_api_token(token, actor=cast.alice)
    response = Api(raw).get("/tickets")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_it_answers_401_for_a_deactivated_user(cast):
    _, raw = create_api_token(cast.bob, name="script")
    cast.bob.is_active = False
    cast.bob.save(update_fields=["is_active"])
    assert Api(raw).get("/tickets").status_code == 401
