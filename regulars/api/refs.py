"""Turning public ids in a request body into objects, as the viewer may see them.

A reference the viewer cannot see is a 422 on the field that named it: the request is wrong,
and, as with a 404, it does not say whether the object exists.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from regulars.accounts.models import Team, User
from regulars.accounts.selectors import get_agent, get_team
from regulars.api.schemas import AttachmentIn
from regulars.core.errors import NotFound, ValidationFailed
from regulars.customers.models import Customer, Identity, Organisation
from regulars.customers.selectors import get_customer, get_organisation
from regulars.tickets.attachments import Upload

T = TypeVar("T")


def _ref(getter: Callable[[User, str], T], viewer: User, public_id: str, field: str) -> T:
    try:
        return getter(viewer, public_id)
    except NotFound:
        raise ValidationFailed(f"No such {field}: {public_id}.", fields={field: "not found"}) from None


def team_ref(viewer: User, public_id: str | None, field: str = "team") -> Team | None:
    return None if public_id is None else _ref(get_team, viewer, public_id, field)


def agent_ref(viewer: User, public_id: str | None, field: str = "assignee") -> User | None:
    return None if public_id is None else _ref(get_agent, viewer, public_id, field)


def agents_ref(viewer: User, public_ids: Sequence[str], field: str) -> list[User]:
    return [_ref(get_agent, viewer, pid, field) for pid in dict.fromkeys(public_ids)]


def customer_ref(viewer: User, public_id: str, field: str) -> Customer:
    return _ref(get_customer, viewer, public_id, field)


def organisation_ref(viewer: User, public_id: str | None, field: str = "organisation") -> Organisation | None:
    return None if public_id is None else _ref(get_organisation, viewer, public_id, field)


def uploads(attachments: Sequence[AttachmentIn]) -> list[Upload]:
    result = []
    for i, item in enumerate(attachments):
        try:
            data = item.decoded()
        except (binascii.Error, ValueError):
            raise ValidationFailed(
                "An attachment is not valid base64.", fields={f"attachments.{i}.content_base64": "invalid"}
            ) from None
        result.append(Upload(filename=item.filename, content_type=item.content_type, data=data))
    return result


# Identities have no public id of their own; the API names one by its kind and normalised value,
# base64url-encoded (no padding) behind an ``idn_`` prefix, so it is stable and safe in a URL.


def identity_id(identity: Identity) -> str:
    raw = f"{identity.kind}:{identity.value}".encode()
    return "idn_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_identity_id(value: str) -> tuple[str, str] | None:
    if not value.startswith("idn_"):
        return None
    encoded = value[4:]
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    kind, sep, ident = raw.partition(":")
    if not sep or "\x00" in ident:
        return None
    return kind, ident


def ownership_changes(viewer: User, payload: Any, sent: set[str]) -> dict[str, Any]:
    """The owner, backup owner, owning team and backup team a PATCH sent, resolved for
    ``viewer`` (customers and organisations are owned the same way)."""
    changes: dict[str, Any] = {}
    for field in ("owner", "backup_owner"):
        if field in sent:
            changes[field] = agent_ref(viewer, getattr(payload, field), field)
    for field in ("owner_team", "backup_team"):
        if field in sent:
            changes[field] = team_ref(viewer, getattr(payload, field), field)
    return changes
