"""Customers and their identities. Agents see everyone; a customer sees only themselves."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status

from regulars.api.auth import require_full_agent, viewer
from regulars.api.errors import responses
from regulars.api.paging import DEFAULT_LIMIT, CursorParam, Limit, decode_cursor, encode_cursor, split_page
from regulars.api.refs import (
    agent_ref,
    customer_ref,
    identity_id,
    organisation_ref,
    ownership_changes,
    parse_identity_id,
    team_ref,
)
from regulars.api.schemas import (
    BlockIn,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    IdentityIn,
    IdentityOut,
    MergeCustomerIn,
    UnblockIn,
)
from regulars.api.types import Text
from regulars.core.errors import NotFound, ValidationFailed
from regulars.customers import services
from regulars.customers.models import Customer, Identity
from regulars.customers.selectors import get_customer, search_customers, visible_customers

router = Router(tags=["customers"])

CustomerId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^cus_[0-9a-z]+$")]
IdentityId = Annotated[str, Path(min_length=5, max_length=600, pattern=r"^idn_[A-Za-z0-9_\-]+$")]


def _identities() -> Prefetch[Any]:
    return Prefetch("identities", queryset=Identity.objects.order_by("kind", "-is_primary", "id"))


def identity_out(identity: Identity) -> dict[str, Any]:
    return {
        "id": identity_id(identity),
        "kind": identity.kind,
        "value": identity.value,
        "is_primary": identity.is_primary,
        "verified": identity.verified,
    }


def customer_out(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.public_id,
        "name": customer.name,
        "organisation": customer.organisation.public_id if customer.organisation else None,
        "plan": customer.plan.public_id if customer.plan else None,
        "lifetime_value": str(customer.lifetime_value),
        "owner": customer.owner.public_id if customer.owner else None,
        "backup_owner": customer.backup_owner.public_id if customer.backup_owner else None,
        "owner_team": customer.owner_team.public_id if customer.owner_team else None,
        "backup_team": customer.backup_team.public_id if customer.backup_team else None,
        "time_zone": customer.time_zone,
        "language": customer.language,
        "custom_fields": customer.custom_fields,
        "is_blocked": customer.is_blocked,
        "preferred_contact": customer.preferred_contact,
        "callback_phone": customer.callback_phone,
        "personal_contact": customer.personal_contact,
        "merged_into": customer.merged_into.public_id if customer.merged_into else None,
        "identities": [identity_out(i) for i in customer.identities.all()],
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }


def with_customer_relations(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    return qs.select_related(
        "organisation", "plan", "owner", "backup_owner", "owner_team", "backup_team", "merged_into"
    ).prefetch_related(_identities())


def customers_out(customers: Iterable[Customer]) -> list[dict[str, Any]]:
    return [customer_out(c) for c in customers]


def _fresh(viewer_customer: Customer) -> dict[str, Any]:
    return customer_out(with_customer_relations(Customer.objects.filter(pk=viewer_customer.pk)).get())


@router.get("/customers", response=responses({200: CustomerPage}), summary="List customers")
def list_customers(
    request: HttpRequest,
    email: Annotated[Text | None, Query(min_length=1, max_length=254)] = None,
    q: Annotated[Text | None, Query(min_length=1, max_length=200)] = None,
    cursor: CursorParam = None,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Newest first. ``email`` finds the customer with that address; ``q`` searches names,
    organisations and identities (best match first, one page only)."""
    user = viewer(request)
    qs = with_customer_relations(visible_customers(user))
    if q is not None:
        found = search_customers(user, q, limit=limit)
        ids = [c.pk for c in found]
        by_id = {c.pk: c for c in qs.filter(pk__in=ids)}
        return {"items": customers_out(by_id[i] for i in ids if i in by_id), "next_cursor": None}
    if email is not None:
        if "\x00" in email:
            raise ValidationFailed("Not an email address.", fields={"email": "invalid"})
        qs = qs.filter(identities__kind="email", identities__value=email.strip().lower())
    qs = qs.order_by("-id")
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        qs = qs.filter(id__lt=last_id)
    rows, more = split_page(list(qs[: limit + 1]), limit)
    return {"items": customers_out(rows), "next_cursor": encode_cursor([rows[-1].pk]) if more else None}


