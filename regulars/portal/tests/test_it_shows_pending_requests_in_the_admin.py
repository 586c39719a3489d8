"""Admins can look at pending portal requests, never change them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from regulars.core.testing import Cast, enrol_totp
from regulars.portal.models import PortalRequest, PortalRequestFile

pytestmark = pytest.mark.django_db


def test_it_shows_pending_requests_to_an_admin_read_only(cast: Cast) -> None:
    Client().post(
        "/portal/requests/new/",
        {"name": "Dana", "email": "dana@example.org", "subject": "Help", "body": "Please.",
         "attachments": SimpleUploadedFile("a.txt", b"a", "text/plain")},
    )  # fmt: skip
    enrol_totp(cast.alice)
    admin = Client()
    admin.force_login(cast.alice)
    pending = PortalRequest.objects.get()
    for model, obj in ((PortalRequest, pending), (PortalRequestFile, PortalRequestFile.objects.get())):
        name = f"admin:portal_{model._meta.model_name}"
        assert admin.get(reverse(f"{name}_changelist")).status_code == 200
        page = admin.get(reverse(f"{name}_change", args=[obj.pk]))
        assert page.status_code == 200
        assert pending.token_hash.encode() not in page.content
    assert (
        admin.post(
            reverse("admin:portal_portalrequest_delete", args=[pending.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert PortalRequest.objects.exists()
