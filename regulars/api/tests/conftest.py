from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from regulars.accounts.models import User
from regulars.accounts.services import create_api_token
from regulars.api.ratelimit import reset
from regulars.customers.models import Customer
from regulars.tickets.attachments import Upload
from regulars.tickets.models import Ticket
from regulars.tickets.services import open_ticket


@pytest.fixture(autouse=True)
def _fresh_budgets() -> Iterator[None]:
    reset()
    yield
    reset()


class Api:
    """A django.test.Client speaking JSON with a bearer token."""

    def __init__(self, raw: str | None) -> None:
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, **self.headers)

    def _send(self, method: str, path: str, body: Any) -> Any:
        send = getattr(self.client, method)
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return send(f"/api/v1{path}", data=data, content_type="application/json", **self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self._send("post", path, {} if body is None else body)

    def patch(self, path: str, body: Any) -> Any:
        return self._send("patch", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self._send("put", path, body)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", **self.headers)


def token(user: User, scopes: tuple[str, ...] = ("read", "write")) -> str:
    return create_api_token(user, name="test", scopes=scopes)[1]


@pytest.fixture
def api_as(cast: Any) -> Callable[[User], Api]:
    return lambda user: Api(token(user))


def ticket_for(
    customer: Customer, subject: str = "Printer on fire", *, with_file: bool = False, **kw: Any
) -> Ticket:
    files = [Upload("invoice.pdf", "application/pdf", b"%PDF-1.4 carol")] if with_file else []
    return open_ticket(subject=subject, body="It is on fire.", requester=customer, attachments=files, **kw)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
