"""Carol (Acme) and Erin (Globex) must never see each other's tickets, by any route."""

from regulars.api.tests.conftest import Api, ticket_for, token
from regulars.tickets.services import post_message


def test_it_lists_only_the_customers_own_tickets(cast):
    mine = ticket_for(cast.carol)
    ticket_for(cast.erin)
    numbers = [t["number"] for t in Api(token(cast.carol_user)).get("/tickets").json()["items"]]
    assert numbers == [mine.number]


def test_it_hides_another_customers_ticket_as_not_found(cast):
    erins = ticket_for(cast.erin)
    carol = Api(token(cast.carol_user))
    assert carol.get(f"/tickets/{erins.number}").status_code == 404
    assert carol.get(f"/tickets/{erins.number}/messages").status_code == 404
    assert carol.post(f"/tickets/{erins.number}/messages", {"body": "hi"}).status_code == 404
    assert carol.patch(f"/tickets/{erins.number}", {"status": "solved"}).status_code == 404


def test_it_never_finds_another_customers_ticket_in_search(cast):
    ticket_for(cast.erin, "Zeppelin ticket")
    mine = ticket_for(cast.carol, "Zeppelin question")
    found = Api(token(cast.carol_user)).get("/search", q="zeppelin").json()
    assert [t["number"] for t in found["tickets"]] == [mine.number]
    assert found["customers"] == []


def test_it_never_serves_another_customers_attachment(cast):
    erins = ticket_for(cast.erin, with_file=True)
    attachment = erins.messages.get().attachments.get()
    assert Api(token(cast.carol_user)).get(f"/attachments/{attachment.public_id}").status_code == 404
    own = Api(token(cast.erin_user)).get(f"/attachments/{attachment.public_id}")
    assert own.status_code == 200
    assert b"".join(own.streaming_content) == b"%PDF-1.4 carol"


def test_it_never_shows_notes_to_customers(cast):
    ticket = ticket_for(cast.carol)
    post_message(ticket, author=cast.bob, body="Internal: customer is grumpy", public=False)
    post_message(ticket, author=cast.bob, body="We are on it", public=True)
    carol_sees = Api(token(cast.carol_user)).get(f"/tickets/{ticket.number}/messages").json()["items"]
    assert [m["kind"] for m in carol_sees] == ["reply", "reply"]
    bob_sees = Api(token(cast.bob)).get(f"/tickets/{ticket.number}/messages").json()["items"]
    assert [m["kind"] for m in bob_sees] == ["reply", "note", "reply"]


def test_it_lets_customers_open_tickets_only_for_themselves(cast):
    carol = Api(token(cast.carol_user))
    created = carol.post("/tickets", {"subject": "Mine", "body": "Help"})
    assert created.status_code == 201
    assert created.json()["requester"] == cast.carol.public_id
    for_erin = carol.post(
        "/tickets", {"subject": "Hers", "body": "Help", "requester_id": cast.erin.public_id}
    )
    assert for_erin.status_code == 403
    by_email = carol.post(
        "/tickets", {"subject": "Hers", "body": "Help", "requester_email": "erin@globex.example"}
    )
    assert by_email.status_code == 403
    with_team = carol.post("/tickets", {"subject": "Mine", "body": "Help", "priority": "urgent"})
    assert with_team.status_code == 403


def test_it_shows_a_customer_only_their_own_customer_record(cast):
    carol = Api(token(cast.carol_user))
    assert [c["id"] for c in carol.get("/customers").json()["items"]] == [cast.carol.public_id]
    assert carol.get(f"/customers/{cast.erin.public_id}").status_code == 404
