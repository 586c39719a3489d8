"""Requests sent through the portal by people who are not signed in, held until confirmed."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from regulars.tickets.models import Blob, Ticket


class PortalRequest(models.Model):
    """A request from someone not signed in, waiting for them to confirm their address by email.

    The portal must not become a way to send mail to any address, nor create tickets in a
    stranger's name, so nothing happens until the emailed link is opened: only then is the
    requester found (or created) and the ticket opened.

    Invariants: the request and its files are stored before the sender is told anything. Only a
    SHA-256 of the confirmation token is kept, so a copy of the database cannot confirm anything.
    A request is confirmed at most once (``confirmed_at`` and ``ticket`` are then set and its
    files belong to the ticket). An unconfirmed request past ``expires_at`` is deleted by the
    ``portal.purge_expired_requests`` job.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=250)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(confirmed_at__isnull=True), name="portal_request_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email}: {self.subject}"


class PortalRequestFile(models.Model):
    """A file uploaded with a pending request, stored (by content) until the request is confirmed."""

    request = models.ForeignKey(PortalRequest, on_delete=models.CASCADE, related_name="files")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120, default="application/octet-stream")

    def __str__(self) -> str:
        return self.filename
