"""For every endpoint: who succeeds, and what everyone else gets (403 for the role, 404 to hide).

Each row is (method, path template, body, roles allowed). Every role in the cast calls every row
on fresh data; the allowed roles must succeed and the others must get 403 or 404.
"""

from __future__ import annotations

import pytest

from regulars.api.refs import identity_id
from regulars.api.tests.conftest import Api, b64, ticket_for, token
from regulars.customers.services import create_customer

ROLES = ("alice", "bob", "charlie", "carol")
AGENTS = {"alice", "bob", "charlie"}
FULL = {"alice", "bob"}
EVERYONE = set(ROLES)
ADMIN = {"alice"}


def _setup(cast):
    ticket = ticket_for(cast.carol, with_file=True)
    other = ticket_for(cast.carol, "Second")
    spare = create_customer(name="Spare", emails=["spare@example.com"], phones=["+44 20 7946 0000"])
    gone = create_customer(name="Gone", emails=["gone@example.com"])
    att = ticket.messages.get().attachments.get()
    return {
        "n": ticket.number,
        "other": other.number,
        "att": att.public_id,
        "carol": cast.carol.public_id,
        "spare": spare.public_id,
        "gone": gone.public_id,
        "idn": identity_id(spare.identities.get(kind="phone")),
        "org": cast.acme.public_id,
        "bob": cast.bob.public_id,
        "team": cast.support.public_id,
    }


ROWS = [
    ("get", "/tickets", None, EVERYONE),
    ("post", "/tickets", {"subject": "New", "body": "Hi", "requester_id": "{carol}"}, EVERYONE),
    ("get", "/tickets/{n}", None, EVERYONE),
    ("patch", "/tickets/{n}", {"status": "solved"}, FULL | {"carol"}),
    ("patch", "/tickets/{n}", {"subject": "Renamed"}, FULL),
    ("get", "/tickets/{n}/messages", None, EVERYONE),
    ("post", "/tickets/{n}/messages", {"body": "Reply", "public": True}, FULL | {"carol"}),
    ("post", "/tickets/{n}/messages", {"body": "Note", "public": False}, AGENTS),
    (
        "post",
        "/tickets/{n}/messages",
        {"body": "File", "attachments": [{"filename": "a.txt", "content_base64": b64(b"hi")}]},
        FULL | {"carol"},
    ),
    ("get", "/tickets/{n}/history", None, AGENTS),
    ("post", "/tickets/{other}/merge", {"into": "{n}"}, FULL),
    ("get", "/attachments/{att}", None, EVERYONE),
    ("get", "/customers", None, EVERYONE),
    (
        "post",
        "/customers",
        {"name": "Zed", "identities": [{"kind": "email", "value": "zed@example.com"}]},
        FULL,
    ),
    ("get", "/customers/{carol}", None, EVERYONE),
    ("patch", "/customers/{spare}", {"name": "Renamed"}, FULL),
    ("post", "/customers/{spare}/identities", {"kind": "social", "value": "@spare"}, FULL),
    ("delete", "/customers/{spare}/identities/{idn}", None, FULL),
    ("post", "/customers/{gone}/merge", {"into": "{spare}"}, FULL),
    ("post", "/customers/{spare}/block", {"reason": "abuse"}, FULL),
    ("get", "/organisations", None, EVERYONE),
    ("post", "/organisations", {"name": "Initech", "domain": "initech.example"}, FULL),
    ("get", "/organisations/{org}", None, EVERYONE),
    ("patch", "/organisations/{org}", {"name": "Acme Ltd"}, FULL),
    ("get", "/agents", None, AGENTS),
    ("get", "/agents/{bob}", None, AGENTS),
    ("post", "/agents", {"email": "new.agent@regulars.test", "name": "New"}, ADMIN),
    ("get", "/teams", None, AGENTS),
    ("get", "/teams/{team}", None, AGENTS),
    ("post", "/teams", {"name": "Escalations"}, ADMIN),
    ("put", "/teams/{team}/members", {"members": ["{bob}"]}, ADMIN),
    ("get", "/tags", None, AGENTS),
    ("get", "/search?q=printer", None, EVERYONE),
    ("get", "/sla/priority/policy", None, AGENTS),
    ("put", "/sla/priority/policy", {"value_modifier_enabled": False}, ADMIN),
    ("get", "/sla/priority/tickets/{n}", None, AGENTS),
    ("get", "/sla/reports/fairness", None, FULL),
    ("get", "/sla/reports/fairness.csv", None, FULL),
    ("get", "/insights/alerts", None, AGENTS),
    ("get", "/insights/alert-subscriptions", None, AGENTS),
    ("post", "/insights/alert-subscriptions", {}, AGENTS),
    ("get", "/insights/tickets/{n}/similar", None, AGENTS),
    ("get", "/insights/categories", None, AGENTS),
    ("get", "/insights/triage-queue", None, AGENTS),
]


def _fill(value, ids):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value == "{n}" else filled
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"), ROWS, ids=[f"{r[0]} {r[1]} {r[2]}" for r in ROWS]
)
def test_it_allows_only_the_right_roles(cast, role, method, path, body, allowed):
    ids = _setup(cast)
    user = cast.carol_user if role == "carol" else getattr(cast, role)
    api = Api(token(user))
    url = _fill(path, ids)
    if method == "get":
        response = api.client.get(f"/api/v1{url}", **api.headers)
    elif method == "delete":
        response = api.delete(url)
    else:
        response = getattr(api, method)(url, _fill(body, ids))
    if role in allowed:
        assert response.status_code in (200, 201, 204), response.content
    else:
        assert response.status_code in (403, 404), response.content


def test_it_hides_tickets_outside_a_scoped_agents_teams(cast):
    ticket = ticket_for(cast.carol, team=cast.support)
    dave = Api(token(cast.dave))
    assert dave.get(f"/tickets/{ticket.number}").status_code == 404
    assert dave.get("/tickets").json()["items"] == []
    billing = ticket_for(cast.carol, team=cast.billing)
    assert dave.get(f"/tickets/{billing.number}").status_code == 200
