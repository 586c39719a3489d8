"""Quarantine, outbox and health through /api/v1/channels: agents only, JSON errors on bad ids."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from regulars.api.tests.conftest import Api, token
from regulars.channels.email.ingest import ingest
from regulars.channels.models import Inbox
from regulars.channels.services import record_error, record_success

SPOOF = b"From: carol@acme.example <evil@evil.example>\r\nSubject: Hi\r\nMessage-ID: <q1@evil.example>\r\n\r\nHi\r\n"


def test_agents_list_quarantined_mail_with_its_reason(cast: Any, inbox: Inbox) -> None:
    row = ingest(inbox, SPOOF)
    body = Api(token(cast.bob)).get("/channels/quarantine").json()
    assert [(q["id"], q["reason"][:16]) for q in body] == [(row.public_id, "ambiguous_sender")]


def test_customers_cannot_see_the_quarantine(cast: Any, inbox: Inbox) -> None:
    ingest(inbox, SPOOF)
    response = Api(token(cast.carol_user)).get("/channels/quarantine")
    assert response.status_code == 403 and response.json()["error"]["code"] == "agents_only"


def test_an_agent_reprocesses_after_the_cause_is_fixed(cast: Any, inbox: Inbox, settings: Any) -> None:
    settings.EMAIL_MAX_BYTES = 10
    row = ingest(
        inbox, b"From: pat@example.com\r\nSubject: Big\r\nMessage-ID: <big@example.com>\r\n\r\nHello\r\n"
    )
    assert row.status == "quarantined"
    settings.EMAIL_MAX_BYTES = 10_000
    response = Api(token(cast.bob)).post(f"/channels/quarantine/{row.public_id}/reprocess")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "message" and response.json()["ticket"] is not None


def test_light_agents_cannot_reprocess(cast: Any, inbox: Inbox) -> None:
    row = ingest(inbox, SPOOF)
    response = Api(token(cast.charlie)).post(f"/channels/quarantine/{row.public_id}/reprocess")
    assert response.status_code == 403


def test_bad_and_unknown_ids_answer_in_the_json_error_format(cast: Any, inbox: Inbox) -> None:
    api = Api(token(cast.bob))
    unknown = api.post("/channels/quarantine/inm_0000000000/reprocess")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    bad = api.post("/channels/quarantine/DROP TABLE/reprocess")
    assert bad.status_code in (404, 422) and "error" in bad.json()


def test_health_turns_red_after_five_minutes_of_errors(cast: Any, inbox: Inbox) -> None:
    api = Api(token(cast.bob))
    record_success(inbox.pk)
    assert api.get("/channels/health").json()[0]["state"] == "green"
    record_error(inbox.pk, "relay refused", now=timezone.now() - timedelta(minutes=6))
    record_error(inbox.pk, "relay refused again")
    state = api.get("/channels/health").json()[0]
    assert state["state"] == "red" and state["last_error"] == "relay refused again"
    record_success(inbox.pk)
    assert api.get("/channels/health").json()[0]["state"] == "green"


def test_a_recent_error_is_not_red_yet(cast: Any, inbox: Inbox) -> None:
    record_error(inbox.pk, "one hiccup")
    assert Api(token(cast.bob)).get("/channels/health").json()[0]["state"] == "green"


def test_failed_replies_are_listed_with_their_reason(cast: Any, seed: Any, relay_down: int) -> None:
    from regulars.channels.email.models import OutboundEmail

    OutboundEmail.objects.filter(pk=seed.ack.pk).update(state="failed", last_error="550 5.1.1 no such user")
    body = Api(token(cast.bob)).get("/channels/outbox", state="failed").json()
    assert [(o["id"], o["last_error"]) for o in body] == [(seed.ack.public_id, "550 5.1.1 no such user")]
    assert Api(token(cast.carol_user)).get("/channels/outbox").status_code == 403
