import pytest

from regulars.api.tests.conftest import Api, b64, ticket_for, token
from regulars.customers.models import Customer


@pytest.fixture
def bob(cast):
    return Api(token(cast.bob))


def test_it_opens_a_ticket_for_a_new_email_address(cast, bob):
    response = bob.post(
        "/tickets",
        {
            "subject": "  Cannot   log in ",
            "body": "Help",
            "requester_email": "New.Person@Example.com",
            "requester_name": "New Person",
            "priority": "high",
            "tags": ["Login", "vip"],
            "team": cast.support.public_id,
            "assignee": cast.bob.public_id,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(public_id=body["requester"])
    assert customer.name == "New Person"
    assert body["subject"] == "Cannot log in"
    assert body["tags"] == ["login", "vip"]
    assert (body["team"], body["assignee"], body["priority"]) == (
        cast.support.public_id,
        cast.bob.public_id,
        "high",
    )


def test_it_needs_a_requester(bob):
    response = bob.post("/tickets", {"subject": "Hi", "body": "Hello"})
    assert response.status_code == 422


def test_it_serves_attachments_as_downloads_only(cast, bob):
    html = b"<script>alert(1)</script>"
    created = bob.post(
        "/tickets",
        {
            "subject": "Page",
            "body": "see file",
            "requester_id": cast.carol.public_id,
            "attachments": [
                {"filename": "evil.html", "content_type": "text/html", "content_base64": b64(html)}
            ],
        },
    ).json()
    message = bob.get(f"/tickets/{created['number']}/messages").json()["items"][0]
    attachment = message["attachments"][0]
    assert attachment["size"] == len(html)
    response = bob.client.get(attachment["url"], **bob.headers)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="evil.html"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == html


def test_it_changes_a_ticket(cast, bob):
    ticket = ticket_for(cast.carol, team=cast.support, assignee=cast.bob)
    response = bob.patch(
        f"/tickets/{ticket.number}",
        {
            "status": "pending",
            "priority": "urgent",
            "priority_reason": "outage",
            "tags": ["outage"],
            "assignee": None,
            "collaborators": [cast.alice.public_id],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["priority"] == "urgent"
    assert body["assignee"] is None
    assert body["tags"] == ["outage"]
    assert body["collaborators"] == [cast.alice.public_id]
    history = bob.get(f"/tickets/{ticket.number}/history").json()["items"]
    assert {"status_changed", "priority_changed", "assignee_changed", "tags_changed"} <= {
        e["action"] for e in history
    }


def test_it_asks_why_the_priority_changes(cast, bob):
    ticket = ticket_for(cast.carol)
    response = bob.patch(f"/tickets/{ticket.number}", {"priority": "urgent"})
    assert response.status_code == 422
    assert "priority_reason" in response.json()["error"]["fields"]


def test_it_lets_a_customer_mark_their_ticket_solved_but_nothing_else(cast):
    ticket = ticket_for(cast.carol)
    carol = Api(token(cast.carol_user))
    assert carol.patch(f"/tickets/{ticket.number}", {"subject": "Mine"}).status_code == 403
    assert carol.patch(f"/tickets/{ticket.number}", {"status": "solved"}).status_code == 200


def test_it_merges_tickets(cast, bob):
    source, target = ticket_for(cast.carol, "A"), ticket_for(cast.carol, "B")
    response = bob.post(f"/tickets/{source.number}/merge", {"into": target.number})
    assert response.status_code == 200
    assert response.json()["number"] == target.number
    assert bob.get(f"/tickets/{source.number}").json()["merged_into"] == target.number
    assert bob.post(f"/tickets/{source.number}/merge", {"into": source.number}).status_code in (409, 422)
    assert bob.post(f"/tickets/{target.number}/merge", {"into": 10**12}).status_code == 422


def test_it_replies_and_notes(cast, bob):
    ticket = ticket_for(cast.carol)
    reply = bob.post(f"/tickets/{ticket.number}/messages", {"body": "On it", "public": True})
    assert reply.status_code == 201
    assert reply.json()["author"] == cast.bob.public_id
    assert bob.get(f"/tickets/{ticket.number}").json()["status_category"] == "open"
