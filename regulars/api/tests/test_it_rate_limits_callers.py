from regulars.api.tests.conftest import Api, token


def test_it_answers_429_with_retry_after_when_the_budget_is_spent(cast, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    api = Api(token(cast.bob))
    assert api.get("/tickets").status_code == 200
    assert api.get("/tickets").status_code == 200
    response = api.get("/tickets")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


def test_it_keeps_a_budget_per_token(cast, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    assert Api(token(cast.bob)).get("/tickets").status_code == 200
    assert Api(token(cast.alice)).get("/tickets").status_code == 200


def test_it_limits_anonymous_callers_by_ip(cast, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    assert Api(None).get("/tickets").status_code == 401
    assert Api(None).get("/tickets").status_code == 429