@router.post("/customers", response=responses({201: CustomerOut}), summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerIn) -> Status[dict[str, Any]]:
    user = viewer(request)
    require_full_agent(user)
    customer = services.create_customer(
        name=payload.name,
        identities=[(i.kind, i.value) for i in payload.identities],
        organisation=organisation_ref(user, payload.organisation),
        lifetime_value=Decimal(payload.lifetime_value),
        owner=agent_ref(user, payload.owner, "owner"),
        backup_owner=agent_ref(user, payload.backup_owner, "backup_owner"),
        owner_team=team_ref(user, payload.owner_team, "owner_team"),
        backup_team=team_ref(user, payload.backup_team, "backup_team"),
        time_zone=payload.time_zone,
        language=payload.language,
        custom_fields=payload.custom_fields,
        actor=user,
    )
    return Status(201, _fresh(customer))


@router.get("/customers/{customer_id}", response=responses({200: CustomerOut}), summary="Get a customer")
def read_customer(request: HttpRequest, customer_id: CustomerId) -> dict[str, Any]:
    return _fresh(get_customer(viewer(request), customer_id))


@router.patch("/customers/{customer_id}", response=responses({200: CustomerOut}), summary="Change a customer")
def change_customer(request: HttpRequest, customer_id: CustomerId, payload: CustomerPatch) -> dict[str, Any]:
    """Only the fields sent change; null clears organisation and owners."""
    user = viewer(request)
    require_full_agent(user)
    customer = get_customer(user, customer_id)
    sent = payload.model_fields_set
    changes: dict[str, Any] = {}
    for field in ("name", "time_zone", "language", "notes", "custom_fields", "lifetime_value"):
        if field in sent:
            value = getattr(payload, field)
            if value is None:
                raise ValidationFailed(f"{field} cannot be null.", fields={field: "required"})
            changes[field] = Decimal(value) if field == "lifetime_value" else value
    if "organisation" in sent:
        changes["organisation"] = organisation_ref(user, payload.organisation)
    changes.update(ownership_changes(user, payload, sent))
    services.update_customer(customer, actor=user, **changes)
    return _fresh(customer)


@router.post(
    "/customers/{customer_id}/identities", response=responses({201: IdentityOut}), summary="Add an identity"
)
def add_identity(
    request: HttpRequest, customer_id: CustomerId, payload: IdentityIn
) -> Status[dict[str, Any]]:
    user = viewer(request)
    require_full_agent(user)
    customer = get_customer(user, customer_id)
    identity = services.add_identity(
        customer, payload.kind, payload.value, verified=payload.verified, actor=user
    )
    return Status(201, identity_out(identity))


@router.delete(
    "/customers/{customer_id}/identities/{identity_id}",
    response=responses({204: None}),
    summary="Remove an identity",
)
def remove_identity(request: HttpRequest, customer_id: CustomerId, identity_id: IdentityId) -> HttpResponse:
    """``identity_id`` is the ``id`` an identity has in the output: ``idn_`` and the base64url
    of ``kind:value``."""
    user = viewer(request)
    require_full_agent(user)
    customer = get_customer(user, customer_id)
    parsed = parse_identity_id(identity_id)
    identity = (
        customer.identities.filter(kind=parsed[0], value=parsed[1]).first() if parsed is not None else None
    )
    if identity is None:
        raise NotFound("No such identity.")
    services.remove_identity(identity, actor=user)
    return HttpResponse(status=204)


@router.post(
    "/customers/{customer_id}/merge", response=responses({200: CustomerOut}), summary="Merge customers"
)
def merge_customer(request: HttpRequest, customer_id: CustomerId, payload: MergeCustomerIn) -> dict[str, Any]:
    """Fold this customer into ``into``; returns the customer that remains."""
    user = viewer(request)
    require_full_agent(user)
    source = get_customer(user, customer_id)
    target = customer_ref(user, payload.into, "into")
    return _fresh(services.merge_customers(source, target, actor=user))


@router.post("/customers/{customer_id}/block", response=responses({200: CustomerOut}), summary="Block")
def block_customer(request: HttpRequest, customer_id: CustomerId, payload: BlockIn) -> dict[str, Any]:
    user = viewer(request)
    require_full_agent(user)
    customer = get_customer(user, customer_id)
    return _fresh(services.block_customer(customer, reason=payload.reason, actor=user))


@router.post("/customers/{customer_id}/unblock", response=responses({200: CustomerOut}), summary="Unblock")
def unblock_customer(
    request: HttpRequest, customer_id: CustomerId, payload: UnblockIn | None = None
) -> dict[str, Any]:
    user = viewer(request)
    require_full_agent(user)
    customer = get_customer(user, customer_id)
    reason = payload.reason if payload is not None else ""
    return _fresh(services.unblock_customer(customer, reason=reason, actor=user))
