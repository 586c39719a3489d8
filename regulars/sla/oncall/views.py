"""The one-click acknowledge link: GET asks to confirm, POST acknowledges.

A GET never acknowledges, because mail scanners and link previews follow links. The token names
the incident and the person paged, signed and expiring, so the person need not sign in.
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from regulars.accounts.models import User
from regulars.sla.oncall.models import Incident
from regulars.sla.oncall.notify import read_ack_token
from regulars.sla.oncall.services import acknowledge_incident


@require_http_methods(["GET", "POST"])
def acknowledge(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = read_ack_token(token)
    except signing.SignatureExpired:
        return render(request, "sla_oncall/ack_invalid.html", {"expired": True}, status=410)
    except signing.BadSignature:
        return render(request, "sla_oncall/ack_invalid.html", {"expired": False}, status=400)
    incident = (
        Incident.objects.select_related("ticket", "acknowledged_by").filter(public_id=data["i"]).first()
    )
    person = User.objects.filter(public_id=data["u"], is_active=True).first()
    if incident is None or person is None or not person.is_agent:
        return render(request, "sla_oncall/ack_invalid.html", {"expired": False}, status=404)
    if request.method == "POST":
        incident = acknowledge_incident(incident, by=person, now=timezone.now(), via="link")
        incident = Incident.objects.select_related("ticket", "acknowledged_by").get(pk=incident.pk)
    context = {"incident": incident, "ticket": incident.ticket, "person": person}
    return render(request, "sla_oncall/ack.html", context)
