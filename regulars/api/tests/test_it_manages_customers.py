import pytest

from regulars.api.tests.conftest import Api, token


@pytest.fixture
def bob(cast):
    return Api(token(cast.bob))


def test_it_creates_a_customer_with_identities(cast, bob):
    response = bob.post(
        "/customers",
        {
            "name": "Frank",
            "identities": [
                {"kind": "email", "value": "Frank@Acme.example"},
                {"kind": "phone", "value": "+44 20 7946 0001"},
            ],
            "lifetime_value": "12.50",
            "owner": cast.bob.public_id,
            "time_zone": "Europe/London",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["organisation"] == cast.acme.public_id
    assert body["lifetime_value"] == "12.50"
    assert body["owner"] == cast.bob.public_id
    assert {(i["kind"], i["value"]) for i in body["identities"]} == {
        ("email", "frank@acme.example"),
        ("phone", "+442079460001"),
    }
    found = bob.get("/customers", email="FRANK@acme.example").json()["items"]
    assert [c["id"] for c in found] == [body["id"]]


def test_it_refuses_an_identity_that_belongs_to_someone_else(cast, bob):
    response = bob.post("/customers", {"identities": [{"kind": "email", "value": "carol@acme.example"}]})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "identity_taken"


def test_it_refuses_a_bad_time_zone(bob):
    assert bob.post("/customers", {"time_zone": "Mars/Olympus"}).status_code == 422


def test_it_adds_and_removes_identities_by_their_id(cast, bob):
    path = f"/customers/{cast.carol.public_id}"
    added = bob.post(f"{path}/identities", {"kind": "social", "value": "@Carol"})
    assert added.status_code == 201
    identity = added.json()
    assert identity["value"] == "@carol"
    assert bob.delete(f"{path}/identities/{identity['id']}").status_code == 204
    assert bob.delete(f"{path}/identities/{identity['id']}").status_code == 404
    assert identity["id"] not in [i["id"] for i in bob.get(path).json()["identities"]]


def test_it_changes_blocks_and_unblocks_a_customer(cast, bob):
    path = f"/customers/{cast.carol.public_id}"
    changed = bob.patch(path, {"name": "Carol C.", "language": "fr", "organisation": None})
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["language"], changed.json()["organisation"]) == (
        "Carol C.",
        "fr",
        None,
    )
    assert bob.post(f"{path}/block", {"reason": "abuse"}).json()["is_blocked"] is True
    assert bob.post(f"{path}/block", {"reason": "again"}).status_code == 409
    assert bob.post(f"{path}/unblock", {}).json()["is_blocked"] is False


def test_it_merges_customers(cast, bob):
    response = bob.post(f"/customers/{cast.erin.public_id}/merge", {"into": cast.carol.public_id})
    assert response.status_code == 200
    assert "erin@globex.example" in [i["value"] for i in response.json()["identities"]]
    assert bob.get(f"/customers/{cast.erin.public_id}").json()["merged_into"] == cast.carol.public_id


def test_it_creates_and_changes_organisations(cast, bob):
    created = bob.post("/organisations", {"name": "Initech", "domain": "Initech.example"})
    assert created.status_code == 201
    assert created.json()["domain"] == "initech.example"
    clash = bob.post("/organisations", {"name": "Other", "domain": "initech.example"})
    assert clash.status_code == 409
    changed = bob.patch(f"/organisations/{created.json()['id']}", {"domain": None, "name": "Initech Inc"})
    assert (changed.json()["name"], changed.json()["domain"]) == ("Initech Inc", None)


def test_it_lets_admins_create_agents_and_staff_teams(cast):
    alice = Api(token(cast.alice))
    agent = alice.post(
        "/agents", {"email": "gina@regulars.test", "name": "Gina", "teams": [cast.billing.public_id]}
    )
    assert agent.status_code == 201
    assert agent.json()["teams"] == [cast.billing.public_id]
    assert alice.post("/agents", {"email": "gina@regulars.test", "name": "Again"}).status_code == 409
    team = alice.post("/teams", {"name": "Escalations"}).json()
    members = alice.put(f"/teams/{team['id']}/members", {"members": [agent.json()["id"], cast.bob.public_id]})
    assert sorted(members.json()["members"]) == sorted([agent.json()["id"], cast.bob.public_id])
    refused = alice.put(f"/teams/{team['id']}/members", {"members": [cast.carol_user.public_id]})
    assert refused.status_code == 422
