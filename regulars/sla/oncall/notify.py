"""Sending pages (email and webhook), acknowledge links, and alerts to admins.

Acknowledge links carry a signed, expiring token naming the incident and the person paged, so
one click (and one confirming POST) acknowledges from a phone without signing in.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.urls import reverse

from regulars.accounts.models import Role, User
from regulars.sla.oncall.models import Incident, Page, PageChannel

logger = logging.getLogger(__name__)

ACK_SALT = "regulars.sla.oncall.ack"
# A page is only useful while the incident is live; a week-old link in a mailbox should not work.
DEFAULT_ACK_MAX_AGE = 2 * 24 * 3600
DEFAULT_WEBHOOK_TIMEOUT = 5.0


def ack_max_age() -> int:
    return int(getattr(settings, "ONCALL_ACK_LINK_MAX_AGE", DEFAULT_ACK_MAX_AGE))


def ack_token(incident: Incident, recipient: User) -> str:
    return signing.TimestampSigner(salt=ACK_SALT).sign_object(
        {"i": incident.public_id, "u": recipient.public_id}
    )


def read_ack_token(token: str) -> dict[str, str]:
    """The payload of a valid token. Raises ``signing.SignatureExpired`` or ``signing.BadSignature``."""
    data: Any = signing.TimestampSigner(salt=ACK_SALT).unsign_object(token, max_age=ack_max_age())
    if not isinstance(data, dict) or not isinstance(data.get("i"), str) or not isinstance(data.get("u"), str):
        raise signing.BadSignature("unexpected payload")
    return {"i": data["i"], "u": data["u"]}


def ack_url(incident: Incident, recipient: User) -> str:
    path = reverse("sla_oncall:ack", args=[ack_token(incident, recipient)])
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def webhook_target(page_policy_url: str, recipient: User) -> str:
    contact = getattr(recipient, "oncall_contact", None)
    return (contact.webhook_url if contact is not None and contact.webhook_url else "") or page_policy_url


def _page_text(page: Page, link: str) -> tuple[str, str]:
    ticket = page.incident.ticket
    drill = " [DRILL]" if hasattr(ticket, "oncall_drill") else ""
    subject = f"[Regulars] Urgent ticket #{ticket.number} needs you{drill}: {ticket.subject}"[:200]
    body = (
        f"{page.recipient.name or page.recipient.email},\n\n"
        f"Urgent ticket #{ticket.number} arrived outside business hours and nobody has acknowledged it yet.\n"
        f"Subject: {ticket.subject}\n"
        f"Escalation level {page.level}, page {page.attempt}.\n\n"
        f"Acknowledge (one click, then confirm): {link}\n\n"
        "Until someone acknowledges, the page repeats and moves up the chain.\n"
    )
    return subject, body


def send_page(page: Page) -> None:
    """Send one page. Raises on any failure so the caller records it and retries later."""
    link = ack_url(page.incident, page.recipient)
    if page.channel == PageChannel.EMAIL:
        subject, body = _page_text(page, link)
        send_mail(subject, body, None, [page.target], fail_silently=False)
        return
    ticket = page.incident.ticket
    payload = {
        "event": "sla_oncall.page",
        "incident": page.incident.public_id,
        "page": page.public_id,
        "ticket": ticket.number,
        "subject": ticket.subject,
        "level": page.level,
        "attempt": page.attempt,
        "recipient": {
            "id": page.recipient.public_id,
            "email": page.recipient.email,
            "name": page.recipient.name,
        },
        "ack_url": link,
        "drill": hasattr(ticket, "oncall_drill"),
    }
    post_json(page.target, payload)


def post_json(url: str, payload: dict[str, Any]) -> None:
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("webhook URLs are http or https")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "Regulars on-call"},
        method="POST",
    )
    timeout = float(getattr(settings, "ONCALL_WEBHOOK_TIMEOUT", DEFAULT_WEBHOOK_TIMEOUT))
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
        if response.status >= 300:
            raise RuntimeError(f"webhook answered {response.status}")


def alert_admins(subject: str, body: str, *, now: datetime) -> int:
    """Email every active admin. Returns how many were written to; a mail failure is logged.

    Callers have already recorded the alert as a row and an event, so a broken mail server
    does not make the alert disappear.
    """
    emails = list(
        User.objects.filter(role=Role.ADMIN, is_active=True).order_by("id").values_list("email", flat=True)
    )
    if not emails:
        return 0
    try:
        send_mail(f"[Regulars] {subject}"[:200], f"{body}\n\n({now.isoformat()})\n", None, emails)
    except Exception:
        logger.exception("could not email admins: %s", subject)
        return 0
    return len(emails)
