"""Flash messages belong to pages: the desk sets up their storage on every request, the API
(JSON only) never does."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from regulars.core.testing import Cast


@pytest.mark.django_db
def test_pages_have_flash_messages_and_the_api_has_none(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.bob)
    page = client.get("/desk/")
    assert page.status_code in (200, 302)
    assert hasattr(page.wsgi_request, "_messages")
    api = client.get("/api/v1/tickets")
    assert api.status_code == 200
    assert not hasattr(api.wsgi_request, "_messages")
    assert list(get_messages(page.wsgi_request)) == []
