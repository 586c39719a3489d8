"""Writes of the customer portal: one-time sign-in links, requests confirmed by email, purging.

Ticket writes themselves (open, reply, mark solved, rate) go through ``tickets.services``; this
module only adds what is particular to people arriving through the portal.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from regulars.accounts.models import Role, User
from regulars.accounts.services import record_audit
from regulars.core import events
from regulars.core.errors import DomainError
from regulars.customers.models import Customer
from regulars.customers.services import get_or_create_customer_by_email, normalise_identity
from regulars.tickets.attachments import Upload, blob_path, safe_filename, store_blob
from regulars.tickets.models import Channel, Ticket
from regulars.tickets.services import open_ticket

from .models import PortalRequest, PortalRequestFile

logger = logging.getLogger(__name__)

SIGN_IN_SALT = "regulars.portal.sign_in_link"
# Long enough to switch to the mail app and back; short enough that an old mail is useless.
SIGN_IN_LINK_MAX_AGE = 15 * 60
# A request may wait for its confirmation a day (people read mail later); then it is purged.
REQUEST_MAX_AGE = timedelta(hours=24)

# (how many, per how many seconds). Deploys may override any of them in settings.PORTAL_RATE_LIMITS.
DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "sign_in_link_address": (3, 15 * 60),
    "sign_in_link_client": (10, 60 * 60),
    "request_address": (3, 60 * 60),
    "request_client": (10, 60 * 60),
}


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


class LinkNotValid(DomainError):
    """A sign-in or confirmation link that expired, was already used, or never existed."""

    status = 410
    code = "link_not_valid"


# --- rate limits ---------------------------------------------------------------------------


def _limit(scope: str) -> tuple[int, int]:
    overrides: dict[str, tuple[int, int]] = getattr(settings, "PORTAL_RATE_LIMITS", {})
    return overrides.get(scope, DEFAULT_RATE_LIMITS[scope])


def allow(scope: str, key: str) -> bool:
    """Count one attempt of ``key`` in ``scope``; False once the scope's budget is spent.

    The counters live in the shared cache (settings.CACHES, shared by every web process) in
    fixed windows that start at the first attempt. Keys are hashed: no address sits in the cache.
    """
    limit, window = _limit(scope)
    cache_key = "portal:rl:" + scope + ":" + hashlib.sha256(key.encode()).hexdigest()
    if cache.add(cache_key, 1, timeout=window):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=window)
            count = 1
    return count <= limit


# --- mail ------------------------------------------------------------------------------------


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def _send(to: str, subject: str, template: str, context: dict[str, Any]) -> bool:
    """Send one short mail through the relay; False (logged) when the relay refuses it."""
    body = render_to_string(template, context)
    try:
        send_mail(subject, body, None, [to], fail_silently=False)
    except Exception:  # the relay is down or refused: say so to the person, never a 500
        logger.exception("portal mail to a customer could not be sent")
        return False
    return True


# --- one-time sign-in links ------------------------------------------------------------------


def _state(user: User) -> str:
    """A value that changes when the link must stop working: on sign-in (``last_login``), on a
    password change, on sign-out everywhere, or if the person is deactivated."""
    login = "" if user.last_login is None else user.last_login.isoformat()
    value = f"{user.pk}:{login}:{user.password}:{user.session_epoch}:{user.is_active}:{user.email}"
    return salted_hmac(SIGN_IN_SALT, value, algorithm="sha256").hexdigest()[:32]


def sign_in_token(user: User) -> str:
    return signing.dumps({"u": user.public_id, "s": _state(user)}, salt=SIGN_IN_SALT)


def may_sign_in_by_link(user: User) -> bool:
    """Only customers with an active portal login: agents never sign in by email link."""
    if not user.is_active or user.role != Role.CUSTOMER:
        return False
    return Customer.objects.filter(user=user, merged_into__isnull=True, is_blocked=False).exists()


def user_for_sign_in_token(token: str, *, lock: bool = False) -> User:
    """The customer a valid, unused, unexpired sign-in token names; raises LinkNotValid.
    ``lock`` (inside a transaction) holds the user's row until the sign-in is recorded."""
    try:
        data = signing.loads(token, salt=SIGN_IN_SALT, max_age=SIGN_IN_LINK_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        raise LinkNotValid("This sign-in link has expired or was already used.") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), str) or not isinstance(data.get("s"), str):
        raise LinkNotValid("This sign-in link has expired or was already used.")
    users = User.objects.select_for_update() if lock else User.objects.all()
    user = users.filter(public_id=data["u"]).first()
    if user is None or not may_sign_in_by_link(user) or not constant_time_compare(_state(user), data["s"]):
        raise LinkNotValid("This sign-in link has expired or was already used.")
    return user


def send_sign_in_link(email: str, *, client: str) -> None:
    """Ask for a one-time sign-in link to be mailed to ``email`` if it is a customer's login.

    The caller always answers the same way, whether or not a mail goes out, so the form cannot
    tell anyone which addresses have a login. Looking the address up and sending happen in the
    worker (``deliver_sign_in_link``), so the answer also takes the same time either way.
    Raises RateLimited only for the per-client budget (which says nothing about the address);
    an address over its own budget is silently skipped.
    """
    if not allow("sign_in_link_client", client):
        raise RateLimited("Too many sign-in links were asked for from here. Please try again later.")
    address = email.strip().lower()
    if not allow("sign_in_link_address", address):
        return
    with transaction.atomic():
        events.emit("portal.sign_in_link_requested", email=address)


