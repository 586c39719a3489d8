"""Pages go out by email and webhook; a failed send is recorded and retried the next minute, once."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail

from regulars.core.testing import Cast
from regulars.sla.oncall.models import EscalationPolicy, Incident, Page
from regulars.sla.oncall.services import consider_ticket, escalate, set_oncall_webhook
from regulars.sla.oncall.tests.conftest import Hook, at
from regulars.tickets.models import Priority
from regulars.tickets.services import open_ticket

SATURDAY_NIGHT = at("2025-03-08T22:00:00+00:00")


def trigger(cast: Cast) -> Incident:
    ticket = open_ticket(
        subject="Site down", body="Nothing loads", requester=cast.carol, priority=Priority.URGENT
    )
    incident = consider_ticket(ticket.pk, now=SATURDAY_NIGHT)
    assert incident is not None
    return incident


def use_webhook(policy: EscalationPolicy, url: str) -> None:
    policy.webhook_url = url
    policy.save(update_fields=["webhook_url"])


def test_it_posts_json_with_the_acknowledge_link(cast: Cast, policy: EscalationPolicy, hook: Hook) -> None:
    use_webhook(policy, hook.url)
    incident = trigger(cast)

    [request] = hook.requests
    assert request["path"] == "/page"
    assert request["type"] == "application/json"
    body = request["json"]
    assert body["event"] == "sla_oncall.page"
    assert body["incident"] == incident.public_id
    assert (body["level"], body["attempt"], body["recipient"]["email"]) == (1, 1, "bob@regulars.test")
    assert "/ack/" in body["ack_url"]
    assert Page.objects.get(incident=incident, channel="webhook").outcome == "sent"


def test_it_prefers_the_agents_own_webhook(cast: Cast, policy: EscalationPolicy, hook: Hook) -> None:
    use_webhook(policy, "http://127.0.0.1:9/never-used")
    set_oncall_webhook(cast.bob, url=hook.url + "?who=bob")
    trigger(cast)
    assert [r["path"] for r in hook.requests] == ["/page?who=bob"]


def test_it_records_a_failed_send_and_retries_it_the_next_minute(
    cast: Cast, policy: EscalationPolicy, hook: Hook
) -> None:
    use_webhook(policy, hook.url)
    hook.statuses = [500]
    incident = trigger(cast)

    page = Page.objects.get(incident=incident, channel="webhook")
    assert (page.outcome, page.tries, page.sent_at) == ("failed", 1, None)
    assert "500" in page.error
    assert Page.objects.get(incident=incident, channel="email").outcome == "sent"

    escalate(SATURDAY_NIGHT + timedelta(minutes=1))
    escalate(SATURDAY_NIGHT + timedelta(minutes=1))

    page.refresh_from_db()
    assert (page.outcome, page.tries, page.sent_at) == ("sent", 2, SATURDAY_NIGHT + timedelta(minutes=1))
    assert len(hook.requests) == 2
    assert len([m for m in mail.outbox if "needs you" in m.subject]) == 1  # the email was not resent


def test_it_gives_up_retrying_after_a_few_tries_but_keeps_escalating(
    cast: Cast, policy: EscalationPolicy
) -> None:
    use_webhook(policy, "http://127.0.0.1:9/closed-port")
    incident = trigger(cast)
    for minute in range(1, 11):
        escalate(SATURDAY_NIGHT + timedelta(minutes=minute))

    first = Page.objects.get(incident=incident, channel="webhook", level=1, attempt=1)
    assert (first.outcome, first.tries) == ("failed", Page.MAX_TRIES)
    assert Page.objects.filter(incident=incident, channel="email").count() == 3  # 22:00, 22:05, 22:10
