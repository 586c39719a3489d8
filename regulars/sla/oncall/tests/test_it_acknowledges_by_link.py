"""The one-click link: a GET only asks (mail scanners follow links), a CSRF-protected POST acknowledges."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from regulars.core.testing import Cast
from regulars.sla.oncall.models import EscalationPolicy, Incident, IncidentState
from regulars.sla.oncall.notify import ack_url
from regulars.sla.oncall.services import consider_ticket, escalate
from regulars.sla.oncall.tests.conftest import at
from regulars.tickets.models import Priority
from regulars.tickets.services import open_ticket

SATURDAY_NIGHT = at("2025-03-08T22:00:00+00:00")


@pytest.fixture
def incident(cast: Cast, policy: EscalationPolicy, settings: Any) -> Incident:
    settings.SITE_URL = "https://help.example.com"
    ticket = open_ticket(
        subject="Site down", body="Nothing loads", requester=cast.carol, priority=Priority.URGENT
    )
    found = consider_ticket(ticket.pk, now=SATURDAY_NIGHT)
    assert found is not None
    return found


def link_in_mail() -> str:
    match = re.search(r"https://help\.example\.com(/ack/[^/\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_it_asks_for_confirmation_on_get_and_changes_nothing(incident: Incident) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.get(link_in_mail())

    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content
    assert b'method="post"' in response.content
    incident.refresh_from_db()
    assert incident.state == IncidentState.TRIGGERED


def test_it_acknowledges_on_post_as_the_person_paged_and_stops_the_paging(
    cast: Cast, incident: Incident
) -> None:
    client = Client(enforce_csrf_checks=True)
    link = link_in_mail()
    page = client.get(link)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token

    response = client.post(link, {"csrfmiddlewaretoken": token.group(1).decode()})

    assert response.status_code == 200
    assert b"Acknowledged by Bob Agent" in response.content
    incident.refresh_from_db()
    assert (incident.state, incident.acknowledged_by, incident.acknowledged_via) == (
        "acknowledged",
        cast.bob,
        "link",
    )
    sent = len(mail.outbox)
    escalate(at("2025-03-08T22:30:00+00:00"))
    assert len(mail.outbox) == sent


def test_it_refuses_a_post_without_the_csrf_token(incident: Incident) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(link_in_mail()).status_code == 403
    incident.refresh_from_db()
    assert incident.state == IncidentState.TRIGGERED


def test_it_refuses_a_tampered_link(incident: Incident) -> None:
    link = link_in_mail()
    forged = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    response = Client().post(forged)
    assert response.status_code in (400, 403)
    assert Client().get(forged).status_code == 400
    incident.refresh_from_db()
    assert incident.state == IncidentState.TRIGGERED


def test_it_refuses_an_expired_link(incident: Incident, settings: Any) -> None:
    settings.ONCALL_ACK_LINK_MAX_AGE = -1
    response = Client().get(link_in_mail())
    assert response.status_code == 410
    assert b"expired" in response.content


def test_it_does_not_let_a_deactivated_person_acknowledge(cast: Cast, incident: Incident) -> None:
    link = ack_url(incident, cast.dave).removeprefix("https://help.example.com")
    cast.dave.is_active = False
    cast.dave.save(update_fields=["is_active"])
    assert Client().get(link).status_code == 404