def deliver_sign_in_link(name: str, payload: dict[str, Any]) -> None:
    """Background handler of ``portal.sign_in_link_requested``: mail the link, if the address
    is a customer's portal login. Agents and unknown addresses get nothing."""
    address = str(payload.get("email") or "")
    user = User.objects.filter(email=address).first() if address else None
    if user is None or not may_sign_in_by_link(user):
        return
    link = absolute_url(reverse("portal:sign_in_with_link", args=[sign_in_token(user)]))
    _send(
        user.email,
        "Your sign-in link",
        "portal/email/sign_in_link.txt",
        {"name": user.name, "link": link, "minutes": SIGN_IN_LINK_MAX_AGE // 60},
    )


# --- requests from people who are not signed in ---------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SubmittedRequest:
    request: PortalRequest
    mailed: bool


def submit_request(
    *, name: str, email: str, subject: str, body: str, uploads: list[Upload], client: str
) -> SubmittedRequest:
    """Store a request and mail its sender one confirmation link; no ticket yet.

    Rate-limited per client and per address, so the form cannot be used to mail anyone much.
    """
    address = normalise_identity("email", email)
    if not allow("request_client", client):
        raise RateLimited("Too many requests were sent from here. Please try again later.")
    if not allow("request_address", address):
        raise RateLimited("Too many requests were sent for this address. Please try again later.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        row = PortalRequest.objects.create(
            token_hash=_token_hash(token),
            name=" ".join(name.split())[:200],
            email=address,
            subject=" ".join(subject.split())[:250],
            body=body,
            expires_at=timezone.now() + REQUEST_MAX_AGE,
        )
        PortalRequestFile.objects.bulk_create(
            [
                PortalRequestFile(
                    request=row,
                    blob=store_blob(u.data),
                    filename=safe_filename(u.filename),
                    content_type=(u.content_type or "application/octet-stream")[:120],
                )
                for u in uploads
            ]
        )
        record_audit(None, "portal.request_received", "portal_request", str(row.pk), files=len(uploads))
    link = absolute_url(reverse("portal:confirm_request", args=[token]))
    mailed = _send(
        address,
        "Please confirm your request",
        "portal/email/confirm_request.txt",
        # Nothing the sender typed goes into this mail, so the form cannot carry a message to a
        # stranger's inbox.
        {"link": link, "hours": int(REQUEST_MAX_AGE.total_seconds() // 3600)},
    )
    return SubmittedRequest(request=row, mailed=mailed)


def pending_request(token: str) -> PortalRequest:
    """The unconfirmed, unexpired request a confirmation token names; raises LinkNotValid."""
    row = PortalRequest.objects.filter(token_hash=_token_hash(token)).first()
    if row is None or row.confirmed_at is not None or row.expires_at <= timezone.now():
        raise LinkNotValid("This confirmation link has expired or was already used.")
    return row


@dataclass(frozen=True)
class Confirmation:
    ticket: Ticket
    # The portal login to sign in with, or None when this address is not that login's own.
    user: User | None


@transaction.atomic
def confirm_request(token: str) -> Confirmation:
    """Open the ticket of a pending request: its link works once, until it expires.

    The requester is found by the confirmed address, or created. Confirming proves the person
    reads that address, as a sign-in link would, so they are given a portal login if the
    customer has none (without a password: they come back by sign-in link, or set one through
    "Forgot your password?"), and may be signed in, but only when the address is the login's
    own: an address an agent once added to someone's record by mistake must not open their tickets.
    """
    row = (
        PortalRequest.objects.select_for_update()
        .filter(token_hash=_token_hash(token), confirmed_at__isnull=True)
        .first()
    )
    if row is None or row.expires_at <= timezone.now():
        raise LinkNotValid("This confirmation link has expired or was already used.")
    customer = get_or_create_customer_by_email(row.email, name=row.name)
    files = list(row.files.select_related("blob").order_by("id"))
    uploads = [
        Upload(filename=f.filename, content_type=f.content_type, data=blob_path(f.blob.sha256).read_bytes())
        for f in files
    ]
    ticket = open_ticket(
        subject=row.subject,
        body=row.body,
        requester=customer,
        channel=Channel.WEB,
        attachments=uploads,
    )
    row.confirmed_at = timezone.now()
    row.ticket = ticket
    row.save(update_fields=["confirmed_at", "ticket"])
    row.files.all().delete()  # the ticket's attachments hold the files now
    record_audit(
        None, "portal.request_confirmed", "ticket", str(ticket.number), request=row.pk, email=row.email
    )
    return Confirmation(ticket=ticket, user=_portal_login_for(ticket.requester, row.email))


def _portal_login_for(customer: Customer, email: str) -> User | None:
    customer = Customer.objects.select_for_update(of=("self",)).select_related("user").get(pk=customer.pk)
    if customer.is_blocked or customer.merged_into_id is not None:
        return None
    user = customer.user
    if user is None:
        if User.objects.filter(email=email).exists():
            return None  # an agent's address, or another login's: never attach it to this customer
        user = User.objects.create_user(email=email, password=None, name=customer.name, role=Role.CUSTOMER)
        customer.user = user
        customer.save(update_fields=["user", "updated_at"])
        record_audit(
            None, "customer.portal_login_created", "customer", customer.public_id, user=user.public_id
        )
    if user.email != email or not may_sign_in_by_link(user):
        return None
    return user


def purge_expired_requests(now: datetime) -> int:
    """Delete requests nobody confirmed in time, with their files' rows. Running twice deletes
    nothing more. The files' content stays in the shared blob store (see docs): it may be shared
    with a ticket's attachment, and unreferenced blobs are harmless."""
    expired = PortalRequest.objects.filter(confirmed_at__isnull=True, expires_at__lte=now)
    PortalRequestFile.objects.filter(request__in=expired).delete()
    _, per_model = expired.delete()
    return per_model.get(PortalRequest._meta.label, 0)
