from regulars.api.tests.conftest import Api, ticket_for, token


def test_it_refuses_a_public_reply_from_a_light_agent(cast):
    ticket = ticket_for(cast.carol)
    response = Api(token(cast.charlie)).post(
        f"/tickets/{ticket.number}/messages", {"body": "Hi", "public": True}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "light_agent_public_reply"


def test_it_accepts_an_internal_note_from_a_light_agent(cast):
    ticket = ticket_for(cast.carol)
    response = Api(token(cast.charlie)).post(
        f"/tickets/{ticket.number}/messages", {"body": "FYI", "public": False}
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "note"


def test_it_refuses_ticket_changes_from_a_light_agent(cast):
    ticket = ticket_for(cast.carol)
    response = Api(token(cast.charlie)).patch(f"/tickets/{ticket.number}", {"subject": "Renamed"})
    assert response.status_code == 403
    assert Api(token(cast.charlie)).patch(f"/tickets/{ticket.number}", {}).status_code == 403
