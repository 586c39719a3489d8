"""Organisations. Agents see all; a customer sees their own organisation."""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Path, Router, Status

from regulars.api.auth import require_full_agent, viewer
from regulars.api.errors import responses
from regulars.api.paging import DEFAULT_LIMIT, CursorParam, Limit, decode_cursor, encode_cursor, split_page
from regulars.api.refs import agent_ref, ownership_changes, team_ref
from regulars.api.schemas import OrganisationIn, OrganisationOut, OrganisationPage, OrganisationPatch
from regulars.core.errors import ValidationFailed
from regulars.customers import services
from regulars.customers.models import Organisation
from regulars.customers.selectors import get_organisation, visible_organisations

router = Router(tags=["organisations"])

OrganisationId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^org_[0-9a-z]+$")]


def organisation_out(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.public_id,
        "name": org.name,
        "domain": org.domain,
        "plan": org.plan.public_id if org.plan else None,
        "owner": org.owner.public_id if org.owner else None,
        "backup_owner": org.backup_owner.public_id if org.backup_owner else None,
        "owner_team": org.owner_team.public_id if org.owner_team else None,
        "backup_team": org.backup_team.public_id if org.backup_team else None,
        "custom_fields": org.custom_fields,
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    }


def _related(qs: QuerySet[Organisation]) -> QuerySet[Organisation]:
    return qs.select_related("plan", "owner", "backup_owner", "owner_team", "backup_team")


@router.get("/organisations", response=responses({200: OrganisationPage}), summary="List organisations")
def list_organisations(
    request: HttpRequest, cursor: CursorParam = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    qs = _related(visible_organisations(viewer(request))).order_by("-id")
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        qs = qs.filter(id__lt=last_id)
    rows, more = split_page(list(qs[: limit + 1]), limit)
    return {
        "items": [organisation_out(o) for o in rows],
        "next_cursor": encode_cursor([rows[-1].pk]) if more else None,
    }


@router.post("/organisations", response=responses({201: OrganisationOut}), summary="Create an organisation")
def create_organisation(request: HttpRequest, payload: OrganisationIn) -> Status[dict[str, Any]]:
    user = viewer(request)
    require_full_agent(user)
    org = services.create_organisation(
        name=payload.name,
        domain=payload.domain or None,
        owner=agent_ref(user, payload.owner, "owner"),
        backup_owner=agent_ref(user, payload.backup_owner, "backup_owner"),
        owner_team=team_ref(user, payload.owner_team, "owner_team"),
        backup_team=team_ref(user, payload.backup_team, "backup_team"),
        custom_fields=payload.custom_fields,
        actor=user,
    )
    return Status(201, organisation_out(_related(Organisation.objects.filter(pk=org.pk)).get()))


@router.get(
    "/organisations/{org_id}", response=responses({200: OrganisationOut}), summary="Get an organisation"
)
def read_organisation(request: HttpRequest, org_id: OrganisationId) -> dict[str, Any]:
    return organisation_out(get_organisation(viewer(request), org_id))


@router.patch(
    "/organisations/{org_id}", response=responses({200: OrganisationOut}), summary="Change an organisation"
)
def change_organisation(
    request: HttpRequest, org_id: OrganisationId, payload: OrganisationPatch
) -> dict[str, Any]:
    user = viewer(request)
    require_full_agent(user)
    org = get_organisation(user, org_id)
    sent = payload.model_fields_set
    changes: dict[str, Any] = {}
    for field in ("name", "notes", "custom_fields"):
        if field in sent:
            value = getattr(payload, field)
            if value is None:
                raise ValidationFailed(f"{field} cannot be null.", fields={field: "required"})
            changes[field] = value.strip() if field == "name" else value
    if changes.get("name") == "":
        raise ValidationFailed("An organisation needs a name.", fields={"name": "required"})
    if "domain" in sent:
        changes["domain"] = (payload.domain or "").strip().lower() or None
    changes.update(ownership_changes(user, payload, sent))
    services.update_organisation(org, actor=user, **changes)
    return organisation_out(_related(Organisation.objects.filter(pk=org.pk)).get())
